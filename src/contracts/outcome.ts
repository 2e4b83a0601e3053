/**
 * The one builder of ActionOutcome records. Route (a request it could not make), the
 * action worker's decisions and runs, and its reverts all build outcomes here, so every
 * outcome copies its alert reference and owner the same way and derives `durationMs` the
 * same way.
 */
import type { ActionOutcomeRecord, ActionRequestRecord, LedgerEntry, OutcomeStatus } from './records'

/** The request fields an outcome copies (route builds outcomes for requests it could not make). */
export type OutcomeSubject = Pick<ActionRequestRecord, 'idempotencyKey' | 'action' | 'route' | 'dryRun' | 'alert'>

/**
 * An outcome's subject as the action ledger remembers it, for steps run long after the
 * request is gone (a revert). The ledger keeps no SLO, alert name or dry-run flag: the
 * outcome has none (a step that ran was no dry run).
 */
export type LedgerSubject = Pick<
  LedgerEntry,
  'idempotencyKey' | 'action' | 'route' | 'fingerprint' | 'startsAt' | 'team' | 'service'
>

/** What differs between outcomes of the same request. */
export interface OutcomeFields {
  status: OutcomeStatus
  finishedAt: number
  detail: string | null
  attempts?: number
  startedAt?: number | null
  output?: Record<string, string>
  escalatedTo?: string | null
  artifact?: string | null
  /** Overrides the subject's dry-run flag (a dry run decided by the worker's config). */
  dryRun?: boolean
}

/** The alert reference and owner every outcome copies from its subject. */
type Reference = Pick<
  ActionOutcomeRecord,
  'idempotencyKey' | 'action' | 'route' | 'fingerprint' | 'startsAt' | 'team' | 'service' | 'slo' | 'alertname'
> & { dryRun: boolean }

function referenceOf(subject: OutcomeSubject | LedgerSubject): Reference {
  if ('alert' in subject) {
    const { alert } = subject.alert
    return {
      idempotencyKey: subject.idempotencyKey,
      action: subject.action,
      route: subject.route,
      fingerprint: alert.fingerprint,
      startsAt: alert.startsAt,
      team: subject.alert.team,
      service: subject.alert.service,
      slo: subject.alert.slo,
      alertname: alert.labels.alertname ?? '',
      dryRun: subject.dryRun,
    }
  }
  return {
    idempotencyKey: subject.idempotencyKey,
    action: subject.action,
    route: subject.route,
    fingerprint: subject.fingerprint,
    startsAt: subject.startsAt,
    team: subject.team,
    service: subject.service,
    slo: null,
    alertname: '',
    dryRun: false,
  }
}

/**
 * The ActionOutcome of a request (or of a ledger entry's later step): its alert
 * reference (fingerprint, startsAt, alertname), owner (team, service, SLO) and what
 * happened. `durationMs` is derived from startedAt, so an outcome of something that never
 * ran has none, and is never negative (a clock stepping back between start and finish).
 */
export function outcomeFor(subject: OutcomeSubject | LedgerSubject, fields: OutcomeFields): ActionOutcomeRecord {
  const ref = referenceOf(subject)
  const startedAt = fields.startedAt ?? null
  return {
    idempotencyKey: ref.idempotencyKey,
    action: ref.action,
    route: ref.route,
    fingerprint: ref.fingerprint,
    startsAt: ref.startsAt,
    team: ref.team,
    service: ref.service,
    slo: ref.slo,
    status: fields.status,
    attempts: fields.attempts ?? 0,
    startedAt,
    finishedAt: fields.finishedAt,
    detail: fields.detail,
    output: fields.output ?? {},
    escalatedTo: fields.escalatedTo ?? null,
    dryRun: fields.dryRun ?? ref.dryRun,
    alertname: ref.alertname,
    durationMs: startedAt === null ? null : Math.max(0, fields.finishedAt - startedAt),
    artifact: fields.artifact ?? null,
  }
}

/**
 * Statuses that are events on the outcome stream, not outcomes: the request waits (`held`)
 * or waits for a person (`awaiting_approval`), and its one final outcome follows. Readers
 * that count outcomes (SLO remediations, checks of "one outcome per request") skip them.
 */
export const OUTCOME_EVENTS: ReadonlySet<OutcomeStatus> = new Set(['held', 'awaiting_approval'])

/** true when `status` is a final outcome, not an event ({@link OUTCOME_EVENTS}). */
export function isFinalOutcome(status: OutcomeStatus | string): boolean {
  return !OUTCOME_EVENTS.has(status as OutcomeStatus)
}
