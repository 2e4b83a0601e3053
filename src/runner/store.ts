import { LRUCache } from 'lru-cache'
import type { PartitionState, PartitionStateOptions, StateChange, StateView } from './types'

/**
 * The default store of a partition: an lru-cache of the values as they are, bounded by
 * `maxEntries` and by a wall-clock TTL (checked on read, never by a timer).
 */
export function lruPartitionState<S extends object>(options: PartitionStateOptions): PartitionState<S> {
  return new LRUCache<string, S>({ max: options.maxEntries, ttl: options.ttlMs, ttlAutopurge: false })
}

/** What a {@link PartitionedStore} needs: the bounds, and optionally the stage's own store. */
export interface PartitionedStoreOptions<S> extends PartitionStateOptions {
  createStore?: (options: PartitionStateOptions) => PartitionState<S>
}

/**
 * A stage's state: one bounded store per input partition (the stage's own
 * `createStore`, else {@link lruPartitionState}). Changes made while a batch is
 * processed go to a {@link BatchOverlay}; they reach the store only after the batch's
 * transaction committed, so an aborted transaction never leaves memory ahead of the
 * changelog.
 */
export class PartitionedStore<S extends object> {
  private readonly partitions = new Map<number, PartitionState<S>>()
  private readonly create: (options: PartitionStateOptions) => PartitionState<S>
  private readonly bounds: PartitionStateOptions

  constructor(options: PartitionedStoreOptions<S>) {
    this.bounds = { maxEntries: options.maxEntries, ttlMs: options.ttlMs }
    this.create = options.createStore ?? lruPartitionState
  }

  partition(partition: number): PartitionState<S> {
    let store = this.partitions.get(partition)
    if (!store) {
      store = this.create(this.bounds)
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

  constructor(private readonly base: PartitionState<S>) {}

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
