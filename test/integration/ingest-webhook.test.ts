import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { SchemaSet } from '../../src/contracts/schemas'
import { ERROR_CODES } from '../../src/errors'
import { WEBHOOK_PATH, buildHttpServer, type WebhookAuth } from '../../src/http'
import { INGEST_HEADERS, KafkaIngestPublisher, type KafkaIngestPublisherOptions } from '../../src/ingest'
import { KafkaAdmin, Registry, type InRecord, type KafkaSettings } from '../../src/kafka'
import { topicNames, valueSubject, type TopicNames } from '../../src/topology/names'
import { collect, endpoints, kafkaSettings, testLogger, uniqueName, waitFor } from '../support/kafka'
import { ALERTMANAGER_FIXTURES } from '../support/fixtures'

const FIXTURES = ALERTMANAGER_FIXTURES
const FIXTURE_FILES = fs
  .readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .sort()
const TOKEN = 'it-ingest-token'
const AUTH = { authorization: `Bearer ${TOKEN}` }
const JSON_HEADERS = { 'content-type': 'application/json', 'user-agent': 'Alertmanager/0.25.0', ...AUTH }
const BASE_TIME = 1795567977000

interface FixtureAlert {
  status: string
  labels: Record<string, string>
  annotations: Record<string, string>
  startsAt: string
  endsAt: string
  generatorURL: string
  fingerprint: string
}
interface FixtureBody {
  receiver: string
  groupKey: string
  externalURL: string
  alerts: FixtureAlert[]
}
const readFixture = (file: string): Buffer => fs.readFileSync(path.join(FIXTURES, file))

const schemas = SchemaSet.load()
const registry = new Registry(endpoints.registryUrl)
const quietLogger = testLogger.child({}, { level: 'silent' })

interface ErrorResponse {
  error: { code: string; message: string; requestId: string }
}

/** One isolated ingest: its own topics and subjects, a publisher and a listening server. */
interface Ingest {
  topics: TopicNames
  publisher: KafkaIngestPublisher
  app: FastifyInstance
  url: string
  clock: { now: number }
  post(
    body: Buffer | string,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: unknown; headers: Headers }>
  get(route: string): Promise<{ status: number; body: unknown }>
}

describe('ingest webhook (real HTTP server, real broker and registry)', () => {
  let admin: KafkaAdmin
  const createdTopics: string[] = []
  const cleanups: Array<() => Promise<void>> = []

  beforeAll(async () => {
    admin = await KafkaAdmin.connect(kafkaSettings('it-ingest-admin'))
  })

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  afterAll(async () => {
    await admin.deleteTopics(createdTopics)
    await admin.disconnect()
  })

  /** Creates alerts.raw (3 partitions) and nightshift.dlq under a random prefix. */
  async function createTopics(name: string): Promise<TopicNames> {
    const topics = topicNames(`${uniqueName(name)}.`)
    await admin.ensureTopics([
      { name: topics.raw, partitions: 3 },
      { name: topics.dlq, partitions: 1 },
    ])
    createdTopics.push(topics.raw, topics.dlq)
    return topics
  }

  /** Registers what `nightshift topology apply` registers for ingest's two topics. */
  async function registerSchemas(topics: TopicNames): Promise<void> {
    await registry.register(valueSubject(topics.raw), schemas.resolve('Alert'), 'BACKWARD')
    await registry.register(valueSubject(topics.dlq), schemas.resolve('DeadLetter'), 'BACKWARD')
  }

  async function startIngest(
    topics: TopicNames,
    options: {
      kafka?: Partial<KafkaSettings>
      publisher?: Partial<KafkaIngestPublisherOptions>
      auth?: WebhookAuth
    } = {},
  ): Promise<Ingest> {
    const publisher = new KafkaIngestPublisher({
      kafka: { ...kafkaSettings(uniqueName('it-ingest')), ...options.kafka },
      registry,
      schemas,
      topics,
      logger: testLogger,
      reconnectBackoff: { initialMs: 50, maxMs: 500 },
      ...options.publisher,
    })
    publisher.start()
    const clock = { now: BASE_TIME }
    const app = buildHttpServer({
      logger: testLogger,
      publisher,
      auth: options.auth ?? { bearerToken: TOKEN },
      now: () => clock.now,
    })
    await app.listen({ host: '127.0.0.1', port: 0 })
    cleanups.push(async () => {
      await app.close()
      await publisher.close()
    })
    const { port } = app.server.address() as net.AddressInfo
    const url = `http://127.0.0.1:${port}`
    return {
      topics,
      publisher,
      app,
      url,
      clock,
      async post(body, headers = JSON_HEADERS) {
        const res = await fetch(`${url}${WEBHOOK_PATH}`, { method: 'POST', body, headers })
        return { status: res.status, body: (await res.json()) as unknown, headers: res.headers }
      },
      async get(route) {
        const res = await fetch(`${url}${route}`)
        return { status: res.status, body: (await res.json()) as unknown }
      },
    }
  }

  const ready = (ingest: Ingest) =>
    waitFor('the publisher to be ready', () => (ingest.publisher.readiness().ready ? true : undefined))

  async function recordCount(topic: string): Promise<number> {
    const ends = await admin.endOffsets(topic)
    return [...ends.values()].reduce((sum, offset) => sum + Number(offset), 0)
  }

  async function readAll(topic: string, count: number): Promise<InRecord[]> {
    const reader = await collect(topic)
    try {
      return await waitFor(`${count} record(s) on ${topic}`, () =>
        reader.records.length >= count ? [...reader.records] : undefined,
      )
    } finally {
      await reader.stop()
    }
  }

  it('turns fixtures 01..07 into exactly one Alert record per alert, key = fingerprint, acknowledged before the 200', async () => {
    const topics = await createTopics('ingest.fixtures')
    await registerSchemas(topics)
    const ingest = await startIngest(topics)
    await ready(ingest)
    expect(await ingest.get('/readyz')).toEqual({ status: 200, body: { ready: true } })

    const expected: Array<Record<string, unknown>> = []
    for (const [i, file] of FIXTURE_FILES.entries()) {
      ingest.clock.now = BASE_TIME + i
      const body = JSON.parse(readFixture(file).toString()) as FixtureBody
      const res = await ingest.post(readFixture(file))
      expect({ file, status: res.status, body: res.body }).toEqual({
        file,
        status: 200,
        body: { accepted: body.alerts.length },
      })
      for (const a of body.alerts) {
        expected.push({
          fingerprint: a.fingerprint,
          status: a.status,
          labels: a.labels,
          annotations: a.annotations,
          startsAt: a.startsAt,
          endsAt: a.endsAt,
          generatorURL: a.generatorURL,
          receiver: body.receiver,
          groupKey: body.groupKey,
          externalURL: body.externalURL,
          receivedAt: BASE_TIME + i,
          // Set by dedup, never by ingest: what Alertmanager sent is kept as it was.
          sentStartsAt: null,
          closedBy: null,
        })
      }
    }
    expect(expected).toHaveLength(23)
    // Every 200 came after Kafka acknowledged: the records are all there already, and no more.
    expect(await recordCount(topics.raw)).toBe(expected.length)

    const records = await readAll(topics.raw, expected.length)
    const decoded = await Promise.all(
      records.map(async (r) => {
        const value = (await registry.decode(r.value!)) as Record<string, unknown>
        expect(r.key?.toString()).toBe(value.fingerprint)
        expect(r.headers[INGEST_HEADERS.receivedAt]).toBe(String(value.receivedAt))
        expect(r.headers[INGEST_HEADERS.requestId]).toMatch(/^[0-9a-f-]{36}$/)
        expect(r.timestamp).toBe(String(value.receivedAt))
        return value
      }),
    )
    const order = (a: Record<string, unknown>, b: Record<string, unknown>) =>
      Number(a.receivedAt) - Number(b.receivedAt) || String(a.fingerprint).localeCompare(String(b.fingerprint))
    expect(decoded.sort(order)).toEqual(expected.sort(order))
    // Same fingerprint, same partition: Alertmanager's re-sends stay in order for dedup.
    const partitions = new Map<string, Set<number>>()
    for (const r of records)
      partitions.set(r.key!.toString(), (partitions.get(r.key!.toString()) ?? new Set()).add(r.partition))
    expect([...partitions.values()].every((p) => p.size === 1)).toBe(true)
    expect(await recordCount(topics.dlq)).toBe(0)
  })

  it('answers 400 for malformed JSON and an invalid payload, after writing the raw bytes to the DLQ', async () => {
    const topics = await createTopics('ingest.dlq')
    await registerSchemas(topics)
    const ingest = await startIngest(topics)
    await ready(ingest)

    ingest.clock.now = BASE_TIME + 1
    const malformed = Buffer.from('{"version":"4","status":"firing","alerts":[{"status":')
    const first = await ingest.post(malformed)
    expect(first.status).toBe(400)
    const firstError = (first.body as ErrorResponse).error
    expect(firstError).toMatchObject({
      code: ERROR_CODES.BAD_PAYLOAD,
      message: expect.stringMatching(/^malformed JSON: /) as unknown,
    })

    ingest.clock.now = BASE_TIME + 2
    const invalid = Buffer.from(
      readFixture('02-firing-handlerseen.json')
        .toString()
        .replace(
          '"status": "firing",\n      "labels": {\n        "alertname": "HandlerSeen",\n        "handler": "/api/v1/query"',
          '"status": "pending",\n      "labels": {\n        "alertname": "HandlerSeen",\n        "handler": "/api/v1/query"',
        ),
    )
    const second = await ingest.post(invalid)
    expect(second.status).toBe(400)
    const secondError = (second.body as ErrorResponse).error
    expect(secondError.message).toMatch(/\/alerts\/1\/status must be one of "firing", "resolved", got "pending"/)

    expect(await recordCount(topics.dlq)).toBe(2)
    expect(await recordCount(topics.raw)).toBe(0)
    const records = await readAll(topics.dlq, 2)
    const cases = [
      { body: malformed, error: firstError, failedAt: BASE_TIME + 1 },
      { body: invalid, error: secondError, failedAt: BASE_TIME + 2 },
    ]
    for (const [i, record] of records.entries()) {
      const c = cases[i]!
      expect(record.key?.toString()).toBe(c.error.requestId)
      expect(record.headers).toMatchObject({
        'nightshift-stage': 'ingest',
        'nightshift-error-code': ERROR_CODES.BAD_PAYLOAD,
        'nightshift-error-message': c.error.message,
        [INGEST_HEADERS.requestId]: c.error.requestId,
      })
      const letter = (await registry.decode(record.value!)) as Record<string, unknown>
      expect(letter).toEqual({
        stage: 'ingest',
        errorCode: ERROR_CODES.BAD_PAYLOAD,
        errorMessage: c.error.message,
        source: null,
        key: null,
        value: c.body,
        // Selected request headers only: the Authorization header is never kept.
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Alertmanager/0.25.0',
          'content-length': String(c.body.length),
        },
        failedAt: c.failedAt,
      })
    }
  })

  it.each<[string, Record<string, string>]>([
    ['no credentials', { 'content-type': 'application/json' }],
    ['a wrong bearer token', { 'content-type': 'application/json', authorization: 'Bearer nope' }],
    [
      'basic credentials where a bearer token is configured',
      { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`am:${TOKEN}`).toString('base64')}` },
    ],
  ])('answers 401 with WWW-Authenticate for %s, and writes nothing', async (_name, headers) => {
    const topics = await createTopics('ingest.auth')
    await registerSchemas(topics)
    const ingest = await startIngest(topics)
    await ready(ingest)
    for (const body of [readFixture('01-firing-targetup.json'), Buffer.from('not json')]) {
      const res = await ingest.post(body, headers)
      expect(res.status).toBe(401)
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="nightshift"')
      expect((res.body as ErrorResponse).error.code).toBe('NS_UNAUTHORIZED')
    }
    expect(await recordCount(topics.raw)).toBe(0)
    expect(await recordCount(topics.dlq)).toBe(0)
  })

  it('answers 503 (never 200 or 400) within the publish timeout when the broker is unreachable', async () => {
    const topics = await createTopics('ingest.down')
    await registerSchemas(topics)
    const ingest = await startIngest(topics, {
      kafka: { brokers: ['127.0.0.1:1'], retries: 1, connectionTimeoutMs: 500, logger: quietLogger },
      publisher: { publishTimeoutMs: 1500 },
    })
    const readiness = await ingest.get('/readyz')
    expect(readiness.status).toBe(503)
    expect(readiness.body).toMatchObject({ ready: false, error: { code: ERROR_CODES.KAFKA_UNAVAILABLE } })
    expect((readiness.body as { missing: string[] }).missing.join('\n')).toMatch(
      /^kafka: no producer connected to 127\.0\.0\.1:1/m,
    )
    expect(await ingest.get('/healthz')).toEqual({ status: 200, body: { status: 'ok' } })

    for (const body of [readFixture('02-firing-handlerseen.json'), Buffer.from('not json')]) {
      const started = Date.now()
      const res = await ingest.post(body)
      expect(Date.now() - started).toBeLessThan(5000)
      expect(res.status).toBe(503)
      const error = (res.body as ErrorResponse).error
      expect(error.code).toBe(ERROR_CODES.KAFKA_UNAVAILABLE)
      expect(error.message).toMatch(/not ready within 1500 ms: kafka: no producer connected to 127\.0\.0\.1:1/)
    }
    expect(await recordCount(topics.raw)).toBe(0)
    expect(await recordCount(topics.dlq)).toBe(0)
  })

  it('copes with Kafka being down at start: becomes ready when it comes up, then accepts', async () => {
    const topics = await createTopics('ingest.late')
    await registerSchemas(topics)
    // A port nothing listens on yet; later a proxy to the real broker opens there.
    const port = await freePort()
    const ingest = await startIngest(topics, {
      kafka: { brokers: [`127.0.0.1:${port}`], retries: 1, connectionTimeoutMs: 500, logger: quietLogger },
    })
    await waitFor('a failed connection attempt', () =>
      /kafka: no producer connected to .*\((?!not connected yet)/.test(ingest.publisher.readiness().missing.join('\n'))
        ? true
        : undefined,
    )
    expect((await ingest.get('/readyz')).status).toBe(503)

    const proxy = await startProxy(port, endpoints.brokers[0]!)
    cleanups.push(() => new Promise((resolve) => proxy.close(() => resolve())))
    await ready(ingest)
    expect((await ingest.get('/readyz')).status).toBe(200)
    const res = await ingest.post(readFixture('01-firing-targetup.json'))
    expect(res).toMatchObject({ status: 200, body: { accepted: 1 } })
    expect(await recordCount(topics.raw)).toBe(1)
  })

  it('waits for the schema ids: not ready until the subjects are registered, then accepts', async () => {
    const topics = await createTopics('ingest.subjects')
    const ingest = await startIngest(topics, { publisher: { publishTimeoutMs: 1000 } })
    await waitFor('a failed schema lookup', () =>
      /registry: no schema id for subject .*nightshift\.dlq-value/.test(ingest.publisher.readiness().missing.join('\n'))
        ? true
        : undefined,
    )
    const readiness = await ingest.get('/readyz')
    expect(readiness).toMatchObject({
      status: 503,
      body: { ready: false, error: { code: ERROR_CODES.REGISTRY_UNAVAILABLE } },
    })
    const early = await ingest.post(readFixture('01-firing-targetup.json'))
    expect(early.status).toBe(503)
    expect((early.body as ErrorResponse).error.message).toMatch(/not ready within 1000 ms: registry: /)

    await registerSchemas(topics)
    await ready(ingest)
    expect(await ingest.post(readFixture('01-firing-targetup.json'))).toMatchObject({
      status: 200,
      body: { accepted: 1 },
    })
    expect(await recordCount(topics.raw)).toBe(1)
  })

  it('accepts a full-size group whose records exceed one produce request (sent in chunks)', async () => {
    const topics = await createTopics('ingest.big')
    await registerSchemas(topics)
    const ingest = await startIngest(topics)
    await ready(ingest)
    // 1000 alerts, each carrying a 4 KiB groupKey: a ~200 KB body becomes ~4 MB of
    // records, beyond the broker's 1 MiB message.max.bytes for a single request.
    const template = (JSON.parse(readFixture('01-firing-targetup.json').toString()) as FixtureBody).alerts[0]!
    const body = {
      ...(JSON.parse(readFixture('01-firing-targetup.json').toString()) as FixtureBody),
      groupKey: `{}:{alertname="Big", pad="${'x'.repeat(4096)}"}`,
      alerts: Array.from({ length: 1000 }, (_, i) => {
        const { fingerprint: _sent, ...alert } = template
        return { ...alert, labels: { ...template.labels, instance: `host-${i}:9100` } }
      }),
    }
    const raw = Buffer.from(JSON.stringify(body))
    expect(raw.length).toBeLessThan(1024 * 1024)
    const res = await ingest.post(raw)
    expect(res).toMatchObject({ status: 200, body: { accepted: 1000 } })
    expect(await recordCount(topics.raw)).toBe(1000)
    const records = await readAll(topics.raw, 1000)
    expect(new Set(records.map((r) => r.key!.toString())).size).toBe(1000)
  })
})

/** A loopback port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** A TCP proxy from `port` to `target` (host:port). */
async function startProxy(port: number, target: string): Promise<net.Server> {
  const [host, targetPort] = target.split(':') as [string, string]
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(targetPort), host)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => undefined)
      s.on('close', () => sockets.delete(s))
    }
    client.pipe(upstream).pipe(client)
  })
  const close = server.close.bind(server)
  server.close = ((callback?: (err?: Error) => void) => {
    for (const s of sockets) s.destroy()
    return close(callback)
  }) as typeof server.close
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return server
}
