import { gateReason } from '../../src/actions/worker/gate'
import type { GateSettings } from '../../src/slo/gate-settings'
import type { SloBudgetRecord } from '../../src/contracts/records'
import { emptyBudget } from '../../src/stages/slo/decide'
import { parseSlos } from '../../src/slo/slos'

const M = 60_000
const NOW = Date.UTC(2026, 10, 25, 3, 0, 0)
const SLO = parseSlos(
  [
    'slos:',
    '  - name: shop',
    '    service: shop',
    '    team: payments',
    '    objective: 0.999',
    '    indicator:',
    '      matchers: [\'slo="shop"\']',
  ].join('\n'),
  'slos.yaml',
).byName.get('shop')!

/** A budget with closed bad intervals [start, end) and open alerts since `open`, in minutes before NOW. */
function budget(closed: Array<[number, number]>, open: number[] = []): SloBudgetRecord {
  return {
    ...emptyBudget(SLO),
    asOf: NOW - 60 * M,
    intervals: closed.map(([from, to]) => ({ start: NOW - from * M, end: NOW - to * M })),
    open: Object.fromEntries(open.map((since, i) => [`fp${i}|t`, NOW - since * M])),
  }
}

describe('gateReason', () => {
  it.each<[string, GateSettings | undefined, SloBudgetRecord | undefined, string | undefined]>([
    ['no gate', undefined, budget([[120, 60]]), undefined],
    ['an empty gate', {}, budget([[120, 60]]), undefined],
    ['no budget known yet: not gated', { minBudgetRemaining: 0.5 }, undefined, undefined],
    // 60 bad minutes of the 43.2 a 99.9%/30d SLO allows: remaining 1 - 60/43.2 = -38.9%.
    [
      'budget spent',
      { minBudgetRemaining: 0.25 },
      budget([[120, 60]]),
      'error budget of SLO shop is at -38.9% (gate: at least 25%)',
    ],
    // 10 bad minutes: remaining 76.9%.
    ['budget left above the gate', { minBudgetRemaining: 0.25 }, budget([[20, 10]]), undefined],
    ['just above the gate', { minBudgetRemaining: 0.76 }, budget([[20, 10]]), undefined],
    [
      'just below the gate',
      { minBudgetRemaining: 0.77 },
      budget([[20, 10]]),
      'error budget of SLO shop is at 76.9% (gate: at least 77%)',
    ],
    // Open for the last 30 minutes: 30 bad minutes of the last 60 → 1h burn 500×.
    [
      'an alert still firing burns at now',
      { maxBurnRate: 100 },
      budget([], [30]),
      'SLO shop burns its budget 500× over 1h (gate: at most 100×)',
    ],
    ['burn under the limit', { maxBurnRate: 600 }, budget([], [30]), undefined],
    // 6 bad minutes 3 hours ago: nothing in the last hour, 6h burn = 6/360/0.001 = 16.7×.
    [
      'the burn window is chosen',
      { maxBurnRate: 10, burnWindow: '6h' },
      budget([[186, 180]]),
      'SLO shop burns its budget 16.7× over 6h (gate: at most 10×)',
    ],
    ['default window 1h', { maxBurnRate: 10 }, budget([[186, 180]]), undefined],
  ])('%s', (_name, gate, b, expected) => {
    const reason = gateReason(gate, SLO, b, NOW)
    if (expected === undefined) expect(reason).toBeUndefined()
    else expect(reason).toBe(`gated: ${expected}; automation stops and a human looks`)
  })

  it('names both reasons when both limits are passed', () => {
    const reason = gateReason({ minBudgetRemaining: 0.5, maxBurnRate: 10 }, SLO, budget([[120, 60]], [30]), NOW)
    expect(reason).toContain('error budget of SLO shop is at')
    expect(reason).toContain('burns its budget 500× over 1h')
  })

  it('an SLO no longer defined gates nothing', () => {
    expect(gateReason({ minBudgetRemaining: 0.5 }, undefined, budget([[120, 60]]), NOW)).toBeUndefined()
  })
})
