import { createLogger } from '../../src/log'
import { stackUp } from '../../src/stack/local-stack'
import { reliabilityStack } from './stack'

/**
 * Brings the suite's own stack up (test/reliability/stack.ts) and points every client of
 * the run at it: the test files' and the Nightshift processes they start.
 */
export default async function globalSetup(): Promise<void> {
  const log = createLogger({ level: process.env.LOG_LEVEL ?? 'info' }).child({ module: 'reliability-stack' })
  const { brokers, registryUrl } = await stackUp(reliabilityStack(), log)
  process.env.KAFKA_BROKERS = brokers.join(',')
  process.env.SCHEMA_REGISTRY_URL = registryUrl
}
