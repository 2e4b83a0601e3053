import { outcomeFor, type LedgerSubject, type OutcomeFields, type OutcomeSubject } from '../../src/contracts/outcome'
import type { ActionOutcomeRecord } from '../../src/contracts/records'
import { SchemaSet } from '../../src/contracts/schemas'
import { enrichedAlertRecord } from '../support/records'

const T = Date.UTC(2026, 10, 25, 3, 0, 0)
const STARTS_AT = '2026-11-25T02:55:00.000Z'

const schemas = SchemaSet.load()
const valid = (value: unknown): boolean =>
  schemas.type('ActionOutcome').isValid(value, {
    errorHook: (p) => {
      throw new Error(`ActionOutcome invalid at ${p.join('.')}: ${JSON.stringify(value)}`)
    },
  })

const REQUEST: OutcomeSubject = {
  idempotencyKey: 'fp-1|start|restart|fix',
  action: 'restart',
  route: 'fix',
  dryRun: false,
  alert: enrichedAlertRecord({
    alert: { fingerprint: 'fp-1', startsAt: STARTS_AT, labels: { alertname: 'HighLatency' } },
    team: 'payments',
    service: 'checkout',
    slo: 'checkout-latency',
  }),
}

const LEDGER: LedgerSubject = {
  idempotencyKey: 'fp-1|start|log-level|debug/revert',
  action: 'log-level',
  route: 'debug',
  fingerprint: 'fp-1',
  startsAt: STARTS_AT,
  team: 'payments',
  service: 'checkout',
}

/** The fields every outcome of REQUEST copies from it. */
const FROM_REQUEST = {
  idempotencyKey: REQUEST.idempotencyKey,
  action: 'restart',
  route: 'fix',
  fingerprint: 'fp-1',
  startsAt: STARTS_AT,
  team: 'payments',
  service: 'checkout',
  slo: 'checkout-latency',
  alertname: 'HighLatency',
}

/** The fields every outcome of LEDGER copies from it: no SLO, alert name or dry run is kept there. */
const FROM_LEDGER = {
  idempotencyKey: LEDGER.idempotencyKey,
  action: 'log-level',
  route: 'debug',
  fingerprint: 'fp-1',
  startsAt: STARTS_AT,
  team: 'payments',
  service: 'checkout',
  slo: null,
  alertname: '',
  dryRun: false,
}

describe('outcomeFor', () => {
  it.each<[string, OutcomeSubject | LedgerSubject, OutcomeFields, Partial<ActionOutcomeRecord>]>([
    [
      'a request that never ran: defaults, no duration',
      REQUEST,
      { status: 'skipped_paused', finishedAt: T, detail: 'paused' },
      {
        ...FROM_REQUEST,
        status: 'skipped_paused',
        attempts: 0,
        startedAt: null,
        finishedAt: T,
        detail: 'paused',
        output: {},
        escalatedTo: null,
        dryRun: false,
        durationMs: null,
        artifact: null,
      },
    ],
    [
      'a request that ran: its duration from startedAt, its attempts, output and artifact',
      REQUEST,
      {
        status: 'succeeded',
        finishedAt: T,
        startedAt: T - 1500,
        attempts: 2,
        detail: 'ok',
        output: { status: '200' },
        artifact: 'dumps/a.txt',
      },
      {
        ...FROM_REQUEST,
        status: 'succeeded',
        attempts: 2,
        startedAt: T - 1500,
        durationMs: 1500,
        output: { status: '200' },
        artifact: 'dumps/a.txt',
      },
    ],
    [
      'a clock stepping back between start and finish: duration 0, never negative',
      REQUEST,
      { status: 'failed', finishedAt: T, startedAt: T + 20, detail: 'x' },
      { startedAt: T + 20, durationMs: 0 },
    ],
    [
      'the request’s dry-run flag is kept',
      { ...REQUEST, dryRun: true },
      { status: 'dry_run', finishedAt: T, detail: 'would run' },
      { dryRun: true },
    ],
    [
      'a dry run decided by the worker overrides the request’s flag',
      REQUEST,
      { status: 'dry_run', finishedAt: T, detail: 'would run', dryRun: true },
      { dryRun: true },
    ],
    [
      'an alert without an alertname: empty, not missing',
      { ...REQUEST, alert: enrichedAlertRecord({ alert: { labels: {} } }) },
      { status: 'error', finishedAt: T, detail: null },
      { alertname: '', detail: null },
    ],
    [
      'an escalated outcome names its target',
      REQUEST,
      { status: 'failed', finishedAt: T, detail: 'boom', escalatedTo: 'page' },
      { escalatedTo: 'page' },
    ],
    [
      'a ledger entry’s later step (a revert): the reference the ledger keeps',
      LEDGER,
      {
        status: 'succeeded',
        finishedAt: T,
        startedAt: T - 200,
        attempts: 1,
        detail: 'revert: level INFO',
        output: { step: 'revert' },
      },
      {
        ...FROM_LEDGER,
        status: 'succeeded',
        attempts: 1,
        startedAt: T - 200,
        finishedAt: T,
        durationMs: 200,
        detail: 'revert: level INFO',
        output: { step: 'revert' },
        escalatedTo: null,
        artifact: null,
      },
    ],
  ])('%s', (_name, subject, fields, expected) => {
    const outcome = outcomeFor(subject, fields)
    expect(outcome).toMatchObject(expected)
    expect(valid(outcome)).toBe(true)
  })

  it('sets every field of the record, whatever the subject', () => {
    const keys = Object.keys(outcomeFor(REQUEST, { status: 'error', finishedAt: T, detail: null })).sort()
    expect(Object.keys(outcomeFor(LEDGER, { status: 'error', finishedAt: T, detail: null })).sort()).toEqual(keys)
  })
})
