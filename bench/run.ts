/**
 * npm run bench [-- --only stages,topology --runs 3 --quick]
 *
 * Nightshift's benchmarks, one at a time (the machine has 2 cores and the broker runs
 * on it): each prints what it measures on stderr; at the end a table of every figure
 * (each run, the median, the target, PASS/MISS) goes to stdout and the whole report to
 * bench/results/<ISO date>.json. Needs the local stack (npm run stack:up) or
 * KAFKA_BROKERS / SCHEMA_REGISTRY_URL. Not part of npm test.
 *
 *   --only <ids>   comma-separated: stages, topology, ingest, state, console, idle
 *                  (stages also takes stage names: --only dedup,route)
 *   --runs N       runs per figure (default 3)
 *   --quick        smoke run: small counts, short windows, 1 run unless --runs is given
 */
import { parseArgs } from 'node:util'
import { describeError } from '../src/errors'
import { createContext, ROOT, RESULTS_DIR, type BenchContext } from './lib/context'
import { describeMachine } from './lib/machine'
import { formatReport, writeReport, type BenchResult, type Report } from './lib/results'
import { benchConsole } from './console'
import { benchIdle } from './idle'
import { benchIngest } from './ingest'
import { benchStages, STAGE_NAMES } from './stages'
import { benchState } from './state'
import { benchTopology } from './topology'

interface Benchmark {
  id: string
  run(ctx: BenchContext, only: readonly string[]): Promise<BenchResult>
}

/** In the order they run: the short ones first, the 1M-record one and the idle window last. */
const BENCHMARKS: Benchmark[] = [
  {
    id: 'stages',
    run: (ctx, only) =>
      benchStages(ctx, { stages: only.some((o) => (STAGE_NAMES as readonly string[]).includes(o)) ? only : undefined }),
  },
  { id: 'topology', run: (ctx) => benchTopology(ctx) },
  { id: 'ingest', run: (ctx) => benchIngest(ctx) },
  { id: 'state', run: (ctx) => benchState(ctx) },
  { id: 'console', run: (ctx) => benchConsole(ctx) },
  { id: 'idle', run: (ctx) => benchIdle(ctx) },
]

function parseOptions(argv: string[]): { only: string[]; runs: number; quick: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: { only: { type: 'string' }, runs: { type: 'string' }, quick: { type: 'boolean', default: false } },
  })
  const only = (values.only ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
  const known = [...BENCHMARKS.map((b) => b.id), ...STAGE_NAMES]
  const unknown = only.filter((o) => !known.includes(o))
  if (unknown.length > 0) throw new Error(`--only ${unknown.join(',')}: unknown; known: ${known.join(', ')}`)
  const quick = values.quick ?? false
  const runs = values.runs === undefined ? (quick ? 1 : 3) : Number(values.runs)
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got "${values.runs}"`)
  return { only, runs, quick }
}

function selected(only: readonly string[]): Benchmark[] {
  if (only.length === 0) return BENCHMARKS
  return BENCHMARKS.filter(
    (b) =>
      only.includes(b.id) || (b.id === 'stages' && only.some((o) => (STAGE_NAMES as readonly string[]).includes(o))),
  )
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2))
  const started = performance.now()
  const machine = await describeMachine(ROOT)
  const ctx = await createContext(options)
  ctx.log.info(
    { ...options, brokers: ctx.endpoints.brokers, cpus: machine.cpus, load: machine.loadAverage },
    'bench starting',
  )
  const report: Report = {
    date: new Date().toISOString(),
    machine,
    options,
    figures: [],
    details: {},
    errors: [],
    durationSeconds: 0,
  }
  for (const bench of selected(options.only)) {
    ctx.log.info({ bench: bench.id }, 'benchmark starting')
    try {
      const result = await bench.run(ctx, options.only)
      report.figures.push(...result.figures)
      report.details[result.id] = result.details
    } catch (err) {
      ctx.log.error({ bench: bench.id, err: describeError(err) }, 'benchmark failed')
      report.errors.push({ bench: bench.id, error: describeError(err) })
    }
  }
  report.durationSeconds = Math.round((performance.now() - started) / 1000)
  const file = await writeReport(RESULTS_DIR, report)
  console.log(`\n${formatReport(report)}\nresults: ${file.replace(`${ROOT}/`, '')}`)
  const failed = report.errors.length > 0 || report.figures.some((f) => f.status === 'FAIL')
  return failed ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench: ${describeError(err)}`)
    process.exit(1)
  },
)
