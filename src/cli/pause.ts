/**
 * `nightshift pause | resume | pauses`: operator pauses on the compacted control topic
 * (src/actions/worker/control.ts). Workers follow the topic and skip paused requests within
 * seconds. Every pause and lift is also written to nightshift.control-history
 * (src/actions/worker/history.ts), which `pauses --all` reads. Errors are thrown, not
 * printed: main turns a NightshiftError into `nightshift: <message> [<code>]` and exit code 1.
 */
import { Command } from 'commander'
import { parseDuration } from '../config/duration'
import { endpointsFromEnv, kafkaSettings } from '../config/endpoints'
import { ConfigError, ERROR_CODES, NightshiftError } from '../errors'
import { KafkaAdmin, RecordProducer, readTopic, type InRecord, type KafkaSettings, type OutRecord } from '../kafka'
import { createLogger, type Logger } from '../log'
import { PauseBoard, pauseKey, pauseRecord, resumeRecord } from '../actions/worker/control'
import {
  decodeHistoryRecord,
  describeHistoryEntry,
  historyRecord,
  liftedEvent,
  pauseHistory,
  pausedEvent,
  type HistoryEvent,
} from '../actions/worker/history'
import {
  describeLift,
  describePause,
  describeSelector,
  liftPause,
  newPause,
  type Pause,
  type PauseScope,
} from '../actions/worker/pause'
import { parseMatchers, type Matcher } from '../matchers'
import { topicNames } from '../topology/names'

/** What the commands read and write besides Kafka; tests replace them. */
export interface PauseCommandDeps {
  /** Endpoints, $USER and NIGHTSHIFT_TOPIC_PREFIX come from here (default: process.env). */
  env?: NodeJS.ProcessEnv
  /** Where the output goes (default: stdout). */
  print?: (text: string) => void
  /** The logger (default: one at --log-level on stderr, pretty at a terminal). */
  logger?: Logger
  /** The clock (default: Date.now). */
  now?: () => number
  /** How long `resume` and `pauses` may take to read the control topic (default: readTopic's). */
  readTimeoutMs?: number
}

/** The options every operator command that reads or writes the topology's topics takes. */
export interface CommonOptions {
  prefix: string
  logLevel: string
}

interface ScopeOptions {
  team?: string
  service?: string
  action?: string
  matcher?: string[]
}

interface PauseOptions extends CommonOptions, ScopeOptions {
  for?: string
  reason?: string
  escalate?: boolean
  by?: string
}

interface ResumeOptions extends CommonOptions, ScopeOptions {
  by?: string
  reason?: string
}

/** The lines `nightshift pauses` prints for the pauses in force (already in the order to print). */
export function formatPauses(pauses: readonly Pause[], now: number): string {
  if (pauses.length === 0) return 'no active pauses'
  return pauses.map((p) => describePause(p, now)).join('\n')
}

/** What `nightshift pauses --all` prints: every pause's life (history.ts), oldest first. */
export function formatPauseHistory(events: readonly HistoryEvent[], current: readonly Pause[], now: number): string {
  const entries = pauseHistory(events, current, now)
  if (entries.length === 0) return 'no pauses'
  return entries.map((e) => describeHistoryEntry(e, now).join('\n')).join('\n')
}

/** The matchers of the repeatable --matcher (each may also be a set: `{a="b", c=~"d"}`). */
function matchersOf(opts: ScopeOptions): Matcher[] {
  return parseMatchers(opts.matcher ?? [])
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

function scopeOf(opts: ScopeOptions): PauseScope {
  const scope: PauseScope = {}
  if (opts.team !== undefined) scope.team = opts.team
  if (opts.service !== undefined) scope.service = opts.service
  if (opts.action !== undefined) scope.action = opts.action
  return scope
}

function withScopeOptions(command: Command, verb: string): Command {
  return command
    .option('--team <team>', `${verb} the requests of this team`)
    .option('--service <service>', `${verb} the requests of this service`)
    .option('--action <action>', `${verb} the requests of this action (page, webhook, exec, …)`)
    .option(
      '--matcher <matcher>',
      `${verb} the requests whose alert labels match, Alertmanager's syntax (alertname="DiskFull", severity=~"warn|info"); repeatable, all must match`,
      collect,
    )
}

/** Adds {@link CommonOptions} (`--prefix`, `--log-level`), defaulting from `env`. */
export function withCommonOptions(command: Command, env: NodeJS.ProcessEnv): Command {
  return command
    .option(
      '--prefix <prefix>',
      "prefix of the topology's topic names (tests, replays)",
      env.NIGHTSHIFT_TOPIC_PREFIX ?? '',
    )
    .option('--log-level <level>', 'pino log level', env.LOG_LEVEL ?? 'info')
}

/** Adds `pause`, `resume` and `pauses` to `program`. */
export function addPauseCommands(program: Command, deps: PauseCommandDeps = {}): void {
  const env = deps.env ?? process.env
  const print = deps.print ?? ((text: string) => process.stdout.write(`${text}\n`))
  const clock = deps.now ?? Date.now

  /** The Kafka settings, logger and control topic of one invocation. */
  const connectionFor = (
    opts: CommonOptions,
  ): { settings: KafkaSettings; logger: Logger; topic: string; history: string } => {
    const endpoints = endpointsFromEnv(env)
    const logger = deps.logger ?? createLogger({ level: opts.logLevel, destination: 'stderr' })
    const names = topicNames(opts.prefix)
    return {
      settings: kafkaSettings(endpoints, 'nightshift-cli', logger),
      logger,
      topic: names.control,
      history: names.controlHistory,
    }
  }

  const readOptions = deps.readTimeoutMs === undefined ? {} : { timeoutMs: deps.readTimeoutMs }

  /** Every event of the history topic; records that are not events are logged and left out. */
  const readHistory = async (settings: KafkaSettings, logger: Logger, topic: string): Promise<HistoryEvent[]> => {
    const events: HistoryEvent[] = []
    for (const record of await readTopic(settings, topic, readOptions)) {
      const decoded = decodeHistoryRecord(record)
      if (decoded.ok) events.push(decoded.event)
      else
        logger.warn(
          { topic, partition: record.partition, offset: record.offset, reason: decoded.reason },
          'skipping a history record that is not an event',
        )
    }
    return events
  }

  /** Every pause the control topic holds now. */
  const readBoard = async (settings: KafkaSettings, logger: Logger, topic: string): Promise<PauseBoard> => {
    const records: InRecord[] = await readTopic(settings, topic, readOptions)
    const board = new PauseBoard(logger)
    for (const record of records) board.apply(record)
    return board
  }

  /** Prints after the last log line, not in the middle of them. */
  const printAfterLogs = async (logger: Logger, text: string): Promise<void> => {
    await new Promise<void>((resolve) => logger.flush(() => resolve()))
    print(text)
  }

  withCommonOptions(
    withScopeOptions(program.command('pause'), 'pause')
      .summary('pause automation for a team, service or action')
      .description(
        'stop action workers from running matching requests for a while: they record the outcome skipped_paused instead ' +
          '(and page a human with --escalate). Every given --team/--service/--action/--matcher must match. Escalation ' +
          'actions (page, and any action with escalation: true in actions.yaml) are not paused unless --action names them: ' +
          'pauses stop automation, not the human. One pause per exact scope and matcher set: a new pause on the same ones ' +
          'replaces the old one. Written to <prefix>nightshift.control (and its history to <prefix>nightshift.control-history) ' +
          'on KAFKA_BROKERS (default: the local stack).',
      )
      .option('--for <duration>', 'how long, e.g. 30m, 2h, 1d')
      .option('--reason <text>', 'why, for whoever wonders why automation stopped')
      .option('--escalate', 'page a human whenever a request is skipped because of this pause')
      .option('--by <name>', 'who paused (default: $USER)'),
    env,
  ).action(async (opts: PauseOptions) => {
    // Everything is checked before connecting.
    const scope = scopeOf(opts)
    const matchers = matchersOf(opts)
    const id = pauseKey(scope, matchers)
    if (opts.for === undefined) throw new ConfigError('pause needs --for <duration>, e.g. --for 2h')
    const forMs = parseDuration(opts.for, '--for')
    const createdBy = opts.by ?? env.USER ?? env.LOGNAME ?? env.USERNAME
    const pause = newPause({
      id,
      scope,
      matchers,
      reason: opts.reason ?? '',
      forMs,
      now: clock(),
      escalate: opts.escalate === true,
      ...(createdBy ? { createdBy } : {}),
    })
    const { settings, logger, topic, history } = connectionFor(opts)
    await requireTopics(settings, [topic, history])
    // The history first: a pause in force is never missing from it (a failed send is retried by the operator).
    await send(settings, [historyRecord(pausedEvent(pause), history), pauseRecord(pause, topic)])
    const exempt =
      scope.action === undefined
        ? '\npages and other escalation actions are not paused (name one with --action page to pause it)'
        : ''
    await printAfterLogs(
      logger,
      `paused ${describePause(pause, pause.createdAt)}${exempt}\nwritten to ${topic} (key ${pause.id})`,
    )
  })

  withCommonOptions(
    withScopeOptions(program.command('resume'), 'resume')
      .summary('lift the pause on exactly this scope')
      .description(
        "lift the pause whose scope and matchers are exactly the given --team/--service/--action/--matcher (`resume --team payments` lifts the team's " +
          'pause, not a pause of one of its services), expired or not, by writing a tombstone to <prefix>nightshift.control; ' +
          'who lifted it and why go to <prefix>nightshift.control-history (`pauses --all`).',
      )
      .option('--by <name>', 'who lifts it (default: $USER)')
      .option('--reason <text>', 'why, for the history'),
    env,
  ).action(async (opts: ResumeOptions) => {
    const selector = scopeOf(opts)
    const matchers = matchersOf(opts)
    pauseKey(selector, matchers)
    liftPause([], selector, matchers) // rejects an empty scope before connecting
    const by = opts.by ?? env.USER ?? env.LOGNAME ?? env.USERNAME ?? null
    const reason = opts.reason?.trim() || null
    const { settings, logger, topic, history } = connectionFor(opts)
    await requireTopics(settings, [topic, history])
    const board = await readBoard(settings, logger, topic)
    const now = clock()
    const { lifted } = liftPause(board.all(), selector, matchers)
    if (lifted.length === 0) {
      const active = board.active(now).map((p) => describePause(p, now))
      throw new NightshiftError(
        ERROR_CODES.NOT_FOUND,
        `no pause on ${describeSelector({ scope: selector, matchers })}; active: ${active.length > 0 ? active.join('; ') : 'none'}`,
      )
    }
    const tombstones = lifted.map((p) => resumeRecord(p.id, topic))
    await send(settings, [...lifted.map((p) => historyRecord(liftedEvent(p, now, by, reason), history)), ...tombstones])
    await printAfterLogs(
      logger,
      [
        ...lifted.map((p) => `lifted pause ${describeLift(p, now)}`),
        `tombstone written to ${topic} (key ${tombstones.map((t) => t.key).join(', ')})`,
      ].join('\n'),
    )
  })

  withCommonOptions(
    program
      .command('pauses')
      .summary('list the pauses in force')
      .description(
        'list the pauses in force, soonest to end first, as read from <prefix>nightshift.control; with --all, every pause ' +
          'ever set (kept a year on <prefix>nightshift.control-history): who set it, who lifted it, when and why',
      )
      .option('--all', 'also list pauses that have ended: lifted, replaced or run out'),
    env,
  ).action(async (opts: CommonOptions & { all?: boolean }) => {
    const { settings, logger, topic, history } = connectionFor(opts)
    const board = await readBoard(settings, logger, topic)
    const now = clock()
    if (opts.all !== true) {
      await printAfterLogs(logger, formatPauses(board.active(now), now))
      return
    }
    const events = await readHistory(settings, logger, history)
    await printAfterLogs(logger, formatPauseHistory(events, board.all(), now))
  })
}

/** Refuses to write to a topic that does not exist (the broker may create it with the wrong settings). */
export async function requireTopics(settings: KafkaSettings, topics: readonly string[]): Promise<void> {
  const admin = await KafkaAdmin.connect(settings)
  try {
    const existing = await admin.listTopics()
    for (const topic of topics) {
      if (!existing.includes(topic)) {
        throw new ConfigError(
          `topic ${topic} does not exist; run \`nightshift topology apply\` (with the same --prefix)`,
        )
      }
    }
  } finally {
    await admin.disconnect()
  }
}

/** Produces `records` and waits until every in-sync replica has them. */
export async function send(settings: KafkaSettings, records: OutRecord[]): Promise<void> {
  const producer = await RecordProducer.connect(settings)
  try {
    await producer.send(records)
  } finally {
    await producer.disconnect()
  }
}
