import type { AlertRecord, EnrichedAlertRecord } from '../../src/contracts/records'

/**
 * Sample records for tests. Each test states only what it cares about as overrides;
 * everything else has a neutral, schema-valid value.
 */
export function alertRecord(overrides: Partial<AlertRecord> = {}): AlertRecord {
  return {
    fingerprint: '16ddbf5dcf57d972',
    status: 'firing',
    labels: { alertname: 'HighLatency' },
    annotations: {},
    startsAt: '2026-11-25T00:52:34.568Z',
    endsAt: null,
    generatorURL: null,
    receiver: null,
    groupKey: null,
    externalURL: null,
    receivedAt: 1_764_000_000_000,
    sentStartsAt: null,
    closedBy: null,
    ...overrides,
  }
}

/** An enriched alert; `alert` overrides are merged into {@link alertRecord}'s defaults. */
export function enrichedAlertRecord(
  overrides: Partial<Omit<EnrichedAlertRecord, 'alert'>> & { alert?: Partial<AlertRecord> } = {},
): EnrichedAlertRecord {
  const { alert: alertOverrides, ...rest } = overrides
  const alert = alertRecord(alertOverrides)
  return {
    alert,
    team: 'payments',
    service: 'checkout',
    tier: null,
    runbookUrl: null,
    slo: null,
    endpoints: {},
    enrichedAt: alert.receivedAt,
    throttledBy: null,
    ...rest,
  }
}
