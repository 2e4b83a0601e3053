import { ConfigError } from '../../errors'
import { formatDurationShort } from '../../config/duration'
import { matchesAll, type Matcher } from '../../matchers'

/**
 * Pauses, pure: `nightshift pause --team payments --for 2h --reason "..."` becomes a
 * {@link Pause} on the compacted control topic; workers ask {@link activePause} before
 * running a request (outcome `skipped_paused`), `nightshift resume` uses {@link liftPause},
 * and `nightshift pauses` prints {@link describePause}.
 *
 * Pauses stop automation, not the human: a request of an escalation action (page, or any
 * action with `escalation: true` in actions.yaml) is stopped only by a pause that names
 * its action (`--action page`). A team, service or matcher pause leaves it alone, so the
 * people the paused automation would have helped are still paged.
 */

/** What a pause covers: every given field must equal the request's. At least one is given. */
export interface PauseScope {
  team?: string
  service?: string
  action?: string
}

export interface Pause {
  id: string
  scope: PauseScope
  /**
   * Alert label matchers, Alertmanager's syntax (`alertname="DiskFull"`), all of which must
   * match the alert's labels, as in a silence. Absent or empty: any alert of the scope.
   * Kept sorted by their text and without duplicates (the pause's key is made from them).
   */
  matchers?: readonly Matcher[]
  reason: string
  createdBy?: string
  /** ms since the epoch; the pause applies from here… */
  createdAt: number
  /** …until here, exclusive. */
  until: number
  /** Also page a human when a request is skipped because of this pause. */
  escalate: boolean
}

/** The request fields a pause is matched against. */
export interface PausableRequest {
  team: string
  service: string | null
  action: string
  /** The alert's labels, for the pause's matchers. */
  labels: Readonly<Record<string, string>>
  /** The action brings a human in (actions-file.ts isEscalation): only a pause naming it stops it. */
  escalation: boolean
}

export interface NewPauseInput {
  scope: PauseScope
  matchers?: readonly Matcher[]
  reason: string
  forMs: number
  now: number
  id: string
  createdBy?: string
  escalate?: boolean
}

export interface LiftResult {
  remaining: Pause[]
  lifted: Pause[]
}

/** Scope fields in the order they are printed and compared. */
const SCOPE_FIELDS = ['team', 'service', 'action'] as const
type PauseField = (typeof SCOPE_FIELDS)[number]

/** True when `pause` is in force at `now` (createdAt ≤ now < until). */
export function isActive(pause: Pause, now: number): boolean {
  return pause.createdAt <= now && now < pause.until
}

/** True when every field of the pause's scope equals the request's (a null service matches no service scope). */
export function scopeMatches(scope: PauseScope, request: Pick<PausableRequest, PauseField>): boolean {
  return SCOPE_FIELDS.every((field) => scope[field] === undefined || scope[field] === request[field])
}

/**
 * True when `pause` covers `request`, whatever the time: its scope and matchers match,
 * and the request is not an escalation — unless the pause names the request's action.
 */
export function pauseCovers(pause: Pick<Pause, 'scope' | 'matchers'>, request: PausableRequest): boolean {
  if (request.escalation && pause.scope.action !== request.action) return false
  return scopeMatches(pause.scope, request) && matchesAll(pause.matchers ?? [], request.labels)
}

/**
 * The pause that stops `request` at `now`, if any. When several apply, the one that ends
 * last (then the smallest id), so the reported pause is stable across workers and replays.
 */
export function activePause(pauses: readonly Pause[], request: PausableRequest, now: number): Pause | undefined {
  let best: Pause | undefined
  for (const pause of pauses) {
    if (!isActive(pause, now) || !pauseCovers(pause, request)) continue
    if (!best || pause.until > best.until || (pause.until === best.until && pause.id < best.id)) best = pause
  }
  return best
}

/** Builds a validated pause starting at `now`; throws a {@link ConfigError} naming what is wrong. */
export function newPause(input: NewPauseInput): Pause {
  const matchers = canonicalMatchers(input.matchers ?? [])
  const scope = cleanScope(input.scope, 'pause', matchers.length > 0)
  if (!Number.isFinite(input.forMs) || input.forMs <= 0) {
    throw new ConfigError(`a pause must last longer than zero, got ${input.forMs}ms`)
  }
  const reason = input.reason.trim()
  if (reason === '')
    throw new ConfigError('a pause needs a reason (--reason "...") so others know why automation stopped')
  if (input.id.trim() === '') throw new ConfigError('a pause needs a non-empty id')
  const createdBy = input.createdBy?.trim()
  const pause: Pause = {
    id: input.id,
    scope,
    ...(matchers.length > 0 ? { matchers } : {}),
    reason,
    createdAt: input.now,
    until: input.now + input.forMs,
    escalate: input.escalate ?? false,
  }
  if (createdBy) pause.createdBy = createdBy
  return pause
}

/**
 * Removes the pauses whose scope and matchers are exactly `selector` and `matchers`
 * (`resume --team payments` lifts the team pause, not a pause of one of the team's
 * services, nor one with matchers). Expired pauses are lifted too.
 */
export function liftPause(
  pauses: readonly Pause[],
  selector: PauseScope,
  matchers: readonly Matcher[] = [],
): LiftResult {
  const wantedMatchers = canonicalMatchers(matchers).map(String).join(',')
  const wanted = cleanScope(selector, 'resume', wantedMatchers !== '')
  const remaining: Pause[] = []
  const lifted: Pause[] = []
  for (const pause of pauses) {
    const exact =
      SCOPE_FIELDS.every((field) => pause.scope[field] === wanted[field]) &&
      (pause.matchers ?? []).map(String).join(',') === wantedMatchers
    if (exact) lifted.push(pause)
    else remaining.push(pause)
  }
  return { remaining, lifted }
}

/** One line for `nightshift pauses`: `team=payments for 1h23m more: deploy freeze (by alice)`. */
export function describePause(pause: Pause, now: number): string {
  const scope = describeSelector(pause)
  const when =
    now < pause.createdAt
      ? `from in ${formatDurationShort(pause.createdAt - now)}, for ${formatDurationShort(pause.until - pause.createdAt)}`
      : now < pause.until
        ? `for ${formatDurationShort(pause.until - now)} more`
        : `ended ${formatDurationShort(now - pause.until)} ago`
  const notes = [
    pause.createdBy ? `by ${pause.createdBy}` : undefined,
    pause.escalate ? 'pages on skip' : undefined,
  ].filter((n): n is string => n !== undefined)
  return `${scope} ${when}: ${pause.reason}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`
}

/**
 * What `resume` says of a pause it lifted at `now`, true whenever it is lifted:
 * `team=payments (deploy freeze, by alice), which had 29m38s left`.
 */
export function describeLift(pause: Pause, now: number): string {
  const by = pause.createdBy ? `, by ${pause.createdBy}` : ''
  const when =
    now < pause.createdAt
      ? `which had not started yet (it was to start in ${formatDurationShort(pause.createdAt - now)})`
      : now < pause.until
        ? `which had ${formatDurationShort(pause.until - now)} left`
        : `which had already ended ${formatDurationShort(now - pause.until)} ago`
  return `${describeSelector(pause)} (${pause.reason}${by}), ${when}`
}

/** `team=payments service=checkout`, fields in a fixed order. */
export function describeScope(scope: PauseScope): string {
  return SCOPE_FIELDS.flatMap((field) => (scope[field] === undefined ? [] : [`${field}=${scope[field]}`])).join(' ')
}

/** The scope and matchers of a pause: `team=search {alertname="DiskFull"}`. */
export function describeSelector(pause: Pick<Pause, 'scope' | 'matchers'>): string {
  const matchers = pause.matchers ?? []
  return [describeScope(pause.scope), matchers.length > 0 ? `{${matchers.map(String).join(', ')}}` : '']
    .filter((part) => part !== '')
    .join(' ')
}

/** Matchers sorted by their text, duplicates dropped: one pause per set, however it was typed. */
export function canonicalMatchers(matchers: readonly Matcher[]): Matcher[] {
  const byText = new Map(matchers.map((m) => [String(m), m]))
  return [...byText.keys()].sort().map((text) => byText.get(text)!)
}

/** Keeps only given fields, rejecting empty values, and an empty scope unless there are matchers. */
function cleanScope(scope: PauseScope, what = 'pause', hasMatchers = false): PauseScope {
  const clean: PauseScope = {}
  for (const field of SCOPE_FIELDS) {
    const value = scope[field]
    if (value === undefined) continue
    if (value.trim() === '') throw new ConfigError(`${what}: --${field} must not be empty`)
    clean[field] = value
  }
  if (Object.keys(clean).length === 0 && !hasMatchers)
    throw new ConfigError(`${what} needs a scope: give at least one of --team, --service, --action or --matcher`)
  return clean
}
