import type { Registry } from 'prom-client'

/** What a stage run did, from the app's own metrics: transactions (one per batch), records out, decisions. */
export interface StageCounts {
  transactions: number
  /** Mean seconds per transaction (produce + commit). */
  meanTransactionSeconds: number | null
  recordsIn: number
  recordsOut: Record<string, number>
  decisions: Record<string, number>
  deadLetters: number
}

interface MetricJson {
  name: string
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>
}

/** Reads a stage's counters from an app's prom-client registry. */
export async function stageCounts(registry: Registry, stage: string): Promise<StageCounts> {
  // Only the counters and the histogram: the lag gauge would ask the broker.
  const names = [
    'nightshift_stage_transaction_seconds',
    'nightshift_stage_records_in_total',
    'nightshift_stage_records_out_total',
    'nightshift_stage_decisions_total',
    'nightshift_stage_dead_letters_total',
  ]
  const metrics: MetricJson[] = []
  for (const name of names) {
    const metric = registry.getSingleMetric(name)
    if (metric) metrics.push((await metric.get()) as unknown as MetricJson)
  }
  const of = (name: string) =>
    (metrics.find((m) => m.name === name)?.values ?? []).filter((v) => v.labels.stage === stage)
  const sum = (values: MetricJson['values']) => values.reduce((a, v) => a + v.value, 0)
  const histogram = of('nightshift_stage_transaction_seconds')
  const count = histogram.find((v) => v.metricName === 'nightshift_stage_transaction_seconds_count')?.value ?? 0
  const seconds = histogram.find((v) => v.metricName === 'nightshift_stage_transaction_seconds_sum')?.value ?? 0
  const byLabel = (values: MetricJson['values'], label: string) =>
    Object.fromEntries(values.map((v) => [String(v.labels[label]), v.value]))
  return {
    transactions: count,
    meanTransactionSeconds: count > 0 ? seconds / count : null,
    recordsIn: sum(of('nightshift_stage_records_in_total')),
    recordsOut: byLabel(of('nightshift_stage_records_out_total'), 'topic'),
    decisions: byLabel(of('nightshift_stage_decisions_total'), 'kind'),
    deadLetters: sum(of('nightshift_stage_dead_letters_total')),
  }
}
