import { randomUUID } from 'node:crypto'
import type { Admin } from 'kafkajs'
import { ConfigError, ERROR_CODES, NightshiftError, RetriableError, describeError } from '../errors'
import type { Logger } from '../log'
import { retry } from '../retry'
import { connectClient, createKafka, type KafkaSettings } from './connection'
import { RecordConsumer, type RecordBatch } from './consumer'
import { RecordProducer } from './producer'
import type { InRecord } from './records'

/** How long {@link readTopic} waits for the end offsets by default. */
export const DEFAULT_READ_TIMEOUT_MS = 30_000

/** Offsets of a partition when reading began: its records are at [low, high). */
interface PartitionRange {
  low: bigint
  high: bigint
}

/**
 * Low and high watermarks of every partition of `topic`. Both are needed: a partition
 * emptied by retention (compact,delete) has low = high > 0 and nothing to wait for, which
 * KafkaAdmin.endOffsets (high only) cannot tell. The high watermark is what a
 * read_uncommitted ListOffsets returns; on a topic without transactions it equals the
 * last stable offset a read_committed consumer reaches.
 * @throws ConfigError when the topic does not exist (the topology was not applied).
 */
async function partitionRanges(settings: KafkaSettings, topic: string): Promise<Map<number, PartitionRange>> {
  return withAdmin(settings, (admin) => rangesOf(admin, topic))
}

/** Runs `work` with a kafkajs admin of its own, disconnected afterwards. */
async function withAdmin<T>(settings: KafkaSettings, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = await connectClient(settings, createKafka(settings).admin())
  try {
    return await work(admin)
  } finally {
    await admin.disconnect().catch(() => undefined)
  }
}

async function rangesOf(admin: Admin, topic: string): Promise<Map<number, PartitionRange>> {
  // kafkajs' admin never auto-creates topics: a missing one is a missing `topology apply`.
  if (!(await admin.listTopics()).includes(topic)) {
    throw new ConfigError(`topic ${topic} does not exist; run \`nightshift topology apply\` (with the same --prefix)`)
  }
  // Right after a topic is created the broker may not lead its partitions yet
  // (NOT_LEADER_FOR_PARTITION, retriable); kafkajs' admin does not retry ListOffsets.
  const offsets = await retry(async () => admin.fetchTopicOffsets(topic), {
    initialMs: 250,
    maxMs: 250,
    maxAttempts: 20,
  })
  return new Map(offsets.map((p) => [p.partition, { low: BigInt(p.low), high: BigInt(p.high) }]))
}

/**
 * Per partition, the offset of the first record whose timestamp is at or after
 * `timestamp` (ms since the epoch); the high watermark when there is none.
 */
async function offsetsAt(admin: Admin, topic: string, timestamp: number): Promise<Map<number, bigint>> {
  const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, timestamp)
  return new Map(offsets.map((p) => [p.partition, BigInt(p.offset)]))
}

/**
 * Follows a topic from the beginning with a throwaway consumer group (no commits, so
 * every start reads the whole topic again): how workers keep a view of a compacted
 * topic such as `nightshift.control` up to date.
 *
 * Records reach `onRecord` once each and in log order within a partition: a record the
 * consumer hands out again after a rejoin (same partition, lower offset) is dropped, so
 * a view never steps back to an older value of a key. `onRecord` should not throw; if it
 * does, the error is logged with the record's position and the record is skipped, since
 * re-delivering it would fail the same way and stall the tail.
 *
 * Meant for topics written without transactions. A read_committed consumer is never
 * handed a transaction's commit marker, so on a transactional topic whose last entry is
 * a marker {@link TopicTail.caughtUp} would not resolve (restore.ts writes a barrier for that).
 */
export class TopicTail {
  /** Next offset to deliver, per partition. */
  private readonly next = new Map<number, bigint>()
  /** Partitions not yet read up to their high watermark at start, with that watermark. */
  private readonly pending = new Map<number, bigint>()
  private readonly caught: Promise<void>
  private resolveCaught: () => void = () => undefined
  private rejectCaught: (err: unknown) => void = () => undefined
  private consumer: RecordConsumer | undefined
  private stopped = false

  private constructor(
    readonly topic: string,
    ranges: ReadonlyMap<number, PartitionRange>,
    private readonly onRecord: (record: InRecord) => void,
    private readonly log: Logger,
  ) {
    for (const [partition, { low, high }] of ranges) if (high > low) this.pending.set(partition, high)
    this.caught = new Promise<void>((resolve, reject) => {
      this.resolveCaught = resolve
      this.rejectCaught = reject
    })
    // caughtUp() may never be asked for; a rejection nobody awaits must not crash the process.
    this.caught.catch(() => undefined)
    if (this.pending.size === 0) this.resolveCaught()
  }

  /**
   * Starts following `topic` from the beginning. Resolves once the consumer runs; records
   * may reach `onRecord` before that.
   * @throws ConfigError when the topic does not exist; RetriableError when Kafka is unreachable.
   */
  static async start(settings: KafkaSettings, topic: string, onRecord: (record: InRecord) => void): Promise<TopicTail> {
    const ranges = await partitionRanges(settings, topic)
    const tail = new TopicTail(topic, ranges, onRecord, settings.logger.child({ module: 'topic-tail', topic }))
    let consumer: RecordConsumer
    try {
      consumer = await RecordConsumer.connect(
        { ...settings, clientId: `${settings.clientId}-tail` },
        {
          groupId: `nightshift-tail-${randomUUID()}`,
          topics: [topic],
          fromBeginning: true,
          readCommitted: true,
          autoCommit: false,
        },
      )
    } catch (cause) {
      throw new RetriableError(
        ERROR_CODES.KAFKA_UNAVAILABLE,
        `could not start reading ${topic} from Kafka at ${settings.brokers.join(',')}: ${describeError(cause)}`,
        { cause },
      )
    }
    tail.consumer = consumer
    try {
      await consumer.run(async (batch) => tail.deliver(batch))
    } catch (cause) {
      await consumer.disconnect().catch(() => undefined)
      throw new RetriableError(
        ERROR_CODES.KAFKA_UNAVAILABLE,
        `could not start reading ${topic}: ${describeError(cause)}`,
        { cause },
      )
    }
    return tail
  }

  /**
   * Resolves once every record present when the tail started has been delivered (at
   * once for an empty topic). With `timeoutMs`, rejects with a {@link RetriableError}
   * naming the partitions still behind when that passes; rejects when the tail is
   * stopped first.
   */
  caughtUp(timeoutMs?: number): Promise<void> {
    if (timeoutMs === undefined || this.pending.size === 0) return this.caught
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const behind = [...this.pending].map(
          ([p, end]) => `partition ${p} at offset ${this.next.get(p) ?? 'start'} of ${end}`,
        )
        reject(
          new RetriableError(
            ERROR_CODES.KAFKA_UNAVAILABLE,
            `reading ${this.topic} did not reach its end offsets within ${timeoutMs} ms: ${behind.join(', ')}`,
          ),
        )
      }, timeoutMs)
    })
    return Promise.race([this.caught, timeout]).finally(() => clearTimeout(timer))
  }

  /** Leaves the group and stops delivering. Safe to call more than once. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    if (this.pending.size > 0)
      this.rejectCaught(
        new NightshiftError(ERROR_CODES.KAFKA, `the tail of ${this.topic} was stopped before it caught up`),
      )
    await this.consumer?.disconnect()
  }

  private deliver(batch: RecordBatch): void {
    if (this.stopped) return
    let next = this.next.get(batch.partition) ?? -1n
    for (const record of batch.records) {
      const offset = BigInt(record.offset)
      if (offset < next) continue
      next = offset + 1n
      this.next.set(batch.partition, next)
      try {
        this.onRecord(record)
      } catch (err) {
        this.log.error(
          { partition: record.partition, offset: record.offset, err },
          'record handler failed; record skipped',
        )
      }
    }
    const end = this.pending.get(batch.partition)
    if (end !== undefined && next >= end) {
      this.pending.delete(batch.partition)
      if (this.pending.size === 0) this.resolveCaught()
    }
  }
}

export interface ReadTopicOptions {
  /** How long to wait for the end offsets (default {@link DEFAULT_READ_TIMEOUT_MS}). */
  timeoutMs?: number
  /**
   * Only {@link readTopicToBarrier}: start each partition at its first record with a
   * timestamp at or after this (ms since the epoch) instead of at the beginning. Record
   * timestamps need not grow with offsets, so a few older records may follow.
   */
  since?: number
}

/**
 * Every committed record of `topic`, from the beginning to the end offsets taken at the
 * call, in log order within each partition (partitions in ascending order). Uses a
 * throwaway consumer group and commits nothing. Resolves at once, without joining a
 * group, when the topic is empty. Same caveat as {@link TopicTail}: for topics written
 * without transactions.
 * @throws RetriableError when the end offsets are not reached within `timeoutMs`;
 *   ConfigError when the topic does not exist.
 */
export async function readTopic(
  settings: KafkaSettings,
  topic: string,
  options: ReadTopicOptions = {},
): Promise<InRecord[]> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS
  const startedAt = Date.now()
  const ranges = await partitionRanges(settings, topic)
  if ([...ranges.values()].every((r) => r.high <= r.low)) return []
  const records: InRecord[] = []
  // The tail takes its own end offsets, a little later and so at least as far: once it
  // has caught up, everything up to ours has been seen.
  const tail = await TopicTail.start(settings, topic, (record) => {
    if (BigInt(record.offset) < (ranges.get(record.partition)?.high ?? 0n)) records.push(record)
  })
  try {
    await tail.caughtUp(Math.max(0, timeoutMs - (Date.now() - startedAt)))
  } finally {
    await tail.stop()
  }
  return records.sort((a, b) => a.partition - b.partition || (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1))
}

/** Key prefix of read barriers (and of the runner's restore barriers): no record key of ours starts with NUL. */
export const BARRIER_KEY_PREFIX = '\u0000barrier/'

/** True for barrier records (tombstones with a NUL-prefixed key), which readers skip. */
export function isBarrier(record: Pick<InRecord, 'key' | 'value'>): boolean {
  return record.value === null && record.key !== null && record.key.toString('utf8').startsWith(BARRIER_KEY_PREFIX)
}

/**
 * Every committed record of `topic` up to now, also for topics written in transactions
 * (where {@link readTopic} cannot tell when it is done: a reader never sees a
 * transaction's commit marker, the last offset). A tombstone barrier with a unique key is
 * appended to every partition first; each partition is read until its barrier, which a
 * read_committed reader reaches only after every transaction before it was decided.
 * Barriers are skipped in the result (and compacted away later). In log order within a
 * partition, partitions ascending. With `since`, each partition starts at that record
 * time (ListOffsets by timestamp, then a seek once the reader runs).
 * @throws ConfigError when the topic does not exist; RetriableError on timeout.
 */
export async function readTopicToBarrier(
  settings: KafkaSettings,
  topic: string,
  options: ReadTopicOptions = {},
): Promise<InRecord[]> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS
  const { since } = options
  const { ranges, starts } = await withAdmin(settings, async (admin) => {
    const ranges = await rangesOf(admin, topic)
    return { ranges, starts: since === undefined ? new Map<number, bigint>() : await offsetsAt(admin, topic, since) }
  })
  const barriers = new Map<number, string>()
  const producer = await RecordProducer.connect(settings)
  try {
    const records = [...ranges.keys()].map((partition) => ({
      topic,
      partition,
      key: `${BARRIER_KEY_PREFIX}${randomUUID()}`,
      value: null,
    }))
    await producer.send(records)
    for (const r of records) barriers.set(r.partition, r.key)
  } finally {
    await producer.disconnect()
  }
  const pending = new Set(barriers.keys())
  const collected: InRecord[] = []
  let finish: () => void = () => undefined
  const done = new Promise<void>((resolve) => (finish = resolve))
  const reader = await RecordConsumer.connect(
    { ...settings, clientId: `${settings.clientId}-read` },
    {
      groupId: `nightshift-read-${randomUUID()}`,
      topics: [topic],
      fromBeginning: true,
      readCommitted: true,
      autoCommit: false,
    },
  )
  // Next offset to take per partition: below it, a record is before `since` or was handed out already (a batch fetched before the seek).
  const next = new Map([...ranges.keys()].map((p) => [p, starts.get(p) ?? 0n]))
  const timer = setTimeout(finish, timeoutMs)
  try {
    await reader.run(async (batch: RecordBatch) => {
      if (!pending.has(batch.partition)) return
      for (const record of batch.records) {
        const offset = BigInt(record.offset)
        if (offset < (next.get(batch.partition) ?? 0n)) continue
        next.set(batch.partition, offset + 1n)
        if (record.key?.toString('utf8') === barriers.get(batch.partition)) {
          pending.delete(batch.partition)
          if (pending.size === 0) finish()
          return
        }
        if (!isBarrier(record)) collected.push(record)
      }
    })
    for (const [partition, offset] of starts) reader.seek(topic, partition, offset.toString())
    await done
  } finally {
    clearTimeout(timer)
    await reader.disconnect().catch(() => undefined)
  }
  if (pending.size > 0) {
    throw new RetriableError(
      ERROR_CODES.KAFKA_UNAVAILABLE,
      `reading ${topic} did not reach the end of partition(s) ${[...pending].join(', ')} within ${timeoutMs} ms`,
    )
  }
  return collected.sort((a, b) => a.partition - b.partition || (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1))
}

export interface ReadWindowOptions {
  /** Start each partition at its first record with a timestamp at or after this (ms since the epoch). */
  since: number
  /**
   * Stop each partition before its first record with a timestamp at or after this (ms
   * since the epoch); default: at the end offsets taken at the call.
   */
  until?: number
  /** Fail when no record arrives for this long (default {@link DEFAULT_READ_TIMEOUT_MS}). */
  idleTimeoutMs?: number
  /** Called after each batch: records read so far (barriers included) of the offsets to read. */
  onProgress?: (read: number, total: number) => void
}

/**
 * The records of `topic` between two record times: per partition, from the offset of
 * the first record at or after `since` to the offset of the first record at or after
 * `until` (or the end offsets at the call), found with ListOffsets by timestamp, so a
 * week-old window of a long topic is read without reading what comes before it. Record
 * timestamps need not grow with offsets: callers that need an exact window also filter
 * on each record's timestamp. Read barriers are left out. A throwaway consumer group
 * seeks to those offsets and commits nothing. In log order within a partition,
 * partitions ascending. For topics written without transactions (alerts.raw): a
 * transaction marker at the end of a partition would never be reached.
 * @throws ConfigError when the topic does not exist; RetriableError when Kafka is
 *   unreachable or no record arrived for `idleTimeoutMs`.
 */
export async function readTopicWindow(
  settings: KafkaSettings,
  topic: string,
  options: ReadWindowOptions,
): Promise<InRecord[]> {
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS
  const windows = await withAdmin(settings, async (admin) => {
    const ranges = await rangesOf(admin, topic)
    const starts = await offsetsAt(admin, topic, options.since)
    const ends = options.until === undefined ? undefined : await offsetsAt(admin, topic, options.until)
    const windows = new Map<number, { start: bigint; end: bigint }>()
    for (const [partition, { low, high }] of ranges) {
      const start = starts.get(partition) ?? high
      const end = ends?.get(partition) ?? high
      windows.set(partition, { start: start < low ? low : start, end: end > high ? high : end })
    }
    return windows
  })
  const pending = new Map([...windows].filter(([, w]) => w.end > w.start))
  if (pending.size === 0) return []
  const total = [...pending.values()].reduce((sum, w) => sum + Number(w.end - w.start), 0)
  let read = 0
  const collected: InRecord[] = []
  let settle: (err?: unknown) => void = () => undefined
  const done = new Promise<void>(
    (resolve, reject) => (settle = (err?: unknown) => (err === undefined ? resolve() : reject(err))),
  )
  done.catch(() => undefined)
  let timer: NodeJS.Timeout | undefined
  const idle = () => {
    clearTimeout(timer)
    timer = setTimeout(() => {
      const behind = [...pending].map(([p, w]) => `partition ${p} (offsets ${w.start}–${w.end})`)
      settle(
        new RetriableError(
          ERROR_CODES.KAFKA_UNAVAILABLE,
          `reading ${topic}: no record arrived for ${idleTimeoutMs} ms; not finished: ${behind.join(', ')}`,
        ),
      )
    }, idleTimeoutMs)
  }
  const reader = await RecordConsumer.connect(
    { ...settings, clientId: `${settings.clientId}-read` },
    {
      groupId: `nightshift-read-${randomUUID()}`,
      topics: [topic],
      fromBeginning: true,
      readCommitted: true,
      autoCommit: false,
    },
  )
  // Next offset to take per partition: below it, a record is before the window or was handed out already (a batch fetched before the seek).
  const next = new Map([...pending].map(([p, w]) => [p, w.start]))
  try {
    idle()
    await reader.run(async (batch: RecordBatch) => {
      const window = pending.get(batch.partition)
      if (!window) return
      idle()
      for (const record of batch.records) {
        const offset = BigInt(record.offset)
        if (offset < next.get(batch.partition)!) continue
        if (offset >= window.end) break
        next.set(batch.partition, offset + 1n)
        read += 1
        if (!isBarrier(record)) collected.push(record)
      }
      const last = batch.records[batch.records.length - 1]
      if (last !== undefined && BigInt(last.offset) + 1n >= window.end) pending.delete(batch.partition)
      options.onProgress?.(read, total)
      if (pending.size === 0) settle()
    })
    for (const [partition, { start }] of pending) reader.seek(topic, partition, start.toString())
    await done
  } finally {
    clearTimeout(timer)
    await reader.disconnect().catch(() => undefined)
  }
  return collected.sort((a, b) => a.partition - b.partition || (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1))
}
