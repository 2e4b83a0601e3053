import { randomUUID } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify'
import type { Registry as MetricsRegistry } from 'prom-client'
import { ConfigError, ERROR_CODES, NightshiftError, PoisonRecordError, describeError } from '../errors'
import { toAlerts } from '../ingest/alerts'
import { createPayloadValidator, type WebhookLimits } from '../ingest/payload'
import type { IngestPublisher } from '../ingest/publisher'
import type { Logger } from '../log'
import { createAuthenticator, type WebhookAuth } from './auth'
import { HTTP_ERROR_CODES, sendError } from './errors'
import { createIngestMetrics, type IngestMetrics } from './metrics'

/** Where Alertmanager posts (its webhook_configs url). */
export const WEBHOOK_PATH = '/webhook/alertmanager'

/** Where the process listens unless told otherwise (main calls `listen`). */
export const DEFAULT_HTTP_LISTEN = Object.freeze({ host: '127.0.0.1', port: 9180 })

export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024

/**
 * Longest a request may take to arrive whole (headers and body). Without a limit (fastify's
 * default) a sender that stops halfway holds its connection and partial body forever; a
 * 1 MiB body needs only ~35 KB/s to arrive in time.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000

/** Request headers kept on a dead letter; credentials (Authorization) never are. */
export const DEAD_LETTER_REQUEST_HEADERS = ['content-type', 'user-agent', 'content-length'] as const

export interface HttpServerOptions {
  /** The process logger; fastify logs through it with a child logger per request. */
  logger: Logger
  publisher: IngestPublisher
  /** Credentials the webhook requires; none = open (bind to loopback then). */
  auth?: WebhookAuth
  /** Largest accepted body; a larger one is answered 413. Default 1 MiB. */
  bodyLimitBytes?: number
  /** A request not received whole within this is answered 408 and disconnected. Default {@link DEFAULT_REQUEST_TIMEOUT_MS}. */
  requestTimeoutMs?: number
  limits?: Partial<WebhookLimits>
  /** Wall clock for receivedAt / failedAt (ms since the epoch). Default Date.now. */
  now?: () => number
  /** Where to register the webhook's counters; none = no metrics. */
  metrics?: MetricsRegistry
}

function selectHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of DEAD_LETTER_REQUEST_HEADERS) {
    const value = headers[name]
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return out
}

/** Methods of the server's own paths, for a 405 with `Allow` instead of a 404. */
const ALLOWED_METHODS: Readonly<Record<string, readonly string[]>> = {
  [WEBHOOK_PATH]: ['POST'],
  '/healthz': ['GET', 'HEAD'],
  '/readyz': ['GET', 'HEAD'],
}

/** A refused webhook body as the client (and the dead letter) sees it: NS_BAD_PAYLOAD, same message. */
function asBadPayload(err: PoisonRecordError): PoisonRecordError {
  if (err.code === ERROR_CODES.BAD_PAYLOAD) return err
  return new PoisonRecordError(err.message, { cause: err, code: ERROR_CODES.BAD_PAYLOAD })
}

function statusCodeOf(err: unknown): number | undefined {
  const status = typeof err === 'object' && err !== null ? (err as { statusCode?: unknown }).statusCode : undefined
  return typeof status === 'number' ? status : undefined
}

/**
 * Builds the HTTP server (not listening): the Alertmanager webhook, /healthz and /readyz.
 *
 * POST /webhook/alertmanager answers
 * - 200 `{ accepted: n }` once Kafka acknowledged one Alert record per alert;
 * - 400 for malformed JSON or an invalid payload (the error names the JSON path), after
 *   the raw body was written to the DLQ — Alertmanager does not retry a 4xx, so the DLQ
 *   is where the body survives;
 * - 503 when Kafka cannot take the records in time, and also for an invalid body whose
 *   dead letter could not be written: answering 400 then would lose it, while a 503
 *   makes Alertmanager retry until Kafka is back (nothing vanishes; the cost is retries
 *   of a body that will be refused again);
 * - 400 bodies carry the code NS_BAD_PAYLOAD (the dead letter too): the client's body is
 *   at fault, whatever inside refused it;
 * - 405 (with Allow) for another method on the webhook, /healthz or /readyz; 404 for
 *   any other path;
 * - 401 (with WWW-Authenticate) for missing or wrong credentials, checked before the
 *   body is read; 413 for a body above the limit; 415 for a content-type header that is
 *   not a media type at all (any well-formed one is accepted). None of these three
 *   writes a dead letter: the body was never read whole;
 * - 408 (fastify's client-error body) when the request did not arrive whole within
 *   `requestTimeoutMs`, and the connection is closed: a stalled sender holds nothing.
 * Every error from a route is `{ error: { code, message, requestId } }`.
 */
export function buildHttpServer(options: HttpServerOptions): FastifyInstance {
  const bodyLimit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES
  if (!Number.isSafeInteger(bodyLimit) || bodyLimit < 1)
    throw new ConfigError(`http: bodyLimitBytes must be a positive integer, got ${String(bodyLimit)}`)
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  if (!Number.isSafeInteger(requestTimeout) || requestTimeout < 1)
    throw new ConfigError(`http: requestTimeoutMs must be a positive integer, got ${String(requestTimeout)}`)
  const authenticator = createAuthenticator(options.auth)
  const validator = createPayloadValidator(options.limits)
  const now = options.now ?? Date.now
  const metrics: IngestMetrics | undefined = options.metrics ? createIngestMetrics(options.metrics) : undefined
  const { publisher } = options

  const app = Fastify({
    // Typed as fastify's logger so the instance is a plain FastifyInstance for callers.
    loggerInstance: options.logger.child({ module: 'http' }) as FastifyBaseLogger,
    bodyLimit,
    requestTimeout,
    // Given to Node's server too: only then does Node derive a headers timeout no longer
    // than it (with its 60 s default, Node silently enforces no request timeout below
    // that). And Node checks every 30 s by default: check often enough for the limit to hold.
    http: { requestTimeout, connectionsCheckingInterval: Math.min(1000, Math.max(10, Math.floor(requestTimeout / 4))) },
    genReqId: () => randomUUID(),
    // Probes would flood the log; the webhook logs one line per request itself.
    logController: new LogController({ disableRequestLogging: true }),
  })

  // The body is parsed here, from the raw bytes, whatever the content type: a body
  // that is not JSON must still reach the DLQ byte for byte.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))

  app.setErrorHandler((err, request, reply) => {
    if (err instanceof NightshiftError) {
      if (err.retriable) {
        request.log.warn({ code: err.code, err: err.message }, 'answering 503: Kafka did not take the records')
        return sendError(reply, 503, err.code, err.message)
      }
      request.log.error({ code: err.code, err }, 'answering 500')
      return sendError(reply, 500, err.code, err.message)
    }
    const status = statusCodeOf(err)
    if (status === 413)
      return sendError(reply, 413, HTTP_ERROR_CODES.payloadTooLarge, `the body exceeds the limit of ${bodyLimit} bytes`)
    if (status === 415) {
      // Every media type is accepted (see the parser above), so fastify's "Unsupported
      // Media Type" would mislead: the header is refused because it does not parse.
      const header = request.headers['content-type']
      return sendError(
        reply,
        415,
        HTTP_ERROR_CODES.badRequest,
        `the content-type header ${JSON.stringify(header ?? '')} is not a valid media type (type/subtype, e.g. application/json)`,
      )
    }
    if (status !== undefined && status >= 400 && status < 500)
      return sendError(reply, status, HTTP_ERROR_CODES.badRequest, describeError(err))
    request.log.error({ err }, 'answering 500: unexpected error')
    return sendError(reply, 500, HTTP_ERROR_CODES.internal, 'internal error')
  })

  app.setNotFoundHandler((request, reply) => {
    const allowed = ALLOWED_METHODS[request.url.split('?')[0] ?? '']
    if (allowed) {
      // The path exists, the method does not: say which ones do (RFC 9110 §15.5.6).
      reply.header('allow', allowed.join(', '))
      return sendError(
        reply,
        405,
        HTTP_ERROR_CODES.methodNotAllowed,
        `${request.method} is not allowed on ${request.url.split('?')[0]}; allowed: ${allowed.join(', ')}`,
      )
    }
    return sendError(reply, 404, HTTP_ERROR_CODES.notFound, `no route for ${request.method} ${request.url}`)
  })

  app.get('/healthz', async () => ({ status: 'ok' }))

  app.get('/readyz', async (_request, reply) => {
    const { ready, missing } = publisher.readiness()
    if (ready) return { ready }
    const code = missing.some((m) => m.startsWith('kafka'))
      ? HTTP_ERROR_CODES.kafkaUnavailable
      : HTTP_ERROR_CODES.registryUnavailable
    return reply.code(503).send({ ready, missing, error: { code, message: `not ready: ${missing.join('; ')}` } })
  })

  /** The invalid body goes to the DLQ, then 400; if the DLQ cannot take it, 503. */
  async function refuse(
    request: FastifyRequest,
    reply: FastifyReply,
    raw: Buffer,
    err: PoisonRecordError,
    failedAt: number,
  ): Promise<FastifyReply> {
    try {
      await publisher.publishDeadLetter({
        error: err,
        body: raw,
        requestHeaders: selectHeaders(request.headers),
        failedAt,
        requestId: request.id,
      })
    } catch (dlqErr) {
      request.log.error(
        { reason: err.message, err: dlqErr },
        'invalid webhook body could not be dead-lettered; answering 503 so Alertmanager retries',
      )
      const code = dlqErr instanceof NightshiftError ? dlqErr.code : ERROR_CODES.KAFKA_UNAVAILABLE
      return sendError(
        reply,
        503,
        code,
        `${err.message}; the body could not be kept on the dead-letter queue (${describeError(dlqErr)}), retry later`,
      )
    }
    metrics?.deadLetters.inc({ code: err.code })
    request.log.warn({ reason: err.message, bytes: raw.length }, 'invalid webhook body dead-lettered')
    return sendError(reply, 400, HTTP_ERROR_CODES.invalidPayload, err.message)
  }

  app.post(
    WEBHOOK_PATH,
    {
      bodyLimit,
      onRequest: async (request, reply) => {
        if (!authenticator || authenticator.check(request.headers.authorization)) return
        reply.header('www-authenticate', authenticator.challenges)
        return sendError(reply, 401, HTTP_ERROR_CODES.unauthorized, 'missing or invalid credentials')
      },
      onResponse: async (request, reply) => {
        metrics?.requests.inc({ status: String(reply.statusCode) })
        const level = reply.statusCode < 400 ? 'info' : 'warn'
        request.log[level](
          { status: reply.statusCode, ms: Math.round(reply.elapsedTime), userAgent: request.headers['user-agent'] },
          'webhook answered',
        )
      },
    },
    async (request, reply) => {
      const receivedAt = now()
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
      let accepted: number
      try {
        const payload = validator.parse(raw)
        if (payload.truncatedAlerts !== undefined && payload.truncatedAlerts > 0) {
          // Alertmanager's max_alerts dropped these before sending; they cannot be recovered here.
          request.log.warn(
            { truncatedAlerts: payload.truncatedAlerts, groupKey: payload.groupKey },
            'Alertmanager truncated the notification',
          )
        }
        const alerts = toAlerts(payload, receivedAt)
        await publisher.publishAlerts(alerts, { receivedAt, requestId: request.id })
        accepted = alerts.length
        request.log.info(
          { accepted, receiver: payload.receiver, groupKey: payload.groupKey, status: payload.status },
          'alerts published',
        )
      } catch (err) {
        // The client sent a body that cannot be taken: its code says so (the message is kept).
        if (err instanceof PoisonRecordError) return refuse(request, reply, raw, asBadPayload(err), receivedAt)
        throw err
      }
      metrics?.alerts.inc(accepted)
      return reply.code(200).send({ accepted })
    },
  )

  return app
}
