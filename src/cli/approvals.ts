/**
 * `nightshift approvals | approve <id> | deny <id>`: the requests that wait for a person's
 * answer (an `approval:` hold) and the answers, written to nightshift.control for the
 * action worker (src/actions/worker/answers.ts). The first answer wins: a second one is
 * refused with the first, and nothing is written. Errors are thrown, not printed: main
 * turns a NightshiftError into `nightshift: <message> [<code>]` and exit code 1.
 */
import os from 'node:os'
import { Command } from 'commander'
import { formatDurationShort } from '../config/duration'
import { endpointsFromEnv, kafkaSettings } from '../config/endpoints'
import { ConfigError, ERROR_CODES, NightshiftError } from '../errors'
import { Registry, type KafkaSettings } from '../kafka'
import { createLogger, type Logger } from '../log'
import {
  describeAlready,
  describeClosed,
  pendingApprovals,
  submitAnswer,
  type PendingApproval,
} from '../actions/worker/answers'
import { describeAnswer, isApprovalId, type ApprovalDecision } from '../actions/worker/approvals'
import { formatTable } from '../text'
import { topicNames } from '../topology/names'
import { requireTopics, withCommonOptions, type CommonOptions, type PauseCommandDeps } from './pause'

/** What the commands read and write besides Kafka (as the pause commands'); tests replace them. */
export interface ApprovalCommandDeps extends PauseCommandDeps {
  /** Where an answer says it came from (default: this host's name). */
  host?: string
}

interface AnswerOptions extends CommonOptions {
  by?: string
  reason?: string
}

/** `action k=v k=v`: what would run. */
function whatRuns(p: PendingApproval): string {
  const params = Object.entries(p.params)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
  return [p.action, ...params].join(' ')
}

/** `payments/checkout HighLatency 16ddbf5dcf57d972`: on what. */
function onWhat(p: PendingApproval): string {
  return [`${p.team}/${p.service ?? '-'}`, p.alertname ?? '', p.fingerprint].filter((s) => s !== '').join(' ')
}

function timeoutOf(p: PendingApproval, now: number): string {
  if (p.timeoutAt === null) return '-'
  return p.timeoutAt > now
    ? `in ${formatDurationShort(p.timeoutAt - now)}`
    : `overdue ${formatDurationShort(now - p.timeoutAt)}`
}

/** What `nightshift approvals` prints: one row per open approval, oldest first (already in that order). */
export function formatPendingApprovals(pending: readonly PendingApproval[], now: number): string {
  if (pending.length === 0) return 'no approvals pending'
  const rows = pending.map((p) => [
    p.id,
    `${formatDurationShort(Math.max(0, now - p.askedAt))} ago`,
    timeoutOf(p, now),
    whatRuns(p),
    onWhat(p),
    p.route,
    p.answer ? `${describeAnswer(p.answer)} (not acted on yet)` : '',
  ])
  return formatTable(['ID', 'ASKED', 'TIMES OUT', 'RUNS', 'ON', 'ROUTE', 'ANSWER'], rows)
}

/** Adds `approvals`, `approve` and `deny` to `program`. */
export function addApprovalCommands(program: Command, deps: ApprovalCommandDeps = {}): void {
  const env = deps.env ?? process.env
  const print = deps.print ?? ((text: string) => process.stdout.write(`${text}\n`))
  const clock = deps.now ?? Date.now
  const read = deps.readTimeoutMs === undefined ? {} : { readTimeoutMs: deps.readTimeoutMs }

  const connectionFor = (opts: CommonOptions): { kafka: KafkaSettings; logger: Logger; registry: Registry } => {
    const endpoints = endpointsFromEnv(env)
    const logger = deps.logger ?? createLogger({ level: opts.logLevel, destination: 'stderr' })
    return {
      kafka: kafkaSettings(endpoints, 'nightshift-cli', logger),
      logger,
      registry: new Registry(endpoints.registryUrl, endpoints.registryAccess),
    }
  }

  /** Prints after the last log line, not in the middle of them. */
  const printAfterLogs = async (logger: Logger, text: string): Promise<void> => {
    await new Promise<void>((resolve) => logger.flush(() => resolve()))
    print(text)
  }

  withCommonOptions(
    program
      .command('approvals')
      .summary('list the requests waiting for an approval')
      .description(
        'list the action requests held until a person approves them, oldest first: what would run, on what, when it ' +
          'was asked, when it times out, and an answer the worker has not acted on yet. Read from ' +
          '<prefix>nightshift.action-ledger and <prefix>nightshift.control. Answer with `nightshift approve <id>` or `deny <id>`.',
      ),
    env,
  ).action(async (opts: CommonOptions) => {
    const { kafka, logger, registry } = connectionFor(opts)
    const topics = topicNames(opts.prefix)
    const pending = await pendingApprovals({
      kafka,
      registry,
      topics,
      now: clock(),
      ...read,
      skipped: (where, reason) => logger.warn({ where, reason }, 'skipping a ledger entry that does not decode'),
    })
    await printAfterLogs(logger, formatPendingApprovals(pending, clock()))
  })

  const answerCommand = (decision: ApprovalDecision): void => {
    const verb = decision === 'approve' ? 'approve' : 'deny'
    withCommonOptions(
      program
        .command(`${verb} <id>`)
        .summary(decision === 'approve' ? 'approve a held request: the worker runs it' : 'deny a held request')
        .description(
          `${verb} the request waiting for approval <id> (12 hex digits, as \`nightshift approvals\` and the page show ` +
            'it). The answer is written to <prefix>nightshift.control, where the action worker acts on it, and to ' +
            '<prefix>nightshift.control-history. The first answer wins: if someone answered already, nothing is ' +
            'written and the command fails naming them.',
        )
        .option('--by <name>', 'who answers (default: $USER)')
        .option('--reason <text>', 'why, for the outcome and the history'),
      env,
    ).action(async (id: string, opts: AnswerOptions) => {
      // Everything is checked before connecting.
      if (!isApprovalId(id))
        throw new ConfigError(`"${id}" is not an approval id (12 hex digits); see nightshift approvals`)
      const by = opts.by?.trim() || env.USER || env.LOGNAME || env.USERNAME
      if (!by) throw new ConfigError(`${verb}: say who answers with --by (no $USER)`)
      const { kafka, logger, registry } = connectionFor(opts)
      const topics = topicNames(opts.prefix)
      await requireTopics(kafka, [topics.control, topics.controlHistory, topics.ledger])
      const result = await submitAnswer({
        kafka,
        registry,
        topics,
        answer: {
          id,
          decision,
          by,
          reason: opts.reason?.trim() ?? '',
          at: clock(),
          via: 'cli',
          from: deps.host ?? os.hostname(),
        },
        ...read,
      })
      switch (result.status) {
        case 'recorded':
          await printAfterLogs(
            logger,
            `${describeAnswer(result.answer)}\nwritten to ${topics.control} (key approval/${id}); the worker acts on it`,
          )
          return
        case 'already':
          throw new NightshiftError(
            ERROR_CODES.BAD_REQUEST,
            `approval ${id}: ${describeAlready(result.first)}; nothing written`,
          )
        case 'closed':
          throw new NightshiftError(
            ERROR_CODES.BAD_REQUEST,
            `approval ${id} no longer waits for an answer: ${result.entry.action} for ${result.entry.fingerprint} ${describeClosed(result.entry)}; nothing written`,
          )
        case 'unknown':
          throw new NightshiftError(
            ERROR_CODES.NOT_FOUND,
            `no request waits for approval ${id} on ${topics.ledger}; see nightshift approvals`,
          )
      }
    })
  }
  answerCommand('approve')
  answerCommand('deny')
}
