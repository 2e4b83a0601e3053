import type { DecisionRecord } from '../../src/contracts/records'
import {
  FATE_KINDS,
  fateOf,
  replayDiff,
  requestSummary,
  type DiffInput,
  type FateKind,
  type ReplayedAlert,
  type RequestSummary,
  type RunRecords,
} from '../../src/replay/diff'
import { enrichedAlertRecord } from '../support/records'

const T = 1_764_000_000_000
const STARTS = '2026-11-25T00:52:34.568Z'

const alert = (fingerprint: string, over: Partial<ReplayedAlert> = {}): ReplayedAlert => ({
  fingerprint,
  status: 'firing',
  startsAt: STARTS,
  receivedAt: T,
  labels: { alertname: `Alert${fingerprint}` },
  ...over,
})

const decision = (
  fingerprint: string,
  stage: string,
  kind: string,
  over: Partial<DecisionRecord> = {},
): DecisionRecord => ({
  fingerprint,
  startsAt: STARTS,
  status: 'firing',
  stage,
  kind,
  reason: `${stage} said ${kind}`,
  detail: {},
  source: { topic: 'x', partition: 0, offset: '0' },
  decidedAt: T,
  ...over,
})

const throttled = (fingerprint: string, limit: string, over: Partial<DecisionRecord> = {}) =>
  decision(fingerprint, 'ratelimit', 'throttled', { detail: { limit }, ...over })
const unrouted = (fingerprint: string, over: Partial<DecisionRecord> = {}) =>
  decision(fingerprint, 'route', 'unrouted', over)
const duplicate = (fingerprint: string, over: Partial<DecisionRecord> = {}) =>
  decision(fingerprint, 'dedup', 'duplicate_firing', over)
const templateError = (fingerprint: string, action: string) =>
  decision(fingerprint, 'route', 'template_error', { detail: { action } })

const request = (fingerprint: string, action: string, over: Partial<RequestSummary> = {}): RequestSummary => ({
  fingerprint,
  startsAt: STARTS,
  status: 'firing',
  receivedAt: T,
  action,
  route: `route-${action}`,
  dryRun: false,
  ...over,
})

const run = (decisions: DecisionRecord[] = [], requests: RequestSummary[] = []): RunRecords => ({ decisions, requests })

interface Case {
  name: string
  alerts: ReplayedAlert[]
  before: RunRecords
  after: RunRecords
  /** `<fingerprint> <status>: <before> → <after>` of every changed alert, in order. */
  changed: string[]
  /** Alerts per fate [before, after]; fates not listed are 0 → 0. */
  counts?: Partial<Record<FateKind, [number, number]>>
  extra?: Partial<DiffInput>
}

const cases: Case[] = [
  {
    name: 'same request before and after: no change',
    alerts: [alert('a')],
    before: run([], [request('a', 'page')]),
    after: run([], [request('a', 'page')]),
    changed: [],
    counts: { requested: [1, 1] },
  },
  {
    name: 'a tighter limit: requested → throttled, naming the limit',
    alerts: [alert('a'), alert('b')],
    before: run([], [request('a', 'log-level'), request('b', 'log-level')]),
    after: run([throttled('b', 'alert:payments/checkout/Slow')], [request('a', 'log-level')]),
    changed: ['b firing: requested log-level → throttled (alert:payments/checkout/Slow)'],
    counts: { requested: [2, 1], throttled: [0, 1] },
  },
  {
    name: 'a new route: unrouted → requested',
    alerts: [alert('a')],
    before: run([unrouted('a')]),
    after: run([], [request('a', 'page')]),
    changed: ['a firing: unrouted → requested page'],
    counts: { unrouted: [1, 0], requested: [0, 1] },
  },
  {
    name: 'a route removed: requested → unrouted',
    alerts: [alert('a')],
    before: run([], [request('a', 'page')]),
    after: run([unrouted('a')]),
    changed: ['a firing: requested page → unrouted'],
  },
  {
    name: 'another action, and several actions sorted',
    alerts: [alert('a'), alert('b')],
    before: run([], [request('a', 'page'), request('b', 'page')]),
    after: run([], [request('a', 'webhook'), request('b', 'page'), request('b', 'log-level')]),
    changed: ['a firing: requested page → requested webhook', 'b firing: requested page → requested log-level, page'],
    counts: { requested: [2, 2] },
  },
  {
    name: 'a route switched to dry run is a change',
    alerts: [alert('a')],
    before: run([], [request('a', 'thread-dump')]),
    after: run([], [request('a', 'thread-dump', { dryRun: true })]),
    changed: ['a firing: requested thread-dump → requested thread-dump (dry run)'],
  },
  {
    name: 'a limit renamed is a change within the same fate',
    alerts: [alert('a')],
    before: run([throttled('a', 'team:payments')]),
    after: run([throttled('a', 'alert:payments/checkout/Slow')]),
    changed: ['a firing: throttled (team:payments) → throttled (alert:payments/checkout/Slow)'],
    counts: { throttled: [1, 1] },
  },
  {
    name: 're-sends: the first notification decides the fate, the dropped re-sends do not',
    alerts: [alert('a'), alert('a', { receivedAt: T + 60_000 }), alert('a', { receivedAt: T + 120_000 })],
    before: run(
      [duplicate('a', { decidedAt: T + 60_000 }), duplicate('a', { decidedAt: T + 120_000 })],
      [request('a', 'page')],
    ),
    after: run([duplicate('a', { decidedAt: T + 60_000 }), duplicate('a', { decidedAt: T + 120_000 }), unrouted('a')]),
    changed: ['a firing: requested page → unrouted'],
    counts: { requested: [1, 0], unrouted: [0, 1] },
  },
  {
    name: 'only re-sends in the window: dropped by dedup, with the kinds',
    alerts: [alert('a', { receivedAt: T + 60_000 })],
    before: run([duplicate('a', { decidedAt: T + 60_000 })]),
    after: run([], [request('a', 'page', { receivedAt: T + 60_000 })]),
    changed: ['a firing: dropped by dedup (duplicate_firing) → requested page'],
    counts: { dropped: [1, 0], requested: [0, 1] },
  },
  {
    name: 'a template error alone is an error; next to a request it is noted',
    alerts: [alert('a'), alert('b')],
    before: run([templateError('a', 'webhook')]),
    after: run([templateError('b', 'webhook')], [request('a', 'webhook'), request('b', 'page')]),
    changed: [
      'a firing: error (template error for webhook) → requested webhook',
      'b firing: no outcome → requested page; template error for webhook',
    ],
    counts: { error: [1, 0], none: [1, 0], requested: [0, 2] },
  },
  {
    name: 'no record of the original run: no outcome',
    alerts: [alert('a')],
    before: run(),
    after: run([throttled('a', 'global')]),
    changed: ['a firing: no outcome → throttled (global)'],
    counts: { none: [1, 0], throttled: [0, 1] },
  },
  {
    name: 'records about notifications outside the window are left out',
    alerts: [alert('a')],
    // The same alert, received again an hour later (after the window): not replayed.
    before: run(
      [throttled('a', 'global', { decidedAt: T + 3_600_000 })],
      [request('a', 'page', { receivedAt: T + 3_600_000 }), request('zzz', 'page')],
    ),
    after: run([], [request('a', 'page')]),
    changed: ['a firing: no outcome → requested page'],
  },
  {
    name: 'firing and resolved of one episode are two alerts',
    alerts: [alert('a'), alert('a', { status: 'resolved', receivedAt: T + 600_000 })],
    before: run([], [request('a', 'page'), request('a', 'page', { status: 'resolved', receivedAt: T + 600_000 })]),
    after: run([unrouted('a', { status: 'resolved', decidedAt: T + 600_000 })], [request('a', 'page')]),
    changed: ['a resolved: requested page → unrouted'],
    counts: { requested: [2, 1], unrouted: [0, 1] },
  },
  {
    name: 'two episodes of one fingerprint are two alerts',
    alerts: [alert('a'), alert('a', { startsAt: '2026-11-25T05:00:00.000Z', receivedAt: T + 5_000_000 })],
    before: run(
      [],
      [request('a', 'page'), request('a', 'page', { startsAt: '2026-11-25T05:00:00.000Z', receivedAt: T + 5_000_000 })],
    ),
    after: run(
      [throttled('a', 'global', { startsAt: '2026-11-25T05:00:00.000Z', decidedAt: T + 5_000_000 })],
      [request('a', 'page')],
    ),
    changed: ['a firing: requested page → throttled (global)'],
  },
  {
    name: 'changes listed by first receive time, not by input order',
    alerts: [alert('late', { receivedAt: T + 10 }), alert('early', { receivedAt: T })],
    before: run([unrouted('late', { decidedAt: T + 10 }), unrouted('early')]),
    after: run([], [request('late', 'page', { receivedAt: T + 10 }), request('early', 'page')]),
    changed: ['early firing: unrouted → requested page', 'late firing: unrouted → requested page'],
  },
]

describe('replayDiff', () => {
  it.each(cases)('$name', ({ alerts, before, after, changed, counts, extra }) => {
    const diff = replayDiff({ alerts, before, after, ...extra })
    expect(diff.changed.map((c) => `${c.fingerprint} ${c.status}: ${c.before.text} → ${c.after.text}`)).toEqual(changed)
    expect(diff.notifications).toBe(alerts.length)
    expect(diff.unchanged).toBe(diff.alerts - changed.length)
    expect(diff.summary.map((r) => r.kind)).toEqual([...FATE_KINDS])
    expect(diff.summary.reduce((n, r) => n + r.before, 0)).toBe(diff.alerts)
    expect(diff.summary.reduce((n, r) => n + r.after, 0)).toBe(diff.alerts)
    if (counts) {
      for (const r of diff.summary) expect([r.kind, r.before, r.after]).toEqual([r.kind, ...(counts[r.kind] ?? [0, 0])])
    }
  })

  it('names the alert: alertname label, catalog service else the service label, notifications, episodes before the window', () => {
    const diff = replayDiff({
      alerts: [
        alert('a', { labels: { alertname: 'Slow', service: 'label-svc' } }),
        alert('a', { labels: { alertname: 'Slow', service: 'label-svc' }, receivedAt: T + 1 }),
        alert('b', { labels: { service: 'label-svc' }, startsAt: '2026-11-25T01:00:00.000Z', receivedAt: T + 2 }),
        alert('c', { labels: {}, startsAt: '2026-11-25T01:00:00.000Z', receivedAt: T + 3 }),
      ],
      before: run(),
      after: run([
        unrouted('a'),
        unrouted('b', { startsAt: '2026-11-25T01:00:00.000Z', decidedAt: T + 2 }),
        unrouted('c', { startsAt: '2026-11-25T01:00:00.000Z', decidedAt: T + 3 }),
      ]),
      services: new Map([
        ['a', 'checkout'],
        ['b', null],
      ]),
      windowStart: Date.parse('2026-11-25T00:59:00.000Z'),
    })
    expect(
      diff.changed.map((c) => [c.fingerprint, c.alertname, c.service, c.notifications, c.beganBeforeWindow]),
    ).toEqual([
      ['a', 'Slow', 'checkout', 2, true],
      ['b', '-', 'label-svc', 1, false],
      ['c', '-', '-', 1, false],
    ])
    expect(diff.alerts).toBe(3)
  })
})

describe('fateOf', () => {
  it.each<[string, DecisionRecord[], RequestSummary[], string]>([
    ['nothing', [], [], 'no outcome'],
    [
      'a request wins over every decision',
      [throttled('a', 'global'), unrouted('a'), duplicate('a')],
      [request('a', 'page')],
      'requested page',
    ],
    ['unrouted wins over throttled (a later notification)', [throttled('a', 'global'), unrouted('a')], [], 'unrouted'],
    [
      'a held-back notification that still paged is throttled, with what it requested',
      [throttled('a', 'alert:x'), decision('a', 'route', 'escalated')],
      [request('a', 'page'), request('a', 'page', { route: 'ratelimit/notice' })],
      'throttled (alert:x); still requested page',
    ],
    [
      'a later admitted notification that made requests wins over the held-back one',
      [throttled('a', 'alert:x'), decision('a', 'route', 'escalated')],
      [request('a', 'page'), request('a', 'log-level', { receivedAt: T + 1 })],
      'requested log-level',
    ],
    ['throttled wins over dedup drops', [duplicate('a'), throttled('a', 'team:core')], [], 'throttled (team:core)'],
    [
      'dedup kinds, once each',
      [duplicate('a'), duplicate('a'), decision('a', 'dedup', 'firing_after_resolved')],
      [],
      'dropped by dedup (duplicate_firing, firing_after_resolved)',
    ],
    ['an unowned alert is no fate of its own', [decision('a', 'enrich', 'unowned')], [], 'no outcome'],
    [
      'a throttled decision without a limit detail shows its reason',
      [decision('a', 'ratelimit', 'throttled')],
      [],
      'throttled (ratelimit said throttled)',
    ],
  ])('%s', (_name, decisions, requests, text) => {
    expect(fateOf(decisions, requests).text).toBe(text)
  })
})

describe('requestSummary', () => {
  it('takes the alert and the receive time from the request', () => {
    const alertRec = enrichedAlertRecord({ alert: { fingerprint: 'f', status: 'resolved', receivedAt: 42 } })
    expect(
      requestSummary({
        idempotencyKey: 'k',
        action: 'page',
        route: 'r',
        params: {},
        dryRun: true,
        requestedAt: 42,
        alert: alertRec,
      }),
    ).toEqual({
      fingerprint: 'f',
      startsAt: alertRec.alert.startsAt,
      status: 'resolved',
      receivedAt: 42,
      action: 'page',
      route: 'r',
      dryRun: true,
    })
  })
})
