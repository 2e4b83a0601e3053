/**
 * `nightshift tail <topic>`: follows a topic of the topology and prints one line per
 * record, `<partition>:<offset> <ISO timestamp> <key> <value>`, the value decoded from
 * Avro when it is in the Confluent wire format. Whatever a record holds, a line stays one
 * line: control characters are escaped. Times are RFC 3339 throughout: the fields the
 * contracts declare as timestamp-millis (finishedAt, receivedAt, …) are printed like the
 * string times beside them (startsAt), not as epoch milliseconds. Errors are thrown:
 * main prints them.
 */
import type { Command } from 'commander'
import { endpointsFromEnv, kafkaSettings } from '../config/endpoints'
import { SchemaSet } from '../contracts/schemas'
import { ConfigError, PoisonRecordError } from '../errors'
import { KafkaAdmin, Registry, TopicTail, isBarrier, type InRecord, type KafkaSettings } from '../kafka'
import { createLogger, type Logger } from '../log'

/** What the command reads besides Kafka; tests replace them. */
export interface TailCommandDeps {
  /** Endpoints and NIGHTSHIFT_TOPIC_PREFIX come from here (default: process.env). */
  env?: NodeJS.ProcessEnv
  /** Where the lines go (default: stdout). */
  print?: (text: string) => void
  /** The logger (default: one at --log-level on stderr). */
  logger?: Logger
}

/** Buffers up to this size are shown in full (base64); longer ones as `<N bytes>`. */
export const MAX_INLINE_BYTES = 256

/**
 * Characters that could break a line or fool a terminal: C0 and C1 controls, DEL, the
 * Unicode line and paragraph separators, and bidirectional overrides (which can make a
 * line read differently from what it holds).
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g
const UNSAFE_TEST = new RegExp(UNSAFE.source)
const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }

/** `text` with every unsafe character as `\n`, `\r`, `\t` or `\uXXXX`: always one line. */
export function escapeControl(text: string): string {
  return text.replace(UNSAFE, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** The UTF-8 text of `bytes`, or undefined when they are not valid UTF-8. */
export function utf8OrUndefined(bytes: Buffer): string | undefined {
  try {
    return strictUtf8.decode(bytes)
  } catch {
    return undefined
  }
}

/** Bytes shown inline: `base64:…` when short, else `<N bytes>`. */
export function bytesText(bytes: Buffer): string {
  return bytes.length <= MAX_INLINE_BYTES ? `base64:${bytes.toString('base64')}` : `<${bytes.length} bytes>`
}

/** The largest time a Date holds (±8.64e15 ms); beyond it a "timestamp" is printed as the number. */
const MAX_DATE_MS = 8.64e15

/**
 * Names of the record fields the contracts (schemas/*.avsc) declare as
 * `timestamp-millis` and never as a plain long: the fields printed as RFC 3339.
 */
export function timestampFieldNames(schemas: SchemaSet): ReadonlySet<string> {
  const timestamps = new Set<string>()
  const plain = new Set<string>()
  const isLong = (t: unknown, logical: boolean): boolean =>
    t === 'long'
      ? !logical
      : typeof t === 'object' && t !== null && (t as { type?: unknown }).type === 'long'
        ? ((t as { logicalType?: unknown }).logicalType === 'timestamp-millis') === logical
        : false
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk)
    if (typeof node !== 'object' || node === null) return
    const fields = (node as { fields?: unknown }).fields
    if (Array.isArray(fields)) {
      for (const f of fields as Array<{ name?: unknown; type?: unknown }>) {
        const branches = Array.isArray(f.type) ? (f.type as unknown[]) : [f.type]
        if (typeof f.name === 'string' && branches.some((b) => isLong(b, true))) timestamps.add(f.name)
        if (typeof f.name === 'string' && branches.some((b) => isLong(b, false))) plain.add(f.name)
      }
    }
    for (const child of Object.values(node)) walk(child)
  }
  for (const name of schemas.names()) walk(schemas.resolve(name))
  return new Set([...timestamps].filter((n) => !plain.has(n)))
}

/**
 * Compact JSON of a decoded Avro value on one line: Buffers (Avro bytes/fixed) as
 * {@link bytesText}, bigints as decimal strings, the `timestamps` fields (epoch
 * milliseconds) as RFC 3339, unsafe characters escaped.
 */
export function compactJson(value: unknown, timestamps: ReadonlySet<string> = new Set()): string {
  const json = JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown): unknown {
    // toJSON has already turned a Buffer into {type, data}; the holder still has the Buffer.
    const original = this[key]
    if (Buffer.isBuffer(original)) return bytesText(original)
    if (typeof v === 'bigint') return v.toString()
    if (typeof v === 'number' && timestamps.has(key) && Number.isFinite(v) && Math.abs(v) <= MAX_DATE_MS)
      return new Date(v).toISOString()
    return v
  }) as string | undefined
  return escapeControl(json ?? 'null')
}

/** Text as is when it needs no quoting, else as an escaped JSON string. */
function quotedIfNeeded(text: string, plain: (t: string) => boolean): string {
  return plain(text) ? text : escapeControl(JSON.stringify(text))
}

/**
 * A record key as one token: `∅` for none, the text when it has no space, quote or
 * control character, else a quoted JSON string; bytes that are not UTF-8 as {@link bytesText}.
 */
export function formatKey(key: Buffer | null): string {
  if (key === null) return '∅'
  const text = utf8OrUndefined(key)
  if (text === undefined) return bytesText(key)
  return quotedIfNeeded(
    text,
    (t) => t.length > 0 && t !== '∅' && !t.startsWith('"') && !/\s/.test(t) && !UNSAFE_TEST.test(t),
  )
}

/** A value that is not Avro: its text (quoted when it holds control characters), or {@link bytesText}. */
export function formatRawValue(value: Buffer): string {
  const text = utf8OrUndefined(value)
  if (text === undefined) return bytesText(value)
  return quotedIfNeeded(text, (t) => t.length > 0 && !t.startsWith('"') && !UNSAFE_TEST.test(t))
}

/** A record timestamp (ms since the epoch, as a string) in ISO 8601, or as given when it is not a valid time. */
export function formatTimestamp(timestamp: string): string {
  const ms = Number(timestamp)
  if (!Number.isFinite(ms) || ms < 0) return escapeControl(timestamp)
  const date = new Date(ms)
  return Number.isNaN(date.getTime()) ? escapeControl(timestamp) : date.toISOString()
}

/**
 * The line `nightshift tail` prints for `record`: `<partition>:<offset> <ISO timestamp>
 * <key> <value>`. `decoded` is the registry-decoded value, or undefined when the value is
 * not Avro (then the raw text is shown); a tombstone's value is `∅`. Always one line.
 */
export function formatRecordLine(
  record: Pick<InRecord, 'partition' | 'offset' | 'timestamp' | 'key' | 'value'>,
  decoded: { value: unknown } | undefined,
  timestamps: ReadonlySet<string> = new Set(),
): string {
  const value =
    record.value === null
      ? '∅'
      : decoded !== undefined
        ? compactJson(decoded.value, timestamps)
        : formatRawValue(record.value)
  return `${record.partition}:${escapeControl(record.offset)} ${formatTimestamp(record.timestamp)} ${formatKey(record.key)} ${value}`
}

/** True when `value` looks like the Confluent wire format (magic byte 0 + schema id). */
function wireFormat(value: Buffer): boolean {
  return value.length >= 5 && value[0] === 0
}

/**
 * Decodes `value` with the registry when it is in the wire format. A value that is not,
 * or that does not decode (unknown schema id, wrong bytes), is shown raw: tail is for
 * looking at what is there, poison included. An unreachable registry is thrown.
 */
export async function decodeForDisplay(
  registry: Registry,
  value: Buffer | null,
): Promise<{ value: unknown } | undefined> {
  if (value === null || !wireFormat(value)) return undefined
  try {
    return { value: await registry.decode(value) }
  } catch (err) {
    if (err instanceof PoisonRecordError) return undefined
    throw err
  }
}

/** A whole number ≥ 1 given to `flag`, or a ConfigError. */
export function parsePositiveInt(raw: string, flag: string): number {
  const n = Number(raw)
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < 1)
    throw new ConfigError(`${flag} must be a whole number ≥ 1, got "${raw}"`)
  return n
}

interface TailOptions {
  prefix: string
  fromBeginning?: boolean
  max?: string
  logLevel: string
}

/** Adds `tail` to `program`. */
export function addTailCommands(program: Command, deps: TailCommandDeps = {}): void {
  const env = deps.env ?? process.env
  const print = deps.print ?? ((text: string) => process.stdout.write(`${text}\n`))
  program
    .command('tail <topic>')
    .summary('follow a topic, one line per record')
    .description(
      'follow <prefix><topic> (a name of topology/topics.yaml: alerts.raw, alerts.deduped, actions.outcomes, nightshift.dlq, …) and ' +
        'print `<partition>:<offset> <ISO timestamp> <key> <value>` per record: Avro values as compact JSON (bytes as base64, or ' +
        '<N bytes> when long), other values as text, tombstones as ∅; control characters are escaped. Prints new records only, ' +
        'unless --from-beginning. Stops on Ctrl-C (SIGINT/SIGTERM) or after --max records.',
    )
    .option(
      '--prefix <prefix>',
      "prefix of the topology's topic names (tests, replays)",
      env.NIGHTSHIFT_TOPIC_PREFIX ?? '',
    )
    .option('--from-beginning', 'print the records already on the topic first')
    .option('--max <n>', 'exit after printing this many records')
    .option('--log-level <level>', 'pino log level (stderr)', 'warn')
    .action(async (name: string, opts: TailOptions) => {
      const max = opts.max === undefined ? undefined : parsePositiveInt(opts.max, '--max')
      const topic = `${opts.prefix}${name}`
      const endpoints = endpointsFromEnv(env)
      const logger = deps.logger ?? createLogger({ level: opts.logLevel, destination: 'stderr' })
      const settings: KafkaSettings = kafkaSettings(endpoints, 'nightshift-cli', logger)
      const registry = new Registry(endpoints.registryUrl, endpoints.registryAccess)
      // Records below these offsets were there before the command: skipped unless --from-beginning.
      const startAt = await startOffsets(settings, topic, opts.prefix, opts.fromBeginning === true)
      await follow(settings, topic, startAt, max, (line) => print(line), registry)
    })
}

/**
 * Where printing starts, per partition: 0 with --from-beginning, else the end offsets now.
 * @throws ConfigError naming the topics under the prefix when `topic` does not exist.
 */
async function startOffsets(
  settings: KafkaSettings,
  topic: string,
  prefix: string,
  fromBeginning: boolean,
): Promise<Map<number, bigint>> {
  const admin = await KafkaAdmin.connect(settings)
  try {
    const topics = await admin.listTopics()
    if (!topics.includes(topic)) {
      const known = topics
        .filter((t) => t.startsWith(prefix) && !t.startsWith('__'))
        .map((t) => t.slice(prefix.length))
        .sort()
      const shown = known.length > 20 ? [...known.slice(0, 20), '…'] : known
      throw new ConfigError(
        `topic ${topic} does not exist; ` +
          (known.length > 0
            ? `topics${prefix ? ` under prefix "${prefix}"` : ''}: ${shown.join(', ')}`
            : `no topics${prefix ? ` under prefix "${prefix}"` : ''}: run \`nightshift topology apply\` (with the same --prefix)`),
      )
    }
    if (fromBeginning) return new Map()
    return new Map([...(await admin.endOffsets(topic))].map(([p, end]) => [p, BigInt(end)]))
  } finally {
    await admin.disconnect().catch(() => undefined)
  }
}

/**
 * Follows `topic`, printing records at or past `startAt`, until `max` were printed, a
 * signal arrives, or decoding fails for a reason other than the record (registry down).
 */
async function follow(
  settings: KafkaSettings,
  topic: string,
  startAt: ReadonlyMap<number, bigint>,
  max: number | undefined,
  print: (line: string) => void,
  registry: Registry,
): Promise<void> {
  const timestamps = timestampFieldNames(SchemaSet.load())
  let printed = 0
  let finished = false
  let finish: (err?: unknown) => void = () => undefined
  const done = new Promise<void>((resolve, reject) => {
    finish = (err?: unknown) => {
      if (finished) return
      finished = true
      if (err === undefined) resolve()
      else reject(err)
    }
  })
  // It may fail while the tail is still starting, before anyone awaits it.
  done.catch(() => undefined)
  // TopicTail calls back synchronously; decoding is async, so lines go through a chain to keep log order.
  let chain = Promise.resolve()
  const onRecord = (record: InRecord): void => {
    if (isBarrier(record) || BigInt(record.offset) < (startAt.get(record.partition) ?? 0n)) return
    chain = chain.then(async () => {
      if (finished) return
      try {
        const line = formatRecordLine(record, await decodeForDisplay(registry, record.value), timestamps)
        if (finished) return
        print(line)
        printed += 1
        if (max !== undefined && printed >= max) finish()
      } catch (err) {
        finish(err)
      }
    })
  }
  const onSignal = (): void => finish()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  let tail: TopicTail | undefined
  try {
    tail = await TopicTail.start(settings, topic, onRecord)
    await done
  } finally {
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
    finished = true
    await tail?.stop()
  }
}
