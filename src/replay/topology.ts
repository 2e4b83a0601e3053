/**
 * The topics of a replay, pure: which topics of the topics file it needs, and how they
 * differ from the original's.
 */
import { TOPICS, actionTopic, changelogTopic } from '../topology/names'
import type { TopicsFile } from '../topology/topics-file'

const DAY_MS = 86_400_000
/** Kafka's default retention, for a topic that declares none. */
const DEFAULT_RETENTION_MS = 7 * DAY_MS

/**
 * The topics a replay needs, from the topics file it runs with: the stages' inputs and
 * outputs, their changelogs, the DLQ and every action topic; not the slo, control or
 * ledger topics. alerts.raw and alerts.deduped get ONE partition, so the stages see the
 * records in the order they were written (src/replay/order.ts); alerts.enriched and
 * after keep theirs, since the rate limit's global share depends on it. alerts.raw keeps
 * the records' original timestamps, so its retention is stretched to cover the oldest.
 */
export function replayTopology(topology: TopicsFile, oldestTimestamp: number, now: number): TopicsFile {
  const needed = new Set<string>([
    TOPICS.raw,
    TOPICS.deduped,
    TOPICS.enriched,
    TOPICS.admitted,
    TOPICS.throttled,
    TOPICS.unrouted,
    TOPICS.outcomes,
    TOPICS.decisions,
    TOPICS.dlq,
    changelogTopic('dedup'),
    changelogTopic('ratelimit'),
    ...topology.actions.map(actionTopic),
  ])
  const topics = topology.topics
    .filter((t) => needed.has(t.name))
    .map((t) => {
      if (t.name !== TOPICS.raw && t.name !== TOPICS.deduped) return t
      const configs = { ...t.configs }
      if (t.name === TOPICS.raw) {
        const declared = Number(configs['retention.ms'] ?? DEFAULT_RETENTION_MS)
        const wanted = now - oldestTimestamp + DAY_MS
        if (declared >= 0 && declared < wanted) configs['retention.ms'] = String(wanted)
      }
      return { ...t, partitions: 1, configs }
    })
  return { file: topology.file, topics, actions: topology.actions }
}
