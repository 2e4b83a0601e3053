/**
 * The whole topology, ingest → dedup → enrich → ratelimit → route, with transactions
 * (as every stage runs), fed through the real webhook, in two layouts (child
 * processes): every stage in one process, as `nightshift run` starts them, and the
 * webhook in a process of its own beside one running the four stages:
 *
 * - throughput: M alerts in Alertmanager-sized groups posted with a fixed number of
 *   requests in flight; sustained alerts/s = M ÷ (first POST → the last alert's output
 *   seen: an ActionRequest, its entry on alerts.unrouted, or an error outcome for a
 *   route whose template it cannot fill). Target ≥ 5,000/s.
 * - latency: critical alerts at 500 alerts/s (a group of 10 every 20 ms, open loop);
 *   per alert, webhook answered (acknowledged) → its ActionRequest read from
 *   actions.page by a read_committed consumer. p50 and p99; target p99 ≤ 150 ms.
 *
 * Limits: bench/config/limits.yaml (every alert admitted, buckets kept).
 */
import { RecordConsumer } from '../src/kafka'
import { actionTopic } from '../src/topology/names'
import { loadTopicsFile } from '../src/topology/topics-file'
import { webhookGroups } from './lib/alerts'
import { PipelineChild } from './lib/child'
import type { BenchContext } from './lib/context'
import { closedLoop, openLoop, WebhookClient } from './lib/http-load'
import { figure, type BenchResult } from './lib/results'
import { percentile, perSecond } from './lib/stats'
import { benchConfigDir, deleteGroups, provision } from './lib/topology'

export const THROUGHPUT_TARGET = 5000
export const P99_TARGET_MS = 150
const LATENCY_RATE = 500
const LATENCY_GROUP = 10
/**
 * Requests in flight for the throughput part. With fewer, the figure is the client's:
 * every request waits for the event loop it shares with the stages' batches (16 gave
 * 2,320/s where 64 and 128 give 2,600/s in one process).
 */
const CONCURRENCY = 64

/** How the stages are spread over processes: every stage in one (`nightshift run`), or the webhook in a process of its own. */
export const LAYOUTS = {
  'one process': [['ingest', 'dedup', 'enrich', 'ratelimit', 'route']],
  'ingest | stages': [['ingest'], ['dedup', 'enrich', 'ratelimit', 'route']],
} as const
type Layout = keyof typeof LAYOUTS
const WEBHOOK = '/webhook/alertmanager'

/** Reads route's outputs, noting when each fingerprint's first one arrived (performance.now()). */
interface OutputWatch {
  seen: Map<string, number>
  /** Resolves once every key was seen; rejects after `timeoutMs` naming `what`. */
  expect(what: string, keys: readonly string[], timeoutMs: number): Promise<void>
  stop(): Promise<void>
}

async function watchOutputs(ctx: BenchContext, topics: string[], groupId: string): Promise<OutputWatch> {
  const seen = new Map<string, number>()
  let waiting = new Set<string>()
  let wake: () => void = () => undefined
  const consumer = await RecordConsumer.connect(ctx.kafka('bench-topology-reader'), {
    groupId,
    topics,
    fromBeginning: true,
    readCommitted: true,
    autoCommit: true,
  })
  await consumer.run(async (batch) => {
    const now = performance.now()
    for (const record of batch.records) {
      const key = record.key?.toString('utf8')
      if (key === undefined || seen.has(key)) continue
      seen.set(key, now)
      waiting.delete(key)
    }
    if (waiting.size === 0) wake()
  })
  return {
    seen,
    async expect(what, keys, timeoutMs) {
      waiting = new Set(keys.filter((k) => !seen.has(k)))
      if (waiting.size === 0) return
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `timed out after ${timeoutMs} ms waiting for ${what}: ${waiting.size} of ${keys.length} missing`,
              ),
            ),
          timeoutMs,
        )
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    },
    stop: () => consumer.disconnect(),
  }
}

interface TopologyRun {
  layout: Layout
  alerts: number
  requests: number
  /** first POST → last POST answered */
  ingestMs: number
  /** first POST → last output seen */
  endToEndMs: number
  latency: {
    alerts: number
    p50: number | null
    p90: number | null
    p99: number | null
    max: number | null
    seconds: number
  }
  transactions: Record<string, number>
}

async function oneRun(ctx: BenchContext, run: number, configDir: string, layout: Layout): Promise<TopologyRun> {
  const prefix = ctx.prefix('topology')
  const topology = await provision(ctx, prefix)
  const readerGroup = `${prefix}bench-reader`
  const children: PipelineChild[] = []
  let reader: OutputWatch | undefined
  try {
    for (const stages of LAYOUTS[layout])
      children.push(
        await PipelineChild.start({ prefix, stages: [...stages], configDir, httpPort: 0, logLevel: 'warn' }, ctx.log),
      )
    const child = children.find((c) => c.httpAddress !== undefined)!
    // Every alert ends in at least one of route's outputs: a request on an action topic,
    // alerts.unrouted, or an error outcome (a route whose template it cannot fill).
    const outputs = [
      ...loadTopicsFile(ctx.schemas).actions.map((a) => `${prefix}${actionTopic(a)}`),
      topology.topics.unrouted,
      topology.topics.outcomes,
    ]
    reader = await watchOutputs(ctx, outputs, readerGroup)
    const client = new WebhookClient(`${child.httpAddress!}${WEBHOOK}`, CONCURRENCY)
    try {
      // Warm-up (JIT, connections, producers of every partition), not measured.
      const warm = webhookGroups(ctx.quick ? 500 : 3000, { seed: 100 + run, firstIndex: 0 })
      await closedLoop(
        client,
        warm.map((g) => Buffer.from(JSON.stringify(g))),
        CONCURRENCY,
      )
      const warmKeys = warm.flatMap((g) => g.alerts.map((a) => a.fingerprint!))
      await reader.expect('the warm-up alerts', warmKeys, 120_000)

      // Throughput.
      const total = ctx.quick ? 10_000 : 100_000
      const groups = webhookGroups(total, { seed: 200 + run, firstIndex: 1_000_000 })
      const bodies = groups.map((g) => Buffer.from(JSON.stringify(g)))
      const keys = groups.flatMap((g) => g.alerts.map((a) => a.fingerprint!))
      const counts = async () =>
        Object.assign({}, ...(await Promise.all(children.map(async (c) => (await c.stats()).counts)))) as Awaited<
          ReturnType<PipelineChild['stats']>
        >['counts']
      const before = await counts()
      ctx.log.info(
        { run, layout, alerts: total, requests: bodies.length, concurrency: CONCURRENCY },
        'topology: throughput',
      )
      const started = performance.now()
      const answers = await closedLoop(client, bodies, CONCURRENCY)
      const ingested = answers.reduce((m, a) => Math.max(m, a.answeredAt), 0)
      await reader.expect('every alert through route', keys, 600_000)
      const last = keys.reduce((m, k) => Math.max(m, reader!.seen.get(k)!), 0)
      const after = await counts()
      const transactions = Object.fromEntries(
        Object.entries(after).map(([stage, c]) => [stage, c.transactions - (before[stage]?.transactions ?? 0)]),
      )
      ctx.log.info(
        {
          run,
          layout,
          alertsPerSecond: Math.round(perSecond(total, last - started)),
          ingestPerSecond: Math.round(perSecond(total, ingested - started)),
          transactions,
        },
        'topology: throughput measured',
      )

      // Latency at 500 alerts/s.
      const seconds = ctx.quick ? 10 : 30
      const latencyGroups = webhookGroups(LATENCY_RATE * seconds, {
        seed: 300 + run,
        firstIndex: 5_000_000,
        sizes: [LATENCY_GROUP],
        criticalShare: 1,
      })
      const acked = new Map<string, number>()
      ctx.log.info({ run, layout, rate: LATENCY_RATE, seconds }, 'topology: latency')
      await openLoop(
        client,
        latencyGroups.map((g) => Buffer.from(JSON.stringify(g))),
        (1000 * LATENCY_GROUP) / LATENCY_RATE,
        (i, answer) => {
          for (const a of latencyGroups[i]!.alerts) acked.set(a.fingerprint!, answer.answeredAt)
        },
      )
      await reader.expect('every latency alert as an ActionRequest', [...acked.keys()], 120_000)
      const latencies = [...acked].map(([k, at]) => reader!.seen.get(k)! - at)
      const latency = {
        alerts: latencies.length,
        p50: percentile(latencies, 50),
        p90: percentile(latencies, 90),
        p99: percentile(latencies, 99),
        max: latencies.reduce((m, l) => Math.max(m, l), 0),
        seconds,
      }
      ctx.log.info({ run, layout, ...latency }, 'topology: latency measured')
      return {
        layout,
        alerts: total,
        requests: bodies.length,
        ingestMs: ingested - started,
        endToEndMs: last - started,
        latency,
        transactions,
      }
    } finally {
      client.close()
    }
  } finally {
    await reader?.stop().catch(() => undefined)
    for (const c of children) await c.stop()
    await deleteGroups(ctx, [
      readerGroup,
      ...['dedup', 'enrich', 'ratelimit', 'route'].map((s) => `${prefix}nightshift-${s}`),
    ])
    await topology.cleanup()
  }
}

export async function benchTopology(ctx: BenchContext): Promise<BenchResult> {
  const config = benchConfigDir()
  const runs: TopologyRun[] = []
  const failures: Array<{ run: number; layout: Layout; error: string }> = []
  try {
    for (let run = 1; run <= ctx.runs; run++) {
      for (const layout of Object.keys(LAYOUTS) as Layout[]) {
        try {
          runs.push(await oneRun(ctx, run, config.dir, layout))
        } catch (err) {
          ctx.log.error({ run, layout, err: String(err) }, 'topology run failed')
          failures.push({ run, layout, error: String(err) })
        }
      }
    }
  } finally {
    config.remove()
  }
  return {
    id: 'topology',
    figures: (Object.keys(LAYOUTS) as Layout[]).flatMap((layout) => {
      const of = runs.filter((r) => r.layout === layout)
      return [
        figure({
          bench: 'topology',
          name: `${layout}: ingest → route, sustained`,
          unit: 'alerts/s',
          runs: of.map((r) => perSecond(r.alerts, r.endToEndMs)),
          target: { op: '>=', value: THROUGHPUT_TARGET },
        }),
        figure({
          bench: 'topology',
          name: `${layout}: webhook acknowledged`,
          unit: 'alerts/s',
          runs: of.map((r) => perSecond(r.alerts, r.ingestMs)),
        }),
        figure({
          bench: 'topology',
          name: `${layout}: latency p50 at ${LATENCY_RATE}/s`,
          unit: 'ms',
          runs: of.flatMap((r) => (r.latency.p50 === null ? [] : [r.latency.p50])),
        }),
        figure({
          bench: 'topology',
          name: `${layout}: latency p99 at ${LATENCY_RATE}/s`,
          unit: 'ms',
          runs: of.flatMap((r) => (r.latency.p99 === null ? [] : [r.latency.p99])),
          target: { op: '<=', value: P99_TARGET_MS },
        }),
      ]
    }),
    details: { concurrency: CONCURRENCY, runs, failures },
  }
}
