/**
 * Rate limit's decision, pure: an alert, the buckets it falls under and the record time
 * in; admit or throttle, and the bucket changes, out.
 *
 * Token buckets, nested: an alert falls under up to four levels, most specific first —
 * its alert key (default `{team}/{service}/{alertname}`), its service, its team, and
 * global. It is admitted only when every level has a token, and then takes one from
 * each; otherwise it is throttled, naming the first empty level, and takes none (a
 * throttled alert must not starve the levels that had room).
 *
 * Time is the record time (the alert's receivedAt), never the wall clock, so a replay
 * decides the same. A bucket never refills backwards: a record older than the bucket's
 * last update refills nothing and leaves updatedAt where it was.
 */
import type { StateChange } from '../../runner/types'
import type { EnrichedAlertRecord } from '../../contracts/records'
import type { KeyPart, Level, Limit, LimitsConfig, Rate } from './limits'

/** A bucket's state (schemas/bucket-state.avsc). An absent bucket is full. */
export interface BucketState {
  /** The bucket key, as in the changelog key (e.g. `team:payments`). */
  bucket: string
  tokens: number
  /** Record time of the last refill, ms since the epoch. */
  updatedAt: number
}

/** Tokens and time of a bucket, without its name. */
export type BucketLevel = Pick<BucketState, 'tokens' | 'updatedAt'>

/** One bucket an alert must get a token from. */
export interface LevelCheck {
  level: Level
  /** State key and the limit's name in decisions: `alert:<key>`, `service:<name>`, `team:<name>`, `global`. */
  key: string
  /** The limit this partition enforces (for global: its share). */
  limit: Limit
  /** The limit as configured (differs from `limit` for the global share). */
  configured: Limit
}

/**
 * Float slack when comparing tokens: 0.1 + 0.2 of a token must count as 0.3. Rates are
 * kept as ratios so whole periods refill whole tokens exactly; the slack covers sums.
 */
const EPSILON = 1e-9

/**
 * The bucket at record time `now`: refilled by the time since its last update at `rate`,
 * never above `burst` (also after a reload lowered it), never backwards in time. An
 * absent bucket is full.
 */
export function refill(bucket: BucketLevel | undefined, now: number, rate: Rate, burst: number): BucketLevel {
  if (!bucket) return { tokens: burst, updatedAt: now }
  const elapsed = Math.max(0, now - bucket.updatedAt)
  return {
    tokens: Math.min(burst, bucket.tokens + (elapsed * rate.tokens) / rate.periodMs),
    updatedAt: Math.max(bucket.updatedAt, now),
  }
}

/** True when the bucket holds a whole token. */
export function hasToken(bucket: BucketLevel): boolean {
  return bucket.tokens >= 1 - EPSILON
}

/**
 * The share of a global limit one of `partitions` input partitions enforces: rate /
 * partitions, floor(burst / partitions) but at least 1. Partitions cannot see each
 * other's buckets, so the global limit is exact only with one partition.
 */
export function globalShare(limit: Limit, partitions: number): Limit {
  if (partitions === 1) return limit
  return {
    rate: { tokens: limit.rate.tokens, periodMs: limit.rate.periodMs * partitions },
    burst: Math.max(1, Math.floor(limit.burst / partitions)),
    text: `${limit.text} / ${partitions} partitions`,
  }
}

/** A key field's value; empty or missing is `-`, so keys stay readable and distinct. */
function fieldValue(alert: EnrichedAlertRecord, part: Exclude<KeyPart, { literal: string }>): string {
  const value =
    'label' in part
      ? alert.alert.labels[part.label]
      : part.field === 'team'
        ? alert.team
        : part.field === 'service'
          ? alert.service
          : alert.alert.labels.alertname
  return value === undefined || value === null || value === '' ? '-' : value
}

/** The alert-level bucket key of `alert` under a key template, without the `alert:` prefix. */
export function alertKey(alert: EnrichedAlertRecord, template: readonly KeyPart[]): string {
  return template.map((part) => ('literal' in part ? part.literal : fieldValue(alert, part))).join('')
}

/**
 * The buckets `alert` falls under, most specific first. A level's limit is the
 * service's override, else the team's, else the default; null (unlimited) skips it.
 * An alert without a catalog service has no service level.
 */
export function levelsFor(alert: EnrichedAlertRecord, config: LimitsConfig, partitions: number): LevelCheck[] {
  const team = config.teams.get(alert.team)
  const service = alert.service === null ? undefined : config.services.get(alert.service)
  const pick = (level: 'alert' | 'service' | 'team'): Limit | null => {
    const own = level === 'team' ? undefined : service?.[level]
    if (own !== undefined) return own
    const teams = team?.[level]
    return teams !== undefined ? teams : config.defaults[level]
  }
  const checks: LevelCheck[] = []
  const add = (level: Level, key: string, configured: Limit | null, limit = configured) => {
    if (configured && limit) checks.push({ level, key, limit, configured })
  }
  add('alert', `alert:${alertKey(alert, config.key)}`, pick('alert'))
  if (alert.service !== null) add('service', `service:${alert.service}`, pick('service'))
  add('team', `team:${alert.team}`, pick('team'))
  const global = config.defaults.global
  add('global', 'global', global, global && globalShare(global, partitions))
  return checks
}

export type LimitVerdict =
  | { kind: 'admitted'; state: StateChange<BucketState>[] }
  | {
      kind: 'throttled'
      /** The first empty level, most specific first. */
      by: LevelCheck
      /** Tokens the stopping bucket held at record time (below 1). */
      tokens: number
      state: StateChange<BucketState>[]
    }

/**
 * Admits or throttles one alert at record time `now`.
 * - resolved: always admitted, takes no token (a resolve must reach automation).
 * - every level has a token: admitted, one token taken from each (state written).
 * - otherwise: throttled by the first empty level; no token is taken. A stored bucket
 *   that has refilled to full is deleted (tombstone): absent means full, so the state
 *   holds only buckets that remember something.
 */
export function decideLimit(
  status: 'firing' | 'resolved',
  checks: readonly LevelCheck[],
  stored: (key: string) => BucketState | undefined,
  now: number,
): LimitVerdict {
  if (status === 'resolved') return { kind: 'admitted', state: [] }
  const refilled = checks.map((check) => {
    const before = stored(check.key)
    return { check, before, bucket: refill(before, now, check.limit.rate, check.limit.burst) }
  })
  const empty = refilled.find((r) => !hasToken(r.bucket))
  if (empty) {
    const state = refilled
      .filter((r) => r.before !== undefined && r.bucket.tokens >= r.check.limit.burst)
      .map((r) => ({ key: r.check.key, value: null }))
    return { kind: 'throttled', by: empty.check, tokens: empty.bucket.tokens, state }
  }
  return {
    kind: 'admitted',
    state: refilled.map((r) => ({
      key: r.check.key,
      value: { bucket: r.check.key, tokens: Math.max(0, r.bucket.tokens - 1), updatedAt: r.bucket.updatedAt },
    })),
  }
}
