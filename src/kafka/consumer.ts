import type { Consumer } from 'kafkajs'
import { createKafka, type KafkaSettings } from './connection'
import { decodeHeaders } from './headers'
import type { InRecord } from './records'

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

/** A group consumer handing out per-partition batches. */
export class RecordConsumer {
  private constructor(
    private readonly consumer: Consumer,
    private readonly options: ConsumerOptions,
  ) {}

  static async connect(settings: KafkaSettings, options: ConsumerOptions): Promise<RecordConsumer> {
    const consumer = createKafka(settings).consumer({
      groupId: options.groupId,
      readUncommitted: options.readCommitted === false,
      sessionTimeout: options.sessionTimeoutMs ?? 30000,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1048576,
    })
    await consumer.connect()
    await consumer.subscribe({ topics: options.topics, fromBeginning: options.fromBeginning ?? true })
    return new RecordConsumer(consumer, options)
  }

  /** Starts consuming; resolves once the loop runs (not when it ends). */
  async run(handler: BatchHandler): Promise<void> {
    await this.consumer.run({
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
        await handler({ topic: batch.topic, partition: batch.partition, records }, { heartbeat, isRunning, isStale })
      },
    })
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
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => listener(event.payload.memberAssignment))
  }

  /** Stops fetching after the batch in progress and leaves the group. */
  async disconnect(): Promise<void> {
    await this.consumer.disconnect()
  }
}
