import type { SloBudgetRecord } from '../../src/contracts/records'
import { emptyBudget } from '../../src/stages/slo/decide'
import { formatSloReport, sloReport } from '../../src/stages/slo/report'
import { parseSlos } from '../../src/slo/slos'
import { formatObjective, formatPercent } from '../../src/text'

const M = 60_000
const NOW = Date.UTC(2026, 10, 25, 3, 0, 0)
const SLOS = parseSlos(
  [
    'slos:',
    '  - name: shop',
    '    service: shop',
    '    team: payments',
    '    objective: 0.999',
    '    indicator:',
    '      matchers: [\'slo="shop"\']',
    '  - name: quiet',
    '    service: quiet',
    '    team: core',
    '    objective: 0.99',
    '    window: month',
    '    indicator:',
    '      matchers: [\'slo="quiet"\']',
  ].join('\n'),
  'slos.yaml',
)

function budgets(entries: SloBudgetRecord[]) {
  const map = new Map(entries.map((b) => [b.slo, b]))
  return { get: (slo: string) => map.get(slo) }
}

const shop: SloBudgetRecord = {
  ...emptyBudget(SLOS.byName.get('shop')!),
  asOf: NOW - 30 * M,
  intervals: [{ start: NOW - 120 * M, end: NOW - 105 * M }],
  open: { 'fp|t': NOW - 10 * M },
  remediations: { succeeded: 2, failed: 1, dry_run: 3, cancelled_resolved: 1, not_effective: 1, skipped_paused: 2 },
  automated: 3,
  notEffective: 1,
  resolvedAfterActionCount: 2,
  resolvedAfterActionMs: 10 * M,
}

describe('sloReport', () => {
  const [row, quiet] = sloReport(SLOS, budgets([shop]), NOW)

  it('recomputes at now: closed intervals plus alerts still firing', () => {
    // 15 closed minutes + 10 still firing = 25 of the 43.2 a 99.9%/30d SLO allows.
    expect(row).toMatchObject({
      slo: 'shop',
      service: 'shop',
      team: 'payments',
      objective: 0.999,
      badMinutes: 25,
      allowedBadMinutes: 43.2,
      firing: 1,
    })
    expect(row!.budgetRemaining).toBeCloseTo(1 - 25 / 43.2, 12)
    // 10 of the last 60 minutes bad: 1h burn (10/60)/0.001 ≈ 166.7, 5m burn 1000 → page.
    expect(row!.burnRates['1h']).toBeCloseTo(10 / 60 / 0.001, 6)
    expect(row!.burnRates['5m']).toBeCloseTo(1000, 6)
    expect(row!.state).toBe('page')
    expect(row!.windowEnd).toBe(new Date(NOW).toISOString())
  })

  it('remediations, what did not hold, and the mean time to resolve after an action', () => {
    // Runs are the calls an action made; dry runs, cancellations, follow-ups are not runs.
    expect(row!.remediations).toEqual({
      runs: 3,
      succeeded: 2,
      failed: 1,
      timedOut: 0,
      dryRuns: 3,
      cancelled: 1,
      notEffective: 1,
      notRun: 2,
      byStatus: shop.remediations,
    })
    expect(row!.meanMinutesToResolveAfterAction).toBe(5)
    expect(row!.lastEventAt).toBe(new Date(NOW - 30 * M).toISOString())
  })

  it('bad intervals for charts, open ones without an end', () => {
    expect(row!.badIntervals).toEqual([
      { start: new Date(NOW - 120 * M).toISOString(), end: new Date(NOW - 105 * M).toISOString() },
      { start: new Date(NOW - 10 * M).toISOString(), end: null },
    ])
  })

  it('an SLO with nothing charged yet: a full budget, in file order', () => {
    expect(quiet).toMatchObject({
      slo: 'quiet',
      badMinutes: 0,
      budgetRemaining: 1,
      state: 'ok',
      firing: 0,
      lastEventAt: null,
      meanMinutesToResolveAfterAction: null,
    })
    // Calendar month: November 2026 has 30 days; 1% of it is 432 minutes.
    expect(quiet!.allowedBadMinutes).toBe(432)
    expect(quiet!.windowStart).toBe('2026-11-01T00:00:00.000Z')
  })
})

describe('the recent burn-down', () => {
  const [row] = sloReport(SLOS, budgets([shop]), NOW)

  it('starts 24 hours back and keeps the interval edges of that day', () => {
    expect(row!.recentBurnDown.map((p) => p.at)).toEqual(
      [NOW - 24 * 60 * M, NOW - 120 * M, NOW - 105 * M, NOW - 10 * M, NOW].map((t) => new Date(t).toISOString()),
    )
    // Charged from the SLO window's start, as the window's chart: the two agree where they meet.
    expect(row!.recentBurnDown.at(-1)!.remaining).toBeCloseTo(row!.budgetRemaining, 12)
  })
})

describe('percentages', () => {
  it.each<[number, string]>([
    [0.9995, '99.95%'],
    [0.999, '99.9%'],
    [0.99, '99%'],
    [0.99995, '99.995%'],
  ])('objective %p is %s, with every digit it has', (objective, text) => {
    expect(formatObjective(objective)).toBe(text)
  })

  it.each<[number, string]>([
    [0.4213, '42.1%'],
    [1, '100%'],
    [0.9999, '99.99%'],
    [0.99996, '99.996%'],
    [0, '0%'],
    [0.00004, '0.004%'],
    [-0.25, '-25%'],
  ])('a measured ratio %p is %s: 100%% and 0%% only when it is', (ratio, text) => {
    expect(formatPercent(ratio)).toBe(text)
  })
})

describe('formatSloReport', () => {
  it('prints one aligned line per SLO under a header', () => {
    const text = formatSloReport(sloReport(SLOS, budgets([shop]), NOW))
    const lines = text.split('\n')
    expect(lines).toHaveLength(3)
    expect(lines[0]).toMatch(/^SLO\s+SERVICE\s+TEAM\s+OBJECTIVE\s+BUDGET LEFT\s+BAD MIN\s+BURN 5m/)
    expect(lines[1]).toMatch(/^shop\s+shop\s+payments\s+99\.9%\s+42\.1%\s+25\/43\.2\s+1000\s/)
    expect(lines[1]).toMatch(/page\s+1\s+3 \(2 ok, 1 failed\)\s+3 dry, 1 cancelled, 2 other\s+1$/)
    expect(lines[2]).toMatch(/^quiet\s+quiet\s+core\s+99%\s+100%\s+0\/432\s/)
    expect(lines[2]).toMatch(/ok\s+0\s+0\s+-\s+0$/)
  })

  it('says so when there is no SLO', () => {
    expect(formatSloReport([])).toBe('no SLOs defined')
  })
})
