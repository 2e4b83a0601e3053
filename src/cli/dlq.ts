/**
 * `nightshift dlq list | replay`: what is on nightshift.dlq, and sending dead letters'
 * original records back to the topic they came from. A dead letter is named by its
 * position on the DLQ, `<partition>:<offset>`. Replay never resends silently: it prints
 * every record it sends (or would send, with --dry-run), every letter it cannot send and
 * why, and the counts. Errors are thrown: main prints them.
 */
import type { Command } from 'commander'
import { endpointsFromEnv, kafkaSettings } from '../config/endpoints'
import { asDeadLetter } from '../contracts/dead-letter'
import type { DeadLetterRecord, SourcePosition } from '../contracts/records'
import { ConfigError, ERROR_CODES, NightshiftError, PoisonRecordError, RetriableError, describeError } from '../errors'
import {
  KafkaAdmin,
  Registry,
  RecordProducer,
  readTopicToBarrier,
  type InRecord,
  type KafkaSettings,
  type OutRecord,
} from '../kafka'
import { createLogger, type Logger } from '../log'
import { plural } from '../text'
import { topicNames } from '../topology/names'
import { escapeControl, formatKey, formatTimestamp, parsePositiveInt, utf8OrUndefined } from './tail'

/** Header a replayed record carries: the DLQ position of the letter it came from. */
export const REPLAYED_FROM_HEADER = 'nightshift-replayed-from'

/** What the commands read and write besides Kafka; tests replace them. */
export interface DlqCommandDeps {
  /** Endpoints and NIGHTSHIFT_TOPIC_PREFIX come from here (default: process.env). */
  env?: NodeJS.ProcessEnv
  /** Where the output goes (default: stdout). */
  print?: (text: string) => void
  /** The logger (default: one at --log-level on stderr). */
  logger?: Logger
  /** How long reading the DLQ may take (default: readTopicToBarrier's). */
  readTimeoutMs?: number
}

/** A DeadLetter record (schemas/dead-letter.avsc) as decoded. */
export type DeadLetterValue = DeadLetterRecord

/** One record of the DLQ: a dead letter, or why it could not be read as one. */
export interface DeadLetterEntry {
  /** `<partition>:<offset>` on the DLQ. */
  id: string
  partition: number
  offset: string
  /** The DLQ record's timestamp, ms since the epoch. */
  timestamp: number
  letter?: DeadLetterValue
  /** Set instead of `letter` when the record is not a readable DeadLetter. */
  unreadable?: string
}

/** The id of the DLQ record at `partition`:`offset`. */
export function deadLetterId(partition: number, offset: string | bigint): string {
  return `${partition}:${offset}`
}

/**
 * Parses a dead letter id, `<partition>:<offset>` (as `dlq list` prints it), into its
 * canonical form (no leading zeros).
 * @throws ConfigError naming the bad id
 */
export function parseDeadLetterId(raw: string): string {
  const m = /^\s*(\d+):(\d+)\s*$/.exec(raw)
  const partition = m ? Number(m[1]) : NaN
  if (!m || !Number.isSafeInteger(partition) || partition > 2147483647 || BigInt(m[2]!) > 9223372036854775807n) {
    throw new ConfigError(
      `--id "${escapeControl(raw)}" is not a dead letter id; expected <partition>:<offset> as \`nightshift dlq list\` prints it, e.g. 0:42`,
    )
  }
  return deadLetterId(partition, BigInt(m[2]!))
}

function failedAtOf(entry: DeadLetterEntry): number {
  return entry.letter?.failedAt ?? entry.timestamp
}

/** Oldest first (by failedAt, then DLQ position), so the newest is printed last. */
export function sortByAge(entries: readonly DeadLetterEntry[]): DeadLetterEntry[] {
  return [...entries].sort(
    (a, b) =>
      failedAtOf(a) - failedAtOf(b) ||
      a.partition - b.partition ||
      (BigInt(a.offset) < BigInt(b.offset) ? -1 : BigInt(a.offset) > BigInt(b.offset) ? 1 : 0),
  )
}

function isoOrRaw(ms: number): string {
  return formatTimestamp(String(ms))
}

function formatSource(source: SourcePosition | null): string {
  return source === null ? 'none' : `${escapeControl(source.topic)}/${source.partition}@${escapeControl(source.offset)}`
}

/** The line `dlq list` prints: `<id> <failedAt> stage=… code=… source=<topic>/<partition>@<offset> <message>`. */
export function formatDeadLetterLine(entry: DeadLetterEntry): string {
  const l = entry.letter
  if (!l)
    return `${entry.id} ${isoOrRaw(entry.timestamp)} unreadable: ${escapeControl(entry.unreadable ?? 'not a DeadLetter')}`
  return `${entry.id} ${isoOrRaw(l.failedAt)} stage=${formatKey(Buffer.from(l.stage))} code=${formatKey(Buffer.from(l.errorCode))} source=${formatSource(l.source)} ${escapeControl(l.errorMessage)}`
}

/** Bytes for JSON output: the text when they are UTF-8, and always base64. */
function bytesJson(bytes: Buffer | null): { bytes: number; utf8?: string; base64: string } | null {
  if (bytes === null) return null
  const text = utf8OrUndefined(bytes)
  return { bytes: bytes.length, ...(text === undefined ? {} : { utf8: text }), base64: bytes.toString('base64') }
}

/** The object `dlq list --json` prints for `entry`. */
export function deadLetterJson(entry: DeadLetterEntry): Record<string, unknown> {
  const l = entry.letter
  if (!l)
    return {
      id: entry.id,
      partition: entry.partition,
      offset: entry.offset,
      timestamp: isoOrRaw(entry.timestamp),
      unreadable: entry.unreadable ?? 'not a DeadLetter',
    }
  return {
    id: entry.id,
    partition: entry.partition,
    offset: entry.offset,
    failedAt: isoOrRaw(l.failedAt),
    stage: l.stage,
    code: l.errorCode,
    message: l.errorMessage,
    source: l.source,
    key: bytesJson(l.key),
    value: bytesJson(l.value),
    headers: l.headers,
  }
}

/** What `dlq list` shows: matching entries, newest last, at most `limit` (the newest). */
export function selectForList(
  entries: readonly DeadLetterEntry[],
  options: { stage?: string; limit?: number },
): { shown: DeadLetterEntry[]; matching: number } {
  const matching = sortByAge(entries).filter((e) => options.stage === undefined || e.letter?.stage === options.stage)
  const shown = options.limit === undefined ? matching : matching.slice(Math.max(0, matching.length - options.limit))
  return { shown, matching: matching.length }
}

/** The last line of `dlq list`: how many there are and how many are shown. */
export function listSummary(
  topic: string,
  shown: number,
  matching: number,
  total: number,
  stage: string | undefined,
): string {
  const of = stage === undefined ? '' : ` of stage ${stage}`
  if (matching === 0)
    return `no dead letters${of} in ${topic}${stage !== undefined && total > 0 ? ` (${total} of other stages or unreadable)` : ''}`
  if (shown < matching) return `showing the newest ${shown} of ${plural(matching, 'dead letter')}${of} in ${topic}`
  return `${plural(matching, 'dead letter')}${of} in ${topic}${stage !== undefined && total > matching ? ` (${total} in all)` : ''}`
}

/** A dead letter to send again, with the record that would be sent. */
export interface PlannedReplay {
  entry: DeadLetterEntry
  record: OutRecord & { partition: number; headers: Record<string, string> }
  /** Later dead letters that replays of this one became. */
  replayedAs: string[]
}

export interface ReplayPlan {
  send: PlannedReplay[]
  /** Chosen letters that cannot be sent, with why. */
  notReplayable: Array<{ entry: DeadLetterEntry; reason: string }>
  /** With `all`: letters left out because a replay of them is itself on the DLQ. */
  skipped: Array<{ entry: DeadLetterEntry; replayedAs: string[] }>
}

export interface ReplaySelection {
  /** Canonical ids (see {@link parseDeadLetterId}); every one must be on the DLQ. */
  ids?: readonly string[]
  /** Every dead letter (of `stage`, if given). */
  all?: boolean
  stage?: string
}

/**
 * Which dead letters `dlq replay` sends and what it sends for each: the original key,
 * value and headers to the source topic and partition, plus {@link REPLAYED_FROM_HEADER}.
 * A letter without a source (a webhook body), an unreadable one, or one whose source
 * topic no longer exists is not replayable. With `all`, a letter whose earlier replay
 * failed again (its replay is on the DLQ too) is skipped so that `--all` run twice does
 * not resend it twice; naming it with an id sends it.
 * @throws NightshiftError NOT_FOUND listing every id that is not on the DLQ
 */
export function planReplay(
  entries: readonly DeadLetterEntry[],
  selection: ReplaySelection,
  existingTopics: ReadonlySet<string>,
  dlqTopic: string,
): ReplayPlan {
  const byId = new Map(entries.map((e) => [e.id, e]))
  const replayedAs = new Map<string, string[]>()
  for (const e of sortByAge(entries)) {
    const from = e.letter?.headers[REPLAYED_FROM_HEADER]
    if (from !== undefined) replayedAs.set(from, [...(replayedAs.get(from) ?? []), e.id])
  }
  let chosen: DeadLetterEntry[]
  if (selection.all) {
    chosen = sortByAge(entries).filter((e) => selection.stage === undefined || e.letter?.stage === selection.stage)
  } else {
    const ids = [...new Set(selection.ids ?? [])]
    const unknown = ids.filter((id) => !byId.has(id))
    if (unknown.length > 0) {
      throw new NightshiftError(
        ERROR_CODES.NOT_FOUND,
        `no dead letter ${unknown.join(', ')} in ${dlqTopic} (it holds ${plural(entries.length, 'dead letter')}; see \`nightshift dlq list\`); nothing sent`,
      )
    }
    chosen = ids.map((id) => byId.get(id)!)
  }
  const plan: ReplayPlan = { send: [], notReplayable: [], skipped: [] }
  for (const entry of chosen) {
    const l = entry.letter
    const later = replayedAs.get(entry.id) ?? []
    if (!l) {
      plan.notReplayable.push({ entry, reason: `not a readable DeadLetter (${entry.unreadable ?? 'unknown shape'})` })
    } else if (l.source === null) {
      plan.notReplayable.push({
        entry,
        reason: `no source record (stage ${l.stage}: a webhook body, ${l.value === null ? 'empty' : plural(l.value.length, 'byte')}); POST the body again, it is in \`nightshift dlq list --json\``,
      })
    } else if (!existingTopics.has(l.source.topic)) {
      plan.notReplayable.push({ entry, reason: `its source topic ${l.source.topic} does not exist` })
    } else if (selection.all && later.length > 0) {
      plan.skipped.push({ entry, replayedAs: later })
    } else {
      plan.send.push({
        entry,
        replayedAs: later,
        record: {
          topic: l.source.topic,
          partition: l.source.partition,
          key: l.key,
          value: l.value,
          headers: { ...l.headers, [REPLAYED_FROM_HEADER]: entry.id },
        },
      })
    }
  }
  return plan
}

/** The lines `dlq replay` prints for `plan`: one per chosen letter, then the counts. */
export function formatReplay(plan: ReplayPlan, dryRun: boolean): string[] {
  const lines: string[] = []
  for (const { entry, record, replayedAs } of plan.send) {
    const value = record.value === null ? '∅ (tombstone)' : plural(record.value.length, 'byte')
    const again = replayedAs.length > 0 ? ` (replayed before, failed again as ${replayedAs.join(', ')})` : ''
    lines.push(
      `${dryRun ? 'would send' : 'sent'} ${entry.id} → ${escapeControl(record.topic)}/${record.partition} key=${formatKey(record.key === null ? null : Buffer.from(record.key))} value=${value} ` +
        `headers=${Object.keys(record.headers).length}${again}`,
    )
  }
  for (const { entry, reason } of plan.notReplayable) lines.push(`not replayable ${entry.id}: ${escapeControl(reason)}`)
  for (const { entry, replayedAs } of plan.skipped) {
    lines.push(
      `skipped ${entry.id}: replayed before, failed again as ${replayedAs.join(', ')} (replay that one, or name ${entry.id} with --id)`,
    )
  }
  const topics = [...new Set(plan.send.map((p) => p.record.topic))].map(escapeControl).join(', ')
  const counts = [
    `${dryRun ? 'dry run: would replay' : 'replayed'} ${plural(plan.send.length, 'dead letter')}${plan.send.length > 0 ? ` to ${topics}` : ''}`,
    `${plan.notReplayable.length} not replayable`,
    ...(plan.skipped.length > 0 ? [`${plan.skipped.length} skipped`] : []),
  ]
  lines.push(counts.join('; ') + (dryRun ? '; nothing sent' : ''))
  return lines
}

interface CommonOptions {
  prefix: string
  logLevel: string
}

function withCommonOptions(command: Command, env: NodeJS.ProcessEnv): Command {
  return command
    .option(
      '--prefix <prefix>',
      "prefix of the topology's topic names (tests, replays)",
      env.NIGHTSHIFT_TOPIC_PREFIX ?? '',
    )
    .option('--log-level <level>', 'pino log level (stderr)', 'warn')
}

/** Adds `dlq list` and `dlq replay` to `program`. */
export function addDlqCommands(program: Command, deps: DlqCommandDeps = {}): void {
  const env = deps.env ?? process.env
  const print = deps.print ?? ((text: string) => process.stdout.write(`${text}\n`))

  const connectionFor = (opts: CommonOptions): { settings: KafkaSettings; registry: Registry; topic: string } => {
    const endpoints = endpointsFromEnv(env)
    const logger = deps.logger ?? createLogger({ level: opts.logLevel, destination: 'stderr' })
    return {
      settings: kafkaSettings(endpoints, 'nightshift-cli', logger),
      registry: new Registry(endpoints.registryUrl, endpoints.registryAccess),
      topic: topicNames(opts.prefix).dlq,
    }
  }

  /** Every record on the DLQ now (it is written in transactions: read to a barrier). */
  const readDlq = async (settings: KafkaSettings, registry: Registry, topic: string): Promise<DeadLetterEntry[]> => {
    const records = await readTopicToBarrier(
      settings,
      topic,
      deps.readTimeoutMs === undefined ? {} : { timeoutMs: deps.readTimeoutMs },
    )
    return Promise.all(records.map((r) => toEntry(registry, r)))
  }

  const dlq = program
    .command('dlq')
    .description('dead letters on <prefix>nightshift.dlq: list them, send their records back')

  withCommonOptions(
    dlq
      .command('list')
      .description(
        'one line per dead letter, newest last: `<id> <failedAt> stage=… code=… source=<topic>/<partition>@<offset> <message>`, ' +
          'where <id> is its <partition>:<offset> on the DLQ (what `dlq replay --id` takes), then the count',
      )
      .option('--stage <stage>', 'only dead letters of this stage (ingest, dedup, …)')
      .option('--limit <n>', 'only the newest n')
      .option('--json', 'print a JSON array (with the original key, value and headers) instead'),
    env,
  ).action(async (opts: CommonOptions & { stage?: string; limit?: string; json?: boolean }) => {
    const limit = opts.limit === undefined ? undefined : parsePositiveInt(opts.limit, '--limit')
    const { settings, registry, topic } = connectionFor(opts)
    const entries = await readDlq(settings, registry, topic)
    const { shown, matching } = selectForList(entries, {
      ...(opts.stage === undefined ? {} : { stage: opts.stage }),
      ...(limit === undefined ? {} : { limit }),
    })
    if (opts.json) {
      print(JSON.stringify(shown.map(deadLetterJson), null, 2))
      return
    }
    print(
      [...shown.map(formatDeadLetterLine), listSummary(topic, shown.length, matching, entries.length, opts.stage)].join(
        '\n',
      ),
    )
  })

  withCommonOptions(
    dlq
      .command('replay')
      .description(
        "send dead letters' original records (key, value, headers) back to their source topic and partition, with a header " +
          `${REPLAYED_FROM_HEADER}: <id>. Name them with --id (repeatable), or --all (optionally --stage). Letters without a source ` +
          '(webhook bodies) cannot be replayed: POST the body again. With --all, letters whose earlier replay failed again are skipped. ' +
          'Prints every record sent and the counts; --dry-run sends nothing.',
      )
      .option('--id <id...>', 'dead letter id <partition>:<offset>, as `dlq list` prints it')
      .option('--all', 'every dead letter on the DLQ (of --stage, if given)')
      .option('--stage <stage>', 'with --all: only dead letters of this stage')
      .option('--dry-run', 'print what would be sent, send nothing'),
    env,
  ).action(async (opts: CommonOptions & { id?: string[]; all?: boolean; stage?: string; dryRun?: boolean }) => {
    // Everything is checked before connecting.
    const hasIds = opts.id !== undefined && opts.id.length > 0
    if (hasIds === (opts.all === true))
      throw new ConfigError('dlq replay needs either --id <partition:offset> (repeatable) or --all, not both')
    if (opts.stage !== undefined && !opts.all)
      throw new ConfigError('--stage selects dead letters for --all; with --id, the ids alone say which')
    const ids = hasIds ? opts.id!.map(parseDeadLetterId) : undefined
    const { settings, registry, topic } = connectionFor(opts)
    const entries = await readDlq(settings, registry, topic)
    const existing = new Set(await listTopics(settings))
    const selection: ReplaySelection = ids
      ? { ids }
      : { all: true, ...(opts.stage === undefined ? {} : { stage: opts.stage }) }
    const plan = planReplay(entries, selection, existing, topic)
    if (plan.send.length > 0 && !opts.dryRun)
      await send(
        settings,
        plan.send.map((p) => p.record),
      )
    print(formatReplay(plan, opts.dryRun === true).join('\n'))
  })
}

/** Reads one DLQ record as a dead letter; a record that is not one is kept, marked unreadable. */
async function toEntry(registry: Registry, record: InRecord): Promise<DeadLetterEntry> {
  const base = {
    id: deadLetterId(record.partition, record.offset),
    partition: record.partition,
    offset: record.offset,
    timestamp: Number(record.timestamp),
  }
  if (record.value === null) return { ...base, unreadable: 'a tombstone' }
  let decoded: unknown
  try {
    decoded = await registry.decode(record.value)
  } catch (err) {
    // An unreachable registry is thrown: listing the DLQ as all unreadable would mislead.
    if (err instanceof PoisonRecordError) return { ...base, unreadable: describeError(err) }
    throw err
  }
  const letter = asDeadLetter(decoded)
  return letter ? { ...base, letter } : { ...base, unreadable: 'decodes, but not as a DeadLetter' }
}

async function listTopics(settings: KafkaSettings): Promise<string[]> {
  const admin = await KafkaAdmin.connect(settings)
  try {
    return await admin.listTopics()
  } finally {
    await admin.disconnect().catch(() => undefined)
  }
}

/** Produces the replays with acks=all; on failure says that some may have been written. */
async function send(settings: KafkaSettings, records: OutRecord[]): Promise<void> {
  const producer = await RecordProducer.connect(settings).catch((cause: unknown) => {
    throw new RetriableError(ERROR_CODES.KAFKA_UNAVAILABLE, `${describeError(cause)}; nothing sent`, { cause })
  })
  try {
    await producer.send(records)
  } catch (cause) {
    throw new NightshiftError(
      ERROR_CODES.KAFKA,
      `sending ${plural(records.length, 'replayed record')} failed: ${describeError(cause)}; some may have been written: check with \`nightshift tail <topic> --from-beginning\` (header ${REPLAYED_FROM_HEADER}) before replaying again`,
      { cause },
    )
  } finally {
    await producer.disconnect().catch(() => undefined)
  }
}
