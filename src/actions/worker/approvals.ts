/**
 * Approvals on `nightshift.control`, pure: a person's answer to a request that waits for
 * one (an `approval:` hold, decide.ts). Every answer — from the CLI, the HTTP API or a
 * Slack button — is one control record:
 *
 * - key `approval/<id>`, where the id is {@link approvalId} of the request's ledger key
 *   (12 hex digits, short enough to type: `nightshift approve 3f9a2c81d04e`);
 * - value: the {@link ApprovalAnswer} as JSON (no Avro contract, like pauses).
 *
 * The first answer of an id wins: the {@link ApprovalBoard} keeps it and ignores later
 * ones, and whoever writes an answer checks the board first so that a second person is
 * told "already approved by … at …" instead of writing (see answers.ts). A tombstone is
 * never written for an answer: it stays the key's value, so a worker that starts after
 * the answer still finds it.
 */
import { createHash } from 'node:crypto'
import Ajv, { type ValidateFunction } from 'ajv'
import { describeError } from '../../errors'
import type { InRecord, OutRecord } from '../../kafka'

/** Every approval key starts with this. */
export const APPROVAL_KEY_PREFIX = 'approval/'

export type ApprovalDecision = 'approve' | 'deny'

/** Where an answer came from. */
export type ApprovalChannel = 'cli' | 'http' | 'slack'

/** A person's answer to an approval. */
export interface ApprovalAnswer {
  id: string
  decision: ApprovalDecision
  /** Who answered (a login, a Slack user). */
  by: string
  /** Why; empty when none was given. */
  reason: string
  /** When, ms since the epoch. */
  at: number
  via: ApprovalChannel
  /** Where from, when known: a host, a client address, a Slack team/channel. */
  from?: string
}

/** The approval id of a request's ledger key: 12 hex digits of its SHA-256. */
export function approvalId(ledgerKey: string): string {
  return createHash('sha256').update(ledgerKey).digest('hex').slice(0, 12)
}

/** true for a string shaped like an approval id. */
export function isApprovalId(text: string): boolean {
  return /^[0-9a-f]{12}$/.test(text)
}

/** The control record of `answer` on `topic` (the prefixed nightshift.control); its timestamp is `at`. */
export function answerRecord(answer: ApprovalAnswer, topic: string): OutRecord & { key: string } {
  if (!isApprovalId(answer.id)) throw new RangeError(`"${answer.id}" is not an approval id (12 hex digits)`)
  const value: ApprovalAnswer = {
    id: answer.id,
    decision: answer.decision,
    by: answer.by,
    reason: answer.reason,
    at: answer.at,
    via: answer.via,
  }
  if (answer.from !== undefined) value.from = answer.from
  return {
    topic,
    key: `${APPROVAL_KEY_PREFIX}${answer.id}`,
    value: Buffer.from(JSON.stringify(value), 'utf8'),
    timestamp: String(answer.at),
  }
}

const nonEmpty = { type: 'string', minLength: 1 }

const ANSWER_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'decision', 'by', 'reason', 'at', 'via'],
  properties: {
    id: { type: 'string', pattern: '^[0-9a-f]{12}$' },
    decision: { enum: ['approve', 'deny'] },
    by: nonEmpty,
    reason: { type: 'string' },
    at: { type: 'integer' },
    via: { enum: ['cli', 'http', 'slack'] },
    from: nonEmpty,
  },
} as const

const checkAnswer: ValidateFunction<ApprovalAnswer> = new Ajv({
  allErrors: false,
  strict: true,
}).compile<ApprovalAnswer>(ANSWER_SCHEMA)

/** What one control record says about approvals. */
export type AnswerCommand =
  | { kind: 'answer'; answer: ApprovalAnswer }
  /** Not an approval key (a pause, say). */
  | { kind: 'other' }
  | { kind: 'malformed'; key: string; reason: string }

/** Decodes a control record without throwing. */
export function decodeAnswerRecord(record: Pick<InRecord, 'key' | 'value'>): AnswerCommand {
  const key = record.key === null ? null : record.key.toString('utf8')
  if (key === null || !key.startsWith(APPROVAL_KEY_PREFIX)) return { kind: 'other' }
  if (record.value === null) return { kind: 'malformed', key, reason: 'an answer cannot be withdrawn (tombstone)' }
  let json: unknown
  try {
    json = JSON.parse(record.value.toString('utf8'))
  } catch (err) {
    return { kind: 'malformed', key, reason: `value is not JSON: ${describeError(err)}` }
  }
  if (!checkAnswer(json)) {
    const first = checkAnswer.errors?.[0]
    return { kind: 'malformed', key, reason: `${first?.instancePath || 'value'} ${first?.message ?? 'is invalid'}` }
  }
  if (`${APPROVAL_KEY_PREFIX}${json.id}` !== key) return { kind: 'malformed', key, reason: 'id is not the key' }
  return { kind: 'answer', answer: json }
}

/** What {@link ApprovalBoard.apply} did with a record. */
export type AnswerChange =
  | { kind: 'answered'; answer: ApprovalAnswer }
  /** A later answer of an id already answered: changes nothing. */
  | { kind: 'late'; answer: ApprovalAnswer; first: ApprovalAnswer }
  | { kind: 'ignored' }
  | { kind: 'malformed'; key: string; reason: string }

/**
 * The approval answers of the control topic, in memory, first answer per id. One entry
 * per answered approval: a person's click each, so not bounded (as the pause board).
 */
export class ApprovalBoard {
  private readonly answers = new Map<string, ApprovalAnswer>()

  apply(record: Pick<InRecord, 'key' | 'value'>): AnswerChange {
    const command = decodeAnswerRecord(record)
    if (command.kind === 'other') return { kind: 'ignored' }
    if (command.kind === 'malformed') return command
    const first = this.answers.get(command.answer.id)
    if (first) return { kind: 'late', answer: command.answer, first }
    this.answers.set(command.answer.id, command.answer)
    return { kind: 'answered', answer: command.answer }
  }

  answerFor(id: string): ApprovalAnswer | undefined {
    return this.answers.get(id)
  }
}

/** "approved by alice at 2026-…Z (cli): reason" — for outcomes and the second answerer. */
export function describeAnswer(answer: ApprovalAnswer): string {
  const verb = answer.decision === 'approve' ? 'approved' : 'denied'
  const reason = answer.reason === '' ? '' : `: ${answer.reason}`
  return `${verb} by ${answer.by} at ${new Date(answer.at).toISOString()} (${answer.via})${reason}`
}
