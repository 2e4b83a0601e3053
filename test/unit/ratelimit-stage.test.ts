import { SchemaSet } from '../../src/contracts/schemas'
import { ConfigError } from '../../src/errors'
import type { StageResult } from '../../src/runner/types'
import type { EnrichedAlertRecord } from '../../src/contracts/records'
import type { BucketState } from '../../src/stages/ratelimit/decide'
import { parseLimits, type LimitsConfig } from '../../src/stages/ratelimit/limits'
import { DEFAULT_RATELIMIT, ratelimitStage } from '../../src/stages/ratelimit/stage'
import { topicNames } from '../../src/topology/names'

const schemas = SchemaSet.load()
const PREFIX = 'p.'
const topics = topicNames(PREFIX)
const source = { topic: topics.enriched, partition: 2, offset: '41' }
const T0 = Date.UTC(2026, 10, 25, 1, 0, 0)

const LIMITS = `
defaults:
  alert: { rate: 1/10s, burst: 2 }
  team: { rate: 10/1m, burst: 10 }
  global: { rate: 60/1m, burst: 30 }
`

function record(alertname: string, receivedAt: number, status: 'firing' | 'resolved' = 'firing'): EnrichedAlertRecord {
  return {
    alert: {
      fingerprint: `fp-${alertname}`,
      status,
      labels: { alertname, service: 'checkout', severity: 'page' },
      annotations: { summary: 'p99 over 2s', runbook_url: 'https://runbooks.example/checkout' },
      startsAt: '2026-11-25T00:52:34.568123456Z',
      endsAt: null,
      generatorURL: 'http://prometheus:9090/graph',
      receiver: 'nightshift',
      groupKey: '{}:{alertname="HighLatency"}',
      externalURL: 'http://alertmanager:9093',
      receivedAt,
    },
    team: 'payments',
    service: 'checkout',
    tier: 'tier-1',
    runbookUrl: 'https://runbooks.example/checkout',
    slo: 'checkout-availability',
    endpoints: { admin: 'http://127.0.0.1:18080' },
    enrichedAt: receivedAt,
    throttledBy: null,
  }
}

/** The stage over an in-memory state, applying its changes like the runner does after commit. */
function harness(limits: () => LimitsConfig, partitions = 1) {
  const stage = ratelimitStage(topics, PREFIX, limits, { partitions })
  const state = new Map<string, BucketState>()
  const process = (r: EnrichedAlertRecord): StageResult<BucketState> => {
    const result = stage.process(r, {
      state: { get: (k) => state.get(k) },
      source,
      timestamp: 0,
      now: 0,
      later: () => [],
    })
    for (const change of result.state ?? []) {
      if (change.value === null) state.delete(change.key)
      else state.set(change.key, change.value)
    }
    return result
  }
  return { stage, state, process }
}

describe('ratelimitStage', () => {
  const config = parseLimits(LIMITS, 'limits.yaml')

  it('reads alerts.enriched as EnrichedAlert, in its own group, with buckets in the ratelimit changelog', () => {
    const { stage } = harness(() => config)
    expect(stage).toMatchObject({
      name: 'ratelimit',
      groupId: 'p.nightshift-ratelimit',
      inputTopics: ['p.alerts.enriched'],
      inputSchema: 'EnrichedAlert',
      state: {
        changelogTopic: 'p.nightshift.ratelimit-changelog',
        schema: 'BucketState',
        maxEntries: DEFAULT_RATELIMIT.maxEntries,
        ttlMs: DEFAULT_RATELIMIT.ttlMs,
      },
    })
    expect(ratelimitStage(topics, '', () => config, { partitions: 3, maxEntries: 10, ttlMs: 5 }).state).toEqual({
      changelogTopic: 'nightshift.ratelimit-changelog',
      schema: 'BucketState',
      maxEntries: 10,
      ttlMs: 5,
    })
  })

  it.each([0, -1, 1.5, Number.NaN])('refuses %d partitions', (partitions) => {
    expect(() => ratelimitStage(topics, PREFIX, () => config, { partitions })).toThrow(ConfigError)
  })

  it('admits an alert unchanged to alerts.admitted, keyed by fingerprint, and takes a token from each level', () => {
    const { process, state } = harness(() => config)
    const input = record('HighLatency', T0)
    const result = process(input)
    expect(result.kind).toBe('admitted')
    expect(result.emits).toEqual([
      { topic: 'p.alerts.admitted', key: 'fp-HighLatency', schema: 'EnrichedAlert', value: input },
    ])
    expect(schemas.type('EnrichedAlert').isValid(result.emits[0]!.value)).toBe(true)
    expect([...state.values()]).toEqual([
      { bucket: 'alert:payments/checkout/HighLatency', tokens: 1, updatedAt: T0 },
      { bucket: 'team:payments', tokens: 9, updatedAt: T0 },
      { bucket: 'global', tokens: 29, updatedAt: T0 },
    ])
    const bucketType = schemas.type('BucketState')
    for (const change of result.state ?? []) {
      expect(change.value && change.key === change.value.bucket).toBe(true)
      expect(bucketType.isValid(change.value)).toBe(true)
    }
  })

  it('throttles the third alert within 10 s: the alert to alerts.throttled with throttledBy, and a Decision', () => {
    const { process } = harness(() => config)
    process(record('HighLatency', T0))
    process(record('HighLatency', T0 + 1000))
    const input = record('HighLatency', T0 + 2000)
    const result = process(input)
    expect(result.kind).toBe('throttled')
    // No token taken; the global bucket (1/s) is full again at T0+2s, so it is deleted.
    // The first hold-back of the hour (the limit's period is 10s: the window) is noted.
    expect(result.state).toEqual([
      { key: 'global', value: null },
      {
        key: 'notice:alert:payments/checkout/HighLatency',
        value: {
          bucket: 'notice:alert:payments/checkout/HighLatency',
          tokens: 0,
          updatedAt: T0 + 2000,
          windowStart: T0,
          heldBack: 1,
        },
      },
    ])
    const [throttled, decision] = result.emits
    expect(result.emits).toHaveLength(2)
    expect(throttled).toEqual({
      topic: 'p.alerts.throttled',
      key: 'fp-HighLatency',
      schema: 'EnrichedAlert',
      value: {
        ...input,
        throttledBy: 'alert:payments/checkout/HighLatency',
        throttle: {
          limit: 'alert:payments/checkout/HighLatency',
          level: 'alert',
          rate: '1/10s',
          burst: 2,
          windowStart: T0,
          windowMs: 10_000,
          heldBack: 1,
          notify: true,
          // No escalation limits in LIMITS: a page of a held-back alert still goes out.
          escalate: true,
          escalationHeldBy: null,
        },
      },
    })
    expect(decision).toEqual({
      topic: 'p.nightshift.decisions',
      key: 'fp-HighLatency',
      schema: 'Decision',
      value: {
        fingerprint: 'fp-HighLatency',
        startsAt: '2026-11-25T00:52:34.568123456Z',
        status: 'firing',
        stage: 'ratelimit',
        kind: 'throttled',
        reason:
          'over the alert limit alert:payments/checkout/HighLatency (1/10s, burst 2); kept on p.alerts.throttled; ' +
          'its escalations (page) still go out; the team is told (first held back in this window)',
        detail: {
          limit: 'alert:payments/checkout/HighLatency',
          level: 'alert',
          rate: '1/10s',
          burst: '2',
          tokens: '0.200',
          window: new Date(T0).toISOString(),
          heldBack: '1',
          notify: 'true',
          escalation: 'allowed',
        },
        source,
        decidedAt: T0 + 2000,
      },
    })
    expect(schemas.type('EnrichedAlert').isValid(throttled!.value)).toBe(true)
    expect(schemas.type('Decision').isValid(decision!.value)).toBe(true)
    // The input record is not modified.
    expect(input.throttledBy).toBeNull()
  })

  it('never throttles a resolved alert and takes no token for it', () => {
    const { process, state } = harness(() => config)
    process(record('HighLatency', T0))
    process(record('HighLatency', T0))
    const before = new Map(state)
    const result = process(record('HighLatency', T0, 'resolved'))
    expect(result).toMatchObject({ kind: 'admitted', state: [], emits: [{ topic: 'p.alerts.admitted' }] })
    expect(state).toEqual(before)
  })

  it('names the global share and the partition figures in the decision', () => {
    const { process } = harness(() => parseLimits('defaults: { global: { rate: 60/1m, burst: 30 } }', 'limits.yaml'), 6)
    const kinds = Array.from({ length: 6 }, (_, i) => process(record(`A${i}`, T0)))
    expect(kinds.map((r) => r.kind)).toEqual(['admitted', 'admitted', 'admitted', 'admitted', 'admitted', 'throttled'])
    const decision = kinds[5]!.emits[1]!.value
    expect(decision).toMatchObject({
      reason: expect.stringMatching(
        /^over the global limit global \(60\/1m, burst 30\); kept on p\.alerts\.throttled; /,
      ),
      detail: {
        limit: 'global',
        level: 'global',
        rate: '60/1m',
        burst: '30',
        partitionRate: '60/1m / 6 partitions',
        partitionBurst: '5',
        partitions: '6',
        tokens: '0.000',
      },
    })
    expect(schemas.type('Decision').isValid(decision)).toBe(true)
  })

  it('uses the current limits for each record (hot reload)', () => {
    let current = config
    const { process } = harness(() => current)
    process(record('HighLatency', T0))
    process(record('HighLatency', T0))
    expect(process(record('HighLatency', T0)).kind).toBe('throttled')
    current = parseLimits(`${LIMITS}\nteams: { payments: { alert: unlimited } }`, 'limits.yaml')
    expect(process(record('HighLatency', T0)).kind).toBe('admitted')
  })

  it('replays the same records to the same outputs', () => {
    const inputs = [0, 0, 1000, 5000, 10_000, 12_000, 30_000].map((ms) => record('HighLatency', T0 + ms))
    const run = () => {
      const { process } = harness(() => config)
      return inputs.map((r) => process(r))
    }
    const first = run()
    expect(first.map((r) => r.kind)).toEqual([
      'admitted',
      'admitted',
      'throttled',
      'throttled',
      'admitted',
      'throttled',
      'admitted',
    ])
    expect(run()).toEqual(first)
  })
})
