/**
 * Answers to approvals over HTTP, on every Nightshift HTTP server (the webhook's port, or
 * `--metrics-port` without it):
 *
 * - `POST /api/approvals/:id/approve` and `/deny`, JSON body `{ by?, reason? }`, for
 *   operators and consoles, behind the operator credential: `Authorization: Bearer
 *   <NIGHTSHIFT_OPERATOR_TOKEN or the content of NIGHTSHIFT_OPERATOR_TOKEN_FILE>`. Without
 *   one configured the routes answer 404 saying how to turn them on; a wrong or missing
 *   token is 401. 200 `{ status: 'recorded', answer }`, 409 already answered (with the
 *   first answer), 404 no such approval, 410 no longer waiting (with how it ended);
 * - `POST /api/slack/interactive`: Slack's interactive callback for the Approve/Deny
 *   buttons of the announcement (slack.ts), verified with the app's signing secret
 *   (`SLACK_SIGNING_SECRET` or `SLACK_SIGNING_SECRET_FILE`); 404 without one, 401 for a
 *   bad signature or a timestamp more than 5 minutes away. Answered 200 with a short text.
 *
 * Nothing is written unless the request is authenticated and the approval awaits an
 * answer (answers.ts). The routes live in a plugin of their own whose body parser keeps
 * the raw bytes: the Slack signature is over them, and the webhook server's parsers are
 * left alone.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import {
  describeClosed,
  describeAlready,
  submitAnswer,
  type AnswerTopics,
  type SubmitResult,
} from '../actions/worker/answers'
import { describeAnswer, isApprovalId, type ApprovalAnswer, type ApprovalDecision } from '../actions/worker/approvals'
import { secretFromEnv } from '../config/security'
import { ERROR_CODES, NightshiftError, describeError } from '../errors'
import type { KafkaSettings, Registry } from '../kafka'
import type { Logger } from '../log'
import { HTTP_ERROR_CODES, sendError } from './errors'
import { parseInteraction, verifySlackSignature } from './slack'

/** Largest body the approval routes read (a Slack payload is a few KB). */
const BODY_LIMIT_BYTES = 64 * 1024
const BY_MAX = 200
const REASON_MAX = 2000

export interface ApprovalRoutesOptions {
  kafka: KafkaSettings
  registry: Registry
  topics: AnswerTopics
  logger: Logger
  /** NIGHTSHIFT_OPERATOR_TOKEN(_FILE) and SLACK_SIGNING_SECRET(_FILE) come from here (default: process.env). */
  env?: NodeJS.ProcessEnv
  /** The clock (default: Date.now). */
  now?: () => number
  /** Writes an answer (default: {@link submitAnswer} on the options' Kafka); tests replace it. */
  submit?: (answer: ApprovalAnswer) => Promise<SubmitResult>
}

function digest(value: string | Buffer): Buffer {
  return createHash('sha256').update(value).digest()
}

/**
 * Registers the approval routes on `server`. The credentials are read here, so a bad
 * setting (both NAME and NAME_FILE, an unreadable file) stops the start.
 */
export function registerApprovalRoutes(server: FastifyInstance, options: ApprovalRoutesOptions): void {
  const env = options.env ?? process.env
  // Hashed once: compared in constant time whatever the length of what is sent.
  const operatorToken = secretFromEnv(env, 'NIGHTSHIFT_OPERATOR_TOKEN')
  const operatorDigest = operatorToken === undefined ? undefined : digest(operatorToken.reveal())
  const signingSecret = secretFromEnv(env, 'SLACK_SIGNING_SECRET')
  const now = options.now ?? Date.now
  const log = options.logger.child({ module: 'approvals-http' })
  const submit =
    options.submit ??
    ((answer: ApprovalAnswer) =>
      submitAnswer({ kafka: options.kafka, registry: options.registry, topics: options.topics, answer }))

  /** Submits, answering 503/500 itself when Kafka fails (the ops server has no error handler of ours). */
  const trySubmit = async (
    reply: FastifyReply,
    answer: ApprovalAnswer,
  ): Promise<{ result: SubmitResult } | { failed: FastifyReply }> => {
    try {
      return { result: await submit(answer) }
    } catch (err) {
      const retriable = err instanceof NightshiftError && err.retriable
      log.error({ err, id: answer.id }, 'could not record an approval answer')
      return {
        failed: sendError(
          reply,
          retriable ? 503 : 500,
          err instanceof NightshiftError ? err.code : HTTP_ERROR_CODES.internal,
          `the answer could not be recorded: ${describeError(err)}; try again`,
        ),
      }
    }
  }

  void server.register(async (api) => {
    // The raw bytes of every body, whatever its type: both routes parse them themselves.
    api.removeAllContentTypeParsers()
    api.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES }, (_request, body, done) =>
      done(null, body),
    )

    const operatorAuth = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
      if (operatorDigest === undefined)
        return sendError(
          reply,
          404,
          HTTP_ERROR_CODES.notFound,
          'the approval API is off: set NIGHTSHIFT_OPERATOR_TOKEN (or NIGHTSHIFT_OPERATOR_TOKEN_FILE) to turn it on',
        )
      const match = /^bearer +(\S+) *$/i.exec(request.headers.authorization ?? '')
      if (match && timingSafeEqual(digest(match[1]!), operatorDigest)) return undefined
      reply.header('www-authenticate', 'Bearer realm="nightshift-operator"')
      return sendError(reply, 401, HTTP_ERROR_CODES.unauthorized, 'missing or invalid operator token')
    }

    const answerRoute = (decision: ApprovalDecision): void => {
      api.post<{ Params: { id: string } }>(
        `/api/approvals/:id/${decision}`,
        { onRequest: operatorAuth },
        async (request, reply) => {
          const { id } = request.params
          if (!isApprovalId(id))
            return sendError(reply, 400, HTTP_ERROR_CODES.badRequest, `"${id}" is not an approval id (12 hex digits)`)
          const body = parseAnswerBody(request.body)
          if (!body.ok) return sendError(reply, 400, HTTP_ERROR_CODES.badRequest, body.reason)
          const answer: ApprovalAnswer = {
            id,
            decision,
            by: body.by ?? 'operator',
            reason: body.reason ?? '',
            at: now(),
            via: 'http',
            from: request.ip,
          }
          const submitted = await trySubmit(reply, answer)
          if ('failed' in submitted) return submitted.failed
          const { result } = submitted
          log.info(
            { id, decision, by: answer.by, from: answer.from, status: result.status },
            'approval answer over HTTP',
          )
          return replyTo(reply, id, result)
        },
      )
    }
    answerRoute('approve')
    answerRoute('deny')

    api.post('/api/slack/interactive', async (request, reply) => {
      if (signingSecret === undefined)
        return sendError(
          reply,
          404,
          HTTP_ERROR_CODES.notFound,
          'the Slack callback is off: set SLACK_SIGNING_SECRET (or SLACK_SIGNING_SECRET_FILE) to turn it on',
        )
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
      const check = verifySlackSignature({
        signingSecret: signingSecret.reveal(),
        timestamp: header(request, 'x-slack-request-timestamp'),
        signature: header(request, 'x-slack-signature'),
        body: raw,
        now: now(),
      })
      if (!check.ok) {
        log.warn({ reason: check.reason, ip: request.ip }, 'refusing a Slack callback')
        return sendError(reply, 401, HTTP_ERROR_CODES.unauthorized, 'invalid Slack request signature')
      }
      const parsed = parseInteraction(raw)
      if (!parsed.ok) return sendError(reply, 400, HTTP_ERROR_CODES.badRequest, parsed.reason)
      const { id, decision, by, from } = parsed.answer
      const submitted = await trySubmit(reply, { id, decision, by, reason: '', at: now(), via: 'slack', from })
      if ('failed' in submitted) return submitted.failed
      const { result } = submitted
      log.info({ id, decision, by, from, status: result.status }, 'approval answer from Slack')
      return reply.code(200).send({ response_type: 'ephemeral', replace_original: false, text: slackText(id, result) })
    })
  })
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name]
  return Array.isArray(value) ? value[0] : value
}

type AnswerBody = { ok: true; by?: string; reason?: string } | { ok: false; reason: string }

/** `{ by?, reason? }` from the raw body; an empty body is `{}`. */
export function parseAnswerBody(body: unknown): AnswerBody {
  const raw = Buffer.isBuffer(body) ? body.toString('utf8') : ''
  if (raw.trim() === '') return { ok: true }
  let json: unknown
  try {
    json = JSON.parse(raw)
  } catch {
    return { ok: false, reason: 'the body is not JSON; send {"by": "...", "reason": "..."} or nothing' }
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    return { ok: false, reason: 'the body must be a JSON object: {"by": "...", "reason": "..."}' }
  const { by, reason, ...rest } = json as Record<string, unknown>
  const unknown = Object.keys(rest)
  if (unknown.length > 0)
    return { ok: false, reason: `unknown field(s) ${unknown.join(', ')}; the body takes by and reason` }
  if (by !== undefined && (typeof by !== 'string' || by.trim() === '' || by.length > BY_MAX))
    return { ok: false, reason: `by must be a non-empty string of at most ${BY_MAX} characters` }
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > REASON_MAX))
    return { ok: false, reason: `reason must be a string of at most ${REASON_MAX} characters` }
  return {
    ok: true,
    ...(by === undefined ? {} : { by: by.trim() }),
    ...(reason === undefined ? {} : { reason: reason.trim() }),
  }
}

/** The HTTP answer of a submitted answer. */
function replyTo(reply: FastifyReply, id: string, result: SubmitResult): FastifyReply {
  const requestId = reply.request.id
  switch (result.status) {
    case 'recorded':
      return reply.code(200).send({ status: 'recorded', message: describeAnswer(result.answer), answer: result.answer })
    case 'already': {
      const message = `approval ${id}: ${describeAlready(result.first)}; nothing written`
      return reply.code(409).send({
        status: 'already',
        message,
        first: result.first,
        error: { code: ERROR_CODES.BAD_REQUEST, message, requestId },
      })
    }
    case 'closed': {
      const { entry } = result
      const message = `approval ${id} no longer waits for an answer: ${entry.action} for ${entry.fingerprint} ${describeClosed(entry)}`
      return reply.code(410).send({
        status: 'closed',
        message,
        closed: { kind: entry.kind, status: entry.status, at: entry.at },
        error: { code: ERROR_CODES.NOT_FOUND, message, requestId },
      })
    }
    case 'unknown':
      return sendError(reply, 404, HTTP_ERROR_CODES.notFound, `no request waits for approval ${id}`)
  }
}

/** The short text Slack shows the person who pressed the button. */
function slackText(id: string, result: SubmitResult): string {
  switch (result.status) {
    case 'recorded':
      return `${describeAnswer(result.answer)} — recorded for approval ${id}`
    case 'already':
      return `approval ${id}: ${describeAlready(result.first)}; your answer was not recorded`
    case 'closed':
      return `approval ${id} no longer waits for an answer: ${describeClosed(result.entry)}`
    case 'unknown':
      return `no request waits for approval ${id}`
  }
}
