import path from 'node:path'
import { createLogger } from '../../src/log'
import { stackUp } from '../../src/stack/local-stack'
import { stackSettingsFromEnv } from '../../src/stack/settings'

/**
 * Jest global setup of the integration project: brings the real Kafka and schema
 * registry up unless they run already (or KAFKA_BROKERS / SCHEMA_REGISTRY_URL point
 * elsewhere). The stack is left running for the next run; `npm run stack:down` stops it.
 */
export default async function globalSetup(): Promise<void> {
  const log = createLogger({ level: process.env.LOG_LEVEL ?? 'info' }).child({ module: 'test-stack' })
  await stackUp(stackSettingsFromEnv(path.resolve(__dirname, '..', '..')), log)
}
