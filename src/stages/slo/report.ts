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
  staleness,
} from '../../slo/budget'
import { DEFAULT_STALE_AFTER_MS } from '../../episodes/rule'
import { emptyBudget } from './decide'
import { sloMath, type SlosConfig } from '../../slo/slos'
import { formatObjective, formatPercent, formatTable } from '../../text'

/** How long the recent burn-down (the second chart of /slo) looks back. */
export const RECENT_WINDOW_MS = 24 * 3_600_000

/** Outcome statuses that are runs of an action: it was called. */
const RUN_STATUSES = { succeeded: 'succeeded', failed: 'failed', timedOut: 'timed_out' } as const

/**
 * What the SLO's actions did: runs (the action was called: succeeded, failed, timed
 * out), and apart from them what never ran (dry runs, cancelled because the alert
 * resolved first, anything else that stopped it) and the follow-ups saying a fix did
 * not hold (not_effective, not a run of its own).
 */
export interface RemediationCounts {
  runs: number
  succeeded: number
  failed: number
  timedOut: number
  dryRuns: number
  cancelled: number
  notEffective: number
  /** Requests stopped before running: paused, gated, circuit open, duplicate, error. */
  notRun: number
  /** Every outcome by status, as counted in the budget. */
  byStatus: Record<string, number>
}

export interface SloReportRow {
  slo: string
  service: string
  team: string
  objective: number
  /** The objective as people read it, every digit it has: 0.9995 → "99.95%". */
  objectiveText: string
  /** Start and end (now) of the window the figures are for, ISO 8601. */
  windowStart: string
  windowEnd: string
  allowedBadMinutes: number
  badMinutes: number
  budgetRemaining: number
  /** budgetRemaining as a percentage, never "100%" unless it is. */
  budgetRemainingText: string
  burnRates: BurnRates
  state: AlertState
  /** Indicator alerts firing now. */
  firing: number
  /** Of those, the ones not heard of for longer than the staleness (docs/episodes.md): likely a lost resolve. */
  staleEpisodes: number
  /** Bad minutes in the window charged only because stale episodes are still open; part of badMinutes, shown apart. */
  staleBadMinutes: number
  remediations: RemediationCounts
  /** Mean minutes from a successful action to the alert's resolve; null when none yet. */
  meanMinutesToResolveAfterAction: number | null
  /** Bad intervals in the window, for charts (ISO 8601; end null = still firing). */
  badIntervals: Array<{ start: string; end: string | null }>
  /** Event time the stored budget is as of; null when nothing was charged yet. */
  lastEventAt: string | null
  /** Budget remaining through the window: at its start, at each bad interval's start and end, and now. */
  burnDown: Array<{ at: string; remaining: number }>
  /** The same over the last 24 hours (RECENT_WINDOW_MS), where a drop of a few percent shows. */
  recentBurnDown: Array<{ at: string; remaining: number }>
  /** The last action outcomes recorded against the SLO, newest first. */
  recentRemediations: Array<{ at: string; action: string; status: string; fingerprint: string; idempotencyKey: string }>
}

const minutes = (ms: number): number => Math.round((ms / 60_000) * 100) / 100

/** One row per SLO of the file, in file order; an SLO with no budget yet reports a full budget. */
export function sloReport(
  slos: SlosConfig,
  budgets: { get(slo: string): SloBudgetRecord | undefined },
  now: number,
  options: { staleAfterMs?: number } = {},
): SloReportRow[] {
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS
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
    return {
      slo: slo.name,
      service: slo.service,
      team: slo.team,
      objective: slo.objective,
      objectiveText: formatObjective(slo.objective),
      windowStart: new Date(status.windowStart).toISOString(),
      windowEnd: new Date(status.windowEnd).toISOString(),
      allowedBadMinutes: minutes(status.allowedMs),
      badMinutes: minutes(status.badMs),
      budgetRemaining: status.remainingRatio,
      budgetRemainingText: formatPercent(status.remainingRatio),
      burnRates: status.burnRates,
      state: status.state,
      firing: open.length,
      ...staleFigures(b, math, at, staleAfterMs),
      remediations: remediationCounts(b.remediations),
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
      recentBurnDown: burnDown(
        intervals,
        math,
        status.windowStart,
        at,
        status.allowedMs,
        Math.max(status.windowStart, at - RECENT_WINDOW_MS),
      ),
      recentRemediations: [...b.recent].reverse().map((r) => ({ ...r, at: new Date(r.at).toISOString() })),
    }
  })
}

/** Counts of the budget's per-status map, runs apart from what did not run. */
export function remediationCounts(byStatus: Readonly<Record<string, number>>): RemediationCounts {
  const n = (status: string): number => byStatus[status] ?? 0
  const succeeded = n(RUN_STATUSES.succeeded)
  const failed = n(RUN_STATUSES.failed)
  const timedOut = n(RUN_STATUSES.timedOut)
  const dryRuns = n('dry_run')
  const cancelled = n('cancelled_resolved')
  const notEffective = n('not_effective')
  const total = Object.values(byStatus).reduce((sum, x) => sum + x, 0)
  const runs = succeeded + failed + timedOut
  return {
    runs,
    succeeded,
    failed,
    timedOut,
    dryRuns,
    cancelled,
    notEffective,
    notRun: total - runs - dryRuns - cancelled - notEffective,
    byStatus: { ...byStatus },
  }
}

/**
 * Budget remaining (charged from the window's start `from`) at the points where it can
 * change (interval edges) in [since, to]; `since` defaults to the window's start.
 */
function burnDown(
  intervals: readonly BadInterval[],
  math: SloMath,
  from: number,
  to: number,
  allowedMs: number,
  since = from,
): Array<{ at: string; remaining: number }> {
  const times = new Set<number>([since, to])
  for (const i of intervals) {
    for (const t of [i.start, i.end ?? to]) if (t > since && t < to) times.add(t)
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
    'RUNS',
    'NOT RUN',
    'NOT HELD',
  ]
  const lines = rows.map((r) => [
    r.slo,
    r.service,
    r.team,
    r.objectiveText,
    r.budgetRemainingText,
    `${r.badMinutes}/${r.allowedBadMinutes}`,
    ...BURN_WINDOWS.map((w) => String(Math.round(r.burnRates[w.name] * 100) / 100)),
    r.state,
    r.staleEpisodes > 0 ? `${r.firing} (${r.staleEpisodes} stale, ${r.staleBadMinutes} min)` : String(r.firing),
    formatRuns(r.remediations),
    formatNotRun(r.remediations),
    String(r.remediations.notEffective),
  ])
  return formatTable(head, lines)
}

/** `3 (2 ok, 1 failed)`: runs, by result; results with none left out. */
export function formatRuns(r: RemediationCounts): string {
  const parts = [
    [r.succeeded, 'ok'],
    [r.failed, 'failed'],
    [r.timedOut, 'timed out'],
  ].filter(([n]) => n !== 0)
  return parts.length === 0 ? '0' : `${r.runs} (${parts.map(([n, w]) => `${n} ${w}`).join(', ')})`
}

/** `2 dry, 1 cancelled`: requests that did not run, apart from the runs; `-` when none. */
export function formatNotRun(r: RemediationCounts): string {
  const parts = [
    [r.dryRuns, 'dry'],
    [r.cancelled, 'cancelled'],
    [r.notRun, 'other'],
  ].filter(([n]) => n !== 0)
  return parts.length === 0 ? '-' : parts.map(([n, w]) => `${n} ${w}`).join(', ')
}

/** The stale open episodes of a budget at `at` and the bad minutes they alone charge. */
function staleFigures(
  b: SloBudgetRecord,
  math: SloMath,
  at: number,
  staleAfterMs: number,
): { staleEpisodes: number; staleBadMinutes: number } {
  const open = Object.entries(b.open).map(([episode, start]) => ({ start, lastSeen: b.lastSeen?.[episode] ?? start }))
  const s = staleness(b.intervals, open, math, at, staleAfterMs)
  return { staleEpisodes: s.stale, staleBadMinutes: minutes(s.staleBadMs) }
}
