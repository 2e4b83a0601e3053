import type { Producer } from 'kafkajs'
import { createKafka, type KafkaSettings } from './connection'
import type { OutRecord } from './records'
import { withAccessContext } from './security'
import { KEY_PARTITIONER, toTopicMessages } from './producer'

/** The consumed position a transaction commits: the next offset to read. */
export interface OffsetToCommit {
  topic: string
  partition: number
  offset: string
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
  ) {}

  static async connect(settings: KafkaSettings, transactionalId: string): Promise<TransactionalProducer> {
    const refusal = { type: '' }
    const producer = createKafka(settings, (type) => (refusal.type = type)).producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: KEY_PARTITIONER,
    })
    // kafkajs reports a refused transactional id as "Failed to find group coordinator".
    await withAccessContext(settings, { transactionalId }, () =>
      producer.connect().catch((err: Error) => {
        throw err.name === 'KafkaJSGroupCoordinatorNotFound' && refusal.type !== ''
          ? Object.assign(new Error(err.message, { cause: err }), { type: refusal.type })
          : err
      }),
    )
    return new TransactionalProducer(producer, transactionalId)
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
      throw err
    }
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect()
  }
}
