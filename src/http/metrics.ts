import { Counter, type Registry } from 'prom-client'

/** The webhook's counters; created once per process on the registry passed in. */
export interface IngestMetrics {
  requests: Counter<'status'>
  alerts: Counter
  deadLetters: Counter<'code'>
}

export function createIngestMetrics(registry: Registry): IngestMetrics {
  const registers = [registry]
  return {
    requests: new Counter({
      name: 'nightshift_ingest_requests_total',
      help: 'Webhook requests by HTTP status.',
      labelNames: ['status'],
      registers,
    }),
    alerts: new Counter({
      name: 'nightshift_ingest_alerts_total',
      help: 'Alerts acknowledged by Kafka on alerts.raw.',
      registers,
    }),
    deadLetters: new Counter({
      name: 'nightshift_ingest_dead_letters_total',
      help: 'Webhook bodies written to the DLQ, by error code.',
      labelNames: ['code'],
      registers,
    }),
  }
}
