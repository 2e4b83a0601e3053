/**
 * The console's JSON API, under `/api/console/`: what the page reads (from the views the
 * process keeps, never from a topic per request) and the operator's actions, each a
 * record naming who:
 *
 * - `GET whoami`, `GET now`, `GET actions`, `GET actions/:key`, `GET alert`, `GET slos`;
 * - `GET events`: server-sent events of the views' news, a comment every 15 s so that
 *   proxies and browsers keep the stream open;
 * - `POST pauses`, `POST pauses/:id/lift`: what `nightshift pause` and `resume` write
 *   (the control record and its history event);
 * - `POST approvals/:id/approve|deny`: an answer through {@link submitAnswer}, via `http`,
 *   by the console user.
 *
 * Access (src/console/access.ts) lets a request in and sets who made it; the state-
 * changing routes also need the operator role and the CSRF header. The routes live in a
 * plugin of their own that parses only JSON bodies: a cross-site form cannot send one
 * without the browser asking first.
 */
import type { Registry as MetricsRegistry } from 'prom-client'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ServerResponse } from 'node:http'
import { submitAnswer, describeAlready, describeClosed, type SubmitResult } from '../actions/worker/answers'
import { describeAnswer, isApprovalId, type ApprovalAnswer, type ApprovalDecision } from '../actions/worker/approvals'
import { pauseKey, pauseRecord, pauseToJson, resumeRecord } from '../actions/worker/control'
import { historyRecord, liftedEvent, pausedEvent } from '../actions/worker/history'
import { describeLift, describePause, newPause, type Pause, type PauseScope } from '../actions/worker/pause'
import { parseDuration } from '../config/duration'
import type { ConfigMetrics } from '../config/watched-file'
import type { SloReportRow } from '../stages/slo/report'
import { ConfigError, NightshiftError, describeError } from '../errors'
import { HTTP_ERROR_CODES, sendError } from '../http/errors'
import { RecordProducer, type KafkaSettings, type OutRecord, type Registry } from '../kafka'
import type { Logger } from '../log'
import { parseMatchers } from '../matchers'
import type { StageMetrics } from '../runner/metrics'
import type { TopicNames } from '../topology/names'
import { CSRF_HEADER, type ActionQuery, type ConsoleEvent, type ConsoleUser, type ConsoleViews } from './types'

/** Largest JSON body the console's routes read. */
const BODY_LIMIT_BYTES = 16 * 1024
const REASON_MAX = 2000
/** How long `GET now` waits for the consumer lag before answering without it. */
const LAG_TIMEOUT_MS = 2000
/** Stories `GET alert?matchers=` returns at most (the fingerprints are all listed). */
const STORIES_MAX = 10

/**
 * What the API needs of access (src/console/access.ts): hooks in fastify's shape, run in
 * order. `authenticate` answers the request itself (401, 403) or lets it in with
 * `request.consoleUser` set; `requireOperator` (after it, on state-changing routes)
 * refuses a viewer and a request without the CSRF header or from another origin.
 */
export interface ConsoleAccessHooks {
  authenticate(request: FastifyRequest, reply: FastifyReply): Promise<unknown>
  requireOperator(request: FastifyRequest, reply: FastifyReply): Promise<unknown>
}

export interface ConsoleRoutesOptions {
  views: ConsoleViews
  /** Who may look and act; without it everyone is an operator (tests, a console on 127.0.0.1 only). */
  access?: ConsoleAccessHooks
  kafka: KafkaSettings
  registry: Registry
  topics: Pick<TopicNames, 'control' | 'controlHistory' | 'ledger'>
  logger: Logger
  /** What `/api/slo` reports; undefined when this process cannot tell (no slos.yaml). */
  slos?: () => SloReportRow[] | undefined
  /** The process's stage metrics: consumer lag of the stages it runs. */
  stageMetrics?: StageMetrics
  /** The process's config metrics: whether each watched file's last edit was taken. */
  configMetrics?: ConfigMetrics
  /**
   * The process's metrics registry: the action workers' requests running now and open
   * circuits (both kept in memory by the workers of this process only).
   */
  metrics?: MetricsRegistry
  /** The clock (default: Date.now). */
  now?: () => number
  /** Comment sent on the event stream this often (default 15 s). */
  heartbeatMs?: number
  /** Writes an answer (default: {@link submitAnswer}); tests replace it. */
  submit?: (answer: ApprovalAnswer) => Promise<SubmitResult>
  /** Produces records (default: a RecordProducer on `kafka`); tests replace it. */
  send?: (records: OutRecord[]) => Promise<void>
}

/** Who everyone is without access configured. */
const OPEN_USER: ConsoleUser = { name: 'local', role: 'operator', open: true }

/** The user access let in (set by its authenticate hook). */
export function consoleUserOf(request: FastifyRequest): ConsoleUser {
  return (request as FastifyRequest & { consoleUser?: ConsoleUser }).consoleUser ?? OPEN_USER
}

/** Without access: everyone is the open user, and a state-changing request still needs the CSRF header. */
function openAccess(): ConsoleAccessHooks {
  return {
    async authenticate(request) {
      ;(request as FastifyRequest & { consoleUser?: ConsoleUser }).consoleUser = OPEN_USER
    },
    async requireOperator(request, reply) {
      if (request.headers[CSRF_HEADER] === undefined)
        return sendError(reply, 403, HTTP_ERROR_CODES.forbidden, `missing the ${CSRF_HEADER} header`)
      return undefined
    },
  }
}

// ---------------------------------------------------------------- parsing

type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string }

const ACTION_QUERY_TEXT = ['team', 'service', 'action', 'status', 'cursor'] as const

/** A time of the query string: ms since the epoch or an ISO 8601 date. */
function parseTime(text: string, name: string): Parsed<number> {
  const value = /^\d+$/.test(text) ? Number(text) : Date.parse(text)
  if (!Number.isFinite(value)) return { ok: false, reason: `${name} must be ms since the epoch or an ISO 8601 time` }
  return { ok: true, value }
}

/** The filters of `GET actions` from its query string; blank fields are no filter. */
export function parseActionQuery(query: Readonly<Record<string, unknown>>): Parsed<ActionQuery> {
  const known = new Set<string>([...ACTION_QUERY_TEXT, 'since', 'until', 'limit'])
  const unknown = Object.keys(query).filter((k) => !known.has(k))
  if (unknown.length > 0) return { ok: false, reason: `unknown parameter(s) ${unknown.join(', ')}` }
  const text = (name: string): string | undefined => {
    const v = query[name]
    const s = Array.isArray(v) ? v[0] : v
    return typeof s === 'string' && s.trim() !== '' ? s.trim() : undefined
  }
  const result: ActionQuery = {}
  for (const name of ACTION_QUERY_TEXT) {
    const v = text(name)
    if (v !== undefined) result[name] = v
  }
  for (const name of ['since', 'until'] as const) {
    const v = text(name)
    if (v === undefined) continue
    const t = parseTime(v, name)
    if (!t.ok) return t
    result[name] = t.value
  }
  const limit = text('limit')
  if (limit !== undefined) {
    const n = Number(limit)
    if (!Number.isInteger(n) || n < 1 || n > 500)
      return { ok: false, reason: 'limit must be a whole number from 1 to 500' }
    result.limit = n
  }
  return { ok: true, value: result }
}

/** The JSON object of a body, or why it is not one. Only the named fields are allowed. */
function objectBody(body: unknown, fields: readonly string[]): Parsed<Record<string, unknown>> {
  if (body === undefined || body === null) return { ok: true, value: {} }
  if (typeof body !== 'object' || Array.isArray(body)) return { ok: false, reason: 'the body must be a JSON object' }
  const unknown = Object.keys(body).filter((k) => !fields.includes(k))
  if (unknown.length > 0)
    return { ok: false, reason: `unknown field(s) ${unknown.join(', ')}; the body takes ${fields.join(', ')}` }
  return { ok: true, value: body as Record<string, unknown> }
}

function optionalText(body: Record<string, unknown>, name: string, max = REASON_MAX): Parsed<string | undefined> {
  const v = body[name]
  if (v === undefined || v === null) return { ok: true, value: undefined }
  if (typeof v !== 'string' || v.length > max)
    return { ok: false, reason: `${name} must be a string of at most ${max} characters` }
  return { ok: true, value: v.trim() === '' ? undefined : v.trim() }
}

/** What `POST pauses` takes: the same as `nightshift pause`. */
export interface PauseRequest {
  scope: PauseScope
  /** Matcher texts, each possibly a set (`{a="b", c=~"d"}`). */
  matchers: string[]
  forMs: number
  reason: string
  escalate: boolean
}

const PAUSE_FIELDS = ['team', 'service', 'action', 'matchers', 'for', 'reason', 'escalate'] as const

/** Checks a `POST pauses` body; the pause itself is validated by {@link newPause}. */
export function parsePauseBody(body: unknown): Parsed<PauseRequest> {
  const o = objectBody(body, PAUSE_FIELDS)
  if (!o.ok) return o
  const scope: PauseScope = {}
  for (const field of ['team', 'service', 'action'] as const) {
    const v = optionalText(o.value, field, 200)
    if (!v.ok) return v
    if (v.value !== undefined) scope[field] = v.value
  }
  const raw = o.value.matchers
  const list = raw === undefined || raw === null ? [] : typeof raw === 'string' ? [raw] : raw
  if (!Array.isArray(list) || !list.every((m): m is string => typeof m === 'string'))
    return { ok: false, reason: 'matchers must be a string or a list of strings (alertname="DiskFull")' }
  const forText = o.value.for
  if (typeof forText !== 'string' || forText.trim() === '')
    return { ok: false, reason: 'for is required: how long, e.g. "30m", "2h"' }
  let forMs: number
  try {
    forMs = parseDuration(forText.trim(), 'for')
  } catch (err) {
    return { ok: false, reason: describeError(err) }
  }
  const reason = optionalText(o.value, 'reason')
  if (!reason.ok) return reason
  const escalate = o.value.escalate
  if (escalate !== undefined && typeof escalate !== 'boolean')
    return { ok: false, reason: 'escalate must be true or false' }
  return {
    ok: true,
    value: {
      scope,
      matchers: list.map((m) => m.trim()).filter((m) => m !== ''),
      forMs,
      reason: reason.value ?? '',
      escalate: escalate === true,
    },
  }
}

// ---------------------------------------------------------------- answers

/** The status and body of a submitted approval answer (as /api/approvals answers). */
export function answerReply(id: string, result: SubmitResult): { status: number; body: Record<string, unknown> } {
  switch (result.status) {
    case 'recorded':
      return {
        status: 200,
        body: { status: 'recorded', message: describeAnswer(result.answer), answer: result.answer },
      }
    case 'already':
      return {
        status: 409,
        body: { status: 'already', message: `approval ${id}: ${describeAlready(result.first)}`, first: result.first },
      }
    case 'closed':
      return {
        status: 410,
        body: {
          status: 'closed',
          message: `approval ${id} no longer waits for an answer: ${describeClosed(result.entry)}`,
          closed: { kind: result.entry.kind, status: result.entry.status, at: result.entry.at },
        },
      }
    case 'unknown':
      return { status: 404, body: { status: 'unknown', message: `no request waits for approval ${id}` } }
  }
}

// ---------------------------------------------------------------- now

/** One stage's lag, summed over its partitions. */
interface StageLag {
  stage: string
  group: string
  topic: string
  lag: number
}

async function lagOf(metrics: StageMetrics): Promise<StageLag[]> {
  const probes = [...metrics.lagProbes].map((probe) => probe())
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('lag probe timed out')), LAG_TIMEOUT_MS)
    timer.unref()
  })
  try {
    const results = await Promise.all(probes.map((p) => Promise.race([p, timeout]).catch(() => [])))
    const sums = new Map<string, StageLag>()
    for (const l of results.flat()) {
      const k = `${l.stage}\u0000${l.group}\u0000${l.topic}`
      const entry = sums.get(k) ?? { stage: l.stage, group: l.group, topic: l.topic, lag: 0 }
      entry.lag += l.lag
      sums.set(k, entry)
    }
    return [...sums.values()].sort((a, b) => a.stage.localeCompare(b.stage) || a.topic.localeCompare(b.topic))
  } finally {
    clearTimeout(timer)
  }
}

/** This process's action workers: requests running now per action, and circuits open per (action, service). */
async function workersOf(metrics: MetricsRegistry): Promise<{
  running: Array<{ action: string; count: number }>
  circuits: Array<{ action: string; service: string }>
}> {
  const values = async (name: string) => (await metrics.getSingleMetric(name)?.get())?.values ?? []
  const [inFlight, open] = await Promise.all([
    values('nightshift_action_in_flight'),
    values('nightshift_action_circuit_open'),
  ])
  return {
    running: inFlight.filter((v) => v.value > 0).map((v) => ({ action: String(v.labels.action), count: v.value })),
    circuits: open
      .filter((v) => v.value === 1)
      .map((v) => ({ action: String(v.labels.action), service: String(v.labels.service) })),
  }
}

/** Each watched file: whether its last edit was taken, and when the running version was loaded. */
async function configStateOf(
  metrics: ConfigMetrics,
): Promise<Array<{ file: string; ok: boolean; loadedAt: number | null; rejected: number }>> {
  const [valid, loadedAt, reloads] = await Promise.all([
    metrics.valid.get(),
    metrics.loadedAt.get(),
    metrics.reloads.get(),
  ])
  const loaded = new Map(loadedAt.values.map((v) => [String(v.labels.file), v.value]))
  const rejected = new Map(
    reloads.values.filter((v) => v.labels.result === 'rejected').map((v) => [String(v.labels.file), v.value]),
  )
  return valid.values
    .map((v) => {
      const file = String(v.labels.file)
      const at = loaded.get(file)
      return {
        file,
        ok: v.value === 1,
        loadedAt: at === undefined ? null : Math.round(at * 1000),
        rejected: rejected.get(file) ?? 0,
      }
    })
    .sort((a, b) => a.file.localeCompare(b.file))
}

/** A pause as the page shows it: its JSON, the time it has left, and the line `nightshift pauses` prints. */
function pauseView(pause: Pause, now: number): Record<string, unknown> {
  return { ...pauseToJson(pause), timeLeftMs: Math.max(0, pause.until - now), text: describePause(pause, now) }
}

// ---------------------------------------------------------------- routes

/** The server-sent events frame of `event`. */
export function eventFrame(event: ConsoleEvent): string {
  const data = event.kind === 'pause' ? { kind: 'pause', pause: pauseToJson(event.pause) } : event
  return `event: ${event.kind}\ndata: ${JSON.stringify(data)}\n\n`
}

/**
 * Registers the console's API on `server`. Everything under `/api/console/` is behind
 * access; a state-changing route also behind the operator check.
 */
export function registerConsoleRoutes(server: FastifyInstance, options: ConsoleRoutesOptions): void {
  const { views, topics } = options
  const now = options.now ?? Date.now
  const access = options.access ?? openAccess()
  const log = options.logger.child({ module: 'console-api' })
  const heartbeatMs = options.heartbeatMs ?? 15_000
  const submit =
    options.submit ??
    ((answer: ApprovalAnswer) =>
      submitAnswer({ kafka: options.kafka, registry: options.registry, topics: options.topics, answer }))
  const send =
    options.send ??
    (async (records: OutRecord[]) => {
      const producer = await RecordProducer.connect(options.kafka)
      try {
        await producer.send(records)
      } finally {
        await producer.disconnect()
      }
    })
  /** Open event streams, ended when the server closes (an open stream would hold the close). */
  const streams = new Set<() => void>()

  /** Kafka failed: 503 when it may pass, 500 otherwise; the message says nothing was done. */
  const failed = (reply: FastifyReply, err: unknown, what: string): FastifyReply => {
    const retriable = err instanceof NightshiftError && err.retriable
    log.error({ err }, `console: could not ${what}`)
    return sendError(
      reply,
      retriable ? 503 : 500,
      err instanceof NightshiftError ? err.code : HTTP_ERROR_CODES.internal,
      `could not ${what}: ${describeError(err)}; try again`,
    )
  }

  server.addHook('preClose', (done) => {
    for (const end of [...streams]) end()
    done()
  })

  void server.register(
    async (api) => {
      api.removeAllContentTypeParsers()
      api.addContentTypeParser(
        'application/json',
        { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES },
        (_request, body, done) => {
          const text = typeof body === 'string' ? body : body.toString('utf8')
          if (text.trim() === '') return done(null, undefined)
          try {
            done(null, JSON.parse(text))
          } catch {
            const err = new Error('the body is not JSON') as Error & { statusCode: number }
            err.statusCode = 400
            done(err, undefined)
          }
        },
      )
      api.addHook('onRequest', access.authenticate)
      const operator = { preHandler: access.requireOperator }
      const bad = (reply: FastifyReply, reason: string): FastifyReply =>
        sendError(reply, 400, HTTP_ERROR_CODES.badRequest, reason)

      api.get('/whoami', async (request) => ({ user: consoleUserOf(request), csrfHeader: CSRF_HEADER }))

      api.get('/now', async () => {
        const at = now()
        const [lag, config, workers] = await Promise.all([
          options.stageMetrics ? lagOf(options.stageMetrics) : undefined,
          options.configMetrics ? configStateOf(options.configMetrics) : undefined,
          options.metrics ? workersOf(options.metrics) : undefined,
        ])
        return {
          at,
          approvals: views.pendingApprovals().map((a) => ({
            ...a,
            timeLeftMs: a.timeoutAt === null ? null : Math.max(0, a.timeoutAt - at),
          })),
          held: views.held().map((h) => ({ ...h, timeLeftMs: h.until === null ? null : Math.max(0, h.until - at) })),
          pauses: views
            .pauses(at)
            .sort((a, b) => a.until - b.until)
            .map((p) => pauseView(p, at)),
          budgets: views.budgets().filter((b) => b.state !== 'ok'),
          progress: views.progress(),
          ...(lag === undefined ? {} : { lag }),
          ...(config === undefined ? {} : { config }),
          ...(workers === undefined ? {} : workers),
        }
      })

      api.get('/actions', async (request, reply) => {
        const query = parseActionQuery(request.query as Record<string, unknown>)
        if (!query.ok) return bad(reply, query.reason)
        return views.actions(query.value)
      })

      api.get<{ Params: { key: string } }>('/actions/:key', async (request, reply) => {
        const row = views.action(request.params.key)
        if (!row)
          return sendError(
            reply,
            404,
            HTTP_ERROR_CODES.notFound,
            `no action ${request.params.key} in the view (never seen, or no longer kept)`,
          )
        // Who paused it: the pause the outcome names, while the views still know it.
        const pauseId = row.outcome.output.pause
        const pause = pauseId === undefined ? undefined : views.pauses(now(), true).find((p) => p.id === pauseId)
        return pause ? { ...row, pause: pauseToJson(pause) } : row
      })

      api.get<{ Querystring: { fingerprint?: string; matchers?: string } }>('/alert', async (request, reply) => {
        const { fingerprint, matchers } = request.query
        if (fingerprint && fingerprint.trim() !== '') {
          const story = views.alert(fingerprint.trim())
          if (!story)
            return sendError(
              reply,
              404,
              HTTP_ERROR_CODES.notFound,
              `no records of alert ${fingerprint.trim()} in the views`,
            )
          return { fingerprints: [story.fingerprint], stories: [story] }
        }
        if (matchers && matchers.trim() !== '') {
          let fingerprints: string[]
          try {
            fingerprints = views.findAlerts(matchers.trim())
          } catch (err) {
            if (err instanceof ConfigError) return bad(reply, describeError(err))
            throw err
          }
          const stories = fingerprints.slice(0, STORIES_MAX).flatMap((f) => views.alert(f) ?? [])
          return { fingerprints, stories }
        }
        return bad(reply, 'give fingerprint=<16 hex digits> or matchers=<label matchers, e.g. alertname="DiskFull">')
      })

      api.get('/slos', async (_request, reply) => {
        const slos = options.slos?.()
        if (!slos)
          return sendError(reply, 404, HTTP_ERROR_CODES.notFound, 'no SLOs here: this process has no slos.yaml')
        return { generatedAt: new Date(now()).toISOString(), slos }
      })

      api.get('/events', (request, reply) => {
        reply.hijack()
        const raw: ServerResponse = reply.raw
        raw.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
        })
        raw.write('retry: 2000\n: connected\n\n')
        const unsubscribe = views.subscribe((event) => {
          raw.write(eventFrame(event))
        })
        const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), heartbeatMs)
        heartbeat.unref()
        const end = (): void => {
          if (!streams.delete(end)) return
          clearInterval(heartbeat)
          unsubscribe()
          raw.end()
        }
        streams.add(end)
        request.raw.on('close', end)
        raw.on('error', end)
      })

      api.post('/pauses', operator, async (request, reply) => {
        const user = consoleUserOf(request)
        const body = parsePauseBody(request.body)
        if (!body.ok) return bad(reply, body.reason)
        let pause: Pause
        try {
          const matchers = parseMatchers(body.value.matchers)
          pause = newPause({
            id: pauseKey(body.value.scope, matchers),
            scope: body.value.scope,
            matchers,
            reason: body.value.reason,
            forMs: body.value.forMs,
            now: now(),
            escalate: body.value.escalate,
            createdBy: user.name,
          })
        } catch (err) {
          if (err instanceof ConfigError) return bad(reply, describeError(err))
          throw err
        }
        try {
          // The history first, as `nightshift pause`: a pause in force is never missing from it.
          await send([historyRecord(pausedEvent(pause), topics.controlHistory), pauseRecord(pause, topics.control)])
        } catch (err) {
          return failed(reply, err, 'write the pause')
        }
        log.info({ pause: pause.id, by: user.name, until: pause.until }, 'pause set from the console')
        return reply.code(201).send({
          pause: pauseView(pause, pause.createdAt),
          message: `paused ${describePause(pause, pause.createdAt)}`,
        })
      })

      api.post<{ Params: { id: string } }>('/pauses/:id/lift', operator, async (request, reply) => {
        const user = consoleUserOf(request)
        const body = objectBody(request.body, ['reason'])
        if (!body.ok) return bad(reply, body.reason)
        const reason = optionalText(body.value, 'reason')
        if (!reason.ok) return bad(reply, reason.reason)
        const at = now()
        const pause = views.pauses(at, true).find((p) => p.id === request.params.id)
        if (!pause) return sendError(reply, 404, HTTP_ERROR_CODES.notFound, `no pause ${request.params.id}`)
        try {
          await send([
            historyRecord(liftedEvent(pause, at, user.name, reason.value ?? null), topics.controlHistory),
            resumeRecord(pause.id, topics.control),
          ])
        } catch (err) {
          return failed(reply, err, 'lift the pause')
        }
        log.info({ pause: pause.id, by: user.name }, 'pause lifted from the console')
        return { lifted: pauseToJson(pause), by: user.name, message: `lifted pause ${describeLift(pause, at)}` }
      })

      const answerRoute = (decision: ApprovalDecision): void => {
        api.post<{ Params: { id: string } }>(`/approvals/:id/${decision}`, operator, async (request, reply) => {
          const user = consoleUserOf(request)
          const { id } = request.params
          if (!isApprovalId(id)) return bad(reply, `"${id}" is not an approval id (12 hex digits)`)
          const body = objectBody(request.body, ['reason'])
          if (!body.ok) return bad(reply, body.reason)
          const reason = optionalText(body.value, 'reason')
          if (!reason.ok) return bad(reply, reason.reason)
          const answer: ApprovalAnswer = {
            id,
            decision,
            by: user.name,
            reason: reason.value ?? '',
            at: now(),
            via: 'http',
            from: request.ip,
          }
          let result: SubmitResult
          try {
            result = await submit(answer)
          } catch (err) {
            return failed(reply, err, 'record the answer')
          }
          log.info({ id, decision, by: user.name, status: result.status }, 'approval answer from the console')
          const { status, body: answerBody } = answerReply(id, result)
          return reply.code(status).send(answerBody)
        })
      }
      answerRoute('approve')
      answerRoute('deny')
    },
    { prefix: '/api/console' },
  )
}
