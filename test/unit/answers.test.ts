import {
  answeredHistoryRecord,
  approvalState,
  describeClosed,
  pendingFrom,
  type LedgerView,
} from '../../src/actions/worker/answers'
import { ApprovalBoard, answerRecord, approvalId, type ApprovalAnswer } from '../../src/actions/worker/approvals'
import type { LedgerEntry } from '../../src/contracts/records'
import { formatPendingApprovals } from '../../src/cli/approvals'
import { parseAnswerBody } from '../../src/http/approvals'
import { enrichedAlertRecord } from '../support/records'

const M = 60_000
const T0 = Date.parse('2026-12-06T03:00:00.000Z')
const KEY_A = 'checkout-restart-key-a'
const KEY_B = 'checkout-restart-key-b'
const ID_A = approvalId(KEY_A)
const ID_B = approvalId(KEY_B)

function entry(key: string, overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  const alert = enrichedAlertRecord({ alert: { labels: { alertname: 'HighLatency' } } })
  return {
    kind: 'held',
    idempotencyKey: key,
    action: 'restart',
    fingerprint: alert.alert.fingerprint,
    startsAt: alert.alert.startsAt,
    route: 'payments/restart',
    team: 'payments',
    service: 'checkout',
    at: T0,
    status: null,
    attempts: 0,
    revertAt: null,
    params: {},
    holdUntil: null,
    approvalId: approvalId(key),
    approvalTimeoutAt: T0 + 30 * M,
    request: JSON.stringify({
      idempotencyKey: key,
      action: 'restart',
      route: 'payments/restart',
      params: { replicas: '2', deployment: 'checkout' },
      dryRun: false,
      requestedAt: T0,
      alert,
    }),
    ...overrides,
  }
}

const answer = (id: string, overrides: Partial<ApprovalAnswer> = {}): ApprovalAnswer => ({
  id,
  decision: 'approve',
  by: 'alice',
  reason: 'safe',
  at: T0 + M,
  via: 'cli',
  ...overrides,
})

function board(...answers: ApprovalAnswer[]): ApprovalBoard {
  const b = new ApprovalBoard()
  for (const a of answers) {
    const record = answerRecord(a, 'c')
    b.apply({ key: Buffer.from(record.key, 'utf8'), value: record.value as Buffer })
  }
  return b
}

describe('approvalState', () => {
  test.each<[string, LedgerView, ApprovalBoard, string, unknown]>([
    ['held with the id: pending', new Map([[KEY_A, entry(KEY_A)]]), board(), ID_A, { state: 'pending', key: KEY_A }],
    [
      'answered: the first answer, whatever the ledger says',
      new Map([[KEY_A, entry(KEY_A, { kind: 'completed', status: 'succeeded' })]]),
      board(answer(ID_A), answer(ID_A, { by: 'bob', decision: 'deny' })),
      ID_A,
      { state: 'answered', first: answer(ID_A) },
    ],
    [
      'completed without an answer (resolved meanwhile): closed',
      new Map([[KEY_A, entry(KEY_A, { kind: 'completed', status: 'cancelled_resolved', approvalId: null })]]),
      board(),
      ID_A,
      { state: 'closed', key: KEY_A, entry: expect.objectContaining({ status: 'cancelled_resolved' }) },
    ],
    [
      'held, approval not asked yet: unknown',
      new Map([[KEY_A, entry(KEY_A, { approvalId: null })]]),
      board(),
      ID_A,
      { state: 'unknown' },
    ],
    ['deleted: unknown', new Map([[KEY_A, null]]), board(), ID_A, { state: 'unknown' }],
    ['another key only: unknown', new Map([[KEY_B, entry(KEY_B)]]), board(), ID_A, { state: 'unknown' }],
  ])('%s', (_name, ledger, answers, id, expected) => {
    expect(approvalState(id, ledger, answers)).toMatchObject(expected as object)
  })
})

describe('describeClosed', () => {
  test.each<[Partial<LedgerEntry>, string]>([
    [{ kind: 'completed', status: 'cancelled_resolved' }, 'completed (cancelled_resolved) at 2026-12-06T03:00:00.000Z'],
    [{ kind: 'resolved' }, 'closed at 2026-12-06T03:00:00.000Z: the alert resolved before it ran'],
    [{ kind: 'started' }, 'started at 2026-12-06T03:00:00.000Z, without waiting for an answer'],
  ])('%j', (overrides, text) => {
    expect(describeClosed(entry(KEY_A, overrides))).toBe(text)
  })
})

describe('pendingFrom and formatPendingApprovals', () => {
  const ledger: LedgerView = new Map<string, LedgerEntry | null>([
    [KEY_B, entry(KEY_B, { at: T0 + 5 * M, approvalTimeoutAt: null })],
    [KEY_A, entry(KEY_A)],
    ['done', entry('done', { kind: 'completed', status: 'denied' })],
    ['waiting', entry('waiting', { approvalId: null, holdUntil: T0 + M })],
    ['gone', null],
  ])

  test('held entries with an approval id, oldest first, with what would run and any answer not acted on', () => {
    const pending = pendingFrom(ledger, board(answer(ID_B, { decision: 'deny', by: 'bob' })), T0 + 40 * M)
    expect(pending.map((p) => p.id)).toEqual([ID_A, ID_B])
    expect(pending[0]).toEqual({
      id: ID_A,
      ledgerKey: KEY_A,
      action: 'restart',
      route: 'payments/restart',
      params: { replicas: '2', deployment: 'checkout' },
      team: 'payments',
      service: 'checkout',
      alertname: 'HighLatency',
      fingerprint: '16ddbf5dcf57d972',
      askedAt: T0,
      timeoutAt: T0 + 30 * M,
      overdue: true,
    })
    expect(pending[1]).toMatchObject({ timeoutAt: null, overdue: false, answer: { by: 'bob', decision: 'deny' } })
  })

  test('an entry whose request cannot be read still shows, from its own fields', () => {
    const [p] = pendingFrom(new Map([[KEY_A, entry(KEY_A, { request: '{not json' })]]), board(), T0)
    expect(p).toMatchObject({ action: 'restart', params: {}, alertname: null, fingerprint: '16ddbf5dcf57d972' })
  })

  test('the table', () => {
    const now = T0 + 12 * M
    const pending = pendingFrom(ledger, board(answer(ID_B, { decision: 'deny', by: 'bob', reason: '' })), now)
    expect(formatPendingApprovals(pending, now).split('\n')).toEqual([
      'ID            ASKED    TIMES OUT  RUNS                                    ON                                              ROUTE             ANSWER',
      `${ID_A}  12m ago  in 18m     restart deployment=checkout replicas=2  payments/checkout HighLatency 16ddbf5dcf57d972  payments/restart`,
      `${ID_B}  7m ago   -          restart deployment=checkout replicas=2  payments/checkout HighLatency 16ddbf5dcf57d972  payments/restart  denied by bob at 2026-12-06T03:01:00.000Z (cli) (not acted on yet)`,
    ])
    expect(formatPendingApprovals(pendingFrom(ledger, board(), T0 + 31 * M).slice(0, 1), T0 + 31 * M)).toContain(
      'overdue 1m',
    )
    expect(formatPendingApprovals([], now)).toBe('no approvals pending')
  })
})

test('answeredHistoryRecord: an answered event keyed like the answer', () => {
  const record = answeredHistoryRecord(answer(ID_A, { from: 'host1' }), 'h')
  expect(record).toMatchObject({ topic: 'h', key: `approval/${ID_A}`, timestamp: String(T0 + M) })
  expect(JSON.parse(record.value!.toString('utf8'))).toEqual({
    event: 'answered',
    at: T0 + M,
    answer: answer(ID_A, { from: 'host1' }),
  })
})

describe('parseAnswerBody (HTTP)', () => {
  test.each<[string, string | undefined, unknown]>([
    ['no body', undefined, { ok: true }],
    ['an empty body', '', { ok: true }],
    ['by and reason, trimmed', '{"by":" carol ","reason":" ok "}', { ok: true, by: 'carol', reason: 'ok' }],
    ['not JSON', 'by=carol', { ok: false, reason: expect.stringMatching(/not JSON/) }],
    ['not an object', '["carol"]', { ok: false, reason: expect.stringMatching(/JSON object/) }],
    ['an unknown field', '{"decision":"approve"}', { ok: false, reason: expect.stringMatching(/unknown field/) }],
    ['an empty by', '{"by":" "}', { ok: false, reason: expect.stringMatching(/^by must/) }],
    ['a reason that is not text', '{"reason":1}', { ok: false, reason: expect.stringMatching(/^reason must/) }],
  ])('%s', (_name, body, expected) => {
    expect(parseAnswerBody(body === undefined ? undefined : Buffer.from(body, 'utf8'))).toEqual(expected)
  })
})
