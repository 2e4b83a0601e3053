import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { endpointsFromEnv, kafkaSettings } from '../config/endpoints'
import { KafkaAdmin, waitForBroker } from '../kafka'
import { nightshiftAcls } from '../kafka/acls'
import type { Logger } from '../log'
import { SchemaSet } from '../contracts/schemas'
import { loadTopicsFile, planTopology } from '../topology/topics-file'
import { startSecureBroker, type SecureBroker } from './secure-broker'
import type { StackSettings } from './settings'

/** Ports of the secured broker: its own, so it runs beside the plaintext stack. */
export const SECURE_KAFKA_PORT = 19393
export const SECURE_KAFKA_CONTROLLER_PORT = 19395

/** A password kept in the secured stack's folder (0600), made once. */
function password(dir: string, user: string): { file: string; value: string } {
  const file = path.join(dir, `${user}.password`)
  if (!fs.existsSync(file)) fs.writeFileSync(file, randomBytes(18).toString('base64url'), { mode: 0o600 })
  return { file, value: fs.readFileSync(file, 'utf8').trim() }
}

/**
 * Starts the secured broker for trying Nightshift against SASL_SSL by hand: the
 * plaintext stack's jars, `<stack>/secure/`, ports 19393/19395 (SECURE_KAFKA_PORT,
 * SECURE_KAFKA_CONTROLLER_PORT), the `nightshift` user granted the ACLs of `prefix`
 * (apply ones included, so `topology apply` runs as it too), and an env file that points
 * Nightshift at it with the password in a file.
 */
export async function startSecureStack(
  settings: StackSettings,
  log: Logger,
  options: { prefix: string; registryUrl: string },
): Promise<{ broker: SecureBroker; envFile: string }> {
  const dir = path.join(settings.stateDir, 'secure')
  fs.mkdirSync(dir, { recursive: true })
  const port = Number(process.env.SECURE_KAFKA_PORT ?? SECURE_KAFKA_PORT)
  const controllerPort = Number(process.env.SECURE_KAFKA_CONTROLLER_PORT ?? SECURE_KAFKA_CONTROLLER_PORT)
  const admin = password(dir, 'admin')
  const nightshift = password(dir, 'nightshift')
  const broker = await startSecureBroker({
    libsDir: path.join(
      settings.distDir ?? path.join(settings.stateDir, 'dist'),
      `kafka_2.13-${settings.kafkaVersion}`,
      'libs',
    ),
    dir,
    port,
    controllerPort,
    admin: { name: 'admin', password: admin.value },
    users: [{ name: 'nightshift', password: nightshift.value }],
    javaBin: settings.javaBin,
  })
  const env = (user: string, passwordFile: string): Record<string, string> => ({
    KAFKA_BROKERS: broker.brokers.join(','),
    KAFKA_TLS_CA_FILE: broker.certs.caFile,
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: user,
    KAFKA_SASL_PASSWORD_FILE: passwordFile,
    SCHEMA_REGISTRY_URL: options.registryUrl,
  })
  try {
    const adminEndpoints = endpointsFromEnv(env('admin', admin.file))
    await waitForBroker(kafkaSettings(adminEndpoints, 'nightshift-stack', log), { timeoutMs: settings.readyTimeoutMs })
    const topics = planTopology(loadTopicsFile(SchemaSet.load()), options.prefix).topics.map((t) => t.name)
    const a = await KafkaAdmin.connect(kafkaSettings(adminEndpoints, 'nightshift-stack', log))
    try {
      await a.createAcls('User:nightshift', nightshiftAcls(options.prefix, topics))
    } finally {
      await a.disconnect()
    }
  } catch (err) {
    await broker.stop()
    throw err
  }
  const envFile = path.join(dir, 'nightshift.env')
  const lines = Object.entries(env('nightshift', nightshift.file)).map(([k, v]) => `export ${k}=${v}`)
  fs.writeFileSync(envFile, `${lines.join('\n')}\n`)
  return { broker, envFile }
}
