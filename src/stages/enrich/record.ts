import type { AlertRecord } from '../../contracts/records'

/**
 * An alert with what the service catalog knows of it (schemas/enriched-alert.avsc), on
 * alerts.enriched, alerts.admitted, alerts.throttled and alerts.unrouted.
 */
export interface EnrichedAlertRecord {
  /** The alert as deduplicated, unchanged. */
  alert: AlertRecord
  /** Owning team; {@link UNOWNED} when no catalog service matched. */
  team: string
  /** Catalog service; null when none matched. */
  service: string | null
  tier: string | null
  /** The alert's runbook_url annotation, else the catalog's. */
  runbookUrl: string | null
  slo: string | null
  /** Endpoints actions may call for this service, by name. */
  endpoints: Record<string, string>
  /** Record time (the alert's receivedAt) the enrichment was computed at, ms since the epoch. */
  enrichedAt: number
  /** On alerts.throttled: the limit that stopped the alert (e.g. `team:payments`); null elsewhere. */
  throttledBy: string | null
}

/** The team of an alert no catalog service matched (the schema's default). */
export const UNOWNED = 'unowned'
