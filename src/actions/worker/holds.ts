/**
 * Held requests of one action worker (decide.ts: `wait`, `approval`). A held request's
 * offset is committed with a `held` ledger entry that carries the request; this keeps
 * one timer per held entry on the partitions this worker owns and, when its wait ends,
 * its approval times out or an answer to it comes, writes the request back to its own
 * topic and partition (header `nightshift-wake`). The worker then decides it again from
 * the ledger, in a transaction like any request: a wake never runs anything by itself,
 * so a duplicate or early one changes nothing, and a wake lost in a crash is written
 * again when the next owner restores the entry.
 */
import type { ActionRequestRecord, LedgerEntry } from '../../contracts/records'
import type { SchemaSet } from '../../contracts/schemas'
import type { Registry } from '../../kafka'
import type { Logger } from '../../log'
import type { StateChange } from '../../runner/types'
import { valueSubject } from '../../topology/names'
import type { ApprovalAnswer } from './approvals'
import type { ActionMetrics } from './metrics'
import type { PlainWriter } from './reverts'

/** The header a written-back request carries: why it was woken. */
export const WAKE_HEADER = 'nightshift-wake'

/** A wake that did not settle the hold is written again after this long. */
const RECHECK_MS = 60_000

export interface HoldsOptions {
  action: string
  /** The action's topic (with the prefix). */
  topic: string
  registry: Registry
  schemas: SchemaSet
  writer: PlainWriter
  metrics: ActionMetrics
  logger: Logger
  /** The first answer to an approval, when one was given. */
  answerFor: (id: string) => ApprovalAnswer | undefined
  stopping: AbortSignal
  now: () => number
}

interface Held {
  partition: number
  entry: LedgerEntry
  timer: NodeJS.Timeout | undefined
}

/** When a held entry must be looked at again, and why. */
export function wakeOf(
  entry: Pick<LedgerEntry, 'holdUntil' | 'approvalId' | 'approvalTimeoutAt'>,
  answered: boolean,
  now: number,
): { at: number; why: 'wait' | 'answer' | 'timeout' } {
  if (entry.holdUntil != null) return { at: entry.holdUntil, why: 'wait' }
  if (entry.approvalId != null) {
    if (answered) return { at: now, why: 'answer' }
    return { at: entry.approvalTimeoutAt ?? now, why: 'timeout' }
  }
  return { at: now, why: 'wait' }
}

/** The held requests of one action worker, their timers and wakes. */
export class Holds {
  private readonly held = new Map<string, Held>()
  private readonly byApproval = new Map<string, string>()

  constructor(private readonly options: HoldsOptions) {}

  /** Follows ledger changes (restored or committed): tracks held entries, forgets settled ones. */
  schedule(partition: number, changes: ReadonlyArray<StateChange<LedgerEntry>>): void {
    for (const { key, value } of changes) {
      if (value?.kind === 'held' && value.action === this.options.action) this.track(partition, key, value)
      else if (this.held.has(key)) this.forget(key)
    }
    this.count()
  }

  /** An answer was given: wakes its request when this worker holds it. */
  answered(answer: ApprovalAnswer): void {
    const key = this.byApproval.get(answer.id)
    if (key !== undefined) this.arm(key, 0, 'answer')
  }

  /** The partition was taken away: its next owner restores the entries and tracks them. */
  cancelPartition(partition: number): void {
    for (const [key, held] of this.held) if (held.partition === partition) this.forget(key)
    this.count()
  }

  stop(): void {
    for (const key of [...this.held.keys()]) this.forget(key)
  }

  private track(partition: number, key: string, entry: LedgerEntry): void {
    this.forget(key)
    this.held.set(key, { partition, entry, timer: undefined })
    if (entry.approvalId) this.byApproval.set(entry.approvalId, key)
    const now = this.options.now()
    const answered = entry.approvalId ? this.options.answerFor(entry.approvalId) !== undefined : false
    const wake = wakeOf(entry, answered, now)
    this.arm(key, Math.max(0, wake.at - now), wake.why)
  }

  private forget(key: string): void {
    const held = this.held.get(key)
    if (!held) return
    if (held.timer) clearTimeout(held.timer)
    if (held.entry.approvalId) this.byApproval.delete(held.entry.approvalId)
    this.held.delete(key)
  }

  private arm(key: string, delayMs: number, why: string): void {
    const held = this.held.get(key)
    if (!held || this.options.stopping.aborted) return
    if (held.timer) clearTimeout(held.timer)
    // setTimeout holds at most ~24.8 days; a longer hold is re-armed on the way.
    const delay = Math.min(delayMs, 2 ** 31 - 1)
    held.timer = setTimeout(() => void this.wake(key, held, why), delay)
    held.timer.unref()
  }

  private async wake(key: string, held: Held, why: string): Promise<void> {
    const o = this.options
    if (this.held.get(key) !== held || o.stopping.aborted) return
    held.timer = undefined
    try {
      const request = JSON.parse(held.entry.request ?? 'null') as ActionRequestRecord | null
      if (request === null) {
        o.logger.error({ key }, 'held entry without its request; it cannot be woken (see nightshift approvals)')
        return
      }
      const id = await o.registry.idOf(valueSubject(o.topic), o.schemas.resolve('ActionRequest'))
      await o.writer.send([
        {
          topic: o.topic,
          partition: held.partition,
          key: request.alert.alert.fingerprint,
          value: await o.registry.encode(id, request),
          headers: { [WAKE_HEADER]: why },
        },
      ])
      o.logger.info({ key, why }, 'held request woken')
    } catch (err) {
      o.logger.warn({ key, why, err }, 'could not wake a held request; trying again')
    }
    // Looked at again if the hold is still there then (a wake lost, or an early one).
    if (this.held.get(key) === held) this.arm(key, RECHECK_MS, why)
  }

  private count(): void {
    let waiting = 0
    let approval = 0
    for (const { entry } of this.held.values()) {
      if (entry.approvalId) approval += 1
      else waiting += 1
    }
    this.options.metrics.held.set({ action: this.options.action, hold: 'wait' }, waiting)
    this.options.metrics.held.set({ action: this.options.action, hold: 'approval' }, approval)
  }
}
