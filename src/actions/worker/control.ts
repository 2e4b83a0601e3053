/**
 * The `nightshift.control` topic: operator commands, one per key, compacted so the topic
 * holds the latest command of each key. Pauses are the only commands so far:
 *
 * - key `pause/<describeScope(scope)>` (e.g. `pause/team=payments service=checkout`), so
 *   there is one pause per exact scope and a new pause on a scope replaces the old one;
 * - value: the {@link Pause} as JSON (the topic has no Avro contract), its `id` being the
 *   key; a tombstone (null value) lifts it.
 *
 * Workers follow the topic with a TopicTail into a {@link PauseBoard}; the CLI reads it
 * once with readTopic.
 */
import Ajv, { type ValidateFunction } from 'ajv'
import { ConfigError, describeError } from '../../errors'
import type { InRecord, OutRecord } from '../../kafka'
import type { Logger } from '../../log'
import { activePause, describeScope, isActive, type PausableRequest, type Pause, type PauseScope } from './pause'

/** Every pause key starts with this; other prefixes are other (future) commands. */
export const PAUSE_KEY_PREFIX = 'pause/'

const SCOPE_FIELDS = ['team', 'service', 'action'] as const

/**
 * The control-topic key (and the {@link Pause} id) of a pause on exactly `scope`.
 * Scope values may not contain whitespace: `describeScope` separates fields with a space,
 * so a value with one could make two different scopes share a key (and a resume of one
 * lift the other).
 * @throws ConfigError naming the flag whose value is blank or has whitespace.
 */
export function pauseKey(scope: PauseScope): string {
  for (const field of SCOPE_FIELDS) {
    const value = scope[field]
    if (value === undefined) continue
    if (value.trim() === '') throw new ConfigError(`--${field} must not be empty`)
    if (/\s/.test(value)) throw new ConfigError(`--${field} must be a single word without spaces, got "${value}"`)
  }
  return `${PAUSE_KEY_PREFIX}${describeScope(scope)}`
}

/**
 * The record that publishes `pause` to `topic` (the prefixed `nightshift.control`). Its
 * timestamp is the pause's createdAt.
 * @throws RangeError when the pause's id is not its key (a pause not made for the topic).
 */
export function pauseRecord(pause: Pause, topic: string): OutRecord & { key: string } {
  const key = pauseKey(pause.scope)
  if (pause.id !== key) throw new RangeError(`pause id "${pause.id}" must be its control key "${key}"`)
  // Only the known fields, so that what we write always passes the strict decode.
  const value: Pause = {
    id: pause.id,
    scope: Object.fromEntries(
      SCOPE_FIELDS.flatMap((f) => (pause.scope[f] === undefined ? [] : [[f, pause.scope[f]]])),
    ) as PauseScope,
    reason: pause.reason,
    createdAt: pause.createdAt,
    until: pause.until,
    escalate: pause.escalate,
  }
  if (pause.createdBy !== undefined) value.createdBy = pause.createdBy
  return { topic, key, value: Buffer.from(JSON.stringify(value), 'utf8'), timestamp: String(pause.createdAt) }
}

/** The tombstone that lifts the pause on exactly `scope`. */
export function resumeRecord(scope: PauseScope, topic: string): OutRecord & { key: string } {
  return { topic, key: pauseKey(scope), value: null }
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
      minProperties: 1,
      properties: { team: nonEmpty, service: nonEmpty, action: nonEmpty },
    },
    reason: nonEmpty,
    createdBy: nonEmpty,
    createdAt: { type: 'integer' },
    until: { type: 'integer' },
    escalate: { type: 'boolean' },
  },
} as const

/** Compiled once: a validator is a constant, like a compiled regex (its `errors` are read right after each call). */
const checkPause: ValidateFunction<Pause> = new Ajv({ allErrors: false, strict: true }).compile<Pause>(PAUSE_SCHEMA)

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
  if (!checkPause(json)) {
    const first = checkPause.errors?.[0]
    const where = first?.instancePath ? first.instancePath : 'value'
    const extra =
      first?.keyword === 'additionalProperties'
        ? ` (${String((first.params as { additionalProperty?: unknown }).additionalProperty)})`
        : ''
    return { kind: 'malformed', key, reason: `${where} ${first?.message ?? 'is invalid'}${extra}` }
  }
  if (json.id !== key) return { kind: 'malformed', key, reason: `id "${json.id}" is not the record's key` }
  let scopeKey: string
  try {
    scopeKey = pauseKey(json.scope)
  } catch (err) {
    return { kind: 'malformed', key, reason: `scope: ${describeError(err)}` }
  }
  if (scopeKey !== key)
    return { kind: 'malformed', key, reason: `scope ${describeScope(json.scope)} does not belong to the key` }
  if (json.until <= json.createdAt)
    return { kind: 'malformed', key, reason: `until (${json.until}) is not after createdAt (${json.createdAt})` }
  return { kind: 'pause', key, pause: json }
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
