/**
 * Each stage alone (dedup, enrich, ratelimit, route) against the one-hop baseline.
 *
 * Per run and stage: a fresh prefixed topology; N records written once (without
 * transactions) to the stage's input topic; then, over those same records, the raw
 * kafkajs passthrough (bench/passthrough.ts, transactional and plain) and the stage
 * itself (buildApp with that one stage, in this process), one after the other, the
 * order alternating between runs so drift in machine load hits both. Each is timed from
 * its consumer running (group joined) to its group having committed the input's end
 * offsets on every partition. Ratio = stage records/s ÷ transactional baseline records/s.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { buildApp } from '../src/app'
import type { AlertRecord, EnrichedAlertRecord } from '../src/contracts/records'
import { describeError } from '../src/errors'
import { parseCatalog } from '../src/stages/enrich/catalog'
import { enrich } from '../src/stages/enrich/decide'
import type { TopicNames } from '../src/topology/names'
import { alertRecords } from './lib/alerts'
import { stageCounts, type StageCounts } from './lib/app-metrics'
import type { BenchContext } from './lib/context'
import { endOffsets, waitForCommitted } from './lib/offsets'
import { encodeAll, produceAll } from './lib/produce'
import { figure, type BenchResult, type Figure } from './lib/results'
import { perSecond } from './lib/stats'
import { benchConfigDir, deleteGroups, provision } from './lib/topology'
import { runPassthrough, type PassthroughRun } from './passthrough'

export const STAGE_NAMES = ['dedup', 'enrich', 'ratelimit', 'route'] as const
export type StageName = (typeof STAGE_NAMES)[number]

/** Target of every stage: at least this share of the baseline's records/s. */
export const STAGE_TARGET = 0.6

const TXN_OUT = 'bench.passthrough-txn'
const PLAIN_OUT = 'bench.passthrough-plain'

/** The input topic, schema and key of each stage, and its records built from the same alerts. */
export function inputFor(
  stage: StageName,
  topics: TopicNames,
  alerts: AlertRecord[],
  enriched: () => EnrichedAlertRecord[],
) {
  switch (stage) {
    case 'dedup':
      return {
        topic: topics.raw,
        schema: 'Alert',
        values: alerts as unknown[],
        key: (v: unknown) => (v as AlertRecord).fingerprint,
      }
    case 'enrich':
      return {
        topic: topics.deduped,
        schema: 'Alert',
        values: alerts as unknown[],
        key: (v: unknown) => (v as AlertRecord).fingerprint,
      }
    case 'ratelimit':
      // enrich keys alerts.enriched by team.
      return {
        topic: topics.enriched,
        schema: 'EnrichedAlert',
        values: enriched() as unknown[],
        key: (v: unknown) => (v as EnrichedAlertRecord).team,
      }
    case 'route':
      return {
        topic: topics.admitted,
        schema: 'EnrichedAlert',
        values: enriched() as unknown[],
        key: (v: unknown) => (v as EnrichedAlertRecord).alert.fingerprint,
      }
  }
}

interface StageRun {
  stage: StageName
  records: number
  ms: number
  startMs: number
  /** CPU of this process (all threads) over `ms`, per record. */
  cpuMicrosPerRecord: number
  counts: StageCounts
}

/** Runs `stage` alone (buildApp, this process) until its group committed `targets` on `input`; timed from the app started. */
export async function runStage(
  ctx: BenchContext,
  stage: StageName,
  prefix: string,
  configDir: string,
  input: string,
  targets: ReadonlyMap<number, bigint>,
  timeoutMs: number,
): Promise<StageRun> {
  const app = buildApp({
    endpoints: ctx.endpoints,
    logger: ctx.quiet,
    stages: [stage],
    prefix,
    configDir,
    readyTimeoutMs: 30_000,
  })
  const connected = performance.now()
  await app.start()
  const started = performance.now()
  const cpu = process.cpuUsage()
  try {
    const done = await waitForCommitted(ctx, `${prefix}nightshift-${stage}`, input, targets, { timeoutMs })
    const used = process.cpuUsage(cpu)
    const records = Number([...targets.values()].reduce((a, b) => a + b, 0n))
    return {
      stage,
      records,
      ms: done - started,
      startMs: started - connected,
      cpuMicrosPerRecord: (used.user + used.system) / records,
      counts: await stageCounts(app.metrics, stage),
    }
  } finally {
    await app.stop()
  }
}

/** The stages benchmark: every stage of `options.stages` (default all four), `ctx.runs` times. */
export async function benchStages(
  ctx: BenchContext,
  options: { stages?: readonly string[] } = {},
): Promise<BenchResult> {
  const records = ctx.quick ? 20_000 : 200_000
  const timeoutMs = ctx.quick ? 120_000 : 600_000
  const stages = STAGE_NAMES.filter((s) => !options.stages || options.stages.includes(s))
  const config = benchConfigDir()
  const catalog = parseCatalog(readFileSync(path.join(config.dir, 'catalog.yaml'), 'utf8'), 'catalog.yaml')
  // The same alerts every run: 20% of dedup's input are Alertmanager re-sends.
  const dedupAlerts = alertRecords(records, { seed: 11, resendShare: 0.2 })
  const alerts = alertRecords(records, { seed: 12 })
  let enrichedCache: EnrichedAlertRecord[] | undefined
  const enriched = () => (enrichedCache ??= alerts.map((a) => enrich(a, catalog)))

  const runs: Record<StageName, Array<{ txn: PassthroughRun; plain: PassthroughRun; stage: StageRun }>> = {
    dedup: [],
    enrich: [],
    ratelimit: [],
    route: [],
  }
  const failures: Array<{ run: number; stage: string; error: string }> = []
  try {
    for (let run = 1; run <= ctx.runs; run++) {
      for (const stage of stages) {
        const prefix = ctx.prefix(`stages-${stage}`)
        const topology = await provision(ctx, prefix, [TXN_OUT, PLAIN_OUT])
        const groups = [
          `${prefix}nightshift-${stage}`,
          `${prefix}bench-passthrough-txn`,
          `${prefix}bench-passthrough-plain`,
        ]
        try {
          const spec = inputFor(stage, topology.topics, stage === 'dedup' ? dedupAlerts : alerts, enriched)
          ctx.log.info({ run, stage, records, topic: spec.topic }, 'writing the input')
          await produceAll(ctx, await encodeAll(ctx, spec.topic, spec.schema, spec.values, spec.key))
          const targets = await endOffsets(ctx, spec.topic)
          const baseline = (mode: 'txn' | 'plain') =>
            runPassthrough(ctx, mode, {
              input: spec.topic,
              output: `${prefix}${mode === 'txn' ? TXN_OUT : PLAIN_OUT}`,
              groupId: `${prefix}bench-passthrough-${mode}`,
              targets,
              timeoutMs,
            })
          const measureStage = () => runStage(ctx, stage, prefix, config.dir, spec.topic, targets, timeoutMs)
          // Alternate the order, so that whatever drifts (page cache, other load) hits both.
          let txn: PassthroughRun, plain: PassthroughRun, measured: StageRun
          if (run % 2 === 1) {
            txn = await baseline('txn')
            plain = await baseline('plain')
            measured = await measureStage()
          } else {
            measured = await measureStage()
            plain = await baseline('plain')
            txn = await baseline('txn')
          }
          const rate = (r: { records: number; ms: number }) => Math.round(perSecond(r.records, r.ms))
          ctx.log.info(
            {
              run,
              stage,
              baselineTxn: rate(txn),
              baselinePlain: rate(plain),
              stage_: rate(measured),
              ratio: Number((rate(measured) / rate(txn)).toFixed(2)),
              transactions: measured.counts.transactions,
              baselineBatches: txn.batches,
              cpuMicrosPerRecord: {
                stage: Math.round(measured.cpuMicrosPerRecord),
                txn: Math.round(txn.cpuMicrosPerRecord),
                plain: Math.round(plain.cpuMicrosPerRecord),
              },
            },
            'stage measured',
          )
          runs[stage].push({ txn, plain, stage: measured })
        } catch (err) {
          ctx.log.error({ run, stage, err: describeError(err) }, 'stage run failed')
          failures.push({ run, stage, error: describeError(err) })
        } finally {
          await deleteGroups(ctx, groups)
          await topology.cleanup()
        }
      }
    }
  } finally {
    config.remove()
  }

  const figures: Figure[] = []
  for (const stage of stages) {
    const r = runs[stage]
    const rate = (x: { records: number; ms: number }) => perSecond(x.records, x.ms)
    figures.push(
      figure({
        bench: 'stages',
        name: `baseline txn (${stage} input)`,
        unit: 'rec/s',
        runs: r.map((x) => rate(x.txn)),
      }),
    )
    figures.push(
      figure({
        bench: 'stages',
        name: `baseline plain (${stage} input)`,
        unit: 'rec/s',
        runs: r.map((x) => rate(x.plain)),
      }),
    )
    figures.push(figure({ bench: 'stages', name: `${stage}`, unit: 'rec/s', runs: r.map((x) => rate(x.stage)) }))
    figures.push(
      figure({
        bench: 'stages',
        name: `${stage} / baseline txn`,
        unit: 'ratio',
        runs: r.map((x) => rate(x.stage) / rate(x.txn)),
        target: { op: '>=', value: STAGE_TARGET },
      }),
    )
    figures.push(
      figure({
        bench: 'stages',
        name: `${stage} / baseline plain`,
        unit: 'ratio',
        runs: r.map((x) => rate(x.stage) / rate(x.plain)),
      }),
    )
  }
  return { id: 'stages', figures, details: { recordsPerRun: records, runs, failures } }
}
