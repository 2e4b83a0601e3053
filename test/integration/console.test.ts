/**
 * The console against the real broker, registry, workers and views (issue 18): the page
 * is served at `/` of the process's HTTP server, and the API answers from the views the
 * process keeps. An approval given on the API runs the action once and the outcome names
 * the console user; a pause set on the API is in force (the next matching request is
 * skipped_paused) until it is lifted there; a POST without the CSRF header writes nothing;
 * new outcomes arrive on the event stream.
 */
import fs from 'node:fs'
import { buildApp, type App } from '../../src/app'
import type { HoldRecord } from '../../src/contracts/records'
import { CSRF_HEADER, type ActionPage } from '../../src/console/types'
import { OPEN_BANNER } from '../../src/console/page'
import { RecordProducer } from '../../src/kafka'
import { HttpTarget } from '../support/http-target'
import { endpoints, kafkaSettings, testLogger, uniqueName, waitFor } from '../support/kafka'
import { actionRequest, actionsConfigDir, sendActionRequests } from '../support/actions'
import { provisionTopology, type TestTopology } from '../support/topology'

let t: TestTopology
let app: App
let target: HttpTarget
let dir: string
let producer: RecordProducer
let base: string

const ask: HoldRecord = { waitMs: 0, approval: { timeoutMs: 10 * 60_000, onTimeout: 'skip' } }

function request(fingerprint: string, hold: HoldRecord | null = null) {
  return {
    ...actionRequest({ action: 'webhook', fingerprint, params: { url: `${target.url}/hook/${fingerprint}` } }),
    hold,
  }
}

async function get<T>(path: string): Promise<T> {
  const res = await fetch(`${base}/api/console/${path}`)
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}

async function post(path: string, body: unknown, headers: Record<string, string> = { [CSRF_HEADER]: '1' }) {
  const res = await fetch(`${base}/api/console/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

/** The row of `key` in the Actions view once its status is `status`. */
function rowOf(key: string, status: string) {
  return waitFor(
    `${key} to be ${status} in the Actions view`,
    async () => {
      const page = await get<ActionPage>(`actions?status=${status}&limit=500`)
      return page.rows.find((r) => r.key === key)
    },
    30_000,
  )
}

beforeAll(async () => {
  t = await provisionTopology(uniqueName('console'), 2)
  target = await new HttpTarget().start()
  dir = actionsConfigDir('console', () => [
    'dryRun: false',
    'defaults:',
    '  timeout: 2s',
    '  maxAttempts: 1',
    '  escalateTo: null',
    'actions:',
    '  page:',
    '    escalateTo: null',
    `    config: { kind: pagerduty, url: "${target.url}/pd", routingKey: "pd-key" }`,
    '  webhook: {}',
    '  exec: { config: { commands: {} } }',
    '  log-level: {}',
    '  thread-dump: {}',
  ])
  target.on('/pd', 202)
  producer = await RecordProducer.connect(kafkaSettings('test-console-feed'))
  app = buildApp({
    endpoints,
    logger: testLogger,
    stages: ['actions'],
    prefix: t.prefix,
    configDir: dir,
    configPollMs: 200,
    sessionTimeoutMs: 6000,
    opsHttp: { host: '127.0.0.1', port: 0 },
    // No console credentials: open, on loopback only.
    env: { PATH: process.env.PATH },
  })
  await app.start()
  base = app.httpAddress()!
}, 120_000)

afterAll(async () => {
  await app?.stop()
  await producer?.disconnect()
  await target?.stop()
  await t?.cleanup()
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
}, 60_000)

it('serves the page and says it is open to this machine only', async () => {
  expect(app.consoleAddress()).toBe(`${base}/`)
  const res = await fetch(`${base}/`)
  expect(res.status).toBe(200)
  expect(await res.text()).toContain(OPEN_BANNER)
  for (const asset of ['/console/app.js', '/console/app.css', '/assets/uplot.js', '/assets/slo-charts.js'])
    expect([asset, (await fetch(`${base}${asset}`)).status]).toEqual([asset, 200])
  expect(await get('whoami')).toEqual({
    user: { name: 'local', role: 'operator', open: true },
    csrfHeader: CSRF_HEADER,
  })
  // The routes the process served before are still there.
  expect((await fetch(`${base}/metrics`)).status).toBe(200)
  expect((await fetch(`${base}/slo`)).status).toBe(200)
})

it('an approval given on the console runs the action once and names the console user', async () => {
  const events = new AbortController()
  const stream = await fetch(`${base}/api/console/events`, { signal: events.signal })
  const reader = stream.body!.getReader()
  let received = ''
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      received += Buffer.from(value).toString('utf8')
    }
  })().catch(() => undefined)
  try {
    const r = request('console-approve-1', ask)
    target.on('/hook/console-approve-1', 200)
    await sendActionRequests(t, producer, [r])
    const pending = await waitFor('the approval on Now', async () => {
      const now = await get<{ approvals: Array<{ id: string; key: string; timeLeftMs: number }> }>('now')
      return now.approvals.find((a) => a.key === r.idempotencyKey)
    })
    expect(pending.timeLeftMs).toBeGreaterThan(0)

    // Without the CSRF header nothing is written.
    const forged = await post(`approvals/${pending.id}/approve`, {}, {})
    expect(forged.status).toBe(403)

    const answered = await post(`approvals/${pending.id}/approve`, { reason: 'checked on the console' })
    expect(answered).toMatchObject({ status: 200, body: { status: 'recorded', answer: { by: 'local', via: 'http' } } })
    const row = await rowOf(r.idempotencyKey, 'succeeded')
    expect(row.outcome.output).toMatchObject({ approval: pending.id, approvedBy: 'local' })
    expect(target.calls('/hook/console-approve-1')).toHaveLength(1)
    const again = await post(`approvals/${pending.id}/deny`, {})
    expect(again.status).toBe(409)
    await waitFor('the outcome on the event stream', () => received.includes(r.idempotencyKey) || undefined)
    expect(received).toMatch(/event: outcome\n/)
  } finally {
    events.abort()
    await reading
  }
}, 90_000)

it('a pause set on the console skips the next matching request until it is lifted there', async () => {
  const set = await post('pauses', { action: 'webhook', for: '1h', reason: 'console test' })
  expect(set.status).toBe(201)
  const id = (set.body.pause as { id: string }).id
  await waitFor('the pause on Now', async () => {
    const now = await get<{ pauses: Array<{ id: string; createdBy: string }> }>('now')
    return now.pauses.find((p) => p.id === id && p.createdBy === 'local')
  })
  const paused = request('console-pause-1')
  target.on('/hook/console-pause-1', 200)
  await sendActionRequests(t, producer, [paused])
  const skipped = await rowOf(paused.idempotencyKey, 'skipped_paused')
  expect(skipped.outcome.output.pause).toBe(id)
  const detail = await get<{ pause?: { createdBy: string } }>(`actions/${encodeURIComponent(paused.idempotencyKey)}`)
  expect(detail.pause).toMatchObject({ createdBy: 'local' })

  const lifted = await post(`pauses/${encodeURIComponent(id)}/lift`, { reason: 'done' })
  expect(lifted).toMatchObject({ status: 200, body: { by: 'local' } })
  await waitFor('the pause gone from Now', async () => {
    const now = await get<{ pauses: Array<{ id: string }> }>('now')
    return now.pauses.every((p) => p.id !== id) || undefined
  })
  const next = request('console-pause-2')
  target.on('/hook/console-pause-2', 200)
  await sendActionRequests(t, producer, [next])
  await rowOf(next.idempotencyKey, 'succeeded')
  expect(target.calls('/hook/console-pause-1')).toHaveLength(0)
  expect(target.calls('/hook/console-pause-2')).toHaveLength(1)
}, 90_000)
