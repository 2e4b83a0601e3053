/**
 * TypeScript shapes of the Avro contracts in schemas/ that code builds or reads. The
 * .avsc files are the source of truth; tests validate records built with these shapes
 * against the avsc types (e.g. test/unit/ingest-alerts.test.ts).
 */

/** An alert on alerts.raw / alerts.deduped (schemas/alert.avsc). */
export interface AlertRecord {
  fingerprint: string
  status: 'firing' | 'resolved'
  labels: Record<string, string>
  annotations: Record<string, string>
  startsAt: string
  endsAt: string | null
  generatorURL: string | null
  receiver: string | null
  groupKey: string | null
  externalURL: string | null
  /** Milliseconds since the epoch. */
  receivedAt: number
}
