import type { AlertRecord } from '../../contracts/records'
import type { Emit, StageDefinition } from '../../runner/types'
import { decisionEmit } from '../decision'
import { changelogTopic, type TopicNames } from '../../topology/names'
import { decideDedup, episodeKey, stateKey, type DedupEntry, type DedupSettings } from './decide'
import { createEpisodeStore } from './episode-store'

export interface DedupStageSettings extends DedupSettings {
  /** Fingerprints kept in memory per partition. */
  maxEntries: number
}

export const DEFAULT_DEDUP: DedupStageSettings = { ttlMs: 48 * 3600 * 1000, maxEntries: 200000 }

/** Who closes an episode a newer one superseded (`closedBy.by` of the resolve dedup makes). */
export const SUPERSEDED_BY = 'nightshift'

/**
 * Binds dedup's decision to topics: alerts.raw in; alerts.deduped or a Decision on
 * nightshift.decisions out; each fingerprint's latest episode in
 * nightshift.dedup-changelog (key = fingerprint). Time is the alert's receivedAt (set at
 * ingest), so a replay decides the same.
 *
 * Every forwarded record carries its episode's canonical start as `startsAt` (and what
 * Alertmanager sent in `sentStartsAt` when that differs), so route's idempotency key,
 * the worker's ledger, page's dedup key and the slo stage all see one episode. A firing
 * that supersedes an open episode is preceded by a resolve of that episode, made here
 * (`closedBy.by` = nightshift), so nothing downstream keeps it open.
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
      // Held compactly (~45 bytes a fingerprint, not ~260) so that 1M of them fit in a few hundred MB.
      createStore: createEpisodeStore,
    },
    process(alert, { state, source }) {
      const key = stateKey(alert)
      const verdict = decideDedup(alert, state.get(key), alert.receivedAt, settings)
      const stateChange = [{ key, value: verdict.entry }]
      if (verdict.forward) {
        const emits: Emit[] = []
        if (verdict.superseded) {
          const closed: AlertRecord = {
            ...alert,
            status: 'resolved',
            startsAt: verdict.superseded.startsAt,
            endsAt: new Date(verdict.superseded.endedAt).toISOString(),
            sentStartsAt: null,
            closedBy: {
              by: SUPERSEDED_BY,
              reason: `superseded: a firing with a later startsAt (${alert.startsAt}) arrived while this episode was open; its resolve never came, so it is taken to have ended when last heard of`,
            },
          }
          emits.push({ topic: topics.deduped, key: alert.fingerprint, schema: 'Alert', value: closed })
        }
        const forwarded: AlertRecord = {
          ...alert,
          startsAt: verdict.episode,
          sentStartsAt: verdict.episode === alert.startsAt ? null : alert.startsAt,
        }
        emits.push({ topic: topics.deduped, key: alert.fingerprint, schema: 'Alert', value: forwarded })
        return { kind: verdict.kind, state: stateChange, emits }
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
            detail: {
              episode: episodeKey({ fingerprint: alert.fingerprint, startsAt: verdict.episode }),
              lastSeenAt: new Date(verdict.entry.lastSeenAt).toISOString(),
            },
          }),
        ],
      }
    },
  }
}
