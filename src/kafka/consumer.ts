import type { Consumer } from 'kafkajs'
import { describeError } from '../errors'
import { createKafka, type KafkaSettings } from './connection'
import { decodeHeaders } from './headers'
import type { InRecord } from './records'
import { startFailure, withAccessContext } from './security'

export interface ConsumerOptions {
  groupId: string
  topics: string[]
  fromBeginning?: boolean
  /** Only see records of committed transactions (default true). */
  readCommitted?: boolean
  /**
   * false when offsets are committed elsewhere (inside a transaction); true lets the
   * client commit after each batch (plain readers such as tail).
   */
  autoCommit?: boolean
  sessionTimeoutMs?: number
  maxBytesPerPartition?: number
  /** Batches of different partitions handled at once (default 1). */
  concurrentPartitions?: number
}

/** One partition's slice of a fetch. */
export interface RecordBatch {
  topic: string
  partition: number
  records: InRecord[]
}

export interface BatchControl {
  heartbeat(): Promise<void>
  /** false once stop() was called: finish the batch, commit, return. */
  isRunning(): boolean
  /** true when a rebalance took the partition away: do not commit this batch. */
  isStale(): boolean
}

export type BatchHandler = (batch: RecordBatch, control: BatchControl) => Promise<void>

/** How long a consumer that crashed for good waits before it is built again. */
const REBUILD_DELAY_MS = 1000

/**
 * A group consumer handing out per-partition batches.
 *
 * It never dies quietly. kafkajs restarts a crashed consumer only when the error's root
 * cause is retriable, so a handler that gives up on a batch for any other reason (a
 * fenced producer, an unexpected error) would leave a process running whose stage reads
 * nothing, its group empty: every handler failure is therefore passed to kafkajs as
 * retriable (the handler has logged why), and a crash kafkajs still does not restart
 * (its own non-retriable errors) makes this class build a new consumer and join again.
 * Either way the partition starts over from its last committed offset.
 */
export class RecordConsumer {
  private handler: BatchHandler | undefined
  private readonly assignmentListeners: Array<(assignment: Record<string, number[]>) => void> = []
  private readonly fatalListeners: Array<(err: Error) => void> = []
  private stopped = false
  private rebuilding: NodeJS.Timeout | undefined
  /** A crash no retry can heal (a refused group ACL, say): reported, never rebuilt. */
  private fatal: Error | undefined

  private constructor(
    private consumer: Consumer,
    private readonly settings: KafkaSettings,
    private readonly options: ConsumerOptions,
  ) {
    this.watch(consumer)
  }

  static async connect(settings: KafkaSettings, options: ConsumerOptions): Promise<RecordConsumer> {
    const refusal = { type: '' }
    const consumer = new RecordConsumer(await RecordConsumer.open(settings, options, refusal), settings, options)
    consumer.refusal = refusal
    return consumer
  }

  /** The last authorization error kafkajs logged for this consumer, which its crash may not carry. */
  private refusal: { type: string } = { type: '' }

  private static async open(
    settings: KafkaSettings,
    options: ConsumerOptions,
    refusal: { type: string } = { type: '' },
  ): Promise<Consumer> {
    const consumer = createKafka(settings, (type) => (refusal.type = type)).consumer({
      groupId: options.groupId,
      readUncommitted: options.readCommitted === false,
      sessionTimeout: options.sessionTimeoutMs ?? 30000,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1048576,
    })
    await withAccessContext(settings, { topics: options.topics, groupId: options.groupId }, async () => {
      await consumer.connect()
      await consumer.subscribe({ topics: options.topics, fromBeginning: options.fromBeginning ?? true })
    })
    return consumer
  }

  /** Starts consuming; resolves once the loop runs (not when it ends). */
  async run(handler: BatchHandler): Promise<void> {
    this.handler = handler
    await this.start(this.consumer)
    // kafkajs joins the group inside run() and reports a refused join as a crash, not a
    // rejection: a group the principal may not use fails the start here, by name.
    if (this.fatal) throw this.fatal
  }

  private async start(consumer: Consumer): Promise<void> {
    const handler = this.handler!
    await consumer.run({
      autoCommit: this.options.autoCommit ?? false,
      partitionsConsumedConcurrently: this.options.concurrentPartitions ?? 1,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale }) => {
        const records: InRecord[] = batch.messages.map((m) => ({
          topic: batch.topic,
          partition: batch.partition,
          offset: m.offset,
          key: m.key,
          value: m.value,
          headers: decodeHeaders(m.headers),
          timestamp: m.timestamp,
        }))
        try {
          await handler({ topic: batch.topic, partition: batch.partition, records }, { heartbeat, isRunning, isStale })
        } catch (err) {
          throw restartable(err)
        }
      },
    })
  }

  /** Follows a kafkajs consumer's crashes: one it will not restart is replaced by a new consumer. */
  private watch(consumer: Consumer): void {
    const log = this.settings.logger.child({ module: 'consumer', groupId: this.options.groupId })
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      for (const listener of this.assignmentListeners) listener(event.payload.memberAssignment)
    })
    consumer.on(consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload
      if (restart) {
        log.warn({ err: error }, 'consumer crashed; kafkajs restarts it from the last commit')
        return
      }
      if (this.stopped || this.consumer !== consumer) return
      const context = { topics: this.options.topics, groupId: this.options.groupId }
      const fatal =
        startFailure(error, this.settings, context) ??
        (error.name === 'KafkaJSGroupCoordinatorNotFound' && this.refusal.type !== ''
          ? startFailure(Object.assign(new Error(error.message), { type: this.refusal.type }), this.settings, context)
          : undefined)
      if (fatal) {
        this.fatal = fatal
        log.error({ err: fatal }, 'consumer refused by the broker; not rebuilt, since retrying cannot help')
        for (const listener of this.fatalListeners) listener(fatal)
        return
      }
      log.error(
        { err: error, inMs: REBUILD_DELAY_MS },
        'consumer crashed and kafkajs will not restart it; building a new one',
      )
      this.rebuilding = setTimeout(() => void this.rebuild(consumer, log), REBUILD_DELAY_MS)
    })
  }

  private async rebuild(crashed: Consumer, log: KafkaSettings['logger']): Promise<void> {
    this.rebuilding = undefined
    if (this.stopped) return
    await crashed.disconnect().catch(() => undefined)
    try {
      const consumer = await RecordConsumer.open(this.settings, this.options, this.refusal)
      if (this.stopped) {
        await consumer.disconnect()
        return
      }
      this.consumer = consumer
      this.watch(consumer)
      await this.start(consumer)
      log.info({}, 'consumer rebuilt; rejoining the group')
    } catch (err) {
      log.error({ err, inMs: REBUILD_DELAY_MS }, 'could not build a new consumer; trying again')
      this.rebuilding = setTimeout(() => void this.rebuild(crashed, log), REBUILD_DELAY_MS)
    }
  }

  /**
   * Moves a partition's position to `offset`; only after {@link run}. It applies before
   * the partition's next fetch; a batch fetched before it may still be handed out (as
   * stale), so callers that seek skip the offsets they did not ask for.
   */
  seek(topic: string, partition: number, offset: string): void {
    this.consumer.seek({ topic, partition, offset })
  }

  /** Calls `listener` with the partitions assigned to this member after each rebalance. */
  onAssignment(listener: (assignment: Record<string, number[]>) => void): void {
    this.assignmentListeners.push(listener)
  }

  /**
   * Calls `listener` when the consumer stops for good after {@link run} resolved (the
   * broker refused its group or topics): the stage reads nothing more, so its owner stops.
   */
  onFatal(listener: (err: Error) => void): void {
    this.fatalListeners.push(listener)
  }

  /** Stops fetching after the batch in progress and leaves the group. */
  async disconnect(): Promise<void> {
    this.stopped = true
    if (this.rebuilding) clearTimeout(this.rebuilding)
    await this.consumer.disconnect()
  }
}

/**
 * The error kafkajs is handed when a batch handler fails: retriable at its root, so the
 * consumer is restarted (kafkajs reads only the innermost `cause`), and saying what failed.
 */
function restartable(err: unknown): Error {
  return Object.assign(new Error(`batch handler failed: ${describeError(err)}`), {
    name: 'NightshiftBatchFailed',
    retriable: true,
  })
}
