/**
 * The Kafka boundary: the only folder that imports kafkajs or the registry client.
 * Everything else uses these small interfaces, so the client can be swapped.
 */
export type { KafkaSettings } from './connection'
export type { InRecord, OutRecord } from './records'
export { nextOffset } from './records'
export { KafkaAdmin, waitForBroker, type TopicSpec, type TopicDescription } from './admin'
export { RecordProducer } from './producer'
export { TransactionalProducer, type Transaction, type OffsetToCommit } from './transaction'
export {
  RecordConsumer,
  type ConsumerOptions,
  type RecordBatch,
  type BatchControl,
  type BatchHandler,
} from './consumer'
export { Registry, type AvroSchema, type Compatibility } from './registry'
export {
  TopicTail,
  readTopic,
  readTopicToBarrier,
  readTopicWindow,
  isBarrier,
  BARRIER_KEY_PREFIX,
  DEFAULT_READ_TIMEOUT_MS,
  type ReadTopicOptions,
  type ReadWindowOptions,
} from './topic-reader'
