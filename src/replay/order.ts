/**
 * The order a replay sends notifications in, pure.
 *
 * Dedup and the rate limit decide on record time (the alert's receivedAt), never the
 * wall clock, but their decisions still depend on the ORDER records reach them: dedup
 * forwards the first notification of an episode, a token bucket admits the first alerts
 * of a burst and never refills backwards in time. The original run saw alerts.raw's
 * partitions interleaved as they were processed; a replay that copied them partition by
 * partition would show the rate limit a week of partition 0, then a week of partition 1.
 * So the replay writes every notification into ONE partition, in record-time order, and
 * notifications received in the same millisecond (one Alertmanager group: a storm) in the
 * order the original rate limit saw them: their offsets on the original alerts.enriched.
 * With unchanged files the replay then decides what the original run decided.
 */
import type { ReplayedAlert } from './diff'
import { notificationKey } from './diff'

/** A notification read from alerts.raw. */
export interface RawNotification {
  alert: ReplayedAlert
  partition: number
  offset: string
  /** Kafka record timestamp, ms since the epoch. */
  timestamp: number
}

/**
 * `items` sorted by receivedAt, then by their offset on the original alerts.enriched
 * (`enrichedOffsets`, by {@link notificationKey}; those the original dedup dropped have
 * none and come after), then by Kafka timestamp, partition and offset.
 */
export function replayOrder<T extends RawNotification>(
  items: readonly T[],
  enrichedOffsets: ReadonlyMap<string, bigint>,
): T[] {
  const rank = (n: T) => enrichedOffsets.get(notificationKey(n.alert, n.alert.receivedAt))
  const compareBig = (a: bigint | undefined, b: bigint | undefined) =>
    a === b ? 0 : a === undefined ? 1 : b === undefined ? -1 : a < b ? -1 : 1
  return items
    .map((item) => ({ item, rank: rank(item), offset: BigInt(item.offset) }))
    .sort(
      (a, b) =>
        a.item.alert.receivedAt - b.item.alert.receivedAt ||
        compareBig(a.rank, b.rank) ||
        a.item.timestamp - b.item.timestamp ||
        a.item.partition - b.item.partition ||
        compareBig(a.offset, b.offset),
    )
    .map(({ item }) => item)
}
