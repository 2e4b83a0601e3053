/**
 * The console API over fastify inject, with in-memory views and access: what each route
 * answers, what the operator's routes write (and that they name who), and that a viewer
 * or a request without the CSRF header writes nothing.
 */
import { Registry as MetricsRegistry } from 'prom-client'
import { createActionMetrics } from '../../src/actions/worker/metrics'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { AddressInfo } from 'node:net'
import type { SubmitResult } from '../../src/actions/worker/answers'
import type { ApprovalAnswer } from '../../src/actions/worker/approvals'
import { newPause, type Pause } from '../../src/actions/worker/pause'
import {
  answerReply,
  parseActionQuery,
  parsePauseBody,
  registerConsoleRoutes,
  type ConsoleAccessHooks,
} from '../../src/console/api'
import {
  CSRF_HEADER,
  type ActionPage,
  type ActionQuery,
  type ActionRow,
  type ConsoleEvent,
  type ConsoleUser,
  type ConsoleViews,
} from '../../src/console/types'
import type { ActionOutcomeRecord, LedgerEntry, SloBudgetRecord } from '../../src/contracts/records'
import type { OutRecord } from '../../src/kafka'
import type { KafkaSettings, Registry } from '../../src/kafka'
import { createLogger } from '../../src/log'
import { parseMatchers } from '../../src/matchers'
import { topicNames } from '../../src/topology/names'

const NOW = Date.parse('2026-03-01T12:00:00Z')
const topics = topicNames('t.')

function outcome(overrides: Partial<ActionOutcomeRecord> = {}): ActionOutcomeRecord {
  return {
    idempotencyKey: 'restart/abc/2026-03-01T11:00:00Z',
    action: 'restart',
    route: 'payments',
    fingerprint: '00000000000000a1',
    startsAt: '2026-03-01T11:00:00Z',
    team: 'payments',
    service: 'checkout',
    slo: null,
    status: 'succeeded',
    attempts: 1,
    startedAt: NOW - 60_000,
    finishedAt: NOW - 50_000,
    detail: null,
    output: {},
    escalatedTo: null,
    dryRun: false,
    alertname: 'HighLatency',
    durationMs: 10_000,
    artifact: null,
    ...overrides,
  }
}

function budget(slo: string, state: string): SloBudgetRecord {
  return {
    slo,
    service: 'checkout',
    team: 'payments',
    objective: 0.999,
    asOf: NOW,
    windowStart: NOW - 30 * 86_400_000,
    allowedBadMs: 1000,
    badMs: 10,
    remainingRatio: 0.99,
    burnRates: { '1h': 1 },
    state,
    open: {},
    intervals: [],
    remediations: {},
    automated: 0,
    notEffective: 0,
    actedAt: {},
    resolvedAfterActionCount: 0,
    resolvedAfterActionMs: 0,
    recent: [],
  }
}

const pause = newPause({
  id: 'pause/team=payments',
  scope: { team: 'payments' },
  reason: 'deploy freeze',
  forMs: 3_600_000,
  now: NOW - 600_000,
  createdBy: 'alice',
})

class FakeViews implements ConsoleViews {
  rows: ActionRow[] = [
    { key: 'restart/abc/2026-03-01T11:00:00Z', outcome: outcome(), history: [], position: '0:7' },
    {
      key: 'restart/def/2026-03-01T11:30:00Z',
      outcome: outcome({ idempotencyKey: 'restart/def/2026-03-01T11:30:00Z', status: 'failed', team: 'search' }),
      history: [],
      position: '1:3',
    },
  ]
  queries: ActionQuery[] = []
  listeners = new Set<(event: ConsoleEvent) => void>()
  pauseList: Pause[] = [pause]
  actions(query: ActionQuery): ActionPage {
    this.queries.push(query)
    const rows = this.rows.filter((r) => query.team === undefined || r.outcome.team === query.team)
    return { rows, total: rows.length }
  }
  action(key: string): ActionRow | undefined {
    return this.rows.find((r) => r.key === key)
  }
  pendingApprovals() {
    return [
      {
        id: '3f9a2c81d04e',
        key: 'restart/ghi/x',
        outcome: outcome({ status: 'awaiting_approval' as ActionOutcomeRecord['status'] }),
        askedAt: NOW - 60_000,
        timeoutAt: NOW + 240_000,
      },
    ]
  }
  held() {
    return [
      {
        key: 'restart/jkl/x',
        outcome: outcome({ status: 'held' as ActionOutcomeRecord['status'] }),
        until: NOW + 30_000,
      },
    ]
  }
  pauses(now: number, all?: boolean): Pause[] {
    return this.pauseList.filter((p) => all || (p.createdAt <= now && now < p.until))
  }
  budgets(): SloBudgetRecord[] {
    return [budget('checkout-latency', 'ok'), budget('checkout-errors', 'page')]
  }
  alert(fingerprint: string) {
    if (fingerprint !== '00000000000000a1') return undefined
    return { fingerprint, events: [], episodes: [], complete: true }
  }
  findAlerts(matchers: string): string[] {
    parseMatchers([matchers])
    return matchers.includes('HighLatency') ? ['00000000000000a1', '00000000000000ff'] : []
  }
  progress() {
    return [{ topic: 't.actions.outcomes', read: 10, target: 20, caughtUp: false }]
  }
  subscribe(listener: (event: ConsoleEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
  sizes() {
    return { actions: this.rows.length }
  }
}

/** Access by a header naming the role: no header is 401, a viewer may only look. */
const fakeAccess: ConsoleAccessHooks = {
  async authenticate(request: FastifyRequest, reply: FastifyReply) {
    const role = request.headers['x-test-role']
    if (role !== 'viewer' && role !== 'operator') return reply.code(401).send({ error: 'who are you' })
    const user: ConsoleUser = { name: role === 'viewer' ? 'vera' : 'olga', role, open: false }
    ;(request as FastifyRequest & { consoleUser?: ConsoleUser }).consoleUser = user
    return undefined
  },
  async requireOperator(request: FastifyRequest, reply: FastifyReply) {
    const user = (request as FastifyRequest & { consoleUser?: ConsoleUser }).consoleUser
    if (user?.role !== 'operator') return reply.code(403).send({ error: 'operators only' })
    if (request.headers[CSRF_HEADER] === undefined) return reply.code(403).send({ error: 'csrf' })
    return undefined
  },
}

interface Harness {
  server: FastifyInstance
  views: FakeViews
  sent: OutRecord[][]
  answers: ApprovalAnswer[]
}

async function harness(
  submitResult: (a: ApprovalAnswer) => SubmitResult = (answer) => ({ status: 'recorded', answer }),
  metrics?: MetricsRegistry,
) {
  const views = new FakeViews()
  const sent: OutRecord[][] = []
  const answers: ApprovalAnswer[] = []
  const server = Fastify()
  registerConsoleRoutes(server, {
    views,
    access: fakeAccess,
    kafka: {} as KafkaSettings,
    registry: {} as Registry,
    topics,
    logger: createLogger({ level: 'silent' }),
    slos: () => [],
    now: () => NOW,
    heartbeatMs: 50,
    submit: async (answer) => {
      answers.push(answer)
      return submitResult(answer)
    },
    send: async (records) => {
      sent.push(records)
    },
    ...(metrics ? { metrics } : {}),
  })
  await server.ready()
  return { server, views, sent, answers } satisfies Harness
}

/**
 * A real request on an ephemeral loopback port (fastify's inject() cannot run under Jest
 * here: light-my-request requires cookie@2, which is ESM only).
 */
async function call(
  server: FastifyInstance,
  opts: { method?: string; url: string; headers?: Record<string, string>; payload?: unknown },
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the JSON of any route; the assertions check it
): Promise<{ statusCode: number; json(): any }> {
  if (!server.server.listening) await server.listen({ host: '127.0.0.1', port: 0 })
  const { port } = server.server.address() as AddressInfo
  const body =
    opts.payload === undefined
      ? undefined
      : typeof opts.payload === 'string'
        ? opts.payload
        : JSON.stringify(opts.payload)
  const res = await fetch(`http://127.0.0.1:${port}${opts.url}`, {
    method: opts.method ?? 'GET',
    headers: opts.headers ?? {},
    ...(body === undefined ? {} : { body }),
  })
  const text = await res.text()
  return { statusCode: res.status, json: () => JSON.parse(text) }
}

const operator = { 'x-test-role': 'operator', [CSRF_HEADER]: '1', 'content-type': 'application/json' }

describe('parseActionQuery', () => {
  test.each([
    [{}, { ok: true, value: {} }],
    [
      { team: 'payments', status: ' ' },
      { ok: true, value: { team: 'payments' } },
    ],
    [
      { since: '1000', until: '2026-03-01T00:00:00Z' },
      { ok: true, value: { since: 1000, until: Date.parse('2026-03-01T00:00:00Z') } },
    ],
    [
      { limit: '20', cursor: 'abc' },
      { ok: true, value: { limit: 20, cursor: 'abc' } },
    ],
    [{ limit: '0' }, { ok: false, reason: 'limit must be a whole number from 1 to 500' }],
    [{ limit: '501' }, { ok: false, reason: 'limit must be a whole number from 1 to 500' }],
    [{ since: 'yesterday' }, { ok: false, reason: 'since must be ms since the epoch or an ISO 8601 time' }],
    [{ colour: 'red' }, { ok: false, reason: 'unknown parameter(s) colour' }],
  ])('%j', (query, expected) => {
    expect(parseActionQuery(query)).toEqual(expected)
  })
})

describe('parsePauseBody', () => {
  test.each([
    [
      { team: 'payments', for: '2h', reason: 'freeze' },
      {
        ok: true,
        value: { scope: { team: 'payments' }, matchers: [], forMs: 7_200_000, reason: 'freeze', escalate: false },
      },
    ],
    [
      { matchers: 'alertname="DiskFull"', for: '30m', reason: 'x', escalate: true },
      {
        ok: true,
        value: { scope: {}, matchers: ['alertname="DiskFull"'], forMs: 1_800_000, reason: 'x', escalate: true },
      },
    ],
    [{ team: 'payments' }, { ok: false, reason: 'for is required: how long, e.g. "30m", "2h"' }],
    [
      { team: 'payments', for: '2h', matchers: [1] },
      { ok: false, reason: expect.stringMatching(/^matchers must be/) },
    ],
    [
      { team: 'payments', for: '2h', escalate: 'yes' },
      { ok: false, reason: 'escalate must be true or false' },
    ],
    [
      { team: 'payments', for: '2h', by: 'mallory' },
      { ok: false, reason: expect.stringMatching(/^unknown field\(s\) by/) },
    ],
    [[1], { ok: false, reason: 'the body must be a JSON object' }],
  ])('%j', (body, expected) => {
    expect(parsePauseBody(body)).toEqual(expected)
  })
})

describe('answerReply', () => {
  const answer: ApprovalAnswer = {
    id: '3f9a2c81d04e',
    decision: 'approve',
    by: 'olga',
    reason: '',
    at: NOW,
    via: 'http',
  }
  const entry = { kind: 'completed', status: 'succeeded', at: NOW } as LedgerEntry
  test.each([
    [{ status: 'recorded', answer } as SubmitResult, 200, 'recorded'],
    [{ status: 'already', first: answer } as SubmitResult, 409, 'already'],
    [{ status: 'closed', entry } as SubmitResult, 410, 'closed'],
    [{ status: 'unknown' } as SubmitResult, 404, 'unknown'],
  ])('%j', (result, status, bodyStatus) => {
    const reply = answerReply('3f9a2c81d04e', result)
    expect(reply.status).toBe(status)
    expect(reply.body.status).toBe(bodyStatus)
  })
})

describe('the console API', () => {
  let h: Harness
  beforeEach(async () => {
    h = await harness()
  })
  afterEach(async () => {
    await h.server.close()
  })

  test('who is asking, and the CSRF header to send', async () => {
    const res = await call(h.server, { url: '/api/console/whoami', headers: { 'x-test-role': 'viewer' } })
    expect(res.json()).toEqual({ user: { name: 'vera', role: 'viewer', open: false }, csrfHeader: CSRF_HEADER })
    expect((await call(h.server, { url: '/api/console/whoami' })).statusCode).toBe(401)
  })

  test('now: approvals and holds with time left, pauses in force, budgets not ok, progress', async () => {
    const res = await call(h.server, { url: '/api/console/now', headers: { 'x-test-role': 'viewer' } })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.approvals).toEqual([expect.objectContaining({ id: '3f9a2c81d04e', timeLeftMs: 240_000 })])
    expect(body.held).toEqual([expect.objectContaining({ key: 'restart/jkl/x', timeLeftMs: 30_000 })])
    expect(body.pauses).toEqual([
      expect.objectContaining({ id: 'pause/team=payments', createdBy: 'alice', timeLeftMs: 3_000_000 }),
    ])
    expect(body.pauses[0].text).toMatch(/^team=payments for 50m/)
    expect(body.budgets.map((b: SloBudgetRecord) => b.slo)).toEqual(['checkout-errors'])
    expect(body.progress).toEqual([{ topic: 't.actions.outcomes', read: 10, target: 20, caughtUp: false }])
    expect(body).not.toHaveProperty('lag')
  })

  test("now: this process's running actions and open circuits, from its metrics", async () => {
    const registry = new MetricsRegistry()
    const metrics = createActionMetrics(registry)
    metrics.inFlight.set({ action: 'webhook' }, 2)
    metrics.inFlight.set({ action: 'exec' }, 0)
    metrics.circuitOpen.set({ action: 'webhook', service: 'checkout' }, 1)
    metrics.circuitOpen.set({ action: 'webhook', service: 'search' }, 0)
    const own = await harness(undefined, registry)
    try {
      const body = (await call(own.server, { url: '/api/console/now', headers: { 'x-test-role': 'viewer' } })).json()
      expect(body.running).toEqual([{ action: 'webhook', count: 2 }])
      expect(body.circuits).toEqual([{ action: 'webhook', service: 'checkout' }])
    } finally {
      await own.server.close()
    }
  })

  test('actions: filters reach the views; a bad filter is 400', async () => {
    const res = await call(h.server, {
      url: '/api/console/actions?team=search&limit=10',
      headers: { 'x-test-role': 'viewer' },
    })
    expect(res.json().rows.map((r: ActionRow) => r.outcome.status)).toEqual(['failed'])
    expect(h.views.queries).toEqual([{ team: 'search', limit: 10 }])
    const badQuery = await call(h.server, {
      url: '/api/console/actions?limit=x',
      headers: { 'x-test-role': 'viewer' },
    })
    expect(badQuery.statusCode).toBe(400)
  })

  test('one action by its key, slashes and all', async () => {
    const key = 'restart/abc/2026-03-01T11:00:00Z'
    const res = await call(h.server, {
      url: `/api/console/actions/${encodeURIComponent(key)}`,
      headers: { 'x-test-role': 'viewer' },
    })
    expect(res.statusCode).toBe(200)
    expect(res.json().position).toBe('0:7')
    const missing = await call(h.server, { url: '/api/console/actions/nope', headers: { 'x-test-role': 'viewer' } })
    expect(missing.statusCode).toBe(404)
  })

  test.each([
    ['fingerprint=00000000000000a1', 200, ['00000000000000a1']],
    ['fingerprint=00000000000000b2', 404, undefined],
    [`matchers=${encodeURIComponent('alertname="HighLatency"')}`, 200, ['00000000000000a1', '00000000000000ff']],
    [`matchers=${encodeURIComponent('alertname=="x')}`, 400, undefined],
    ['', 400, undefined],
  ])('alert?%s → %i', async (query, status, fingerprints) => {
    const res = await call(h.server, { url: `/api/console/alert?${query}`, headers: { 'x-test-role': 'viewer' } })
    expect(res.statusCode).toBe(status)
    if (fingerprints) expect(res.json().fingerprints).toEqual(fingerprints)
  })

  test('slos: what the report gives', async () => {
    const res = await call(h.server, { url: '/api/console/slos', headers: { 'x-test-role': 'viewer' } })
    expect(res.json()).toEqual({ generatedAt: new Date(NOW).toISOString(), slos: [] })
  })

  test('a pause names who set it and writes the history before the control record', async () => {
    const res = await call(h.server, {
      method: 'POST',
      url: '/api/console/pauses',
      headers: operator,
      payload: { service: 'checkout', matchers: ['alertname="DiskFull"'], for: '30m', reason: 'disk work' },
    })
    expect(res.statusCode).toBe(201)
    expect(h.sent).toHaveLength(1)
    const [history, control] = h.sent[0]!
    expect([history!.topic, control!.topic]).toEqual([topics.controlHistory, topics.control])
    const written = JSON.parse(control!.value!.toString())
    expect(written).toEqual({
      id: 'pause/service=checkout {alertname="DiskFull"}',
      scope: { service: 'checkout' },
      matchers: ['alertname="DiskFull"'],
      reason: 'disk work',
      createdBy: 'olga',
      createdAt: NOW,
      until: NOW + 1_800_000,
      escalate: false,
    })
    expect(JSON.parse(history!.value!.toString())).toMatchObject({ event: 'paused', pause: { createdBy: 'olga' } })
  })

  test.each([
    [{ for: '30m', reason: 'x' }, /needs a scope/],
    [{ team: 'payments', for: '30m' }, /needs a reason/],
    [{ team: 'pay ments', for: '30m', reason: 'x' }, /single word/],
    [{ team: 'payments', for: 'soon', reason: 'x' }, /for/],
  ])('a bad pause %j is 400 and writes nothing', async (payload, message) => {
    const res = await call(h.server, { method: 'POST', url: '/api/console/pauses', headers: operator, payload })
    expect(res.statusCode).toBe(400)
    expect(res.json().error.message).toMatch(message)
    expect(h.sent).toEqual([])
  })

  test('a lift names who lifted it and why, and tombstones the pause', async () => {
    const res = await call(h.server, {
      method: 'POST',
      url: `/api/console/pauses/${encodeURIComponent(pause.id)}/lift`,
      headers: operator,
      payload: { reason: 'deploy done' },
    })
    expect(res.statusCode).toBe(200)
    const [history, tombstone] = h.sent[0]!
    expect(JSON.parse(history!.value!.toString())).toMatchObject({ event: 'lifted', by: 'olga', reason: 'deploy done' })
    expect(tombstone).toMatchObject({ topic: topics.control, key: pause.id, value: null })
    const missing = await call(h.server, {
      method: 'POST',
      url: `/api/console/pauses/${encodeURIComponent('pause/team=nobody')}/lift`,
      headers: operator,
    })
    expect(missing.statusCode).toBe(404)
  })

  test.each(['approve', 'deny'] as const)(
    '%s goes through submitAnswer by the console user via http',
    async (decision) => {
      const res = await call(h.server, {
        method: 'POST',
        url: `/api/console/approvals/3f9a2c81d04e/${decision}`,
        headers: operator,
        payload: { reason: 'looks right' },
      })
      expect(res.statusCode).toBe(200)
      expect(h.answers).toEqual([
        expect.objectContaining({
          id: '3f9a2c81d04e',
          decision,
          by: 'olga',
          reason: 'looks right',
          at: NOW,
          via: 'http',
        }),
      ])
    },
  )

  test('an approval id that is not one is 400', async () => {
    const res = await call(h.server, { method: 'POST', url: '/api/console/approvals/xyz/approve', headers: operator })
    expect(res.statusCode).toBe(400)
    expect(h.answers).toEqual([])
  })

  test.each([
    ['a viewer', { 'x-test-role': 'viewer', [CSRF_HEADER]: '1', 'content-type': 'application/json' }, 403],
    ['no CSRF header', { 'x-test-role': 'operator', 'content-type': 'application/json' }, 403],
    ['nobody', { [CSRF_HEADER]: '1', 'content-type': 'application/json' }, 401],
  ])('%s cannot act', async (_who, headers, status) => {
    for (const url of [
      '/api/console/pauses',
      `/api/console/pauses/${encodeURIComponent(pause.id)}/lift`,
      '/api/console/approvals/3f9a2c81d04e/approve',
    ]) {
      const res = await call(h.server, {
        method: 'POST',
        url,
        headers,
        payload: { team: 'x', for: '1h', reason: 'r' },
      })
      expect([url, res.statusCode]).toEqual([url, status])
    }
    expect(h.sent).toEqual([])
    expect(h.answers).toEqual([])
  })

  test('a form post (not JSON) is refused', async () => {
    const res = await call(h.server, {
      method: 'POST',
      url: '/api/console/approvals/3f9a2c81d04e/approve',
      headers: { ...operator, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'reason=x',
    })
    expect(res.statusCode).toBe(415)
    expect(h.answers).toEqual([])
  })
})

describe('the event stream', () => {
  test('sends what the views publish, a heartbeat, and ends when the server closes', async () => {
    const h = await harness()
    await h.server.listen({ host: '127.0.0.1', port: 0 })
    const { port } = h.server.server.address() as AddressInfo
    const res = await fetch(`http://127.0.0.1:${port}/api/console/events`, { headers: { 'x-test-role': 'viewer' } })
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const reader = res.body!.getReader()
    let text = ''
    const readUntil = async (pattern: RegExp): Promise<void> => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read()
        if (done) throw new Error(`stream ended before ${pattern}: ${text}`)
        text += Buffer.from(value).toString('utf8')
      }
    }
    await readUntil(/: connected/)
    expect(h.views.listeners.size).toBe(1)
    for (const listener of h.views.listeners) {
      listener({ kind: 'lift', id: 'pause/team=payments' })
      listener({ kind: 'pause', pause })
    }
    await readUntil(/event: pause\n/)
    expect(text).toContain('event: lift\ndata: {"kind":"lift","id":"pause/team=payments"}\n\n')
    expect(text).toContain('"createdBy":"alice"')
    await readUntil(/: heartbeat/)
    await h.server.close()
    expect(h.views.listeners.size).toBe(0)
    const rest = await reader.read()
    expect(rest.done).toBe(true)
  })
})
