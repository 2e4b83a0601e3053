import path from 'node:path'
import { stackSettingsFromEnv, type StackSettings } from '../../src/stack/settings'

const ROOT = path.resolve(__dirname, '..', '..')

/**
 * The reliability suite's own Kafka and registry: a state folder and ports of their own,
 * so restarting its broker never disturbs another suite or `npm start`. Downloads are
 * shared with the main stack (`.stack/dist`). Ports: RELIABILITY_KAFKA_PORT (19092),
 * RELIABILITY_CONTROLLER_PORT (19095), RELIABILITY_REGISTRY_PORT (18081).
 */
export function reliabilityStack(env: NodeJS.ProcessEnv = process.env): StackSettings {
  const settings = stackSettingsFromEnv(ROOT, {
    KAFKA_VERSION: env.KAFKA_VERSION,
    APICURIO_VERSION: env.APICURIO_VERSION,
    JAVA_HOME: env.JAVA_HOME,
    MAVEN_BIN: env.MAVEN_BIN,
    NIGHTSHIFT_STACK_DIR: path.join('.stack', 'reliability'),
    KAFKA_PORT: env.RELIABILITY_KAFKA_PORT ?? '19092',
    KAFKA_CONTROLLER_PORT: env.RELIABILITY_CONTROLLER_PORT ?? '19095',
    REGISTRY_PORT: env.RELIABILITY_REGISTRY_PORT ?? '18081',
  })
  return { ...settings, distDir: path.join(ROOT, '.stack', 'dist') }
}
