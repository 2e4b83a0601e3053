import fs from 'node:fs'
import net, { type AddressInfo } from 'node:net'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { Registry as MetricsRegistry } from 'prom-client'
import { ConfigError, ERROR_CODES, PoisonRecordError, RetriableError } from '../../src/errors'
import {
  HTTP_ERROR_CODES,
  WEBHOOK_PATH,
  buildHttpServer,
  type HttpServerOptions,
  type WebhookAuth,
} from '../../src/http'
import type { AlertRecord, DeadLetterInput, IngestPublisher, PublishContext, Readiness } from '../../src/ingest'
import { createLogger } from '../../src/log'
import { ALERTMANAGER_FIXTURES } from '../support/fixtures'

const FIXTURES = ALERTMANAGER_FIXTURES
const fixture = (file: string): Buffer => fs.readFileSync(path.join(FIXTURES, file))
const NOW = 1795567977000
const JSON_HEADERS = { 'content-type': 'application/json', 'user-agent': 'Alertmanager/0.25.0' }

/** Records what the webhook hands over; fails on demand. Not Kafka: the webhook's contract. */
class FakePublisher implements IngestPublisher {
  published: Array<{ alerts: AlertRecord[]; context: PublishContext }> = []
  deadLetters: DeadLetterInput[] = []
  alertsError: Error | undefined
  deadLetterError: Error | undefined
  state: Readiness = { ready: true, missing: [] }

  readiness(): Readiness {
    return this.state
  }

  async publishAlerts(alerts: AlertRecord[], context: PublishContext): Promise<void> {
    if (this.alertsError !== undefined) throw this.alertsError
    this.published.push({ alerts, context })
  }

  async publishDeadLetter(letter: DeadLetterInput): Promise<void> {
    if (this.deadLetterError !== undefined) throw this.deadLetterError
    this.deadLetters.push(letter)
  }
}

interface ErrorResponse {
  error: { code: string; message: string; requestId: string }
}

interface Response {
  statusCode: number
  headers: Headers
  json(): unknown
}

/**
 * A real request to the server on an ephemeral loopback port. (fastify's inject() cannot
 * run under Jest here: light-my-request requires cookie@2, which is ESM only.)
 */
async function request(
  app: FastifyInstance,
  method: string,
  url: string,
  body?: Buffer | string,
  headers: Record<string, string> = {},
): Promise<Response> {
  if (!app.server.listening) await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const res = await fetch(`http://127.0.0.1:${port}${url}`, { method, body, headers })
  const text = await res.text()
  return { statusCode: res.status, headers: res.headers, json: () => JSON.parse(text) as unknown }
}

describe('webhook HTTP server (fake publisher)', () => {
  let publisher: FakePublisher
  const servers: FastifyInstance[] = []

  function server(options: Partial<HttpServerOptions> = {}): FastifyInstance {
    const app = buildHttpServer({ logger: createLogger({ level: 'silent' }), publisher, now: () => NOW, ...options })
    servers.push(app)
    return app
  }

  const post = (app: FastifyInstance, payload: Buffer | string, headers: Record<string, string> = JSON_HEADERS) =>
    request(app, 'POST', WEBHOOK_PATH, payload, headers)

  beforeEach(() => {
    publisher = new FakePublisher()
  })

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()))
  })

  it('answers 200 { accepted } with one record per alert, after the publisher resolved', async () => {
    const res = await post(server(), fixture('02-firing-handlerseen.json'))
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ accepted: 5 })
    expect(publisher.published).toHaveLength(1)
    const [{ alerts, context }] = publisher.published as [{ alerts: AlertRecord[]; context: PublishContext }]
    expect(alerts.map((a) => a.fingerprint)).toEqual([
      '28190aeb414c9e90',
      '11e3b98555881ed2',
      '070bfe0a0714736d',
      '6e6b4fb10be8f237',
      '519bc862085565e2',
    ])
    expect(alerts.every((a) => a.receivedAt === NOW && a.receiver === 'nightshift')).toBe(true)
    expect(context.receivedAt).toBe(NOW)
    expect(context.requestId).toMatch(/^[0-9a-f-]{36}$/)
    expect(publisher.deadLetters).toHaveLength(0)
  })

  it('parses the body whatever the content type says', async () => {
    const res = await post(server(), fixture('01-firing-targetup.json'), { 'content-type': 'text/plain' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ accepted: 1 })
  })

  it.each<[string, Buffer, RegExp]>([
    ['malformed JSON', Buffer.from('{"version":"4","alerts":[{'), /^malformed JSON: /],
    ['an empty body', Buffer.alloc(0), /^malformed JSON: the body is empty$/],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), /not valid UTF-8/],
    [
      'an invalid payload',
      Buffer.from(fixture('01-firing-targetup.json').toString().replace('"severity": "warning"', '"severity": 3')),
      /\/alerts\/0\/labels\/severity must be string/,
    ],
    [
      'a wrong version',
      Buffer.from(fixture('01-firing-targetup.json').toString().replace('"version": "4"', '"version": "5"')),
      /\/version must be "4"/,
    ],
  ])('answers 400 for %s, after dead-lettering the raw body', async (_name, body, message) => {
    const res = await post(server({ auth: { bearerToken: 's3cret' } }), body, {
      ...JSON_HEADERS,
      authorization: 'Bearer s3cret',
    })
    expect(res.statusCode).toBe(400)
    const error = (res.json() as ErrorResponse).error
    expect(error.code).toBe(ERROR_CODES.BAD_PAYLOAD)
    expect(error.message).toMatch(message)
    expect(publisher.published).toHaveLength(0)
    expect(publisher.deadLetters).toHaveLength(1)
    const letter = publisher.deadLetters[0]!
    expect(letter.body.equals(body)).toBe(true)
    expect(letter.error).toBeInstanceOf(PoisonRecordError)
    expect(letter.failedAt).toBe(NOW)
    expect(letter.requestId).toBe(error.requestId)
    expect(letter.requestHeaders).toEqual({
      'content-type': 'application/json',
      'user-agent': 'Alertmanager/0.25.0',
      'content-length': String(body.length),
    })
  })

  it('answers 503 (so Alertmanager retries) when an invalid body cannot be dead-lettered', async () => {
    publisher.deadLetterError = new RetriableError(
      ERROR_CODES.KAFKA_UNAVAILABLE,
      'dead-lettering: not ready within 5000 ms',
    )
    const res = await post(server(), 'not json')
    expect(res.statusCode).toBe(503)
    const error = (res.json() as ErrorResponse).error
    expect(error.code).toBe(ERROR_CODES.KAFKA_UNAVAILABLE)
    expect(error.message).toMatch(/malformed JSON.*could not be kept on the dead-letter queue.*retry later/)
  })

  it.each<[string, unknown, number, string, RegExp]>([
    [
      'Kafka unavailable',
      new RetriableError(ERROR_CODES.KAFKA_UNAVAILABLE, 'Kafka did not acknowledge within 5000 ms'),
      503,
      ERROR_CODES.KAFKA_UNAVAILABLE,
      /did not acknowledge/,
    ],
    [
      'a schema mismatch',
      new ConfigError('encoding failed', { code: ERROR_CODES.SCHEMA_INVALID }),
      500,
      ERROR_CODES.SCHEMA_INVALID,
      /encoding failed/,
    ],
    ['an unexpected error', new TypeError('boom'), 500, HTTP_ERROR_CODES.internal, /^internal error$/],
  ])('answers a valid body with %s as %i', async (_name, failure, status, code, message) => {
    publisher.alertsError = failure as Error
    const res = await post(server(), fixture('01-firing-targetup.json'))
    expect(res.statusCode).toBe(status)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    const error = (res.json() as ErrorResponse).error
    expect(error.code).toBe(code)
    expect(error.message).toMatch(message)
    expect(publisher.deadLetters).toHaveLength(0)
  })

  it('dead-letters a body whose records the publisher refuses as poison (too large for Kafka)', async () => {
    publisher.alertsError = new PoisonRecordError(
      '/alerts/0 makes a Kafka record of 2000000 bytes, more than the 1000000 allowed',
    )
    const res = await post(server(), fixture('01-firing-targetup.json'))
    expect(res.statusCode).toBe(400)
    expect((res.json() as ErrorResponse).error.message).toMatch(/\/alerts\/0 makes a Kafka record/)
    expect(publisher.deadLetters).toHaveLength(1)
  })

  it('answers 413 for a body above the limit, without reading it into Kafka', async () => {
    const app = server({ bodyLimitBytes: 1024 })
    const res = await post(app, fixture('02-firing-handlerseen.json'))
    expect(res.statusCode).toBe(413)
    const error = (res.json() as ErrorResponse).error
    expect(error.code).toBe(HTTP_ERROR_CODES.payloadTooLarge)
    expect(error.message).toBe('the body exceeds the limit of 1024 bytes')
    expect(publisher.published).toHaveLength(0)
    expect(publisher.deadLetters).toHaveLength(0)
    expect((await post(app, fixture('01-firing-targetup.json').subarray(0, 0))).statusCode).toBe(400)
  })

  it.each<[string, string]>([
    ['no subtype', 'application/'],
    ['no type', '/json'],
    ['no slash at all', 'json'],
    ['two slashes', 'application/json/extra'],
    ['a space in the subtype', 'application/js on'],
    ['a list of types', 'application/json, text/plain'],
    ['a quoted type', '"application/json"'],
    ['an empty header', ''],
  ])(
    'answers 415 naming the content-type header for %s, without reading the body into the DLQ',
    async (_name, contentType) => {
      const res = await post(server(), fixture('01-firing-targetup.json'), {
        ...JSON_HEADERS,
        'content-type': contentType,
      })
      expect(res.statusCode).toBe(415)
      expect((res.json() as ErrorResponse).error).toMatchObject({
        code: HTTP_ERROR_CODES.badRequest,
        message: `the content-type header ${JSON.stringify(contentType)} is not a valid media type (type/subtype, e.g. application/json)`,
      })
      expect(publisher.published).toHaveLength(0)
      expect(publisher.deadLetters).toHaveLength(0)
    },
  )

  it.each<[string, string | undefined]>([
    ['text/plain', 'text/plain'],
    ['a form', 'application/x-www-form-urlencoded'],
    ['multipart', 'multipart/form-data; boundary=x'],
    ['a wildcard', '*/*'],
    ['no content-type at all', undefined],
  ])('parses and dead-letters an invalid body sent as %s, keeping the header', async (_name, contentType) => {
    const headers: Record<string, string> = { 'user-agent': 'Alertmanager/0.25.0' }
    if (contentType !== undefined) headers['content-type'] = contentType
    const body = Buffer.from('{"version":"4"}')
    const res = await post(server(), body, headers)
    expect(res.statusCode).toBe(400)
    expect((res.json() as ErrorResponse).error.message).toBe(
      "invalid Alertmanager webhook payload: body must have required property 'status'",
    )
    expect(publisher.deadLetters.map((l) => l.requestHeaders)).toEqual([
      {
        ...(contentType === undefined ? {} : { 'content-type': contentType }),
        'user-agent': 'Alertmanager/0.25.0',
        'content-length': String(body.length),
      },
    ])
  })

  describe('authentication', () => {
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
    const bearerAndBasic: WebhookAuth = { bearerToken: 'tok-123', basic: { username: 'am', password: 'pa:ss wörd' } }

    it.each<[string, WebhookAuth, string | undefined, number]>([
      ['bearer: right token', { bearerToken: 'tok-123' }, 'Bearer tok-123', 200],
      ['bearer: scheme in any case', { bearerToken: 'tok-123' }, 'bearer tok-123', 200],
      ['bearer: no header', { bearerToken: 'tok-123' }, undefined, 401],
      ['bearer: wrong token', { bearerToken: 'tok-123' }, 'Bearer tok-124', 401],
      ['bearer: a prefix of the token', { bearerToken: 'tok-123' }, 'Bearer tok-12', 401],
      ['bearer: empty token', { bearerToken: 'tok-123' }, 'Bearer ', 401],
      ['bearer: basic credentials sent instead', { bearerToken: 'tok-123' }, basic('am', 'tok-123'), 401],
      ['basic: right credentials', { basic: { username: 'am', password: 'pw' } }, basic('am', 'pw'), 200],
      ['basic: wrong password', { basic: { username: 'am', password: 'pw' } }, basic('am', 'px'), 401],
      ['basic: wrong user', { basic: { username: 'am', password: 'pw' } }, basic('an', 'pw'), 401],
      ['basic: not base64 of user:password', { basic: { username: 'am', password: 'pw' } }, 'Basic %%%', 401],
      ['basic: the token as a bearer', { basic: { username: 'am', password: 'pw' } }, 'Bearer pw', 401],
      ['both: bearer accepted', bearerAndBasic, 'Bearer tok-123', 200],
      ['both: basic accepted (colon and unicode in the password)', bearerAndBasic, basic('am', 'pa:ss wörd'), 200],
      ['open: no credentials needed', {}, undefined, 200],
    ])('%s → %i', async (_name, auth, authorization, status) => {
      const headers: Record<string, string> = { ...JSON_HEADERS }
      if (authorization !== undefined) headers.authorization = authorization
      const res = await post(server({ auth }), fixture('01-firing-targetup.json'), headers)
      expect(res.statusCode).toBe(status)
      if (status === 401) {
        expect((res.json() as ErrorResponse).error).toMatchObject({
          code: HTTP_ERROR_CODES.unauthorized,
          message: 'missing or invalid credentials',
        })
        const challenges = res.headers.get('www-authenticate') ?? ''
        if (auth.bearerToken) expect(challenges).toContain('Bearer realm="nightshift"')
        if (auth.basic) expect(challenges).toContain('Basic realm="nightshift", charset="UTF-8"')
        expect(publisher.published).toHaveLength(0)
      }
    })

    it('refuses unauthenticated junk before reading it: no dead letter, no 413', async () => {
      const app = server({ auth: { bearerToken: 'tok-123' }, bodyLimitBytes: 16 })
      const res = await post(app, 'x'.repeat(1000), { 'content-type': 'application/json' })
      expect(res.statusCode).toBe(401)
      expect(publisher.deadLetters).toHaveLength(0)
    })

    it.each<[string, WebhookAuth]>([
      ['an empty bearer token', { bearerToken: '' }],
      ['a bearer token with spaces', { bearerToken: 'a b' }],
      ['a basic user with a colon', { basic: { username: 'a:b', password: 'x' } }],
      ['an empty basic password', { basic: { username: 'a', password: '' } }],
    ])('refuses %s at build time', (_name, auth) => {
      expect(() => server({ auth })).toThrow(ConfigError)
    })
  })

  it.each<[string, Partial<HttpServerOptions>]>([
    ['a zero body limit', { bodyLimitBytes: 0 }],
    ['a zero request timeout', { requestTimeoutMs: 0 }],
    ['a fractional request timeout', { requestTimeoutMs: 1.5 }],
  ])('refuses %s at build time', (_name, options) => {
    expect(() => server(options)).toThrow(ConfigError)
  })

  describe('a sender that stalls', () => {
    /** Writes `head` on a raw connection and waits for the server to close it; the answer, if any. */
    async function stall(app: FastifyInstance, head: string): Promise<{ answer: string; ms: number }> {
      if (!app.server.listening) await app.listen({ host: '127.0.0.1', port: 0 })
      const { port } = app.server.address() as AddressInfo
      const socket = net.connect(port, '127.0.0.1')
      const started = Date.now()
      let answer = ''
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()))
      socket.write(head)
      await new Promise<void>((resolve) => socket.on('close', () => resolve()))
      return { answer, ms: Date.now() - started }
    }

    const start = `POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: nightshift\r\n`

    it.each<[string, string]>([
      [
        'half a body',
        `${start}Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"version":"4","alerts":[`,
      ],
      [
        'half a chunked body',
        `${start}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{"version":"4",`,
      ],
      ['headers that never end', `${start}Content-Type: application/json\r\n`],
      ['no body at all after the headers', `${start}Content-Type: application/json\r\nContent-Length: 10\r\n\r\n`],
    ])('is answered 408 and disconnected when %s does not arrive within requestTimeoutMs', async (_name, head) => {
      const { answer, ms } = await stall(server({ requestTimeoutMs: 300 }), head)
      expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/)
      expect(ms).toBeLessThan(3000)
      expect(publisher.published).toHaveLength(0)
      expect(publisher.deadLetters).toHaveLength(0)
    })

    it('does not count the time spent publishing: the limit is on receiving the request', async () => {
      const slow = new FakePublisher()
      slow.publishAlerts = async (alerts, context) => {
        await new Promise((resolve) => setTimeout(resolve, 600))
        slow.published.push({ alerts, context })
      }
      publisher = slow
      const res = await post(server({ requestTimeoutMs: 200 }), fixture('01-firing-targetup.json'))
      expect(res.statusCode).toBe(200)
      expect(slow.published).toHaveLength(1)
    })
  })

  it('GET /healthz is 200 while the process runs, ready or not', async () => {
    publisher.state = { ready: false, missing: ['kafka: down'] }
    const res = await request(server(), 'GET', '/healthz')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ status: 'ok' })
  })

  it.each<[string, Readiness, number, Record<string, unknown>]>([
    ['ready', { ready: true, missing: [] }, 200, { ready: true }],
    [
      'Kafka missing',
      { ready: false, missing: ['kafka: no producer connected to 127.0.0.1:1 (ECONNREFUSED)'] },
      503,
      {
        ready: false,
        missing: ['kafka: no producer connected to 127.0.0.1:1 (ECONNREFUSED)'],
        error: {
          code: ERROR_CODES.KAFKA_UNAVAILABLE,
          message: expect.stringMatching(/^not ready: kafka: /) as unknown,
        },
      },
    ],
    [
      'schema ids missing',
      { ready: false, missing: ['registry: no schema id for subject alerts.raw-value'] },
      503,
      {
        ready: false,
        missing: ['registry: no schema id for subject alerts.raw-value'],
        error: { code: ERROR_CODES.REGISTRY_UNAVAILABLE, message: expect.any(String) as unknown },
      },
    ],
  ])('GET /readyz when %s', async (_name, state, status, body) => {
    publisher.state = state
    const res = await request(server(), 'GET', '/readyz')
    expect(res.statusCode).toBe(status)
    expect(res.json()).toEqual(body)
  })

  it.each([
    ['GET', WEBHOOK_PATH, 'POST'],
    ['PUT', WEBHOOK_PATH, 'POST'],
    ['POST', '/healthz', 'GET, HEAD'],
  ])('answers %s %s with 405 and Allow: %s', async (method, url, allow) => {
    const res = await request(server(), method, url)
    expect(res.statusCode).toBe(405)
    expect(res.headers.get('allow')).toBe(allow)
    expect((res.json() as ErrorResponse).error).toMatchObject({
      code: ERROR_CODES.METHOD_NOT_ALLOWED,
      message: `${method} is not allowed on ${url}; allowed: ${allow}`,
    })
    expect(publisher.deadLetters).toHaveLength(0)
  })

  it('answers unknown routes with a JSON 404', async () => {
    const res = await request(server(), 'GET', '/nope')
    expect(res.statusCode).toBe(404)
    expect((res.json() as ErrorResponse).error.code).toBe(HTTP_ERROR_CODES.notFound)
  })

  it('counts requests, accepted alerts and dead letters when given a metrics registry', async () => {
    const metrics = new MetricsRegistry()
    const app = server({ metrics, auth: { bearerToken: 't' } })
    await post(app, fixture('02-firing-handlerseen.json'), { ...JSON_HEADERS, authorization: 'Bearer t' })
    await post(app, 'junk', { ...JSON_HEADERS, authorization: 'Bearer t' })
    await post(app, 'junk', JSON_HEADERS)
    const text = await metrics.metrics()
    expect(text).toContain('nightshift_ingest_alerts_total 5')
    expect(text).toContain('nightshift_ingest_requests_total{status="200"} 1')
    expect(text).toContain('nightshift_ingest_requests_total{status="400"} 1')
    expect(text).toContain('nightshift_ingest_requests_total{status="401"} 1')
    expect(text).toContain(`nightshift_ingest_dead_letters_total{code="${ERROR_CODES.BAD_PAYLOAD}"} 1`)
  })
})
