/**
 * The console's views folded from decoded records (src/console/views/): rows, filters,
 * paging and cursor stability, pending approvals and holds, eviction, the alert story,
 * label search, progress and live events. No Kafka: records are fed directly.
 */
import { answerRecord, type ApprovalAnswer } from '../../src/actions/worker/approvals'
import { pauseRecord, resumeRecord } from '../../src/actions/worker/control'
import { newPause } from '../../src/actions/worker/pause'
import { decodeCursor, encodeCursor } from '../../src/console/views/actions-view'
import { TopicProgress } from '../../src/console/views/progress'
import { ConsoleViewState, type ViewLimits } from '../../src/console/views/state'
import type { ActionQuery, ConsoleEvent } from '../../src/console/types'
import type { ActionOutcomeRecord, DecisionRecord, SloBudgetRecord } from '../../src/contracts/records'
import { ERROR_CODES } from '../../src/errors'
import { actionRequest } from '../support/actions'
import type { InRecord, OutRecord } from '../../src/kafka'
import { createLogger } from '../../src/log'
import { topicNames } from '../../src/topology/names'

const topics = topicNames('t.')
const T = 1_765_000_000_000
const FP = 'a1b2c3d4e5f60708'

function outcome(over: Partial<ActionOutcomeRecord> = {}): ActionOutcomeRecord {
  return {
    idempotencyKey: 'k1',
    action: 'restart',
    route: 'r',
    fingerprint: FP,
    startsAt: '2026-12-01T00:00:00.000Z',
    team: 'payments',
    service: 'checkout',
    slo: null,
    status: 'succeeded',
    attempts: 1,
    startedAt: T,
    finishedAt: T,
    detail: null,
    output: {},
    escalatedTo: null,
    dryRun: false,
    alertname: 'HighLatency',
    durationMs: 10,
    artifact: null,
    ...over,
  }
}

function decision(over: Partial<DecisionRecord> = {}): DecisionRecord {
  return {
    fingerprint: FP,
    startsAt: '2026-12-01T00:00:00.000Z',
    status: 'firing',
    stage: 'ratelimit',
    kind: 'throttled',
    reason: 'over the team limit payments (10/m, burst 2)',
    detail: {},
    source: { topic: 'x', partition: 0, offset: '0' },
    decidedAt: T,
    ...over,
  }
}

/** A state with every topic's end offsets known (empty: caught up at once) unless `rebuilding`. */
function makeViews(limits: Partial<ViewLimits> = {}, rebuilding?: Record<string, number>) {
  const views = new ConsoleViewState(topics, createLogger({ level: 'warn' }), limits)
  for (const topic of [topics.outcomes, topics.decisions, topics.control, topics.budget])
    views.begin(topic, new Map([[0, BigInt(rebuilding?.[topic] ?? 0)]]))
  const offsets = new Map<string, number>()
  const at = (topic: string, timestamp = T) => {
    const offset = offsets.get(topic) ?? 0
    offsets.set(topic, offset + 1)
    return { topic, partition: 0, offset: String(offset), timestamp }
  }
  return {
    views,
    out: (over: Partial<ActionOutcomeRecord>) => views.outcome(outcome(over), at(topics.outcomes, over.finishedAt)),
    dec: (over: Partial<DecisionRecord>) => views.decision(decision(over), at(topics.decisions, over.decidedAt)),
    control: (record: OutRecord) => {
      const a = at(topics.control)
      views.control(inRecord(record, a.offset))
    },
    budget: (slo: string, value: SloBudgetRecord | null) => views.budget(slo, value, at(topics.budget)),
  }
}

function inRecord(record: OutRecord, offset: string): InRecord {
  return {
    topic: record.topic,
    partition: 0,
    offset,
    key: record.key === null ? null : Buffer.from(record.key),
    value: record.value,
    headers: {},
    timestamp: record.timestamp ?? String(T),
  }
}

const keys = (rows: Array<{ key: string }>) => rows.map((r) => r.key)

describe('the Actions view', () => {
  it('keeps the latest outcome of each key with its earlier records, newest first', () => {
    const { views, out } = makeViews()
    out({ idempotencyKey: 'a', status: 'held', finishedAt: T })
    out({ idempotencyKey: 'b', status: 'succeeded', finishedAt: T + 1 })
    out({ idempotencyKey: 'a', status: 'awaiting_approval', finishedAt: T + 2 })
    out({ idempotencyKey: 'a', status: 'succeeded', finishedAt: T + 3 })
    // Same finishedAt: the later position is newer.
    out({ idempotencyKey: 'c', status: 'failed', finishedAt: T + 3 })
    // A not_effective follow-up carries the success's key and is its own row.
    out({ idempotencyKey: 'b', status: 'not_effective', finishedAt: T + 4 })

    const page = views.actions({})
    expect(keys(page.rows)).toEqual(['b#not_effective', 'c', 'a', 'b'])
    expect(page.total).toBe(4)
    expect(page.next).toBeUndefined()
    const a = views.action('a')!
    expect(a.outcome.status).toBe('succeeded')
    expect(a.history.map((o) => o.status)).toEqual(['held', 'awaiting_approval'])
    expect(a.position).toBe('0:3')
    expect(views.action('b')!.outcome.status).toBe('succeeded')
    expect(views.action('nope')).toBeUndefined()
  })

  describe('filters', () => {
    const { views, out } = makeViews()
    out({ idempotencyKey: 'p1', team: 'payments', service: 'checkout', action: 'restart', finishedAt: T })
    out({
      idempotencyKey: 'p2',
      team: 'payments',
      service: 'ledger',
      action: 'page',
      status: 'failed',
      finishedAt: T + 10,
    })
    out({ idempotencyKey: 's1', team: 'search', service: null, action: 'restart', status: 'held', finishedAt: T + 20 })
    out({ idempotencyKey: 's2', team: 'search', service: 'index', action: 'page', finishedAt: T + 30 })

    it.each<[string, ActionQuery, string[]]>([
      ['none', {}, ['s2', 's1', 'p2', 'p1']],
      ['team', { team: 'payments' }, ['p2', 'p1']],
      ['service', { service: 'index' }, ['s2']],
      ['action', { action: 'restart' }, ['s1', 'p1']],
      ['status', { status: 'succeeded' }, ['s2', 'p1']],
      ['team and action', { team: 'search', action: 'page' }, ['s2']],
      ['since (inclusive)', { since: T + 10 }, ['s2', 's1', 'p2']],
      ['until (exclusive)', { until: T + 20 }, ['p2', 'p1']],
      ['since and until', { since: T + 10, until: T + 30 }, ['s1', 'p2']],
      ['range and status', { since: T, until: T + 31, status: 'failed' }, ['p2']],
      ['nothing matches', { team: 'nobody' }, []],
    ])('%s', (_what, query, expected) => {
      const page = views.actions(query)
      expect(keys(page.rows)).toEqual(expected)
      expect(page.total).toBe(expected.length)
    })
  })

  it('pages with a cursor that stays put while newer and late rows arrive', () => {
    const { views, out } = makeViews()
    for (let i = 0; i < 7; i++) out({ idempotencyKey: `k${i}`, finishedAt: T + i * 10, team: i % 2 ? 'odd' : 'even' })
    const first = views.actions({ limit: 3 })
    expect(keys(first.rows)).toEqual(['k6', 'k5', 'k4'])
    expect(first.total).toBe(7)
    // Newer rows, and one finished between k2 and k3 read only now.
    out({ idempotencyKey: 'new', finishedAt: T + 100 })
    out({ idempotencyKey: 'late', finishedAt: T + 25 })
    const second = views.actions({ limit: 3, cursor: first.next! })
    expect(keys(second.rows)).toEqual(['k3', 'late', 'k2'])
    expect(second.total).toBe(9)
    const third = views.actions({ limit: 3, cursor: second.next! })
    expect(keys(third.rows)).toEqual(['k1', 'k0'])
    expect(third.next).toBeUndefined()
    // With a filter, the cursor pages the filtered rows.
    const even = views.actions({ team: 'even', limit: 2 })
    expect(keys(even.rows)).toEqual(['k6', 'k4'])
    expect(even.total).toBe(4)
    expect(keys(views.actions({ team: 'even', limit: 2, cursor: even.next! }).rows)).toEqual(['k2', 'k0'])
  })

  it('clamps the page size and refuses a cursor it did not make', () => {
    const { views, out } = makeViews()
    for (let i = 0; i < 3; i++) out({ idempotencyKey: `k${i}`, finishedAt: T + i })
    expect(views.actions({ limit: 0 }).rows).toHaveLength(1)
    expect(views.actions({ limit: 10_000 }).rows).toHaveLength(3)
    expect(() => views.actions({ cursor: 'garbage' })).toThrow(
      expect.objectContaining({ code: ERROR_CODES.BAD_REQUEST }),
    )
    expect(decodeCursor(encodeCursor({ finishedAt: T, partition: 2, offset: 9 }))).toEqual({
      finishedAt: T,
      partition: 2,
      offset: 9,
    })
  })

  it('evicts the oldest rows beyond maxRows and reports its sizes', () => {
    const { views, out } = makeViews({ maxRows: 3 })
    out({ idempotencyKey: 'asked', status: 'awaiting_approval', finishedAt: T, output: { approval: 'aaaaaaaaaaaa' } })
    for (let i = 1; i <= 4; i++) out({ idempotencyKey: `k${i}`, finishedAt: T + i })
    out({ idempotencyKey: 'k4', status: 'failed', finishedAt: T + 5 })
    expect(keys(views.actions({}).rows)).toEqual(['k4', 'k3', 'k2'])
    expect(views.action('k1')).toBeUndefined()
    // A request still waiting for a person stays listed as pending after its row went.
    expect(views.pendingApprovals().map((p) => p.key)).toEqual(['asked'])
    expect(views.sizes()).toMatchObject({ actionRows: 3, actionHistory: 1, pendingApprovals: 1, held: 0 })
  })

  it('keeps 200,000 rows queryable (a sanity check, not a benchmark)', () => {
    const { views, out } = makeViews({ maxRows: 50_000 })
    const teams = ['payments', 'search', 'ads', 'infra']
    for (let i = 0; i < 200_000; i++)
      out({
        idempotencyKey: `k${i}`,
        finishedAt: T + i,
        team: teams[i % 4]!,
        status: i % 7 === 0 ? 'failed' : 'succeeded',
      })
    const first = views.actions({})
    expect(first.rows[0]!.key).toBe('k199999')
    expect(first.total).toBe(50_000)
    const filtered = views.actions({ team: 'ads', status: 'failed', limit: 10 })
    expect(filtered.rows.every((r) => r.outcome.team === 'ads' && r.outcome.status === 'failed')).toBe(true)
    expect(filtered.rows).toHaveLength(10)
    const expected = Array.from({ length: 50_000 }, (_, j) => 150_000 + j).filter((i) => i % 4 === 2 && i % 7 === 0)
    expect(filtered.total).toBe(expected.length)
    expect(filtered.rows[0]!.key).toBe(`k${expected[expected.length - 1]}`)
  })
})

describe('pending approvals and holds', () => {
  const answer = (over: Partial<ApprovalAnswer> = {}): ApprovalAnswer => ({
    id: 'abcdef012345',
    decision: 'approve',
    by: 'alice',
    reason: 'go',
    at: T + 50,
    via: 'cli',
    ...over,
  })

  it('lists what waits for a person, oldest first, with the first answer', () => {
    const { views, out, control } = makeViews()
    out({
      idempotencyKey: 'late',
      status: 'awaiting_approval',
      finishedAt: T + 10,
      output: { approval: 'abcdef012345', approvalTimeoutAt: new Date(T + 600_000).toISOString() },
    })
    out({ idempotencyKey: 'early', status: 'awaiting_approval', finishedAt: T, output: { approval: '111111111111' } })
    control(answerRecord(answer(), topics.control))
    control(answerRecord(answer({ by: 'bob', decision: 'deny' }), topics.control))
    const pending = views.pendingApprovals()
    expect(pending.map((p) => [p.key, p.id, p.askedAt, p.timeoutAt])).toEqual([
      ['early', '111111111111', T, null],
      ['late', 'abcdef012345', T + 10, T + 600_000],
    ])
    expect(pending[0]!.answer).toBeUndefined()
    expect(pending[1]!.answer).toMatchObject({ by: 'alice', decision: 'approve' })
    // The final outcome ends it.
    out({ idempotencyKey: 'late', status: 'succeeded', finishedAt: T + 60 })
    expect(views.pendingApprovals().map((p) => p.key)).toEqual(['early'])
  })

  it.each<[string, Array<Partial<ActionOutcomeRecord>>, string[], string[]]>([
    ['a wait', [{ status: 'held', output: { holdUntil: new Date(T + 300_000).toISOString() } }], ['k'], []],
    [
      'a wait, then an approval',
      [
        { status: 'held', output: { holdUntil: 'x' } },
        { status: 'awaiting_approval', output: { approval: 'a' } },
      ],
      [],
      ['k'],
    ],
    ['a wait cancelled by a resolve', [{ status: 'held' }, { status: 'cancelled_resolved' }], [], []],
    ['an approval denied', [{ status: 'awaiting_approval' }, { status: 'denied' }], [], []],
    ['an approval expired', [{ status: 'awaiting_approval' }, { status: 'approval_expired' }], [], []],
  ])('%s', (_what, steps, held, pending) => {
    const { views, out } = makeViews()
    steps.forEach((s, i) => out({ idempotencyKey: 'k', finishedAt: T + i, ...s }))
    expect(views.held().map((h) => h.key)).toEqual(held)
    expect(views.pendingApprovals().map((p) => p.key)).toEqual(pending)
  })

  it('reads holdUntil as the end of a wait', () => {
    const { views, out } = makeViews()
    out({ idempotencyKey: 'k', status: 'held', output: { holdUntil: new Date(T + 300_000).toISOString() } })
    out({ idempotencyKey: 'j', status: 'held', finishedAt: T + 1, output: {} })
    expect(views.held().map((h) => [h.key, h.until])).toEqual([
      ['k', T + 300_000],
      ['j', null],
    ])
  })
})

describe('the Alert view', () => {
  it("tells an alert's story and why it did not fire with the trace command's logic", () => {
    const { views, out, dec } = makeViews()
    dec({ decidedAt: T, reason: 'over the team limit payments (10/m, burst 2); kept on alerts.throttled' })
    const story = views.alert(FP)!
    expect(story.complete).toBe(true)
    expect(story.events.map((e) => [e.stage, e.kind])).toEqual([['ratelimit', 'throttled']])
    expect(story.episodes).toHaveLength(1)
    expect(story.episodes[0]!.verdict.fired).toBe(false)
    expect(story.episodes[0]!.verdict.text).toContain('over the team limit payments')

    // A later episode that ran: episodes newest first.
    out({ startsAt: '2026-12-02T00:00:00.000Z', finishedAt: T + 100, status: 'succeeded' })
    const two = views.alert(FP)!
    expect(two.episodes.map((e) => [e.startsAt, e.verdict.fired])).toEqual([
      ['2026-12-02T00:00:00.000Z', true],
      ['2026-12-01T00:00:00.000Z', false],
    ])
    expect(views.alert('unknown')).toBeUndefined()
  })

  it("keeps each request's params and labels for its row, and puts it (and its wake) in the story", () => {
    const views = new ConsoleViewState(
      { ...topics, actions: ['t.actions.restart'] },
      createLogger({ level: 'warn' }),
      {},
    )
    for (const topic of [topics.outcomes, topics.decisions, topics.control, topics.budget, 't.actions.restart'])
      views.begin(topic, new Map([[0, 0n]]))
    const request = actionRequest({ action: 'restart', fingerprint: FP, params: { url: 'http://checkout/restart' } })
    const key = request.idempotencyKey
    const pos = (topic: string, offset: number, timestamp: number) => ({
      topic,
      partition: 0,
      offset: String(offset),
      timestamp,
    })
    views.request(request, pos('t.actions.restart', 0, T))
    views.request(request, pos('t.actions.restart', 1, T + 50), 'answer')
    views.outcome(
      outcome({ idempotencyKey: key, finishedAt: T + 100, status: 'succeeded' }),
      pos(topics.outcomes, 0, T + 100),
    )
    expect(views.action(key)?.request).toEqual({
      route: 'test',
      params: { url: 'http://checkout/restart' },
      labels: { alertname: 'HighLatency', severity: 'critical' },
      requestedAt: request.requestedAt,
    })
    expect(views.actions({}).rows[0]).not.toHaveProperty('request') // the list stays light
    expect(views.alert(FP)!.events.map((e) => e.kind)).toEqual(['routed', 'woken', 'outcome'])
    // Labels of the request make the alert findable by any of them.
    expect(views.findAlerts('severity="critical"')).toEqual([FP])
    expect(views.sizes().requests).toBe(1)
    expect(views.progress().map((p) => p.topic)).toContain('t.actions.restart')
  })

  it('trims a fingerprint to maxPerFingerprint records and says the story is incomplete', () => {
    const { views, dec } = makeViews({ maxPerFingerprint: 3 })
    for (let i = 0; i < 5; i++) dec({ decidedAt: T + i, kind: `k${i}`, stage: 'route' })
    const story = views.alert(FP)!
    expect(story.complete).toBe(false)
    expect(story.events.map((e) => e.kind)).toEqual(['k2', 'k3', 'k4'])
  })

  it('evicts the least recently written fingerprints beyond either bound', () => {
    const { views, dec } = makeViews({ maxFingerprints: 2, maxAlertRecords: 3 })
    dec({ fingerprint: 'f1' })
    dec({ fingerprint: 'f2' })
    dec({ fingerprint: 'f1' })
    dec({ fingerprint: 'f3' })
    // f2 was written least recently: gone; f1 and f3 hold 3 records.
    expect(['f1', 'f2', 'f3'].map((f) => views.alert(f) !== undefined)).toEqual([true, false, true])
    expect(views.sizes()).toMatchObject({ alertFingerprints: 2, alertRecords: 3 })
    dec({ fingerprint: 'f3' })
    // 4 records > 3: f1 (2 records) goes.
    expect(views.alert('f1')).toBeUndefined()
    expect(views.sizes()).toMatchObject({ alertFingerprints: 1, alertRecords: 2 })
  })

  describe('findAlerts matches alertname, team, service and fingerprint', () => {
    const { views, out, dec } = makeViews()
    out({ fingerprint: 'f1', alertname: 'DiskFull', team: 'infra', service: 'nfs' })
    out({ fingerprint: 'f2', alertname: 'HighLatency', team: 'payments', service: 'checkout' })
    out({ fingerprint: 'f3', alertname: 'HighLatency', team: 'payments', service: null })
    dec({ fingerprint: 'f4' })

    it.each<[string, string[]]>([
      ['alertname="HighLatency"', ['f3', 'f2']],
      ['{alertname="HighLatency", service="checkout"}', ['f2']],
      ['team=~"pay.*"', ['f3', 'f2']],
      ['service=""', ['f4', 'f3']],
      ['fingerprint="f4"', ['f4']],
      ['alertname!="HighLatency"', ['f4', 'f1']],
      ['{}', ['f4', 'f3', 'f2', 'f1']],
    ])('%s', (matchers, expected) => {
      expect(views.findAlerts(matchers)).toEqual(expected)
    })

    it('stops at the limit and refuses what does not parse', () => {
      expect(views.findAlerts('{}', 2)).toEqual(['f4', 'f3'])
      expect(() => views.findAlerts('alertname=~"("')).toThrow()
    })
  })
})

describe('pauses, budgets, progress and live events', () => {
  const pause = newPause({
    scope: { team: 'payments' },
    reason: 'deploy freeze',
    forMs: 3_600_000,
    now: T,
    id: 'pause/team=payments',
    createdBy: 'alice',
  })

  it('keeps the pauses and budgets of their topics', () => {
    const { views, control, budget } = makeViews()
    control(pauseRecord(pause, topics.control))
    expect(views.pauses(T + 1).map((p) => p.id)).toEqual(['pause/team=payments'])
    expect(views.pauses(T + 3_600_000)).toEqual([])
    expect(views.pauses(T + 3_600_000, true)).toHaveLength(1)
    control(resumeRecord('pause/team=payments', topics.control))
    expect(views.pauses(T + 1, true)).toEqual([])

    budget('b-slo', { slo: 'b-slo' } as SloBudgetRecord)
    budget('a-slo', { slo: 'a-slo' } as SloBudgetRecord)
    budget('b-slo', { slo: 'b-slo', badMs: 5 } as SloBudgetRecord)
    expect(views.budgets().map((b) => [b.slo, b.badMs])).toEqual([
      ['a-slo', undefined],
      ['b-slo', 5],
    ])
    budget('a-slo', null)
    expect(views.budgets().map((b) => b.slo)).toEqual(['b-slo'])
  })

  it('reports progress and announces only what arrives after catching up', () => {
    const { views, out, control, budget } = makeViews({}, { [topics.outcomes]: 2, [topics.control]: 1 })
    const events: ConsoleEvent[] = []
    const unsubscribe = views.subscribe((e) => events.push(e))
    const progressOf = (topic: string) => views.progress().find((p) => p.topic === topic)
    expect(progressOf(topics.outcomes)).toEqual({ topic: topics.outcomes, read: 0, target: 2, caughtUp: false })
    expect(progressOf(topics.budget)).toMatchObject({ caughtUp: true, target: 0 })

    out({ idempotencyKey: 'old1' })
    expect(progressOf(topics.outcomes)).toMatchObject({ read: 1, caughtUp: false })
    out({ idempotencyKey: 'old2' })
    expect(progressOf(topics.outcomes)).toMatchObject({ read: 2, caughtUp: true })
    control(pauseRecord(pause, topics.control))
    expect(events).toEqual([])

    out({ idempotencyKey: 'new', status: 'awaiting_approval', output: { approval: 'abcdef012345' } })
    control(
      answerRecord({ id: 'abcdef012345', decision: 'deny', by: 'bob', reason: '', at: T, via: 'http' }, topics.control),
    )
    control(resumeRecord(pause.id, topics.control))
    control(pauseRecord(pause, topics.control))
    budget('s', { slo: 's' } as SloBudgetRecord)
    expect(events.map((e) => e.kind)).toEqual(['outcome', 'approval', 'lift', 'pause', 'budget'])
    expect(events[0]).toMatchObject({ kind: 'outcome', row: { key: 'new' } })
    expect(events[2]).toEqual({ kind: 'lift', id: pause.id })

    unsubscribe()
    budget('s', { slo: 's' } as SloBudgetRecord)
    expect(events).toHaveLength(5)
    expect(views.sizes()).toMatchObject({ pauses: 1, approvalAnswers: 1, budgets: 1, listeners: 0 })
  })

  it('keeps going when a listener throws', () => {
    const { views, budget } = makeViews()
    const seen: string[] = []
    views.subscribe(() => {
      throw new Error('broken page')
    })
    views.subscribe((e) => seen.push(e.kind))
    budget('s', { slo: 's' } as SloBudgetRecord)
    expect(seen).toEqual(['budget'])
  })

  describe('a topic is nearly read one offset (a commit marker) short of its end', () => {
    it.each<[string, Array<[number, number]>, Array<[number, number]>, boolean, boolean]>([
      // [what, ends (partition, end), applied (partition, offset), caught up, nearly]
      ['every record read', [[0, 2]], [[0, 1]], true, true],
      ['a commit marker left', [[0, 3]], [[0, 1]], false, true],
      ['two offsets left', [[0, 4]], [[0, 1]], false, false],
      ['nothing read of a one-offset partition', [[0, 1]], [], false, false],
      [
        'one partition behind',
        [
          [0, 3],
          [1, 5],
        ],
        [
          [0, 1],
          [1, 2],
        ],
        false,
        false,
      ],
      ['an empty partition', [[0, 0]], [], true, true],
    ])('%s', (_what, ends, applied, caught, nearly) => {
      const p = new TopicProgress('t')
      p.begin(new Map(ends.map(([partition, end]) => [partition, BigInt(end)])))
      for (const [partition, offset] of applied) p.saw(partition, String(offset))
      expect(p.caughtUp).toBe(caught)
      expect(p.nearly()).toBe(nearly)
    })

    it('counts a forced topic as read to its target', () => {
      const p = new TopicProgress('t')
      p.begin(new Map([[0, '3']]))
      p.saw(0, '1')
      expect(p.behind()).toEqual(['partition 0 at 2 of 3'])
      expect(p.force()).toBe(true)
      expect(p.force()).toBe(false)
      expect(p.view()).toEqual({ topic: 't', read: 3, target: 3, caughtUp: true })
    })
  })
})
