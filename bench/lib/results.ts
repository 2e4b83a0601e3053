import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Machine } from './machine'
import { median } from './stats'
import { formatTable, num } from './table'

/** A target a figure must meet: at least (`>=`) or at most (`<=`) `value`. */
export interface Target {
  op: '>=' | '<='
  value: number
}

/**
 * PASS / MISS against the target; INFO for a figure without one; SKIP when the figure
 * could not be measured here (the note says why); FAIL when measuring it failed.
 */
export type Status = 'PASS' | 'MISS' | 'INFO' | 'SKIP' | 'FAIL'

/** One reported figure: each run's value and their median. */
export interface Figure {
  /** Which benchmark it belongs to, e.g. `stages`. */
  bench: string
  /** What is measured, e.g. `dedup / baseline`. */
  name: string
  unit: string
  runs: number[]
  median: number | null
  target?: Target
  status: Status
  note?: string
}

/** Builds a figure from its runs; the status follows from the median and the target. */
export function figure(args: {
  bench: string
  name: string
  unit: string
  runs: number[]
  target?: Target
  note?: string
  decimals?: number
}): Figure {
  const m = median(args.runs)
  let status: Status = 'INFO'
  if (args.target) {
    if (m === null) status = 'FAIL'
    else status = (args.target.op === '>=' ? m >= args.target.value : m <= args.target.value) ? 'PASS' : 'MISS'
  }
  return {
    bench: args.bench,
    name: args.name,
    unit: args.unit,
    runs: args.runs,
    median: m,
    ...(args.target ? { target: args.target } : {}),
    status,
    ...(args.note ? { note: args.note } : {}),
  }
}

/** A figure that was not measured, with the reason. */
export function skipped(
  bench: string,
  name: string,
  unit: string,
  reason: string,
  status: 'SKIP' | 'FAIL' = 'SKIP',
  target?: Target,
): Figure {
  return { bench, name, unit, runs: [], median: null, ...(target ? { target } : {}), status, note: reason }
}

/** What one benchmark module hands back. */
export interface BenchResult {
  id: string
  figures: Figure[]
  /** Per-run details (batch counts, partition spread, settings used) for the JSON only. */
  details: Record<string, unknown>
}

/** What lands in bench/results/<date>.json. */
export interface Report {
  date: string
  machine: Machine
  options: { runs: number; quick: boolean; only: string[] }
  figures: Figure[]
  details: Record<string, Record<string, unknown>>
  errors: Array<{ bench: string; error: string }>
  durationSeconds: number
}

function decimalsFor(unit: string): number {
  if (unit === 'ratio') return 2
  if (unit === '%') return 2
  if (unit === 's') return 1
  return 0
}

function targetText(figure: Figure): string {
  if (!figure.target) return ''
  return `${figure.target.op} ${num(figure.target.value, decimalsFor(figure.unit))}`
}

/** The terminal table: one row per figure, each run, the median, the target and the verdict. */
export function formatReport(report: Report): string {
  const runs = Math.max(1, ...report.figures.map((f) => f.runs.length))
  const header = [
    'bench',
    'figure',
    'unit',
    ...Array.from({ length: runs }, (_, i) => `run ${i + 1}`),
    'median',
    'target',
    'status',
  ]
  const rows = report.figures.map((f) => {
    const d = decimalsFor(f.unit)
    const perRun = Array.from({ length: runs }, (_, i) => (f.runs[i] === undefined ? '' : num(f.runs[i], d)))
    return [f.bench, f.name, f.unit, ...perRun, num(f.median, d), targetText(f), f.status]
  })
  const notes = report.figures.filter((f) => f.note).map((f) => `  ${f.bench} / ${f.name}: ${f.note}`)
  const m = report.machine
  return [
    `nightshift bench, ${report.date}: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, node ${m.node}, Kafka ${m.kafka}, ${m.java}; load average at start ${m.loadAverage.join(' ')}`,
    formatTable(header, rows),
    ...(notes.length > 0 ? ['notes:', ...notes] : []),
    ...report.errors.map((e) => `error in ${e.bench}: ${e.error}`),
  ].join('\n')
}

/** Writes the report as `<dir>/<ISO date>.json` (colons and dots made file-name safe); returns the path. */
export async function writeReport(dir: string, report: Report): Promise<string> {
  await mkdir(dir, { recursive: true })
  const file = path.join(dir, `${report.date.replace(/[:.]/g, '-')}.json`)
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`)
  return file
}
