/**
 * Dedup's decision, pure: the alert, the state of its episode and the record time in;
 * forward or drop, and the new state, out.
 *
 * An episode is (fingerprint, startsAt): Alertmanager re-sends a firing alert every
 * group_interval/repeat_interval with the same startsAt, and a re-fire after a resolve
 * carries a new one. Forwarded: the first firing and the first resolved of an episode.
 * Dropped: every re-send, and a firing that arrives after its episode resolved (a late
 * re-send must not wake automation for something already over).
 */

/** The alert fields dedup decides on. */
export interface DedupAlert {
  fingerprint: string
  status: 'firing' | 'resolved'
  startsAt: string
}

/** State of one episode (schemas/dedup-entry.avsc). */
export interface DedupEntry {
  fingerprint: string
  startsAt: string
  firingSeen: boolean
  resolvedSeen: boolean
  lastSeenAt: number
}

export interface DedupSettings {
  /**
   * An episode not heard of for this long (record time) is forgotten: a notification
   * after that counts as new. Must exceed Alertmanager's repeat_interval (default 4h).
   */
  ttlMs: number
}

export type DedupKind = 'forwarded' | 'duplicate_firing' | 'duplicate_resolved' | 'firing_after_resolved'

export interface DedupVerdict {
  kind: DedupKind
  forward: boolean
  /** The episode's state after this notification (written to the changelog). */
  entry: DedupEntry
  /** For drops: a sentence for the Decision record. */
  reason?: string
}

/** The state key of an episode. */
export function episodeKey(alert: { fingerprint: string; startsAt: string }): string {
  return `${alert.fingerprint}|${alert.startsAt}`
}

/** True when `entry` is past its TTL at record time `now`. */
export function isExpired(entry: DedupEntry, now: number, settings: DedupSettings): boolean {
  return now - entry.lastSeenAt > settings.ttlMs
}

export function decideDedup(
  alert: DedupAlert,
  stored: DedupEntry | undefined,
  now: number,
  settings: DedupSettings,
): DedupVerdict {
  const known = stored && !isExpired(stored, now, settings) ? stored : undefined
  // lastSeenAt never moves back: a late record must not shorten the episode's life.
  const lastSeenAt = Math.max(now, known?.lastSeenAt ?? now)
  const base: DedupEntry = known ?? {
    fingerprint: alert.fingerprint,
    startsAt: alert.startsAt,
    firingSeen: false,
    resolvedSeen: false,
    lastSeenAt,
  }
  if (alert.status === 'firing') {
    if (base.resolvedSeen) {
      return {
        kind: 'firing_after_resolved',
        forward: false,
        entry: { ...base, lastSeenAt },
        reason: 'a firing notification arrived after this episode had resolved',
      }
    }
    if (base.firingSeen) {
      return {
        kind: 'duplicate_firing',
        forward: false,
        entry: { ...base, lastSeenAt },
        reason: 'Alertmanager re-sent a firing alert already forwarded',
      }
    }
    return { kind: 'forwarded', forward: true, entry: { ...base, firingSeen: true, lastSeenAt } }
  }
  if (base.resolvedSeen) {
    return {
      kind: 'duplicate_resolved',
      forward: false,
      entry: { ...base, lastSeenAt },
      reason: 'Alertmanager re-sent a resolved alert already forwarded',
    }
  }
  return { kind: 'forwarded', forward: true, entry: { ...base, resolvedSeen: true, lastSeenAt } }
}
