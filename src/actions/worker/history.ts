/**
 * `nightshift.control-history`, pure: what happened to operator commands, kept. The
 * control topic is compacted — it holds each pause key's latest command, and a lift is a
 * tombstone that compaction removes with the pause — so who paused, who lifted, when and
 * why would be gone. Each command is therefore also written here as a JSON event (the
 * topic has no Avro contract, like nightshift.control):
 *
 * - `paused`: a pause was set (the pause as on the control topic; `createdBy` is who);
 * - `lifted`: `nightshift resume` lifted it (who, why, the pause as it was);
 * - `ran`: `nightshift run` asked the worker to run a request a pause had skipped (who,
 *   why, the new idempotency key, the skipped one);
 * - `answered`: a person answered an approval (the answer as on the control topic).
 *
 * Key: the pause id (`ran` without a known pause: `run/<fingerprint>`; `answered`: the
 * answer's key `approval/<id>`), so one pause's events stay in order in one partition;
 * readers sort by `at` across partitions.
 * `nightshift pauses --all` folds the events into {@link PauseHistoryEntry}s.
 */
import { formatDurationShort } from '../../config/duration'
import { describeError } from '../../errors'
import type { InRecord, OutRecord } from '../../kafka'
import { APPROVAL_KEY_PREFIX, decodeAnswerRecord, type ApprovalAnswer } from './approvals'
import { pauseFromJson, pauseToJson, type PauseJson } from './control'
import { describeSelector, type Pause } from './pause'

/** A pause was set. */
export interface PausedEvent {
  event: 'paused'
  at: number
  pause: PauseJson
}

/** A pause was lifted by `nightshift resume`. */
export interface LiftedEvent {
  event: 'lifted'
  at: number
  by: string | null
  reason: string | null
  /** The pause as it was when lifted. */
  pause: PauseJson
}

/** A request skipped by a pause was run by hand (`nightshift run`). */
export interface RanEvent {
  event: 'ran'
  at: number
  by: string
  reason: string
  action: string
  fingerprint: string
  /** The new request's idempotency key. */
  idempotencyKey: string
  /** The idempotency key of the outcome that was skipped_paused. */
  skipped: string
  /** The id of the pause that skipped it, when the outcome says. */
  pause: string | null
}

/** A person answered an approval (`nightshift approve|deny`, the HTTP API, Slack). */
export interface AnsweredEvent {
  event: 'answered'
  at: number
  answer: ApprovalAnswer
}

export type HistoryEvent = PausedEvent | LiftedEvent | RanEvent | AnsweredEvent

/** The history record of `event` on `topic` (the prefixed nightshift.control-history); its timestamp is `at`. */
export function historyRecord(event: HistoryEvent, topic: string): OutRecord & { key: string } {
  const key =
    event.event === 'ran'
      ? (event.pause ?? `run/${event.fingerprint}`)
      : event.event === 'answered'
        ? `${APPROVAL_KEY_PREFIX}${event.answer.id}`
        : event.pause.id
  return { topic, key, value: Buffer.from(JSON.stringify(event), 'utf8'), timestamp: String(event.at) }
}

/** The `paused` event of a pause just set. */
export function pausedEvent(pause: Pause): PausedEvent {
  return { event: 'paused', at: pause.createdAt, pause: pauseToJson(pause) }
}

/** The `lifted` event of `pause`, lifted at `at` by `by` because of `reason`. */
export function liftedEvent(pause: Pause, at: number, by: string | null, reason: string | null): LiftedEvent {
  return { event: 'lifted', at, by, reason, pause: pauseToJson(pause) }
}

/** A history record decoded; what is not an event of this version comes back with why. */
export type DecodedHistory = { ok: true; event: HistoryEvent } | { ok: false; reason: string }

const isString = (v: unknown): v is string => typeof v === 'string'
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v)
const orNull = (v: unknown): v is string | null => v === null || isString(v)

/** Decodes one history record without throwing. */
export function decodeHistoryRecord(record: Pick<InRecord, 'value'>): DecodedHistory {
  if (record.value === null) return { ok: false, reason: 'no value' }
  let json: unknown
  try {
    json = JSON.parse(record.value.toString('utf8'))
  } catch (err) {
    return { ok: false, reason: `value is not JSON: ${describeError(err)}` }
  }
  const e = json as Record<string, unknown> | null
  if (e === null || typeof e !== 'object' || !isTime(e.at)) return { ok: false, reason: 'not an event with a time' }
  switch (e.event) {
    case 'paused':
    case 'lifted': {
      const decoded = pauseFromJson(e.pause)
      if (!decoded.ok) return { ok: false, reason: `pause: ${decoded.reason}` }
      const pause = decoded.pause
      if (e.event === 'paused') return { ok: true, event: { event: 'paused', at: e.at, pause: pauseToJson(pause) } }
      if (!orNull(e.by) || !orNull(e.reason)) return { ok: false, reason: 'lifted: by and reason must be text or null' }
      return { ok: true, event: { event: 'lifted', at: e.at, by: e.by, reason: e.reason, pause: pauseToJson(pause) } }
    }
    case 'ran': {
      const { by, reason, action, fingerprint, idempotencyKey, skipped, pause } = e
      if (![by, reason, action, fingerprint, idempotencyKey, skipped].every(isString) || !orNull(pause))
        return { ok: false, reason: 'ran: a field is missing or not text' }
      return {
        ok: true,
        event: {
          event: 'ran',
          at: e.at,
          by: by as string,
          reason: reason as string,
          action: action as string,
          fingerprint: fingerprint as string,
          idempotencyKey: idempotencyKey as string,
          skipped: skipped as string,
          pause,
        },
      }
    }
    case 'answered': {
      const id = (e.answer as { id?: unknown } | null)?.id
      const decoded = decodeAnswerRecord({
        key: Buffer.from(`${APPROVAL_KEY_PREFIX}${String(id)}`),
        value: Buffer.from(JSON.stringify(e.answer ?? null)),
      })
      if (decoded.kind !== 'answer')
        return { ok: false, reason: `answered: ${'reason' in decoded ? decoded.reason : 'no answer'}` }
      return { ok: true, event: { event: 'answered', at: e.at, answer: decoded.answer } }
    }
    default:
      return { ok: false, reason: `unknown event ${JSON.stringify(e.event)}` }
  }
}

/** How a pause ended. */
export type PauseEnd =
  | { how: 'lifted'; at: number; by: string | null; reason: string | null }
  | { how: 'replaced'; at: number; by: string | null }
  | { how: 'expired'; at: number }

/** One pause's life, for `pauses --all`. */
export interface PauseHistoryEntry {
  pause: Pause
  /** Undefined while the pause is in force (or has not started). */
  end?: PauseEnd
  /** Requests it skipped that were run by hand. */
  runs: RanEvent[]
}

/**
 * Every pause's life, oldest first, from the history `events` (any order) and the pauses on
 * the control topic now (`current`: a pause set before the history existed, or whose event
 * was lost, still shows). A pause ends when it is lifted, when a new pause on the same key
 * replaces it, or when its time is up (expired at `until`, if that is before `now`).
 */
export function pauseHistory(
  events: readonly HistoryEvent[],
  current: readonly Pause[],
  now: number,
): PauseHistoryEntry[] {
  const sorted = [...events].sort((a, b) => a.at - b.at)
  const entries: PauseHistoryEntry[] = []
  /** The latest entry of each key that has not been lifted or replaced. */
  const open = new Map<string, PauseHistoryEntry>()
  const byPause = (json: PauseJson): Pause | undefined => {
    const decoded = pauseFromJson(json)
    return decoded.ok ? decoded.pause : undefined
  }
  for (const event of sorted) {
    if (event.event === 'answered') continue // approvals' history, not a pause's
    if (event.event === 'ran') {
      const entry = event.pause === null ? undefined : (open.get(event.pause) ?? lastOf(entries, event.pause))
      if (entry) entry.runs.push(event)
      continue
    }
    const pause = byPause(event.pause)
    if (!pause) continue
    const before = open.get(pause.id)
    if (event.event === 'paused') {
      if (before && before.pause.createdAt === pause.createdAt) continue // the same pause written twice
      if (before) before.end = { how: 'replaced', at: event.at, by: pause.createdBy ?? null }
      const entry: PauseHistoryEntry = { pause, runs: [] }
      entries.push(entry)
      open.set(pause.id, entry)
      continue
    }
    const lifted: PauseEnd = { how: 'lifted', at: event.at, by: event.by, reason: event.reason }
    if (before && before.pause.createdAt === pause.createdAt) {
      before.end = lifted
    } else {
      // Set before the history existed (or its event was lost): known from the lift.
      if (before) before.end = { how: 'replaced', at: pause.createdAt, by: pause.createdBy ?? null }
      entries.push({ pause, end: lifted, runs: [] })
    }
    open.delete(pause.id)
  }
  for (const pause of current) {
    const known = open.get(pause.id)
    if (known && known.pause.createdAt === pause.createdAt) continue
    if (known) known.end = { how: 'replaced', at: pause.createdAt, by: pause.createdBy ?? null }
    const entry: PauseHistoryEntry = { pause, runs: [] }
    entries.push(entry)
    open.set(pause.id, entry)
  }
  for (const entry of entries) {
    // A pause replaced after its time was up had expired first; a lift is kept (who cleaned up, and why).
    const replacedLate = entry.end?.how === 'replaced' && entry.end.at > entry.pause.until
    if ((!entry.end || replacedLate) && entry.pause.until <= now) entry.end = { how: 'expired', at: entry.pause.until }
  }
  return entries.sort((a, b) => a.pause.createdAt - b.pause.createdAt || (a.pause.id < b.pause.id ? -1 : 1))
}

function lastOf(entries: readonly PauseHistoryEntry[], id: string): PauseHistoryEntry | undefined {
  for (let i = entries.length - 1; i >= 0; i--) if (entries[i]!.pause.id === id) return entries[i]
  return undefined
}

/**
 * The lines of one pause's life:
 * ```
 * team=search: deploy freeze
 *   paused by alice at 2026-01-05T10:00:00.000Z for 2h (until 2026-01-05T12:00:00.000Z)
 *   lifted by bob at 2026-01-05T11:30:22.000Z, 29m38s before its end: fixed
 *   run by hand: webhook for 3f9c… by bob at 2026-01-05T11:31:00.000Z: re-run the skipped cleanup
 * ```
 */
export function describeHistoryEntry(entry: PauseHistoryEntry, now: number): string[] {
  const { pause, end } = entry
  const notes = pause.escalate ? ' (pages on skip)' : ''
  const lines = [`${describeSelector(pause)}: ${pause.reason}${notes}`]
  lines.push(
    `  paused by ${pause.createdBy ?? 'someone unknown'} at ${iso(pause.createdAt)} for ${formatDurationShort(pause.until - pause.createdAt)} (until ${iso(pause.until)})`,
  )
  if (!end) {
    lines.push(
      now < pause.createdAt
        ? `  starts in ${formatDurationShort(pause.createdAt - now)}`
        : `  in force, ${formatDurationShort(pause.until - now)} left`,
    )
  } else if (end.how === 'lifted') {
    const early =
      end.at < pause.until
        ? `${formatDurationShort(pause.until - end.at)} before its end`
        : `after it had ended at ${iso(pause.until)}`
    lines.push(
      `  lifted by ${end.by ?? 'someone unknown'} at ${iso(end.at)}, ${early}${end.reason ? `: ${end.reason}` : ''}`,
    )
  } else if (end.how === 'replaced') {
    lines.push(`  replaced at ${iso(end.at)} by a new pause on the same scope${end.by ? ` (by ${end.by})` : ''}`)
  } else {
    lines.push(`  ended at ${iso(end.at)} (its time was up; not lifted)`)
  }
  for (const run of entry.runs) {
    lines.push(
      `  run by hand: ${run.action} for ${run.fingerprint} by ${run.by} at ${iso(run.at)}: ${run.reason} (key ${run.idempotencyKey})`,
    )
  }
  return lines
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}
