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
 * Holds (the route's `wait`/`approval`, else the action's): a request that must wait is
 * kept in the ledger as `held` (with itself as JSON) and its offset committed; holds.ts
 * writes it back to its topic when the wait ends, an answer comes or the approval times
 * out, and it is decided again here. In order: wait (a resolve meanwhile cancels it),
 * then pause, gate, approval (asked once: a `page` announcement and an
 * `awaiting_approval` event), then dry run or run. `held` and `awaiting_approval` are
 * events on the outcome stream; the final outcome follows.
 *
 * Resolved notifications: route sends an alert's resolved notification to the same
 * action topics. For most actions it is a cancellation (`onResolved: cancel`): it
 * cancels the request of its episode if that has not started, and has no outcome of its
 * own. The page action runs it (`onResolved: run`) to resolve the incident, as a
 * request of its own under the ledger key `<idempotencyKey>#resolved`.
 */
import { formatDurationShort } from '../../config/duration'
import type { ActionOutcomeRecord, ActionRequestRecord, HoldRecord, LedgerEntry } from '../../contracts/records'
import { outcomeFor, type OutcomeFields } from '../../contracts/outcome'
import { approvalId, describeAnswer, type ApprovalAnswer } from './approvals'
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
  /** The holds in force (the route's, else the action's; see {@link holdOf}); null: none. */
  hold?: HoldRecord | null
  /** The first answer given to an approval, by its id. */
  answer?: (id: string) => ApprovalAnswer | undefined
  now: number
}

/** What an approval adds to the outcome of the request it let through. */
export interface ApprovalNote {
  output: Record<string, string>
  /** Put before the outcome's detail. */
  note: string
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
      /** Who let it through, when it needed an approval. */
      approval?: ApprovalNote
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
      /** An approval to ask for: the announcement's text, sent through the escalation target (page). */
      announce?: { id: string; text: string }
    }

/**
 * The holds of `request`: the route's when it has any, else the action's. Escalations
 * (a page made by the worker) and runs asked for by hand are never held: a person is
 * already in the loop.
 */
export function holdOf(request: ActionRequestRecord, actionHold: HoldRecord | null): HoldRecord | null {
  if (request.manualRun || request.params.escalatedFrom !== undefined) return null
  return request.hold ?? actionHold
}

/** Decides what becomes of one request. */
export function planRequest(input: PlanInput): Plan {
  const { request, ledger, policy, now } = input
  const alert = request.alert.alert
  const resolved = alert.status === 'resolved'

  // A resolve ends a held request of its episode, whatever the action does with resolves.
  const heldFiring = resolved ? ledger.get(request.idempotencyKey) : undefined
  if (heldFiring?.kind === 'held') {
    const waiting = heldFiring.approvalId ? `awaiting approval ${heldFiring.approvalId}` : 'held'
    const outcome = outcomeFor(request, {
      status: 'cancelled_resolved',
      finishedAt: now,
      detail: `the alert resolved while the request was ${waiting}; not run`,
    })
    return {
      kind: 'settled',
      reason: 'cancelled_resolved',
      outcome,
      escalate: undefined,
      followUps: [],
      ledger: [completedChange(request, request.idempotencyKey, outcome)],
    }
  }

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
  let approval: ApprovalNote | undefined
  const settle = (reason: string, fields: OutcomeFields, escalate?: string): Plan => {
    const outcome = outcomeFor(subject, approval ? withApproval(fields, approval) : fields)
    changes.push(completedChange(request, key, outcome))
    return { kind: 'settled', reason, outcome, escalate, followUps, ledger: changes }
  }
  /** Keeps the request in the ledger (held) and says so on the outcome stream. */
  const hold = (
    status: 'held' | 'awaiting_approval',
    fields: Pick<LedgerEntry, 'holdUntil' | 'approvalId' | 'approvalTimeoutAt'>,
    detail: string,
    announce?: { id: string; text: string },
  ): Plan => {
    const entry = ledgerEntry(request, 'held', now, { ...fields, request: JSON.stringify(request) })
    changes.push({ key, value: entry })
    const output: Record<string, string> = {}
    if (fields.holdUntil) output.holdUntil = iso(fields.holdUntil)
    if (fields.approvalId) output.approval = fields.approvalId
    if (fields.approvalTimeoutAt) output.approvalTimeoutAt = iso(fields.approvalTimeoutAt)
    const outcome = outcomeFor(subject, { status, finishedAt: now, detail, output })
    const plan: Plan = { kind: 'settled', reason: status, outcome, escalate: undefined, followUps, ledger: changes }
    if (announce) plan.announce = announce
    return plan
  }
  /** Nothing to do yet: the request stays held as it is. */
  const stillHeld = (): Plan => ({
    kind: 'settled',
    reason: 'still_held',
    outcome: undefined,
    escalate: undefined,
    followUps,
    ledger: changes,
  })

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
  const holds = resolved ? null : (input.hold ?? null)
  if (holds && holds.waitMs > 0 && known === undefined) {
    const until = now + holds.waitMs
    return hold(
      'held',
      { holdUntil: until, approvalId: null, approvalTimeoutAt: null },
      `waiting ${formatDurationShort(holds.waitMs)} (until ${iso(until)}) before running; cancelled if the alert resolves first`,
    )
  }
  if (known?.kind === 'held' && known.holdUntil != null && known.holdUntil > now) return stillHeld()
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
  if (holds?.approval) {
    const asked = known?.kind === 'held' ? (known.approvalId ?? undefined) : undefined
    if (asked === undefined) {
      const id = approvalId(key)
      const timeoutAt = now + holds.approval.timeoutMs
      const text = announcement(request, id, input.describe(), timeoutAt, holds.approval.onTimeout)
      return hold(
        'awaiting_approval',
        { holdUntil: null, approvalId: id, approvalTimeoutAt: timeoutAt },
        `awaiting approval ${id} until ${iso(timeoutAt)} (then: ${holds.approval.onTimeout}); would run: ${input.describe()}`,
        { id, text },
      )
    }
    const answer = input.answer?.(asked)
    if (answer?.decision === 'deny') {
      return settle('denied', {
        status: 'denied',
        finishedAt: now,
        detail: `${describeAnswer(answer)}; not run`,
        output: answerOutput(answer),
      })
    }
    if (answer) approval = { output: answerOutput(answer), note: describeAnswer(answer) }
    else {
      const timeoutAt = known?.approvalTimeoutAt ?? now
      if (now < timeoutAt) return stillHeld()
      const waited = `nobody answered approval ${asked} by ${iso(timeoutAt)}`
      switch (holds.approval.onTimeout) {
        case 'skip':
          return settle('approval_expired', {
            status: 'approval_expired',
            finishedAt: now,
            detail: `${waited}; not run (onTimeout: skip)`,
            output: { approval: asked },
          })
        case 'page': {
          const detail = `${waited}; not run, a human is paged (onTimeout: page)`
          return settle(
            'approval_expired',
            { status: 'approval_expired', finishedAt: now, detail, output: { approval: asked } },
            detail,
          )
        }
        case 'run':
          approval = {
            output: { approval: asked, approvedBy: '(timeout)' },
            note: `${waited}; run anyway (onTimeout: run)`,
          }
      }
    }
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
  const run: Plan = {
    kind: 'run',
    ledgerKey: key,
    mark: { key, value: ledgerEntry(request, 'started', now) },
    followUps,
    ledger: changes,
  }
  if (approval) run.approval = approval
  return run
}

/** The outcome fields of a request an approval let through: its answer in output and detail. */
export function withApproval(fields: OutcomeFields, approval: ApprovalNote): OutcomeFields {
  return {
    ...fields,
    output: { ...fields.output, ...approval.output },
    detail: fields.detail ? `${approval.note}; ${fields.detail}` : approval.note,
  }
}

function answerOutput(answer: ApprovalAnswer): Record<string, string> {
  const output: Record<string, string> = {
    approval: answer.id,
    [answer.decision === 'approve' ? 'approvedBy' : 'deniedBy']: answer.by,
    answeredAt: iso(answer.at),
    answeredVia: answer.via,
  }
  if (answer.reason !== '') output.answerReason = answer.reason
  if (answer.from !== undefined) output.answeredFrom = answer.from
  return output
}

/** What a person is asked: what would run, on what, why, and how to answer. */
function announcement(
  request: ActionRequestRecord,
  id: string,
  wouldRun: string,
  timeoutAt: number,
  onTimeout: string,
): string {
  const alert = request.alert.alert
  const on = request.alert.service ?? 'an unknown service'
  return [
    `Approval needed (${id}): ${request.action} on ${on} for ${alert.labels.alertname ?? 'an alert'} (team ${request.alert.team}, route ${request.route}).`,
    `Would run: ${wouldRun}.`,
    `Answer with \`nightshift approve ${id} --reason …\` or \`nightshift deny ${id} --reason …\`, POST /api/approvals/${id}/approve or /deny, or the buttons.`,
    `Without an answer by ${iso(timeoutAt)}: ${onTimeout === 'run' ? 'it runs' : onTimeout === 'skip' ? 'it is skipped' : 'it is not run and a human is paged'}.`,
  ].join(' ')
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

/**
 * The request that asks a person for approval `id` through `to` (page): an escalation of
 * its own (`<key>>approval><to>`), so a later escalation of the same request is not
 * taken for a duplicate of it.
 */
export function announcementFor(
  request: ActionRequestRecord,
  to: string | null,
  announce: { id: string; text: string },
  now: number,
): ActionRequestRecord | undefined {
  if (to === null || to === request.action) return undefined
  return {
    idempotencyKey: `${request.idempotencyKey}>approval>${to}`,
    action: to,
    route: request.route,
    params: {
      reason: announce.text,
      escalatedFrom: request.action,
      escalatedKey: request.idempotencyKey,
      approvalId: announce.id,
      summary: `${request.alert.alert.labels.alertname ?? 'alert'} on ${request.alert.service ?? 'an unknown service'}: approve ${request.action}? (${announce.id})`,
    },
    dryRun: request.dryRun,
    requestedAt: now,
    alert: request.alert,
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}
