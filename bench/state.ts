/**
 * State: 1M distinct fingerprints through dedup, in a child process (so only the stage's
 * memory counts): its RSS holding them (target ≤ 300 MB), then a fresh child restoring
 * the store from the changelog (target ≤ 15 s).
 *
 * Store size: dedup keeps at most `maxEntries` episodes per input partition (default
 * 200,000 × 6 partitions = 1.2M); the benchmark sets maxEntries to the default or the
 * largest partition's share of the 1M, whichever is larger, so no episode is evicted
 * and the figure is for 1M held, and reports the value it used.
 *
 * Restore time: the runner's own measure (its "state restored from changelog" log line:
 * barrier written → every partition read up to it), and, for the record, the wall time
 * from the first records after the restart to them committed.
 */
import { DEFAULT_DEDUP } from '../src/stages/dedup/stage'
import { alertRecords } from './lib/alerts'
import { PipelineChild, type ChildLogLine } from './lib/child'
import type { BenchContext } from './lib/context'
import { endOffsets, waitForCommitted } from './lib/offsets'
import { encodeAll, produceAll } from './lib/produce'
import { figure, type BenchResult } from './lib/results'
import { perSecond } from './lib/stats'
import { deleteGroups, provision } from './lib/topology'

export const RSS_TARGET_MB = 300
export const RESTORE_TARGET_S = 15
const MB = 1024 * 1024

interface StateRun {
  fingerprints: number
  maxEntries: number
  perPartition: Record<string, string>
  produceSeconds: number
  processSeconds: number
  rssMB: number
  peakRssMB: number
  rssAfterGcMB: number
  heapUsedAfterGcMB: number
  heapTotalAfterGcMB: number
  externalAfterGcMB: number
  restoreSeconds: number | null
  restoredEntries: number | null
  restartToCaughtUpSeconds: number
  rssAfterRestoreMB: number
}

const isRestoreLine = (line: ChildLogLine) => line.msg === 'state restored from changelog'

async function oneRun(ctx: BenchContext, run: number): Promise<StateRun> {
  const fingerprints = ctx.quick ? 100_000 : 1_000_000
  const prefix = ctx.prefix('state')
  const topology = await provision(ctx, prefix)
  const raw = topology.topics.raw
  const group = `${prefix}nightshift-dedup`
  try {
    ctx.log.info({ run, fingerprints }, 'state: writing distinct alerts')
    const produceStarted = performance.now()
    const chunk = 20_000
    for (let first = 0; first < fingerprints; first += chunk) {
      const alerts = alertRecords(Math.min(chunk, fingerprints - first), { seed: 31 + first, firstIndex: first })
      await produceAll(ctx, await encodeAll(ctx, raw, 'Alert', alerts, (a) => a.fingerprint))
    }
    const produceSeconds = (performance.now() - produceStarted) / 1000
    const targets = await endOffsets(ctx, raw)
    const largest = Math.max(...[...targets.values()].map(Number))
    const maxEntries = Math.max(DEFAULT_DEDUP.maxEntries, Math.ceil(largest * 1.05))
    const dedup = { maxEntries, ttlMs: DEFAULT_DEDUP.ttlMs }

    // 1. Process them all, sampling RSS.
    const first = await PipelineChild.start({ prefix, stages: ['dedup'], dedup, logLevel: 'info' }, ctx.log, {
      exposeGc: true,
      keep: isRestoreLine,
    })
    let peak = 0
    let rss = 0
    let rssAfterGc = 0
    let heapAfterGc = 0
    let heapTotalAfterGc = 0
    let externalAfterGc = 0
    let processSeconds = 0
    try {
      const started = performance.now()
      let sampling = true
      const sampler = (async () => {
        while (sampling) {
          peak = Math.max(peak, (await first.stats()).rss)
          await new Promise((resolve) => setTimeout(resolve, 1000))
        }
      })()
      await waitForCommitted(ctx, group, raw, targets, {
        timeoutMs: 30 * 60_000,
        pollMs: 500,
        onPoll: (consumed) => {
          if (Number(consumed) % 100_000 < 1000) ctx.log.debug({ consumed: Number(consumed) }, 'state: dedup progress')
        },
      })
      processSeconds = (performance.now() - started) / 1000
      sampling = false
      await sampler
      // Let the last transaction's bookkeeping settle, then read it as an operator would.
      await new Promise((resolve) => setTimeout(resolve, 2000))
      const settled = await first.stats()
      rss = settled.rss
      peak = Math.max(peak, rss)
      const collected = await first.stats(true)
      rssAfterGc = collected.rss
      heapAfterGc = collected.heapUsed
      heapTotalAfterGc = collected.heapTotal
      externalAfterGc = collected.external
      ctx.log.info(
        {
          run,
          processSeconds: Number(processSeconds.toFixed(1)),
          rate: Math.round(perSecond(fingerprints, processSeconds * 1000)),
          rssMB: Math.round(rss / MB),
          peakMB: Math.round(peak / MB),
          afterGcMB: Math.round(rssAfterGc / MB),
          heapUsedMB: Math.round(heapAfterGc / MB),
          heapTotalMB: Math.round(heapTotalAfterGc / MB),
          externalMB: Math.round(externalAfterGc / MB),
        },
        'state: fingerprints held',
      )
    } finally {
      await first.stop()
    }

    // 2. Restart: a fresh process restores every partition from the changelog on its first batch.
    const second = await PipelineChild.start({ prefix, stages: ['dedup'], dedup, logLevel: 'info' }, ctx.log, {
      exposeGc: true,
      keep: isRestoreLine,
    })
    try {
      const trigger = alertRecords([...targets.keys()].length, { seed: 99, firstIndex: 20_000_000 })
      const encoded = await encodeAll(ctx, raw, 'Alert', trigger, (a) => a.fingerprint)
      // One record for every partition, so every partition's first batch comes at once.
      const partitions = [...targets.keys()]
      const started = performance.now()
      await produceAll(
        ctx,
        encoded.map((r, i) => ({ ...r, partition: partitions[i % partitions.length]! })),
      )
      const after = await endOffsets(ctx, raw)
      await waitForCommitted(ctx, group, raw, after, { timeoutMs: 10 * 60_000, pollMs: 50 })
      const restartToCaughtUpSeconds = (performance.now() - started) / 1000
      const restores = second.lines.filter(isRestoreLine)
      const restoreMs = restores.reduce((sum, l) => sum + Number(l.ms ?? 0), 0)
      const entries = restores.reduce((sum, l) => sum + Number(l.entries ?? 0), 0)
      const restored = await second.stats()
      ctx.log.info(
        {
          run,
          restoreSeconds: restoreMs / 1000,
          entries,
          restartToCaughtUpSeconds: Number(restartToCaughtUpSeconds.toFixed(1)),
          rssMB: Math.round(restored.rss / MB),
        },
        'state: restored',
      )
      return {
        fingerprints,
        maxEntries,
        perPartition: Object.fromEntries([...targets].map(([p, o]) => [String(p), o.toString()])),
        produceSeconds,
        processSeconds,
        rssMB: rss / MB,
        peakRssMB: peak / MB,
        rssAfterGcMB: rssAfterGc / MB,
        heapUsedAfterGcMB: heapAfterGc / MB,
        heapTotalAfterGcMB: heapTotalAfterGc / MB,
        externalAfterGcMB: externalAfterGc / MB,
        restoreSeconds: restores.length > 0 ? restoreMs / 1000 : null,
        restoredEntries: restores.length > 0 ? entries : null,
        restartToCaughtUpSeconds,
        rssAfterRestoreMB: restored.rss / MB,
      }
    } finally {
      await second.stop()
    }
  } finally {
    await deleteGroups(ctx, [group])
    await topology.cleanup()
  }
}

export async function benchState(ctx: BenchContext): Promise<BenchResult> {
  const runs: StateRun[] = []
  const failures: Array<{ run: number; error: string }> = []
  for (let run = 1; run <= ctx.runs; run++) {
    try {
      runs.push(await oneRun(ctx, run))
    } catch (err) {
      ctx.log.error({ run, err: String(err) }, 'state run failed')
      failures.push({ run, error: String(err) })
    }
  }
  const n = ctx.quick ? '100k' : '1M'
  return {
    id: 'state',
    figures: [
      figure({
        bench: 'state',
        name: `dedup RSS holding ${n} fingerprints`,
        unit: 'MB',
        runs: runs.map((r) => r.rssMB),
        target: { op: '<=', value: RSS_TARGET_MB },
      }),
      figure({
        bench: 'state',
        name: `dedup RSS peak while processing`,
        unit: 'MB',
        runs: runs.map((r) => r.peakRssMB),
      }),
      figure({
        bench: 'state',
        name: `dedup RSS after a forced GC`,
        unit: 'MB',
        runs: runs.map((r) => r.rssAfterGcMB),
      }),
      figure({
        bench: 'state',
        name: `restore ${n} entries from the changelog`,
        unit: 's',
        runs: runs.flatMap((r) => (r.restoreSeconds === null ? [] : [r.restoreSeconds])),
        target: { op: '<=', value: RESTORE_TARGET_S },
      }),
      figure({
        bench: 'state',
        name: `dedup of ${n} distinct (records/s)`,
        unit: 'rec/s',
        runs: runs.map((r) => perSecond(r.fingerprints, r.processSeconds * 1000)),
      }),
    ],
    details: { runs, failures },
  }
}
