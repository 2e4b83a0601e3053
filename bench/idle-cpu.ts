/**
 * npm run bench:idle-cpu [-- --rounds 3 --window 10]
 *
 * Shows what scripts/patches/kafkajs+2.2.4.patch buys: the CPU a connected, idle kafkajs
 * consumer uses with pristine kafkajs 2.2.4 (1 ms timer loop per connection, kafkajs
 * #1556) against the patched copy in node_modules. Each round runs bench/idle-consumer.cjs
 * in its own process, alternating variants so that drift in machine load hits both.
 * Rounds and window also come from BENCH_ROUNDS / BENCH_WINDOW_S; flags win.
 */
import { execFile, spawn } from 'node:child_process'
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parseArgs, promisify } from 'node:util'
import { endpointsFromEnv } from '../src/config/endpoints'
import { describeError } from '../src/errors'
import { KafkaAdmin, waitForBroker } from '../src/kafka'
import { createLogger, type Logger } from '../src/log'

const execFileAsync = promisify(execFile)

const ROOT = path.resolve(__dirname, '..')
const CHILD = path.join(__dirname, 'idle-consumer.cjs')
const RESULTS_DIR = path.join(__dirname, 'results')
const PATCHED_DIR = path.join(ROOT, 'node_modules', 'kafkajs')
const KAFKAJS_VERSION = '2.2.4'
/** The file the patch changes, and the marker comment the patch adds to it. */
const PATCHED_FILE = path.join('src', 'network', 'requestQueue', 'index.js')
const PATCH_MARKER = 'Nightshift patch'
/** Connect + join + settle take a few seconds; this is the margin on top of the window. */
const CHILD_OVERHEAD_MS = 50_000

type Variant = 'unpatched' | 'patched'
const VARIANTS: readonly Variant[] = ['unpatched', 'patched']

/** How the bench is run. */
export interface BenchOptions {
  rounds: number
  windowSeconds: number
}

/** One child's measurement, as bench/idle-consumer.cjs prints it. */
export interface RoundResult {
  variant: Variant
  round: number
  cpuMs: number
  wallMs: number
  cpuPercent: number
}

/** A child that exited non-zero or printed no result. */
export interface RoundFailure {
  variant: Variant
  round: number
  error: string
}

/** What lands in bench/results/idle-cpu-<date>.json. */
export interface BenchReport {
  bench: 'idle-cpu'
  date: string
  node: string
  kafkajs: string
  platform: string
  cpus: number
  rounds: number
  windowSeconds: number
  results: RoundResult[]
  failures: RoundFailure[]
  medianCpuPercent: Record<Variant, number | null>
  /** unpatched / patched of the medians; null when either is missing or patched is 0. */
  ratio: number | null
}

function positiveInt(text: string, source: string): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${source} must be a positive integer, got "${text}"`)
  return n
}

/** Flags first, then environment, then defaults (3 rounds of 10 s). */
export function readOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: { rounds: { type: 'string' }, window: { type: 'string' } },
  })
  const rounds = values.rounds ?? env.BENCH_ROUNDS ?? '3'
  const window = values.window ?? env.BENCH_WINDOW_S ?? '10'
  return {
    rounds: positiveInt(rounds, values.rounds ? '--rounds' : 'BENCH_ROUNDS'),
    windowSeconds: positiveInt(window, values.window ? '--window' : 'BENCH_WINDOW_S'),
  }
}

/** Median of the values; null for none. */
export function median(values: number[]): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const upper = sorted[mid] ?? 0
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? 0) + upper) / 2
}

async function fileHasMarker(packageDir: string): Promise<boolean> {
  return (await readFile(path.join(packageDir, PATCHED_FILE), 'utf8')).includes(PATCH_MARKER)
}

async function packageVersion(packageDir: string): Promise<string> {
  const pkg: unknown = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8'))
  const version = typeof pkg === 'object' && pkg !== null && 'version' in pkg ? pkg.version : undefined
  return typeof version === 'string' ? version : 'unknown'
}

/**
 * Fetches pristine kafkajs into tmpDir (npm pack, from the npm cache when it has it) and
 * returns its package directory. Refuses to go on unless that copy lacks the patch and
 * node_modules/kafkajs has it, else the comparison would be meaningless.
 */
async function preparePristineKafkajs(tmpDir: string): Promise<string> {
  const { stdout } = await execFileAsync('npm', ['pack', `kafkajs@${KAFKAJS_VERSION}`, '--silent'], { cwd: tmpDir })
  const tarball = stdout.trim().split('\n').pop()
  if (!tarball) throw new Error('npm pack printed no tarball name')
  const extractTo = path.join(tmpDir, 'unpatched')
  await mkdir(extractTo)
  await execFileAsync('tar', ['xzf', path.join(tmpDir, tarball), '-C', extractTo])
  const pristine = path.join(extractTo, 'package')

  if (await fileHasMarker(pristine)) throw new Error(`the npm pack copy of kafkajs at ${pristine} is patched`)
  if (!(await fileHasMarker(PATCHED_DIR))) throw new Error('node_modules/kafkajs is not patched: run npm ci')
  for (const dir of [pristine, PATCHED_DIR]) {
    const version = await packageVersion(dir)
    if (version !== KAFKAJS_VERSION) throw new Error(`${dir} is kafkajs ${version}, expected ${KAFKAJS_VERSION}`)
  }
  return pristine
}

function isChildResult(value: unknown): value is { cpuMs: number; wallMs: number; cpuPercent: number } {
  if (typeof value !== 'object' || value === null) return false
  const record = value as Record<string, unknown>
  return ['cpuMs', 'wallMs', 'cpuPercent'].every((key) => typeof record[key] === 'number')
}

interface ChildRun {
  variant: Variant
  round: number
  kafkajsDir: string
  brokers: string[]
  topic: string
  groupId: string
  windowSeconds: number
}

/** Runs one idle-consumer child to completion; its stderr goes straight to ours. */
function runChild(run: ChildRun): Promise<RoundResult> {
  const windowMs = run.windowSeconds * 1000
  const args = [
    CHILD,
    ['--kafkajs', run.kafkajsDir],
    ['--brokers', run.brokers.join(',')],
    ['--topic', run.topic],
    ['--variant', run.variant],
    ['--group', run.groupId],
    ['--window-ms', String(windowMs)],
    ['--timeout-ms', String(windowMs + CHILD_OVERHEAD_MS)],
  ].flat()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (code !== 0) return reject(new Error(`child exited with ${signal ?? `code ${code}`}`))
      const line = stdout.trim().split('\n').pop() ?? ''
      let parsed: unknown
      try {
        parsed = JSON.parse(line)
      } catch {
        return reject(new Error(`child printed no JSON result: "${line}"`))
      }
      if (!isChildResult(parsed)) return reject(new Error(`child printed an unexpected result: ${line}`))
      resolve({
        variant: run.variant,
        round: run.round,
        cpuMs: parsed.cpuMs,
        wallMs: parsed.wallMs,
        cpuPercent: parsed.cpuPercent,
      })
    })
  })
}

/** Rows per variant: each round's CPU %, the median, then the ratio of the medians. */
export function formatTable(report: BenchReport): string {
  const pct = (n: number | null): string => (n === null ? 'n/a' : `${n.toFixed(2)}%`)
  const roundHeads = Array.from({ length: report.rounds }, (_, i) => `round ${i + 1}`)
  const rows = [['variant', ...roundHeads, 'median']]
  for (const variant of VARIANTS) {
    const perRound = roundHeads.map((_, i) => {
      const hit = report.results.find((r) => r.variant === variant && r.round === i + 1)
      return hit ? pct(hit.cpuPercent) : 'failed'
    })
    rows.push([variant, ...perRound, pct(report.medianCpuPercent[variant])])
  }
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((row) => (row[col] ?? '').length))) ?? []
  const lines = rows.map((row) => row.map((cell, col) => cell.padStart(widths[col] ?? 0)).join('  '))
  const ratio = report.ratio === null ? 'n/a' : `${report.ratio.toFixed(1)}x`
  return [
    `idle kafkajs ${report.kafkajs} consumer, CPU % of one core over ${report.windowSeconds} s (node ${report.node})`,
    ...lines,
    `ratio unpatched/patched (medians): ${ratio}`,
  ].join('\n')
}

function buildReport(options: BenchOptions, results: RoundResult[], failures: RoundFailure[]): BenchReport {
  const medianOf = (variant: Variant): number | null =>
    median(results.filter((r) => r.variant === variant).map((r) => r.cpuPercent))
  const medianCpuPercent = { unpatched: medianOf('unpatched'), patched: medianOf('patched') }
  const { unpatched, patched } = medianCpuPercent
  return {
    bench: 'idle-cpu',
    date: new Date().toISOString(),
    node: process.version,
    kafkajs: KAFKAJS_VERSION,
    platform: `${os.platform()} ${os.arch()}`,
    cpus: os.cpus().length,
    rounds: options.rounds,
    windowSeconds: options.windowSeconds,
    results,
    failures,
    medianCpuPercent,
    ratio: unpatched !== null && patched !== null && patched > 0 ? unpatched / patched : null,
  }
}

/** Runs the rounds one after the other (never in parallel: they would compete for CPU). */
async function runRounds(
  options: BenchOptions,
  dirs: Record<Variant, string>,
  brokers: string[],
  topic: string,
  log: Logger,
): Promise<{ results: RoundResult[]; failures: RoundFailure[] }> {
  const results: RoundResult[] = []
  const failures: RoundFailure[] = []
  for (let round = 1; round <= options.rounds; round++) {
    for (const variant of VARIANTS) {
      // A group of its own per child, so no round inherits a rebalance from the one before.
      const groupId = `${topic}-${variant}-${round}`
      log.info({ round, variant }, 'measuring')
      try {
        const result = await runChild({
          variant,
          round,
          kafkajsDir: dirs[variant],
          brokers,
          topic,
          groupId,
          windowSeconds: options.windowSeconds,
        })
        log.info({ round, variant, cpuPercent: Number(result.cpuPercent.toFixed(2)) }, 'measured')
        results.push(result)
      } catch (err) {
        // Keep going: one bad round should not throw away the others' numbers.
        log.error({ round, variant, err: describeError(err) }, 'round failed')
        failures.push({ variant, round, error: describeError(err) })
      }
    }
  }
  return { results, failures }
}

/** Creates the topic, calls use, then deletes the topic whatever use did. */
async function withTopic<T>(brokers: string[], log: Logger, topic: string, use: () => Promise<T>): Promise<T> {
  const settings = { brokers, clientId: 'bench', logger: log }
  await waitForBroker(settings, { timeoutMs: 15_000 }).catch((err: unknown) => {
    throw new Error(`${describeError(err)} (start the local stack with npm run stack:up)`)
  })
  // The admin disconnects during the rounds so that this process stays out of the way.
  const admin = await KafkaAdmin.connect(settings)
  try {
    await admin.ensureTopics([{ name: topic, partitions: 1, replicationFactor: 1 }])
  } finally {
    await admin.disconnect()
  }
  try {
    return await use()
  } finally {
    // The groups are left to the broker: they hold no offsets, so it expires them, and
    // some are already gone by now (DeleteGroups then fails with GROUP_ID_NOT_FOUND).
    const cleanup = await KafkaAdmin.connect(settings)
    try {
      await cleanup.deleteTopics([topic])
    } finally {
      await cleanup.disconnect()
    }
  }
}

async function main(): Promise<number> {
  const options = readOptions(process.argv.slice(2), process.env)
  const log = createLogger().child({ module: 'bench' })
  const { brokers } = endpointsFromEnv()
  const tmpDir = await mkdtemp(path.join(os.tmpdir(), 'nightshift-bench-'))
  try {
    const pristine = await preparePristineKafkajs(tmpDir)
    const dirs: Record<Variant, string> = { unpatched: pristine, patched: PATCHED_DIR }
    const topic = `bench-idle-cpu-${Date.now()}`
    log.info({ ...options, brokers, topic }, 'idle-cpu bench starting')
    const { results, failures } = await withTopic(brokers, log, topic, () =>
      runRounds(options, dirs, brokers, topic, log),
    )

    const report = buildReport(options, results, failures)
    await mkdir(RESULTS_DIR, { recursive: true })
    // Colons are not portable in file names; the exact time is in the JSON.
    const file = path.join(RESULTS_DIR, `idle-cpu-${report.date.replace(/[:.]/g, '-')}.json`)
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`)
    console.log(`\n${formatTable(report)}\nresults: ${path.relative(ROOT, file)}`)
    return failures.length === 0 ? 0 : 1
  } finally {
    await rm(tmpDir, { recursive: true, force: true })
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench:idle-cpu: ${describeError(err)}`)
    process.exit(1)
  },
)
