/**
 * Error-budget arithmetic of an SLO, pure: the times its indicator alerts fired, the SLO's
 * math and an evaluation time `now` (ms since the epoch) in; bad time, budget, burn rates
 * and the multi-window alert state out. No clock, no I/O: the same inputs give the same
 * budget, whatever their order, so a replay of the events recomputes it exactly.
 *
 * What must hold:
 * - bad time is the union of the firing intervals, never a sum of their overlaps;
 * - only what lies in [from, to) counts: an interval is clipped before anything else
 *   (also before slice rounding), so bad time in a window never exceeds its length and
 *   nothing outside the window can change it;
 * - an open interval (end null) fires up to the evaluation time, not beyond;
 * - nothing divides by zero: an objective of 1 leaves no budget, so any bad time burns
 *   and consumes Infinity, and none burns and consumes 0 (see `ratio`).
 *
 * Objectives are not range-checked here; the SLO file's validation does that.
 */

/** A time an indicator alert was firing: [start, end) in ms; end null = still firing (counts up to the evaluation time). */
export interface BadInterval {
  start: number
  end: number | null
}

/**
 * Timeslices: time is cut into slices of `sliceMs`, aligned to multiples of `sliceMs` since
 * the epoch, and a slice with any firing in it is bad as a whole. Occurrences: every
 * millisecond is an occurrence, so the bad time counts exactly.
 */
export type Budgeting = 'timeslices' | 'occurrences'

/** Rolling: the `lengthMs` before now. Calendar: the month of now, from 00:00 UTC on the 1st. */
export type SloWindow =
  { readonly kind: 'rolling'; readonly lengthMs: number } | { readonly kind: 'calendar'; readonly unit: 'month' }

/** What the arithmetic needs of an SLO definition. */
export interface SloMath {
  /** The good fraction promised, 0 < objective < 1 (0.999 = 99.9%). */
  objective: number
  window: SloWindow
  budgeting: Budgeting
  /** Slice length of Timeslices; ignored by Occurrences. A slice ≤ 0 counts exactly, like Occurrences. */
  sliceMs: number
}

export type BurnWindowName = '5m' | '30m' | '1h' | '6h' | '1d' | '3d'

/** A burn rate per burn window. */
export type BurnRates = Record<BurnWindowName, number>

export type AlertState = 'ok' | 'ticket' | 'page'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** The burn windows of the SRE workbook's multi-window alerts, shortest first. */
export const BURN_WINDOWS: readonly { readonly name: BurnWindowName; readonly ms: number }[] = Object.freeze([
  Object.freeze({ name: '5m', ms: 5 * MINUTE }),
  Object.freeze({ name: '30m', ms: 30 * MINUTE }),
  Object.freeze({ name: '1h', ms: HOUR }),
  Object.freeze({ name: '6h', ms: 6 * HOUR }),
  Object.freeze({ name: '1d', ms: DAY }),
  Object.freeze({ name: '3d', ms: 3 * DAY }),
] as const)

/** The longest burn window: what pruning must keep besides the SLO window. */
const LONGEST_BURN_MS = Math.max(...BURN_WINDOWS.map((w) => w.ms))

/**
 * The error ratio 1 - objective, rounded to 12 decimal places. Objectives are decimals
 * (99.9%), and in binary 1 - 0.999 is 0.0010000000000000009 (and 99.9 / 100 is
 * 0.9990000000000001): unrounded, a burn of exactly 14.4× would not read 14.4 and 43.2
 * minutes would not be 2_592_000 ms. The noise is absolute (about 1e-16, the spacing of
 * doubles near 1), so the rounding is too: a trillionth is far coarser than the noise and
 * far finer than any objective anyone configures (99.9999999999% would be 1e-12).
 */
export function errorRatio(objective: number): number {
  return Math.round((1 - objective) * 1e12) / 1e12
}

/** `part / whole` where a whole of 0 (no budget) gives Infinity for any part and 0 for none. */
function ratio(part: number, whole: number): number {
  if (whole > 0) return part / whole
  return part > 0 ? Infinity : 0
}

/** An interval clipped to [from, to), open ones ending at `to`; null when nothing is left. */
function clip(interval: BadInterval, from: number, to: number): { start: number; end: number } | null {
  const start = Math.max(interval.start, from)
  const end = Math.min(interval.end ?? to, to)
  return end > start ? { start, end } : null
}

/**
 * Sorted, non-overlapping, merged (touching intervals merge); open intervals stay open;
 * input not mutated (the result holds new objects). An open interval swallows everything
 * that starts after it. A closed interval with end ≤ start fires at no moment and is
 * dropped.
 */
export function mergeIntervals(intervals: readonly BadInterval[]): BadInterval[] {
  const sorted = intervals.filter((i) => i.end === null || i.end > i.start).sort((a, b) => a.start - b.start)
  const merged: BadInterval[] = []
  for (const next of sorted) {
    const last = merged[merged.length - 1]
    if (last !== undefined && (last.end === null || next.start <= last.end)) {
      if (last.end !== null) last.end = next.end === null ? null : Math.max(last.end, next.end)
    } else {
      merged.push({ start: next.start, end: next.end })
    }
  }
  return merged
}

/** Length in ms of the union of the intervals clipped to [from, to), open ones ending at `to`. */
export function unionLength(intervals: readonly BadInterval[], from: number, to: number): number {
  if (!(to > from)) return 0
  let total = 0
  for (const interval of mergeIntervals(intervals)) {
    const inside = clip(interval, from, to)
    if (inside) total += inside.end - inside.start
  }
  return total
}

/** Start and end (exclusive) of the UTC calendar month holding `now`. */
function monthOf(now: number): { start: number; end: number } {
  const date = new Date(now)
  const year = date.getUTCFullYear()
  const month = date.getUTCMonth()
  return { start: Date.UTC(year, month, 1), end: Date.UTC(year, month + 1, 1) }
}

/**
 * Start of the SLO window that ends at `now`: now - length for rolling; 00:00 UTC on the
 * 1st of now's month for calendar (so at exactly 00:00 on the 1st the window is empty).
 */
export function windowStart(window: SloWindow, now: number): number {
  return window.kind === 'rolling' ? now - window.lengthMs : monthOf(now).start
}

/**
 * Bad time in [from, to) by the budgeting method.
 * - timeslices: slices are aligned to multiples of `sliceMs` since the epoch and clipped to
 *   [from, to); a slice in which any interval fired at any moment inside [from, to) counts
 *   its whole (clipped) length. So a 10 s alert inside one 1 m slice costs 60 s, one
 *   crossing a slice boundary costs two slices, and a slice cut by the window's edge (or
 *   by `to`, for an alert still firing) costs only its part inside. Intervals are clipped
 *   before rounding: firing just outside the window never makes a slice inside it bad.
 * - occurrences: the union length, exact (each millisecond is an occurrence; alerts give
 *   no event counts to weigh by).
 * A `sliceMs` ≤ 0 (or not a number) counts exactly too, rather than dividing by zero.
 */
export function badTime(
  intervals: readonly BadInterval[],
  from: number,
  to: number,
  math: Pick<SloMath, 'budgeting' | 'sliceMs'>,
): number {
  const slice = math.sliceMs
  if (math.budgeting === 'occurrences' || !(slice > 0)) return unionLength(intervals, from, to)
  // Widen each clipped interval to the slices it touches; the union of those, clipped
  // again, is the bad slices' total length. Slices shared by neighbours count once.
  const widened: BadInterval[] = []
  for (const interval of mergeIntervals(intervals)) {
    const inside = clip(interval, from, to)
    if (inside)
      widened.push({ start: Math.floor(inside.start / slice) * slice, end: Math.ceil(inside.end / slice) * slice })
  }
  return unionLength(widened, from, to)
}

/** Length in ms of the whole SLO window that holds `now`: rolling, its length; calendar, now's month. */
function windowLength(window: SloWindow, now: number): number {
  if (window.kind === 'rolling') return window.lengthMs
  const month = monthOf(now)
  return month.end - month.start
}

/**
 * Allowed bad time in the window ending at now: (1 - objective) × window length (calendar:
 * the whole month's length, so the budget of a month is fixed from its first day). 99.9%
 * over 30 d allows 43.2 min = 2_592_000 ms; 99.9% of February 2028 (29 d), 2_505_600 ms.
 */
export function allowedBadTime(math: SloMath, now: number): number {
  return errorRatio(math.objective) * windowLength(math.window, now)
}

/**
 * Burn rate over the `ms` before now: (bad time in [now-ms, now) / ms) / (1 - objective),
 * bad time counted by the SLO's budgeting method. 1 spends the budget exactly over the
 * SLO window; 14.4 over 1 h spends 2% of a 30 d budget. Burn windows always roll, also
 * for calendar SLOs: they see across the 1st of the month. Objective 1: Infinity when
 * there is bad time, else 0.
 */
export function burnRate(intervals: readonly BadInterval[], math: SloMath, now: number, ms: number): number {
  // bad / (ms × ratio) rather than (bad / ms) / ratio: the budget of the burn window is a
  // whole number of ms for the usual objectives, which keeps thresholds exact.
  return ratio(badTime(intervals, now - ms, now, math), ms * errorRatio(math.objective))
}

/** The burn rate of every burn window at `now`. */
export function burnRates(intervals: readonly BadInterval[], math: SloMath, now: number): BurnRates {
  const merged = mergeIntervals(intervals)
  const rates = {} as BurnRates
  for (const w of BURN_WINDOWS) rates[w.name] = burnRate(merged, math, now, w.ms)
  return rates
}

/**
 * SRE workbook multi-window, multi-burn-rate: page when (1h > 14.4 and 5m > 14.4) or
 * (6h > 6 and 30m > 6); else ticket when 3d > 1 and 6h > 1; else ok. Strictly greater:
 * a burn of exactly 14.4 does not page. The long window says the budget is really going,
 * the short one that it still is (so a page stops soon after the burn does). 1d is not
 * used here; it is reported.
 */
export function alertState(burn: Readonly<Record<BurnWindowName, number>>): AlertState {
  if ((burn['1h'] > 14.4 && burn['5m'] > 14.4) || (burn['6h'] > 6 && burn['30m'] > 6)) return 'page'
  if (burn['3d'] > 1 && burn['6h'] > 1) return 'ticket'
  return 'ok'
}

/** An SLO's budget at one evaluation time. */
export interface BudgetStatus {
  windowStart: number
  /** The evaluation time: the window is [windowStart, windowEnd). */
  windowEnd: number
  allowedMs: number
  badMs: number
  /** bad / allowed; may exceed 1. Objective 1: Infinity when bad > 0, else 0. */
  consumedRatio: number
  /** 1 - consumed; may go negative. */
  remainingRatio: number
  burnRates: BurnRates
  state: AlertState
}

/** Everything at once for `now`. */
export function budgetStatus(intervals: readonly BadInterval[], math: SloMath, now: number): BudgetStatus {
  const merged = mergeIntervals(intervals)
  const start = windowStart(math.window, now)
  const allowedMs = allowedBadTime(math, now)
  const badMs = badTime(merged, start, now, math)
  const consumedRatio = ratio(badMs, allowedMs)
  const rates = burnRates(merged, math, now)
  return {
    windowStart: start,
    windowEnd: now,
    allowedMs,
    badMs,
    consumedRatio,
    remainingRatio: 1 - consumedRatio,
    burnRates: rates,
    state: alertState(rates),
  }
}

/**
 * Drops what can no longer matter at `now`: closed intervals ending at or before
 * min(windowStart, now - 3d) — [start, end) is half-open, so one ending exactly there
 * fired only before it. Keeps open ones, and everything else as given (same order, same
 * objects; not merged). For bounding stored state: `budgetStatus` at `now` is the same
 * with or without what was dropped, and so at any later time.
 */
export function pruneIntervals(intervals: readonly BadInterval[], math: SloMath, now: number): BadInterval[] {
  const cutoff = Math.min(windowStart(math.window, now), now - LONGEST_BURN_MS)
  return intervals.filter((i) => i.end === null || i.end > cutoff)
}

/** An open interval with when it was last heard of (see src/episodes/rule.ts staleness). */
export interface OpenEpisode {
  start: number
  /** Event time of the episode's last notification; its start when nothing later is known. */
  lastSeen: number
}

/** What the stale open episodes of an SLO cost at `now`. */
export interface Staleness {
  /** Open episodes not heard of for longer than the staleness. */
  stale: number
  /** Bad time in the SLO window charged only because stale episodes are still open (after they went stale). */
  staleBadMs: number
}

/**
 * Stale episodes and what they charge: bad time in the window ending at `now` with every
 * open episode, minus the bad time with each stale one cut where it went stale
 * (lastSeen + staleAfterMs). What is left is the time charged on nothing but the absence
 * of a resolve: shown apart, still counted (a lost resolve is not proof of health).
 */
export function staleness(
  closed: readonly BadInterval[],
  open: readonly OpenEpisode[],
  math: SloMath,
  now: number,
  staleAfterMs: number,
): Staleness {
  const staleFrom = (o: OpenEpisode): number => Math.max(o.start, o.lastSeen) + staleAfterMs
  const stale = open.filter((o) => now > staleFrom(o))
  if (stale.length === 0) return { stale: 0, staleBadMs: 0 }
  const from = windowStart(math.window, now)
  const all = [...closed, ...open.map((o) => ({ start: o.start, end: null }))]
  const cut = [
    ...closed,
    ...open.map((o) => ({ start: o.start, end: stale.includes(o) ? Math.min(now, staleFrom(o)) : null })),
  ]
  return { stale: stale.length, staleBadMs: Math.max(0, badTime(all, from, now, math) - badTime(cut, from, now, math)) }
}
