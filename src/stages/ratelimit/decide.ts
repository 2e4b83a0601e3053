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
 *
 * The limits protect automation's targets, never the human's sleep: a throttled alert
 * that routes to an escalation action (page) still reaches it, within the escalation
 * limits of its own (per alert key and per team), and the first alert a limit holds back
 * in a window of its period tells the team ({@link decideRatelimit}).
 */
import type { StateChange } from '../../runner/types'
import type { EnrichedAlertRecord } from '../../contracts/records'
import type { KeyPart, Level, Limit, LimitsConfig, Rate } from './limits'

/**
 * A bucket's state (schemas/bucket-state.avsc). An absent bucket is full. The same
 * record, under `notice:<limit>`, remembers the window whose team was told of a throttle.
 */
export interface BucketState {
  /** The bucket key, as in the changelog key (e.g. `team:payments`). */
  bucket: string
  tokens: number
  /** Record time of the last refill, ms since the epoch. */
  updatedAt: number
  /** Notice entries only: start of the window whose team was told (null on buckets). */
  windowStart?: number | null
  /** Notice entries only: alerts the limit held back in that window so far. */
  heldBack?: number
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

/**
 * The escalation buckets `alert` falls under (limits.yaml `escalation`), most specific
 * first: `escalation:alert:<key>` and `escalation:team:<team>`. Exact per team, like the
 * automation levels, because alerts.enriched is keyed by team.
 */
export function escalationLevelsFor(alert: EnrichedAlertRecord, config: LimitsConfig): LevelCheck[] {
  const checks: LevelCheck[] = []
  const { alert: perAlert, team } = config.escalation
  if (perAlert)
    checks.push({
      level: 'alert',
      key: `escalation:alert:${alertKey(alert, config.key)}`,
      limit: perAlert,
      configured: perAlert,
    })
  if (team) checks.push({ level: 'team', key: `escalation:team:${alert.team}`, limit: team, configured: team })
  return checks
}

/** The window a throttle notice is counted in: the limit's period (the 1h of 6/1h), aligned to the epoch. */
export interface LimitWindow {
  start: number
  ms: number
}

export function limitWindow(limit: Limit, now: number): LimitWindow {
  const ms = limit.rate.periodMs
  return { start: Math.floor(now / ms) * ms, ms }
}

/** The state key of a limit's notice entry. */
export function noticeKey(limitKey: string): string {
  return `notice:${limitKey}`
}

/** Whether a hold-back by `limitKey` in `window` is the first of the window, and the entry to store. */
export function decideNotice(
  limitKey: string,
  window: LimitWindow,
  stored: BucketState | undefined,
  now: number,
): { notify: boolean; heldBack: number; state: StateChange<BucketState> } {
  const key = noticeKey(limitKey)
  // A record older than the stored window (replayed out of order) counts in the stored
  // one: the notice only ever moves forward, like a bucket's updatedAt.
  const same = stored?.windowStart != null && stored.windowStart >= window.start
  const heldBack = same ? (stored.heldBack ?? 0) + 1 : 1
  const windowStart = same ? (stored.windowStart as number) : window.start
  return {
    notify: !same,
    heldBack,
    state: {
      key,
      value: { bucket: key, tokens: 0, updatedAt: Math.max(now, stored?.updatedAt ?? now), windowStart, heldBack },
    },
  }
}

/** What happens to a held-back alert's escalations. */
export type EscalationVerdict =
  /** The alert routes to no escalation action: no escalation token is taken. */
  | { kind: 'none' }
  /** Within the escalation limits: its escalations are sent, one token taken from each level. */
  | { kind: 'allowed' }
  /** Over an escalation limit: nothing is sent for it but the notice. */
  | { kind: 'held'; by: LevelCheck }

export type RatelimitVerdict =
  | { kind: 'admitted'; state: StateChange<BucketState>[] }
  | {
      kind: 'throttled'
      /** The first empty automation level, most specific first. */
      by: LevelCheck
      /** Tokens the stopping bucket held at record time (below 1). */
      tokens: number
      window: LimitWindow
      /** Alerts `by` held back in the window so far, this one included. */
      heldBack: number
      /** The first hold-back of the window: the team is told. */
      notify: boolean
      escalation: EscalationVerdict
      state: StateChange<BucketState>[]
    }

/** What {@link decideRatelimit} decides on. */
export interface RatelimitInput {
  status: 'firing' | 'resolved'
  /** The automation levels ({@link levelsFor}). */
  checks: readonly LevelCheck[]
  /** The escalation levels ({@link escalationLevelsFor}). */
  escalationChecks: readonly LevelCheck[]
  /**
   * Whether the alert's routes name an escalation action (page): only then are escalation
   * tokens taken. Asked only for a held-back alert.
   */
  escalates: () => boolean
  stored: (key: string) => BucketState | undefined
  /** Record time, ms since the epoch. */
  now: number
}

/**
 * Admits or throttles one alert ({@link decideLimit}); a throttled one is then decided
 * for the human:
 * - escalation: when its routes name an escalation action, a token from every escalation
 *   level lets them through (`allowed`); an empty one holds them (`held`). The automation
 *   levels never stop a page;
 * - notice: the first hold-back by a limit in its window (`notify`) tells the team; later
 *   ones in the same window only count (`heldBack`). The window is remembered under
 *   `notice:<limit>` in the changelog, so a restart does not tell twice.
 */
export function decideRatelimit(input: RatelimitInput): RatelimitVerdict {
  const { stored, now } = input
  const verdict = decideLimit(input.status, input.checks, stored, now)
  if (verdict.kind === 'admitted') return verdict
  const window = limitWindow(verdict.by.configured, now)
  const notice = decideNotice(verdict.by.key, window, stored(noticeKey(verdict.by.key)), now)
  const state = [...verdict.state, notice.state]
  let escalation: EscalationVerdict = { kind: 'none' }
  if (input.escalates()) {
    const taken = decideLimit('firing', input.escalationChecks, stored, now)
    if (taken.kind === 'admitted') escalation = { kind: 'allowed' }
    else escalation = { kind: 'held', by: taken.by }
    state.push(...taken.state)
  }
  return {
    kind: 'throttled',
    by: verdict.by,
    tokens: verdict.tokens,
    window,
    heldBack: notice.heldBack,
    notify: notice.notify,
    escalation,
    state,
  }
}
