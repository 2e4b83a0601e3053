/**
 * Benchmark alerts: deterministic, Alertmanager-shaped (the labels, annotations and
 * group context a real Prometheus + Alertmanager send), spread over the catalog's
 * services (and some no service owns), each with its Alertmanager fingerprint.
 */
import type { AlertRecord } from '../../src/contracts/records'
import { fingerprint } from '../../src/ingest/fingerprint'
import type { WebhookAlert, WebhookPayload } from '../../src/ingest/payload'

/** A source of alerts: which labels a service's alerts carry. */
interface Source {
  labels: Record<string, string>
  alertnames: string[]
}

/** Matched by topology/catalog.yaml (checkout, payments-api, prometheus, alertmanager, kafka), plus one unowned. */
const SOURCES: Source[] = [
  {
    labels: { service: 'checkout', namespace: 'shop', job: 'checkout' },
    alertnames: ['HighLatency', 'HighErrorRate', 'PodCrashLooping'],
  },
  {
    labels: { namespace: 'payments', job: 'payments-api' },
    alertnames: ['HighLatencyP99', 'HighErrorRate', 'TargetDown'],
  },
  {
    labels: { service: 'prometheus', namespace: 'monitoring', job: 'prometheus-k8s' },
    alertnames: ['PrometheusRuleFailures', 'TargetDown'],
  },
  { labels: { namespace: 'monitoring', job: 'alertmanager-main' }, alertnames: ['AlertmanagerFailedToSendAlerts'] },
  {
    labels: { namespace: 'kafka', job: 'kafka-broker' },
    alertnames: ['KafkaUnderReplicatedPartitions', 'DiskWillFillIn4Hours'],
  },
  { labels: { namespace: 'search', job: 'search-indexer' }, alertnames: ['HighLatency', 'KubePodNotReady'] },
]

const EXTERNAL_URL = 'http://alertmanager.example.internal:9093'
const RECEIVER = 'nightshift'
/** Alertmanager's "no end" time for a firing alert. */
const NO_END = '0001-01-01T00:00:00Z'

/** A small seeded PRNG (mulberry32): the same seed gives the same alerts on every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface AlertOptions {
  seed?: number
  /** Share of alerts that are critical (routed to `page`); the rest are warnings (unrouted). Default 0.7. */
  criticalShare?: number
  /** Milliseconds since the epoch the alerts started around. Default: now. */
  baseTime?: number
}

/** The webhook form of alert `i`: labels unique to `i` (so a distinct fingerprint), same source and name for a group. */
export function webhookAlert(
  i: number,
  source: number,
  alertname: string,
  random: () => number,
  options: AlertOptions,
): WebhookAlert {
  const s = SOURCES[source % SOURCES.length]!
  const critical = random() < (options.criticalShare ?? 0.7)
  const labels: Record<string, string> = {
    alertname,
    severity: critical ? 'critical' : 'warning',
    ...s.labels,
    cluster: 'eu-west-1-prod',
    prometheus: 'monitoring/k8s',
    instance: `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}:9100`,
    pod: `${s.labels.job ?? 'app'}-${((i * 2654435761) >>> 0).toString(36).slice(0, 5)}-${i.toString(36)}`,
  }
  const startsAt = new Date((options.baseTime ?? Date.now()) - Math.floor(random() * 3_600_000)).toISOString()
  return {
    status: 'firing',
    labels,
    annotations: {
      summary: `${alertname} on ${labels.pod}`,
      description: `${alertname} has been firing for more than 5 minutes on ${labels.instance} (${labels.namespace}/${labels.pod}).`,
    },
    startsAt,
    endsAt: NO_END,
    generatorURL: `http://prometheus-k8s.monitoring.svc:9090/graph?g0.expr=${encodeURIComponent(`${alertname.toLowerCase()}{job="${s.labels.job}"} > 0`)}&g0.tab=1`,
    fingerprint: fingerprint(labels),
  }
}

/**
 * Webhook notifications as Alertmanager sends them in a storm: groups of one source and
 * alert name, sizes cycling through `sizes` (default 1, 2, 4, 8, 16, 29: mean 10), until
 * `total` alerts. Alert indexes start at `firstIndex`, so two calls never share alerts.
 */
export function webhookGroups(
  total: number,
  options: AlertOptions & { sizes?: number[]; firstIndex?: number } = {},
): WebhookPayload[] {
  const random = seeded(options.seed ?? 1)
  const sizes = options.sizes ?? [1, 2, 4, 8, 16, 29]
  const groups: WebhookPayload[] = []
  let i = options.firstIndex ?? 0
  const end = i + total
  for (let g = 0; i < end; g++) {
    const size = Math.min(sizes[g % sizes.length]!, end - i)
    const source = Math.floor(random() * SOURCES.length)
    const s = SOURCES[source]!
    const alertname = s.alertnames[g % s.alertnames.length]!
    const alerts: WebhookAlert[] = []
    for (let k = 0; k < size; k++, i++) alerts.push(webhookAlert(i, source, alertname, random, options))
    groups.push({
      version: '4',
      groupKey: `{}/{severity=~"critical|warning"}:{alertname="${alertname}", namespace="${s.labels.namespace}"}`,
      truncatedAlerts: 0,
      status: 'firing',
      receiver: RECEIVER,
      groupLabels: { alertname, namespace: s.labels.namespace ?? '' },
      commonLabels: { alertname, namespace: s.labels.namespace ?? '', cluster: 'eu-west-1-prod' },
      commonAnnotations: {},
      externalURL: EXTERNAL_URL,
      alerts,
    })
  }
  return groups
}

/**
 * Alert records as ingest writes them to alerts.raw, `total` of them, of which
 * `resendShare` repeat an earlier alert (Alertmanager re-sends a firing alert with every
 * notification of its group: dedup drops those).
 */
export function alertRecords(
  total: number,
  options: AlertOptions & { resendShare?: number; firstIndex?: number } = {},
): AlertRecord[] {
  const random = seeded((options.seed ?? 1) + 7)
  const resend = options.resendShare ?? 0
  const records: AlertRecord[] = []
  const receivedAt = options.baseTime ?? Date.now()
  let distinct = options.firstIndex ?? 0
  for (let n = 0; n < total; n++) {
    if (records.length > 0 && random() < resend) {
      const earlier = records[Math.floor(random() * records.length)]!
      records.push({ ...earlier, receivedAt: receivedAt + n })
      continue
    }
    const source = Math.floor(random() * SOURCES.length)
    const s = SOURCES[source]!
    const alertname = s.alertnames[distinct % s.alertnames.length]!
    const alert = webhookAlert(distinct++, source, alertname, random, options)
    records.push({
      fingerprint: alert.fingerprint!,
      status: alert.status,
      labels: alert.labels,
      annotations: alert.annotations ?? {},
      startsAt: alert.startsAt,
      endsAt: alert.endsAt ?? null,
      generatorURL: alert.generatorURL ?? null,
      receiver: RECEIVER,
      groupKey: `{}/{severity=~"critical|warning"}:{alertname="${alertname}", namespace="${s.labels.namespace}"}`,
      externalURL: EXTERNAL_URL,
      receivedAt: receivedAt + n,
    })
  }
  return records
}
