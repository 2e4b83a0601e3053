/**
 * The `nightshift.control` topic: operator commands, one per key, compacted so the topic
 * holds the latest command of each key. Pauses are the only commands so far:
 *
 * - key `pause/<describeSelector(pause)>` (e.g. `pause/team=payments service=checkout`, or
 *   `pause/team=search {alertname="DiskFull"}` with matchers), so there is one pause per
 *   exact scope and matcher set (matchers sorted: their order does not matter) and a new
 *   pause on the same ones replaces the old one;
 * - value: the {@link Pause} as JSON (the topic has no Avro contract; matchers as their
 *   text), its `id` being the key; a tombstone (null value) lifts it.
 *
 * Workers follow the topic with a TopicTail into a {@link PauseBoard}; the CLI reads it
 * once with readTopic. What happened to each pause is also written to
 * `nightshift.control-history` (history.ts), which is not compacted.
 */
import Ajv, { type ValidateFunction } from 'ajv'
import { ConfigError, describeError } from '../../errors'
import type { InRecord, OutRecord } from '../../kafka'
import type { Logger } from '../../log'
import { parseMatcher, type Matcher } from '../../matchers'
import {
  activePause,
  canonicalMatchers,
  describeSelector,
  isActive,
  type PausableRequest,
  type Pause,
  type PauseScope,
} from './pause'

/** Every pause key starts with this; other prefixes are other (future) commands. */
export const PAUSE_KEY_PREFIX = 'pause/'

const SCOPE_FIELDS = ['team', 'service', 'action'] as const

/**
 * The control-topic key (and the {@link Pause} id) of a pause on exactly `scope` and
 * `matchers` (in any order). Scope values may not contain whitespace: fields are separated
 * by a space, so a value with one could make two different scopes share a key (and a
 * resume of one lift the other). Matchers come last, in braces, sorted by their text.
 * @throws ConfigError naming the flag whose value is blank or has whitespace.
 */
export function pauseKey(scope: PauseScope, matchers: readonly Matcher[] = []): string {
  for (const field of SCOPE_FIELDS) {
    const value = scope[field]
    if (value === undefined) continue
    if (value.trim() === '') throw new ConfigError(`--${field} must not be empty`)
    if (/\s/.test(value)) throw new ConfigError(`--${field} must be a single word without spaces, got "${value}"`)
  }
  return `${PAUSE_KEY_PREFIX}${describeSelector({ scope, matchers: canonicalMatchers(matchers) })}`
}

/** A pause as it is written (JSON): matchers as their text. */
export interface PauseJson {
  id: string
  scope: PauseScope
  matchers?: string[]
  reason: string
  createdBy?: string
  createdAt: number
  until: number
  escalate: boolean
}

/** The JSON of `pause`: only the known fields, so that what we write always passes the strict decode. */
export function pauseToJson(pause: Pause): PauseJson {
  const value: PauseJson = {
    id: pause.id,
    scope: Object.fromEntries(
      SCOPE_FIELDS.flatMap((f) => (pause.scope[f] === undefined ? [] : [[f, pause.scope[f]]])),
    ) as PauseScope,
    reason: pause.reason,
    createdAt: pause.createdAt,
    until: pause.until,
    escalate: pause.escalate,
  }
  if (pause.matchers !== undefined && pause.matchers.length > 0) value.matchers = pause.matchers.map(String)
  if (pause.createdBy !== undefined) value.createdBy = pause.createdBy
  return value
}

/**
 * The record that publishes `pause` to `topic` (the prefixed `nightshift.control`). Its
 * timestamp is the pause's createdAt.
 * @throws RangeError when the pause's id is not its key (a pause not made for the topic).
 */
export function pauseRecord(pause: Pause, topic: string): OutRecord & { key: string } {
  const key = pauseKey(pause.scope, pause.matchers)
  if (pause.id !== key) throw new RangeError(`pause id "${pause.id}" must be its control key "${key}"`)
  return {
    topic,
    key,
    value: Buffer.from(JSON.stringify(pauseToJson(pause)), 'utf8'),
    timestamp: String(pause.createdAt),
  }
}

/** The tombstone that lifts a pause: given its key (a {@link Pause}'s id), or its scope when it has no matchers. */
export function resumeRecord(pause: string | PauseScope, topic: string): OutRecord & { key: string } {
  const key = typeof pause === 'string' ? pause : pauseKey(pause)
  if (!key.startsWith(PAUSE_KEY_PREFIX)) throw new RangeError(`"${key}" is not a pause key`)
  return { topic, key, value: null }
}

/** What one control record means, decoded; see {@link decodeControlRecord}. */
export type ControlCommand =
  | { kind: 'pause'; key: string; pause: Pause }
  | { kind: 'lift'; key: string }
  /** A key this version does not know (null, or another command such as `dryrun/…`). */
  | { kind: 'unknown'; key: string | null }
  | { kind: 'malformed'; key: string; reason: string }

const nonEmpty = { type: 'string', minLength: 1 }

/** The JSON a pause is written as. Unknown fields are refused, as in every config. */
const PAUSE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'scope', 'reason', 'createdAt', 'until', 'escalate'],
  properties: {
    id: nonEmpty,
    scope: {
      type: 'object',
      additionalProperties: false,
      properties: { team: nonEmpty, service: nonEmpty, action: nonEmpty },
    },
    matchers: { type: 'array', minItems: 1, items: nonEmpty },
    reason: nonEmpty,
    createdBy: nonEmpty,
    createdAt: { type: 'integer' },
    until: { type: 'integer' },
    escalate: { type: 'boolean' },
  },
} as const

/** Compiled once: a validator is a constant, like a compiled regex (its `errors` are read right after each call). */
const checkPause: ValidateFunction<PauseJson> = new Ajv({ allErrors: false, strict: true }).compile<PauseJson>(
  PAUSE_SCHEMA,
)

/**
 * Decodes a control record without throwing: a value that is not a valid pause for its
 * key (bad JSON, a missing or unknown field, an id or scope that is not the key's,
 * until ≤ createdAt) is `malformed`, with the reason.
 */
export function decodeControlRecord(record: Pick<InRecord, 'key' | 'value'>): ControlCommand {
  const key = record.key === null ? null : record.key.toString('utf8')
  if (key === null || !key.startsWith(PAUSE_KEY_PREFIX)) return { kind: 'unknown', key }
  if (record.value === null) return { kind: 'lift', key }
  let json: unknown
  try {
    json = JSON.parse(record.value.toString('utf8'))
  } catch (err) {
    return { kind: 'malformed', key, reason: `value is not JSON: ${describeError(err)}` }
  }
  const decoded = pauseFromJson(json, key)
  return decoded.ok ? { kind: 'pause', key, pause: decoded.pause } : { kind: 'malformed', key, reason: decoded.reason }
}

/**
 * A pause from its JSON (control or history record), checked: every field known and of its
 * type, matchers that parse, an id that is the key of its scope and matchers (and
 * `expectedKey`, when given), until after createdAt. Never throws: what is wrong comes back
 * as `{ reason }`.
 */
export function pauseFromJson(
  json: unknown,
  expectedKey?: string,
): { ok: true; pause: Pause } | { ok: false; reason: string } {
  if (!checkPause(json)) {
    const first = checkPause.errors?.[0]
    const where = first?.instancePath ? first.instancePath : 'value'
    const extra =
      first?.keyword === 'additionalProperties'
        ? ` (${String((first.params as { additionalProperty?: unknown }).additionalProperty)})`
        : ''
    return { ok: false, reason: `${where} ${first?.message ?? 'is invalid'}${extra}` }
  }
  if (expectedKey !== undefined && json.id !== expectedKey)
    return { ok: false, reason: `id "${json.id}" is not the record's key` }
  let matchers: Matcher[]
  try {
    matchers = (json.matchers ?? []).map(parseMatcher)
  } catch (err) {
    return { ok: false, reason: `matchers: ${describeError(err)}` }
  }
  if (Object.keys(json.scope).length === 0 && matchers.length === 0)
    return { ok: false, reason: 'scope: a pause needs a scope or matchers' }
  let selectorKey: string
  try {
    selectorKey = pauseKey(json.scope, matchers)
  } catch (err) {
    return { ok: false, reason: `scope: ${describeError(err)}` }
  }
  if (selectorKey !== json.id)
    return {
      ok: false,
      reason: `scope ${describeSelector({ scope: json.scope, matchers })} does not belong to the key`,
    }
  if (json.until <= json.createdAt)
    return { ok: false, reason: `until (${json.until}) is not after createdAt (${json.createdAt})` }
  const pause: Pause = {
    id: json.id,
    scope: json.scope,
    reason: json.reason,
    createdAt: json.createdAt,
    until: json.until,
    escalate: json.escalate,
  }
  if (matchers.length > 0) pause.matchers = canonicalMatchers(matchers)
  if (json.createdBy !== undefined) pause.createdBy = json.createdBy
  return { ok: true, pause }
}

/** What {@link PauseBoard.apply} did with a record. */
export type BoardChange =
  | { kind: 'paused'; pause: Pause; replaced?: Pause }
  | { kind: 'lifted'; key: string; pause?: Pause }
  | { kind: 'ignored'; key: string | null }
  | { kind: 'malformed'; key: string; reason: string; dropped?: Pause }

/** Sorts by end, then id: the order `nightshift pauses` prints. */
function byUntil(a: Pause, b: Pause): number {
  return a.until - b.until || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/**
 * The pauses of the control topic as of the records applied so far, in memory. Feed it
 * every record of the topic in log order (a TopicTail, or readTopic's result).
 *
 * Not size-bounded on purpose: it holds one entry per key of a compacted topic, each key
 * written by a person through the CLI; evicting an entry would silently resume
 * automation. Expired pauses stay until their key is tombstoned (`nightshift resume`).
 */
export class PauseBoard {
  private readonly pauses = new Map<string, Pause>()
  private readonly log: Logger

  constructor(logger: Logger) {
    this.log = logger.child({ module: 'pause-board' })
  }

  /**
   * Applies one control record: a pause replaces any pause of its key, a tombstone lifts
   * it, keys of other commands are ignored. A malformed value is logged and not applied,
   * and the key's earlier pause is dropped too: the malformed record is now the key's
   * latest value, and once compaction runs it is all a new reader sees, so keeping the
   * older pause would make workers disagree depending on when they started.
   */
  apply(record: InRecord): BoardChange {
    const command = decodeControlRecord(record)
    switch (command.kind) {
      case 'unknown':
        this.log.debug(
          { topic: record.topic, partition: record.partition, offset: record.offset, key: command.key },
          'ignoring control record of an unknown command',
        )
        return { kind: 'ignored', key: command.key }
      case 'lift': {
        const pause = this.pauses.get(command.key)
        this.pauses.delete(command.key)
        return pause ? { kind: 'lifted', key: command.key, pause } : { kind: 'lifted', key: command.key }
      }
      case 'malformed': {
        const dropped = this.pauses.get(command.key)
        this.pauses.delete(command.key)
        this.log.error(
          {
            topic: record.topic,
            partition: record.partition,
            offset: record.offset,
            key: command.key,
            reason: command.reason,
            dropped: dropped?.id,
          },
          'ignoring malformed control record',
        )
        return dropped
          ? { kind: 'malformed', key: command.key, reason: command.reason, dropped }
          : { kind: 'malformed', key: command.key, reason: command.reason }
      }
      case 'pause': {
        const replaced = this.pauses.get(command.key)
        this.pauses.set(command.key, command.pause)
        return replaced ? { kind: 'paused', pause: command.pause, replaced } : { kind: 'paused', pause: command.pause }
      }
    }
  }

  /** Every pause on the board, expired ones included, by end then id. */
  all(): Pause[] {
    return [...this.pauses.values()].sort(byUntil)
  }

  /** The pauses in force at `now`, by end then id. */
  active(now: number): Pause[] {
    return this.all().filter((p) => isActive(p, now))
  }

  /** The pause that stops `request` at `now` (see activePause), if any. */
  pauseFor(request: PausableRequest, now: number): Pause | undefined {
    return activePause([...this.pauses.values()], request, now)
  }
}
