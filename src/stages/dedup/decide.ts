/**
 * Dedup's decision, pure: the alert, the state of its fingerprint's latest episode and
 * the record time in; forward or drop, the episode it belongs to, and the new state out.
 *
 * Which episode a notification belongs to is the episode rule (src/episodes/rule.ts):
 * compared as times, so a resolve with `startsAt` in another precision, or moved earlier
 * by Alertmanager merging an HA pair, still closes its episode, and a late resolve of an
 * older episode never closes a newer one. Forwarded: the first firing of an episode, the
 * resolve that closes it, a resolve-only episode. Dropped: every re-send, a firing that
 * arrives after its episode resolved (a late re-send must not wake automation for
 * something already over), a late resolve. A firing with a later start while an episode
 * is open supersedes it: the old one ended unseen and dedup closes it with a resolve of
 * its own.
 */
import { matchEpisode, supersededEnd, type EpisodeMatch } from '../../episodes/rule'

/** The alert fields dedup decides on. */
export interface DedupAlert {
  fingerprint: string
  status: 'firing' | 'resolved'
  startsAt: string
  endsAt?: string | null
  labels?: Record<string, string>
}

/** State of a fingerprint's latest episode (schemas/dedup-entry.avsc), keyed by fingerprint. */
export interface DedupEntry {
  fingerprint: string
  /** The episode's canonical start: the startsAt first seen for it. */
  startsAt: string
  firingSeen: boolean
  resolvedSeen: boolean
  /** Record time of the episode's last notification (re-sends too): TTL and staleness count from it. */
  lastSeenAt: number
  /** The alert's alertname label, for `nightshift episodes`; null when unknown (state older than the field). */
  alertname?: string | null
}

export interface DedupSettings {
  /**
   * An episode not heard of for this long (record time) is forgotten: a notification
   * after that counts as new. Must exceed Alertmanager's repeat_interval (default 4h).
   */
  ttlMs: number
}

export type DedupKind =
  'forwarded' | 'duplicate_firing' | 'duplicate_resolved' | 'firing_after_resolved' | 'late_resolve'

export interface DedupVerdict {
  kind: DedupKind
  /** What the episode rule said. */
  match: EpisodeMatch
  forward: boolean
  /** The canonical start of the episode the alert belongs to: what it is forwarded with. */
  episode: string
  /** The fingerprint's state after this notification (written to the changelog). */
  entry: DedupEntry
  /** For drops: a sentence for the Decision record. */
  reason?: string
  /** A firing superseded the open episode: that episode's start and when it is taken to have ended (ms). */
  superseded?: { startsAt: string; endedAt: number }
}

/** The state key: the fingerprint (one latest episode per fingerprint). */
export function stateKey(alert: { fingerprint: string }): string {
  return alert.fingerprint
}

/** `fingerprint|startsAt`: an episode's name in Decisions, and the state key of dedup before episodes had a rule. */
export function episodeKey(alert: { fingerprint: string; startsAt: string }): string {
  return `${alert.fingerprint}|${alert.startsAt}`
}

/** True when `entry` is past its TTL at record time `now`. */
export function isExpired(entry: DedupEntry, now: number, settings: DedupSettings): boolean {
  return now - entry.lastSeenAt > settings.ttlMs
}

const REASONS: Partial<Record<EpisodeMatch, string>> = {
  resend: 'Alertmanager re-sent a firing alert already forwarded',
  late_firing: 'a firing notification arrived after this episode had resolved',
  duplicate_resolve: 'Alertmanager re-sent a resolved alert already forwarded',
  late_resolve: 'a resolve of an older episode (it ended before the open episode began): the open one stays open',
}

const KINDS: Record<EpisodeMatch, DedupKind> = {
  new: 'forwarded',
  superseded: 'forwarded',
  resolve_only: 'forwarded',
  closes: 'forwarded',
  resend: 'duplicate_firing',
  late_firing: 'firing_after_resolved',
  duplicate_resolve: 'duplicate_resolved',
  late_resolve: 'late_resolve',
}

export function decideDedup(
  alert: DedupAlert,
  stored: DedupEntry | undefined,
  now: number,
  settings: DedupSettings,
): DedupVerdict {
  const known = stored && !isExpired(stored, now, settings) ? stored : undefined
  const decision = matchEpisode({ status: alert.status, startsAt: alert.startsAt, endsAt: alert.endsAt ?? null }, known)
  const kind = KINDS[decision.match]
  const alertname = alert.labels?.alertname ?? known?.alertname ?? null
  // lastSeenAt never moves back: a late record must not shorten the episode's life; and a
  // late resolve of an older episode is no news of the open one.
  const lastSeenAt =
    decision.match === 'late_resolve' && known ? known.lastSeenAt : Math.max(now, known?.lastSeenAt ?? now)
  const entry: DedupEntry = {
    fingerprint: alert.fingerprint,
    startsAt: decision.next.startsAt,
    firingSeen: decision.next.firingSeen,
    resolvedSeen: decision.next.resolvedSeen,
    lastSeenAt,
    alertname,
  }
  const verdict: DedupVerdict = {
    kind,
    match: decision.match,
    forward: kind === 'forwarded',
    episode: decision.episode,
    entry,
    ...(REASONS[decision.match] ? { reason: REASONS[decision.match] } : {}),
  }
  if (decision.match === 'superseded' && known) {
    verdict.superseded = {
      startsAt: known.startsAt,
      endedAt: supersededEnd(known.startsAt, known.lastSeenAt, alert.startsAt),
    }
  }
  return verdict
}

/**
 * Folds a state record of dedup before episodes had a rule (key `fingerprint|startsAt`,
 * one per episode) into the fingerprint's state: the episode with the later start wins,
 * the one already held on a tie (records are restored in log order, and every record
 * written since the upgrade is keyed by fingerprint). Returns what to hold, or undefined
 * to keep `held`.
 */
export function foldLegacyEntry(held: DedupEntry | undefined, legacy: DedupEntry): DedupEntry | undefined {
  const value: DedupEntry = { ...legacy, alertname: legacy.alertname ?? null }
  if (!held) return value
  const later = matchEpisode({ status: 'firing', startsAt: legacy.startsAt, endsAt: null }, held).match
  return later === 'new' || later === 'superseded'
    ? { ...value, alertname: value.alertname ?? held.alertname ?? null }
    : undefined
}
