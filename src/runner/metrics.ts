import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/** Metrics every stage runner reports, labelled by stage; created once per process. */
export interface StageMetrics {
  recordsIn: Counter<'stage' | 'topic'>
  recordsOut: Counter<'stage' | 'topic'>
  decisions: Counter<'stage' | 'kind'>
  deadLetters: Counter<'stage' | 'code'>
  retries: Counter<'stage' | 'code'>
  transactionSeconds: Histogram<'stage'>
  restoredEntries: Counter<'stage'>
  /** Sources of consumer lag, asked on each scrape (a runner adds itself while it runs). */
  lagProbes: Set<LagProbe>
}

/** One consumer group's lag per input partition: end offset − committed offset. */
export type LagProbe = () => Promise<
  Array<{ stage: string; group: string; topic: string; partition: number; lag: number }>
>

export function createStageMetrics(registry: Registry): StageMetrics {
  const registers = [registry]
  const lagProbes = new Set<LagProbe>()
  new Gauge({
    name: 'nightshift_stage_consumer_lag',
    help: 'Records not yet consumed per input partition (end offset − committed offset; a transactional input counts its last commit marker too).',
    labelNames: ['stage', 'group', 'topic', 'partition'],
    registers,
    async collect() {
      this.reset()
      const results = await Promise.allSettled([...lagProbes].map((probe) => probe()))
      for (const result of results) {
        if (result.status !== 'fulfilled') continue
        for (const l of result.value)
          this.set({ stage: l.stage, group: l.group, topic: l.topic, partition: String(l.partition) }, l.lag)
      }
    },
  })
  return {
    recordsIn: new Counter({
      name: 'nightshift_stage_records_in_total',
      help: 'Records consumed by a stage.',
      labelNames: ['stage', 'topic'],
      registers,
    }),
    recordsOut: new Counter({
      name: 'nightshift_stage_records_out_total',
      help: 'Records produced by a stage (outputs, decisions, DLQ).',
      labelNames: ['stage', 'topic'],
      registers,
    }),
    decisions: new Counter({
      name: 'nightshift_stage_decisions_total',
      help: 'Decisions by kind.',
      labelNames: ['stage', 'kind'],
      registers,
    }),
    deadLetters: new Counter({
      name: 'nightshift_stage_dead_letters_total',
      help: 'Records sent to the DLQ.',
      labelNames: ['stage', 'code'],
      registers,
    }),
    retries: new Counter({
      name: 'nightshift_stage_retries_total',
      help: 'Batch retries after retriable errors.',
      labelNames: ['stage', 'code'],
      registers,
    }),
    transactionSeconds: new Histogram({
      name: 'nightshift_stage_transaction_seconds',
      help: 'Time to produce a batch and commit its transaction.',
      labelNames: ['stage'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    restoredEntries: new Counter({
      name: 'nightshift_stage_restored_entries_total',
      help: 'State entries restored from changelogs.',
      labelNames: ['stage'],
      registers,
    }),
    lagProbes,
  }
}
