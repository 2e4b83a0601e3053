import type { ActionOutcomeRecord, ActionRequestRecord, OutcomeStatus } from '../contracts/records'

/** The request fields an outcome copies (route builds outcomes for requests it could not make). */
export type OutcomeSubject = Pick<ActionRequestRecord, 'idempotencyKey' | 'action' | 'route' | 'dryRun' | 'alert'>

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
  /** Overrides the request's dry-run flag (a dry run decided by the worker's config). */
  dryRun?: boolean
}

/**
 * The one ActionOutcome of a request: its alert reference (fingerprint, startsAt,
 * alertname), owner (team, service, SLO) and what happened. `durationMs` is derived
 * from startedAt, so an outcome of something that never ran has none.
 */
export function outcomeFor(subject: OutcomeSubject, fields: OutcomeFields): ActionOutcomeRecord {
  const { alert } = subject.alert
  const startedAt = fields.startedAt ?? null
  return {
    idempotencyKey: subject.idempotencyKey,
    action: subject.action,
    route: subject.route,
    fingerprint: alert.fingerprint,
    startsAt: alert.startsAt,
    team: subject.alert.team,
    service: subject.alert.service,
    slo: subject.alert.slo,
    status: fields.status,
    attempts: fields.attempts ?? 0,
    startedAt,
    finishedAt: fields.finishedAt,
    detail: fields.detail,
    output: fields.output ?? {},
    escalatedTo: fields.escalatedTo ?? null,
    dryRun: fields.dryRun ?? subject.dryRun,
    alertname: alert.labels.alertname ?? '',
    durationMs: startedAt === null ? null : Math.max(0, fields.finishedAt - startedAt),
    artifact: fields.artifact ?? null,
  }
}
