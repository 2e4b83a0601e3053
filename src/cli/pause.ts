/**
 * `nightshift pause | resume | pauses`: operator pauses on the compacted control topic
 * (src/actions/worker/control.ts). Workers follow the topic and skip paused requests within
 * seconds. Errors are thrown, not printed: main turns a NightshiftError into
 * `nightshift: <message> [<code>]` and exit code 1.
 */
import { Command } from 'commander'
import { parseDuration } from '../config/duration'
import { endpointsFromEnv } from '../config/endpoints'
import { ConfigError, ERROR_CODES, NightshiftError } from '../errors'
import { KafkaAdmin, RecordProducer, readTopic, type InRecord, type KafkaSettings, type OutRecord } from '../kafka'
import { createLogger, type Logger } from '../log'
import { PauseBoard, pauseKey, pauseRecord, resumeRecord } from '../actions/worker/control'
import { describePause, describeScope, liftPause, newPause, type Pause, type PauseScope } from '../actions/worker/pause'
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

interface CommonOptions {
  prefix: string
  logLevel: string
}

interface ScopeOptions {
  team?: string
  service?: string
  action?: string
}

interface PauseOptions extends CommonOptions, ScopeOptions {
  for?: string
  reason?: string
  escalate?: boolean
  by?: string
}

/** The lines `nightshift pauses` prints for `pauses` (already in the order to print). */
export function formatPauses(pauses: readonly Pause[], now: number, all: boolean): string {
  if (pauses.length === 0) return all ? 'no pauses' : 'no active pauses'
  return pauses.map((p) => describePause(p, now)).join('\n')
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
}

function withCommonOptions(command: Command, env: NodeJS.ProcessEnv): Command {
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
  const connectionFor = (opts: CommonOptions): { settings: KafkaSettings; logger: Logger; topic: string } => {
    const endpoints = endpointsFromEnv(env)
    const logger = deps.logger ?? createLogger({ level: opts.logLevel, destination: 'stderr' })
    return {
      settings: { brokers: endpoints.brokers, clientId: 'nightshift-cli', logger },
      logger,
      topic: topicNames(opts.prefix).control,
    }
  }

  /** Every pause the control topic holds now. */
  const readBoard = async (settings: KafkaSettings, logger: Logger, topic: string): Promise<PauseBoard> => {
    const records: InRecord[] = await readTopic(
      settings,
      topic,
      deps.readTimeoutMs === undefined ? {} : { timeoutMs: deps.readTimeoutMs },
    )
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
          '(and page a human with --escalate). Every given --team/--service/--action must match. One pause per exact scope: ' +
          'a new pause on the same scope replaces the old one. Written to <prefix>nightshift.control on KAFKA_BROKERS (default: the local stack).',
      )
      .option('--for <duration>', 'how long, e.g. 30m, 2h, 1d')
      .option('--reason <text>', 'why, for whoever wonders why automation stopped')
      .option('--escalate', 'page a human whenever a request is skipped because of this pause')
      .option('--by <name>', 'who paused (default: $USER)'),
    env,
  ).action(async (opts: PauseOptions) => {
    // Everything is checked before connecting.
    const scope = scopeOf(opts)
    const id = pauseKey(scope)
    if (opts.for === undefined) throw new ConfigError('pause needs --for <duration>, e.g. --for 2h')
    const forMs = parseDuration(opts.for, '--for')
    const createdBy = opts.by ?? env.USER ?? env.LOGNAME ?? env.USERNAME
    const pause = newPause({
      id,
      scope,
      reason: opts.reason ?? '',
      forMs,
      now: clock(),
      escalate: opts.escalate === true,
      ...(createdBy ? { createdBy } : {}),
    })
    const { settings, logger, topic } = connectionFor(opts)
    await requireTopic(settings, topic)
    await send(settings, [pauseRecord(pause, topic)])
    await printAfterLogs(
      logger,
      `paused ${describePause(pause, pause.createdAt)}\nwritten to ${topic} (key ${pause.id})`,
    )
  })

  withCommonOptions(
    withScopeOptions(program.command('resume'), 'resume')
      .summary('lift the pause on exactly this scope')
      .description(
        "lift the pause whose scope is exactly the given --team/--service/--action (`resume --team payments` lifts the team's " +
          'pause, not a pause of one of its services), expired or not, by writing a tombstone to <prefix>nightshift.control.',
      ),
    env,
  ).action(async (opts: CommonOptions & ScopeOptions) => {
    const selector = scopeOf(opts)
    pauseKey(selector)
    liftPause([], selector) // rejects an empty scope before connecting
    const { settings, logger, topic } = connectionFor(opts)
    const board = await readBoard(settings, logger, topic)
    const now = clock()
    const { lifted } = liftPause(board.all(), selector)
    if (lifted.length === 0) {
      const active = board.active(now).map((p) => describePause(p, now))
      throw new NightshiftError(
        ERROR_CODES.NOT_FOUND,
        `no pause on ${describeScope(selector)}; active: ${active.length > 0 ? active.join('; ') : 'none'}`,
      )
    }
    const tombstones = lifted.map((p) => resumeRecord(p.scope, topic))
    await send(settings, tombstones)
    await printAfterLogs(
      logger,
      [
        ...lifted.map((p) => `lifted ${describePause(p, now)}`),
        `tombstone written to ${topic} (key ${tombstones.map((t) => t.key).join(', ')})`,
      ].join('\n'),
    )
  })

  withCommonOptions(
    program
      .command('pauses')
      .summary('list the pauses in force')
      .description('list the pauses in force, soonest to end first, as read from <prefix>nightshift.control')
      .option('--all', 'also list pauses that have ended but were not resumed'),
    env,
  ).action(async (opts: CommonOptions & { all?: boolean }) => {
    const { settings, logger, topic } = connectionFor(opts)
    const board = await readBoard(settings, logger, topic)
    const now = clock()
    const all = opts.all === true
    await printAfterLogs(logger, formatPauses(all ? board.all() : board.active(now), now, all))
  })
}

/** Refuses to write to a topic that does not exist (the broker may create it with the wrong settings). */
async function requireTopic(settings: KafkaSettings, topic: string): Promise<void> {
  const admin = await KafkaAdmin.connect(settings)
  try {
    if (!(await admin.listTopics()).includes(topic)) {
      throw new ConfigError(`topic ${topic} does not exist; run \`nightshift topology apply\` (with the same --prefix)`)
    }
  } finally {
    await admin.disconnect()
  }
}

/** Produces `records` and waits until every in-sync replica has them. */
async function send(settings: KafkaSettings, records: OutRecord[]): Promise<void> {
  const producer = await RecordProducer.connect(settings)
  try {
    await producer.send(records)
  } finally {
    await producer.disconnect()
  }
}
