import { SchemaSet } from '../../src/contracts/schemas'
import type { ActionRequestRecord, EnrichedAlertRecord, ThrottleRecord } from '../../src/contracts/records'
import { parseRoutesFile } from '../../src/stages/route/config'
import {
  decideRoute,
  decideThrottledRoute,
  idempotencyKey,
  NOTICE_ROUTE,
  noticeKey,
  type RouteContext,
} from '../../src/stages/route/decide'
import { routeStage } from '../../src/stages/route/stage'
import { topicNames } from '../../src/topology/names'
import { enrichedAlertRecord } from '../support/records'

const schemas = SchemaSet.load()
const topics = topicNames('p.')
const SOURCE = { topic: topics.throttled, partition: 1, offset: '7' }
const T0 = Date.UTC(2026, 10, 25, 10, 0, 0)
const LIMIT = 'alert:payments/checkout/HighLatency'

const TREE = parseRoutesFile(
  `
route:
  routes:
    - name: log-level-critical
      matchers: [severity=critical]
      continue: true
      action: log-level
      params: { level: DEBUG }
    - name: note
      matchers: [severity=critical]
      continue: true
      action: incident-note
    - name: page-critical
      matchers: [severity=critical]
      action: page
      params: { summary: "{{ labels.alertname }} is {{ status }}" }
    - name: warnings
      matchers: [severity=warning]
      action: thread-dump
`,
  'routes.yaml',
  ['page', 'log-level', 'thread-dump', 'incident-note'],
)

const ctx: RouteContext = { topics, prefix: 'p.', source: SOURCE, escalations: new Set(['page']), noticeAction: 'page' }

function throttled(
  severity: string,
  throttle: Partial<ThrottleRecord> | null,
  fingerprint = 'fp1',
): EnrichedAlertRecord {
  return enrichedAlertRecord({
    alert: {
      fingerprint,
      labels: { alertname: 'HighLatency', severity },
      startsAt: '2026-11-25T09:59:00Z',
      receivedAt: T0 + 5000,
    },
    throttledBy: LIMIT,
    throttle:
      throttle === null
        ? null
        : {
            limit: LIMIT,
            level: 'alert',
            rate: '6/1h',
            burst: 3,
            windowStart: T0,
            windowMs: 3600_000,
            heldBack: 1,
            notify: false,
            escalate: false,
            escalationHeldBy: null,
            ...throttle,
          },
  })
}

/** topic → action/route of each emit, Decisions by kind. */
function summary(emits: ReturnType<typeof decideThrottledRoute>['emits']): string[] {
  return emits.map((e) => {
    if (e.schema === 'ActionRequest') {
      const r = e.value as ActionRequestRecord
      return `${e.topic} ${r.route}`
    }
    if (e.schema === 'Decision') return `${e.topic} ${(e.value as { kind: string }).kind}`
    return e.topic
  })
}

describe('decideThrottledRoute: a held-back alert reaches escalations only', () => {
  it.each<[string, EnrichedAlertRecord, RouteContext, string, string[]]>([
    [
      'escalate: only the page of its routes, none of the automation',
      throttled('critical', { escalate: true }),
      ctx,
      'escalated',
      ['p.actions.page page-critical', 'p.nightshift.decisions escalated'],
    ],
    [
      'escalate and notify: its page and the notice',
      throttled('critical', { escalate: true, notify: true }),
      ctx,
      'escalated',
      ['p.actions.page page-critical', `p.actions.page ${NOTICE_ROUTE}`, 'p.nightshift.decisions escalated'],
    ],
    [
      'its page over the escalation limit: only the notice',
      throttled('critical', { escalationHeldBy: `escalation:${LIMIT}`, notify: true }),
      ctx,
      'escalated',
      [`p.actions.page ${NOTICE_ROUTE}`, 'p.nightshift.decisions escalated'],
    ],
    [
      'no escalation route, first of the window: the notice',
      throttled('warning', { notify: true }),
      ctx,
      'escalated',
      [`p.actions.page ${NOTICE_ROUTE}`, 'p.nightshift.decisions escalated'],
    ],
    [
      'no escalation route, later in the window: nothing but the Decision (never alerts.unrouted)',
      throttled('warning', { heldBack: 4 }),
      ctx,
      'held',
      ['p.nightshift.decisions held'],
    ],
    [
      'an action marked as escalation in actions.yaml goes too',
      throttled('critical', { escalate: true }),
      { ...ctx, escalations: new Set(['page', 'incident-note']) },
      'escalated',
      ['p.actions.incident-note note', 'p.actions.page page-critical', 'p.nightshift.decisions escalated'],
    ],
    [
      'no page action declared: no notice, and the Decision says why',
      throttled('warning', { notify: true }),
      { ...ctx, noticeAction: null },
      'held',
      ['p.nightshift.decisions held'],
    ],
    ['a record written before throttles had details: nothing', throttled('critical', null), ctx, 'held', []],
  ])('%s', (_name, record, context, kind, expected) => {
    const decision = decideThrottledRoute(TREE, record, context)
    expect(decision.kind).toBe(kind)
    expect(summary(decision.emits)).toEqual(expected)
    for (const e of decision.emits) expect(schemas.type(e.schema).isValid(e.value)).toBe(true)
  })

  it("a held-back alert's page has the idempotency key it would have had when admitted", () => {
    const record = throttled('critical', { escalate: true })
    const [page] = decideThrottledRoute(TREE, record, ctx).emits
    const admitted = decideRoute(TREE, { ...record, throttledBy: null, throttle: null }, ctx).emits.find(
      (e) => e.topic === 'p.actions.page',
    )
    expect((page!.value as ActionRequestRecord).idempotencyKey).toBe(idempotencyKey(record, 'page', 'page-critical'))
    expect((page!.value as ActionRequestRecord).idempotencyKey).toBe(
      (admitted!.value as ActionRequestRecord).idempotencyKey,
    )
  })

  it('the notice: a page request naming the limit, the window and the count, keyed once per limit and window', () => {
    const first = decideThrottledRoute(TREE, throttled('warning', { notify: true }), ctx).emits[0]!
    expect(first.key).toBe('fp1')
    const request = first.value as ActionRequestRecord
    expect(request).toMatchObject({
      idempotencyKey: `throttle|${LIMIT}|2026-11-25T10:00:00.000Z|page`,
      action: 'page',
      route: NOTICE_ROUTE,
      dryRun: false,
      requestedAt: T0 + 5000,
      params: {
        team: 'payments',
        summary: `Automation held back for ${LIMIT}: HighLatency over the alert rate limit`,
        limit: LIMIT,
        heldBack: '1',
        window: '2026-11-25T10:00:00.000Z',
      },
    })
    expect(request.params.reason).toContain(`over the alert limit ${LIMIT} (6/1h, burst 3)`)
    expect(request.params.reason).toContain('Told once until 2026-11-25T11:00:00.000Z')
    // Another alert held back by the same limit in the same window has the same key: even
    // a notice decided twice (a lost notice entry) runs once.
    const other = decideThrottledRoute(TREE, throttled('warning', { notify: true }, 'fp2'), ctx).emits[0]!
    expect((other.value as ActionRequestRecord).idempotencyKey).toBe(request.idempotencyKey)
    expect(noticeKey(LIMIT, T0 + 3600_000, 'page')).not.toBe(request.idempotencyKey)
  })

  it('is pure: the same record decides the same', () => {
    const record = throttled('critical', { escalate: true, notify: true })
    expect(decideThrottledRoute(TREE, record, ctx)).toEqual(decideThrottledRoute(TREE, record, ctx))
  })
})

describe('routeStage reads alerts.throttled too', () => {
  const stage = routeStage(topics, 'p.', () => TREE)
  const context = (topic: string) => ({
    source: { ...SOURCE, topic },
    timestamp: 0,
    state: { get: () => undefined },
    now: 0,
    later: () => [],
  })

  it('routes a record of alerts.throttled to escalations only (page by default)', () => {
    const record = throttled('critical', { escalate: true, notify: true })
    expect(summary(stage.process(record, context(topics.throttled)).emits)).toEqual([
      'p.actions.page page-critical',
      `p.actions.page ${NOTICE_ROUTE}`,
      'p.nightshift.decisions escalated',
    ])
  })

  it('routes a record of alerts.admitted as before', () => {
    const record = enrichedAlertRecord({ alert: { labels: { alertname: 'HighLatency', severity: 'critical' } } })
    expect(stage.process(record, context(topics.admitted)).emits.map((e) => e.topic)).toEqual([
      'p.actions.log-level',
      'p.actions.incident-note',
      'p.actions.page',
    ])
  })
})
