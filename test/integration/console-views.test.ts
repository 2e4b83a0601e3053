/**
 * The console's views against the real broker and registry: outcomes, decisions and a
 * budget written in transactions (as the stages write them, so each partition ends with
 * a commit marker the views never see), pauses and an approval answer on the control
 * topic; the views rebuild from the beginning, catch up, answer every query, then
 * announce what is written afterwards. A value that is not Avro is skipped.
 */
import { answerRecord } from '../../src/actions/worker/approvals'
import { pauseRecord, resumeRecord } from '../../src/actions/worker/control'
import { newPause } from '../../src/actions/worker/pause'
import type { ConsoleEvent } from '../../src/console/types'
import { startConsoleViews, type RunningConsoleViews } from '../../src/console/views'
import type { ActionOutcomeRecord, DecisionRecord, SloBudgetRecord } from '../../src/contracts/records'
import { RecordProducer, TransactionalProducer, type OutRecord } from '../../src/kafka'
import { valueSubject } from '../../src/topology/names'
import { kafkaSettings, testLogger, uniqueName, waitFor } from '../support/kafka'
import { provisionTopology, schemas, type TestTopology } from '../support/topology'

const NOW = Date.now()
const FP = 'c0ffee0000000001'
const APPROVAL = 'abcdef012345'

let t: TestTopology
let tx: TransactionalProducer
let producer: RecordProducer
let views: RunningConsoleViews | undefined

function outcome(over: Partial<ActionOutcomeRecord>): ActionOutcomeRecord {
  return {
    idempotencyKey: 'k',
    action: 'webhook',
    route: 'default',
    fingerprint: FP,
    startsAt: new Date(NOW - 60_000).toISOString(),
    team: 'payments',
    service: 'checkout',
    slo: null,
    status: 'succeeded',
    attempts: 1,
    startedAt: NOW - 1000,
    finishedAt: NOW,
    detail: null,
    output: {},
    escalatedTo: null,
    dryRun: false,
    alertname: 'HighLatency',
    durationMs: 1000,
    artifact: null,
    ...over,
  }
}

const throttled: DecisionRecord = {
  fingerprint: 'throttled000001',
  startsAt: new Date(NOW - 60_000).toISOString(),
  status: 'firing',
  stage: 'ratelimit',
  kind: 'throttled',
  reason: 'over the team limit payments (10/m, burst 2); kept on alerts.throttled',
  detail: { limit: 'payments', level: 'team' },
  source: { topic: 'alerts.enriched', partition: 0, offset: '7' },
  decidedAt: NOW,
}

function budget(badMs: number): SloBudgetRecord {
  return {
    slo: 'checkout-availability',
    service: 'checkout',
    team: 'payments',
    objective: 0.999,
    asOf: NOW,
    windowStart: NOW - 30 * 86_400_000,
    allowedBadMs: 2_592_000,
    badMs,
    remainingRatio: 1 - badMs / 2_592_000,
    burnRates: { '5m': 0, '1h': 0.5 },
    state: 'ok',
    open: {},
    intervals: [],
    remediations: {},
    automated: 0,
    notEffective: 0,
    lastSeen: {},
    actedAt: {},
    resolvedAfterActionCount: 0,
    resolvedAfterActionMs: 0,
    recent: [],
  }
}

async function encoded(topic: string, schema: string, key: string, value: unknown): Promise<OutRecord> {
  const id = await t.registry.idOf(valueSubject(topic), schemas.resolve(schema))
  return { topic, key, value: await t.registry.encode(id, value) }
}

/** Outcomes, decisions and budgets in one transaction each call, as the stages write them. */
async function inTransaction(records: Array<Promise<OutRecord>>): Promise<void> {
  const ready = await Promise.all(records)
  await tx.run((transaction) => transaction.send(ready))
}

const pause = newPause({
  scope: { team: 'payments' },
  reason: 'deploy freeze',
  forMs: 3_600_000,
  now: NOW - 1000,
  id: 'pause/team=payments',
  createdBy: 'alice',
})

beforeAll(async () => {
  t = await provisionTopology(`${uniqueName('console-views')}.`)
  tx = await TransactionalProducer.connect(kafkaSettings('test-console-views-tx'), uniqueName('console-views-tx'))
  producer = await RecordProducer.connect(kafkaSettings('test-console-views'))
  const o = (value: ActionOutcomeRecord) => encoded(t.topics.outcomes, 'ActionOutcome', value.fingerprint, value)
  await inTransaction([
    o(outcome({ idempotencyKey: 'ran', finishedAt: NOW - 5000 })),
    o(
      outcome({
        idempotencyKey: 'waits',
        fingerprint: 'waits0000000001',
        status: 'held',
        finishedAt: NOW - 4000,
        output: { holdUntil: new Date(NOW + 300_000).toISOString() },
      }),
    ),
    o(
      outcome({
        idempotencyKey: 'asks',
        fingerprint: 'asks00000000001',
        team: 'search',
        status: 'awaiting_approval',
        finishedAt: NOW - 3000,
        output: { approval: APPROVAL, approvalTimeoutAt: new Date(NOW + 600_000).toISOString() },
      }),
    ),
    o(outcome({ idempotencyKey: 'broke', status: 'failed', finishedAt: NOW - 2000, alertname: 'DiskFull' })),
  ])
  await inTransaction([
    encoded(t.topics.decisions, 'Decision', throttled.fingerprint, throttled),
    encoded(t.topics.decisions, 'Decision', throttled.fingerprint, { ...throttled, decidedAt: NOW + 1 }),
  ])
  await inTransaction([encoded(t.topics.budget, 'SloBudget', 'checkout-availability', budget(1000))])
  // A value that is not Avro: skipped (and logged), still counted as read.
  await producer.send([{ topic: t.topics.outcomes, key: 'poison', value: Buffer.from('not avro') }])
  await producer.send([
    pauseRecord(pause, t.topics.control),
    answerRecord(
      { id: APPROVAL, decision: 'approve', by: 'bob', reason: 'looks safe', at: NOW, via: 'http' },
      t.topics.control,
    ),
  ])
}, 120_000)

afterAll(async () => {
  await views?.stop()
  await tx?.disconnect()
  await producer?.disconnect()
  await t?.cleanup()
}, 60_000)

describe('console views', () => {
  it('rebuild from the topics, answer every query, then announce what comes next', async () => {
    const started = Date.now()
    views = await startConsoleViews({
      kafka: kafkaSettings('test-console-views'),
      registry: t.registry,
      topics: t.topics,
      logger: testLogger,
      catchUp: { markerGraceMs: 500 },
    })
    // It returns before reading: the page shows progress while the views rebuild.
    expect(Date.now() - started).toBeLessThan(5000)
    const progress = views.progress()
    // The four topics, and every action topic there is (the requests' params and labels).
    const fixed = [t.topics.outcomes, t.topics.decisions, t.topics.control, t.topics.budget]
    const followed = progress.map((p) => p.topic)
    expect(followed).toEqual(expect.arrayContaining(fixed))
    const others = followed.filter((topic) => !fixed.includes(topic))
    expect(others).toContain(`${t.prefix}actions.webhook`)
    for (const topic of others) expect(topic.startsWith(`${t.prefix}actions.`)).toBe(true)
    // Each transaction ends with a commit marker: targets count them, records do not.
    const target = (topic: string) => progress.find((p) => p.topic === topic)!.target
    expect(target(t.topics.outcomes)).toBeGreaterThanOrEqual(5)
    expect(target(t.topics.control)).toBe(2)

    const v = views
    await waitFor('the views to catch up', () => (v.progress().every((p) => p.caughtUp) ? true : undefined), 60_000)
    for (const p of v.progress()) expect(p.read).toBe(p.target)

    const page = v.actions({})
    expect(page.rows.map((r) => r.key)).toEqual(['broke', 'asks', 'waits', 'ran'])
    expect(page.total).toBe(4)
    const paged = v.actions({ limit: 3 })
    expect(v.actions({ limit: 3, cursor: paged.next! }).rows.map((r) => r.key)).toEqual(['ran'])
    expect(v.actions({ team: 'payments', status: 'failed' }).rows.map((r) => r.key)).toEqual(['broke'])
    expect(v.actions({ since: NOW - 3500, until: NOW - 1000 }).rows.map((r) => r.key)).toEqual(['broke', 'asks'])
    expect(v.action('ran')).toMatchObject({ outcome: { status: 'succeeded' }, history: [] })

    expect(v.pendingApprovals()).toEqual([
      expect.objectContaining({
        id: APPROVAL,
        key: 'asks',
        askedAt: NOW - 3000,
        timeoutAt: NOW + 600_000,
        answer: expect.objectContaining({ by: 'bob', decision: 'approve' }),
      }),
    ])
    expect(v.held().map((h) => [h.key, h.until])).toEqual([['waits', NOW + 300_000]])
    expect(v.pauses(NOW).map((p) => [p.id, p.createdBy])).toEqual([['pause/team=payments', 'alice']])
    expect(v.budgets().map((b) => [b.slo, b.badMs])).toEqual([['checkout-availability', 1000]])

    const story = v.alert(throttled.fingerprint)!
    expect(story.events.map((e) => e.kind)).toEqual(['throttled', 'throttled'])
    expect(story.episodes[0]!.verdict.fired).toBe(false)
    expect(story.episodes[0]!.verdict.text).toContain('over the team limit payments')
    expect(v.alert(FP)!.episodes[0]!.verdict.fired).toBe(true)
    expect(v.findAlerts('alertname="DiskFull"')).toEqual([FP])
    expect(v.findAlerts(`fingerprint="${throttled.fingerprint}"`)).toEqual([throttled.fingerprint])
    expect(v.sizes()).toMatchObject({ actionRows: 4, pendingApprovals: 1, held: 1, pauses: 1, budgets: 1 })

    // Live: what is written after catching up is announced, in order per topic.
    const events: ConsoleEvent[] = []
    const unsubscribe = v.subscribe((e) => events.push(e))
    await inTransaction([
      encoded(
        t.topics.outcomes,
        'ActionOutcome',
        'asks00000000001',
        outcome({
          idempotencyKey: 'asks',
          fingerprint: 'asks00000000001',
          team: 'search',
          finishedAt: NOW + 1000,
          output: { approvedBy: 'bob' },
        }),
      ),
    ])
    await producer.send([resumeRecord(pause.id, t.topics.control)])
    await inTransaction([encoded(t.topics.budget, 'SloBudget', 'checkout-availability', budget(2000))])
    await waitFor('the live events', () => (events.length >= 3 ? true : undefined), 30_000)
    unsubscribe()
    expect(events.map((e) => e.kind).sort()).toEqual(['budget', 'lift', 'outcome'])
    expect(events.find((e) => e.kind === 'outcome')).toMatchObject({
      row: { key: 'asks', outcome: { status: 'succeeded' } },
    })
    expect(v.action('asks')!.history.map((o) => o.status)).toEqual(['awaiting_approval'])
    expect(v.pendingApprovals()).toEqual([])
    expect(v.pauses(NOW, true)).toEqual([])
    expect(v.budgets()[0]!.badMs).toBe(2000)
  }, 120_000)
})
