import { SchemaSet } from '../../src/contracts/schemas'
import type { ActionRequestRecord, HoldRecord, LedgerEntry } from '../../src/contracts/records'
import { approvalId, type ApprovalAnswer } from '../../src/actions/worker/approvals'
import { announcementFor, holdOf, planRequest, type Plan, type PlanInput } from '../../src/actions/worker/decide'
import { wakeOf } from '../../src/actions/worker/holds'
import { ledgerEntry } from '../../src/actions/worker/ledger'
import type { Pause } from '../../src/actions/worker/pause'
import { enrichedAlertRecord } from '../support/records'

const S = 1000
const M = 60 * S
const STARTS_AT = '2026-11-25T00:52:34.568Z'
const FIRED = Date.parse(STARTS_AT)
const NOW = FIRED + 10 * S
const KEY = `16ddbf5dcf57d972|${STARTS_AT}|restart|r1`
const ID = approvalId(KEY)

const schemas = SchemaSet.load()
const valid = (schema: 'ActionOutcome' | 'LedgerEntry' | 'ActionRequest', value: unknown): boolean =>
  schemas.type(schema).isValid(value, {
    errorHook: (p) => {
      throw new Error(`${schema} invalid at ${p.join('.')}: ${JSON.stringify(value)}`)
    },
  })

function request(
  extra: Partial<ActionRequestRecord> = {},
  status: 'firing' | 'resolved' = 'firing',
): ActionRequestRecord {
  return {
    idempotencyKey: KEY,
    action: 'restart',
    route: 'r1',
    params: { instance: 'web-1' },
    dryRun: false,
    requestedAt: FIRED + S,
    alert: enrichedAlertRecord({
      alert: { fingerprint: '16ddbf5dcf57d972', status, startsAt: STARTS_AT, labels: { alertname: 'HighLatency' } },
      service: 'checkout',
      slo: 'checkout-availability',
    }),
    ...extra,
  }
}

const WAIT: HoldRecord = { waitMs: 5 * M, approval: null }
const ASK = (onTimeout: 'page' | 'skip' | 'run' = 'page', waitMs = 0): HoldRecord => ({
  waitMs,
  approval: { timeoutMs: 30 * M, onTimeout },
})

/** The held entry decide.ts writes: waiting until `until`, or asked at `asked` (approval). */
function held(fields: Partial<LedgerEntry>): LedgerEntry {
  return ledgerEntry(request(), 'held', NOW - M, {
    holdUntil: null,
    approvalId: null,
    approvalTimeoutAt: null,
    request: JSON.stringify(request()),
    ...fields,
  })
}
const waiting = (until: number) => held({ holdUntil: until })
const asked = (timeoutAt = NOW + 20 * M) => held({ approvalId: ID, approvalTimeoutAt: timeoutAt })

const answer = (decision: 'approve' | 'deny', extra: Partial<ApprovalAnswer> = {}): ApprovalAnswer => ({
  id: ID,
  decision,
  by: 'alice',
  reason: 'checked the dashboard',
  at: NOW - S,
  via: 'cli',
  ...extra,
})

interface Case {
  name: string
  request?: ActionRequestRecord
  hold?: HoldRecord | null
  known?: LedgerEntry
  answer?: ApprovalAnswer
  pause?: Pause
  gated?: string
  dryRun?: boolean
  onResolved?: 'cancel' | 'run'
  later?: ActionRequestRecord[]
  /** The plan's kind and reason (reason: the outcome's status, or still_held / resolved_notice). */
  expect: { kind: 'run' } | { kind: 'settled'; reason: string }
  /** Kind of the entry written under KEY (null: none). */
  entry?: LedgerEntry['kind'] | null
  escalate?: boolean
  announce?: boolean
  output?: Record<string, string>
  detail?: RegExp
}

function inputOf(c: Case): PlanInput {
  return {
    request: c.request ?? request(),
    ledger: { get: (k) => (k === KEY ? c.known : undefined) },
    later: () => c.later ?? [],
    running: false,
    pause: c.pause,
    gated: c.gated,
    dryRun: { global: c.dryRun ?? false, action: false },
    describe: () => 'POST http://checkout:8081/restart',
    policy: { onResolved: c.onResolved ?? 'cancel', escalateTo: 'page', notEffectiveWindowMs: 30 * M },
    hold: c.hold === undefined ? null : c.hold,
    answer: (id) => (c.answer && c.answer.id === id ? c.answer : undefined),
    now: NOW,
  }
}

const PAUSE: Pause = {
  id: 'pause/team=payments',
  scope: { team: 'payments' },
  reason: 'deploy freeze',
  createdAt: NOW - M,
  until: NOW + M,
  escalate: false,
}

const cases: Case[] = [
  // Wait
  {
    name: 'a new request with a wait is held until the wait ends',
    hold: WAIT,
    expect: { kind: 'settled', reason: 'held' },
    entry: 'held',
    output: { holdUntil: new Date(NOW + 5 * M).toISOString() },
    detail: /waiting 5m .*cancelled if the alert resolves first/,
  },
  {
    name: 'a woken request whose wait has not ended stays held, with nothing written',
    hold: WAIT,
    known: waiting(NOW + M),
    expect: { kind: 'settled', reason: 'still_held' },
    entry: null,
  },
  {
    name: 'a wait that ended runs the request',
    hold: WAIT,
    known: waiting(NOW - S),
    expect: { kind: 'run' },
    entry: 'started',
  },
  {
    name: 'a wait that ended under a pause is skipped',
    hold: WAIT,
    known: waiting(NOW - S),
    pause: PAUSE,
    expect: { kind: 'settled', reason: 'skipped_paused' },
    entry: 'completed',
  },
  {
    name: 'a wait that ended under a budget gate is gated',
    hold: WAIT,
    known: waiting(NOW - S),
    gated: 'budget below 10%',
    expect: { kind: 'settled', reason: 'gated' },
    entry: 'completed',
    escalate: true,
  },
  {
    name: 'a wait that ended in a dry run records what would run',
    hold: WAIT,
    known: waiting(NOW - S),
    dryRun: true,
    expect: { kind: 'settled', reason: 'dry_run' },
    entry: 'completed',
  },
  {
    name: 'a resolve during the wait cancels the held request (its firing key)',
    request: request({}, 'resolved'),
    hold: WAIT,
    known: waiting(NOW + M),
    expect: { kind: 'settled', reason: 'cancelled_resolved' },
    entry: 'completed',
    detail: /resolved while the request was held/,
  },
  {
    name: 'a resolve during the wait cancels it for an action that runs resolves too (page)',
    request: request({}, 'resolved'),
    onResolved: 'run',
    known: waiting(NOW + M),
    expect: { kind: 'settled', reason: 'cancelled_resolved' },
    entry: 'completed',
  },
  {
    name: 'a resolve later in the batch cancels a new request before it is held',
    hold: WAIT,
    later: [request({}, 'resolved')],
    expect: { kind: 'settled', reason: 'cancelled_resolved' },
    entry: 'completed',
  },
  // Approval
  {
    name: 'a request that needs approval is held and announced once',
    hold: ASK(),
    expect: { kind: 'settled', reason: 'awaiting_approval' },
    entry: 'held',
    announce: true,
    output: { approval: ID, approvalTimeoutAt: new Date(NOW + 30 * M).toISOString() },
    detail: /awaiting approval [0-9a-f]{12} until .* \(then: page\); would run: POST/,
  },
  {
    name: 'wait then approval: the wait comes first',
    hold: ASK('page', 5 * M),
    expect: { kind: 'settled', reason: 'held' },
    entry: 'held',
  },
  {
    name: 'wait then approval: when the wait ends the approval is asked',
    hold: ASK('page', 5 * M),
    known: waiting(NOW - S),
    expect: { kind: 'settled', reason: 'awaiting_approval' },
    entry: 'held',
    announce: true,
  },
  {
    name: 'a pause in force when the approval would be asked skips it without asking',
    hold: ASK(),
    pause: PAUSE,
    expect: { kind: 'settled', reason: 'skipped_paused' },
    entry: 'completed',
  },
  {
    name: 'approved: the request runs, the outcome will name the approver',
    hold: ASK(),
    known: asked(),
    answer: answer('approve'),
    expect: { kind: 'run' },
    entry: 'started',
  },
  {
    name: 'approved in a dry run: the dry-run outcome names the approver',
    hold: ASK(),
    known: asked(),
    answer: answer('approve'),
    dryRun: true,
    expect: { kind: 'settled', reason: 'dry_run' },
    entry: 'completed',
    output: { approvedBy: 'alice', answerReason: 'checked the dashboard', approval: ID },
    detail: /^approved by alice at .* \(cli\): checked the dashboard; dry run/,
  },
  {
    name: 'denied: not run, the outcome names who and why',
    hold: ASK(),
    known: asked(),
    answer: answer('deny', { reason: 'not during the sale' }),
    expect: { kind: 'settled', reason: 'denied' },
    entry: 'completed',
    output: { deniedBy: 'alice', answerReason: 'not during the sale' },
    detail: /^denied by alice .*: not during the sale; not run$/,
  },
  {
    name: 'no answer before the timeout: still held',
    hold: ASK(),
    known: asked(NOW + M),
    expect: { kind: 'settled', reason: 'still_held' },
    entry: null,
  },
  {
    name: 'timeout, onTimeout skip: expired, nobody paged',
    hold: ASK('skip'),
    known: asked(NOW - S),
    expect: { kind: 'settled', reason: 'approval_expired' },
    entry: 'completed',
    escalate: false,
    detail: /nobody answered approval .*onTimeout: skip/,
  },
  {
    name: 'timeout, onTimeout page: expired and a human is paged',
    hold: ASK('page'),
    known: asked(NOW - S),
    expect: { kind: 'settled', reason: 'approval_expired' },
    entry: 'completed',
    escalate: true,
  },
  {
    name: 'timeout, onTimeout run: it runs',
    hold: ASK('run'),
    known: asked(NOW - S),
    expect: { kind: 'run' },
    entry: 'started',
  },
  {
    name: 'an answer after the timeout still counts when the wake finds it first',
    hold: ASK('skip'),
    known: asked(NOW - S),
    answer: answer('approve'),
    expect: { kind: 'run' },
    entry: 'started',
  },
  {
    name: 'a resolve while awaiting approval cancels it',
    request: request({}, 'resolved'),
    hold: ASK(),
    known: asked(),
    expect: { kind: 'settled', reason: 'cancelled_resolved' },
    entry: 'completed',
    detail: /resolved while the request was awaiting approval [0-9a-f]{12}/,
  },
  {
    name: 'an approval removed from the config meanwhile: the held request runs',
    hold: null,
    known: asked(),
    expect: { kind: 'run' },
    entry: 'started',
  },
  {
    name: 'a completed request is not held again when its copy comes',
    hold: WAIT,
    known: ledgerEntry(request(), 'completed', NOW - M, { status: 'succeeded' }),
    expect: { kind: 'settled', reason: 'skipped_duplicate' },
  },
]

function written(plan: Plan): LedgerEntry | null | undefined {
  const changes = [...plan.ledger, ...(plan.kind === 'run' ? [plan.mark] : [])].filter((c) => c.key === KEY)
  return changes.length === 0 ? null : changes[changes.length - 1]!.value
}

describe('planRequest with holds (wait × resolve × pause × gate × approval × timeout)', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const plan = planRequest(inputOf(c))
    if (c.expect.kind === 'run') expect(plan.kind).toBe('run')
    else {
      expect(plan.kind).toBe('settled')
      if (plan.kind === 'settled') expect(plan.reason).toBe(c.expect.reason)
    }
    if (c.entry !== undefined) expect(written(plan)?.kind ?? null).toBe(c.entry)
    if (plan.kind === 'settled') {
      if (plan.outcome) expect(valid('ActionOutcome', plan.outcome)).toBe(true)
      if (c.escalate !== undefined) expect(plan.escalate !== undefined).toBe(c.escalate)
      expect(plan.announce !== undefined).toBe(c.announce ?? false)
      if (c.output) expect(plan.outcome?.output).toMatchObject(c.output)
      if (c.detail) expect(plan.outcome?.detail).toMatch(c.detail)
    } else if (c.output || c.detail) throw new Error('a run plan has no outcome yet')
    for (const change of [...plan.ledger, ...(plan.kind === 'run' ? [plan.mark] : [])])
      if (change.value !== null) expect(valid('LedgerEntry', change.value)).toBe(true)
  })

  it('a held entry carries the request, which decodes back and encodes as an ActionRequest', () => {
    const plan = planRequest(inputOf({ name: 'wait', hold: WAIT, expect: { kind: 'settled', reason: 'held' } }))
    const entry = written(plan)!
    expect(entry.holdUntil).toBe(NOW + 5 * M)
    const back = JSON.parse(entry.request!) as ActionRequestRecord
    expect(back).toEqual(request())
    expect(valid('ActionRequest', back)).toBe(true)
  })

  it('a run let through by an approval carries the answer for its outcome', () => {
    const plan = planRequest(
      inputOf({ name: 'approved', hold: ASK(), known: asked(), answer: answer('approve'), expect: { kind: 'run' } }),
    )
    expect(plan.kind === 'run' && plan.approval?.output).toMatchObject({ approvedBy: 'alice', answeredVia: 'cli' })
    const timeout = planRequest(
      inputOf({ name: 'timeout run', hold: ASK('run'), known: asked(NOW - S), expect: { kind: 'run' } }),
    )
    expect(timeout.kind === 'run' && timeout.approval?.output.approvedBy).toBe('(timeout)')
  })

  it('the announcement says what would run, on what, and how to answer', () => {
    const plan = planRequest(inputOf({ name: 'ask', hold: ASK('skip'), expect: { kind: 'settled', reason: '' } }))
    const announce = plan.kind === 'settled' ? plan.announce : undefined
    expect(announce?.id).toBe(ID)
    expect(announce?.text).toContain('restart on checkout for HighLatency')
    expect(announce?.text).toContain('Would run: POST http://checkout:8081/restart')
    expect(announce?.text).toContain(`nightshift approve ${ID}`)
    expect(announce?.text).toContain(`/api/approvals/${ID}/approve`)
    expect(announce?.text).toContain('it is skipped')
    const ask = announcementFor(request(), 'page', announce!, NOW)!
    expect(ask.idempotencyKey).toBe(`${KEY}>approval>page`)
    expect(ask.params).toMatchObject({ approvalId: ID, escalatedFrom: 'restart', escalatedKey: KEY })
    expect(valid('ActionRequest', ask)).toBe(true)
    // The announcement is an escalation: it is never held itself.
    expect(holdOf(ask, ASK())).toBeNull()
    expect(announcementFor(request(), null, announce!, NOW)).toBeUndefined()
  })
})

describe('holdOf', () => {
  it.each([
    ['the route hold wins over the action one', request({ hold: WAIT }), ASK(), WAIT],
    ['no route hold: the action one', request(), ASK(), ASK()],
    ['neither: none', request(), null, null],
    [
      'a run by hand is never held',
      request({ manualRun: { by: 'bob', reason: 'r', at: NOW, of: 'k' }, hold: WAIT }),
      ASK(),
      null,
    ],
    ['an escalation is never held', request({ params: { escalatedFrom: 'restart' } }), WAIT, null],
  ] as const)('%s', (_name, req, actionHold, expected) => {
    expect(holdOf(req, actionHold)).toEqual(expected)
  })
})

describe('wakeOf', () => {
  it.each([
    [
      'a wait wakes when it ends',
      { holdUntil: NOW + M, approvalId: null, approvalTimeoutAt: null },
      false,
      NOW + M,
      'wait',
    ],
    [
      'an asked approval wakes at its timeout',
      { holdUntil: null, approvalId: ID, approvalTimeoutAt: NOW + M },
      false,
      NOW + M,
      'timeout',
    ],
    [
      'an answered approval wakes now',
      { holdUntil: null, approvalId: ID, approvalTimeoutAt: NOW + M },
      true,
      NOW,
      'answer',
    ],
    [
      'an entry with nothing left to wait for wakes now',
      { holdUntil: null, approvalId: null, approvalTimeoutAt: null },
      false,
      NOW,
      'wait',
    ],
  ] as const)('%s', (_name, entry, answered, at, why) => {
    expect(wakeOf(entry, answered, NOW)).toEqual({ at, why })
  })
})
