import { SchemaSet } from '../../src/contracts/schemas'
import type { ActionOutcomeRecord, ActionRequestRecord, LedgerEntry, OutcomeStatus } from '../../src/contracts/records'
import {
  escalationFor,
  notEffective,
  planRequest,
  type ActionPolicy,
  type Plan,
  type PlanInput,
} from '../../src/actions/worker/decide'
import { ledgerEntry, ledgerKeyOf, revertKey, successKey, type OnResolved } from '../../src/actions/worker/ledger'
import { describePause, type Pause } from '../../src/actions/worker/pause'
import { enrichedAlertRecord } from '../support/records'

const S = 1000
const M = 60 * S
const H = 60 * M
const STARTS_AT = '2026-11-25T00:52:34.568Z'
const FIRED = Date.parse(STARTS_AT)
const NOW = FIRED + 10 * S
const KEY = `16ddbf5dcf57d972|${STARTS_AT}|restart|r1`
const FP = '16ddbf5dcf57d972'

const schemas = SchemaSet.load()
const valid = (schema: 'ActionOutcome' | 'LedgerEntry' | 'ActionRequest', value: unknown): boolean =>
  schemas.type(schema).isValid(value, {
    errorHook: (p) => {
      throw new Error(`${schema} invalid at ${p.join('.')}: ${JSON.stringify(value)}`)
    },
  })

interface RequestOptions {
  key?: string
  action?: string
  route?: string
  status?: 'firing' | 'resolved'
  dryRun?: boolean
  startsAt?: string
  requestedAt?: number
  service?: string | null
  labels?: Record<string, string>
}

function request(o: RequestOptions = {}): ActionRequestRecord {
  return {
    idempotencyKey: o.key ?? KEY,
    action: o.action ?? 'restart',
    route: o.route ?? 'r1',
    params: { instance: 'web-1' },
    dryRun: o.dryRun ?? false,
    requestedAt: o.requestedAt ?? FIRED + S,
    alert: enrichedAlertRecord({
      alert: {
        fingerprint: FP,
        status: o.status ?? 'firing',
        startsAt: o.startsAt ?? STARTS_AT,
        labels: o.labels ?? { alertname: 'HighLatency' },
      },
      service: o.service === undefined ? 'checkout' : o.service,
      slo: 'checkout-availability',
    }),
  }
}

const resolvedOf = (r: ActionRequestRecord): ActionRequestRecord => ({
  ...r,
  alert: { ...r.alert, alert: { ...r.alert.alert, status: 'resolved' } },
})

/** A ledger entry written at `at` for `key` (the request's fields otherwise). */
function entry(kind: LedgerEntry['kind'], at: number, extra: Partial<LedgerEntry> = {}): LedgerEntry {
  return ledgerEntry(request(), kind, at, extra)
}

const pause = (extra: Partial<Pause> = {}): Pause => ({
  id: 'p-1',
  scope: { team: 'payments' },
  reason: 'deploy freeze',
  createdAt: NOW - H,
  until: NOW + H,
  escalate: false,
  ...extra,
})

const policy = (extra: Partial<ActionPolicy> = {}): ActionPolicy => ({
  onResolved: 'cancel',
  escalateTo: 'page',
  notEffectiveWindowMs: 30 * M,
  ...extra,
})

/** The last success of `restart` for the alert, by an earlier episode, 5 minutes before it fired again. */
const SUCCESS_KEY = successKey('restart', FP)
const earlierSuccess = (at = FIRED - 5 * M, extra: Partial<LedgerEntry> = {}): LedgerEntry =>
  entry('last_success', at, {
    idempotencyKey: `${FP}|2026-11-25T00:30:00.000Z|restart|r1`,
    startsAt: '2026-11-25T00:30:00.000Z',
    ...extra,
  })

interface Case {
  request?: ActionRequestRecord
  ledger?: Record<string, LedgerEntry>
  later?: ActionRequestRecord[]
  running?: boolean
  pause?: Pause
  dryRun?: { global?: boolean; action?: boolean }
  policy?: Partial<ActionPolicy>
  gated?: string
}

function inputOf(c: Case): PlanInput {
  const ledger = new Map(Object.entries(c.ledger ?? {}))
  return {
    request: c.request ?? request(),
    ledger: { get: (k) => ledger.get(k) },
    later: () => c.later ?? [],
    running: c.running ?? false,
    pause: c.pause,
    gated: c.gated,
    dryRun: { global: c.dryRun?.global ?? false, action: c.dryRun?.action ?? false },
    describe: () => 'POST http://checkout:8081/restart',
    policy: policy(c.policy),
    now: NOW,
  }
}

/** Validates every record a plan carries against the Avro contracts. */
function checkRecords(plan: Plan): void {
  const outcomes: ActionOutcomeRecord[] = [
    ...plan.followUps,
    ...(plan.kind === 'settled' && plan.outcome ? [plan.outcome] : []),
  ]
  for (const o of outcomes) expect(valid('ActionOutcome', o)).toBe(true)
  const entries = [...plan.ledger, ...(plan.kind === 'run' ? [plan.mark] : [])]
  for (const c of entries) if (c.value !== null) expect(valid('LedgerEntry', c.value)).toBe(true)
}

/** `[ledger key, entry kind or null (delete), completed status]` */
type Change = [string, LedgerEntry['kind'] | null, string | null]

interface Summary {
  kind: 'run' | 'settled'
  reason?: string
  status?: OutcomeStatus
  outcomeKey?: string
  escalate?: boolean
  mark?: string
  followUps: OutcomeStatus[]
  ledger: Change[]
}

function summary(plan: Plan): Summary {
  const ledger = plan.ledger.map((c): Change => [c.key, c.value?.kind ?? null, c.value?.status ?? null])
  const followUps = plan.followUps.map((f) => f.status)
  if (plan.kind === 'run') return { kind: 'run', mark: `${plan.mark.key} ${plan.mark.value?.kind}`, followUps, ledger }
  const s: Summary = { kind: 'settled', reason: plan.reason, escalate: plan.escalate !== undefined, followUps, ledger }
  if (plan.outcome) {
    s.status = plan.outcome.status
    s.outcomeKey = plan.outcome.idempotencyKey
  }
  return s
}

function plan(c: Case): Plan {
  const p = planRequest(inputOf(c))
  checkRecords(p)
  return p
}

const settled = (
  reason: string,
  status: OutcomeStatus | undefined,
  ledger: Change[],
  extra: Partial<Summary> = {},
): Summary => ({
  kind: 'settled',
  reason,
  escalate: false,
  followUps: [],
  ledger,
  ...(status === undefined ? {} : { status, outcomeKey: KEY }),
  ...extra,
})
const done = (status: OutcomeStatus, key = KEY): Change => [key, 'completed', status]
const RUN: Summary = { kind: 'run', mark: `${KEY} started`, followUps: [], ledger: [] }
const OTHER_KEY = `${FP}|2026-11-25T00:00:00.000Z|restart|r2`

describe('planRequest: each branch', () => {
  it.each<[string, Case, Summary]>([
    // Resolved notifications of a cancelling action: no outcome of their own.
    [
      'resolved, cancel, nothing known: marks the episode resolved',
      { request: resolvedOf(request()) },
      settled('resolved_notice', undefined, [[KEY, 'resolved', null]]),
    ],
    [
      'resolved, cancel, already started: nothing',
      { request: resolvedOf(request()), ledger: { [KEY]: entry('started', NOW - S) } },
      settled('resolved_notice', undefined, []),
    ],
    [
      'resolved, cancel, already completed: nothing',
      { request: resolvedOf(request()), ledger: { [KEY]: entry('completed', NOW - S, { status: 'succeeded' }) } },
      settled('resolved_notice', undefined, []),
    ],
    [
      'resolved, cancel, already resolved: nothing',
      { request: resolvedOf(request()), ledger: { [KEY]: entry('resolved', NOW - S) } },
      settled('resolved_notice', undefined, []),
    ],
    [
      'resolved, cancel, paused and dry run: still only a notice',
      { request: resolvedOf(request({ dryRun: true })), pause: pause(), dryRun: { global: true, action: true } },
      settled('resolved_notice', undefined, [[KEY, 'resolved', null]]),
    ],

    // Resolved notifications of an action that runs them: a request of their own under `#resolved`.
    [
      'resolved, run, the firing request ran: runs under <key>#resolved',
      {
        request: resolvedOf(request()),
        policy: { onResolved: 'run' },
        ledger: { [KEY]: entry('completed', NOW - S, { status: 'succeeded' }) },
      },
      { ...RUN, mark: `${KEY}#resolved started` },
    ],
    [
      'resolved, run, the firing request failed after running: still runs (the page may have gone out)',
      {
        request: resolvedOf(request()),
        policy: { onResolved: 'run' },
        ledger: { [KEY]: entry('completed', NOW - S, { status: 'failed' }) },
      },
      { ...RUN, mark: `${KEY}#resolved started` },
    ],
    [
      'resolved, run, no firing request seen: cancelled_resolved, nothing to resolve',
      { request: resolvedOf(request()), policy: { onResolved: 'run' } },
      settled('cancelled_resolved', 'cancelled_resolved', [done('cancelled_resolved', `${KEY}#resolved`)], {
        outcomeKey: `${KEY}#resolved`,
      }),
    ],
    [
      'resolved, run, the firing request was cancelled: cancelled_resolved',
      {
        request: resolvedOf(request()),
        policy: { onResolved: 'run' },
        ledger: { [KEY]: entry('completed', NOW - S, { status: 'cancelled_resolved' }) },
      },
      settled('cancelled_resolved', 'cancelled_resolved', [done('cancelled_resolved', `${KEY}#resolved`)], {
        outcomeKey: `${KEY}#resolved`,
      }),
    ],
    [
      'resolved, run, #resolved completed: skipped_duplicate keyed #resolved',
      {
        request: resolvedOf(request()),
        policy: { onResolved: 'run' },
        ledger: { [`${KEY}#resolved`]: entry('completed', NOW - S, { status: 'succeeded' }) },
      },
      settled('skipped_duplicate', 'skipped_duplicate', [], { outcomeKey: `${KEY}#resolved` }),
    ],
    [
      'resolved, run, #resolved started by a dead worker: interrupted keyed #resolved',
      {
        request: resolvedOf(request()),
        policy: { onResolved: 'run' },
        ledger: { [`${KEY}#resolved`]: entry('started', NOW - S) },
      },
      settled('interrupted', 'failed', [done('failed', `${KEY}#resolved`)], {
        outcomeKey: `${KEY}#resolved`,
        escalate: true,
      }),
    ],
    [
      'resolved, run, paused: skipped_paused keyed #resolved',
      {
        request: resolvedOf(request()),
        policy: { onResolved: 'run' },
        pause: pause(),
        ledger: { [KEY]: entry('completed', NOW - S, { status: 'succeeded' }) },
      },
      settled('skipped_paused', 'skipped_paused', [done('skipped_paused', `${KEY}#resolved`)], {
        outcomeKey: `${KEY}#resolved`,
      }),
    ],
    [
      'resolved, run, dry run: dry_run keyed #resolved',
      {
        request: resolvedOf(request()),
        policy: { onResolved: 'run' },
        dryRun: { global: true },
        ledger: { [KEY]: entry('completed', NOW - S, { status: 'succeeded' }) },
      },
      settled('dry_run', 'dry_run', [done('dry_run', `${KEY}#resolved`)], { outcomeKey: `${KEY}#resolved` }),
    ],

    // Firing requests.
    ['nothing known: runs with the started mark', {}, RUN],
    [
      'gated: not run, escalated with the reason',
      { gated: 'gated: budget spent' },
      settled('gated', 'gated', [done('gated')], { escalate: true }),
    ],
    [
      'completed: skipped_duplicate, ledger unchanged',
      { ledger: { [KEY]: entry('completed', NOW - M, { status: 'succeeded', attempts: 1 }) } },
      settled('skipped_duplicate', 'skipped_duplicate', []),
    ],
    [
      'started and running here: skipped_duplicate, ledger unchanged',
      { ledger: { [KEY]: entry('started', NOW - S) }, running: true },
      settled('skipped_duplicate', 'skipped_duplicate', []),
    ],
    [
      'started, not running: failed (interrupted), escalated',
      { ledger: { [KEY]: entry('started', NOW - S) } },
      settled('interrupted', 'failed', [done('failed')], { escalate: true }),
    ],
    [
      'ledger resolved: cancelled_resolved',
      { ledger: { [KEY]: entry('resolved', NOW - S) } },
      settled('cancelled_resolved', 'cancelled_resolved', [done('cancelled_resolved')]),
    ],
    [
      'a resolved copy later in the batch: cancelled_resolved',
      { later: [request({ key: OTHER_KEY }), resolvedOf(request())] },
      settled('cancelled_resolved', 'cancelled_resolved', [done('cancelled_resolved')]),
    ],
    ['a resolved request of another key later: runs', { later: [resolvedOf(request({ key: OTHER_KEY }))] }, RUN],
    ['a firing copy of the same key later: runs', { later: [request()] }, RUN],
    [
      'paused: skipped_paused, not escalated',
      { pause: pause() },
      settled('skipped_paused', 'skipped_paused', [done('skipped_paused')]),
    ],
    [
      'paused with escalate: skipped_paused, escalated',
      { pause: pause({ escalate: true }) },
      settled('skipped_paused', 'skipped_paused', [done('skipped_paused')], { escalate: true }),
    ],
    ['dry run by the route', { request: request({ dryRun: true }) }, settled('dry_run', 'dry_run', [done('dry_run')])],
    ['dry run by the action', { dryRun: { action: true } }, settled('dry_run', 'dry_run', [done('dry_run')])],
    ['dry run by the worker', { dryRun: { global: true } }, settled('dry_run', 'dry_run', [done('dry_run')])],
    [
      'a last_success of this very request: no follow-up, runs',
      { ledger: { [SUCCESS_KEY]: entry('last_success', FIRED - M) } },
      RUN,
    ],
  ])('%s', (_name, c, expected) => {
    expect(summary(plan(c))).toEqual(expected)
  })
})

describe('planRequest: precedence', () => {
  const started = { [KEY]: entry('started', NOW - S) }
  const completed = { [KEY]: entry('completed', NOW - S, { status: 'succeeded' }) }
  const resolvedMark = { [KEY]: entry('resolved', NOW - S) }
  const laterResolved = [resolvedOf(request())]

  it.each<[string, Case, string]>([
    [
      'completed beats running, cancellation, pause and dry run',
      {
        ledger: completed,
        running: true,
        later: laterResolved,
        pause: pause({ escalate: true }),
        dryRun: { global: true, action: true },
      },
      'skipped_duplicate',
    ],
    [
      'running beats cancellation, pause and dry run',
      { ledger: started, running: true, later: laterResolved, pause: pause(), dryRun: { global: true } },
      'skipped_duplicate',
    ],
    [
      'interrupted beats cancellation, pause and dry run',
      { ledger: started, later: laterResolved, pause: pause(), dryRun: { global: true } },
      'interrupted',
    ],
    [
      'ledger cancellation beats pause and dry run',
      { ledger: resolvedMark, pause: pause({ escalate: true }), dryRun: { global: true } },
      'cancelled_resolved',
    ],
    [
      'batch cancellation beats pause and dry run',
      { later: laterResolved, pause: pause({ escalate: true }), request: request({ dryRun: true }) },
      'cancelled_resolved',
    ],
    [
      'pause beats dry run',
      { pause: pause(), request: request({ dryRun: true }), dryRun: { global: true, action: true } },
      'skipped_paused',
    ],
    ['pause beats the budget gate', { pause: pause(), gated: 'gated: budget spent' }, 'skipped_paused'],
    ['the budget gate beats dry run', { gated: 'gated: budget spent', dryRun: { global: true } }, 'gated'],
    [
      'cancellation beats the budget gate',
      { gated: 'gated: budget spent', ledger: { [KEY]: entry('resolved', NOW - S) } },
      'cancelled_resolved',
    ],
  ])('%s', (_name, c, reason) => {
    const p = plan(c)
    expect(p.kind === 'settled' ? p.reason : p.kind).toBe(reason)
  })

  it.each<[string, Case, string]>([
    [
      'route beats action and worker',
      { request: request({ dryRun: true, route: 'dump' }), dryRun: { global: true, action: true } },
      'dry run (route dump); would run: POST http://checkout:8081/restart',
    ],
    [
      'action beats worker',
      { dryRun: { global: true, action: true } },
      'dry run (action restart); would run: POST http://checkout:8081/restart',
    ],
    [
      'worker alone',
      { dryRun: { global: true } },
      'dry run (the worker (global dry run)); would run: POST http://checkout:8081/restart',
    ],
  ])('dry run detail names who: %s', (_name, c, detail) => {
    const p = plan(c)
    expect(p.kind === 'settled' && p.outcome).toMatchObject({
      status: 'dry_run',
      dryRun: true,
      detail,
      startedAt: null,
      durationMs: null,
      attempts: 0,
    })
  })
})

describe('planRequest: what is recorded', () => {
  it('the started mark is a full ledger entry of the request at now', () => {
    const p = plan({})
    if (p.kind !== 'run') throw new Error('expected run')
    expect(p.ledgerKey).toBe(KEY)
    expect(p.mark).toEqual({
      key: KEY,
      value: {
        kind: 'started',
        idempotencyKey: KEY,
        action: 'restart',
        fingerprint: FP,
        startsAt: STARTS_AT,
        route: 'r1',
        team: 'payments',
        service: 'checkout',
        at: NOW,
        status: null,
        attempts: 0,
        revertAt: null,
        params: {},
      },
    })
  })

  it('a resolved notification that runs: ledgerKey and mark under #resolved', () => {
    const p = plan({
      request: resolvedOf(request()),
      policy: { onResolved: 'run' },
      ledger: { [KEY]: entry('completed', NOW - S, { status: 'succeeded' }) },
    })
    if (p.kind !== 'run') throw new Error('expected run')
    expect(p.ledgerKey).toBe(`${KEY}#resolved`)
    expect(p.mark.key).toBe(`${KEY}#resolved`)
    expect(p.mark.value).toMatchObject({ kind: 'started', at: NOW })
  })

  it('the resolved mark of a cancelling notification is the request at now', () => {
    const p = plan({ request: resolvedOf(request()) })
    expect(p).toEqual({
      kind: 'settled',
      reason: 'resolved_notice',
      outcome: undefined,
      escalate: undefined,
      followUps: [],
      ledger: [{ key: KEY, value: ledgerEntry(resolvedOf(request()), 'resolved', NOW) }],
    })
  })

  it('an interrupted request: failed, started when the mark was written, output.interrupted, escalated with the detail', () => {
    const markedAt = NOW - 90 * S
    const p = plan({ ledger: { [KEY]: entry('started', markedAt) } })
    if (p.kind !== 'settled' || !p.outcome) throw new Error('expected an outcome')
    expect(p.outcome).toEqual({
      idempotencyKey: KEY,
      action: 'restart',
      route: 'r1',
      fingerprint: FP,
      startsAt: STARTS_AT,
      team: 'payments',
      service: 'checkout',
      slo: 'checkout-availability',
      status: 'failed',
      attempts: 0,
      startedAt: markedAt,
      finishedAt: NOW,
      detail: `interrupted: a worker started this action at ${new Date(markedAt).toISOString()} and stopped before recording its outcome; not run again because it may have taken effect — check the target`,
      output: { interrupted: 'true' },
      escalatedTo: null,
      dryRun: false,
      alertname: 'HighLatency',
      durationMs: 90 * S,
      artifact: null,
    })
    expect(p.escalate).toBe(p.outcome.detail)
    expect(p.ledger).toEqual([
      { key: KEY, value: ledgerEntry(request(), 'completed', NOW, { status: 'failed', attempts: 0 }) },
    ])
  })

  it.each<[string, LedgerEntry, RegExp]>([
    [
      'completed',
      entry('completed', Date.parse('2026-11-25T00:53:00.000Z'), { status: 'succeeded' }),
      /^already completed \(succeeded\) at 2026-11-25T00:53:00.000Z; not run again$/,
    ],
    [
      'completed without a status',
      entry('completed', Date.parse('2026-11-25T00:53:00.000Z')),
      /^already completed \(unknown\) at 2026-11-25T00:53:00.000Z; not run again$/,
    ],
  ])('a duplicate of a %s request says when it completed', (_name, known, detail) => {
    const p = plan({ ledger: { [KEY]: known } })
    expect(p.kind === 'settled' && p.outcome?.detail).toMatch(detail)
    expect(p.kind === 'settled' && p.outcome).toMatchObject({
      status: 'skipped_duplicate',
      startedAt: null,
      finishedAt: NOW,
      attempts: 0,
    })
  })

  it('a duplicate of a running request says when its copy started', () => {
    const p = plan({ ledger: { [KEY]: entry('started', Date.parse('2026-11-25T00:53:00.000Z')) }, running: true })
    expect(p.kind === 'settled' && p.outcome?.detail).toBe(
      'a copy of this request started at 2026-11-25T00:53:00.000Z is running; not run again',
    )
    expect(p.kind === 'settled' && p.escalate).toBeUndefined()
  })

  it('a cancelled request says why and is not escalated', () => {
    const p = plan({ later: [resolvedOf(request())] })
    expect(p.kind === 'settled' && p.outcome).toMatchObject({
      status: 'cancelled_resolved',
      detail: 'the alert resolved before the action started; not run',
      startedAt: null,
      dryRun: false,
    })
    expect(p.kind === 'settled' && p.escalate).toBeUndefined()
  })

  it.each<[string, boolean]>([
    ['without escalate', false],
    ['with escalate', true],
  ])('a paused request names the pause (%s)', (_name, escalate) => {
    const covering = pause({ escalate, createdBy: 'alice' })
    const p = plan({ pause: covering })
    if (p.kind !== 'settled' || !p.outcome) throw new Error('expected an outcome')
    const detail = `paused: ${describePause(covering, NOW)}`
    expect(detail).toContain('team=payments for 1h more: deploy freeze')
    expect(p.outcome).toMatchObject({ status: 'skipped_paused', detail, output: { pause: 'p-1' }, startedAt: null })
    expect(p.escalate).toBe(escalate ? detail : undefined)
  })

  it('a settled request records completed with the outcome status and attempts', () => {
    const p = plan({ dryRun: { global: true } })
    expect(p.ledger).toEqual([
      { key: KEY, value: ledgerEntry(request(), 'completed', NOW, { status: 'dry_run', attempts: 0 }) },
    ])
  })
})

describe('planRequest: not_effective follow-ups', () => {
  const success = { [SUCCESS_KEY]: earlierSuccess() }
  const follow: Pick<Summary, 'followUps'> = { followUps: ['not_effective'] }
  const dropSuccess: Change = [SUCCESS_KEY, null, null]

  it.each<[string, Case, Summary]>([
    ['with a run', { ledger: success }, { ...RUN, ...follow, ledger: [dropSuccess] }],
    [
      'with a duplicate',
      { ledger: { ...success, [KEY]: entry('completed', NOW - S, { status: 'succeeded' }) } },
      settled('skipped_duplicate', 'skipped_duplicate', [dropSuccess], follow),
    ],
    [
      'with a running duplicate',
      { ledger: { ...success, [KEY]: entry('started', NOW - S) }, running: true },
      settled('skipped_duplicate', 'skipped_duplicate', [dropSuccess], follow),
    ],
    [
      'with an interrupted request',
      { ledger: { ...success, [KEY]: entry('started', NOW - S) } },
      settled('interrupted', 'failed', [dropSuccess, done('failed')], { ...follow, escalate: true }),
    ],
    [
      'with a cancellation',
      { ledger: success, later: [resolvedOf(request())] },
      settled('cancelled_resolved', 'cancelled_resolved', [dropSuccess, done('cancelled_resolved')], follow),
    ],
    [
      'with a pause',
      { ledger: success, pause: pause() },
      settled('skipped_paused', 'skipped_paused', [dropSuccess, done('skipped_paused')], follow),
    ],
    [
      'with a dry run',
      { ledger: success, dryRun: { action: true } },
      settled('dry_run', 'dry_run', [dropSuccess, done('dry_run')], follow),
    ],
    [
      'not for a resolved notification that runs',
      {
        ledger: { ...success, [KEY]: entry('completed', NOW - S, { status: 'succeeded' }) },
        request: resolvedOf(request()),
        policy: { onResolved: 'run' },
      },
      { ...RUN, mark: `${KEY}#resolved started` },
    ],
    [
      'not for a resolved notification that cancels',
      { ledger: success, request: resolvedOf(request()) },
      settled('resolved_notice', undefined, [[KEY, 'resolved', null]]),
    ],
    ['not outside the window', { ledger: { [SUCCESS_KEY]: earlierSuccess(FIRED - 31 * M) } }, RUN],
    ['not for a success of another action', { ledger: { [successKey('exec', FP)]: earlierSuccess() } }, RUN],
  ])('%s', (_name, c, expected) => {
    expect(summary(plan(c))).toEqual(expected)
  })
})

describe('notEffective', () => {
  const p = policy({ notEffectiveWindowMs: 30 * M })

  it.each<[string, ActionRequestRecord, LedgerEntry | undefined, boolean]>([
    ['no success known', request(), undefined, false],
    ['fired again 5m after the success', request(), earlierSuccess(FIRED - 5 * M), true],
    ['fired again at the same ms as the success', request(), earlierSuccess(FIRED), true],
    ['fired again exactly at the end of the window', request(), earlierSuccess(FIRED - 30 * M), true],
    ['fired again 1ms after the window', request(), earlierSuccess(FIRED - 30 * M - 1), false],
    ['fired before the success (negative time)', request(), earlierSuccess(FIRED + 1), false],
    ['the success is of this very request', request(), earlierSuccess(FIRED - 5 * M, { idempotencyKey: KEY }), false],
    ['the entry is not a last_success', request(), earlierSuccess(FIRED - 5 * M, { kind: 'completed' }), false],
    ['a started entry under the key', request(), earlierSuccess(FIRED - 5 * M, { kind: 'started' }), false],
    [
      'unparsable startsAt: requestedAt is used (inside)',
      request({ startsAt: 'not a date', requestedAt: FIRED }),
      earlierSuccess(FIRED - 5 * M),
      true,
    ],
    [
      'unparsable startsAt: requestedAt is used (outside)',
      request({ startsAt: 'not a date', requestedAt: FIRED + H }),
      earlierSuccess(FIRED - 5 * M),
      false,
    ],
    [
      'unparsable startsAt: requestedAt is used (negative)',
      request({ startsAt: 'not a date', requestedAt: FIRED - 6 * M }),
      earlierSuccess(FIRED - 5 * M),
      false,
    ],
  ])('%s', (_name, r, last, expected) => {
    const out = notEffective(r, last, p, NOW)
    expect(out !== undefined).toBe(expected)
    if (out) expect(valid('ActionOutcome', out)).toBe(true)
  })

  it("is the earlier request's outcome: its key, route, episode and owner, and never a dry run", () => {
    const last = earlierSuccess(FIRED - 5 * M, { route: 'r1', team: 'storage', service: 'ledger-db' })
    const now = request({ dryRun: true })
    const out = notEffective({ ...now, route: 'r2' }, last, p, NOW)!
    expect(out).toMatchObject({
      idempotencyKey: last.idempotencyKey,
      route: 'r1',
      startsAt: last.startsAt,
      team: 'storage',
      service: 'ledger-db',
      dryRun: false,
      status: 'not_effective',
    })
    expect(out.output.newIdempotencyKey).toBe(now.idempotencyKey)
  })

  it('a zero window only catches a refire at the same ms', () => {
    expect(notEffective(request(), earlierSuccess(FIRED), policy({ notEffectiveWindowMs: 0 }), NOW)).toBeDefined()
    expect(notEffective(request(), earlierSuccess(FIRED - 1), policy({ notEffectiveWindowMs: 0 }), NOW)).toBeUndefined()
  })

  it("is the earlier request's outcome, pointing at the new one", () => {
    const last = earlierSuccess(FIRED - 5 * M)
    expect(notEffective(request(), last, p, NOW)).toEqual({
      idempotencyKey: last.idempotencyKey,
      action: 'restart',
      route: 'r1',
      fingerprint: FP,
      startsAt: last.startsAt,
      team: 'payments',
      service: 'checkout',
      slo: 'checkout-availability',
      status: 'not_effective',
      attempts: 0,
      startedAt: null,
      finishedAt: NOW,
      detail: `the fix did not hold: the alert fired again 300s after restart succeeded at ${new Date(FIRED - 5 * M).toISOString()}`,
      output: { firedAgainAt: STARTS_AT, newIdempotencyKey: KEY },
      escalatedTo: null,
      dryRun: false,
      alertname: 'HighLatency',
      durationMs: null,
      artifact: null,
    })
  })

  it('rounds the delay to whole seconds and measures from requestedAt when startsAt does not parse', () => {
    const r = request({ startsAt: 'garbage', requestedAt: FIRED + 1_499 })
    expect(notEffective(r, earlierSuccess(FIRED), p, NOW)?.detail).toMatch(/fired again 1s after/)
    expect(notEffective(r, earlierSuccess(FIRED), p, NOW)?.output).toEqual({
      firedAgainAt: 'garbage',
      newIdempotencyKey: KEY,
    })
  })
})

describe('escalationFor', () => {
  it.each<[string, string | null, string]>([
    ['no target', null, 'restart'],
    ['the target is the action itself', 'page', 'page'],
  ])('none when %s', (_name, target, action) => {
    expect(escalationFor(request({ action }), target, 'failed', NOW)).toBeUndefined()
  })

  it('hands the request to the target, saying why', () => {
    const r = request({ dryRun: true })
    const made = escalationFor(r, 'page', 'circuit open', NOW)
    expect(made).toEqual({
      idempotencyKey: `${KEY}>page`,
      action: 'page',
      route: 'r1',
      params: {
        reason: 'circuit open',
        escalatedFrom: 'restart',
        escalatedKey: KEY,
        summary: 'HighLatency on checkout: restart needs a human',
      },
      dryRun: true,
      requestedAt: NOW,
      alert: r.alert,
    })
    expect(valid('ActionRequest', made)).toBe(true)
  })

  it.each<[string, RequestOptions, string]>([
    ['no alertname, no service', { labels: {}, service: null }, 'alert on an unknown service: restart needs a human'],
    ['a service, no alertname', { labels: { severity: 'page' } }, 'alert on checkout: restart needs a human'],
  ])('summary with %s', (_name, o, summaryText) => {
    expect(escalationFor(request(o), 'page', 'x', NOW)?.params.summary).toBe(summaryText)
  })
})

describe('ledger keys', () => {
  it.each<['firing' | 'resolved', OnResolved, string]>([
    ['firing', 'cancel', KEY],
    ['firing', 'run', KEY],
    ['resolved', 'cancel', KEY],
    ['resolved', 'run', `${KEY}#resolved`],
  ])('ledgerKeyOf(%s, %s)', (status, onResolved, key) => {
    expect(ledgerKeyOf(request({ status }), onResolved)).toBe(key)
  })

  it.each([
    [successKey('restart', 'abc'), 'success/restart/abc'],
    [successKey('log-level', FP), `success/log-level/${FP}`],
    [revertKey(KEY), `revert/${KEY}`],
    [revertKey(`${KEY}#resolved`), `revert/${KEY}#resolved`],
  ])('%s', (actual, expected) => {
    expect(actual).toBe(expected)
  })
})

describe('ledgerEntry', () => {
  it.each<LedgerEntry['kind']>(['started', 'completed', 'resolved', 'last_success', 'revert_pending'])(
    '%s entries are valid LedgerEntry records',
    (kind) => {
      expect(valid('LedgerEntry', ledgerEntry(request(), kind, NOW))).toBe(true)
    },
  )

  it('copies the request and alert, with neutral defaults', () => {
    expect(ledgerEntry(request({ service: null, route: 'r9' }), 'started', NOW)).toEqual({
      kind: 'started',
      idempotencyKey: KEY,
      action: 'restart',
      fingerprint: FP,
      startsAt: STARTS_AT,
      route: 'r9',
      team: 'payments',
      service: null,
      at: NOW,
      status: null,
      attempts: 0,
      revertAt: null,
      params: {},
    })
  })

  it('lets extras override the defaults', () => {
    const e = ledgerEntry(request(), 'revert_pending', NOW, {
      revertAt: NOW + 15 * M,
      params: { level: 'INFO' },
      attempts: 2,
      status: 'succeeded',
    })
    expect(e).toMatchObject({
      kind: 'revert_pending',
      revertAt: NOW + 15 * M,
      params: { level: 'INFO' },
      attempts: 2,
      status: 'succeeded',
    })
    expect(valid('LedgerEntry', e)).toBe(true)
  })
})
