/**
 * The episode rule, pure and in one place: which episode of its fingerprint a notification
 * from Alertmanager belongs to. dedup decides with it (and forwards every record with the
 * episode's canonical start), the slo stage closes its open intervals with it, and `trace`
 * groups an alert's records with it, so the three agree.
 *
 * An episode is one stretch of an alert (one fingerprint) firing. Its key is its
 * **canonical start**: the `startsAt` string of the first notification of it seen, kept as
 * it was, so the idempotency keys, ledger marks and page dedup keys already issued for it
 * stay valid. Times are compared as epoch milliseconds (`Date.parse`, which reads
 * nanosecond fractions and truncates them), never as strings: Alertmanager may send
 * `…50.764919002Z` in one notification and `…50.764Z` (amtool) in the next, and moves
 * `startsAt` earlier when it merges the alerts of an HA pair of Prometheus.
 *
 * Per fingerprint only the latest episode is known:
 * - a firing whose start is at or before the latest episode's start belongs to it: a
 *   re-send while it is open, a late re-send once it has resolved;
 * - a firing with a later start begins a new episode; when the latest was still open, it
 *   ended unseen (its resolve never came): it is **superseded**, and dedup closes it with
 *   a resolve of its own (see {@link supersededEnd});
 * - a resolve whose `endsAt` is at or after the open episode's start closes it, whatever
 *   the precision or value of its `startsAt`; a resolve that ended before the open
 *   episode began is a late resolve of an older episode and never closes the newer one;
 * - a resolve with no episode known (or newer than a resolved one) is a resolve-only
 *   episode, keyed by its own start.
 */
import { parseDuration } from '../config/duration'

/** What the rule needs of a notification. */
export interface EpisodeNotification {
  status: 'firing' | 'resolved'
  startsAt: string
  /** RFC 3339 as sent; null, unparsable or year 1 (Alertmanager's "unset") count as unknown. */
  endsAt: string | null
}

/** What the rule knows of the fingerprint's latest episode. */
export interface EpisodeSnapshot {
  /** Canonical start: the startsAt first seen for the episode. */
  startsAt: string
  firingSeen: boolean
  resolvedSeen: boolean
}

/**
 * How a notification relates to the fingerprint's latest episode:
 * - `new`: a firing beginning an episode (none known, or after the last one resolved);
 * - `superseded`: a firing with a later start while an episode was open: a new episode,
 *   and the open one ended unseen;
 * - `resend`: a firing of the open episode (same or earlier start);
 * - `late_firing`: a firing of an episode already resolved;
 * - `closes`: a resolve that closes the open episode;
 * - `duplicate_resolve`: a resolve of the episode already resolved;
 * - `late_resolve`: a resolve that ended before the latest episode began (an older one's);
 * - `resolve_only`: a resolve with no episode known: an episode of its own, never seen firing.
 */
export type EpisodeMatch =
  'new' | 'superseded' | 'resend' | 'late_firing' | 'closes' | 'duplicate_resolve' | 'late_resolve' | 'resolve_only'

export interface EpisodeDecision {
  match: EpisodeMatch
  /** The canonical start of the episode the notification belongs to (the notification's own for a new one). */
  episode: string
  /** The fingerprint's latest episode after the notification. */
  next: EpisodeSnapshot
}

/** Alertmanager's "no time" (Go's zero time) and anything before 1970 count as unknown. */
const UNSET_BEFORE = 0

/**
 * An RFC 3339 time as epoch milliseconds, or NaN. V8 reads up to nine fraction digits and
 * truncates to the millisecond, as Alertmanager and amtool do when they print milliseconds.
 */
export function timeMs(text: string | null | undefined): number {
  if (text === null || text === undefined || text === '') return NaN
  const ms = Date.parse(text)
  return Number.isFinite(ms) && ms >= UNSET_BEFORE ? ms : NaN
}

/**
 * -1, 0 or 1 as start `a` is before, at (to the millisecond) or after start `b`. Starts that
 * do not parse are equal only when written the same, and otherwise count as later (a new
 * episode rather than a wrong merge).
 */
export function compareStarts(a: string, b: string): number {
  const x = timeMs(a)
  const y = timeMs(b)
  if (Number.isNaN(x) || Number.isNaN(y)) return a === b ? 0 : 1
  return x < y ? -1 : x > y ? 1 : 0
}

/** True when a resolve that ended at `endsAt` (started at `startsAt`) may close the episode that began at `episode`. */
export function resolveReaches(n: Pick<EpisodeNotification, 'startsAt' | 'endsAt'>, episode: string): boolean {
  const end = timeMs(n.endsAt)
  const start = timeMs(episode)
  // Without a usable endsAt, its startsAt says as much: an older start is an older episode.
  if (Number.isNaN(end) || Number.isNaN(start)) return compareStarts(n.startsAt, episode) >= 0
  return end >= start
}

/** The rule: which episode `n` belongs to, given the fingerprint's latest episode (undefined: none known). */
export function matchEpisode(n: EpisodeNotification, latest: EpisodeSnapshot | undefined): EpisodeDecision {
  const own = (match: EpisodeMatch, firing: boolean): EpisodeDecision => ({
    match,
    episode: n.startsAt,
    next: { startsAt: n.startsAt, firingSeen: firing, resolvedSeen: !firing },
  })
  const same = (match: EpisodeMatch, next: EpisodeSnapshot = latest!): EpisodeDecision => ({
    match,
    episode: latest!.startsAt,
    next,
  })
  if (n.status === 'firing') {
    if (!latest) return own('new', true)
    if (compareStarts(n.startsAt, latest.startsAt) <= 0) {
      return latest.resolvedSeen ? same('late_firing') : same('resend', { ...latest, firingSeen: true })
    }
    return own(latest.resolvedSeen ? 'new' : 'superseded', true)
  }
  if (!latest) return own('resolve_only', false)
  if (!latest.resolvedSeen) {
    return resolveReaches(n, latest.startsAt) ? same('closes', { ...latest, resolvedSeen: true }) : same('late_resolve')
  }
  // The latest episode has resolved: this one is its duplicate, an older one's, or a newer
  // episode whose firing never came.
  if (compareStarts(n.startsAt, latest.startsAt) > 0) return own('resolve_only', false)
  return resolveReaches(n, latest.startsAt) ? same('duplicate_resolve') : same('late_resolve')
}

/**
 * When a superseded episode is taken to have ended: the last time it was heard of (what is
 * known; it may have gone on until the new one began, but that is not known), never before
 * its start nor after the new episode's start. Epoch milliseconds.
 */
export function supersededEnd(oldStart: string, lastSeenAt: number, newStart: string): number {
  const start = timeMs(oldStart)
  const next = timeMs(newStart)
  let end = lastSeenAt
  if (!Number.isNaN(next)) end = Math.min(end, next)
  if (!Number.isNaN(start)) end = Math.max(end, start)
  return end
}

/** Settings of staleness: an open episode not heard of for longer than `staleAfterMs` is stale. */
export interface StalenessSettings {
  staleAfterMs: number
}

/** Default staleness: three times Alertmanager's default repeat_interval (4h). */
export const DEFAULT_STALE_AFTER_MS = 12 * 3600_000

/**
 * When an open episode last heard of at `lastSeenAt` goes (or went) stale: null when
 * `lastSeenAt` is unknown. Stale means "no notification for longer than the staleness":
 * Alertmanager re-sends a firing alert every repeat_interval, so silence that long says
 * the resolve was lost or Alertmanager forgot the alert.
 */
export function staleFrom(lastSeenAt: number | undefined, settings: StalenessSettings): number | null {
  if (lastSeenAt === undefined || !Number.isFinite(lastSeenAt)) return null
  return lastSeenAt + settings.staleAfterMs
}

/** True when an episode last heard of at `lastSeenAt` is stale at `now`. */
export function isStale(lastSeenAt: number | undefined, now: number, settings: StalenessSettings): boolean {
  const from = staleFrom(lastSeenAt, settings)
  return from !== null && now > from
}

/**
 * The staleness configured by `NIGHTSHIFT_EPISODE_STALE_AFTER` (a duration: 12h, 90m,
 * 2d), else {@link DEFAULT_STALE_AFTER_MS}. Read where a process or a command starts; an
 * unreadable value is a ConfigError, never silently replaced.
 */
export function staleAfterFromEnv(env: NodeJS.ProcessEnv): StalenessSettings {
  const raw = env.NIGHTSHIFT_EPISODE_STALE_AFTER
  if (raw === undefined || raw.trim() === '') return { staleAfterMs: DEFAULT_STALE_AFTER_MS }
  return { staleAfterMs: parseDuration(raw, 'NIGHTSHIFT_EPISODE_STALE_AFTER') }
}
