import { Partitioners, type Message, type Producer, type TopicMessages } from 'kafkajs'
import { connectClient, createKafka, type KafkaSettings } from './connection'
import type { OutRecord } from './records'

/**
 * kafkajs 2's default partitioner (murmur2 of the key, as the Java client), named so it
 * is a choice, not a warning on every start: a key lands in the partition the Java
 * client would pick for it.
 */
export const KEY_PARTITIONER = Partitioners.DefaultPartitioner

function toMessage(record: OutRecord): Message {
  const message: Message = { key: record.key, value: record.value }
  if (record.headers) message.headers = record.headers
  if (record.partition !== undefined) message.partition = record.partition
  if (record.timestamp !== undefined) message.timestamp = record.timestamp
  return message
}

/** Groups records by topic, keeping their order within each topic. */
export function toTopicMessages(records: OutRecord[]): TopicMessages[] {
  const byTopic = new Map<string, Message[]>()
  for (const record of records) {
    let list = byTopic.get(record.topic)
    if (!list) byTopic.set(record.topic, (list = []))
    list.push(toMessage(record))
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }))
}

/**
 * An idempotent producer that waits for every in-sync replica (acks=all): when
 * `send` resolves, Kafka has the records. Used where no input offsets are involved
 * (the webhook).
 */
export class RecordProducer {
  private constructor(private readonly producer: Producer) {}

  /** @throws RetriableError when Kafka does not answer. */
  static async connect(settings: KafkaSettings): Promise<RecordProducer> {
    return new RecordProducer(
      await connectClient(
        settings,
        createKafka(settings).producer({
          idempotent: true,
          maxInFlightRequests: 1,
          createPartitioner: KEY_PARTITIONER,
        }),
      ),
    )
  }

  async send(records: OutRecord[]): Promise<void> {
    if (records.length === 0) return
    await this.producer.sendBatch({ acks: -1, topicMessages: toTopicMessages(records) })
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect()
  }
}
