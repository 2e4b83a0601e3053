import { ConfigError } from '../../errors'
import type { Emit, StageDefinition } from '../../runner/types'
import { changelogTopic, type TopicNames } from '../../topology/names'
import type { EnrichedAlertRecord } from '../../contracts/records'
import { decideRatelimit, escalationLevelsFor, levelsFor, type BucketState, type RatelimitVerdict } from './decide'
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
  /**
   * True when the alert's routes name an escalation action (page, or one marked
   * `escalation: true` in actions.yaml): only such a held-back alert takes escalation
   * tokens, so automation that cannot page never uses up the team's pages. Default:
   * every alert counts.
   */
  escalates?: (record: EnrichedAlertRecord) => boolean
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
  const escalates = options.escalates ?? (() => true)
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
      const config = limits()
      const throttleable = alert.status === 'firing'
      const verdict = decideRatelimit({
        status: alert.status,
        checks: levelsFor(record, config, partitions),
        escalationChecks: throttleable ? escalationLevelsFor(record, config) : [],
        escalates: () => throttleable && escalates(record),
        stored: (key) => state.get(key),
        now: alert.receivedAt,
      })
      if (verdict.kind === 'admitted') {
        return {
          kind: verdict.kind,
          state: verdict.state,
          emits: [{ topic: topics.admitted, key: alert.fingerprint, schema: 'EnrichedAlert', value: record }],
        }
      }
      const { by, escalation } = verdict
      const limit = by.configured
      const emits: Emit[] = [
        {
          topic: topics.throttled,
          key: alert.fingerprint,
          schema: 'EnrichedAlert',
          value: {
            ...record,
            throttledBy: by.key,
            throttle: {
              limit: by.key,
              level: by.level,
              rate: limit.text,
              burst: limit.burst,
              windowStart: verdict.window.start,
              windowMs: verdict.window.ms,
              heldBack: verdict.heldBack,
              notify: verdict.notify,
              escalate: escalation.kind === 'allowed',
              escalationHeldBy: escalation.kind === 'held' ? escalation.by.key : null,
            },
          } satisfies EnrichedAlertRecord,
        },
        decisionEmit({
          topic: topics.decisions,
          stage: 'ratelimit',
          alert,
          source,
          kind: verdict.kind,
          reason: `over the ${by.level} limit ${by.key} (${limit.text}, burst ${limit.burst}); kept on ${topics.throttled}; ${humanPart(verdict)}`,
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
            window: new Date(verdict.window.start).toISOString(),
            heldBack: String(verdict.heldBack),
            notify: String(verdict.notify),
            escalation: escalation.kind === 'held' ? `held by ${escalation.by.key}` : escalation.kind,
          },
        }),
      ]
      return { kind: verdict.kind, state: verdict.state, emits }
    },
  }
}

/** What a held-back alert still does for the human, as the Decision says it. */
function humanPart(verdict: Extract<RatelimitVerdict, { kind: 'throttled' }>): string {
  const escalation =
    verdict.escalation.kind === 'allowed'
      ? 'its escalations (page) still go out'
      : verdict.escalation.kind === 'held'
        ? `its escalations are held too, over the escalation limit ${verdict.escalation.by.key}`
        : 'it routes to no escalation'
  const notice = verdict.notify
    ? 'the team is told (first held back in this window)'
    : `held back ${verdict.heldBack} in this window, the team was told at the first`
  return `${escalation}; ${notice}`
}
