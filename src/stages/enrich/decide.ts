/**
 * Enrich's decision, pure: an alert and the catalog in; the alert with what the catalog
 * knows of it out. The first catalog service (in file order) whose matchers all match
 * the alert's labels owns it; an alert no service matches is forwarded as team
 * `unowned`, never dropped. The alert itself (labels, annotations, every field) is
 * carried unchanged.
 */
import { matchesAll } from '../../matchers'
import type { AlertRecord } from '../../contracts/records'
import type { Catalog, CatalogService } from './catalog'
import type { EnrichedAlertRecord } from '../../contracts/records'
import { UNOWNED } from './record'

/** The annotation whose value wins over the catalog's runbook. */
export const RUNBOOK_ANNOTATION = 'runbook_url'

/** The first service in file order whose matchers all match `labels` (a missing label is ""). */
export function findService(labels: Readonly<Record<string, string>>, catalog: Catalog): CatalogService | undefined {
  return catalog.services.find((service) => matchesAll(service.matchers, labels))
}

/**
 * The enriched record of `alert`: team, service, tier, SLO and endpoints from the
 * matched service; runbookUrl from the alert's runbook_url annotation when it has a
 * non-empty one, else the catalog's. enrichedAt is the alert's receivedAt (record
 * time), so a replay enriches the same. No match: team unowned, everything else null.
 */
export function enrich(alert: AlertRecord, catalog: Catalog): EnrichedAlertRecord {
  const service = findService(alert.labels, catalog)
  const annotated = alert.annotations[RUNBOOK_ANNOTATION]
  return {
    alert,
    team: service?.team ?? UNOWNED,
    service: service?.name ?? null,
    tier: service?.tier ?? null,
    runbookUrl: annotated !== undefined && annotated !== '' ? annotated : (service?.runbook ?? null),
    slo: service?.slo ?? null,
    endpoints: { ...service?.endpoints },
    enrichedAt: alert.receivedAt,
    throttledBy: null,
  }
}
