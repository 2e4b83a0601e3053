import type { SloBudgetRecord } from '../../src/contracts/records'
import { emptyBudget } from '../../src/stages/slo/decide'
import { formatSloReport, sloReport } from '../../src/stages/slo/report'
import { parseSlos } from '../../src/slo/slos'

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
  remediations: { succeeded: 2, failed: 1, dry_run: 3 },
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
    expect(row!.remediations).toEqual({
      total: 6,
      automated: 3,
      notEffective: 1,
      byStatus: { succeeded: 2, failed: 1, dry_run: 3 },
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

describe('formatSloReport', () => {
  it('prints one aligned line per SLO under a header', () => {
    const text = formatSloReport(sloReport(SLOS, budgets([shop]), NOW))
    const lines = text.split('\n')
    expect(lines).toHaveLength(3)
    expect(lines[0]).toMatch(/^SLO\s+SERVICE\s+TEAM\s+OBJECTIVE\s+BUDGET LEFT\s+BAD MIN\s+BURN 5m/)
    expect(lines[1]).toMatch(/^shop\s+shop\s+payments\s+99\.9%\s+42\.1%\s+25\/43\.2\s+1000\s/)
    expect(lines[1]).toMatch(/page\s+1\s+6 \(3 ran\)\s+1$/)
    expect(lines[2]).toMatch(/^quiet\s+quiet\s+core\s+99%\s+100%\s+0\/432\s/)
  })

  it('says so when there is no SLO', () => {
    expect(formatSloReport([])).toBe('no SLOs defined')
  })
})
