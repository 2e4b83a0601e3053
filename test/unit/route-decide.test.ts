import { SchemaSet } from '../../src/contracts/schemas'
import type { EnrichedAlertRecord } from '../../src/contracts/records'
import { parseRoutesFile, type RouteTree } from '../../src/stages/route/config'
import { decideRoute, idempotencyKey, matchLabels, routeAlert } from '../../src/stages/route/decide'
import { routeStage } from '../../src/stages/route/stage'
import type { ActionOutcomeRecord, ActionRequestRecord, DecisionRecord } from '../../src/contracts/records'
import { topicNames } from '../../src/topology/names'
import { enrichedAlertRecord } from '../support/records'

const ACTIONS = ['page', 'webhook', 'exec', 'log-level', 'thread-dump']
const tree = (yaml: string): RouteTree => parseRoutesFile(yaml, 'routes.yaml', ACTIONS)
const schemas = SchemaSet.load()
const SOURCE = { topic: 'p.alerts.admitted', partition: 3, offset: '42' }

function enriched(labels: Record<string, string>, over: Partial<EnrichedAlertRecord> = {}): EnrichedAlertRecord {
  return enrichedAlertRecord({ alert: { labels }, team: 'unowned', service: null, ...over })
}

// Alertmanager's dispatch/route_test.go style: one tree, many label sets.
const TREE = tree(`
route:
  routes:
    - name: a
      matchers: [owner=team-A]
      routes:
        - name: a-crit
          matchers: [severity=critical]
        - name: a-env
          matchers: ['env=~"prod|staging"']
          continue: true
        - name: a-env-2
          matchers: [env=prod]
    - name: b
      matchers: [owner=team-B]
      continue: true
    - name: b-and-c
      matchers: ['owner=~"team-B|team-C"']
      continue: true
    - name: c
      matchers: [owner=team-C]
      routes:
        - name: c-deep
          matchers: [a=b]
          routes:
            - name: c-deeper
              matchers: ['c!=""']
    - name: missing-label
      matchers: ['region=""', 'owner=team-D']
`)

describe('routeAlert: the Alertmanager walk', () => {
  it.each<[string, Record<string, string>, string[]]>([
    ['no child matches: the root itself', { owner: 'nobody' }, ['root']],
    ['a match without matching children is the match', { owner: 'team-A' }, ['a']],
    ['first matching child wins', { owner: 'team-A', severity: 'critical', env: 'prod' }, ['a-crit']],
    ['continue tries the next siblings too', { owner: 'team-A', env: 'prod' }, ['a-env', 'a-env-2']],
    ['continue with no later sibling matching', { owner: 'team-A', env: 'staging' }, ['a-env']],
    ['continue chains across siblings', { owner: 'team-B' }, ['b', 'b-and-c']],
    ['continue, then a non-continue match stops', { owner: 'team-C' }, ['b-and-c', 'c']],
    ['nested: deepest match', { owner: 'team-C', a: 'b', c: 'x' }, ['b-and-c', 'c-deeper']],
    ['nested: parent when the grandchild does not match', { owner: 'team-C', a: 'b' }, ['b-and-c', 'c-deep']],
    ['a missing label matches ""', { owner: 'team-D' }, ['missing-label']],
    ['a present label does not match ""', { owner: 'team-D', region: 'eu' }, ['root']],
    ['no labels at all', {}, ['root']],
  ])('%s', (_name, labels, ids) => {
    expect(routeAlert(TREE, enriched(labels)).map((r) => r.id)).toEqual(ids)
  })

  it('matches catalog team/service/tier when the alert lacks those labels; alert labels win', () => {
    const t = tree('route:\n  routes:\n    - name: x\n      matchers: [team=payments, service=checkout, tier=tier-1]\n')
    const catalog = { team: 'payments', service: 'checkout', tier: 'tier-1' }
    expect(routeAlert(t, enriched({}, catalog)).map((r) => r.id)).toEqual(['x'])
    expect(routeAlert(t, enriched({ service: 'search' }, catalog)).map((r) => r.id)).toEqual(['root'])
    expect(routeAlert(t, enriched({}, { team: 'payments', service: null, tier: 'tier-1' })).map((r) => r.id)).toEqual([
      'root',
    ])
    expect(matchLabels(enriched({ team: 'a', x: 'y' }, { team: 'b', service: 's' }))).toEqual({
      team: 'a',
      x: 'y',
      service: 's',
    })
  })
})

describe('decideRoute', () => {
  const topics = topicNames('p.')
  const ctx = { topics, prefix: 'p.', source: SOURCE }
  const t = tree(`
route:
  routes:
    - name: log
      matchers: [service=checkout]
      continue: true
      action: log-level
      params: { url: "{{ endpoints.admin }}/loggers", level: DEBUG }
    - name: dump
      matchers: [alertname=HighLatency]
      continue: true
      action: thread-dump
      dry_run: true
      params: { instance: "{{ labels.instance }}" }
    - matchers: [severity=critical]
      action: page
    - name: group-only
      matchers: [severity=warning]
`)
  const valid = (schema: string, value: unknown) =>
    schemas.type(schema).isValid(value, {
      errorHook: (p) => {
        throw new Error(`${schema} invalid at ${p.join('.')}`)
      },
    })

  it('makes one ActionRequest per matched route with an action, on the prefixed action topic', () => {
    const record = enriched(
      { alertname: 'HighLatency', severity: 'critical', instance: 'web-1' },
      { service: 'checkout', endpoints: { admin: 'http://c:8081' } },
    )
    const { kind, emits } = decideRoute(t, record, ctx)
    expect(kind).toBe('routed')
    expect(emits.map((e) => [e.topic, e.key, e.schema])).toEqual([
      ['p.actions.log-level', '16ddbf5dcf57d972', 'ActionRequest'],
      ['p.actions.thread-dump', '16ddbf5dcf57d972', 'ActionRequest'],
      ['p.actions.page', '16ddbf5dcf57d972', 'ActionRequest'],
    ])
    const [log, dump, page] = emits.map((e) => e.value as ActionRequestRecord)
    expect(log).toEqual({
      idempotencyKey: '16ddbf5dcf57d972|2026-11-25T00:52:34.568Z|log-level|log',
      action: 'log-level',
      route: 'log',
      params: { url: 'http://c:8081/loggers', level: 'DEBUG' },
      dryRun: false,
      requestedAt: 1_764_000_000_000,
      alert: record,
    })
    expect(dump).toMatchObject({ route: 'dump', dryRun: true, params: { instance: 'web-1' } })
    expect(page).toMatchObject({
      route: 'root/2',
      params: {},
      idempotencyKey: idempotencyKey(record, 'page', 'root/2'),
    })
    for (const e of emits) expect(valid('ActionRequest', e.value)).toBe(true)
  })

  it.each<[string, Record<string, string>]>([
    ['nothing matches: the root has no action', { severity: 'info' }],
    ['only a route without an action matches', { severity: 'warning' }],
  ])('unrouted: %s', (_name, labels) => {
    const record = enriched(labels)
    const { kind, emits } = decideRoute(t, record, ctx)
    expect(kind).toBe('unrouted')
    expect(emits.map((e) => [e.topic, e.key, e.schema])).toEqual([
      ['p.alerts.unrouted', '16ddbf5dcf57d972', 'EnrichedAlert'],
      ['p.nightshift.decisions', '16ddbf5dcf57d972', 'Decision'],
    ])
    expect(emits[0]!.value).toBe(record)
    const decision = emits[1]!.value as DecisionRecord
    expect(decision).toEqual({
      fingerprint: '16ddbf5dcf57d972',
      startsAt: '2026-11-25T00:52:34.568Z',
      status: 'firing',
      stage: 'route',
      kind: 'unrouted',
      reason: 'no route with an action matched the alert',
      detail: { routes: labels.severity === 'warning' ? 'group-only' : 'root', file: 'routes.yaml' },
      source: SOURCE,
      decidedAt: 1_764_000_000_000,
    })
    expect(valid('EnrichedAlert', emits[0]!.value)).toBe(true)
    expect(valid('Decision', decision)).toBe(true)
  })

  it('a missing placeholder: an error outcome and a template_error decision instead of that request; the others still go', () => {
    const record = enriched(
      { alertname: 'HighLatency', severity: 'critical' },
      { service: 'checkout', team: 'payments', slo: 'avail' },
    )
    const { kind, emits } = decideRoute(t, record, ctx)
    expect(kind).toBe('template_error')
    expect(emits.map((e) => [e.topic, e.schema])).toEqual([
      ['p.actions.outcomes', 'ActionOutcome'],
      ['p.nightshift.decisions', 'Decision'],
      ['p.actions.outcomes', 'ActionOutcome'],
      ['p.nightshift.decisions', 'Decision'],
      ['p.actions.page', 'ActionRequest'],
    ])
    const outcome = emits[0]!.value as ActionOutcomeRecord
    expect(outcome).toEqual({
      idempotencyKey: '16ddbf5dcf57d972|2026-11-25T00:52:34.568Z|log-level|log',
      action: 'log-level',
      route: 'log',
      fingerprint: '16ddbf5dcf57d972',
      startsAt: '2026-11-25T00:52:34.568Z',
      team: 'payments',
      service: 'checkout',
      slo: 'avail',
      status: 'error',
      attempts: 0,
      startedAt: null,
      finishedAt: 1_764_000_000_000,
      detail: 'route log: the alert has no endpoints.admin for the params of action log-level',
      output: {},
      escalatedTo: null,
      dryRun: false,
      alertname: 'HighLatency',
      durationMs: null,
      artifact: null,
    })
    expect((emits[2]!.value as ActionOutcomeRecord).detail).toContain('labels.instance')
    expect((emits[2]!.value as ActionOutcomeRecord).dryRun).toBe(true)
    const decision = emits[1]!.value as DecisionRecord
    expect(decision).toMatchObject({
      stage: 'route',
      kind: 'template_error',
      detail: { route: 'log', action: 'log-level', missing: 'endpoints.admin' },
    })
    for (const e of emits) expect(valid(e.schema, e.value)).toBe(true)
  })

  it("puts the route's budget gate on its requests, and none on the others", () => {
    const gated = tree(`
route:
  routes:
    - name: restart
      continue: true
      action: webhook
      params: { url: "http://x/restart" }
      gate: { min_budget_remaining: 0.2, max_burn_rate: 6, burn_window: 6h }
    - action: page
`)
    const { emits } = decideRoute(gated, enriched({ alertname: 'HighLatency', severity: 'critical' }), ctx)
    const [restart, page] = emits.map((e) => e.value as ActionRequestRecord)
    expect(restart!.gate).toEqual({ minBudgetRemaining: 0.2, maxBurnRate: 6, burnWindow: '6h' })
    expect(page!.gate).toBeUndefined()
    for (const e of emits) expect(valid(e.schema, e.value)).toBe(true)
  })

  it('routes resolved alerts the same way', () => {
    const record = enriched({ severity: 'critical' })
    record.alert.status = 'resolved'
    const { kind, emits } = decideRoute(t, record, ctx)
    expect(kind).toBe('routed')
    expect(emits.map((e) => e.topic)).toEqual(['p.actions.page'])
  })

  it('is pure: the same record decides the same', () => {
    const record = enriched({ alertname: 'HighLatency', instance: 'i', severity: 'critical' }, { service: 'checkout' })
    expect(decideRoute(t, record, ctx)).toEqual(decideRoute(t, record, ctx))
  })
})

describe('routeStage', () => {
  it('binds topics, group and schema, and reads the current routes for every record', () => {
    let current = tree('route:\n  action: page\n')
    const stage = routeStage(topicNames('x.'), 'x.', () => current)
    expect(stage).toMatchObject({
      name: 'route',
      groupId: 'x.nightshift-route',
      inputTopics: ['x.alerts.admitted', 'x.alerts.throttled'],
      inputSchema: 'EnrichedAlert',
    })
    expect(stage.state).toBeUndefined()
    const context = { source: SOURCE, timestamp: 0, state: { get: () => undefined }, now: 0, later: () => [] }
    expect(stage.process(enriched({}), context).emits.map((e) => e.topic)).toEqual(['x.actions.page'])
    current = tree('route: {}\n')
    const result = stage.process(enriched({}), context)
    expect(result.kind).toBe('unrouted')
    expect(result.emits.map((e) => e.topic)).toEqual(['x.alerts.unrouted', 'x.nightshift.decisions'])
  })
})
