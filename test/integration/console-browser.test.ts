/**
 * The operator console in real headless Chromium (Debian `chromium` driven by
 * playwright-core), against the real broker, registry, action workers, ratelimit and slo
 * stages (issue 18). People sign in with Basic credentials from a users file of scrypt
 * hashes: an operator approves and denies on Now, pauses a team and lifts the pause; a
 * viewer sees no Approve button and is refused by the API; a page of another origin
 * cannot make the operator's browser approve anything; the Alert view says which limit
 * throttled an alert; the SLOs view draws what /api/slo returns; every control of Now is
 * reached with Tab and has a name. A screenshot of each view is kept in test/artifacts/.
 */
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { buildApp, type App } from '../../src/app'
import { hashSecret, USERS_FILE_ENV } from '../../src/console/access'
import { CSRF_HEADER } from '../../src/console/types'
import { decodeAnswerRecord } from '../../src/actions/worker/approvals'
import type { ActionOutcomeRecord, ActionRequestRecord, DecisionRecord } from '../../src/contracts/records'
import { RecordProducer } from '../../src/kafka'
import type { SloReportRow } from '../../src/stages/slo/report'
import { valueSubject } from '../../src/topology/names'
import { HttpTarget } from '../support/http-target'
import { collect, endpoints, kafkaSettings, testLogger, uniqueName, waitFor, type Collector } from '../support/kafka'
import { actionRequest, decodedOutcomes, runningActionsYaml, sendActionRequests } from '../support/actions'
import { alertRecord, enrichedAlertRecord } from '../support/records'
import { provisionTopology, schemas, type TestTopology } from '../support/topology'

/** Debian's chromium (installed by .ci/run); playwright-core drives it, it downloads no browser. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/** Screenshots kept after the run (ignored by git). */
const ARTIFACTS = path.resolve(__dirname, '..', 'artifacts')
const M = 60_000
const SLO = 'console-shop'
/**
 * Eight hours ago on a minute boundary: inside the SLO window and the 1d and 3d burn windows,
 * outside the shorter ones, so no burn rate moves between the API's answer and the page's.
 */
const T0 = Math.floor(Date.now() / M) * M - 8 * 60 * M
const OPERATOR = { username: 'ops-alice', password: 'correct horse battery staple' }
const VIEWER = { username: 'view-bob', password: 'tr0ub4dor&3' }
/** Longest wait for the page or the topics: each wait fails on its own before the test's timeout. */
const UI_TIMEOUT = 25_000

let t: TestTopology
let app: App
let dir: string
let target: HttpTarget
let producer: RecordProducer
let outcomes: Collector
let control: Collector
let decisions: Collector
let browser: Browser
let operator: BrowserContext
let page: Page
let base: string
/** The other origin a forged request comes from. */
let hostile: http.Server
let hostileBase: string
let hostilePage = ''

/** A webhook request to the target at `/hook/<fingerprint>`, of team `payments` unless said. */
function request(fingerprint: string, options: { approval?: boolean; team?: string } = {}): ActionRequestRecord {
  const r = actionRequest({ action: 'webhook', fingerprint, params: { url: `${target.url}/hook/${fingerprint}` } })
  target.on(`/hook/${fingerprint}`, 200)
  return {
    ...r,
    alert: { ...r.alert, team: options.team ?? 'payments' },
    hold: options.approval ? { waitMs: 0, approval: { timeoutMs: 10 * M, onTimeout: 'skip' } } : null,
  }
}

/** The outcome of `key` with `status` on actions.outcomes itself. */
function outcomeOnTopic(key: string, status: string): Promise<ActionOutcomeRecord> {
  return waitFor(
    `${key} ${status} on actions.outcomes`,
    async () => (await decodedOutcomes(t, outcomes)).find((o) => o.idempotencyKey === key && o.status === status),
    UI_TIMEOUT,
  )
}

/** Approval answers on nightshift.control for approval `id`. */
function answersOnTopic(id: string) {
  return control.records
    .map((r) => decodeAnswerRecord(r))
    .flatMap((c) => (c.kind === 'answer' && c.answer.id === id ? [c.answer] : []))
}

const row = (p: Page, table: string, key: string) => p.locator(`#${table} tr[data-key="${key}"]`)

async function openTab(p: Page, name: 'Now' | 'Actions' | 'Alert' | 'SLOs'): Promise<void> {
  await p.getByRole('tab', { name, exact: true }).click()
}

/** Waits for `key` to show `status` in the Actions view, opens its detail and returns its fields. */
async function actionDetail(p: Page, key: string, status: string): Promise<Record<string, string>> {
  await openTab(p, 'Actions')
  const r = p.locator(`#actions-table tr[data-key="${key}"][data-status="${status}"]`)
  await r.waitFor({ timeout: UI_TIMEOUT })
  await r.click()
  await p.locator(`#action-detail dl[data-key="${key}"]`).waitFor({ timeout: UI_TIMEOUT })
  return p
    .locator('#action-detail dd[data-field]')
    .evaluateAll((dds) => Object.fromEntries(dds.map((d) => [d.getAttribute('data-field')!, d.textContent ?? ''])))
}

/** A signed-in console tab: the page drawn, live updates connected. */
async function signedIn(context: BrowserContext): Promise<Page> {
  const p = await context.newPage()
  const problems: string[] = []
  p.on('pageerror', (e) => problems.push(e.message))
  await p.goto(`${base}/`)
  await p.locator('body[data-ready="true"]').waitFor({ timeout: UI_TIMEOUT })
  await p.locator('body[data-live="open"]').waitFor({ timeout: UI_TIMEOUT })
  expect(problems).toEqual([])
  return p
}

async function screenshot(p: Page, view: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true })
  await p.screenshot({ path: path.join(ARTIFACTS, `console-${view}.png`), fullPage: true })
}

beforeAll(async () => {
  t = await provisionTopology(uniqueName('console-browser'), 1)
  target = await new HttpTarget().start()
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ns-console-browser-'))
  fs.copyFileSync(path.resolve(__dirname, '..', '..', 'topology', 'topics.yaml'), path.join(dir, 'topics.yaml'))
  fs.writeFileSync(path.join(dir, 'actions.yaml'), runningActionsYaml(target.url).join('\n'))
  target.on('/pd', 202)
  // One alert of a key per hour: the second is throttled by the alert-level limit.
  fs.writeFileSync(path.join(dir, 'limits.yaml'), 'defaults:\n  alert: { rate: 1/1h, burst: 1 }\n')
  fs.writeFileSync(
    path.join(dir, 'routes.yaml'),
    [
      'route:',
      '  routes:',
      '    - name: page-critical',
      '      matchers: [\'severity="critical"\']',
      '      action: page',
    ].join('\n'),
  )
  fs.writeFileSync(
    path.join(dir, 'slos.yaml'),
    [
      'slos:',
      `  - name: ${SLO}`,
      '    service: shop',
      '    team: payments',
      '    objective: 0.999',
      '    window: 30d',
      '    indicator:',
      `      matchers: ['slo="${SLO}"']`,
    ].join('\n'),
  )
  // Hashed by the console's own function: the file never holds a password.
  const users = path.join(dir, 'console-users.yaml')
  fs.writeFileSync(
    users,
    [
      'users:',
      `  - { name: ${OPERATOR.username}, role: operator, password: "${await hashSecret(OPERATOR.password)}" }`,
      `  - { name: ${VIEWER.username}, role: viewer, password: "${await hashSecret(VIEWER.password)}" }`,
    ].join('\n'),
  )
  producer = await RecordProducer.connect(kafkaSettings(uniqueName('console-browser-feed')))
  ;[outcomes, control, decisions] = await Promise.all([
    collect(t.topics.outcomes),
    collect(t.topics.control),
    collect(t.topics.decisions),
  ])
  app = buildApp({
    endpoints,
    logger: testLogger,
    stages: ['ratelimit', 'slo', 'actions'],
    prefix: t.prefix,
    configDir: dir,
    configPollMs: 200,
    sessionTimeoutMs: 6000,
    opsHttp: { host: '127.0.0.1', port: 0 },
    env: { PATH: process.env.PATH, [USERS_FILE_ENV]: users },
  })
  await app.start()
  base = app.httpAddress()!
  expect(app.consoleAddress()).toBe(`${base}/`)
  hostile = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(hostilePage))
  await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve))
  hostileBase = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  operator = await browser.newContext({ httpCredentials: OPERATOR, viewport: { width: 1280, height: 900 } })
  operator.setDefaultTimeout(UI_TIMEOUT)
  page = await signedIn(operator)
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await new Promise((resolve) => (hostile ? hostile.close(resolve) : resolve(undefined)))
  await app?.stop()
  await Promise.all([outcomes, control, decisions].map((c) => c?.stop()))
  await producer?.disconnect()
  await target?.stop()
  await t?.cleanup()
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
}, 60_000)

it('asks for credentials, and names who signed in', async () => {
  // Without credentials, not even the page: the browser is asked for them.
  const res = await fetch(`${base}/`)
  expect(res.status).toBe(401)
  expect(res.headers.get('www-authenticate')).toContain('Basic realm="nightshift"')
  expect(await page.locator('#who').textContent()).toBe(`${OPERATOR.username} (operator)`)
  expect(await page.locator('#banner').isHidden()).toBe(true)
})

it('an operator approves one request and denies another on Now; a viewer cannot; a forged POST is refused', async () => {
  const approved = request('cb-approve-1', { approval: true })
  const denied = request('cb-deny-1', { approval: true })
  await sendActionRequests(t, producer, [approved, denied])
  const approveRow = row(page, 'approvals', approved.idempotencyKey)
  const denyRow = row(page, 'approvals', denied.idempotencyKey)
  // Live: both appear on Now without a reload.
  await approveRow.waitFor({ timeout: UI_TIMEOUT })
  await denyRow.waitFor({ timeout: UI_TIMEOUT })
  const approveId = (await approveRow.getAttribute('data-id'))!
  const denyId = (await denyRow.getAttribute('data-id'))!
  await screenshot(page, 'now')

  // A viewer sees the request but no Approve button, and the API refuses the viewer.
  const viewerContext = await browser.newContext({ httpCredentials: VIEWER })
  viewerContext.setDefaultTimeout(UI_TIMEOUT)
  try {
    const viewer = await signedIn(viewerContext)
    expect(await viewer.locator('#who').textContent()).toBe(`${VIEWER.username} (viewer)`)
    const seen = row(viewer, 'approvals', approved.idempotencyKey)
    await seen.waitFor({ timeout: UI_TIMEOUT })
    expect(await seen.getByRole('button').count()).toBe(0)
    expect(await viewer.getByRole('button', { name: /^Approve/ }).count()).toBe(0)
    expect(await viewer.locator('#pause-form').count()).toBe(0)
    // Same origin, with the CSRF header and the viewer's credentials: refused for the role.
    const refused = await viewer.evaluate(
      async ([id, header]) => {
        const res = await fetch(`/api/console/approvals/${id}/approve`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [header]: '1' },
          body: JSON.stringify({ reason: 'viewer tries' }),
        })
        return { status: res.status, body: await res.text() }
      },
      [approveId, CSRF_HEADER] as const,
    )
    expect(refused.status).toBe(403)
    expect(refused.body).toContain(`${VIEWER.username} is a viewer`)
  } finally {
    await viewerContext.close()
  }

  // A page of another origin, opened in the operator's signed-in browser, tries to deny.
  const url = `${base}/api/console/approvals/${denyId}/deny`
  hostilePage = `<!doctype html><title>cat pictures</title>
    <form id="forged" method="POST" action="${url}" enctype="text/plain">
      <input name='{"reason":"forged","x":"' value='"}'>
    </form>`
  const evil = await operator.newPage()
  try {
    await evil.goto(`${hostileBase}/`)
    // A plain fetch needs no preflight: the browser sends it, the console refuses it.
    const simple = evil.waitForResponse((r) => r.url() === url && r.request().method() === 'POST')
    await evil.evaluate((u) => {
      void fetch(u, { method: 'POST', mode: 'no-cors', credentials: 'include', body: '{"reason":"forged"}' }).catch(
        () => undefined,
      )
    }, url)
    expect((await simple).status()).toBe(403)
    // A fetch with the console's header is not simple: the preflight fails, nothing is sent.
    const withHeader = await evil.evaluate(
      async ([u, header]) => {
        try {
          const res = await fetch(u, {
            method: 'POST',
            credentials: 'include',
            headers: { 'content-type': 'application/json', [header]: '1' },
            body: '{"reason":"forged"}',
          })
          return `answered ${res.status}`
        } catch (err) {
          return `refused: ${(err as Error).name}`
        }
      },
      [url, CSRF_HEADER] as const,
    )
    expect(withHeader).toBe('refused: TypeError')
    // A form POST, the classic forgery: refused too.
    const form = evil.waitForResponse((r) => r.url() === url)
    await evil.locator('#forged').evaluate((f) => (f as unknown as { submit(): void }).submit())
    expect((await form).status()).toBe(403)
    // Closing a page while its navigation still commits can hang: let the refusal load first.
    await evil.waitForURL(url)
  } finally {
    await evil.close()
  }

  // The operator approves with a reason: the target is called once, the row says who.
  await approveRow.getByRole('textbox').fill('checked the dashboards')
  await approveRow.getByRole('button', { name: /^Approve/ }).click()
  await denyRow.getByRole('textbox').fill('not during the sale')
  await denyRow.getByRole('button', { name: /^Deny/ }).click()

  const approvedDetail = await actionDetail(page, approved.idempotencyKey, 'succeeded')
  expect(approvedDetail['approved by']).toBe(OPERATOR.username)
  expect(target.calls(`/hook/cb-approve-1`)).toHaveLength(1)
  // The detail shows what was asked: the request's params (read from its action topic).
  expect(JSON.parse((await page.locator('#action-detail pre.params').textContent()) ?? 'null')).toEqual({
    url: `${target.url}/hook/cb-approve-1`,
  })
  const deniedDetail = await actionDetail(page, denied.idempotencyKey, 'denied')
  expect(deniedDetail['denied by']).toBe(OPERATOR.username)
  expect(target.calls(`/hook/cb-deny-1`)).toHaveLength(0)
  await screenshot(page, 'actions')

  // On the topics: each approval answered once, by the operator through the console; the
  // forged requests wrote nothing (they were answered before the deny was written).
  await outcomeOnTopic(denied.idempotencyKey, 'denied')
  expect(answersOnTopic(approveId)).toEqual([
    expect.objectContaining({ decision: 'approve', by: OPERATOR.username, reason: 'checked the dashboards' }),
  ])
  expect(answersOnTopic(denyId)).toEqual([
    expect.objectContaining({ decision: 'deny', by: OPERATOR.username, reason: 'not during the sale', via: 'http' }),
  ])
}, 120_000)

it('a pause added on the page skips the next request of the team; lifted, the next one runs', async () => {
  await openTab(page, 'Now')
  const form = page.locator('#pause-form')
  await form.getByLabel('Team').fill('storage')
  await form.getByLabel('For', { exact: true }).fill('1h')
  await form.getByLabel('Reason').fill('disk migration')
  await form.getByRole('button', { name: 'Pause' }).click()
  const pauseRow = page.locator('#pauses tr[data-id]')
  await pauseRow.waitFor({ timeout: UI_TIMEOUT })
  expect(await pauseRow.textContent()).toContain('storage')

  // Another team's request is not paused; the team's is.
  const paused = request('cb-paused-1', { team: 'storage' })
  const other = request('cb-other-1')
  await sendActionRequests(t, producer, [paused, other])
  const skipped = await outcomeOnTopic(paused.idempotencyKey, 'skipped_paused')
  expect(skipped.output.pause).toBe(await pauseRow.getAttribute('data-id'))
  await outcomeOnTopic(other.idempotencyKey, 'succeeded')
  const detail = await actionDetail(page, paused.idempotencyKey, 'skipped_paused')
  expect(detail['paused by']).toContain(`by ${OPERATOR.username}: disk migration`)
  expect(target.calls('/hook/cb-paused-1')).toHaveLength(0)

  await openTab(page, 'Now')
  await pauseRow.getByRole('button', { name: /^Lift/ }).click()
  await page.locator('#pauses tr[data-id]').waitFor({ state: 'detached', timeout: UI_TIMEOUT })
  const next = request('cb-paused-2', { team: 'storage' })
  await sendActionRequests(t, producer, [next])
  await actionDetail(page, next.idempotencyKey, 'succeeded')
  expect(target.calls('/hook/cb-paused-2')).toHaveLength(1)
}, 90_000)

it('searching a throttled alert’s fingerprint says which limit throttled it', async () => {
  const id = await t.registry.idOf(valueSubject(t.topics.enriched), schemas.resolve('EnrichedAlert'))
  const now = Date.now()
  const alerts = [1, 2].map((n) =>
    enrichedAlertRecord({
      alert: {
        fingerprint: `cbthrottle000${n}`,
        labels: { alertname: 'DiskSlow', service: 'checkout', severity: 'warning', instance: `i${n}` },
        startsAt: new Date(now - 60_000 + n).toISOString(),
        receivedAt: now + n,
      },
    }),
  )
  await producer.send(
    await Promise.all(
      alerts.map(async (a) => ({ topic: t.topics.enriched, key: a.team, value: await t.registry.encode(id, a) })),
    ),
  )
  // The ratelimit stage's own decision: the second alert of the key was over the limit.
  const decision = await waitFor('the throttle decision', async () => {
    for (const r of decisions.records) {
      const d = (await t.registry.decode(r.value!)) as DecisionRecord
      if (d.fingerprint === 'cbthrottle0002' && d.kind === 'throttled') return d
    }
    return undefined
  })
  expect(decision.detail.limit).toMatch(/^alert:/)

  await openTab(page, 'Alert')
  const form = page.locator('#alert-form')
  await form.getByLabel('Fingerprint').fill('cbthrottle0002')
  await form.getByRole('button', { name: 'Search' }).click()
  const verdict = page.locator('.story[data-fingerprint="cbthrottle0002"] .verdict').first()
  await verdict.waitFor({ timeout: UI_TIMEOUT })
  expect(await verdict.getAttribute('data-fired')).toBe('false')
  expect(await verdict.getAttribute('data-furthest')).toBe('ratelimit')
  const text = (await verdict.textContent())!
  expect(text).toContain('Furthest stage: rate limit')
  expect(text).toContain(`over the alert limit ${decision.detail.limit} (1/1h, burst 1)`)
  expect(text).toContain(decision.reason)
  await screenshot(page, 'alert')
}, 60_000)

it('the SLOs view draws the numbers /api/slo returns', async () => {
  // 10 bad minutes of the SLO's indicator, 8 hours ago, straight onto alerts.deduped.
  const id = await t.registry.idOf(valueSubject(t.topics.deduped), schemas.resolve('Alert'))
  const labels = { alertname: 'ShopDown', slo: SLO, instance: 'a' }
  const firing = alertRecord({ fingerprint: 'cbslo00000000001', labels, startsAt: new Date(T0).toISOString() })
  const resolved = { ...firing, status: 'resolved', endsAt: new Date(T0 + 10 * M).toISOString() }
  for (const a of [firing, resolved])
    await producer.send([
      {
        topic: t.topics.deduped,
        key: a.fingerprint,
        value: await t.registry.encode(id, { ...a, receivedAt: Date.now() }),
      },
    ])
  const api = await waitFor(
    'the 10 bad minutes on /api/slo',
    async () => {
      const res = await fetch(`${base}/api/slo`)
      if (!res.ok) return undefined
      const body = (await res.json()) as { slos: SloReportRow[] }
      return body.slos[0]?.badMinutes === 10 ? body.slos[0] : undefined
    },
    UI_TIMEOUT,
  )

  await openTab(page, 'SLOs')
  await page.locator('#panel-slos[data-ready="true"]').waitFor({ timeout: UI_TIMEOUT })
  const box = page.locator(`#panel-slos section[data-slo="${SLO}"]`)
  expect(Number(await box.getAttribute('data-remaining'))).toBeCloseTo(api.budgetRemaining, 9)
  expect(Number(await box.getAttribute('data-bad-minutes'))).toBe(10)
  expect(await box.locator('.facts').first().textContent()).toContain(
    `objective 99.9% · budget left ${api.budgetRemainingText} · 10 of 43.2 bad minutes`,
  )
  // Each chart drawn (uPlot's canvas) from the API's own figures.
  expect(await box.locator('canvas').count()).toBeGreaterThanOrEqual(3)
  const points = JSON.parse((await box.locator('.chart').getAttribute('data-points'))!) as Array<[string, number]>
  expect(points.slice(1, -1)).toEqual(api.burnDown.slice(1, -1).map((p) => [p.at, p.remaining]))
  const rates = JSON.parse((await box.locator('.chart-burn').getAttribute('data-rates'))!) as Array<[string, number]>
  expect(rates.map(([w]) => w)).toEqual(['5m', '30m', '1h', '6h', '1d', '3d'])
  for (const [w, rate] of rates) expect([w, rate]).toEqual([w, expect.closeTo(api.burnRates[w as '1h'], 6)])
  expect(rates.find(([w]) => w === '1d')![1]).toBeGreaterThan(0)
  await screenshot(page, 'slos')
}, 60_000)

it('keyboard: Tab reaches every control of Now, and each has a name', async () => {
  // A pause in force and a request waiting, so that Now has every kind of control.
  const waiting = request('cb-keyboard-1', { approval: true })
  await sendActionRequests(t, producer, [waiting])
  await openTab(page, 'Now')
  const form = page.locator('#pause-form')
  await form.getByLabel('Service').fill('keyboard-test')
  await form.getByLabel('Reason').fill('keyboard test')
  await form.getByRole('button', { name: 'Pause' }).click()
  await page.locator('#pauses tr[data-id]').waitFor({ timeout: UI_TIMEOUT })
  await row(page, 'approvals', waiting.idempotencyKey).waitFor({ timeout: UI_TIMEOUT })

  // What identifies a control across redraws (its id is stable; see the page's renderNow).
  const controls = page.locator(
    '#panel-now :is(button, input, select, textarea, a[href], [tabindex]:not([tabindex="-1"]))',
  )
  const expected = await controls.evaluateAll((list) => list.map((e) => `${e.tagName.toLowerCase()}#${e.id}`))
  expect(expected.every((e) => !e.endsWith('#'))).toBe(true)
  expect(expected.length).toBeGreaterThanOrEqual(12)

  // From the tab list, Tab walks the panel in order and reaches every control.
  await page.getByRole('tab', { name: 'Now', exact: true }).focus()
  const reached: string[] = []
  for (let i = 0; i < expected.length + 5 && reached.length < expected.length; i++) {
    await page.keyboard.press('Tab')
    const at = await page.evaluate<string>(
      "(() => { const e = document.activeElement; return e ? e.tagName.toLowerCase() + '#' + e.id : 'nothing' })()",
    )
    if (expected.includes(at) && !reached.includes(at)) reached.push(at)
  }
  expect(reached).toEqual(expected)

  // Each has an accessible name, in one ARIA snapshot of the panel (a live redraw between
  // per-element snapshots would catch an element on its way out).
  const tree = await page.locator('#panel-now').ariaSnapshot()
  const named = tree
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^- (button|textbox|checkbox|combobox|link)\b/.test(line))
  expect(named).toHaveLength(expected.length)
  for (const line of named) expect(line).toMatch(/^- \w+ "[^"]+"/)
  // Approve and Deny say what they answer, not just "Approve".
  expect(
    await row(page, 'approvals', waiting.idempotencyKey)
      .getByRole('button', { name: 'Approve webhook on checkout' })
      .count(),
  ).toBe(1)
}, 60_000)
