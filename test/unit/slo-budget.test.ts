import {
  BURN_WINDOWS,
  alertState,
  allowedBadTime,
  badTime,
  budgetStatus,
  burnRate,
  burnRates,
  errorRatio,
  mergeIntervals,
  pruneIntervals,
  unionLength,
  windowStart,
  type AlertState,
  type BadInterval,
  type BudgetStatus,
  type BurnWindowName,
  type SloMath,
  type SloWindow,
} from '../../src/slo/budget'

const SEC = 1000
const MIN = 60 * SEC
const HOUR = 60 * MIN
const DAY = 24 * HOUR

/** An evaluation time on a whole minute (so 1 m slices align with it). */
const T = Date.UTC(2026, 10, 25, 12, 0, 0)

const ROLLING_30D: SloWindow = { kind: 'rolling', lengthMs: 30 * DAY }
const CALENDAR: SloWindow = { kind: 'calendar', unit: 'month' }

function math(over: Partial<SloMath> = {}): SloMath {
  return { objective: 0.999, window: ROLLING_30D, budgeting: 'timeslices', sliceMs: MIN, ...over }
}
const EXACT = math({ budgeting: 'occurrences' })

/** [start, end) relative to an origin; end null = still firing. */
function iv(start: number, end: number | null, origin = 0): BadInterval {
  return { start: origin + start, end: end === null ? null : origin + end }
}

describe('mergeIntervals', () => {
  it.each<[string, BadInterval[], BadInterval[]]>([
    ['nothing', [], []],
    ['overlapping', [iv(0, 10), iv(5, 15)], [iv(0, 15)]],
    ['nested', [iv(0, 20), iv(5, 10)], [iv(0, 20)]],
    ['touching ([0,10) and [10,20) leave no gap)', [iv(0, 10), iv(10, 20)], [iv(0, 20)]],
    ['disjoint, by 1 ms', [iv(0, 10), iv(11, 20)], [iv(0, 10), iv(11, 20)]],
    ['unsorted input comes out sorted', [iv(30, 40), iv(0, 10), iv(5, 12)], [iv(0, 12), iv(30, 40)]],
    ['a chain merges transitively', [iv(0, 10), iv(20, 30), iv(9, 21)], [iv(0, 30)]],
    ['an open interval swallows what starts after it', [iv(0, 10), iv(5, null), iv(50, 60)], [iv(0, null)]],
    ['an open interval starting in a closed one opens it', [iv(5, null), iv(0, 10)], [iv(0, null)]],
    ['an open interval touching a closed one opens it', [iv(0, 10), iv(10, null)], [iv(0, null)]],
    ['an open interval after a gap stays separate', [iv(0, 10), iv(20, null)], [iv(0, 10), iv(20, null)]],
    ['two open intervals are one', [iv(20, null), iv(10, null)], [iv(10, null)]],
    ['empty and inverted intervals fire at no moment and are dropped', [iv(5, 5), iv(9, 3), iv(20, 30)], [iv(20, 30)]],
    ['an empty interval does not bridge a gap', [iv(0, 10), iv(12, 12), iv(14, 20)], [iv(0, 10), iv(14, 20)]],
  ])('%s', (_name, input, expected) => {
    expect(mergeIntervals(input)).toEqual(expected)
  })

  it('returns new objects: changing the result leaves the input as it was', () => {
    const input = [iv(0, 10)]
    const merged = mergeIntervals(input)
    merged[0]!.end = 99
    expect(input).toEqual([iv(0, 10)])
  })
})

describe('unionLength', () => {
  it.each<[string, BadInterval[], number, number, number]>([
    ['overlapping: the union, not the sum', [iv(0, 10), iv(5, 15)], 0, 100, 15],
    ['nested', [iv(0, 20), iv(5, 10)], 0, 100, 20],
    ['touching', [iv(0, 10), iv(10, 20)], 0, 100, 20],
    ['disjoint', [iv(0, 10), iv(20, 25)], 0, 100, 15],
    ['the same interval twice counts once', [iv(0, 10), iv(0, 10)], 0, 100, 10],
    ['an open interval counts up to `to`', [iv(40, null)], 0, 100, 60],
    ['an open interval over closed ones counts once', [iv(40, 60), iv(50, null), iv(70, 80)], 0, 100, 60],
    ['clipped at `from`: only the part inside', [iv(-50, 30)], 0, 100, 30],
    ['clipped at `to`', [iv(90, 150)], 0, 100, 10],
    ['an interval covering the whole range', [iv(-1000, 1000)], 0, 100, 100],
    ['ending exactly at `from` is outside', [iv(-10, 0)], 0, 100, 0],
    ['starting exactly at `to` is outside', [iv(100, 110)], 0, 100, 0],
    ['an open interval starting at `to` is outside', [iv(100, null)], 0, 100, 0],
    ['an empty range', [iv(0, 10)], 5, 5, 0],
    ['an inverted range', [iv(0, 10)], 8, 2, 0],
  ])('%s', (_name, intervals, from, to, expected) => {
    expect(unionLength(intervals, from, to)).toBe(expected)
  })
})

describe('windowStart', () => {
  it.each<[string, SloWindow, number, number]>([
    ['rolling 30 d: now - 30 d', ROLLING_30D, T, T - 30 * DAY],
    ['rolling 7 d', { kind: 'rolling', lengthMs: 7 * DAY }, T, T - 7 * DAY],
    ['calendar: the 1st of the month, 00:00 UTC', CALENDAR, Date.UTC(2028, 1, 15, 12, 34, 56), Date.UTC(2028, 1, 1)],
    [
      'calendar at exactly 00:00 on the 1st: the new month starts now',
      CALENDAR,
      Date.UTC(2028, 2, 1),
      Date.UTC(2028, 2, 1),
    ],
    ['calendar at the last ms of a month: still that month', CALENDAR, Date.UTC(2028, 2, 1) - 1, Date.UTC(2028, 1, 1)],
    [
      'calendar on 31 December: December, not a year boundary',
      CALENDAR,
      Date.UTC(2027, 11, 31, 23, 59, 59, 999),
      Date.UTC(2027, 11, 1),
    ],
    ['calendar at New Year', CALENDAR, Date.UTC(2028, 0, 1), Date.UTC(2028, 0, 1)],
  ])('%s', (_name, window, now, expected) => {
    expect(windowStart(window, now)).toBe(expected)
  })
})

describe('errorRatio', () => {
  it.each<[number, number]>([
    [0.999, 0.001], // 1 - 0.999 is 0.0010000000000000009 in binary
    [99.9 / 100, 0.001], // 0.9990000000000001, as a percentage converts
    [0.9995, 0.0005],
    [0.99, 0.01],
    [0.9, 0.1],
    [0.99999, 0.00001],
    [0.999999, 0.000001],
    [99.99 / 100, 0.0001],
    [0.5, 0.5],
    [1, 0],
  ])('1 - %d = %d', (objective, expected) => {
    expect(errorRatio(objective)).toBe(expected)
  })
})

describe('allowedBadTime', () => {
  it.each<[string, SloMath, number, number]>([
    ['99.9% over 30 d allows 43.2 min', math(), T, 2_592_000],
    ['99.9% given as 99.9 / 100 allows the same', math({ objective: 99.9 / 100 }), T, 2_592_000],
    ['99.95% over 30 d allows 21.6 min', math({ objective: 0.9995 }), T, 1_296_000],
    [
      '99% over 7 d allows 100.8 min',
      math({ objective: 0.99, window: { kind: 'rolling', lengthMs: 7 * DAY } }),
      T,
      6_048_000,
    ],
    ['99.9% over 28 d', math({ window: { kind: 'rolling', lengthMs: 28 * DAY } }), T, 2_419_200],
    ['calendar: February 2028 is a leap month of 29 d', math({ window: CALENDAR }), Date.UTC(2028, 1, 10), 2_505_600],
    ['calendar: February 2027 has 28 d', math({ window: CALENDAR }), Date.UTC(2027, 1, 10), 2_419_200],
    ['calendar: March has 31 d', math({ window: CALENDAR }), Date.UTC(2028, 2, 31, 23), 2_678_400],
    ['calendar: April has 30 d', math({ window: CALENDAR }), Date.UTC(2028, 3, 2), 2_592_000],
    ['calendar: the whole month from its first ms', math({ window: CALENDAR }), Date.UTC(2028, 2, 1), 2_678_400],
    ['objective 1 allows nothing', math({ objective: 1 }), T, 0],
  ])('%s', (_name, m, now, expected) => {
    expect(allowedBadTime(m, now)).toBe(expected)
  })
})

describe('badTime by budgeting method (1 m slices aligned to the epoch)', () => {
  // M is a whole minute; slices are [M + k min, M + (k+1) min).
  const M = T
  it.each<[string, BadInterval[], number, number, number, number]>([
    // name, intervals, from, to (relative to M), timeslices, occurrences
    ['10 s inside one slice costs the slice', [iv(20 * SEC, 30 * SEC, M)], 0, 10 * MIN, MIN, 10 * SEC],
    ['20 s crossing a slice boundary costs two slices', [iv(50 * SEC, 70 * SEC, M)], 0, 10 * MIN, 2 * MIN, 20 * SEC],
    ['exactly two aligned slices cost two, not three', [iv(0, 2 * MIN, M)], 0, 10 * MIN, 2 * MIN, 2 * MIN],
    ['1 ms at the end of a slice costs it', [iv(MIN - 1, MIN, M)], 0, 10 * MIN, MIN, 1],
    [
      'two alerts in one slice cost it once',
      [iv(5 * SEC, 10 * SEC, M), iv(40 * SEC, 45 * SEC, M)],
      0,
      10 * MIN,
      MIN,
      10 * SEC,
    ],
    [
      'alerts in neighbouring slices cost both',
      [iv(59 * SEC, 60 * SEC, M), iv(60 * SEC, 61 * SEC, M)],
      0,
      10 * MIN,
      2 * MIN,
      2 * SEC,
    ],
    [
      'an edge slice cut by `from` counts its inside part',
      [iv(40 * SEC, 45 * SEC, M)],
      30 * SEC,
      10 * MIN,
      30 * SEC,
      5 * SEC,
    ],
    [
      'an edge slice cut by `to` counts its inside part',
      [iv(130 * SEC, 135 * SEC, M)],
      0,
      150 * SEC,
      30 * SEC,
      5 * SEC,
    ],
    [
      'firing just before `from`, in the same slice, costs nothing',
      [iv(10 * SEC, 20 * SEC, M)],
      30 * SEC,
      10 * MIN,
      0,
      0,
    ],
    [
      'an alert straddling `from` costs the slices of its inside part',
      [iv(-5 * MIN, 90 * SEC, M)],
      0,
      10 * MIN,
      2 * MIN,
      90 * SEC,
    ],
    [
      'an open alert costs its slices up to `to`, the last one cut',
      [iv(10 * SEC, null, M)],
      0,
      150 * SEC,
      150 * SEC,
      140 * SEC,
    ],
    ['an open alert after `to` costs nothing', [iv(11 * MIN, null, M)], 0, 10 * MIN, 0, 0],
  ])('%s', (_name, intervals, from, to, slices, exact) => {
    expect(badTime(intervals, M + from, M + to, { budgeting: 'timeslices', sliceMs: MIN })).toBe(slices)
    expect(badTime(intervals, M + from, M + to, { budgeting: 'occurrences', sliceMs: MIN })).toBe(exact)
  })

  it('aligns slices to the epoch, not to `from`', () => {
    // from at M + 30 s: the slices are still [M, M+1m), [M+1m, M+2m), …
    expect(
      badTime([iv(70 * SEC, 75 * SEC, M)], M + 30 * SEC, M + 10 * MIN, { budgeting: 'timeslices', sliceMs: MIN }),
    ).toBe(MIN)
    expect(
      badTime([iv(70 * SEC, 75 * SEC, M)], M + 30 * SEC, M + 10 * MIN, { budgeting: 'timeslices', sliceMs: 5 * MIN }),
    ).toBe(270 * SEC)
  })

  it('never exceeds the range, however coarse the slices', () => {
    expect(badTime([iv(0, null)], M + 10 * SEC, M + 20 * SEC, { budgeting: 'timeslices', sliceMs: HOUR })).toBe(
      10 * SEC,
    )
  })

  it('counts exactly rather than divide by a slice of 0', () => {
    expect(badTime([iv(20 * SEC, 30 * SEC, M)], M, M + MIN, { budgeting: 'timeslices', sliceMs: 0 })).toBe(10 * SEC)
  })
})

describe('the SRE workbook: burn rate and budget consumed (99.9% over 30 d, occurrences)', () => {
  // A burn b sustained for a window w means b × 0.1% of w was bad: b × w × 0.001 ms.
  it.each<[string, number, number, number]>([
    ['14.4× for 1 h consumes 2%', 14.4, HOUR, 0.02],
    ['6× for 6 h consumes 5%', 6, 6 * HOUR, 0.05],
    ['1× for 3 d consumes 10%', 1, 3 * DAY, 0.1],
    ['1× for 30 d consumes it all', 1, 30 * DAY, 1],
  ])('%s', (_name, burn, windowMs, consumed) => {
    const bad = Math.round(burn * windowMs * 0.001)
    const intervals = [iv(-bad, 0, T)]
    expect(burnRate(intervals, EXACT, T, windowMs)).toBe(burn)
    expect(budgetStatus(intervals, EXACT, T).consumedRatio).toBe(consumed)
  })

  it('a burn spread over the window is the same as one block', () => {
    // 51.84 s in 12 pieces of 4.32 s across the hour.
    const spread = Array.from({ length: 12 }, (_, k) => iv(-HOUR + k * 5 * MIN, -HOUR + k * 5 * MIN + 4_320, T))
    expect(burnRate(spread, EXACT, T, HOUR)).toBe(14.4)
  })

  it('timeslices: burn counts whole slices (a 10 s blip in the last 5 m burns 200×)', () => {
    expect(burnRate([iv(-3 * MIN + 20 * SEC, -3 * MIN + 30 * SEC, T)], math(), T, 5 * MIN)).toBe(200)
    expect(burnRate([iv(-3 * MIN + 20 * SEC, -3 * MIN + 30 * SEC, T)], EXACT, T, 5 * MIN)).toBeCloseTo(33.333333333, 6)
  })

  it('objective 1: no budget, so any bad time burns Infinity and none burns 0', () => {
    const m = math({ objective: 1 })
    expect(burnRate([iv(-SEC, 0, T)], m, T, HOUR)).toBe(Infinity)
    expect(burnRate([], m, T, HOUR)).toBe(0)
    expect(budgetStatus([iv(-SEC, 0, T)], m, T)).toMatchObject({
      allowedMs: 0,
      badMs: MIN,
      consumedRatio: Infinity,
      remainingRatio: -Infinity,
      state: 'page',
    })
    expect(budgetStatus([], m, T)).toMatchObject({
      allowedMs: 0,
      badMs: 0,
      consumedRatio: 0,
      remainingRatio: 1,
      state: 'ok',
    })
  })
})

describe('alertState (multi-window, multi-burn-rate)', () => {
  const burn = (over: Partial<Record<BurnWindowName, number>>) => ({
    '5m': 0,
    '30m': 0,
    '1h': 0,
    '6h': 0,
    '1d': 0,
    '3d': 0,
    ...over,
  })

  it.each<[string, Partial<Record<BurnWindowName, number>>, AlertState]>([
    ['no burn', {}, 'ok'],
    ['1 h and 5 m above 14.4: page', { '1h': 14.5, '5m': 14.5 }, 'page'],
    ['1 h and 5 m exactly 14.4: not greater, no page', { '1h': 14.4, '5m': 14.4 }, 'ok'],
    ['1 h above, 5 m exactly 14.4', { '1h': 20, '5m': 14.4 }, 'ok'],
    ['1 h exactly 14.4, 5 m above', { '1h': 14.4, '5m': 100 }, 'ok'],
    ['1 h high but 5 m recovered: the short window stops the page', { '1h': 100, '5m': 0 }, 'ok'],
    ['5 m alone, however high, does not page', { '5m': 1000 }, 'ok'],
    ['6 h and 30 m above 6: page', { '6h': 6.01, '30m': 6.01 }, 'page'],
    ['6 h exactly 6', { '6h': 6, '30m': 7 }, 'ok'],
    ['30 m exactly 6', { '6h': 7, '30m': 6 }, 'ok'],
    ['3 d and 6 h above 1: ticket', { '3d': 1.01, '6h': 1.01 }, 'ticket'],
    ['3 d exactly 1', { '3d': 1, '6h': 2 }, 'ok'],
    ['6 h exactly 1', { '3d': 2, '6h': 1 }, 'ok'],
    ['6 h and 30 m above 6 with 3 d above 1: page wins over ticket', { '3d': 2, '6h': 7, '30m': 7 }, 'page'],
    ['6 h above 6 but 30 m only 5: ticket, from 3 d and 6 h', { '3d': 1.5, '6h': 7, '30m': 5 }, 'ticket'],
    ['1 d is reported, not used', { '1d': 1000 }, 'ok'],
    [
      'Infinity everywhere (objective 1): page',
      { '5m': Infinity, '30m': Infinity, '1h': Infinity, '6h': Infinity, '1d': Infinity, '3d': Infinity },
      'page',
    ],
  ])('%s', (_name, over, expected) => {
    expect(alertState(burn(over))).toBe(expected)
  })

  it('a budgetStatus at exactly 14.4× over 1 h does not page; 1 ms more does', () => {
    // 51_840 ms ending now: 5m 172.8×, 30m 28.8×, 1h 14.4×, 6h 2.4×, 3d 0.2×.
    expect(budgetStatus([iv(-51_840, 0, T)], EXACT, T).state).toBe('ok')
    expect(budgetStatus([iv(-51_841, 0, T)], EXACT, T).state).toBe('page')
  })
})

describe('windows and their edges (99.9%, 30 d rolling)', () => {
  const ws = T - 30 * DAY
  it.each<[string, SloMath, BadInterval[], number]>([
    [
      'an interval straddling windowStart counts only its inside part',
      EXACT,
      [{ start: ws - HOUR, end: ws + HOUR }],
      HOUR,
    ],
    [
      '… also in slices: the slice just before windowStart is not charged',
      math(),
      [{ start: ws - 30 * SEC, end: ws + 30 * SEC }],
      MIN,
    ],
    ['an interval ending exactly at windowStart counts nothing', EXACT, [{ start: ws - HOUR, end: ws }], 0],
    ['an interval starting at windowStart counts whole', EXACT, [{ start: ws, end: ws + HOUR }], HOUR],
    ['an open interval counts up to now', EXACT, [iv(-2 * HOUR, null, T)], 2 * HOUR],
    ['an open interval from before the window counts the whole window', EXACT, [iv(-40 * DAY, null, T)], 30 * DAY],
    ['an interval reaching past now counts up to now', EXACT, [iv(-HOUR, HOUR, T)], HOUR],
    ['an interval starting at now counts nothing yet', EXACT, [iv(0, HOUR, T)], 0],
  ])('%s', (_name, m, intervals, bad) => {
    const status = budgetStatus(intervals, m, T)
    expect(status.windowStart).toBe(ws)
    expect(status.windowEnd).toBe(T)
    expect(status.badMs).toBe(bad)
  })
})

describe('calendar month windows (99.9%, occurrences)', () => {
  const MONTH = math({ window: CALENDAR, budgeting: 'occurrences' })
  const MAR1 = Date.UTC(2028, 2, 1)

  it.each<[string, number, BadInterval[], Partial<BudgetStatus>]>([
    [
      'February 2028 (29 d): 2_505_600 ms allowed; an hour ago and a day ago count',
      Date.UTC(2028, 1, 20),
      [iv(-DAY, -DAY + 125_280, Date.UTC(2028, 1, 20)), iv(-HOUR, -HOUR + 1_252_800, Date.UTC(2028, 1, 20))],
      { windowStart: Date.UTC(2028, 1, 1), allowedMs: 2_505_600, badMs: 1_378_080, consumedRatio: 0.55 },
    ],
    [
      'March (31 d): time in February is not charged to March',
      Date.UTC(2028, 2, 2),
      [iv(-HOUR, HOUR, MAR1), iv(12 * HOUR, 12 * HOUR + 267_840, MAR1)],
      { windowStart: MAR1, allowedMs: 2_678_400, badMs: HOUR + 267_840 },
    ],
    [
      'now exactly at the month start: a fresh month, nothing charged, the full budget left',
      MAR1,
      [iv(-2 * HOUR, null, MAR1)],
      { windowStart: MAR1, windowEnd: MAR1, allowedMs: 2_678_400, badMs: 0, consumedRatio: 0, remainingRatio: 1 },
    ],
    [
      'the last ms of February: all of February up to now counts, none of January',
      MAR1 - 1,
      [iv(-29 * DAY - HOUR, -29 * DAY, MAR1), iv(-29 * DAY, 0, MAR1)],
      { windowStart: Date.UTC(2028, 1, 1), allowedMs: 2_505_600, badMs: 29 * DAY - 1 },
    ],
  ])('%s', (_name, now, intervals, expected) => {
    expect(budgetStatus(intervals, MONTH, now)).toMatchObject(expected)
  })

  it('burn windows roll across the 1st: at 00:00 on the 1st the month is clean but the alert still pages', () => {
    const status = budgetStatus([iv(-2 * HOUR, null, MAR1)], MONTH, MAR1)
    expect(status.consumedRatio).toBe(0)
    expect(status.burnRates['1h']).toBe(1000)
    expect(status.state).toBe('page')
  })
})

describe('budgetStatus on a worked scenario (99.9%, 30 d rolling, 1 m timeslices, now T)', () => {
  const ws = T - 30 * DAY
  // Bad slices: 5 + 10 + 1 + 8 + 3 = 27 slices of 1 m = 1_620_000 ms = 27 / 43.2 = 62.5% of the budget.
  const scenario: BadInterval[] = [
    iv(-40 * DAY, -35 * DAY, T), //                        before the window: 0
    { start: ws - HOUR, end: ws + 4 * MIN + 5 * SEC }, //  straddles windowStart: 5 slices inside (occurrences 245 s)
    iv(-10 * DAY + 15 * SEC, -10 * DAY + 10 * MIN, T), //  10 slices (585 s)
    iv(-5 * DAY + 20 * SEC, -5 * DAY + 30 * SEC, T), //    touching, in one slice: 1 slice (20 s)
    iv(-5 * DAY + 30 * SEC, -5 * DAY + 40 * SEC, T),
    iv(-2 * HOUR, -2 * HOUR + 8 * MIN, T), //              nested: 8 slices (480 s)
    iv(-2 * HOUR + MIN, -2 * HOUR + 3 * MIN, T),
    iv(-150 * SEC, null, T), //                            still firing: 3 slices (150 s)
    iv(MIN, 2 * MIN, T), //                                after now: 0
  ]

  it('computes every figure', () => {
    // Burn windows: 5m..1h hold the open alert's 3 slices (180 s); 6h..3d also the 8 (660 s).
    const expected: BudgetStatus = {
      windowStart: ws,
      windowEnd: T,
      allowedMs: 2_592_000,
      badMs: 1_620_000,
      consumedRatio: 0.625,
      remainingRatio: 0.375,
      burnRates: {
        '5m': 600,
        '30m': 100,
        '1h': 50,
        '6h': 660_000 / 21_600,
        '1d': 660_000 / 86_400,
        '3d': 660_000 / 259_200,
      },
      state: 'page',
    }
    expect(budgetStatus(scenario, math(), T)).toEqual(expected)
    expect(burnRates(scenario, math(), T)).toEqual(expected.burnRates)
  })

  it('counts exactly with occurrences: 245 + 585 + 20 + 480 + 150 s', () => {
    expect(budgetStatus(scenario, EXACT, T).badMs).toBe(1_480_000)
  })

  it('overspends: remaining goes negative once the open alert has fired long enough', () => {
    // 22 minutes on: the straddling 5 slices have left the window, the open alert has
    // 22 more: 27 - 5 + 22 = 44 slices > 43.2 minutes.
    const status = budgetStatus(scenario, math(), T + 22 * MIN)
    expect(status.badMs).toBe(44 * MIN)
    expect(status.consumedRatio).toBeGreaterThan(1)
    expect(status.remainingRatio).toBeCloseTo(1 - 44 / 43.2, 12)
  })

  it.each<[string, number, number]>([
    // Without the open alert and the one after T: 5 + 10 + 1 + 8 = 24 slices at T.
    ['at T, 24 slices', 0, 24 * MIN],
    ['3 m on, 3 of the straddling slices have left', 3 * MIN, 21 * MIN],
    ['4 m on, one is left', 4 * MIN, 20 * MIN],
    ['4 m 1 s on, the window edge cuts it: 59 s of it count', 4 * MIN + SEC, 19 * MIN + 59 * SEC],
    ['4 m 5 s on, the straddling alert is out', 4 * MIN + 5 * SEC, 19 * MIN],
  ])('the window rolls past the straddling alert: %s', (_name, later, bad) => {
    const closed = scenario.filter((i) => i.end !== null && i.start < T)
    expect(budgetStatus(closed, math(), T + later).badMs).toBe(bad)
  })

  it('is the same for the same inputs in any order (replay)', () => {
    const first = budgetStatus(scenario, math(), T)
    expect(budgetStatus(scenario, math(), T)).toEqual(first)
    expect(budgetStatus([...scenario].reverse(), math(), T)).toEqual(first)
    expect(budgetStatus([...scenario.slice(4), ...scenario.slice(0, 4)], math(), T)).toEqual(first)
  })

  it('does not mutate its inputs', () => {
    const input = scenario.map((i) => Object.freeze({ ...i }))
    const m = Object.freeze(math())
    const before = JSON.stringify(input)
    expect(() => {
      mergeIntervals(input)
      unionLength(input, ws, T)
      badTime(input, ws, T, m)
      budgetStatus(input, m, T)
      pruneIntervals(input, m, T)
    }).not.toThrow()
    expect(JSON.stringify(input)).toBe(before)
  })
})

describe('pruneIntervals', () => {
  it.each<[string, SloMath, number, BadInterval[], BadInterval[]]>([
    [
      'rolling 30 d: the SLO window reaches furthest; closed intervals ending at or before it go',
      math(),
      T,
      [
        iv(-31 * DAY, -30 * DAY - 1, T),
        iv(-31 * DAY, -30 * DAY, T),
        iv(-31 * DAY, -30 * DAY + 1, T),
        iv(-29 * DAY, -28 * DAY, T),
        iv(-40 * DAY, null, T),
      ],
      [iv(-31 * DAY, -30 * DAY + 1, T), iv(-29 * DAY, -28 * DAY, T), iv(-40 * DAY, null, T)],
    ],
    [
      'rolling 1 d: the 3 d burn window reaches furthest',
      math({ window: { kind: 'rolling', lengthMs: DAY } }),
      T,
      [iv(-4 * DAY, -3 * DAY, T), iv(-4 * DAY, -2 * DAY, T), iv(-2 * DAY, -DAY, T)],
      [iv(-4 * DAY, -2 * DAY, T), iv(-2 * DAY, -DAY, T)],
    ],
    [
      'calendar, 2 March: the 3 d burn window still needs the end of February',
      math({ window: CALENDAR }),
      Date.UTC(2028, 2, 2),
      [iv(0, HOUR, Date.UTC(2028, 1, 20)), iv(0, HOUR, Date.UTC(2028, 1, 28, 12))],
      [iv(0, HOUR, Date.UTC(2028, 1, 28, 12))],
    ],
    [
      'calendar, 20 March: the month start reaches furthest',
      math({ window: CALENDAR }),
      Date.UTC(2028, 2, 20),
      [iv(0, HOUR, Date.UTC(2028, 1, 28, 12)), iv(0, HOUR, Date.UTC(2028, 2, 5)), iv(0, null, Date.UTC(2028, 1, 1))],
      [iv(0, HOUR, Date.UTC(2028, 2, 5)), iv(0, null, Date.UTC(2028, 1, 1))],
    ],
  ])('%s', (_name, m, now, intervals, kept) => {
    expect(pruneIntervals(intervals, m, now)).toEqual(kept)
  })

  it.each<[string, SloMath, number]>([
    ['rolling 30 d, timeslices', math(), T],
    ['rolling 1 d, occurrences', math({ window: { kind: 'rolling', lengthMs: DAY }, budgeting: 'occurrences' }), T],
    ['calendar, early in the month', math({ window: CALENDAR }), Date.UTC(2028, 2, 2, 0, 0, 30)],
    ['calendar, late in the month', math({ window: CALENDAR }), Date.UTC(2028, 2, 29)],
  ])('keeps everything the budget needs, now and later (%s)', (_name, m, now) => {
    // An interval every 7 h 30 s over 45 days before now, some open.
    const intervals = Array.from({ length: 160 }, (_, k) =>
      iv(
        -45 * DAY + k * (7 * HOUR + 30 * SEC),
        k === 150 ? null : -45 * DAY + k * (7 * HOUR + 30 * SEC) + 20 * MIN + k * SEC,
        now,
      ),
    )
    const pruned = pruneIntervals(intervals, m, now)
    expect(pruned.length).toBeLessThan(intervals.length)
    for (const at of [now, now + 10 * MIN, now + DAY, now + 20 * DAY]) {
      expect(budgetStatus(pruned, m, at)).toEqual(budgetStatus(intervals, m, at))
    }
  })
})

describe('BURN_WINDOWS', () => {
  it('are the six windows of the issue, shortest first', () => {
    expect(BURN_WINDOWS.map((w) => [w.name, w.ms])).toEqual([
      ['5m', 5 * MIN],
      ['30m', 30 * MIN],
      ['1h', HOUR],
      ['6h', 6 * HOUR],
      ['1d', DAY],
      ['3d', 3 * DAY],
    ])
    expect(Object.isFrozen(BURN_WINDOWS)).toBe(true)
  })
})
