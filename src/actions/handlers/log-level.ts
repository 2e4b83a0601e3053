/**
 * The `log-level` action: raises a logger's level through the service's admin endpoint
 * for a while, and schedules putting it back (a {@link RevertPlan} the worker stores in
 * its ledger and runs with {@link ActionHandler.revert}, also after a restart).
 *
 * Two flavours of endpoint:
 * - `spring` (Spring Boot actuator, /actuator/loggers): `GET {url}/{logger}` reads the
 *   configured level (null when the logger inherits), `POST {url}/{logger}` with
 *   `{"configuredLevel":"DEBUG"}` sets it; the revert posts the level read before, null
 *   included (null makes the logger inherit again, exactly its previous state).
 * - `generic`: one `{method} {url}` with the form `logger=<name>&level=<LEVEL>`; the old
 *   level is read from a JSON answer `{"previousLevel": "..."}`, else the configured
 *   `generic.revertLevel`; the revert sends the same form with the old level.
 *
 * What must hold:
 * - the logger name never changes the request path: it is percent-encoded into one path
 *   segment, and names with `/` or `..` (or `.`) are refused;
 * - revert params are plain strings with no secret: header secrets stay `${env:NAME}` in
 *   the config and are filled again from the context at revert time;
 * - when the logger already has the requested level nothing changes and no revert is
 *   scheduled. That keeps two overlapping raises (two alerts of one service) from
 *   reverting the logger to the raised level for good: the first raise's revert puts back
 *   the original level (the second raise ends with it).
 */
import { formatDurationShort, parseDuration } from '../../config/duration'
import type { ActionRequestRecord } from '../../contracts/records'
import { ConfigError } from '../../errors'
import {
  attemptHttp,
  describeRequest,
  fillConfiguredHeaders,
  isRecord,
  ownString,
  parseHttpUrl,
  redactUrl,
  validateHeaderMap,
  type HttpResponse,
} from './http'
import type { ActionHandler, HandlerContext, HandlerResult, RevertPlan } from './types'

/** Levels a request may ask for (Spring Boot's LogLevel); sent upper-case. */
export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL', 'OFF'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export const LOG_LEVEL_FLAVOURS = ['spring', 'generic'] as const
export type LogLevelFlavour = (typeof LOG_LEVEL_FLAVOURS)[number]

/** Methods the generic flavour may use (they carry the form body). */
export const GENERIC_LOG_LEVEL_METHODS = ['POST', 'PUT', 'PATCH'] as const

/** How a null configured level (the logger inherits its parent's) is shown in outputs and revert params. */
export const INHERITED_LEVEL = '(inherited)'

export const DEFAULT_LOG_LEVEL_DURATION = '15m'
export const DEFAULT_LOG_LEVEL_MAX_DURATION = '4h'

/** The generic flavour's settings. */
export interface GenericLogLevelConfig {
  /** Method of the one request; POST, PUT or PATCH. Default POST. */
  method?: string
  /** Level the revert sets when the service does not report the previous one. Default INFO. */
  revertLevel?: string
}

/** The `log-level` action's configuration (`actions.log-level.config` in topology/actions.yaml). */
export interface LogLevelConfig {
  /** Endpoint flavour when the request does not say (`params.flavour`). Default spring. */
  flavour?: LogLevelFlavour
  /** How long a raise lasts when the request has no `params.duration`. Default 15m. */
  defaultDuration?: string
  /** Longest `params.duration` accepted; longer is a final failure. Default 4h. */
  maxDuration?: string
  /** Headers sent with every request (e.g. `Authorization: Bearer ${env:ADMIN_TOKEN}`). */
  headers?: Record<string, string>
  generic?: GenericLogLevelConfig
}

interface ValidLogLevelConfig {
  readonly flavour: LogLevelFlavour
  readonly defaultDurationMs: number
  readonly maxDurationMs: number
  readonly maxDuration: string
  readonly headers: Readonly<Record<string, string>>
  readonly generic: { readonly method: string; readonly revertLevel: LogLevel }
}

const AT = 'log-level.config'
const TOP_KEYS = ['flavour', 'defaultDuration', 'maxDuration', 'headers', 'generic']
const GENERIC_KEYS = ['method', 'revertLevel']
/** Headers the handler sets itself; a configured one would be sent twice. */
const SET_BY_HANDLER = ['accept', 'content-type']

function unknownKeys(value: Record<string, unknown>, allowed: readonly string[], at: string, problems: string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) problems.push(`${at}.${key}: is not allowed; expected one of: ${allowed.join(', ')}`)
  }
}

function toLevel(value: string): LogLevel | undefined {
  const upper = value.trim().toUpperCase()
  return (LOG_LEVELS as readonly string[]).includes(upper) ? (upper as LogLevel) : undefined
}

/** Parses a duration, or pushes `<at>: <what is wrong>`. */
function duration(value: unknown, at: string, problems: string[]): number | undefined {
  if (typeof value !== 'string') {
    problems.push(`${at}: must be a duration string like 15m or 1h30m`)
    return undefined
  }
  try {
    return parseDuration(value, at)
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    problems.push(message.startsWith(`${at} `) ? `${at}:${message.slice(at.length)}` : message)
    return undefined
  }
}

/**
 * Validates the configuration; undefined or null means all defaults.
 * @throws ConfigError listing every problem, each naming its path (`log-level.config.<path>`) and what is wrong.
 */
function validateLogLevelConfig(config: unknown): ValidLogLevelConfig {
  const problems: string[] = []
  const raw: Record<string, unknown> = config === undefined || config === null ? {} : isRecord(config) ? config : {}
  if (config !== undefined && config !== null && !isRecord(config)) problems.push(`${AT}: must be an object`)
  unknownKeys(raw, TOP_KEYS, AT, problems)

  let flavour: LogLevelFlavour = 'spring'
  if (raw.flavour !== undefined) {
    if (typeof raw.flavour === 'string' && (LOG_LEVEL_FLAVOURS as readonly string[]).includes(raw.flavour))
      flavour = raw.flavour as LogLevelFlavour
    else
      problems.push(
        `${AT}.flavour: must be one of ${LOG_LEVEL_FLAVOURS.join(', ')}, got ${JSON.stringify(raw.flavour)}`,
      )
  }
  const maxDuration = typeof raw.maxDuration === 'string' ? raw.maxDuration.trim() : DEFAULT_LOG_LEVEL_MAX_DURATION
  const defaultDuration = raw.defaultDuration === undefined ? DEFAULT_LOG_LEVEL_DURATION : raw.defaultDuration
  const defaultDurationMs = duration(defaultDuration, `${AT}.defaultDuration`, problems)
  const maxDurationMs = duration(
    raw.maxDuration === undefined ? DEFAULT_LOG_LEVEL_MAX_DURATION : raw.maxDuration,
    `${AT}.maxDuration`,
    problems,
  )
  if (defaultDurationMs !== undefined && maxDurationMs !== undefined && defaultDurationMs > maxDurationMs) {
    problems.push(`${AT}.defaultDuration: ${String(defaultDuration)} is longer than maxDuration ${maxDuration}`)
  }
  const headers =
    raw.headers === undefined ? {} : validateHeaderMap(raw.headers, `${AT}.headers`, problems, SET_BY_HANDLER)

  let method = 'POST'
  let revertLevel: LogLevel = 'INFO'
  if (raw.generic !== undefined) {
    if (!isRecord(raw.generic)) problems.push(`${AT}.generic: must be an object with method and revertLevel`)
    else {
      unknownKeys(raw.generic, GENERIC_KEYS, `${AT}.generic`, problems)
      const { method: m, revertLevel: r } = raw.generic
      if (m !== undefined) {
        const upper = typeof m === 'string' ? m.toUpperCase() : undefined
        if (upper !== undefined && (GENERIC_LOG_LEVEL_METHODS as readonly string[]).includes(upper)) method = upper
        else
          problems.push(
            `${AT}.generic.method: must be one of ${GENERIC_LOG_LEVEL_METHODS.join(', ')}, got ${JSON.stringify(m)}`,
          )
      }
      if (r !== undefined) {
        const level = typeof r === 'string' ? toLevel(r) : undefined
        if (level) revertLevel = level
        else
          problems.push(`${AT}.generic.revertLevel: must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(r)}`)
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(`invalid log-level action config:\n  ${problems.join('\n  ')}`)
  return Object.freeze({
    flavour,
    defaultDurationMs: defaultDurationMs!,
    maxDurationMs: maxDurationMs!,
    maxDuration,
    headers: Object.freeze(headers),
    generic: Object.freeze({ method, revertLevel }),
  })
}

/** Where a logger is changed. */
interface Target {
  readonly flavour: LogLevelFlavour
  /** The endpoint as the request gave it (revert params keep it). */
  readonly url: string
  readonly logger: string
  /** What is called: spring `{url}/{encoded logger}`, generic `{url}`. */
  readonly endpoint: string
  readonly method: string
}

interface RaisePlan extends Target {
  readonly level: LogLevel
  readonly durationMs: number
}

/** The target of a request or revert, or pushes what is wrong (`at` names where the values came from). */
function toTarget(
  flavour: LogLevelFlavour,
  url: string | undefined,
  logger: string,
  method: string,
  at: string,
  problems: string[],
): Target | undefined {
  const before = problems.length
  const parsed = url === undefined || url === '' ? undefined : parseHttpUrl(url)
  if (parsed === undefined) problems.push(`${at}.url is required`)
  else if (typeof parsed === 'string') problems.push(`${at}.url: ${parsed}`)
  if (logger === '') problems.push(`${at}.logger must not be empty`)
  else if (flavour === 'spring' && (logger.includes('/') || logger.includes('..') || logger === '.')) {
    // The name becomes a path segment; one of these would change which endpoint is called.
    problems.push(`${at}.logger ${JSON.stringify(logger)} is not a logger name (no "/", no "..")`)
  }
  if (problems.length > before || parsed === undefined || typeof parsed === 'string') return undefined
  let endpoint = parsed.toString()
  if (flavour === 'spring') {
    parsed.pathname = `${parsed.pathname.replace(/\/+$/, '')}/${encodeURIComponent(logger)}`
    endpoint = parsed.toString()
  }
  return { flavour, url: url!, logger, endpoint, method }
}

function planRaise(config: ValidLogLevelConfig, request: ActionRequestRecord): RaisePlan | { problems: string[] } {
  const problems: string[] = []
  const params = request.params
  const flavourParam = ownString(params, 'flavour')
  let flavour = config.flavour
  if (flavourParam !== undefined) {
    if ((LOG_LEVEL_FLAVOURS as readonly string[]).includes(flavourParam)) flavour = flavourParam as LogLevelFlavour
    else
      problems.push(
        `params.flavour must be one of ${LOG_LEVEL_FLAVOURS.join(', ')}, got ${JSON.stringify(flavourParam)}`,
      )
  }
  const levelParam = ownString(params, 'level')
  const level = levelParam === undefined ? undefined : toLevel(levelParam)
  if (levelParam === undefined) problems.push(`params.level is required (one of ${LOG_LEVELS.join(', ')})`)
  else if (!level)
    problems.push(`params.level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(levelParam)}`)
  const durationParam = ownString(params, 'duration')
  let durationMs: number | undefined = config.defaultDurationMs
  if (durationParam !== undefined) {
    durationMs = duration(durationParam, 'params.duration', problems)
    if (durationMs !== undefined && durationMs > config.maxDurationMs) {
      problems.push(
        `params.duration ${durationParam} is longer than the maximum ${config.maxDuration} (${AT}.maxDuration)`,
      )
      durationMs = undefined
    }
  }
  const target = toTarget(
    flavour,
    ownString(params, 'url'),
    ownString(params, 'logger') ?? 'ROOT',
    config.generic.method,
    'params',
    problems,
  )
  if (problems.length > 0 || !target || !level || durationMs === undefined) return { problems }
  return { ...target, level, durationMs }
}

function fail(retriable: boolean, detail: string, output: Record<string, string> = {}): HandlerResult {
  return { ok: false, retriable, detail, output }
}

function shown(level: LogLevel | null): string {
  return level ?? INHERITED_LEVEL
}

function springBody(level: LogLevel | null): string {
  return JSON.stringify({ configuredLevel: level })
}

function genericBody(logger: string, level: LogLevel): string {
  return new URLSearchParams({ logger, level }).toString()
}

/** The configured level from a Spring Boot loggers answer (`null`: inherits), or what is wrong with it. */
function springConfiguredLevel(response: HttpResponse): { level: LogLevel | null } | string {
  if (response.complete === undefined) return 'the answer is too large'
  let body: unknown
  try {
    body = JSON.parse(response.complete)
  } catch {
    return 'the answer is not JSON'
  }
  if (!isRecord(body)) return 'the answer is not a JSON object'
  const configured = body.configuredLevel
  if (configured === undefined || configured === null) return { level: null }
  const level = typeof configured === 'string' ? toLevel(configured) : undefined
  return level ? { level } : `configuredLevel ${JSON.stringify(configured)} is not one of ${LOG_LEVELS.join(', ')}`
}

/** The previous level a generic endpoint reported (`{"previousLevel": "..."}`), if any. */
function genericPreviousLevel(response: HttpResponse): LogLevel | undefined {
  if (response.complete === undefined || response.complete.trim() === '') return undefined
  try {
    const body: unknown = JSON.parse(response.complete)
    return isRecord(body) && typeof body.previousLevel === 'string' ? toLevel(body.previousLevel) : undefined
  } catch {
    return undefined
  }
}

function revertParams(target: Target, level: LogLevel, previous: LogLevel | null): Record<string, string> {
  const params: Record<string, string> = {
    flavour: target.flavour,
    url: target.url,
    logger: target.logger,
    level,
    previousLevel: shown(previous),
  }
  if (target.flavour === 'generic') params.method = target.method
  return params
}

function raised(
  plan: RaisePlan,
  previous: LogLevel | null,
  status: number,
  how = '',
  extra: Record<string, string> = {},
): HandlerResult {
  const revert: RevertPlan = { afterMs: plan.durationMs, params: revertParams(plan, plan.level, previous) }
  return {
    ok: true,
    retriable: false,
    detail: `logger ${plan.logger} of ${redactUrl(plan.url)} set to ${plan.level} (was ${shown(previous)}${how}); back in ${formatDurationShort(plan.durationMs)}`,
    output: {
      flavour: plan.flavour,
      logger: plan.logger,
      level: plan.level,
      previousLevel: shown(previous),
      revertAfterMs: String(plan.durationMs),
      httpStatus: String(status),
      ...extra,
    },
    revert,
  }
}

function unchanged(plan: RaisePlan, status: number): HandlerResult {
  return {
    ok: true,
    retriable: false,
    detail: `logger ${plan.logger} of ${redactUrl(plan.url)} was already at ${plan.level}; nothing changed, no revert scheduled`,
    output: {
      flavour: plan.flavour,
      logger: plan.logger,
      level: plan.level,
      previousLevel: plan.level,
      httpStatus: String(status),
      unchanged: 'true',
    },
  }
}

async function raiseSpring(
  plan: RaisePlan,
  headers: Record<string, string>,
  context: HandlerContext,
): Promise<HandlerResult> {
  const where = redactUrl(plan.endpoint)
  const base = { flavour: plan.flavour, logger: plan.logger, level: plan.level }
  const read = await attemptHttp(
    `GET ${where}`,
    { method: 'GET', url: plan.endpoint, headers: { ...headers, accept: 'application/json' }, signal: context.signal },
    base,
  )
  if (!read.result.ok || !read.response) return read.result
  const current = springConfiguredLevel(read.response)
  if (typeof current === 'string') {
    return fail(
      false,
      `GET ${where} answered ${read.response.status} but not as a Spring Boot loggers endpoint: ${current}; nothing changed`,
      read.result.output,
    )
  }
  if (current.level === plan.level) return unchanged(plan, read.response.status)
  const write = await attemptHttp(
    `POST ${where}`,
    {
      method: 'POST',
      url: plan.endpoint,
      headers: { ...headers, 'content-type': 'application/json' },
      body: springBody(plan.level),
      signal: context.signal,
    },
    { ...base, previousLevel: shown(current.level) },
  )
  if (!write.result.ok || !write.response) {
    // No answer or a 5xx: the level may have been set all the same. The level read
    // before is known, so the revert is planned anyway (putting back an unchanged value
    // is harmless); a refusal (4xx) changed nothing.
    if (!write.result.retriable) return write.result
    return {
      ...write.result,
      revert: { afterMs: plan.durationMs, params: revertParams(plan, plan.level, current.level) },
    }
  }
  return raised(plan, current.level, write.response.status)
}

async function raiseGeneric(
  config: ValidLogLevelConfig,
  plan: RaisePlan,
  headers: Record<string, string>,
  context: HandlerContext,
): Promise<HandlerResult> {
  const what = `${plan.method} ${redactUrl(plan.endpoint)}`
  const base = { flavour: plan.flavour, logger: plan.logger, level: plan.level }
  const write = await attemptHttp(
    what,
    {
      method: plan.method,
      url: plan.endpoint,
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: genericBody(plan.logger, plan.level),
      signal: context.signal,
    },
    base,
  )
  if (!write.result.ok || !write.response) return write.result
  const reported = genericPreviousLevel(write.response)
  if (reported === plan.level) return unchanged(plan, write.response.status)
  if (reported) return raised(plan, reported, write.response.status, '', { previousLevelFrom: 'service' })
  const how = `: the service did not report it, so ${AT}.generic.revertLevel`
  return raised(plan, config.generic.revertLevel, write.response.status, how, { previousLevelFrom: 'config' })
}

/** A stored revert's params, checked again: the ledger may hold them from an older version. */
function planRevert(
  config: ValidLogLevelConfig,
  params: Record<string, string>,
): { target: Target; previous: LogLevel | null } | { problems: string[] } {
  const problems: string[] = []
  const flavour = ownString(params, 'flavour')
  if (flavour === undefined || !(LOG_LEVEL_FLAVOURS as readonly string[]).includes(flavour)) {
    return {
      problems: [
        `revert params.flavour must be one of ${LOG_LEVEL_FLAVOURS.join(', ')}, got ${JSON.stringify(flavour ?? null)}`,
      ],
    }
  }
  const previousParam = ownString(params, 'previousLevel')
  const previous =
    previousParam === INHERITED_LEVEL && flavour === 'spring'
      ? null
      : previousParam === undefined
        ? undefined
        : toLevel(previousParam)
  if (previous === undefined)
    problems.push(
      `revert params.previousLevel must be one of ${LOG_LEVELS.join(', ')}${flavour === 'spring' ? ` or ${INHERITED_LEVEL}` : ''}, got ${JSON.stringify(previousParam ?? null)}`,
    )
  const methodParam = ownString(params, 'method') ?? config.generic.method
  const method = methodParam.toUpperCase()
  if (flavour === 'generic' && !(GENERIC_LOG_LEVEL_METHODS as readonly string[]).includes(method))
    problems.push(
      `revert params.method must be one of ${GENERIC_LOG_LEVEL_METHODS.join(', ')}, got ${JSON.stringify(methodParam)}`,
    )
  const target = toTarget(
    flavour as LogLevelFlavour,
    ownString(params, 'url'),
    ownString(params, 'logger') ?? '',
    method,
    'revert params',
    problems,
  )
  if (problems.length > 0 || !target || previous === undefined) return { problems }
  return { target, previous }
}

/**
 * Creates the `log-level` action handler. Request params: `url` (the loggers endpoint),
 * `logger` (default ROOT), `level`, `duration` (default `defaultDuration`, at most
 * `maxDuration`), `flavour` (overrides the config's). Other params are ignored. Results:
 * - level set → ok, with a revert after `duration` (params: flavour, url, logger, level,
 *   previousLevel, and method for generic);
 * - the logger already at the level → ok, nothing changed, no revert (`unchanged`);
 * - a bad param, a hostile logger name, a missing secret, an answer that is not a loggers
 *   endpoint's → failed, final, nothing changed;
 * - HTTP failures as mapped by http.ts (a failed GET changes nothing). A spring write
 *   whose effect is unknown (no answer, 5xx) carries a revert to the level read before:
 *   the worker keeps the first attempt's and schedules it even when the request fails. A
 *   generic write does not (its previous level is only known from a good answer).
 *
 * Output: `flavour`, `logger`, `level`, `previousLevel` (`(inherited)` for null),
 * `revertAfterMs`, `httpStatus`; `previousLevelFrom` (generic: `service` or `config`);
 * `unchanged` when nothing was changed.
 * @throws ConfigError when the configuration is invalid.
 */
export function createLogLevelHandler(config: unknown): ActionHandler {
  const valid = validateLogLevelConfig(config)
  return Object.freeze({
    name: 'log-level',
    describe(request: ActionRequestRecord): string {
      const plan = planRaise(valid, request)
      if ('problems' in plan) return `log-level: ${plan.problems.join('; ')} (would fail)`
      const back = `; revert after ${formatDurationShort(plan.durationMs)}`
      if (plan.flavour === 'generic')
        return `${describeRequest(plan.method, plan.endpoint, genericBody(plan.logger, plan.level))}${back}`
      return `GET ${redactUrl(plan.endpoint)}, then ${describeRequest('POST', plan.endpoint, springBody(plan.level))}${back}`
    },
    async run(request: ActionRequestRecord, context: HandlerContext): Promise<HandlerResult> {
      const plan = planRaise(valid, request)
      if ('problems' in plan) return fail(false, `log-level: ${plan.problems.join('; ')}`)
      const headers = fillConfiguredHeaders(valid.headers, context.env, `${AT}.headers`)
      if (typeof headers === 'string')
        return fail(false, `log-level: ${headers}`, { flavour: plan.flavour, logger: plan.logger, level: plan.level })
      return plan.flavour === 'spring'
        ? raiseSpring(plan, headers, context)
        : raiseGeneric(valid, plan, headers, context)
    },
    async revert(params: Record<string, string>, context: HandlerContext): Promise<HandlerResult> {
      const plan = planRevert(valid, params)
      if ('problems' in plan) return fail(false, `log-level revert: ${plan.problems.join('; ')}`)
      const { target, previous } = plan
      const base = { flavour: target.flavour, logger: target.logger, level: shown(previous) }
      const headers = fillConfiguredHeaders(valid.headers, context.env, `${AT}.headers`)
      if (typeof headers === 'string') return fail(false, `log-level revert: ${headers}`, base)
      const sent =
        target.flavour === 'spring'
          ? await attemptHttp(
              `POST ${redactUrl(target.endpoint)}`,
              {
                method: 'POST',
                url: target.endpoint,
                headers: { ...headers, 'content-type': 'application/json' },
                body: springBody(previous),
                signal: context.signal,
              },
              base,
            )
          : await attemptHttp(
              `${target.method} ${redactUrl(target.endpoint)}`,
              // planRevert refuses an inherited level for generic: previous is a level here.
              {
                method: target.method,
                url: target.endpoint,
                headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
                body: genericBody(target.logger, previous ?? valid.generic.revertLevel),
                signal: context.signal,
              },
              base,
            )
      if (!sent.result.ok || !sent.response) return sent.result
      return {
        ok: true,
        retriable: false,
        detail: `logger ${target.logger} of ${redactUrl(target.url)} back to ${shown(previous)}`,
        output: { ...base, httpStatus: String(sent.response.status) },
      }
    },
  })
}
