/**
 * The action ledger, pure: its keys and entries, and what a request leaves in it. The
 * ledger is the worker's state (a compacted changelog per action group): `started`
 * marks and `completed` entries under a request's ledger key make runs at most once,
 * `success/…` entries find fixes that did not hold, `revert/…` entries are undo steps
 * still due (run by reverts.ts, also after a restart).
 */
import type { ActionOutcomeRecord, ActionRequestRecord, LedgerEntry } from '../../contracts/records'
import type { RevertPlan } from '../handlers/types'

/** How an action treats resolved notifications. */
export type OnResolved = 'cancel' | 'run'

/** A change to the ledger (null value: delete the key). */
export interface LedgerChange {
  key: string
  value: LedgerEntry | null
}

/** The ledger key of `request`: its idempotency key, `#resolved` added for a resolved notification that runs. */
export function ledgerKeyOf(request: ActionRequestRecord, onResolved: OnResolved): string {
  return request.alert.alert.status === 'resolved' && onResolved === 'run'
    ? `${request.idempotencyKey}#resolved`
    : request.idempotencyKey
}

/** Key of the entry remembering the last success of `action` for an alert. */
export function successKey(action: string, fingerprint: string): string {
  return `success/${action}/${fingerprint}`
}

/** Key of a revert still due for a request. */
export function revertKey(ledgerKey: string): string {
  return `revert/${ledgerKey}`
}

/** A ledger entry of `request`. */
export function ledgerEntry(
  request: ActionRequestRecord,
  kind: LedgerEntry['kind'],
  at: number,
  extra: Partial<LedgerEntry> = {},
): LedgerEntry {
  return {
    kind,
    idempotencyKey: request.idempotencyKey,
    action: request.action,
    fingerprint: request.alert.alert.fingerprint,
    startsAt: request.alert.alert.startsAt,
    route: request.route,
    team: request.alert.team,
    service: request.alert.service,
    at,
    status: null,
    attempts: 0,
    revertAt: null,
    params: {},
    ...extra,
  }
}

/** The `completed` entry of `ledgerKey` for a request settled with `outcome`: it is never run again. */
export function completedChange(
  request: ActionRequestRecord,
  ledgerKey: string,
  outcome: Pick<ActionOutcomeRecord, 'status' | 'attempts' | 'finishedAt'>,
): LedgerChange {
  return {
    key: ledgerKey,
    value: ledgerEntry(request, 'completed', outcome.finishedAt, {
      status: outcome.status,
      attempts: outcome.attempts,
    }),
  }
}

/**
 * What a handler run of `run.action` leaves besides its `completed` entry: the alert's
 * last success (a new episode within the window is then `not_effective`), and the undo
 * step it planned.
 * The undo step is kept whatever the result: a failed attempt may still have changed the
 * target (its answer lost), and undoing an unchanged value is harmless.
 */
export function runChanges(
  request: ActionRequestRecord,
  ledgerKey: string,
  run: { action: string; ok: boolean; finishedAt: number; revert: RevertPlan | undefined },
): LedgerChange[] {
  const changes: LedgerChange[] = []
  if (run.ok) {
    changes.push({
      key: successKey(run.action, request.alert.alert.fingerprint),
      value: ledgerEntry(request, 'last_success', run.finishedAt, { idempotencyKey: request.idempotencyKey }),
    })
  }
  if (run.revert) {
    changes.push({
      key: revertKey(ledgerKey),
      value: ledgerEntry(request, 'revert_pending', run.finishedAt, {
        revertAt: run.finishedAt + run.revert.afterMs,
        params: run.revert.params,
      }),
    })
  }
  return changes
}
