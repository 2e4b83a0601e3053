/**
 * Answering an approval, for every channel (the CLI, the HTTP API, a Slack button): the
 * checks before an answer is written, the write, and the list of approvals still open.
 *
 * An answer is written only for a request that awaits one: its latest ledger entry
 * (`nightshift.action-ledger`, keyed by the request's ledger key, whose
 * {@link approvalId} is the id) is `held` with that `approvalId`. Before that the answer
 * board of `nightshift.control` is read, and a second answer is refused with the first
 * one: the first answer wins, and writing a later one under the same compacted key would
 * replace it once the topic is compacted.
 *
 * Each answer is also written to `nightshift.control-history` as an `answered` event
 * (key `approval/<id>`), which the control topic cannot keep apart from the answer
 * itself.
 *
 * The functions here read whole topics: the ledger to a barrier (it is written in
 * transactions), the control topic to its end offsets. The pure parts
 * ({@link approvalState}, {@link pendingFrom}, …) take what was read, so they are
 * tested without Kafka.
 */
import type { ActionRequestRecord, LedgerEntry } from '../../contracts/records'
import { describeError } from '../../errors'
import { RecordProducer, readTopic, readTopicToBarrier, type KafkaSettings, type OutRecord } from '../../kafka'
import type { Registry } from '../../kafka'
import type { TopicNames } from '../../topology/names'
import { ApprovalBoard, answerRecord, approvalId, describeAnswer, type ApprovalAnswer } from './approvals'
import { historyRecord } from './history'

/** The latest ledger entry of each ledger key (null: deleted), as read from the topic. */
export type LedgerView = ReadonlyMap<string, LedgerEntry | null>

/** Where an approval id stands before an answer is written. */
export type ApprovalState =
  /** Awaiting an answer: `entry` is the held entry. */
  | { state: 'pending'; key: string; entry: LedgerEntry }
  /** Answered already; the answer may not have been acted on yet. */
  | { state: 'answered'; first: ApprovalAnswer }
  /** The request is over (resolved, timed out, …) without an answer: `entry` says how. */
  | { state: 'closed'; key: string; entry: LedgerEntry }
  /** No request of the ledger has this id, or its approval was not asked yet. */
  | { state: 'unknown' }

/** What {@link submitAnswer} did. */
export type SubmitResult =
  | { status: 'recorded'; answer: ApprovalAnswer }
  | { status: 'already'; first: ApprovalAnswer }
  | { status: 'closed'; entry: LedgerEntry }
  | { status: 'unknown' }

/** The control-history record of `answer` on `topic`, keyed like the answer. */
export function answeredHistoryRecord(answer: ApprovalAnswer, topic: string): OutRecord & { key: string } {
  return historyRecord({ event: 'answered', at: answer.at, answer }, topic)
}

/**
 * Where approval `id` stands, from the ledger and the answers. An answer comes first:
 * once answered, the request may well have completed since, and the second person is
 * told who answered. A key of the ledger is the request's whose {@link approvalId} is
 * `id`, whatever its entry says now.
 */
export function approvalState(id: string, ledger: LedgerView, board: Pick<ApprovalBoard, 'answerFor'>): ApprovalState {
  const first = board.answerFor(id)
  if (first) return { state: 'answered', first }
  for (const [key, entry] of ledger) {
    if (entry === null || approvalId(key) !== id) continue
    if (entry.kind === 'held') return entry.approvalId === id ? { state: 'pending', key, entry } : { state: 'unknown' }
    // completed, resolved, or started without an answer (onTimeout: run): nothing to approve any more.
    return { state: 'closed', key, entry }
  }
  return { state: 'unknown' }
}

/** "completed (cancelled_resolved) at 2026-…Z" — how a request that no longer awaits an answer ended. */
export function describeClosed(entry: LedgerEntry): string {
  const when = new Date(entry.at).toISOString()
  if (entry.kind === 'completed') return `completed (${entry.status ?? 'no status'}) at ${when}`
  if (entry.kind === 'resolved') return `closed at ${when}: the alert resolved before it ran`
  if (entry.kind === 'started') return `started at ${when}, without waiting for an answer`
  return `${entry.kind} at ${when}`
}

/** The message a second answerer gets: "already approved by alice at … (cli): reason". */
export function describeAlready(first: ApprovalAnswer): string {
  return `already ${describeAnswer(first)}`
}

/** An approval still open: what would run, on what, since when, and any answer not yet acted on. */
export interface PendingApproval {
  id: string
  /** The request's ledger key (its idempotency key). */
  ledgerKey: string
  action: string
  route: string
  params: Record<string, string>
  team: string
  service: string | null
  alertname: string | null
  fingerprint: string
  /** When the approval was asked (the held entry's time). */
  askedAt: number
  /** When it times out unanswered (null: not said). */
  timeoutAt: number | null
  /** True when `timeoutAt` has passed and the worker has not closed it yet. */
  overdue: boolean
  /** An answer given that the worker has not acted on yet. */
  answer?: ApprovalAnswer
}

/** The request of a held entry (its `request` JSON), or undefined when it is missing or not JSON. */
function heldRequest(entry: LedgerEntry): Partial<ActionRequestRecord> | undefined {
  if (!entry.request) return undefined
  try {
    const json: unknown = JSON.parse(entry.request)
    return json !== null && typeof json === 'object' ? (json as Partial<ActionRequestRecord>) : undefined
  } catch {
    return undefined
  }
}

const textOr = (value: unknown, fallback: string): string => (typeof value === 'string' ? value : fallback)

function stringMap(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object') return {}
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'))
}

/**
 * The approvals still open in `ledger`, oldest first: held entries with an approval id.
 * What would run comes from the held request (the entry's own fields when it cannot be
 * read); an answer on the board that the worker has not acted on yet is shown with it.
 */
export function pendingFrom(
  ledger: LedgerView,
  board: Pick<ApprovalBoard, 'answerFor'>,
  now: number,
): PendingApproval[] {
  const pending: PendingApproval[] = []
  for (const [key, entry] of ledger) {
    if (entry === null || entry.kind !== 'held' || !entry.approvalId) continue
    const request = heldRequest(entry)
    const alert = request?.alert
    const labels = stringMap(alert?.alert?.labels)
    const timeoutAt = entry.approvalTimeoutAt ?? null
    const answer = board.answerFor(entry.approvalId)
    pending.push({
      id: entry.approvalId,
      ledgerKey: key,
      action: textOr(request?.action, entry.action),
      route: textOr(request?.route, entry.route),
      params: request ? stringMap(request.params) : {},
      team: textOr(alert?.team, entry.team),
      service: alert && (typeof alert.service === 'string' || alert.service === null) ? alert.service : entry.service,
      alertname: labels.alertname ?? null,
      fingerprint: textOr(alert?.alert?.fingerprint, entry.fingerprint),
      askedAt: entry.at,
      timeoutAt,
      overdue: timeoutAt !== null && timeoutAt <= now,
      ...(answer ? { answer } : {}),
    })
  }
  return pending.sort((a, b) => a.askedAt - b.askedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/** Where the functions below read and write: the (prefixed) topic names they need. */
export type AnswerTopics = Pick<TopicNames, 'control' | 'controlHistory' | 'ledger'>

interface ReadArgs {
  kafka: KafkaSettings
  /** How long each topic may take to read (default: the readers'). */
  readTimeoutMs?: number
}

/** The answers on the control topic now. */
export async function readAnswers(args: ReadArgs & { topic: string }): Promise<ApprovalBoard> {
  const board = new ApprovalBoard()
  const read = args.readTimeoutMs === undefined ? {} : { timeoutMs: args.readTimeoutMs }
  for (const record of await readTopic(args.kafka, args.topic, read)) board.apply(record)
  return board
}

/**
 * The latest entry of each key of the ledger topic. Only `held` and `completed`/`resolved`
 * entries matter here, but every entry is decoded: a later entry of a key replaces an
 * earlier one whatever its kind. An entry that does not decode is reported to `skipped`
 * and leaves the key as it was.
 */
export async function readLedger(
  args: ReadArgs & { registry: Registry; topic: string; skipped?: (where: string, reason: string) => void },
): Promise<Map<string, LedgerEntry | null>> {
  const read = args.readTimeoutMs === undefined ? {} : { timeoutMs: args.readTimeoutMs }
  const ledger = new Map<string, LedgerEntry | null>()
  for (const record of await readTopicToBarrier(args.kafka, args.topic, read)) {
    if (record.key === null) continue
    const key = record.key.toString('utf8')
    if (record.value === null) {
      ledger.set(key, null)
      continue
    }
    try {
      ledger.set(key, (await args.registry.decode(record.value)) as LedgerEntry)
    } catch (err) {
      args.skipped?.(`${record.topic}[${record.partition}]@${record.offset}`, describeError(err))
    }
  }
  return ledger
}

export interface SubmitAnswerArgs extends ReadArgs {
  registry: Registry
  topics: AnswerTopics
  answer: ApprovalAnswer
  /** Where the approval stands, when the caller has read it already (tests); read here otherwise. */
  pending?: ApprovalState
}

/**
 * Writes `answer` if its approval awaits one: the `answered` history event and the
 * answer record, in that order, in one send (as pauses: what is in force is never
 * missing from the history). Otherwise writes nothing and says why.
 *
 * Two people answering within the same second can both pass the check; the worker's
 * board keeps the first in log order, and the second writer was told "recorded".
 */
export async function submitAnswer(args: SubmitAnswerArgs): Promise<SubmitResult> {
  const { answer, topics } = args
  const state = args.pending ?? (await approvalStateOf(args, answer.id))
  if (state.state === 'answered') return { status: 'already', first: state.first }
  if (state.state === 'closed') return { status: 'closed', entry: state.entry }
  if (state.state === 'unknown') return { status: 'unknown' }
  const records = [answeredHistoryRecord(answer, topics.controlHistory), answerRecord(answer, topics.control)]
  const producer = await RecordProducer.connect(args.kafka)
  try {
    await producer.send(records)
  } finally {
    await producer.disconnect()
  }
  return { status: 'recorded', answer }
}

/** Where approval `id` stands now, read from the control topic and the ledger. */
export async function approvalStateOf(
  args: ReadArgs & { registry: Registry; topics: AnswerTopics },
  id: string,
): Promise<ApprovalState> {
  // Both at once: each read joins a consumer group, which takes the broker's initial
  // rebalance delay (3 s by default), and Slack wants its callback answered within 3 s.
  const [board, ledger] = await Promise.all([
    readAnswers({ ...args, topic: args.topics.control }),
    readLedger({ ...args, topic: args.topics.ledger }),
  ])
  return approvalState(id, ledger, board)
}

/** The approvals still open, oldest first (see {@link pendingFrom}). */
export async function pendingApprovals(
  args: ReadArgs & {
    registry: Registry
    topics: AnswerTopics
    now: number
    skipped?: (where: string, reason: string) => void
  },
): Promise<PendingApproval[]> {
  const [board, ledger] = await Promise.all([
    readAnswers({ ...args, topic: args.topics.control }),
    readLedger({ ...args, topic: args.topics.ledger }),
  ])
  return pendingFrom(ledger, board, args.now)
}
