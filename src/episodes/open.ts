/**
 * Open episodes as `nightshift episodes` shows them, pure: dedup's state records (the
 * compacted nightshift.dedup-changelog, read in log order) in; each fingerprint's latest
 * episode, and whether it is open and stale at `now`, out.
 */
import type { AlertRecord } from '../contracts/records'
import { foldLegacyEntry, type DedupEntry } from '../stages/dedup/decide'
import { isStale, type StalenessSettings } from './rule'

/** One open episode. */
export interface OpenEpisode {
  fingerprint: string
  alertname: string | null
  /** Canonical start (the key every record of the episode carries). */
  startsAt: string
  /** Record time of its last notification, re-sends included (ms). */
  lastSeenAt: number
  stale: boolean
}

/**
 * Each fingerprint's latest episode from dedup's state records, as dedup restores them:
 * records keyed `fingerprint|startsAt` (older versions) fold into their fingerprint's,
 * a tombstone forgets the key.
 */
export function latestEpisodes(records: Iterable<{ key: string; value: DedupEntry | null }>): Map<string, DedupEntry> {
  const latest = new Map<string, DedupEntry>()
  for (const { key, value } of records) {
    if (value === null) {
      latest.delete(key)
    } else if (key.includes('|')) {
      const folded = foldLegacyEntry(latest.get(value.fingerprint), value)
      if (folded) latest.set(value.fingerprint, folded)
    } else {
      latest.set(key, value)
    }
  }
  return latest
}

/** The open ones (a firing seen, no resolve), oldest start first. */
export function openEpisodes(
  latest: ReadonlyMap<string, DedupEntry>,
  now: number,
  settings: StalenessSettings,
): OpenEpisode[] {
  return [...latest.values()]
    .filter((e) => e.firingSeen && !e.resolvedSeen)
    .map((e) => ({
      fingerprint: e.fingerprint,
      alertname: e.alertname ?? null,
      startsAt: e.startsAt,
      lastSeenAt: e.lastSeenAt,
      stale: isStale(e.lastSeenAt, now, settings),
    }))
    .sort((a, b) => Date.parse(a.startsAt) - Date.parse(b.startsAt) || a.fingerprint.localeCompare(b.fingerprint))
}

/** Who closed an episode by hand, and why (the audit record on nightshift.control, JSON). */
export interface EpisodeCloseAudit {
  fingerprint: string
  alertname: string | null
  startsAt: string
  endsAt: string
  by: string
  reason: string
  /** When, ms since the epoch. */
  at: number
}

/** Key prefix of the audit records on nightshift.control (the pause reader ignores other prefixes). */
export const EPISODE_CLOSE_KEY_PREFIX = 'episode-close/'

/**
 * The resolve an operator's close writes to alerts.raw: the episode's last known
 * notification (its labels, so the SLO and routes see the same alert), resolved at `now`,
 * marked as made by the operator. It travels the normal path: dedup closes the episode,
 * held actions are cancelled, the SLO stops charging, and trace shows who closed it.
 */
export function closingResolve(
  last: AlertRecord,
  episode: string,
  now: number,
  by: string,
  reason: string,
): AlertRecord {
  return {
    ...last,
    status: 'resolved',
    startsAt: episode,
    endsAt: new Date(now).toISOString(),
    receivedAt: now,
    sentStartsAt: null,
    closedBy: { by, reason },
  }
}
