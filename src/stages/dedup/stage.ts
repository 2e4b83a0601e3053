import type { AlertRecord } from '../../contracts/records'
import type { Emit, StageDefinition } from '../../runner/types'
import { decisionEmit } from '../decision'
import { changelogTopic, type TopicNames } from '../../topology/names'
import { decideDedup, episodeKey, stateKey, type DedupEntry, type DedupSettings } from './decide'
import { createEpisodeStore } from './episode-store'
import type { SlosConfig } from '../../slo/slos'
import { indexAlert } from '../slo/decide'

export interface DedupStageSettings extends DedupSettings {
  /** Fingerprints kept in memory per partition. */
  maxEntries: number
}

export const DEFAULT_DEDUP: DedupStageSettings = { ttlMs: 48 * 3600 * 1000, maxEntries: 200000 }

/**
 * How often at most the slo stage is told that an open episode is still re-sent: once per
 * hour of record time (the first re-send after each hour boundary), so staleness can be
 * judged where re-sends are not seen, at a cost of one small record an hour per alert.
 */
export const STILL_FIRING_EVERY_MS = 3600_000

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
 *
 * With `slos` (slos.yaml, watched), a dropped re-send of an open episode also tells the
 * slo stage, on slo.events, that the episode is still alive (at most hourly,
 * {@link STILL_FIRING_EVERY_MS}): re-sends go no further, and staleness ("no
 * notification for longer than …") must be judged from them.
 */
export function dedupStage(
  topics: TopicNames,
  prefix: string,
  settings: DedupStageSettings = DEFAULT_DEDUP,
  slos?: () => SlosConfig | undefined,
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
      const stored = state.get(key)
      const verdict = decideDedup(alert, stored, alert.receivedAt, settings)
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
      const stillFiring: Emit[] = []
      const config = slos?.()
      if (
        config &&
        verdict.match === 'resend' &&
        stored &&
        Math.floor(alert.receivedAt / STILL_FIRING_EVERY_MS) > Math.floor(stored.lastSeenAt / STILL_FIRING_EVERY_MS)
      ) {
        const canonical = {
          ...alert,
          startsAt: verdict.episode,
          sentStartsAt: verdict.episode === alert.startsAt ? null : alert.startsAt,
        }
        stillFiring.push(...indexAlert(canonical, config, topics.sloEvents).emits)
      }
      return {
        kind: verdict.kind,
        state: stateChange,
        emits: [
          ...stillFiring,
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
