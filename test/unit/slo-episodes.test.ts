import type { AlertRecord, SloBudgetRecord, SloEventRecord } from '../../src/contracts/records'
import { SchemaSet } from '../../src/contracts/schemas'
import { account, indexAlert } from '../../src/stages/slo/decide'
import { sloReport } from '../../src/stages/slo/report'
import { staleness } from '../../src/slo/budget'
import { parseSlos, sloMath } from '../../src/slo/slos'
import { alertRecord } from '../support/records'

const MIN = 60_000
const HOUR = 60 * MIN
const FP = '16ddbf5dcf57d972'
const NS = '2026-11-25T00:00:50.764919002Z'
const MS = '2026-11-25T00:00:50.764Z'
const START = Date.parse(MS)
const SLOS = parseSlos(
  [
    'slos:',
    '  - name: shop',
    '    service: shop',
    '    team: payments',
    '    objective: 0.999',
    '    budgeting: Occurrences',
    '    indicator:',
    '      matchers: [\'slo="shop"\']',
  ].join('\n'),
  'slos.yaml',
)
const SLO = SLOS.byName.get('shop')!
const SLO_BUDGET = SchemaSet.load().type('SloBudget')

/** The SloEvent the indexer makes of an alert, as alerts.deduped carries it. */
function event(over: Partial<AlertRecord>): SloEventRecord {
  const alert = alertRecord({ fingerprint: FP, labels: { alertname: 'Down', slo: 'shop' }, ...over })
  return indexAlert(alert, SLOS, 't').emits[0]!.value as SloEventRecord
}
const fold = (events: SloEventRecord[]): SloBudgetRecord =>
  events.reduce<SloBudgetRecord | undefined>((b, e) => account(b, e, SLO), undefined)!

describe('the slo stage follows the episode rule', () => {
  it('closes the nanosecond episode with a resolve whose startsAt dedup rewrote, from the earlier start sent', () => {
    const b = fold([
      event({ status: 'firing', startsAt: NS, receivedAt: START + 1000 }),
      event({
        status: 'resolved',
        startsAt: NS,
        sentStartsAt: '2026-11-25T00:00:20Z',
        endsAt: new Date(START + 10 * MIN).toISOString(),
        receivedAt: START + 10 * MIN,
      }),
    ])
    expect(b.open).toEqual({})
    expect(b.lastSeen).toEqual({})
    expect(b.intervals).toEqual([{ start: Date.parse('2026-11-25T00:00:20Z'), end: START + 10 * MIN }])
    expect(SLO_BUDGET.isValid(b)).toBe(true)
  })

  it("closes an open episode whose key differs in precision (state older than dedup's rule), and the budget stops", () => {
    const b = fold([
      event({ status: 'firing', startsAt: NS, receivedAt: START }),
      event({
        status: 'resolved',
        startsAt: MS,
        endsAt: new Date(START + 5 * MIN).toISOString(),
        receivedAt: START + 5 * MIN,
      }),
    ])
    expect(b.open).toEqual({})
    expect(b.badMs).toBe(5 * MIN)
    const later = account(
      b,
      event({
        status: 'resolved',
        startsAt: MS,
        endsAt: new Date(START + 5 * MIN).toISOString(),
        receivedAt: START + 9 * HOUR,
      }),
      SLO,
    )
    expect(later.badMs).toBe(5 * MIN)
  })

  it('never closes a newer episode with a late resolve of an older one', () => {
    const newer = '2026-11-25T01:00:00Z'
    const b = fold([
      event({ status: 'firing', startsAt: newer, receivedAt: Date.parse(newer) }),
      event({
        status: 'resolved',
        startsAt: MS,
        endsAt: new Date(START + 5 * MIN).toISOString(),
        receivedAt: Date.parse(newer) + MIN,
      }),
    ])
    expect(Object.keys(b.open)).toEqual([`${FP}|${newer}`])
  })

  it("keeps the time an episode was last heard of, moved on by dedup's still-firing word", () => {
    const b = fold([
      event({ status: 'firing', startsAt: NS, receivedAt: START }),
      event({ status: 'firing', startsAt: NS, receivedAt: START + 4 * HOUR }),
    ])
    expect(b.lastSeen).toEqual({ [`${FP}|${NS}`]: START + 4 * HOUR })
    expect(Object.keys(b.open)).toHaveLength(1)
  })

  describe('staleness (fake clock)', () => {
    const math = sloMath(SLO)
    it('is nothing while the episode is heard of', () => {
      expect(staleness([], [{ start: START, lastSeen: START + 8 * HOUR }], math, START + 10 * HOUR, 12 * HOUR)).toEqual(
        {
          stale: 0,
          staleBadMs: 0,
        },
      )
    })
    it('counts the time after the staleness apart', () => {
      expect(staleness([], [{ start: START, lastSeen: START + HOUR }], math, START + 15 * HOUR, 12 * HOUR)).toEqual({
        stale: 1,
        staleBadMs: 2 * HOUR,
      })
    })
    it('counts nothing apart that another alert charges anyway', () => {
      const closed = [{ start: START, end: START + 20 * HOUR }]
      expect(staleness(closed, [{ start: START, lastSeen: START }], math, START + 15 * HOUR, 12 * HOUR)).toEqual({
        stale: 1,
        staleBadMs: 0,
      })
    })
    it('shows in the report, with the configured staleness', () => {
      const b = fold([event({ status: 'firing', startsAt: NS, receivedAt: START })])
      const get = (name: string) => (name === 'shop' ? b : undefined)
      const [row] = sloReport(SLOS, { get }, START + 13 * HOUR)
      expect(row).toMatchObject({ firing: 1, staleEpisodes: 1, staleBadMinutes: 60 })
      const [longer] = sloReport(SLOS, { get }, START + 13 * HOUR, { staleAfterMs: 24 * HOUR })
      expect(longer).toMatchObject({ firing: 1, staleEpisodes: 0, staleBadMinutes: 0 })
    })
  })
})
