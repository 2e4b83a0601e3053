import { SchemaSet } from '../../src/contracts/schemas'
import type { EnrichedAlertRecord } from '../../src/contracts/records'
import {
  decideNotice,
  decideRatelimit,
  escalationLevelsFor,
  levelsFor,
  limitWindow,
  type BucketState,
  type RatelimitVerdict,
} from '../../src/stages/ratelimit/decide'
import { parseLimits, type LimitsConfig } from '../../src/stages/ratelimit/limits'
import { enrichedAlertRecord } from '../support/records'

const MIN = 60_000
const HOUR = 60 * MIN
/** 10:00 UTC: the start of a 1h window. */
const T0 = Date.UTC(2026, 10, 25, 10, 0, 0)
const schemas = SchemaSet.load()

// The automation limit lets 2 alerts of one key through per hour; the escalation limit of
// the key lets 3 pages of held-back alerts through, then 1 per 20 minutes.
const LIMITS = parseLimits(
  `
defaults:
  alert: { rate: 2/1h, burst: 2 }
escalation:
  alert: { rate: 3/1h, burst: 3 }
  team: { rate: 60/1h, burst: 20 }
`,
  'limits.yaml',
)

function alert(alertname = 'HighLatency', status: 'firing' | 'resolved' = 'firing'): EnrichedAlertRecord {
  return enrichedAlertRecord({ alert: { fingerprint: `fp-${alertname}`, status, labels: { alertname } } })
}

/** What one record decided, in short: A, or T with its notice and escalation. */
function short(v: RatelimitVerdict): string {
  if (v.kind === 'admitted') return 'A'
  const escalation = v.escalation.kind === 'held' ? `held:${v.escalation.by.key}` : v.escalation.kind
  return `T ${v.by.key} #${v.heldBack}${v.notify ? ' notify' : ''} ${escalation}`
}

/**
 * Runs records through decideRatelimit like the stage does, the state in a Map. With
 * `restartAfter`, the state goes through its Avro form (the changelog) after that record,
 * as a restarted instance restores it.
 */
function run(
  sequence: Array<[EnrichedAlertRecord, number, boolean?]>,
  config: LimitsConfig = LIMITS,
  restartAfter?: number,
): string[] {
  let state = new Map<string, BucketState>()
  const type = schemas.type('BucketState')
  return sequence.map(([a, now, escalates = true], i) => {
    const verdict = decideRatelimit({
      status: a.alert.status,
      checks: levelsFor(a, config, 1),
      escalationChecks: escalationLevelsFor(a, config),
      escalates: () => escalates,
      stored: (k) => state.get(k),
      now,
    })
    for (const change of verdict.state) {
      if (change.value === null) state.delete(change.key)
      else state.set(change.key, change.value)
    }
    if (i === restartAfter)
      state = new Map(
        [...state].map(([k, v]) => [k, { ...(type.fromBuffer(type.toBuffer(v)) as BucketState) }] as const),
      )
    return short(verdict)
  })
}

const KEY = 'alert:payments/checkout/HighLatency'

describe('decideRatelimit: automation limits never hold a page back', () => {
  it.each<[string, Array<[EnrichedAlertRecord, number, boolean?]>, string[]]>([
    [
      'automation throttled, the page allowed; the first hold-back of the window notifies',
      [
        [alert(), T0],
        [alert(), T0 + 1],
        [alert(), T0 + 2],
      ],
      ['A', 'A', `T ${KEY} #1 notify allowed`],
    ],
    [
      'the page over its own limit (3 per key) is held; the notice went at the first',
      [
        [alert(), T0],
        [alert(), T0],
        [alert(), T0 + 1],
        [alert(), T0 + 2],
        [alert(), T0 + 3],
        [alert(), T0 + 4],
      ],
      [
        'A',
        'A',
        `T ${KEY} #1 notify allowed`,
        `T ${KEY} #2 allowed`,
        `T ${KEY} #3 allowed`,
        `T ${KEY} #4 held:escalation:${KEY}`,
      ],
    ],
    [
      'the escalation bucket refills at its own rate (1 per 20 minutes)',
      [
        [alert(), T0],
        [alert(), T0],
        [alert(), T0 + 1],
        [alert(), T0 + 2],
        [alert(), T0 + 3],
        [alert(), T0 + 4],
        [alert(), T0 + 20 * MIN + 3],
      ],
      [
        'A',
        'A',
        `T ${KEY} #1 notify allowed`,
        `T ${KEY} #2 allowed`,
        `T ${KEY} #3 allowed`,
        `T ${KEY} #4 held:escalation:${KEY}`,
        `T ${KEY} #5 allowed`,
      ],
    ],
    [
      'an alert whose routes name no escalation takes no escalation token',
      [
        [alert(), T0],
        [alert(), T0],
        [alert(), T0 + 1, false],
        [alert(), T0 + 2, false],
        [alert(), T0 + 3, false],
        [alert(), T0 + 4, false],
        [alert(), T0 + 5],
      ],
      [
        'A',
        'A',
        `T ${KEY} #1 notify none`,
        `T ${KEY} #2 none`,
        `T ${KEY} #3 none`,
        `T ${KEY} #4 none`,
        `T ${KEY} #5 allowed`,
      ],
    ],
    [
      'later hold-backs in the window do not notify; a new window (11:00) notifies again',
      [
        [alert(), T0],
        [alert(), T0],
        [alert(), T0 + 1],
        // 59 minutes refilled 1.97 tokens: one admitted, 0.97 left.
        [alert(), T0 + 59 * MIN],
        [alert(), T0 + 59 * MIN + 1],
        // A minute later the bucket has a token again: admitted, then held back at 11:00.
        [alert(), T0 + HOUR + 1],
        [alert(), T0 + HOUR + 2],
        [alert(), T0 + HOUR + 3],
      ],
      [
        'A',
        'A',
        `T ${KEY} #1 notify allowed`,
        'A',
        `T ${KEY} #2 allowed`,
        'A',
        `T ${KEY} #1 notify allowed`,
        `T ${KEY} #2 allowed`,
      ],
    ],
    [
      'each limit has its own window: another key notifies on its own',
      [
        [alert('A'), T0],
        [alert('A'), T0],
        [alert('B'), T0],
        [alert('B'), T0],
        [alert('A'), T0 + 1],
        [alert('B'), T0 + 2],
        [alert('A'), T0 + 3],
      ],
      [
        'A',
        'A',
        'A',
        'A',
        'T alert:payments/checkout/A #1 notify allowed',
        'T alert:payments/checkout/B #1 notify allowed',
        'T alert:payments/checkout/A #2 allowed',
      ],
    ],
    [
      'a resolve is never held and never notifies',
      [
        [alert(), T0],
        [alert(), T0],
        [alert('HighLatency', 'resolved'), T0 + 1],
      ],
      ['A', 'A', 'A'],
    ],
  ])('%s', (_name, sequence, expected) => {
    expect(run(sequence)).toEqual(expected)
  })

  it('notifies once per window across a restart: the notice entry is in the changelog like the buckets', () => {
    const sequence: Array<[EnrichedAlertRecord, number]> = [
      [alert(), T0],
      [alert(), T0],
      [alert(), T0 + 1],
      [alert(), T0 + 2],
    ]
    expect(run(sequence, LIMITS, 2)).toEqual(['A', 'A', `T ${KEY} #1 notify allowed`, `T ${KEY} #2 allowed`])
  })

  it('a team level throttle notifies once for the whole team', () => {
    const config = parseLimits('defaults: { team: { rate: 1/1h, burst: 1 } }', 'limits.yaml')
    expect(
      run(
        [
          [alert('A'), T0],
          [alert('B'), T0 + 1],
          [alert('C'), T0 + 2],
        ],
        config,
      ),
    ).toEqual(['A', 'T team:payments #1 notify allowed', 'T team:payments #2 allowed'])
  })

  it('without an escalation section, the pages of held-back alerts have no limit', () => {
    const config = parseLimits('defaults: { alert: { rate: 1/1h, burst: 1 } }', 'limits.yaml')
    const out = run(
      Array.from({ length: 30 }, (_, i): [EnrichedAlertRecord, number] => [alert(), T0 + i]),
      config,
    )
    expect(out.slice(1).every((s) => s.endsWith(' allowed'))).toBe(true)
    expect(out.filter((s) => s.includes('notify'))).toHaveLength(1)
  })
})

describe('limitWindow and decideNotice', () => {
  const limit = LIMITS.defaults.alert!

  it.each<[string, number, { start: number; ms: number }]>([
    ['the limit period aligned to the epoch (1h: clock hours, UTC)', T0 + 25 * MIN, { start: T0, ms: HOUR }],
    ['the first millisecond of a window is in it', T0, { start: T0, ms: HOUR }],
    ['the last millisecond is in it too', T0 + HOUR - 1, { start: T0, ms: HOUR }],
  ])('%s', (_name, now, expected) => {
    expect(limitWindow(limit, now)).toEqual(expected)
  })

  it.each<[string, BucketState | undefined, number, { notify: boolean; heldBack: number; windowStart: number }]>([
    ['nothing stored: notify', undefined, T0 + 5, { notify: true, heldBack: 1, windowStart: T0 }],
    [
      'the same window stored: count, no notice',
      { bucket: 'notice:k', tokens: 0, updatedAt: T0 + 1, windowStart: T0, heldBack: 4 },
      T0 + 5,
      { notify: false, heldBack: 5, windowStart: T0 },
    ],
    [
      'an older window stored: notify, count from 1',
      { bucket: 'notice:k', tokens: 0, updatedAt: T0 - 1, windowStart: T0 - HOUR, heldBack: 9 },
      T0 + 5,
      { notify: true, heldBack: 1, windowStart: T0 },
    ],
    [
      'a record of an earlier window than the stored one (out of order) counts in the stored one',
      { bucket: 'notice:k', tokens: 0, updatedAt: T0 + HOUR, windowStart: T0 + HOUR, heldBack: 1 },
      T0 + 5,
      { notify: false, heldBack: 2, windowStart: T0 + HOUR },
    ],
    [
      'a bucket-shaped entry without a window (never written by a notice) notifies',
      { bucket: 'notice:k', tokens: 0, updatedAt: T0 },
      T0 + 5,
      { notify: true, heldBack: 1, windowStart: T0 },
    ],
  ])('%s', (_name, stored, now, expected) => {
    const window = limitWindow(limit, now)
    const out = decideNotice('k', window, stored, now)
    expect({ notify: out.notify, heldBack: out.heldBack, windowStart: out.state.value?.windowStart }).toEqual(expected)
    expect(out.state.key).toBe('notice:k')
    expect(schemas.type('BucketState').isValid(out.state.value)).toBe(true)
  })
})

describe('escalationLevelsFor', () => {
  it('per alert key and per team, under their own keys', () => {
    expect(escalationLevelsFor(alert(), LIMITS).map((c) => [c.level, c.key, c.limit.text])).toEqual([
      ['alert', `escalation:${KEY}`, '3/1h'],
      ['team', 'escalation:team:payments', '60/1h'],
    ])
  })

  it('none without an escalation section', () => {
    expect(escalationLevelsFor(alert(), parseLimits('defaults: {}', 'limits.yaml'))).toEqual([])
  })
})
