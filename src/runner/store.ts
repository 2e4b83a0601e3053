import { LRUCache } from 'lru-cache'
import type { StateChange, StateView } from './types'

/**
 * A stage's state: one bounded LRU per input partition. Changes made while a batch is
 * processed go to a {@link BatchOverlay}; they reach the store only after the batch's
 * transaction committed, so an aborted transaction never leaves memory ahead of the
 * changelog.
 */
export class PartitionedStore<S extends object> {
  private readonly partitions = new Map<number, LRUCache<string, S>>()

  constructor(private readonly options: { maxEntries: number; ttlMs: number }) {}

  partition(partition: number): LRUCache<string, S> {
    let store = this.partitions.get(partition)
    if (!store) {
      store = new LRUCache<string, S>({ max: this.options.maxEntries, ttl: this.options.ttlMs, ttlAutopurge: false })
      this.partitions.set(partition, store)
    }
    return store
  }

  /** Forgets a partition (revoked: its next owner restores it from the changelog). */
  drop(partition: number): void {
    this.partitions.get(partition)?.clear()
    this.partitions.delete(partition)
  }

  apply(partition: number, changes: Iterable<StateChange<S>>): void {
    const store = this.partition(partition)
    for (const { key, value } of changes) {
      if (value === null) store.delete(key)
      else store.set(key, value)
    }
  }

  size(partition: number): number {
    return this.partitions.get(partition)?.size ?? 0
  }
}

/** Uncommitted changes of one batch, read through before the partition's store. */
export class BatchOverlay<S extends object> implements StateView<S> {
  private readonly changes = new Map<string, S | null>()

  constructor(private readonly base: LRUCache<string, S>) {}

  get(key: string): S | undefined {
    if (this.changes.has(key)) return this.changes.get(key) ?? undefined
    return this.base.get(key)
  }

  set(change: StateChange<S>): void {
    this.changes.set(change.key, change.value)
  }

  /** The net changes, one per key, in first-change order. */
  entries(): StateChange<S>[] {
    return [...this.changes].map(([key, value]) => ({ key, value }))
  }
}
