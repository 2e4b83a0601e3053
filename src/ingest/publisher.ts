import { ConfigError, ERROR_CODES, PoisonRecordError, RetriableError, describeError } from '../errors'
import { RecordProducer, type KafkaSettings, type OutRecord, type Registry } from '../kafka'
import type { Logger } from '../log'
import { retry, type BackoffSettings } from '../retry'
import { deadLetterFor } from '../runner/dead-letter'
import { valueSubject, type StageName, type TopicNames } from '../topology/names'
import type { AlertRecord } from '../contracts/records'
import type { SchemaSet } from '../contracts/schemas'

const STAGE: StageName = 'ingest'

/** Headers ingest puts on every Alert record (besides the key, the fingerprint). */
export const INGEST_HEADERS = {
  receivedAt: 'nightshift-received-at',
  requestId: 'nightshift-request-id',
} as const

/** Whether the publisher can take records now, and if not, what is missing (for /readyz). */
export interface Readiness {
  ready: boolean
  missing: string[]
}

export interface PublishContext {
  /** When the webhook received the notification (ms since the epoch). */
  receivedAt: number
  /** The HTTP request's id, for correlating records with logs. */
  requestId?: string
}

/** A webhook body that cannot be ingested, kept byte for byte on the DLQ. */
export interface DeadLetterInput {
  error: unknown
  /** The raw request body. */
  body: Buffer
  /** Selected request headers (content-type, user-agent, content-length; never credentials). */
  requestHeaders: Record<string, string>
  failedAt: number
  requestId?: string
}

/**
 * What the webhook needs from Kafka. Both publish methods resolve only once Kafka has
 * acknowledged every record (acks=all) and reject within a bounded time otherwise,
 * with a {@link RetriableError} (KAFKA_UNAVAILABLE) when retrying can help.
 */
export interface IngestPublisher {
  readiness(): Readiness
  publishAlerts(alerts: AlertRecord[], context: PublishContext): Promise<void>
  publishDeadLetter(letter: DeadLetterInput): Promise<void>
}

export interface KafkaIngestPublisherOptions {
  kafka: KafkaSettings
  registry: Registry
  /** The contracts: records are encoded with exactly the Alert and DeadLetter schemas of this build. */
  schemas: SchemaSet
  /** alerts.raw and nightshift.dlq, with the run's prefix. */
  topics: Pick<TopicNames, 'raw' | 'dlq'>
  logger: Logger
  /** Bound on one publish, waiting for a connection included. Default 5000 ms. */
  publishTimeoutMs?: number
  /**
   * Bytes per produce request. A large group fans out into many records that each
   * carry the group context; one request above the broker's message.max.bytes
   * (1 MiB by default) would be refused, so records are sent in chunks. Default 512 KiB.
   */
  maxBatchBytes?: number
  /** A single record above this is refused as a poison record (the broker would refuse it). Default 1,000,000. */
  maxRecordBytes?: number
  /** Backoff between connection and schema-lookup attempts. Default 200 ms doubling to 10 s. */
  reconnectBackoff?: { initialMs: number; maxMs: number }
}

/** Approximate size of a record on the wire: key, value and headers. */
export function recordBytes(record: OutRecord): number {
  let size = record.value?.length ?? 0
  if (record.key !== null) size += typeof record.key === 'string' ? Buffer.byteLength(record.key) : record.key.length
  for (const [name, value] of Object.entries(record.headers ?? {}))
    size += Buffer.byteLength(name) + Buffer.byteLength(value)
  return size
}

/** Splits records, in order, into chunks of at most `maxBytes` (a larger record gets a chunk of its own). */
export function chunkRecords(records: OutRecord[], maxBytes: number): OutRecord[][] {
  const chunks: OutRecord[][] = []
  let current: OutRecord[] = []
  let size = 0
  for (const record of records) {
    const bytes = recordBytes(record)
    if (current.length > 0 && size + bytes > maxBytes) {
      chunks.push(current)
      current = []
      size = 0
    }
    current.push(record)
    size += bytes
  }
  if (current.length > 0) chunks.push(current)
  return chunks
}

interface ReadyState {
  producer: RecordProducer
  alertId: number
  deadLetterId: number
}

/**
 * Publishes ingest's records to Kafka: Alert records to alerts.raw (key = fingerprint)
 * and DeadLetter records to nightshift.dlq, each encoded in the Confluent wire format
 * with the id registered under the topic's `-value` subject (registered by
 * `nightshift topology apply`; looked up here, never registered).
 *
 * Kafka or the registry may be down at start: {@link start} connects and looks the ids
 * up in the background, retrying with backoff, and {@link readiness} says what is
 * missing. The ids are looked up once; a schema registered later is picked up on restart.
 *
 * Delivery: a publish resolves only when Kafka acknowledged every record, and rejects
 * with a retriable KAFKA_UNAVAILABLE error after `publishTimeoutMs`. A send that timed
 * out may still land in Kafka later; the webhook then answered 503, Alertmanager
 * re-sends, and dedup drops the duplicate. Duplicates are acceptable, loss is not.
 * After a failed or timed-out send the producer is replaced by a fresh one, so a
 * producer left in a bad state (e.g. idempotence sequence numbers after a timeout)
 * never serves the next request.
 */
export class KafkaIngestPublisher implements IngestPublisher {
  private readonly log: Logger
  private readonly timeoutMs: number
  private readonly maxBatchBytes: number
  private readonly maxRecordBytes: number
  private readonly backoff: BackoffSettings

  private producer: RecordProducer | undefined
  private connecting = false
  private connectLoop: Promise<void> | undefined
  private registryLoop: Promise<void> | undefined
  private kafkaProblem = 'not connected yet'
  private registryProblem = 'schema ids not looked up yet'
  private alertId: number | undefined
  private deadLetterId: number | undefined
  private started = false
  private closed = false
  /** Aborted by {@link close}: cuts the background retries' delays short. */
  private readonly closing = new AbortController()
  private readonly waiters = new Set<() => void>()

  constructor(private readonly options: KafkaIngestPublisherOptions) {
    this.log = options.logger.child({ module: 'ingest-publisher' })
    this.timeoutMs = options.publishTimeoutMs ?? 5000
    this.maxBatchBytes = options.maxBatchBytes ?? 512 * 1024
    this.maxRecordBytes = options.maxRecordBytes ?? 1_000_000
    const backoff = options.reconnectBackoff ?? { initialMs: 200, maxMs: 10000 }
    this.backoff = backoff
    for (const [name, value] of Object.entries({
      publishTimeoutMs: this.timeoutMs,
      maxBatchBytes: this.maxBatchBytes,
      maxRecordBytes: this.maxRecordBytes,
      ...backoff,
    })) {
      if (!Number.isFinite(value) || value <= 0)
        throw new ConfigError(`ingest publisher: ${name} must be a positive number, got ${String(value)}`)
    }
  }

  /** Starts connecting to Kafka and looking up schema ids in the background. Idempotent. */
  start(): void {
    if (this.started || this.closed) return
    this.started = true
    this.ensureConnecting()
    this.registryLoop = this.lookUpSchemaIds()
  }

  readiness(): Readiness {
    const missing: string[] = []
    if (this.closed) missing.push('publisher: closed')
    else if (!this.started) missing.push('publisher: not started')
    if (!this.producer)
      missing.push(`kafka: no producer connected to ${this.options.kafka.brokers.join(',')} (${this.kafkaProblem})`)
    if (this.alertId === undefined || this.deadLetterId === undefined) missing.push(`registry: ${this.registryProblem}`)
    return { ready: missing.length === 0, missing }
  }

  async publishAlerts(alerts: AlertRecord[], context: PublishContext): Promise<void> {
    if (alerts.length === 0) return
    const topic = this.options.topics.raw
    await this.withDeadline(`publishing ${alerts.length} alert(s) to ${topic}`, async (signal) => {
      const state = await this.whenReady(signal)
      const headers: Record<string, string> = { [INGEST_HEADERS.receivedAt]: String(context.receivedAt) }
      if (context.requestId) headers[INGEST_HEADERS.requestId] = context.requestId
      const records = await Promise.all(
        alerts.map(async (alert): Promise<OutRecord> => ({
          topic,
          key: alert.fingerprint,
          value: await this.encode(state.alertId, alert, `alert ${alert.fingerprint}`),
          headers,
          timestamp: String(context.receivedAt),
        })),
      )
      for (const [i, record] of records.entries()) {
        const size = recordBytes(record)
        if (size > this.maxRecordBytes) {
          throw new PoisonRecordError(
            `/alerts/${i} makes a Kafka record of ${size} bytes, more than the ${this.maxRecordBytes} allowed`,
          )
        }
      }
      await this.send(state.producer, records, signal)
    })
  }

  async publishDeadLetter(letter: DeadLetterInput): Promise<void> {
    const topic = this.options.topics.dlq
    await this.withDeadline(`dead-lettering a webhook body to ${topic}`, async (signal) => {
      const state = await this.whenReady(signal, false)
      const dead = deadLetterFor({
        stage: STAGE,
        error: letter.error,
        source: null,
        key: null,
        value: letter.body,
        headers: letter.requestHeaders,
        failedAt: letter.failedAt,
      })
      const headers = { ...dead.headers }
      if (letter.requestId) headers[INGEST_HEADERS.requestId] = letter.requestId
      const value = await this.encode(state.deadLetterId, dead.value, 'dead letter')
      await this.send(
        state.producer,
        [{ topic, key: letter.requestId ?? null, value, headers, timestamp: String(letter.failedAt) }],
        signal,
      )
    })
  }

  /** Stops the background work and disconnects. Call after the HTTP server stopped taking requests. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.closing.abort()
    for (const wake of [...this.waiters]) wake()
    await Promise.all([this.connectLoop, this.registryLoop])
    const producer = this.producer
    this.producer = undefined
    await producer?.disconnect().catch((err: unknown) => this.log.warn({ err }, 'disconnecting the producer failed'))
    this.log.info({}, 'ingest publisher closed')
  }

  private ensureConnecting(): void {
    if (this.connecting || this.producer || this.closed) return
    this.connecting = true
    this.connectLoop = this.connect()
  }

  private async connect(): Promise<void> {
    const brokers = this.options.kafka.brokers.join(',')
    let attempts = 0
    try {
      const producer = await retry(
        async (attempt) => {
          attempts = attempt
          return RecordProducer.connect(this.options.kafka)
        },
        {
          ...this.backoff,
          signal: this.closing.signal,
          // Anything may be passing (a broker restarting, DNS): keep trying until closed.
          retriable: () => true,
          onRetry: ({ attempt, err }) => {
            this.kafkaProblem = describeError(err)
            if (attempt === 1 || attempt % 10 === 0)
              this.log.warn({ brokers, attempt, err }, 'cannot connect to Kafka; retrying')
          },
        },
      )
      if (this.closed) {
        await producer.disconnect().catch(() => undefined)
        return
      }
      this.producer = producer
      this.log.info({ brokers, attempt: attempts }, 'producer connected')
      this.notify()
    } catch (err) {
      // Only a close ends the retries; what failed last is what readiness says.
      this.kafkaProblem = describeError(err)
    } finally {
      this.connecting = false
    }
  }

  private async lookUpSchemaIds(): Promise<void> {
    let attempts = 0
    try {
      await retry(
        async (attempt) => {
          attempts = attempt
          // Each id is kept once found, so the DLQ works even while alerts.raw's subject is missing.
          if (this.deadLetterId === undefined) {
            this.deadLetterId = await this.schemaId(this.options.topics.dlq, 'DeadLetter')
            this.notify()
          }
          if (this.alertId === undefined) {
            this.alertId = await this.schemaId(this.options.topics.raw, 'Alert')
            this.notify()
          }
        },
        {
          ...this.backoff,
          signal: this.closing.signal,
          retriable: () => true,
          onRetry: ({ attempt, err }) => {
            this.registryProblem = describeError(err)
            if (attempt === 1 || attempt % 10 === 0)
              this.log.warn({ attempt, err }, 'cannot resolve schema ids; retrying')
          },
        },
      )
      this.log.info(
        { alertId: this.alertId, deadLetterId: this.deadLetterId, attempt: attempts },
        'schema ids resolved',
      )
    } catch (err) {
      this.registryProblem = describeError(err)
    }
  }

  /** The id of exactly this build's `schema` under the topic's subject (see Registry.idOf). */
  private async schemaId(topic: string, schema: string): Promise<number> {
    const subject = valueSubject(topic)
    try {
      return await this.options.registry.idOf(subject, this.options.schemas.resolve(schema))
    } catch (err) {
      throw new RetriableError(
        ERROR_CODES.REGISTRY_UNAVAILABLE,
        `no schema id for subject ${subject} (registered by \`nightshift topology apply\`): ${describeError(err)}`,
        { cause: err },
      )
    }
  }

  private async encode(id: number, value: unknown, what: string): Promise<Buffer> {
    try {
      return await this.options.registry.encode(id, value)
    } catch (err) {
      // The payload was validated, so this is a mismatch with the registered schema.
      throw new ConfigError(`encoding ${what} with schema id ${id} failed: ${describeError(err)}`, {
        code: ERROR_CODES.SCHEMA_INVALID,
        cause: err,
      })
    }
  }

  /** Sends in chunks, in order; a failure replaces the producer and is retriable. */
  private async send(producer: RecordProducer, records: OutRecord[], signal: AbortSignal): Promise<void> {
    const onAbort = () => this.replaceProducer(producer, 'a send was not acknowledged in time')
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      for (const chunk of chunkRecords(records, this.maxBatchBytes)) {
        if (signal.aborted) throw signal.reason
        await producer.send(chunk)
      }
    } catch (err) {
      if (signal.aborted) throw signal.reason
      this.replaceProducer(producer, describeError(err))
      throw new RetriableError(
        ERROR_CODES.KAFKA_UNAVAILABLE,
        `Kafka did not take ${records.length} record(s): ${describeError(err)}`,
        { cause: err },
      )
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  private replaceProducer(producer: RecordProducer, reason: string): void {
    if (this.producer !== producer) return
    this.producer = undefined
    this.kafkaProblem = `reconnecting after a failed send: ${reason}`
    this.log.warn({ reason }, 'replacing the producer after a failed send')
    producer.disconnect().catch(() => undefined)
    this.ensureConnecting()
  }

  /** Runs `op`, rejecting with a retriable error after the publish timeout (and aborting `op`). */
  private async withDeadline(what: string, op: (signal: AbortSignal) => Promise<void>): Promise<void> {
    this.start()
    const controller = new AbortController()
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const state = this.readiness()
        const why = state.ready
          ? `Kafka did not acknowledge within ${this.timeoutMs} ms`
          : `not ready within ${this.timeoutMs} ms: ${state.missing.join('; ')}`
        const err = new RetriableError(ERROR_CODES.KAFKA_UNAVAILABLE, `${what}: ${why}`)
        controller.abort(err)
        reject(err)
      }, this.timeoutMs)
    })
    const work = op(controller.signal)
    // Once timed out, the answer is given; a late failure of `op` has nowhere to go.
    work.catch(() => undefined)
    try {
      await Promise.race([work, timedOut])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Waits until a producer and the needed schema ids are there, or `signal` aborts. */
  private async whenReady(signal: AbortSignal, needAlertId = true): Promise<ReadyState> {
    for (;;) {
      if (signal.aborted) throw signal.reason
      if (this.closed) throw new RetriableError(ERROR_CODES.KAFKA_UNAVAILABLE, 'the ingest publisher is closed')
      const { producer, alertId, deadLetterId } = this
      if (producer && deadLetterId !== undefined && (alertId !== undefined || !needAlertId)) {
        return { producer, alertId: alertId ?? -1, deadLetterId }
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake)
          signal.removeEventListener('abort', wake)
          resolve()
        }
        this.waiters.add(wake)
        signal.addEventListener('abort', wake, { once: true })
      })
    }
  }

  private notify(): void {
    for (const wake of [...this.waiters]) wake()
  }
}
