import type { Producer } from 'kafkajs'
import { createKafka, type KafkaSettings } from './connection'
import type { OutRecord } from './records'
import { startFailure, withAccessContext } from './security'
import { KEY_PARTITIONER, toTopicMessages } from './producer'

/** The consumed position a transaction commits: the next offset to read. */
export interface OffsetToCommit {
  topic: string
  partition: number
  offset: string
}

/**
 * Connects and registers the transactional id now: kafkajs' connect() only makes an
 * idempotent producer id and leaves the transactional InitProducerId to the first
 * transaction. An empty transaction started and aborted does it (nothing is sent to
 * end it): earlier epochs of the id are fenced, a transaction they left open is
 * completed before this returns, and a refused transactional-id ACL shows here.
 */
async function init(producer: Producer): Promise<void> {
  await producer.connect()
  const tx = await producer.transaction()
  await tx.abort()
}

/** What a stage may do inside one transaction. */
export interface Transaction {
  send(records: OutRecord[]): Promise<void>
  commitOffsets(groupId: string, offsets: OffsetToCommit[]): Promise<void>
}

/**
 * A transactional producer. kafkajs supports one pattern only: one transactional
 * producer per input partition, with a transactionalId stable across restarts
 * (so a restarted instance fences the zombie one). Callers build the id from the
 * group, topic and partition.
 */
export class TransactionalProducer {
  private constructor(
    private readonly producer: Producer,
    readonly transactionalId: string,
    private readonly settings: KafkaSettings,
  ) {}

  static async connect(settings: KafkaSettings, transactionalId: string): Promise<TransactionalProducer> {
    // kafkajs logs a refused transactional id, then retries FindCoordinator for as long as
    // its retry settings allow and reports "Failed to find group coordinator": the refusal
    // is taken from the log line, and connecting gives up at the first one.
    let refused: (type: string) => void = () => undefined
    const refusal = new Promise<never>((_, reject) => {
      refused = (type) => reject(Object.assign(new Error(`transactional id ${transactionalId} refused`), { type }))
    })
    refusal.catch(() => undefined)
    const producer = createKafka(settings, (type) => refused(type)).producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: KEY_PARTITIONER,
    })
    try {
      await withAccessContext(settings, { transactionalId }, () => Promise.race([init(producer), refusal]))
    } catch (err) {
      await producer.disconnect().catch(() => undefined)
      throw err
    }
    return new TransactionalProducer(producer, transactionalId, settings)
  }

  /**
   * Runs `work` in a transaction: commits when it resolves, aborts and rethrows when it
   * throws. Records and offsets sent through the transaction become visible to
   * read_committed consumers together, or not at all.
   */
  async run<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    const tx = await this.producer.transaction()
    try {
      const result = await work({
        send: async (records) => {
          if (records.length > 0) await tx.sendBatch({ acks: -1, topicMessages: toTopicMessages(records) })
        },
        commitOffsets: async (groupId, offsets) => {
          if (offsets.length === 0) return
          const byTopic = new Map<string, { partition: number; offset: string }[]>()
          for (const o of offsets) {
            let list = byTopic.get(o.topic)
            if (!list) byTopic.set(o.topic, (list = []))
            list.push({ partition: o.partition, offset: o.offset })
          }
          await tx.sendOffsets({
            consumerGroupId: groupId,
            topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
          })
        },
      })
      await tx.commit()
      return result
    } catch (err) {
      if (tx.isActive()) await tx.abort().catch(() => undefined)
      // An ACL removed while running: a ConfigError naming the refused id, not a retry.
      throw startFailure(err, this.settings, { transactionalId: this.transactionalId }) ?? err
    }
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect()
  }
}
