/**
 * `nightshift run <fingerprint> --action <name> --by <who> --reason <why>`: runs by hand a
 * request a pause skipped (outcome skipped_paused), once the pause is lifted.
 *
 * It does not call the handler: it writes a copy of the skipped request to the action's
 * topic, so the same worker runs it with the same guarantees (ledger, time limit, retries,
 * circuit, budget gate, dry run, pauses). The copy differs in three things:
 * - its idempotency key is the skipped one's plus `#run`: derived, not random, so running
 *   the command twice by mistake runs once (the worker's ledger finds the key completed
 *   and records skipped_duplicate; the command itself refuses when it already sees an
 *   outcome of that key);
 * - `manualRun` says who asked, why and for which key: the worker copies it into the
 *   outcome's detail and output (runBy, runReason, runOf);
 * - `requestedAt` is now.
 * The request is also recorded on nightshift.control-history (`pauses --all` shows it).
 *
 * It refuses, before writing anything, when nothing of that action and fingerprint was
 * skipped by a pause, when a pause still covers the request, or when it was already run.
 */
import { endpointsFromEnv, kafkaSettings } from '../config/endpoints'
import type { ActionOutcomeRecord, ActionRequestRecord } from '../contracts/records'
import { SchemaSet } from '../contracts/schemas'
import { ConfigError, ERROR_CODES, NightshiftError } from '../errors'
import { Registry, readTopic, readTopicToBarrier, type KafkaSettings } from '../kafka'
import { createLogger, type Logger } from '../log'
import { isEscalation } from '../actions/worker/actions-file'
import { PauseBoard } from '../actions/worker/control'
import { historyRecord, type RanEvent } from '../actions/worker/history'
import { describePause } from '../actions/worker/pause'
import { actionTopic, topicNames, valueSubject } from '../topology/names'
import { requireTopics, send } from './pause'

/** What `nightshift run <fingerprint>` reads from its options. */
export interface ManualRunOptions {
  /** The process command's --action is variadic; here exactly one is needed. */
  action?: string[] | string
  by?: string
  reason?: string
  prefix: string
  logLevel: string
}

/** What the command reads and writes besides Kafka; tests replace them. */
export interface ManualRunDeps {
  env?: NodeJS.ProcessEnv
  print?: (text: string) => void
  logger?: Logger
  now?: () => number
  readTimeoutMs?: number
}

/** The idempotency key of the manual run of the request whose key is `skipped`. */
export function manualRunKey(skipped: string): string {
  return `${skipped}#run`
}

/**
 * The skipped_paused outcome to run: the latest of `action` for `fingerprint` (by
 * finishedAt), or undefined.
 */
export function skippedOutcome(
  outcomes: readonly ActionOutcomeRecord[],
  fingerprint: string,
  action: string,
): ActionOutcomeRecord | undefined {
  let latest: ActionOutcomeRecord | undefined
  for (const o of outcomes) {
    if (o.fingerprint !== fingerprint || o.action !== action || o.status !== 'skipped_paused') continue
    if (!latest || o.finishedAt >= latest.finishedAt) latest = o
  }
  return latest
}

/** The copy of `request` that runs it by hand (see the module comment). */
export function manualRequest(
  request: ActionRequestRecord,
  run: { by: string; reason: string; at: number },
): ActionRequestRecord {
  return {
    ...request,
    idempotencyKey: manualRunKey(request.idempotencyKey),
    requestedAt: run.at,
    manualRun: { by: run.by, reason: run.reason, at: run.at, of: request.idempotencyKey },
  }
}

/** Runs `nightshift run <fingerprint> --action … --by … --reason …`. */
export async function runSkippedRequest(
  fingerprint: string,
  opts: ManualRunOptions,
  deps: ManualRunDeps = {},
): Promise<void> {
  const env = deps.env ?? process.env
  const print = deps.print ?? ((text: string) => process.stdout.write(`${text}\n`))
  const actions = opts.action === undefined ? [] : Array.isArray(opts.action) ? opts.action : [opts.action]
  if (actions.length !== 1)
    throw new ConfigError(
      'nightshift run <fingerprint> runs a request a pause skipped: give exactly one --action, e.g. --action webhook',
    )
  const action = actions[0]!
  const reason = opts.reason?.trim() ?? ''
  if (reason === '') throw new ConfigError('nightshift run <fingerprint> needs --reason "...": it is audited')
  const by = opts.by?.trim() || env.USER || env.LOGNAME || env.USERNAME
  if (!by) throw new ConfigError('nightshift run <fingerprint> needs --by <name>: it is audited')

  const endpoints = endpointsFromEnv(env)
  const logger = deps.logger ?? createLogger({ level: opts.logLevel, destination: 'stderr' })
  const settings: KafkaSettings = kafkaSettings(endpoints, 'nightshift-cli', logger)
  const names = topicNames(opts.prefix)
  const requests = `${opts.prefix}${actionTopic(action)}`
  const read = deps.readTimeoutMs === undefined ? {} : { timeoutMs: deps.readTimeoutMs }
  await requireTopics(settings, [names.outcomes, requests, names.control, names.controlHistory])
  const registry = new Registry(endpoints.registryUrl, endpoints.registryAccess)

  const outcomes: ActionOutcomeRecord[] = []
  for (const record of await readTopicToBarrier(settings, names.outcomes, read)) {
    if (record.value === null || record.key?.toString('utf8') !== fingerprint) continue
    outcomes.push((await registry.decode(record.value)) as ActionOutcomeRecord)
  }
  const skipped = skippedOutcome(outcomes, fingerprint, action)
  if (!skipped) {
    const seen = outcomes.filter((o) => o.action === action).map((o) => o.status)
    throw new NightshiftError(
      ERROR_CODES.NOT_FOUND,
      `nothing to run: no request of ${action} for ${fingerprint} was skipped by a pause (outcomes of ${action} on ${names.outcomes}: ${seen.length > 0 ? seen.join(', ') : 'none'})`,
    )
  }
  const key = manualRunKey(skipped.idempotencyKey)
  const done = outcomes.find((o) => o.idempotencyKey === key)
  if (done) {
    throw new NightshiftError(
      ERROR_CODES.BAD_REQUEST,
      `already run by hand: ${key} ended ${done.status} at ${new Date(done.finishedAt).toISOString()} (${done.detail ?? ''}); not run again`,
    )
  }

  let request: ActionRequestRecord | undefined
  for (const record of await readTopicToBarrier(settings, requests, read)) {
    if (record.value === null || record.key?.toString('utf8') !== fingerprint) continue
    const value = (await registry.decode(record.value)) as ActionRequestRecord
    if (value.idempotencyKey === skipped.idempotencyKey && value.alert.alert.status === 'firing') request = value
  }
  if (!request)
    throw new NightshiftError(
      ERROR_CODES.NOT_FOUND,
      `the skipped request ${skipped.idempotencyKey} (firing) is no longer on ${requests}; only a firing request still on its topic can be run by hand`,
    )

  const board = new PauseBoard(logger)
  for (const record of await readTopic(settings, names.control, read)) board.apply(record)
  const now = (deps.now ?? Date.now)()
  const pause = board.pauseFor(
    {
      team: request.alert.team,
      service: request.alert.service,
      action,
      labels: request.alert.alert.labels,
      escalation: isEscalation({ name: action }),
    },
    now,
  )
  if (pause)
    throw new NightshiftError(
      ERROR_CODES.BAD_REQUEST,
      `a pause still covers this request: ${describePause(pause, now)} (${pause.id}); lift it first with nightshift resume`,
    )

  const manual = manualRequest(request, { by, reason, at: now })
  const schemas = SchemaSet.load()
  const id = await registry.idOf(valueSubject(requests), schemas.resolve('ActionRequest'))
  const ran: RanEvent = {
    event: 'ran',
    at: now,
    by,
    reason,
    action,
    fingerprint,
    idempotencyKey: key,
    skipped: skipped.idempotencyKey,
    pause: skipped.output.pause ?? null,
  }
  await send(settings, [
    historyRecord(ran, names.controlHistory),
    { topic: requests, key: fingerprint, value: await registry.encode(id, manual), timestamp: String(now) },
  ])
  await new Promise<void>((resolve) => logger.flush(() => resolve()))
  print(
    [
      `requested ${action} for ${fingerprint} by hand (by ${by}: ${reason})`,
      `  skipped at ${new Date(skipped.finishedAt).toISOString()}: ${skipped.detail ?? 'skipped_paused'}`,
      `  new idempotency key ${key}, written to ${requests}; the worker runs it with the usual guarantees`,
      `  follow it with: nightshift trace ${fingerprint}`,
    ].join('\n'),
  )
}
