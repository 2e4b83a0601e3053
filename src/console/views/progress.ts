/**
 * How far a view is in reading one topic, pure: the end offsets taken at start against
 * the offsets read since.
 *
 * `actions.outcomes`, `nightshift.decisions` and `slo.budget` are written in
 * transactions, and a read_committed reader is never handed a transaction's commit
 * marker: a partition whose last entry is a marker ends one offset before the reader's
 * reach (see TopicTail). So a partition counts as read when its next offset reaches its
 * end, and as "nearly" read one offset short of it; a topic whose partitions are all read
 * is caught up at once, and one whose partitions are all at least nearly read is caught
 * up once nothing arrived for a short grace (a marker, or the last record in flight). An
 * aborted transaction at the end, or a partition emptied by retention, is covered by the
 * idle timeout of the caller ({@link TopicProgress.force}).
 */
import type { ViewProgress } from '../types'

export class TopicProgress {
  private readonly ends = new Map<number, bigint>()
  private readonly next = new Map<number, bigint>()
  private target = 0n
  private caught = false
  private known = false

  constructor(readonly topic: string) {}

  /** The end offsets at start, per partition. An empty topic is caught up at once. */
  begin(ends: ReadonlyMap<number, bigint | string>): void {
    this.known = true
    this.target = 0n
    for (const [partition, end] of ends) {
      const value = BigInt(end)
      this.ends.set(partition, value)
      this.target += value
    }
    if (this.remaining() === 0n) this.caught = true
  }

  /**
   * A record at `offset` of `partition` has been applied. Returns true when this made the
   * topic caught up (every partition read to its end).
   */
  saw(partition: number, offset: string | bigint): boolean {
    const next = BigInt(offset) + 1n
    if (next > (this.next.get(partition) ?? 0n)) this.next.set(partition, next)
    if (this.caught || !this.known || this.remaining() !== 0n) return false
    this.caught = true
    return true
  }

  /**
   * Every partition is read, or has been read up to one offset (a commit marker) short
   * of its end. A partition nothing was read from is not nearly read: a transaction has a
   * record and a marker, so a one-offset partition holds a record still to come.
   */
  nearly(): boolean {
    if (!this.known) return false
    for (const [partition, end] of this.ends) {
      const next = this.next.get(partition) ?? 0n
      if (next < end && (next === 0n || next + 1n < end)) return false
    }
    return true
  }

  /** Counts the topic as caught up (grace or timeout); true when it was not yet. */
  force(): boolean {
    if (this.caught) return false
    this.caught = true
    return true
  }

  get caughtUp(): boolean {
    return this.caught
  }

  /** Partitions still short of their end: `partition 0 at 12 of 14`. */
  behind(): string[] {
    return [...this.ends]
      .filter(([p, end]) => (this.next.get(p) ?? 0n) < end)
      .map(([p, end]) => `partition ${p} at ${this.next.get(p) ?? 0n} of ${end}`)
  }

  /** Offsets read of the end offsets at start; once caught up, all of them. */
  view(): ViewProgress {
    const target = Number(this.target)
    let read = 0n
    for (const [partition, end] of this.ends) {
      const next = this.next.get(partition) ?? 0n
      read += next < end ? next : end
    }
    return { topic: this.topic, read: this.caught ? target : Number(read), target, caughtUp: this.caught }
  }

  private remaining(): bigint {
    let left = 0n
    for (const [partition, end] of this.ends) {
      const next = this.next.get(partition) ?? 0n
      if (next < end) left += end - next
    }
    return left
  }
}
