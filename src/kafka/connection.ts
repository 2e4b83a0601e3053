import { Kafka, logLevel, type LogEntry, type logCreator } from 'kafkajs'
import type { KafkaSecurity } from '../config/security'
import { ERROR_CODES, RetriableError, describeError } from '../errors'
import type { Logger } from '../log'
import { kafkajsSasl, kafkajsSsl, startFailure } from './security'

/** What every Kafka client in Nightshift is built from. */
export interface KafkaSettings {
  brokers: string[]
  clientId: string
  logger: Logger
  /** kafkajs' own retries for a request; the runner adds its own backoff on top. */
  retries?: number
  connectionTimeoutMs?: number
  requestTimeoutMs?: number
  /** TLS and SASL; plaintext when absent. Built by `kafkaSettings()` in src/config. */
  security?: KafkaSecurity
}

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
}

/** Sends kafkajs' log lines through pino, as `{ module: 'kafkajs', ns }`. */
/**
 * kafkajs lines that are expected and resolve themselves, logged at debug so that what
 * is left at warn/error means something at 3 a.m.:
 * - its warning on every idempotent producer with bounded retries. Bounded retries are
 *   deliberate: a stage's failed send aborts its transaction and the runner retries the
 *   batch; a failed webhook publish is answered 5xx and re-sent by Alertmanager (dedup
 *   drops the duplicate). Neither loses or doubles a record.
 * - error responses kafkajs retries by itself: a transaction started while the broker
 *   still completes the previous one (CONCURRENT_TRANSACTIONS), and a group or
 *   transaction coordinator that is loading or moving (at every start, while the
 *   broker elects the coordinators of new groups: "This is not the correct coordinator
 *   for this group"), and a member the coordinator forgot or a group rebalancing, after
 *   which kafkajs re-joins. If retries run out, the error reaches the runner, which
 *   logs it.
 */
const EXPECTED_LINES = [
  /^Limiting retries for the idempotent producer/,
  /another concurrent operation on the same transaction was ongoing/,
  /coordinator is (loading|not available)/i,
  /^The group coordinator is not available/,
  /is not the correct coordinator for this group/,
  /coordinator is not aware of this member/,
  /group is rebalancing, so a rejoin is needed/,
]

/**
 * Authorization errors kafkajs logs but then swallows: a refused FindCoordinator (group or
 * transactional id) comes out as a bare "Failed to find group coordinator". A client that
 * passes `onRefusal` learns the real reason from the log line, by its protocol type.
 */
const REFUSALS: Array<[RegExp, string]> = [
  [/Group authorization failed/i, 'GROUP_AUTHORIZATION_FAILED'],
  [/Transactional Id authorization failed/i, 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED'],
  [/Topic authorization failed/i, 'TOPIC_AUTHORIZATION_FAILED'],
  [/Cluster authorization failed/i, 'CLUSTER_AUTHORIZATION_FAILED'],
]

export function pinoLogCreator(logger: Logger, onRefusal?: (type: string) => void): logCreator {
  const log = logger.child({ module: 'kafkajs' })
  return () =>
    ({ namespace, level, log: entry }: LogEntry) => {
      if (onRefusal && typeof entry.error === 'string') {
        const refusal = REFUSALS.find(([re]) => re.test(entry.error as string))
        if (refusal) onRefusal(refusal[1])
      }
      const text = `${String(entry.message)} ${typeof entry.error === 'string' ? entry.error : ''}`
      const expected = EXPECTED_LINES.some((re) => re.test(text))
      const method = expected ? 'debug' : (LEVELS[level] ?? 'info')
      const { message, timestamp: _timestamp, logger: _name, ...rest } = entry
      log[method]({ ns: namespace, ...rest }, message)
    }
}

/**
 * Builds the kafkajs client. Only `src/kafka/` sees kafkajs types; the rest of the
 * code gets the small interfaces exported from this folder.
 */
export function createKafka(settings: KafkaSettings, onRefusal?: (type: string) => void): Kafka {
  const ssl = kafkajsSsl(settings.security?.tls)
  const sasl = kafkajsSasl(settings.security?.sasl)
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    ...(ssl === undefined ? {} : { ssl }),
    ...(sasl === undefined ? {} : { sasl }),
    connectionTimeout: settings.connectionTimeoutMs ?? 3000,
    requestTimeout: settings.requestTimeoutMs ?? 30000,
    retry: { retries: settings.retries ?? 5, initialRetryTime: 100, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(settings.logger, onRefusal),
  })
}

/**
 * Connects a kafkajs client (admin, producer). A failure is a RetriableError saying which
 * brokers did not answer, so every caller reports an unreachable Kafka the same way.
 */
export async function connectClient<T extends { connect(): Promise<void> }>(
  settings: KafkaSettings,
  client: T,
): Promise<T> {
  try {
    await client.connect()
  } catch (cause) {
    const fatal = startFailure(cause, settings)
    if (fatal) throw fatal
    throw new RetriableError(
      ERROR_CODES.KAFKA_UNAVAILABLE,
      `Kafka at ${settings.brokers.join(',')} is unreachable: ${describeError(cause)}`,
      { cause },
    )
  }
  return client
}
