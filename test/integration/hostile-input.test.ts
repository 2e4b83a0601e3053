import { randomInt } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import { buildApp, type App } from '../../src/app'
import type { AlertRecord, DeadLetterRecord } from '../../src/contracts/records'
import { KafkaAdmin } from '../../src/kafka'
import { INGEST_HEADERS } from '../../src/ingest'
import { DLQ_HEADERS } from '../../src/runner/dead-letter'
import {
  PROBE_LABEL,
  goodRequest,
  goodTemplate,
  hostileRequest,
  type ExpectedAlert,
  type GoodRequest,
  type HostileRequest,
} from '../support/hostile'
import { collect, endpoints, kafkaSettings, testLogger, uniqueName, waitFor } from '../support/kafka'
import { provisionTopology, type TestTopology } from '../support/topology'

/**
 * Hostile input (issue 8): ≥ 1,000 generated bad requests, with good traffic in between,
 * against the real webhook (buildApp, ingest stage only), broker and registry.
 *
 * The dead-letter rule asserted here, from src/http/server.ts:
 * - a request whose body the webhook read whole and refused, that is a 400
 *   NS_BAD_PAYLOAD (malformed JSON, invalid payload, or a record too large for
 *   Kafka), has exactly one dead letter on nightshift.dlq: key = the request id, value =
 *   the body byte for byte, errorCode = the answer's code, errorMessage = the answer's
 *   message on one line (whitespace runs → one space, at most 1000 characters);
 * - a request refused before its body counts has none: 401 (credentials, checked
 *   first), 404 (no such route) or 405 (another method on the webhook), 413 (body above the 1 MiB limit), 415
 *   (content-type header that is not a media type);
 * so the DLQ holds exactly as many records as there were 400 answers, and nothing else.
 *
 * Reproduce a run: HOSTILE_SEED=<seed> (printed on failure); HOSTILE_RUNS raises the
 * number of bad requests (default 1000; a quarter as many good ones go in between);
 * HOSTILE_VERBOSE=1 prints the seed, counts by kind and timings of a passing run.
 */
const TOKEN = 'it-hostile-token'
const SEED = process.env.HOSTILE_SEED === undefined ? randomInt(2 ** 31 - 1) : Number(process.env.HOSTILE_SEED)
const BAD_COUNT = Math.max(1000, Number(process.env.HOSTILE_RUNS ?? 1000))
const GOOD_COUNT = Math.ceil(BAD_COUNT / 4)
const CONCURRENCY = 8
/** No answer within this is a hang. */
const REQUEST_TIMEOUT_MS = 20_000
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

type Sent = (HostileRequest | GoodRequest) & { index: number; userAgent: string }

interface Answer {
  status: number
  headers: Headers
  text: string
  body: unknown
  failedAt: number
}

interface ErrorBody {
  error: { code: string; message: string; requestId: string }
}

/** The message of a dead letter for an answer's message: one line, bounded (src/runner/dead-letter.ts). */
const asDeadLetterMessage = (message: string) => message.replace(/\s+/g, ' ').slice(0, 1000)

/** A plain JSON copy (decoded Avro records are class instances; `__proto__` stays a key). */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value))

/** Avro's encoding of a string: zig-zag varint of the UTF-8 length, then the bytes. */
function avroString(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8')
  const prefix: number[] = []
  for (let n = bytes.length * 2; ; n = Math.floor(n / 128)) {
    if (n < 0x80) {
      prefix.push(n)
      break
    }
    prefix.push((n & 0x7f) | 0x80)
  }
  return Buffer.concat([Buffer.from(prefix), bytes])
}

/**
 * KNOWN BUG, outside ingest (reported): avsc decodes an Avro map into `{}` by assignment,
 * so a key named `__proto__` is dropped when a record is read in JS (every stage's
 * decode goes through it). Ingest writes it (checked on the raw bytes below); only the
 * decoded copy may lack it.
 */
const MAY_DROP_ON_DECODE = '__proto__'

/** A body as a chunked stream (no content-length), in 64 KiB pieces. */
function chunked(body: Buffer): ReadableStream<Uint8Array> {
  let offset = 0
  return new ReadableStream({
    pull(controller) {
      if (offset >= body.length) return controller.close()
      controller.enqueue(body.subarray(offset, offset + 65536))
      offset += 65536
    },
  })
}

async function send(base: string, request: Sent): Promise<Answer | string> {
  const init: RequestInit & { duplex?: 'half' } = {
    method: request.method,
    headers: { ...request.headers, 'user-agent': request.userAgent },
    body: request.chunked ? chunked(request.body) : request.body,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  }
  if (request.chunked) init.duplex = 'half'
  try {
    const res = await fetch(`${base}${request.path}`, init)
    const text = await res.text()
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      body = undefined
    }
    return { status: res.status, headers: res.headers, text, body, failedAt: Date.now() }
  } catch (err) {
    return `no answer: ${String((err as Error).cause ?? err)}`
  }
}

/** Runs `work` over `items`, at most `concurrency` at a time, results in item order. */
async function inPool<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++
        results[i] = await work(items[i]!)
      }
    }),
  )
  return results
}

function describeRequest(r: Sent): string {
  return `#${r.index} ${r.kind} (${r.what.slice(0, 160)}), ${r.method} ${r.path}, ${r.body.length} bytes`
}

describe('hostile input: generated bad requests between good ones (real webhook, broker and registry)', () => {
  let t: TestTopology
  let app: App
  let base: string
  let admin: KafkaAdmin

  beforeAll(async () => {
    t = await provisionTopology(`${uniqueName('hostile')}.`, 3)
    admin = await KafkaAdmin.connect(kafkaSettings('it-hostile-admin'))
    // A line per refused request would bury the report: the app logs errors only.
    app = buildApp({
      endpoints,
      logger: testLogger.child({}, { level: 'error' }),
      stages: ['ingest'],
      prefix: t.prefix,
      http: { host: '127.0.0.1', port: 0, auth: { bearerToken: TOKEN } },
    })
    await app.start()
    base = app.httpAddress()!
    await waitFor('the webhook to be ready', async () => ((await fetch(`${base}/readyz`)).ok ? true : undefined), 30000)
  })

  afterAll(async () => {
    await app?.stop()
    await admin?.disconnect()
    await t?.cleanup()
  })

  async function recordCount(topic: string): Promise<number> {
    const ends = await admin.endOffsets(topic)
    return [...ends.values()].reduce((sum, offset) => sum + Number(offset), 0)
  }

  async function readAll<T>(
    topic: string,
    count: number,
  ): Promise<Array<{ key: string | undefined; headers: Record<string, string>; raw: Buffer; value: T }>> {
    const reader = await collect(topic)
    try {
      const records = await waitFor(
        `${count} record(s) on ${topic}`,
        () => (reader.records.length >= count ? [...reader.records] : undefined),
        30000,
      )
      return await Promise.all(
        records.map(async (r) => ({
          key: r.key?.toString(),
          headers: r.headers,
          raw: r.value!,
          value: (await t.registry.decode(r.value!)) as T,
        })),
      )
    } finally {
      await reader.stop()
    }
  }

  /** Runs `test`, naming the seed in whatever it fails with. */
  const withSeed = (test: () => Promise<void>) => async () => {
    try {
      await test()
    } catch (err) {
      if (err instanceof Error && !err.message.includes(`HOSTILE_SEED=${SEED}`))
        err.message = `hostile input, seed ${SEED} (rerun with HOSTILE_SEED=${SEED}): ${err.message}`
      throw err
    }
  }

  it(
    `refuses ${BAD_COUNT} bad requests with a clear 4xx, dead-letters exactly those it read, and delivers every good alert once, intact`,
    withSeed(async () => {
      const failures: string[] = []
      const fail = (request: Sent, problem: string) => failures.push(`${describeRequest(request)}: ${problem}`)
      const report = (what: string) => {
        if (failures.length === 0) return
        const shown = failures.slice(0, 25).join('\n  ')
        throw new Error(
          `hostile input, seed ${SEED} (rerun with HOSTILE_SEED=${SEED}): ${failures.length} failure(s) ${what}:\n  ${shown}`,
        )
      }

      // Generate: bad and good requests, interleaved in a seeded order.
      const started = Date.now()
      const bad = fc.sample(hostileRequest({ token: TOKEN }), { seed: SEED, numRuns: BAD_COUNT })
      const good = fc
        .sample(goodTemplate, { seed: SEED + 1, numRuns: GOOD_COUNT })
        .map((template, i) => goodRequest(template, i, { token: TOKEN }))
      const all: Array<HostileRequest | GoodRequest> = [...bad, ...good]
      const [order] = fc.sample(
        fc.shuffledSubarray(
          all.map((_, i) => i),
          { minLength: all.length },
        ),
        { seed: SEED + 2, numRuns: 1 },
      )
      const sequence: Sent[] = order!.map((i, index) => ({
        ...all[i]!,
        index,
        userAgent: `nightshift-hostile/1 (#${index})`,
      }))
      expect(sequence.filter((r) => r.kind !== 'good').length).toBeGreaterThanOrEqual(1000)
      const generatedMs = Date.now() - started

      // Send, 8 at a time.
      const sendStarted = Date.now()
      const answers = await inPool(sequence, CONCURRENCY, (request) => send(base, request))
      const sendMs = Date.now() - sendStarted

      // Every answer: bad → the expected 4xx with a JSON error naming the problem; good → 200.
      const deadLettered: Array<{ request: Sent; answer: Answer; error: ErrorBody['error'] }> = []
      for (const [i, request] of sequence.entries()) {
        const answer = answers[i]!
        if (typeof answer === 'string') {
          fail(request, answer)
          continue
        }
        if (request.kind === 'good') {
          if (
            answer.status !== 200 ||
            JSON.stringify(answer.body) !== JSON.stringify({ accepted: request.alerts.length })
          ) {
            fail(
              request,
              `expected 200 { accepted: ${request.alerts.length} }, got ${answer.status} ${answer.text.slice(0, 300)}`,
            )
          }
          continue
        }
        const { expected } = request
        const error = (answer.body as Partial<ErrorBody> | undefined)?.error
        if (answer.status !== expected.status) {
          fail(request, `expected ${expected.status}, got ${answer.status} ${answer.text.slice(0, 300)}`)
          continue
        }
        if (!/^application\/json/.test(answer.headers.get('content-type') ?? ''))
          fail(request, `answer is ${answer.headers.get('content-type')}, not JSON`)
        if (
          !error ||
          typeof error.message !== 'string' ||
          typeof error.code !== 'string' ||
          typeof error.requestId !== 'string'
        ) {
          fail(request, `no { error: { code, message, requestId } } in ${answer.text.slice(0, 300)}`)
          continue
        }
        if (error.code !== expected.code) fail(request, `code ${error.code}, expected ${expected.code}`)
        if (error.message.trim() === '' || !expected.message.test(error.message))
          fail(
            request,
            `message ${JSON.stringify(error.message.slice(0, 300))} does not match ${String(expected.message).slice(0, 300)}`,
          )
        if (!UUID.test(error.requestId)) fail(request, `requestId ${error.requestId}`)
        if (
          expected.status === 401 &&
          !(answer.headers.get('www-authenticate') ?? '').includes('Bearer realm="nightshift"')
        )
          fail(request, 'a 401 without WWW-Authenticate')
        if (expected.deadLetter) deadLettered.push({ request, answer, error })
      }
      report('in the answers')

      // The process is still up and still ready.
      expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' })
      expect((await fetch(`${base}/readyz`)).status).toBe(200)

      // The DLQ: one dead letter per 400, keyed by the request id, and nothing else. Each
      // 400 came after Kafka acknowledged the dead letter, so the count is final already.
      const badStatuses = answers.filter((a): a is Answer => typeof a !== 'string' && a.status === 400).length
      expect(deadLettered.length).toBe(badStatuses)
      expect(await recordCount(t.topics.dlq)).toBe(deadLettered.length)
      const expectedAlerts = new Map<string, { request: Sent; alert: ExpectedAlert }>()
      for (const request of sequence)
        if (request.kind === 'good')
          for (const alert of request.alerts) expectedAlerts.set(alert.probe, { request, alert })
      expect(await recordCount(t.topics.raw)).toBe(expectedAlerts.size)
      // Both topics read at once: each reader's group join is most of the time spent here.
      const [dlqRecords, rawRecords] = await Promise.all([
        readAll<DeadLetterRecord>(t.topics.dlq, deadLettered.length),
        readAll<AlertRecord>(t.topics.raw, expectedAlerts.size),
      ])
      const letters = new Map<string | undefined, { headers: Record<string, string>; value: DeadLetterRecord }>()
      for (const r of dlqRecords) letters.set(r.key, r)
      for (const { request, error } of deadLettered) {
        const letter = letters.get(error.requestId)
        if (!letter) {
          fail(request, `no dead letter keyed ${error.requestId}`)
          continue
        }
        const message = asDeadLetterMessage(error.message)
        // A chunked request has no content-length to keep, except an empty one: when the
        // stream ends before fetch (undici) writes the headers, it sends `content-length: 0`.
        const expectedHeaders: Record<string, string> = { 'user-agent': request.userAgent }
        const { value } = letter
        if (!request.chunked) expectedHeaders['content-length'] = String(request.body.length)
        else if (request.body.length === 0 && value.headers['content-length'] === '0')
          expectedHeaders['content-length'] = '0'
        if (request.headers['content-type'] !== undefined)
          expectedHeaders['content-type'] = request.headers['content-type']
        const problems = [
          value.stage === 'ingest' ? '' : `stage ${value.stage}`,
          value.errorCode === error.code ? '' : `errorCode ${value.errorCode}, answered ${error.code}`,
          value.errorMessage === message
            ? ''
            : `errorMessage ${JSON.stringify(value.errorMessage.slice(0, 200))}, answered ${JSON.stringify(message.slice(0, 200))}`,
          value.source === null && value.key === null ? '' : 'a source or key on a webhook dead letter',
          value.value !== null && Buffer.from(value.value).equals(request.body)
            ? ''
            : `value is not the body byte for byte (${value.value?.length ?? 'null'} vs ${request.body.length} bytes)`,
          isDeepStrictEqual(plain(value.headers), expectedHeaders)
            ? ''
            : `request headers ${JSON.stringify(value.headers)}, expected ${JSON.stringify(expectedHeaders)}`,
          letter.headers[DLQ_HEADERS.stage] === 'ingest' &&
          letter.headers[DLQ_HEADERS.code] === error.code &&
          letter.headers[DLQ_HEADERS.message] === message &&
          letter.headers[INGEST_HEADERS.requestId] === error.requestId
            ? ''
            : `record headers ${JSON.stringify(letter.headers).slice(0, 300)}`,
          value.failedAt >= started && value.failedAt <= Date.now() ? '' : `failedAt ${value.failedAt}`,
        ].filter((p) => p !== '')
        if (problems.length > 0) fail(request, `dead letter: ${problems.join('; ')}`)
      }
      report('on the DLQ')

      // alerts.raw: every good alert exactly once, as sent; nothing from a bad request.
      const seen = new Map<string, number>()
      for (const record of rawRecords) {
        const probe = record.value.labels[PROBE_LABEL]
        const entry = probe === undefined ? undefined : expectedAlerts.get(probe)
        if (!entry) {
          failures.push(
            `an alert on ${t.topics.raw} that no good request sent: ${JSON.stringify(record.value).slice(0, 300)}`,
          )
          continue
        }
        seen.set(probe!, (seen.get(probe!) ?? 0) + 1)
        const { request, alert } = entry
        const { fingerprint, receivedAt, sentStartsAt, closedBy, ...rest } = record.value
        // Dedup's fields; ingest writes an alert as it was sent.
        if (sentStartsAt !== null || closedBy !== null)
          fail(request, `${probe}: ingest set sentStartsAt ${sentStartsAt} or closedBy ${JSON.stringify(closedBy)}`)
        const { probe: _probe, fingerprint: _sent, ...want } = alert
        if (alert.fingerprint !== undefined ? fingerprint !== alert.fingerprint : !/^[0-9a-f]{16}$/.test(fingerprint))
          fail(request, `${probe}: fingerprint ${fingerprint}, sent ${alert.fingerprint ?? 'none usable'}`)
        if (record.key !== fingerprint)
          fail(request, `${probe}: key ${record.key} is not the fingerprint ${fingerprint}`)
        const asDecoded = (sent: Record<string, string>, got: Record<string, string>) =>
          Object.hasOwn(got, MAY_DROP_ON_DECODE)
            ? sent
            : Object.fromEntries(Object.entries(sent).filter(([name]) => name !== MAY_DROP_ON_DECODE))
        const wantDecoded = {
          ...want,
          labels: asDecoded(want.labels, rest.labels),
          annotations: asDecoded(want.annotations, rest.annotations),
        }
        if (!isDeepStrictEqual(plain(rest), plain(wantDecoded))) {
          fail(
            request,
            `${probe}: record ${JSON.stringify(rest).slice(0, 300)} is not what was sent ${JSON.stringify(want).slice(0, 300)}`,
          )
        }
        // Byte-identical on the wire: every label and annotation, name and value, in the
        // record's bytes exactly as Avro writes the UTF-8 that was sent.
        for (const [what, map] of [
          ['label', alert.labels],
          ['annotation', alert.annotations],
        ] as const) {
          for (const [name, value] of Object.entries(map)) {
            if (!record.raw.includes(Buffer.concat([avroString(name), avroString(value)])))
              fail(
                request,
                `${probe}: ${what} ${JSON.stringify(name).slice(0, 80)}=${JSON.stringify(value).slice(0, 80)} is not in the record's bytes`,
              )
          }
        }
        if (!(receivedAt >= started && receivedAt <= Date.now())) fail(request, `${probe}: receivedAt ${receivedAt}`)
      }
      for (const [probe, { request }] of expectedAlerts) {
        const n = seen.get(probe) ?? 0
        if (n !== 1) fail(request, `${probe} is on ${t.topics.raw} ${n} time(s)`)
      }
      report(`on ${t.topics.raw}`)

      // The webhook's own counters agree.
      const metrics = await app.metrics.metrics()
      expect(metrics).toContain(`nightshift_ingest_dead_letters_total{code="NS_BAD_PAYLOAD"} ${deadLettered.length}`)
      expect(metrics).toContain(`nightshift_ingest_alerts_total ${expectedAlerts.size}`)

      const kinds = new Map<string, number>()
      for (const r of sequence) kinds.set(r.kind, (kinds.get(r.kind) ?? 0) + 1)
      if (process.env.HOSTILE_VERBOSE) {
        console.info(
          JSON.stringify({
            seed: SEED,
            requests: sequence.length,
            deadLetters: deadLettered.length,
            goodAlerts: expectedAlerts.size,
            generatedMs,
            sendMs,
            kinds: Object.fromEntries(kinds),
          }),
        )
      }
    }),
  )
})
