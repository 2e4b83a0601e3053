import type { EnrichedAlertRecord } from '../../src/contracts/records'
import {
  alertKey,
  decideLimit,
  globalShare,
  hasToken,
  levelsFor,
  refill,
  type BucketLevel,
  type BucketState,
  type LevelCheck,
} from '../../src/stages/ratelimit/decide'
import { parseLimits, type Limit, type LimitsConfig } from '../../src/stages/ratelimit/limits'
import { enrichedAlertRecord } from '../support/records'

const SEC = 1000
const HOUR = 3600 * SEC
const per10s = { tokens: 1, periodMs: 10 * SEC }

function limits(yaml: string): LimitsConfig {
  return parseLimits(yaml, 'limits.yaml')
}

function alert(
  over: {
    team?: string
    service?: string | null
    alertname?: string
    status?: 'firing' | 'resolved'
    labels?: Record<string, string>
  } = {},
): EnrichedAlertRecord {
  return enrichedAlertRecord({
    alert: {
      fingerprint: 'f00d',
      status: over.status ?? 'firing',
      labels: { alertname: over.alertname ?? 'HighLatency', ...over.labels },
      startsAt: '2026-11-25T00:00:00Z',
      receivedAt: 0,
    },
    team: over.team ?? 'payments',
    service: over.service === undefined ? 'checkout' : over.service,
  })
}

/** Runs alerts through decideLimit like the stage does, keeping the state in a Map. */
function run(
  config: LimitsConfig,
  sequence: Array<[EnrichedAlertRecord, number]>,
  partitions = 1,
  state = new Map<string, BucketState>(),
): string[] {
  return sequence.map(([a, now]) => {
    const verdict = decideLimit(a.alert.status, levelsFor(a, config, partitions), (k) => state.get(k), now)
    for (const change of verdict.state) {
      if (change.value === null) state.delete(change.key)
      else state.set(change.key, change.value)
    }
    return verdict.kind === 'admitted' ? 'A' : `T ${verdict.by.key}`
  })
}

describe('refill (rate 1/10s, burst 3)', () => {
  it.each<[string, BucketLevel | undefined, number, BucketLevel]>([
    ['an absent bucket is full at record time', undefined, 5 * SEC, { tokens: 3, updatedAt: 5 * SEC }],
    ['one period refills exactly one token', { tokens: 0, updatedAt: 0 }, 10 * SEC, { tokens: 1, updatedAt: 10 * SEC }],
    ['half a period refills half a token', { tokens: 0, updatedAt: 0 }, 5 * SEC, { tokens: 0.5, updatedAt: 5 * SEC }],
    ['refill adds to what is left', { tokens: 1.5, updatedAt: 20 * SEC }, 35 * SEC, { tokens: 3, updatedAt: 35 * SEC }],
    ['a long idle time refills only to burst', { tokens: 0, updatedAt: 0 }, HOUR, { tokens: 3, updatedAt: HOUR }],
    [
      'an older record refills nothing and does not move updatedAt back',
      { tokens: 0.5, updatedAt: 20 * SEC },
      5 * SEC,
      { tokens: 0.5, updatedAt: 20 * SEC },
    ],
    [
      'a same-time record refills nothing',
      { tokens: 0.25, updatedAt: 7 * SEC },
      7 * SEC,
      { tokens: 0.25, updatedAt: 7 * SEC },
    ],
    ['a bucket above a lowered burst is clamped to it', { tokens: 5, updatedAt: 0 }, 0, { tokens: 3, updatedAt: 0 }],
  ])('%s', (_name, bucket, now, expected) => {
    expect(refill(bucket, now, per10s, 3)).toEqual(expected)
  })

  it('refills whole periods exactly for hourly rates (6/1h: one token every 10 minutes)', () => {
    expect(refill({ tokens: 0, updatedAt: 0 }, 10 * 60 * SEC, { tokens: 6, periodMs: HOUR }, 3).tokens).toBe(1)
  })

  it.each([
    [1, true],
    [0.9999999999999999, true], // 0.7 + 0.3 in floating point
    [0.999, false],
    [0, false],
  ])('hasToken(%d) = %s', (tokens, expected) => {
    expect(hasToken({ tokens, updatedAt: 0 })).toBe(expected)
  })
})

describe('decideLimit on one bucket (rate 1/10s, burst 3)', () => {
  const limit: Limit = { rate: per10s, burst: 3, text: '1/10s' }
  const check: LevelCheck = { level: 'alert', key: 'alert:payments/checkout/HighLatency', limit, configured: limit }

  it('admits 3 of 4 records at t=0, one more at t=10s, none at t=15s, one at t=20s', () => {
    const state = new Map<string, BucketState>()
    const kinds = [0, 0, 0, 0, 10 * SEC, 15 * SEC, 20 * SEC].map((now) => {
      const verdict = decideLimit('firing', [check], (k) => state.get(k), now)
      for (const c of verdict.state) if (c.value) state.set(c.key, c.value)
      return verdict.kind
    })
    expect(kinds).toEqual(['admitted', 'admitted', 'admitted', 'throttled', 'admitted', 'throttled', 'admitted'])
    expect(state.get(check.key)).toEqual({ bucket: check.key, tokens: 0, updatedAt: 20 * SEC })
  })

  it.each<[string, BucketState | undefined, number, ReturnType<typeof decideLimit>]>([
    [
      'a full bucket gives a token',
      undefined,
      0,
      { kind: 'admitted', state: [{ key: check.key, value: { bucket: check.key, tokens: 2, updatedAt: 0 } }] },
    ],
    [
      'an empty bucket throttles and takes nothing',
      { bucket: check.key, tokens: 0.4, updatedAt: 0 },
      5 * SEC,
      { kind: 'throttled', by: check, tokens: 0.9, state: [] },
    ],
    [
      'resolved is admitted from an empty bucket and takes no token',
      { bucket: check.key, tokens: 0, updatedAt: 0 },
      0,
      { kind: 'admitted', state: [] },
    ],
  ])('%s', (name, stored, now, expected) => {
    const status = name.startsWith('resolved') ? 'resolved' : 'firing'
    const verdict = decideLimit(status, [check], () => stored, now)
    if (verdict.kind === 'throttled' && expected.kind === 'throttled') {
      expect(verdict.by).toBe(expected.by)
      expect(verdict.tokens).toBeCloseTo(expected.tokens, 9)
      expect(verdict.state).toEqual(expected.state)
    } else {
      expect(verdict).toEqual(expected)
    }
  })

  it('never refills negatively for a late record: its token comes from what is left', () => {
    const stored = { bucket: check.key, tokens: 1.5, updatedAt: 60 * SEC }
    expect(decideLimit('firing', [check], () => stored, 0)).toEqual({
      kind: 'admitted',
      state: [{ key: check.key, value: { bucket: check.key, tokens: 0.5, updatedAt: 60 * SEC } }],
    })
  })
})

const NESTED = `
defaults:
  alert: { rate: 1/1m, burst: 2 }
  team: { rate: 1/1m, burst: 3 }
`

describe('nested levels', () => {
  const config = limits(NESTED)

  it.each<[string, Array<[EnrichedAlertRecord, number]>, string[]]>([
    [
      'an alert needs a token at every level; the first empty level, most specific first, is named',
      [
        [alert({ alertname: 'A' }), 0],
        [alert({ alertname: 'A' }), 0],
        [alert({ alertname: 'A' }), 0], // alert:…/A empty (team still has 1)
        [alert({ alertname: 'B' }), 0], // takes the team's last token
        [alert({ alertname: 'B' }), 0], // alert:…/B has 1, team empty
        [alert({ alertname: 'A' }), 0], // both empty: the alert level is named
      ],
      ['A', 'A', 'T alert:payments/checkout/A', 'A', 'T team:payments', 'T alert:payments/checkout/A'],
    ],
    [
      'a throttled alert takes no token from the levels that had room',
      [
        [alert({ alertname: 'A' }), 0],
        [alert({ alertname: 'A' }), 0],
        [alert({ alertname: 'A' }), 0],
        [alert({ alertname: 'A' }), 0],
        [alert({ alertname: 'B' }), 0],
      ],
      ['A', 'A', 'T alert:payments/checkout/A', 'T alert:payments/checkout/A', 'A'],
    ],
    [
      'teams have their own buckets',
      [
        [alert({ alertname: 'A' }), 0],
        [alert({ alertname: 'B' }), 0],
        [alert({ alertname: 'C' }), 0],
        [alert({ alertname: 'D' }), 0],
        [alert({ alertname: 'D', team: 'core', service: 'prometheus' }), 0],
      ],
      ['A', 'A', 'A', 'T team:payments', 'A'],
    ],
    [
      'resolved alerts are never throttled, even with every level empty',
      [
        [alert({ alertname: 'A' }), 0],
        [alert({ alertname: 'A' }), 0],
        [alert({ alertname: 'B' }), 0],
        [alert({ alertname: 'A', status: 'resolved' }), 0],
        [alert({ alertname: 'B', status: 'resolved' }), 0],
        [alert({ alertname: 'B' }), 0],
      ],
      ['A', 'A', 'A', 'A', 'A', 'T team:payments'],
    ],
    [
      'the team bucket refills by record time: one token a minute',
      [
        [alert({ alertname: 'A' }), 0],
        [alert({ alertname: 'B' }), 0],
        [alert({ alertname: 'C' }), 0],
        [alert({ alertname: 'D' }), 59 * SEC],
        [alert({ alertname: 'D' }), 60 * SEC],
        [alert({ alertname: 'E' }), 61 * SEC],
      ],
      ['A', 'A', 'A', 'T team:payments', 'A', 'T team:payments'],
    ],
  ])('%s', (_name, sequence, expected) => {
    expect(run(config, sequence)).toEqual(expected)
  })

  it('deletes a stored bucket found full again when the alert is throttled elsewhere', () => {
    const state = new Map<string, BucketState>([
      ['alert:payments/checkout/A', { bucket: 'alert:payments/checkout/A', tokens: 1, updatedAt: 0 }],
      ['team:payments', { bucket: 'team:payments', tokens: 0, updatedAt: 10 * SEC }],
    ])
    const a = alert({ alertname: 'A' })
    const verdict = decideLimit('firing', levelsFor(a, config, 1), (k) => state.get(k), 20 * SEC)
    // alert bucket: 1 + 20 s at 1/1m = 1.33 < burst 2, kept; at 60 s it is full again and deleted.
    expect(verdict).toMatchObject({ kind: 'throttled', state: [] })
    expect(decideLimit('firing', levelsFor(a, config, 1), (k) => state.get(k), 60 * SEC)).toMatchObject({
      kind: 'throttled',
      state: [{ key: 'alert:payments/checkout/A', value: null }],
    })
  })
})

const OVERRIDES = `
defaults:
  alert: { rate: 1/1h, burst: 1 }
  team: { rate: 1/1h, burst: 100 }
teams:
  payments:
    alert: { rate: 1/1h, burst: 2 }
  core:
    alert: unlimited
    team: { rate: 1/1h, burst: 7 }
services:
  checkout:
    alert: { rate: 1/1h, burst: 3 }
  grafana:
    alert: { rate: 1/1h, burst: 4 }
`

describe('overrides', () => {
  const config = limits(OVERRIDES)
  const admittedOf = (a: EnrichedAlertRecord, n: number) =>
    run(
      config,
      Array.from({ length: n }, () => [a, 0]),
    ).filter((k) => k === 'A').length

  it.each<[string, EnrichedAlertRecord, number]>([
    ['no override: the default', alert({ team: 'search', service: 'solr' }), 1],
    ['the team override wins over the default', alert({ team: 'payments', service: 'cart' }), 2],
    ['the service override wins over the team override', alert({ team: 'payments', service: 'checkout' }), 3],
    ['a service override applies in a team with no override', alert({ team: 'search', service: 'grafana' }), 4],
    ['unlimited at the alert level leaves the team level', alert({ team: 'core', service: 'prometheus' }), 7],
    ['an unowned alert gets the defaults', alert({ team: 'unowned', service: null }), 1],
  ])('%s', (_name, a, admitted) => {
    expect(admittedOf(a, 10)).toBe(admitted)
  })

  it('finds no Object.prototype member for a team named like one', () => {
    expect(admittedOf(alert({ team: 'constructor', service: 'toString' }), 10)).toBe(1)
  })
})

describe('levelsFor', () => {
  const config = limits(`
key: "{team}/{service}/{alertname}/{labels.instance}"
defaults:
  alert: { rate: 1/1m, burst: 1 }
  service: { rate: 2/1m, burst: 2 }
  team: { rate: 3/1m, burst: 3 }
  global: { rate: 600/1h, burst: 60 }
`)

  it.each<[string, EnrichedAlertRecord, number, string[]]>([
    [
      'every level, most specific first',
      alert({ labels: { instance: 'a:9090' } }),
      1,
      ['alert:payments/checkout/HighLatency/a:9090', 'service:checkout', 'team:payments', 'global'],
    ],
    [
      'no service level without a catalog service; empty fields are "-"',
      alert({ team: 'unowned', service: null }),
      1,
      ['alert:unowned/-/HighLatency/-', 'team:unowned', 'global'],
    ],
  ])('%s', (_name, a, partitions, keys) => {
    expect(levelsFor(a, config, partitions).map((c) => c.key)).toEqual(keys)
  })

  it('leaves out levels with no limit', () => {
    expect(levelsFor(alert(), limits('defaults: { team: { rate: 1/1m, burst: 1 } }'), 1).map((c) => c.level)).toEqual([
      'team',
    ])
    expect(levelsFor(alert(), limits('defaults: {}'), 1)).toEqual([])
  })

  it.each([
    ['{team}/{service}/{alertname}', 'payments/checkout/HighLatency'],
    ['{alertname}', 'HighLatency'],
    ['{team}:{labels.severity}', 'payments:-'],
    ['team={team} job={labels.job}', 'team=payments job=api'],
  ])('key template %s → %s', (template, key) => {
    expect(
      alertKey(alert({ labels: { job: 'api', severity: '' } }), limits(`key: "${template}"\ndefaults: {}`).key),
    ).toBe(key)
  })
})

describe('global share per partition', () => {
  const limit = limits('defaults: { global: { rate: 600/1h, burst: 60 } }').defaults.global!

  it.each<[number, number, number]>([
    // partitions, burst per partition, ms per token per partition
    [1, 60, 6 * SEC],
    [6, 10, 36 * SEC],
    [7, 8, 42 * SEC],
    [100, 1, 600 * SEC],
  ])('%d partition(s): burst %d, a token every %d ms', (partitions, burst, msPerToken) => {
    const share = globalShare(limit, partitions)
    expect(share.burst).toBe(burst)
    expect(refill({ tokens: 0, updatedAt: 0 }, msPerToken, share.rate, share.burst).tokens).toBe(1)
  })

  it('with 6 partitions, each admits 10 at once (not 60), then one every 36 s', () => {
    const config = limits('defaults: { global: { rate: 600/1h, burst: 60 } }')
    const teams = Array.from({ length: 11 }, (_, i): [EnrichedAlertRecord, number] => [alert({ team: `t${i}` }), 0])
    const kinds = run(config, [...teams, [alert({ team: 'x' }), 35 * SEC], [alert({ team: 'y' }), 36 * SEC]], 6)
    expect(kinds).toEqual([...Array<string>(10).fill('A'), 'T global', 'T global', 'A'])
    expect(levelsFor(alert(), config, 6)[0]).toMatchObject({
      key: 'global',
      limit: { burst: 10, text: '600/1h / 6 partitions' },
      configured: { burst: 60, text: '600/1h' },
    })
  })
})

describe('replay', () => {
  it('decides a sequence the same way every time (pure)', () => {
    const config = limits(NESTED)
    const sequence: Array<[EnrichedAlertRecord, number]> = [0, 0, 5, 30, 61, 62, 200].map((s, i) => [
      alert({ alertname: i % 2 === 0 ? 'A' : 'B' }),
      s * SEC,
    ])
    const first = run(config, sequence)
    expect(run(config, sequence)).toEqual(first)
  })
})
