import { ConfigError } from '../../errors'
import { formatDurationShort } from '../../config/duration'

/**
 * Pauses, pure: `nightshift pause --team payments --for 2h --reason "..."` becomes a
 * {@link Pause} on the compacted control topic; workers ask {@link activePause} before
 * running a request (outcome `skipped_paused`), `nightshift resume` uses {@link liftPause},
 * and `nightshift pauses` prints {@link describePause}.
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
}

export interface NewPauseInput {
  scope: PauseScope
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

/** True when `pause` is in force at `now` (createdAt ≤ now < until). */
export function isActive(pause: Pause, now: number): boolean {
  return pause.createdAt <= now && now < pause.until
}

/** True when every field of the pause's scope equals the request's (a null service matches no service scope). */
export function scopeMatches(scope: PauseScope, request: PausableRequest): boolean {
  return SCOPE_FIELDS.every((field) => scope[field] === undefined || scope[field] === request[field])
}

/**
 * The pause that stops `request` at `now`, if any. When several apply, the one that ends
 * last (then the smallest id), so the reported pause is stable across workers and replays.
 */
export function activePause(pauses: readonly Pause[], request: PausableRequest, now: number): Pause | undefined {
  let best: Pause | undefined
  for (const pause of pauses) {
    if (!isActive(pause, now) || !scopeMatches(pause.scope, request)) continue
    if (!best || pause.until > best.until || (pause.until === best.until && pause.id < best.id)) best = pause
  }
  return best
}

/** Builds a validated pause starting at `now`; throws a {@link ConfigError} naming what is wrong. */
export function newPause(input: NewPauseInput): Pause {
  const scope = cleanScope(input.scope)
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
    reason,
    createdAt: input.now,
    until: input.now + input.forMs,
    escalate: input.escalate ?? false,
  }
  if (createdBy) pause.createdBy = createdBy
  return pause
}

/**
 * Removes the pauses whose scope is exactly `selector` (`resume --team payments` lifts the
 * team pause, not a pause of one of the team's services). Expired pauses are lifted too.
 */
export function liftPause(pauses: readonly Pause[], selector: PauseScope): LiftResult {
  const wanted = cleanScope(selector, 'resume')
  const remaining: Pause[] = []
  const lifted: Pause[] = []
  for (const pause of pauses) {
    const exact = SCOPE_FIELDS.every((field) => pause.scope[field] === wanted[field])
    if (exact) lifted.push(pause)
    else remaining.push(pause)
  }
  return { remaining, lifted }
}

/** One line for `nightshift pauses`: `team=payments for 1h23m more: deploy freeze (by alice)`. */
export function describePause(pause: Pause, now: number): string {
  const scope = describeScope(pause.scope)
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

/** `team=payments service=checkout`, fields in a fixed order. */
export function describeScope(scope: PauseScope): string {
  return SCOPE_FIELDS.flatMap((field) => (scope[field] === undefined ? [] : [`${field}=${scope[field]}`])).join(' ')
}

/** Keeps only given fields, rejecting empty values and an empty scope. */
function cleanScope(scope: PauseScope, what = 'pause'): PauseScope {
  const clean: PauseScope = {}
  for (const field of SCOPE_FIELDS) {
    const value = scope[field]
    if (value === undefined) continue
    if (value.trim() === '') throw new ConfigError(`${what}: --${field} must not be empty`)
    clean[field] = value
  }
  if (Object.keys(clean).length === 0)
    throw new ConfigError(`${what} needs a scope: give at least one of --team, --service or --action`)
  return clean
}
