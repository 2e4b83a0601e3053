/**
 * Console (issue 18): with 200,000 outcomes on actions.outcomes and 1,000,000 decisions
 * on nightshift.decisions (`--quick`: 20,000 and 100,000), the views' rebuild time at
 * start, the memory they hold, and how fast `GET /api/console/actions` answers (target
 * p95 ≤ 300 ms for the first page, a filtered page and a deep page).
 *
 * The topics are filled once, under a fresh prefix, with records spread over partitions
 * by fingerprint (as the stages key them) and written without transactions, so the end
 * offsets are exact. Then, per run:
 *
 * 1. the views (startConsoleViews, the shipped limits, as `nightshift run` starts them)
 *    from start to every topic caught up: the rebuild time; heap used after a forced GC
 *    minus the same before: the memory they hold (with views.sizes()); heap used at its
 *    highest while rebuilding, and after a forced GC halfway through (its time is left
 *    out of the rebuild time), both above the start;
 * 2. the console API (registerConsoleRoutes on a fastify server, open mode, 127.0.0.1)
 *    over those views, then over the same views holding every row (a ConsoleViewState
 *    with maxRows ≥ the outcomes, fed the outcomes in-process), then over the baseline: a
 *    naive ConsoleViews that answers each query by scanning the decoded outcomes array
 *    (latest per key, filter, sort, slice). The last two give the same answers (checked)
 *    and their p95 ratio is printed. Each query is asked 20 times to warm up, then
 *    `REQUESTS` times one after the other over a keep-alive connection; a request's time
 *    is from sending it to its whole body read, by a client in this process.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import http from 'node:http'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { registerConsoleRoutes } from '../src/console/api'
import type { ActionPage, ActionQuery, ActionRow, ConsoleViews } from '../src/console/types'
import {
  ConsoleViewState,
  DEFAULT_VIEW_LIMITS,
  startConsoleViews,
  type RunningConsoleViews,
} from '../src/console/views'
import { decodeCursor, encodeCursor, rowKeyOf, DEFAULT_PAGE_SIZE } from '../src/console/views'
import type { ActionOutcomeRecord, DecisionRecord, OutcomeStatus } from '../src/contracts/records'
import { RecordProducer, type OutRecord } from '../src/kafka'
import { retry } from '../src/retry'
import { valueSubject } from '../src/topology/names'
import { seeded } from './lib/alerts'
import type { BenchContext } from './lib/context'
import { endOffsets } from './lib/offsets'
import { figure, type BenchResult, type Figure } from './lib/results'
import { percentile, perSecond } from './lib/stats'
import { provision, type BenchTopology } from './lib/topology'

export const P95_TARGET_MS = 300
/** Timed requests per query and server (after the warm-up). */
const REQUESTS = 200
const WARMUP = 20
/** Pages walked to get the deep page's cursor. */
const DEEP_PAGES = 10
const MB = 1024 * 1024
/** Bytes of encoded values per produce request: ≈ 350 KiB a partition over 6, under the broker's 1 MiB batch limit. */
const SEND_BYTES = 2 * MB

// ---------------------------------------------------------------- data

const TEAMS = ['payments', 'shop', 'platform', 'observability', 'data', 'search'] as const
const SERVICES: Record<(typeof TEAMS)[number], string[]> = {
  payments: ['payments-api', 'ledger', 'fraud-check'],
  shop: ['checkout', 'cart', 'catalog'],
  platform: ['kafka', 'ingress', 'dns'],
  observability: ['prometheus', 'alertmanager'],
  data: ['warehouse', 'etl'],
  search: ['search-indexer', 'search-api'],
}
const ACTIONS = ['restart-pod', 'scale-up', 'rollback', 'flush-cache', 'run-runbook', 'page', 'ticket'] as const
const ALERTNAMES = ['HighLatency', 'HighErrorRate', 'PodCrashLooping', 'TargetDown', 'DiskWillFillIn4Hours'] as const
/** Final statuses by weight: mostly succeeded, the rest spread. */
const FINAL_STATUSES: Array<[OutcomeStatus, number]> = [
  ['succeeded', 60],
  ['failed', 10],
  ['skipped_duplicate', 8],
  ['timed_out', 4],
  ['dry_run', 4],
  ['skipped_paused', 3],
  ['circuit_open', 3],
  ['cancelled_resolved', 3],
  ['gated', 2],
  ['denied', 1],
  ['approval_expired', 1],
  ['error', 1],
]
const FILTER_STATUSES = ['succeeded', 'failed', 'skipped_duplicate', 'timed_out'] as const
const DECISIONS: Array<Pick<DecisionRecord, 'stage' | 'kind' | 'reason'>> = [
  { stage: 'dedup', kind: 'duplicate', reason: 'already seen in this episode' },
  { stage: 'enrich', kind: 'unowned', reason: 'no service in the catalog owns this alert' },
  { stage: 'ratelimit', kind: 'throttled', reason: 'team bucket empty' },
  { stage: 'route', kind: 'unrouted', reason: 'no route matched' },
  { stage: 'route', kind: 'held', reason: 'waiting before acting' },
]

function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)]!
}

function weighted<T>(random: () => number, list: ReadonlyArray<[T, number]>): T {
  const sum = list.reduce((a, [, w]) => a + w, 0)
  let r = random() * sum
  for (const [value, w] of list) {
    r -= w
    if (r < 0) return value
  }
  return list[list.length - 1]![0]
}

/** Fingerprint `n`, 16 hex digits as Alertmanager's. */
function fingerprintOf(n: number): string {
  return ((n * 2654435761) >>> 0).toString(16).padStart(8, '0') + n.toString(16).padStart(8, '0')
}

/** An outcome with where it goes: the partition follows the fingerprint, as when keyed by it. */
interface PlacedOutcome {
  value: ActionOutcomeRecord
  partition: number
  offset: number
}

/**
 * `total` outcomes in log order, deterministic: requests over `fingerprints`
 * fingerprints (an alert that recurs keeps its team, service and name); one in ten is
 * first held or awaiting approval and gets its final outcome a few hundred requests
 * later (0.5% never do: still pending). finishedAt climbs ~1 s a record with up to 20 s
 * of jitter, so rows arrive roughly, not exactly, in order.
 */
function generateOutcomes(total: number, partitions: number, base: number): PlacedOutcome[] {
  const random = seeded(18)
  const fingerprints = Math.max(100, Math.floor(total / 5))
  const out: PlacedOutcome[] = []
  const offsets = new Array<number>(partitions).fill(0)
  /** Finals of requests first held or asked, by the request number they are written at. */
  const due = new Map<number, Array<{ value: ActionOutcomeRecord; fp: number }>>()
  const place = (value: ActionOutcomeRecord, fp: number) => {
    const partition = fp % partitions
    out.push({ value, partition, offset: offsets[partition]! })
    offsets[partition]! += 1
  }
  for (let request = 0; out.length < total; request++) {
    for (const final of due.get(request) ?? []) if (out.length < total) place(final.value, final.fp)
    due.delete(request)
    if (out.length >= total) break
    const fp = Math.floor(random() * fingerprints)
    const team = TEAMS[fp % TEAMS.length]!
    const fingerprint = fingerprintOf(fp)
    const action = pick(random, ACTIONS)
    const finishedAt = base + out.length * 1000 + Math.floor(random() * 20_000)
    const startsAt = new Date(finishedAt - 300_000 - Math.floor(random() * 600_000)).toISOString()
    const outcome: ActionOutcomeRecord = {
      idempotencyKey: `${fingerprint}:${startsAt}:${action}:${request}`,
      action,
      route: `${team}-critical`,
      fingerprint,
      startsAt,
      team,
      service: SERVICES[team][fp % SERVICES[team].length]!,
      slo: random() < 0.5 ? `${team}-availability` : null,
      status: weighted(random, FINAL_STATUSES),
      attempts: 1 + Math.floor(random() * 3),
      startedAt: finishedAt - 2000,
      finishedAt,
      detail: null,
      output: { exitCode: '0', summary: `${action} on ${fingerprint}` },
      escalatedTo: null,
      dryRun: false,
      alertname: ALERTNAMES[fp % ALERTNAMES.length]!,
      durationMs: 2000,
      artifact: null,
    }
    const r = random()
    if (r < 0.1) {
      const asked = r < 0.05
      const event: ActionOutcomeRecord = {
        ...outcome,
        status: asked ? 'awaiting_approval' : 'held',
        attempts: 0,
        startedAt: null,
        finishedAt: finishedAt - 1000,
        durationMs: null,
        output: asked
          ? {
              approval: `apr-${request.toString(36)}`,
              approvalTimeoutAt: new Date(finishedAt + 3_600_000).toISOString(),
            }
          : { holdUntil: new Date(finishedAt + 300_000).toISOString() },
      }
      place(event, fp)
      if (r >= 0.005) {
        const at = request + 100 + Math.floor(random() * 400)
        due.set(at, [...(due.get(at) ?? []), { value: { ...outcome, finishedAt: finishedAt + 500_000 }, fp }])
      }
    } else place(outcome, fp)
  }
  return out
}

/** Decisions `first` … `first + count - 1` of a deterministic stream over 5× the outcomes' fingerprints. */
function generateDecisions(
  first: number,
  count: number,
  fingerprints: number,
  partitions: number,
  base: number,
  topic: string,
): Array<{ value: DecisionRecord; partition: number }> {
  const random = seeded(1800 + first)
  const out: Array<{ value: DecisionRecord; partition: number }> = []
  for (let i = first; i < first + count; i++) {
    const fp = Math.floor(random() * fingerprints)
    const d = pick(random, DECISIONS)
    const decidedAt = base + Math.floor(i / 5) * 1000
    out.push({
      partition: fp % partitions,
      value: {
        fingerprint: fingerprintOf(fp),
        startsAt: new Date(decidedAt - 600_000).toISOString(),
        status: random() < 0.9 ? 'firing' : 'resolved',
        ...d,
        detail: d.kind === 'throttled' ? { limit: 'team', tokens: '0', capacity: '20' } : {},
        source: { topic, partition: fp % partitions, offset: String(i) },
        decidedAt,
      },
    })
  }
  return out
}

/** Encodes and writes records with one idempotent producer, a send of ≈ 2 MiB in flight while the next is encoded. */
async function fill<T>(
  ctx: BenchContext,
  producer: RecordProducer,
  topic: string,
  schema: string,
  records: Iterable<{ value: T; partition: number }>,
  key: (value: T) => string,
): Promise<number> {
  const id = await ctx.registry.idOf(valueSubject(topic), ctx.schemas.resolve(schema))
  let chunk: OutRecord[] = []
  let bytes = 0
  let written = 0
  let inFlight: Promise<void> = Promise.resolve()
  for (const { value, partition } of records) {
    const encoded = await ctx.registry.encode(id, value)
    chunk.push({ topic, key: key(value), value: encoded, partition })
    bytes += encoded.length + 64
    if (bytes >= SEND_BYTES) {
      await inFlight
      inFlight = producer.send(chunk)
      // Awaited before the next send; handled now so a failure is not reported as unhandled meanwhile.
      inFlight.catch(() => undefined)
      written += chunk.length
      chunk = []
      bytes = 0
    }
  }
  await inFlight
  await producer.send(chunk)
  return written + chunk.length
}

// ---------------------------------------------------------------- the naive baseline

interface NaiveRow {
  row: ActionRow
  finishedAt: number
  partition: number
  offset: number
}

type OrderKey = Pick<NaiveRow, 'finishedAt' | 'partition' | 'offset'>

function newestFirst(a: OrderKey, b: OrderKey): number {
  return b.finishedAt - a.finishedAt || b.partition - a.partition || b.offset - a.offset
}

/**
 * The Actions view as a naive implementation answers it: every decoded outcome kept in
 * one array, and per query a scan of it (latest outcome per key, with the earlier ones
 * as history), then filter, sort newest first, find the cursor, slice. Same order key
 * and cursor as the views, so the answers are the same. Only `actions` is implemented.
 */
export function naiveViews(outcomes: readonly PlacedOutcome[]): ConsoleViews {
  const unsupported = (): never => {
    throw new Error('the naive baseline answers only actions()')
  }
  return {
    actions(query: ActionQuery): ActionPage {
      const latest = new Map<string, NaiveRow>()
      for (const { value, partition, offset } of outcomes) {
        const key = rowKeyOf(value)
        const before = latest.get(key)
        const history = before ? [...before.row.history, before.row.outcome].slice(-20) : []
        latest.set(key, {
          row: { key, outcome: value, history, position: `${partition}:${offset}` },
          finishedAt: value.finishedAt,
          partition,
          offset,
        })
      }
      const matching = [...latest.values()]
        .filter(
          ({ row: { outcome: o } }) =>
            (query.team === undefined || o.team === query.team) &&
            (query.service === undefined || o.service === query.service) &&
            (query.action === undefined || o.action === query.action) &&
            (query.status === undefined || o.status === query.status) &&
            (query.since === undefined || o.finishedAt >= query.since) &&
            (query.until === undefined || o.finishedAt < query.until),
        )
        .sort(newestFirst)
      let start = 0
      if (query.cursor !== undefined) {
        const c = decodeCursor(query.cursor)
        start = matching.findIndex((r) => newestFirst(r, c) > 0)
        if (start < 0) start = matching.length
      }
      const limit = Math.min(500, Math.max(1, Math.floor(query.limit ?? DEFAULT_PAGE_SIZE)))
      const slice = matching.slice(start, start + limit)
      const page: ActionPage = { rows: slice.map((r) => r.row), total: matching.length }
      const last = slice[slice.length - 1]
      if (start + limit < matching.length && last) page.next = encodeCursor(last)
      return page
    },
    action: unsupported,
    pendingApprovals: unsupported,
    held: unsupported,
    pauses: unsupported,
    budgets: unsupported,
    alert: unsupported,
    findAlerts: unsupported,
    progress: () => [],
    subscribe: () => () => undefined,
    sizes: () => ({ outcomes: outcomes.length }),
  }
}

// ---------------------------------------------------------------- measuring

/** global.gc, exposed at run time when node was not started with --expose-gc. */
function gcFunction(): () => void {
  const exposed = global.gc
  if (typeof exposed === 'function')
    return () => {
      void exposed()
    }
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

function heapAfterGc(gc: () => void): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

/** GETs over one keep-alive connection; resolves with the ms until the whole body was read, and the body. */
class ApiClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 })

  constructor(private readonly port: number) {}

  get(path: string): Promise<{ ms: number; body: string }> {
    const sentAt = performance.now()
    return new Promise((resolve, reject) => {
      const req = http.get({ agent: this.agent, host: '127.0.0.1', port: this.port, path }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8')
          if (res.statusCode !== 200) reject(new Error(`GET ${path} answered ${res.statusCode}: ${body.slice(0, 300)}`))
          else resolve({ ms: performance.now() - sentAt, body })
        })
        res.on('error', reject)
      })
      req.on('error', reject)
      req.setTimeout(60_000, () => req.destroy(new Error(`GET ${path} timed out after 60 s`)))
    })
  }

  close(): void {
    this.agent.destroy()
  }
}

const QUERY_KINDS = ['first page', 'filtered page', 'deep page'] as const
type QueryKind = (typeof QUERY_KINDS)[number]

/** The paths each query kind asks, cycled through (filtered: team × status). */
function paths(kind: QueryKind, deepCursor: string): string[] {
  const base = '/api/console/actions'
  if (kind === 'first page') return [base]
  if (kind === 'deep page') return [`${base}?cursor=${deepCursor}`]
  return TEAMS.flatMap((team) => FILTER_STATUSES.map((status) => `${base}?team=${team}&status=${status}`))
}

async function deepCursor(client: ApiClient): Promise<string> {
  let cursor: string | undefined
  for (let page = 0; page < DEEP_PAGES; page++) {
    const path = cursor === undefined ? '/api/console/actions' : `/api/console/actions?cursor=${cursor}`
    const next = (JSON.parse((await client.get(path)).body) as ActionPage).next
    if (next === undefined) throw new Error(`the Actions view has fewer than ${DEEP_PAGES + 1} pages`)
    cursor = next
  }
  return cursor!
}

interface Latency {
  p50: number
  p95: number
  max: number
  requests: number
}

interface Served {
  latency: Record<QueryKind, Latency>
  /** One answer per kind (the first path of each), to compare servers. */
  answers: Record<QueryKind, string>
  deepCursor: string
}

async function serveAndTime(ctx: BenchContext, views: ConsoleViews, topology: BenchTopology, label: string) {
  const server: FastifyInstance = Fastify()
  registerConsoleRoutes(server, {
    views,
    kafka: ctx.kafka('bench-console-api'),
    registry: ctx.registry,
    topics: topology.topics,
    logger: ctx.quiet,
  })
  await server.listen({ host: '127.0.0.1', port: 0 })
  const address = server.server.address()
  const client = new ApiClient(typeof address === 'object' && address !== null ? address.port : 0)
  try {
    const cursor = await deepCursor(client)
    const latency = {} as Record<QueryKind, Latency>
    const answers = {} as Record<QueryKind, string>
    for (const kind of QUERY_KINDS) {
      const list = paths(kind, cursor)
      answers[kind] = (await client.get(list[0]!)).body
      for (let i = 0; i < WARMUP; i++) await client.get(list[i % list.length]!)
      const times: number[] = []
      for (let i = 0; i < REQUESTS; i++) times.push((await client.get(list[i % list.length]!)).ms)
      latency[kind] = {
        p50: percentile(times, 50)!,
        p95: percentile(times, 95)!,
        max: Math.max(...times),
        requests: times.length,
      }
      ctx.log.info(
        { server: label, query: kind, p50: round(latency[kind].p50), p95: round(latency[kind].p95) },
        'console: timed',
      )
    }
    return { latency, answers, deepCursor: cursor } satisfies Served
  } finally {
    client.close()
    await server.close()
  }
}

const round = (n: number, d = 1): number => Number(n.toFixed(d))

interface ConsoleRun {
  rebuildSeconds: number
  recordsRead: number
  heapBeforeMB: number
  heapAfterMB: number
  viewsHeapMB: number
  /** Heap used after a forced GC once the views were stopped and dropped; and whether they were still reachable then. */
  heapAfterStopMB: number
  viewsRetainedAfterStop: boolean
  /** Whether they were gone after the other servers were timed (minutes later). */
  viewsReleasedLater: boolean
  /** Heap used (no GC first) at its highest while rebuilding, and after a forced GC halfway through, minus heapBefore. */
  peakHeapDuringRebuildMB: number
  heapMidRebuildMB: number
  midRebuildGcMs: number
  rssGrowthMB: number
  sizes: Record<string, number>
  views: Served
  allRows: Served
  naive: Served
  /** Naive and all-rows answers byte for byte equal, per query kind; live views' first page the same as all-rows'. */
  sameAnswers: Record<QueryKind, boolean>
  liveFirstPageSame: boolean
}

/** The shipped views rebuilt from the topics, measured, timed through the API, and stopped. */
async function liveViews(
  ctx: BenchContext,
  run: number,
  topology: BenchTopology,
  gc: () => void,
): Promise<{
  live: Omit<ConsoleRun, 'allRows' | 'naive' | 'sameAnswers' | 'liveFirstPageSame' | 'viewsReleasedLater'>
  retained: WeakRef<object>
}> {
  const rssBefore = process.memoryUsage().rss
  const heapBefore = heapAfterGc(gc)
  const started = performance.now()
  const views: RunningConsoleViews = await startConsoleViews({
    kafka: ctx.kafka('bench-console'),
    registry: ctx.registry,
    topics: topology.topics,
    logger: ctx.quiet,
  })
  let peakHeap = 0
  /** Heap used after a forced GC once half the records are read: what the rebuild holds live, not its garbage. */
  let midHeap = 0
  /** Time that forced GC took, left out of the rebuild time. */
  let midGcMs = 0
  try {
    let lastLog = started
    for (;;) {
      const progress = views.progress()
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)
      if (progress.every((p) => p.caughtUp)) break
      const read = progress.reduce((a, p) => a + p.read, 0)
      const target = progress.reduce((a, p) => a + p.target, 0)
      if (midHeap === 0 && read * 2 >= target) {
        const gcStarted = performance.now()
        midHeap = heapAfterGc(gc)
        midGcMs = performance.now() - gcStarted
      }
      if (performance.now() - started > 30 * 60_000)
        throw new Error(`the views did not catch up in 30 min: ${JSON.stringify(progress)}`)
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now()
        ctx.log.info({ run, progress: progress.map((p) => `${p.topic}: ${p.read}/${p.target}`) }, 'console: rebuilding')
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const rebuildSeconds = (performance.now() - started - midGcMs) / 1000
    const recordsRead = views.progress().reduce((a, p) => a + p.read, 0)
    const heapAfter = heapAfterGc(gc)
    const rssGrowth = process.memoryUsage().rss - rssBefore
    const sizes = views.sizes()
    ctx.log.info(
      {
        run,
        rebuildSeconds: round(rebuildSeconds),
        rate: Math.round(perSecond(recordsRead, rebuildSeconds * 1000)),
        viewsHeapMB: round((heapAfter - heapBefore) / MB),
        peakHeapMB: round(peakHeap / MB),
        midRebuildHeapMB: round(midHeap / MB),
        sizes,
      },
      'console: views caught up',
    )
    const served = await serveAndTime(ctx, views, topology, 'views')
    return {
      live: {
        rebuildSeconds,
        recordsRead,
        heapBeforeMB: heapBefore / MB,
        heapAfterMB: heapAfter / MB,
        viewsHeapMB: (heapAfter - heapBefore) / MB,
        heapAfterStopMB: 0,
        viewsRetainedAfterStop: false,
        peakHeapDuringRebuildMB: peakHeap / MB,
        heapMidRebuildMB: midHeap / MB,
        midRebuildGcMs: midGcMs,
        rssGrowthMB: rssGrowth / MB,
        sizes,
        views: served,
      },
      retained: new WeakRef(views),
    }
  } finally {
    await views.stop()
  }
}

async function oneRun(
  ctx: BenchContext,
  run: number,
  topology: BenchTopology,
  outcomes: readonly PlacedOutcome[],
  gc: () => void,
): Promise<ConsoleRun> {
  // 1. The shipped views; then what is still held once they are stopped and dropped.
  const { live, retained } = await liveViews(ctx, run, topology, gc)
  live.heapAfterStopMB = heapAfterGc(gc) / MB
  live.viewsRetainedAfterStop = retained.deref() !== undefined

  // 2. The API over the views holding every row, and over the naive scan.
  const full = new ConsoleViewState(topology.topics, ctx.quiet, {
    ...DEFAULT_VIEW_LIMITS,
    maxRows: Math.max(DEFAULT_VIEW_LIMITS.maxRows, outcomes.length),
  })
  for (const { value, partition, offset } of outcomes)
    full.outcome(value, { topic: topology.topics.outcomes, partition, offset: String(offset), timestamp: 0 })
  const allRows = await serveAndTime(ctx, full, topology, 'views, every row')
  const naive = await serveAndTime(ctx, naiveViews(outcomes), topology, 'naive scan')
  const sameAnswers = Object.fromEntries(
    QUERY_KINDS.map((k) => [k, allRows.answers[k] === naive.answers[k] && allRows.deepCursor === naive.deepCursor]),
  ) as Record<QueryKind, boolean>
  const rowsOf = (body: string) => (JSON.parse(body) as ActionPage).rows
  const liveFirstPageSame =
    JSON.stringify(rowsOf(live.views.answers['first page'])) === JSON.stringify(rowsOf(allRows.answers['first page']))
  if (!Object.values(sameAnswers).every(Boolean) || !liveFirstPageSame)
    ctx.log.warn({ sameAnswers, liveFirstPageSame }, 'console: the servers answered differently')
  // Stopped views stay reachable for a while (the Kafka clients' timers); released by now?
  gc()
  const viewsReleasedLater = retained.deref() === undefined
  ctx.log.info(
    {
      run,
      heapAfterStopMB: round(live.heapAfterStopMB),
      retainedRightAfterStop: live.viewsRetainedAfterStop,
      releasedAfterTheBaselines: viewsReleasedLater,
    },
    'console: the stopped views',
  )
  return { ...live, viewsReleasedLater, allRows, naive, sameAnswers, liveFirstPageSame }
}

export async function benchConsole(ctx: BenchContext): Promise<BenchResult> {
  const outcomeCount = ctx.quick ? 20_000 : 200_000
  const decisionCount = ctx.quick ? 100_000 : 1_000_000
  const gc = gcFunction()
  const prefix = ctx.prefix('console')
  const topology = await provision(ctx, prefix)
  const runs: ConsoleRun[] = []
  const failures: Array<{ run: number; error: string }> = []
  let fillSeconds = 0
  try {
    // Right after the topics are made the broker may not lead their partitions yet (retriable).
    const partitions = (
      await retry(() => endOffsets(ctx, topology.topics.outcomes), { initialMs: 250, maxMs: 1000, maxAttempts: 20 })
    ).size
    const base = Date.now() - outcomeCount * 1000
    const outcomes = generateOutcomes(outcomeCount, partitions, base)
    ctx.log.info({ outcomes: outcomeCount, decisions: decisionCount, partitions }, 'console: writing the topics')
    const fillStarted = performance.now()
    const producer = await RecordProducer.connect(ctx.kafka('bench-console-producer'))
    try {
      await fill(
        ctx,
        producer,
        topology.topics.outcomes,
        'ActionOutcome',
        outcomes.map(({ value, partition }) => ({ value, partition })),
        (v) => v.fingerprint,
      )
      const chunk = 50_000
      const fingerprints = Math.max(100, Math.floor(outcomeCount / 5)) * 5
      for (let first = 0; first < decisionCount; first += chunk)
        await fill(
          ctx,
          producer,
          topology.topics.decisions,
          'Decision',
          generateDecisions(
            first,
            Math.min(chunk, decisionCount - first),
            fingerprints,
            partitions,
            base,
            topology.topics.decisions,
          ),
          (v) => v.fingerprint,
        )
    } finally {
      await producer.disconnect()
    }
    fillSeconds = (performance.now() - fillStarted) / 1000
    ctx.log.info(
      { seconds: round(fillSeconds), rate: Math.round(perSecond(outcomeCount + decisionCount, fillSeconds * 1000)) },
      'console: topics written',
    )
    for (let run = 1; run <= ctx.runs; run++) {
      try {
        runs.push(await oneRun(ctx, run, topology, outcomes, gc))
      } catch (err) {
        ctx.log.error({ run, err: String(err) }, 'console run failed')
        failures.push({ run, error: String(err) })
      }
    }
  } finally {
    await topology.cleanup()
  }
  return { id: 'console', figures: figuresOf(runs, ctx.quick), details: { fillSeconds, runs, failures } }
}

function figuresOf(runs: ConsoleRun[], quick: boolean): Figure[] {
  const n = quick ? '20k outcomes + 100k decisions' : '200k outcomes + 1M decisions'
  const bench = 'console'
  const p95 = { op: '<=' as const, value: P95_TARGET_MS }
  const figures: Figure[] = [
    figure({ bench, name: `views rebuild at start (${n})`, unit: 's', runs: runs.map((r) => r.rebuildSeconds) }),
    figure({
      bench,
      name: 'views rebuild rate',
      unit: 'rec/s',
      runs: runs.map((r) => perSecond(r.recordsRead, r.rebuildSeconds * 1000)),
    }),
    figure({
      bench,
      name: 'views heap after GC, caught up (shipped limits)',
      unit: 'MB',
      runs: runs.map((r) => r.viewsHeapMB),
      note: runs[0] ? `sizes: ${JSON.stringify(runs[0].sizes)}` : undefined,
    }),
    figure({
      bench,
      name: 'heap used at its peak while rebuilding, above start',
      unit: 'MB',
      runs: runs.map((r) => r.peakHeapDuringRebuildMB - r.heapBeforeMB),
    }),
    figure({
      bench,
      name: 'heap after a GC halfway through the rebuild, above start',
      unit: 'MB',
      runs: runs.map((r) => r.heapMidRebuildMB - r.heapBeforeMB),
    }),
  ]
  for (const kind of QUERY_KINDS) {
    figures.push(
      figure({
        bench,
        name: `GET actions, ${kind}: p50`,
        unit: 'ms',
        runs: runs.map((r) => r.views.latency[kind].p50),
      }),
      figure({
        bench,
        name: `GET actions, ${kind}: p95`,
        unit: 'ms',
        runs: runs.map((r) => r.views.latency[kind].p95),
        target: p95,
      }),
      figure({
        bench,
        name: `  every row kept: p95`,
        unit: 'ms',
        runs: runs.map((r) => r.allRows.latency[kind].p95),
      }),
      figure({
        bench,
        name: `  baseline, naive scan: p95`,
        unit: 'ms',
        runs: runs.map((r) => r.naive.latency[kind].p95),
      }),
      figure({
        bench,
        name: `  naive ÷ every row kept (p95)`,
        unit: 'ratio',
        runs: runs.map((r) => r.naive.latency[kind].p95 / r.allRows.latency[kind].p95),
        note: runs.every((r) => r.sameAnswers[kind])
          ? undefined
          : 'the naive scan and the views answered differently (see the JSON)',
      }),
    )
  }
  return figures
}
