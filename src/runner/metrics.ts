import { Counter, Histogram, type Registry } from 'prom-client'

/** Metrics every stage runner reports, labelled by stage; created once per process. */
export interface StageMetrics {
  recordsIn: Counter<'stage' | 'topic'>
  recordsOut: Counter<'stage' | 'topic'>
  decisions: Counter<'stage' | 'kind'>
  deadLetters: Counter<'stage' | 'code'>
  retries: Counter<'stage' | 'code'>
  transactionSeconds: Histogram<'stage'>
  restoredEntries: Counter<'stage'>
}

export function createStageMetrics(registry: Registry): StageMetrics {
  const registers = [registry]
  return {
    recordsIn: new Counter({ name: 'nightshift_stage_records_in_total', help: 'Records consumed by a stage.', labelNames: ['stage', 'topic'], registers }),
    recordsOut: new Counter({ name: 'nightshift_stage_records_out_total', help: 'Records produced by a stage (outputs, decisions, DLQ).', labelNames: ['stage', 'topic'], registers }),
    decisions: new Counter({ name: 'nightshift_stage_decisions_total', help: 'Decisions by kind.', labelNames: ['stage', 'kind'], registers }),
    deadLetters: new Counter({ name: 'nightshift_stage_dead_letters_total', help: 'Records sent to the DLQ.', labelNames: ['stage', 'code'], registers }),
    retries: new Counter({ name: 'nightshift_stage_retries_total', help: 'Batch retries after retriable errors.', labelNames: ['stage', 'code'], registers }),
    transactionSeconds: new Histogram({
      name: 'nightshift_stage_transaction_seconds',
      help: 'Time to produce a batch and commit its transaction.',
      labelNames: ['stage'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    restoredEntries: new Counter({ name: 'nightshift_stage_restored_entries_total', help: 'State entries restored from changelogs.', labelNames: ['stage'], registers }),
  }
}
