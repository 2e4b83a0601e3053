import path from 'node:path'
import { createLogger } from '../../src/log'
import { stackUp } from '../../src/stack/local-stack'
import { stackSettingsFromEnv } from '../../src/stack/settings'

/**
 * Jest global setup of the integration project: brings the real Kafka and schema
 * registry up unless they run already (or KAFKA_BROKERS / SCHEMA_REGISTRY_URL point
 * elsewhere). The stack is left running for the next run; `npm run stack:down` stops it.
 *
 * Quiet unless it fails: its log (Maven fetches, readiness waits) is kept and printed
 * only with the error. `LOG_LEVEL=<level>` logs it live instead, as the tests do.
 */
export default async function globalSetup(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..')
  if (process.env.LOG_LEVEL) {
    await stackUp(stackSettingsFromEnv(root), createLogger().child({ module: 'test-stack' }))
    return
  }
  const lines: string[] = []
  const log = createLogger({ level: 'info', format: 'pretty', stream: { write: (line) => lines.push(line) } })
  try {
    await stackUp(stackSettingsFromEnv(root), log.child({ module: 'test-stack' }))
  } catch (err) {
    process.stderr.write(`\nthe test stack did not start; its log:\n${lines.join('')}\n`)
    throw err
  }
}
