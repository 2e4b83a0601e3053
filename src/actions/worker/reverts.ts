/**
 * Undo steps (log-level: the old level back) of one action worker. A run that planned
 * one left a `revert/<ledger key>` entry in the ledger (ledger.ts); this keeps a timer
 * per entry due on the partitions this worker owns, runs the step when it is due
 * (retried like a request), and records it: an outcome under `<key>/revert` and the
 * entry's tombstone, written outside any transaction. A crash before the tombstone runs
 * the step again after the restart: harmless, a revert puts back a value.
 */
import { outcomeFor } from '../../contracts/outcome'
import type { LedgerEntry } from '../../contracts/records'
import type { SchemaSet } from '../../contracts/schemas'
import type { OutRecord, Registry } from '../../kafka'
import type { Logger } from '../../log'
import type { StateChange } from '../../runner/types'
import { valueSubject, type TopicNames } from '../../topology/names'
import type { HandlerContext } from '../handlers/types'
import type { ActionConfig } from './actions-file'
import { runAttempts } from './attempts'
import type { ActionMetrics } from './metrics'

/** Writes records outside the runner's transactions (revert results). */
export interface PlainWriter {
  send(records: OutRecord[]): Promise<void>
}

export interface RevertsOptions {
  action: string
  topics: TopicNames
  registry: Registry
  schemas: SchemaSet
  writer: PlainWriter
  metrics: ActionMetrics
  logger: Logger
  /** The action's config in force; undefined once it was removed from the actions file. */
  current: () => ActionConfig | undefined
  /** What the handler is given besides its signal and time limit. */
  context: () => Omit<HandlerContext, 'signal' | 'timeoutMs'>
  /** Aborted when the worker stops: no revert starts or retries after that. */
  stopping: AbortSignal
  now: () => number
  random: () => number
}

/** The revert timers of one action worker, and the running of what they fire. */
export class Reverts {
  private readonly timers = new Map<string, { partition: number; timer: NodeJS.Timeout }>()

  constructor(private readonly options: RevertsOptions) {}

  /** Starts timers for reverts due in `changes`, stops those whose entry is gone. */
  schedule(partition: number, changes: ReadonlyArray<StateChange<LedgerEntry>>): void {
    for (const { key, value } of changes) {
      if (!key.startsWith('revert/')) continue
      if (value === null) {
        this.cancel(key)
        continue
      }
      if (
        value.kind !== 'revert_pending' ||
        value.action !== this.options.action ||
        value.revertAt === null ||
        this.timers.has(key) ||
        this.options.stopping.aborted
      )
        continue
      const delay = Math.max(0, value.revertAt - this.options.now())
      const timer = setTimeout(() => void this.run(partition, key, value), delay)
      timer.unref()
      this.timers.set(key, { partition, timer })
      this.options.logger.info({ key, revertAt: new Date(value.revertAt).toISOString() }, 'revert scheduled')
    }
  }

  /** The partition was taken away: its next owner restores the entries and schedules them. */
  cancelPartition(partition: number): void {
    for (const [key, known] of this.timers) if (known.partition === partition) this.cancel(key)
  }

  /** Stops every timer (the next start finds the reverts in the ledger). */
  stop(): void {
    for (const { timer } of this.timers.values()) clearTimeout(timer)
    this.timers.clear()
  }

  private cancel(key: string): void {
    const known = this.timers.get(key)
    if (known) clearTimeout(known.timer)
    this.timers.delete(key)
  }

  /** Runs a due revert and records it; a stop before it succeeds leaves it in the ledger. */
  private async run(partition: number, key: string, entry: LedgerEntry): Promise<void> {
    const o = this.options
    const config = o.current()
    const revert = config?.handler.revert?.bind(config.handler)
    if (!config || !revert) {
      o.logger.error({ key }, 'revert due but the action has no revert any more; left in the ledger')
      return
    }
    if (o.stopping.aborted) return
    const startedAt = o.now()
    const { result, attempts } = await runAttempts((context) => revert(entry.params, context), {
      settings: config.settings,
      context: o.context,
      stopping: o.stopping,
      random: o.random,
    })
    if (o.stopping.aborted && !result.ok) return
    this.timers.delete(key)
    o.metrics.reverts.inc({ action: o.action, result: result.ok ? 'ok' : 'failed' })
    const outcome = outcomeFor(
      { ...entry, idempotencyKey: `${entry.idempotencyKey}/revert` },
      {
        status: result.ok ? 'succeeded' : 'failed',
        attempts,
        startedAt,
        finishedAt: o.now(),
        detail: `revert: ${result.detail}`,
        output: { ...result.output, step: 'revert' },
      },
    )
    const level = result.ok ? 'info' : 'error'
    o.logger[level](
      { key, attempts, detail: result.detail },
      result.ok ? 'revert done' : 'revert failed; fix it by hand',
    )
    try {
      const outcomeId = await o.registry.idOf(valueSubject(o.topics.outcomes), o.schemas.resolve('ActionOutcome'))
      await o.writer.send([
        { topic: o.topics.outcomes, key: entry.fingerprint, value: await o.registry.encode(outcomeId, outcome) },
        { topic: o.topics.ledger, partition, key, value: null },
      ])
    } catch (err) {
      o.logger.error({ key, err }, 'could not record the revert; it runs again after a restart')
    }
  }
}
