/**
 * The action worker's decisions, pure: what to do with one request given the ledger,
 * the pauses, the dry-run switches and the records after it in its batch (what a
 * finished run records is ledger.ts's). The worker (worker.ts) supplies the time and does
 * the I/O.
 *
 * What must hold:
 * - a key the ledger has as `completed` is never run again (`skipped_duplicate`);
 * - a key the ledger has as `started` is never run again either: the handler may have
 *   done its work before the worker died, so the request fails (`failed`, detail says
 *   "interrupted") and a human is paged — at most once, never twice;
 * - a request whose alert resolved before it started is not run (`cancelled_resolved`);
 * - nothing runs while a pause covers it or a dry run is on;
 * - every firing request that reaches a decision here gets exactly one outcome.
 *
 * Resolved notifications: route sends an alert's resolved notification to the same
 * action topics. For most actions it is a cancellation (`onResolved: cancel`): it
 * cancels the request of its episode if that has not started, and has no outcome of its
 * own. The page action runs it (`onResolved: run`) to resolve the incident, as a
 * request of its own under the ledger key `<idempotencyKey>#resolved`.
 */
import type { ActionOutcomeRecord, ActionRequestRecord, LedgerEntry } from '../../contracts/records'
import { outcomeFor, type OutcomeFields } from '../../contracts/outcome'
import { completedChange, ledgerEntry, ledgerKeyOf, successKey, type LedgerChange, type OnResolved } from './ledger'
import { describePause, type Pause } from './pause'

/** Statuses of requests whose handler ran (a resolve may follow them). */
const RAN = new Set(['succeeded', 'failed', 'timed_out'])

export interface ActionPolicy {
  onResolved: OnResolved
  /** Action escalated to when a request is not run or fails (normally `page`); null: none. */
  escalateTo: string | null
  /** A succeeded fix whose alert fires again within this long is followed by `not_effective`. */
  notEffectiveWindowMs: number
}

export interface PlanInput {
  request: ActionRequestRecord
  ledger: { get(key: string): LedgerEntry | undefined }
  /** Requests after this one in the same batch (asked only when cancellation is in question: it copies). */
  later: () => readonly ActionRequestRecord[]
  /** A copy of this request (same ledger key) is running in this worker right now. */
  running: boolean
  /** The pause covering the request now, if any. */
  pause: Pause | undefined
  /** Why the budget gate stops the request now (gate.ts), if it does. */
  gated?: string | undefined
  /** Dry run switched on for the whole worker or for this action (the route's is on the request). */
  dryRun: { global: boolean; action: boolean }
  /** What the handler would do (handler.describe), for dry-run outcomes. */
  describe: () => string
  policy: ActionPolicy
  now: number
}

/** The decision for one request. */
export type Plan =
  | {
      kind: 'run'
      /** Ledger key of this request (with `#resolved` for a resolved notification that runs). */
      ledgerKey: string
      /** The `started` mark committed before the handler runs. */
      mark: LedgerChange
      followUps: ActionOutcomeRecord[]
      ledger: LedgerChange[]
    }
  | {
      kind: 'settled'
      /** Metrics kind: the outcome's status, or `resolved_notice`. */
      reason: string
      outcome: ActionOutcomeRecord | undefined
      /** Why a human must hear of it (an escalation request is made when set and the action has a target). */
      escalate: string | undefined
      followUps: ActionOutcomeRecord[]
      ledger: LedgerChange[]
    }

/** Decides what becomes of one request. */
export function planRequest(input: PlanInput): Plan {
  const { request, ledger, policy, now } = input
  const alert = request.alert.alert
  const resolved = alert.status === 'resolved'

  if (resolved && policy.onResolved === 'cancel') {
    const known = ledger.get(request.idempotencyKey)
    // Marks the episode resolved so its firing request, should it come again, is cancelled.
    const changes: LedgerChange[] = known
      ? []
      : [{ key: request.idempotencyKey, value: ledgerEntry(request, 'resolved', now) }]
    return {
      kind: 'settled',
      reason: 'resolved_notice',
      outcome: undefined,
      escalate: undefined,
      followUps: [],
      ledger: changes,
    }
  }

  const key = ledgerKeyOf(request, policy.onResolved)
  const followUps: ActionOutcomeRecord[] = []
  const changes: LedgerChange[] = []
  if (!resolved) {
    const fix = notEffective(request, ledger.get(successKey(request.action, alert.fingerprint)), policy, now)
    if (fix) {
      followUps.push(fix)
      changes.push({ key: successKey(request.action, alert.fingerprint), value: null })
    }
  }

  // The outcome is keyed like the ledger: a resolved notification that runs has its own.
  const subject = key === request.idempotencyKey ? request : { ...request, idempotencyKey: key }
  const settle = (reason: string, fields: OutcomeFields, escalate?: string): Plan => {
    const outcome = outcomeFor(subject, fields)
    changes.push(completedChange(request, key, outcome))
    return { kind: 'settled', reason, outcome, escalate, followUps, ledger: changes }
  }

  const known = ledger.get(key)
  if (known?.kind === 'completed') {
    // Not recorded again: the ledger keeps the first outcome.
    return {
      kind: 'settled',
      reason: 'skipped_duplicate',
      outcome: outcomeFor(subject, {
        status: 'skipped_duplicate',
        finishedAt: now,
        detail: `already completed (${known.status ?? 'unknown'}) at ${iso(known.at)}; not run again`,
      }),
      escalate: undefined,
      followUps,
      ledger: changes,
    }
  }
  if (known?.kind === 'started' && input.running) {
    return {
      kind: 'settled',
      reason: 'skipped_duplicate',
      outcome: outcomeFor(subject, {
        status: 'skipped_duplicate',
        finishedAt: now,
        detail: `a copy of this request started at ${iso(known.at)} is running; not run again`,
      }),
      escalate: undefined,
      followUps,
      ledger: changes,
    }
  }
  if (known?.kind === 'started') {
    const detail = `interrupted: a worker started this action at ${iso(known.at)} and stopped before recording its outcome; not run again because it may have taken effect — check the target`
    return settle(
      'interrupted',
      { status: 'failed', finishedAt: now, startedAt: known.at, detail, output: { interrupted: 'true' } },
      detail,
    )
  }
  if (resolved) {
    // A resolved notification that runs (page: resolve the incident) only follows a
    // firing request that ran; anything else would announce the end of nothing.
    const firing = ledger.get(request.idempotencyKey)
    if (firing?.kind !== 'completed' || !RAN.has(firing.status ?? '')) {
      const why =
        firing === undefined
          ? 'no firing request of this episode was seen'
          : `its firing request did not run (${firing.status ?? firing.kind})`
      return settle('cancelled_resolved', {
        status: 'cancelled_resolved',
        finishedAt: now,
        detail: `resolved, but ${why}; nothing to resolve`,
      })
    }
  }
  if (
    known?.kind === 'resolved' ||
    (!resolved &&
      input.later().some((r) => r.idempotencyKey === request.idempotencyKey && r.alert.alert.status === 'resolved'))
  ) {
    return settle('cancelled_resolved', {
      status: 'cancelled_resolved',
      finishedAt: now,
      detail: 'the alert resolved before the action started; not run',
    })
  }
  if (input.pause) {
    const pause = input.pause
    const detail = `paused: ${describePause(pause, now)}`
    return settle(
      'skipped_paused',
      { status: 'skipped_paused', finishedAt: now, detail, output: { pause: pause.id } },
      pause.escalate ? detail : undefined,
    )
  }
  if (input.gated !== undefined) {
    return settle('gated', { status: 'gated', finishedAt: now, detail: input.gated }, input.gated)
  }
  const dryBy = request.dryRun
    ? `route ${request.route}`
    : input.dryRun.action
      ? `action ${request.action}`
      : input.dryRun.global
        ? 'the worker (global dry run)'
        : undefined
  if (dryBy !== undefined) {
    return settle('dry_run', {
      status: 'dry_run',
      finishedAt: now,
      detail: `dry run (${dryBy}); would run: ${input.describe()}`,
      dryRun: true,
    })
  }
  return {
    kind: 'run',
    ledgerKey: key,
    mark: { key, value: ledgerEntry(request, 'started', now) },
    followUps,
    ledger: changes,
  }
}

/**
 * The follow-up of a fix that did not hold: `request` is a new episode of an alert the
 * action fixed (succeeded) within the window. The outcome is the earlier request's,
 * status `not_effective`.
 */
export function notEffective(
  request: ActionRequestRecord,
  lastSuccess: LedgerEntry | undefined,
  policy: ActionPolicy,
  now: number,
): ActionOutcomeRecord | undefined {
  if (!lastSuccess || lastSuccess.kind !== 'last_success' || lastSuccess.idempotencyKey === request.idempotencyKey)
    return undefined
  const firedAt = Date.parse(request.alert.alert.startsAt)
  const again = Number.isFinite(firedAt) ? firedAt : request.requestedAt
  const after = again - lastSuccess.at
  if (after < 0 || after > policy.notEffectiveWindowMs) return undefined
  // The earlier request's outcome: its key, route, episode, owner; it ran, so no dry run.
  const earlier = {
    ...request,
    idempotencyKey: lastSuccess.idempotencyKey,
    route: lastSuccess.route,
    dryRun: false,
    alert: {
      ...request.alert,
      team: lastSuccess.team,
      service: lastSuccess.service,
      alert: { ...request.alert.alert, startsAt: lastSuccess.startsAt },
    },
  }
  return outcomeFor(earlier, {
    status: 'not_effective',
    finishedAt: now,
    detail: `the fix did not hold: the alert fired again ${Math.round(after / 1000)}s after ${request.action} succeeded at ${iso(lastSuccess.at)}`,
    output: { firedAgainAt: request.alert.alert.startsAt, newIdempotencyKey: request.idempotencyKey },
  })
}

/**
 * The request that hands `request` to `escalateTo` (page), with why. None for a request
 * of the escalation target itself: a failing pager cannot page about itself.
 */
export function escalationFor(
  request: ActionRequestRecord,
  escalateTo: string | null,
  reason: string,
  now: number,
): ActionRequestRecord | undefined {
  if (escalateTo === null || escalateTo === request.action) return undefined
  return {
    idempotencyKey: `${request.idempotencyKey}>${escalateTo}`,
    action: escalateTo,
    route: request.route,
    params: {
      reason,
      escalatedFrom: request.action,
      escalatedKey: request.idempotencyKey,
      summary: `${request.alert.alert.labels.alertname ?? 'alert'} on ${request.alert.service ?? 'an unknown service'}: ${request.action} needs a human`,
    },
    dryRun: request.dryRun,
    requestedAt: now,
    alert: request.alert,
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}
