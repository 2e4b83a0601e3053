/**
 * The SLO report, pure: what `nightshift slo report` prints and `GET /api/slo` returns.
 * Each SLO's figures are recomputed at `now` from its stored bad intervals and open
 * alerts (a stored budget is as of the SLO's last event).
 */
import type { SloBudgetRecord } from '../../contracts/records'
import {
  BURN_WINDOWS,
  badTime,
  budgetStatus,
  type AlertState,
  type BadInterval,
  type BurnRates,
  type SloMath,
} from '../../slo/budget'
import { emptyBudget } from './decide'
import { sloMath, type SlosConfig } from '../../slo/slos'

export interface SloReportRow {
  slo: string
  service: string
  team: string
  objective: number
  /** Start and end (now) of the window the figures are for, ISO 8601. */
  windowStart: string
  windowEnd: string
  allowedBadMinutes: number
  badMinutes: number
  budgetRemaining: number
  burnRates: BurnRates
  state: AlertState
  /** Indicator alerts firing now. */
  firing: number
  remediations: { total: number; automated: number; notEffective: number; byStatus: Record<string, number> }
  /** Mean minutes from a successful action to the alert's resolve; null when none yet. */
  meanMinutesToResolveAfterAction: number | null
  /** Bad intervals in the window, for charts (ISO 8601; end null = still firing). */
  badIntervals: Array<{ start: string; end: string | null }>
  /** Event time the stored budget is as of; null when nothing was charged yet. */
  lastEventAt: string | null
  /** Budget remaining through the window: at its start, at each bad interval's start and end, and now. */
  burnDown: Array<{ at: string; remaining: number }>
  /** The last action outcomes recorded against the SLO, newest first. */
  recentRemediations: Array<{ at: string; action: string; status: string; fingerprint: string; idempotencyKey: string }>
}

const minutes = (ms: number): number => Math.round((ms / 60_000) * 100) / 100

/** One row per SLO of the file, in file order; an SLO with no budget yet reports a full budget. */
export function sloReport(
  slos: SlosConfig,
  budgets: { get(slo: string): SloBudgetRecord | undefined },
  now: number,
): SloReportRow[] {
  return slos.slos.map((slo) => {
    const stored = budgets.get(slo.name)
    const b = stored ?? emptyBudget(slo)
    const open = Object.values(b.open)
    const intervals = [
      ...b.intervals.map((i) => ({ start: i.start, end: i.end as number | null })),
      ...open.map((start) => ({ start, end: null })),
    ]
    const at = Math.max(now, b.asOf)
    const math = sloMath(slo)
    const status = budgetStatus(intervals, math, at)
    const total = Object.values(b.remediations).reduce((sum, n) => sum + n, 0)
    return {
      slo: slo.name,
      service: slo.service,
      team: slo.team,
      objective: slo.objective,
      windowStart: new Date(status.windowStart).toISOString(),
      windowEnd: new Date(status.windowEnd).toISOString(),
      allowedBadMinutes: minutes(status.allowedMs),
      badMinutes: minutes(status.badMs),
      budgetRemaining: status.remainingRatio,
      burnRates: status.burnRates,
      state: status.state,
      firing: open.length,
      remediations: { total, automated: b.automated, notEffective: b.notEffective, byStatus: { ...b.remediations } },
      meanMinutesToResolveAfterAction:
        b.resolvedAfterActionCount > 0 ? minutes(b.resolvedAfterActionMs / b.resolvedAfterActionCount) : null,
      badIntervals: intervals
        .filter((i) => i.end === null || i.end > status.windowStart)
        .sort((x, y) => x.start - y.start)
        .map((i) => ({
          start: new Date(i.start).toISOString(),
          end: i.end === null ? null : new Date(i.end).toISOString(),
        })),
      lastEventAt: stored ? new Date(stored.asOf).toISOString() : null,
      burnDown: burnDown(intervals, math, status.windowStart, at, status.allowedMs),
      recentRemediations: [...b.recent].reverse().map((r) => ({ ...r, at: new Date(r.at).toISOString() })),
    }
  })
}

/** Budget remaining at the points where it can change (interval edges) in [from, to]. */
function burnDown(
  intervals: readonly BadInterval[],
  math: SloMath,
  from: number,
  to: number,
  allowedMs: number,
): Array<{ at: string; remaining: number }> {
  const times = new Set<number>([from, to])
  for (const i of intervals) {
    for (const t of [i.start, i.end ?? to]) if (t > from && t < to) times.add(t)
  }
  return [...times]
    .sort((a, b) => a - b)
    .map((t) => ({
      at: new Date(t).toISOString(),
      remaining: allowedMs > 0 ? 1 - badTime(intervals, from, t, math) / allowedMs : 1,
    }))
}

/** The report as a fixed-width table, one line per SLO. */
export function formatSloReport(rows: readonly SloReportRow[]): string {
  if (rows.length === 0) return 'no SLOs defined'
  const head = [
    'SLO',
    'SERVICE',
    'TEAM',
    'OBJECTIVE',
    'BUDGET LEFT',
    'BAD MIN',
    ...BURN_WINDOWS.map((w) => `BURN ${w.name}`),
    'STATE',
    'FIRING',
    'REMEDIATIONS',
    'NOT HELD',
  ]
  const lines = rows.map((r) => [
    r.slo,
    r.service,
    r.team,
    `${Math.round(r.objective * 100000) / 1000}%`,
    `${Math.round(r.budgetRemaining * 1000) / 10}%`,
    `${r.badMinutes}/${r.allowedBadMinutes}`,
    ...BURN_WINDOWS.map((w) => String(Math.round(r.burnRates[w.name] * 100) / 100)),
    r.state,
    String(r.firing),
    `${r.remediations.total} (${r.remediations.automated} ran)`,
    String(r.remediations.notEffective),
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  return [head, ...lines]
    .map((cells) =>
      cells
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}
