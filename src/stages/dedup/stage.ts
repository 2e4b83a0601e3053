import type { AlertRecord } from '../../contracts/records'
import type { StageDefinition } from '../../runner/types'
import { decisionEmit } from '../decision'
import { changelogTopic, type TopicNames } from '../../topology/names'
import { decideDedup, episodeKey, type DedupEntry, type DedupSettings } from './decide'
import { createEpisodeStore } from './episode-store'

export interface DedupStageSettings extends DedupSettings {
  /** Episodes kept in memory per partition. */
  maxEntries: number
}

export const DEFAULT_DEDUP: DedupStageSettings = { ttlMs: 48 * 3600 * 1000, maxEntries: 200000 }

/**
 * Binds dedup's decision to topics: alerts.raw in; alerts.deduped or a Decision on
 * nightshift.decisions out; episode state in nightshift.dedup-changelog. Time is the
 * alert's receivedAt (set at ingest), so a replay decides the same.
 */
export function dedupStage(
  topics: TopicNames,
  prefix: string,
  settings: DedupStageSettings = DEFAULT_DEDUP,
): StageDefinition<AlertRecord, DedupEntry> {
  return {
    name: 'dedup',
    groupId: `${prefix}nightshift-dedup`,
    inputTopics: [topics.raw],
    inputSchema: 'Alert',
    state: {
      changelogTopic: `${prefix}${changelogTopic('dedup')}`,
      schema: 'DedupEntry',
      maxEntries: settings.maxEntries,
      ttlMs: settings.ttlMs,
      // Episodes held compactly (~40 bytes each, not ~260) so that 1M of them fit in a few hundred MB.
      createStore: createEpisodeStore,
    },
    process(alert, { state, source }) {
      const key = episodeKey(alert)
      const verdict = decideDedup(alert, state.get(key), alert.receivedAt, settings)
      const stateChange = [{ key, value: verdict.entry }]
      if (verdict.forward) {
        return {
          kind: verdict.kind,
          state: stateChange,
          emits: [{ topic: topics.deduped, key: alert.fingerprint, schema: 'Alert', value: alert }],
        }
      }
      return {
        kind: verdict.kind,
        state: stateChange,
        emits: [
          decisionEmit({
            topic: topics.decisions,
            stage: 'dedup',
            alert,
            source,
            kind: verdict.kind,
            reason: verdict.reason ?? verdict.kind,
            detail: { episode: key, lastSeenAt: new Date(verdict.entry.lastSeenAt).toISOString() },
          }),
        ],
      }
    },
  }
}
