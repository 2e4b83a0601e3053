/** Ingest: the Alertmanager webhook's pure logic and its Kafka publisher. */
export { fingerprint, FINGERPRINT_PATTERN } from './fingerprint'
export { isRfc3339 } from './rfc3339'
export {
  createPayloadValidator,
  describeValidationError,
  webhookSchema,
  DEFAULT_WEBHOOK_LIMITS,
  type PayloadValidator,
  type WebhookAlert,
  type WebhookLimits,
  type WebhookPayload,
} from './payload'
export { toAlerts, type AlertRecord } from './alerts'
export {
  KafkaIngestPublisher,
  INGEST_HEADERS,
  chunkRecords,
  recordBytes,
  type DeadLetterInput,
  type IngestPublisher,
  type KafkaIngestPublisherOptions,
  type PublishContext,
  type Readiness,
} from './publisher'
