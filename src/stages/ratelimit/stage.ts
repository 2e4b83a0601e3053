import { ConfigError } from '../../errors'
import type { Emit, StageDefinition } from '../../runner/types'
import { changelogTopic, type TopicNames } from '../../topology/names'
import type { EnrichedAlertRecord } from '../../contracts/records'
import { decideLimit, levelsFor, type BucketState } from './decide'
import type { LimitsConfig } from './limits'
import { decisionEmit } from '../decision'

export interface RatelimitOptions {
  /**
   * Partitions of alerts.enriched. Each partition enforces 1/partitions of the global
   * limit; the alert, service and team levels are exact because enrich keys by team.
   */
  partitions: number
  /** Buckets kept in memory per partition (least recently used evicted; evicted = full again). */
  maxEntries?: number
  /**
   * Wall-clock life of a bucket in memory after its last change. Should exceed the
   * longest time a bucket takes to refill (burst / rate): a bucket forgotten sooner
   * comes back full, which is lenient, never stricter.
   */
  ttlMs?: number
}

export const DEFAULT_RATELIMIT = { maxEntries: 100_000, ttlMs: 24 * 3600 * 1000 } as const

/** Decision kinds, counted in metrics. */
export type RatelimitKind = 'admitted' | 'throttled'

/**
 * Binds rate limit's decision to topics: alerts.enriched in; alerts.admitted (unchanged)
 * or alerts.throttled (with throttledBy) plus a Decision on nightshift.decisions out;
 * buckets in nightshift.ratelimit-changelog. `limits` is read per record, so a reloaded
 * file applies from the next record. Time is the alert's receivedAt.
 */
export function ratelimitStage(
  topics: TopicNames,
  prefix: string,
  limits: () => LimitsConfig,
  options: RatelimitOptions,
): StageDefinition<EnrichedAlertRecord, BucketState> {
  const { partitions } = options
  if (!Number.isInteger(partitions) || partitions < 1)
    throw new ConfigError(`ratelimit: partitions of ${topics.enriched} must be an integer >= 1, got ${partitions}`)
  return {
    name: 'ratelimit',
    groupId: `${prefix}nightshift-ratelimit`,
    inputTopics: [topics.enriched],
    inputSchema: 'EnrichedAlert',
    state: {
      changelogTopic: `${prefix}${changelogTopic('ratelimit')}`,
      schema: 'BucketState',
      maxEntries: options.maxEntries ?? DEFAULT_RATELIMIT.maxEntries,
      ttlMs: options.ttlMs ?? DEFAULT_RATELIMIT.ttlMs,
    },
    process(record, { state, source }) {
      const { alert } = record
      const verdict = decideLimit(
        alert.status,
        levelsFor(record, limits(), partitions),
        (key) => state.get(key),
        alert.receivedAt,
      )
      if (verdict.kind === 'admitted') {
        return {
          kind: verdict.kind,
          state: verdict.state,
          emits: [{ topic: topics.admitted, key: alert.fingerprint, schema: 'EnrichedAlert', value: record }],
        }
      }
      const { by } = verdict
      const limit = by.configured
      const emits: Emit[] = [
        {
          topic: topics.throttled,
          key: alert.fingerprint,
          schema: 'EnrichedAlert',
          value: { ...record, throttledBy: by.key } satisfies EnrichedAlertRecord,
        },
        decisionEmit({
          topic: topics.decisions,
          stage: 'ratelimit',
          alert,
          source,
          kind: verdict.kind,
          reason: `over the ${by.level} limit ${by.key} (${limit.text}, burst ${limit.burst}); kept on ${topics.throttled}`,
          detail: {
            limit: by.key,
            level: by.level,
            rate: limit.text,
            burst: String(limit.burst),
            ...(by.limit === limit
              ? {}
              : {
                  partitionRate: by.limit.text,
                  partitionBurst: String(by.limit.burst),
                  partitions: String(partitions),
                }),
            tokens: verdict.tokens.toFixed(3),
          },
        }),
      ]
      return { kind: verdict.kind, state: verdict.state, emits }
    },
  }
}
