/**
 * SLO accounting end to end on the real broker and registry: alerts with chosen
 * timestamps through the webhook, dedup and the slo stage, to the budget on slo.budget
 * and the gauges on /metrics. Bad time is the union of the indicator alerts' firing
 * times; an action that fixed one does not take it off the budget.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Command } from 'commander'
import { chromium } from 'playwright-core'
import { buildApp, type App } from '../../src/app'
import { addSloCommands } from '../../src/cli/slo'
import type { SloReportRow } from '../../src/stages/slo/report'
import type { ActionOutcomeRecord, SloBudgetRecord } from '../../src/contracts/records'
import { fingerprint } from '../../src/ingest'
import { RecordProducer } from '../../src/kafka'
import { valueSubject } from '../../src/topology/names'
import { outcomeFor } from '../../src/contracts/outcome'
import { collect, endpoints, kafkaSettings, testLogger, uniqueName, waitFor, type Collector } from '../support/kafka'
import { enrichedAlertRecord } from '../support/records'
import { actionRequest, decodedOutcomes, sendActionRequests } from '../support/actions'
import { HttpTarget } from '../support/http-target'
import { provisionTopology, schemas, type TestTopology } from '../support/topology'

const M = 60_000
// Six hours ago, on a minute boundary: inside the 30-day window, outside the short burn windows.
const T0 = Math.floor(Date.now() / M) * M - 6 * 60 * M
const SLO = 'shop-availability'
const NEVER = '0001-01-01T00:00:00Z'
/** Debian's chromium (installed by .ci/run); playwright-core drives it, it downloads no browser. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/** Screenshots kept after the run (ignored by git). */
const ARTIFACTS = path.resolve(__dirname, '..', 'artifacts')

let t: TestTopology
let app: App
let dir: string
let budgets: Collector
let target: HttpTarget

function alert(
  instance: string,
  status: 'firing' | 'resolved',
  startsAt: number,
  endsAt?: number,
  extra: Record<string, string> = {},
) {
  const labels = { alertname: 'ShopDown', slo: SLO, instance, ...extra }
  return {
    status,
    labels,
    annotations: {},
    startsAt: new Date(startsAt).toISOString(),
    endsAt: endsAt === undefined ? NEVER : new Date(endsAt).toISOString(),
    generatorURL: 'http://prometheus/graph',
    fingerprint: fingerprint(labels),
  }
}

async function post(...alerts: ReturnType<typeof alert>[]): Promise<void> {
  const res = await fetch(`${app.httpAddress()}/webhook/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      version: '4',
      status: alerts[0]!.status,
      receiver: 'nightshift',
      groupKey: 'g',
      groupLabels: {},
      commonLabels: {},
      commonAnnotations: {},
      externalURL: 'http://am',
      truncatedAlerts: 0,
      alerts,
    }),
  })
  expect(res.status).toBe(200)
}

async function latestBudget(): Promise<SloBudgetRecord | undefined> {
  let latest: SloBudgetRecord | undefined
  for (const r of budgets.records) {
    if (r.key?.toString() !== SLO || r.value === null) continue
    latest = (await t.registry.decode(r.value)) as SloBudgetRecord
  }
  return latest
}

async function budgetWhere(what: string, test: (b: SloBudgetRecord) => boolean): Promise<SloBudgetRecord> {
  return waitFor(what, async () => {
    const b = await latestBudget()
    return b && test(b) ? b : undefined
  })
}

beforeAll(async () => {
  t = await provisionTopology(uniqueName('slo'), 2)
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ns-slo-'))
  fs.copyFileSync(path.resolve(__dirname, '..', '..', 'topology', 'topics.yaml'), path.join(dir, 'topics.yaml'))
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
      // Nothing charged to it: on the page for its objective, 0.9995, which is 99.95%, not 100%.
      `  - name: ${SLO}-edge`,
      '    service: edge',
      '    team: core',
      '    objective: 0.9995',
      '    indicator:',
      `      matchers: ['slo="${SLO}-edge"']`,
    ].join('\n'),
  )
  target = await new HttpTarget().start()
  // Action workers in the same process: the webhook action is gated below 90% budget left.
  fs.writeFileSync(
    path.join(dir, 'actions.yaml'),
    [
      'dryRun: false',
      `artifactsDir: ${JSON.stringify(path.join(dir, 'artifacts'))}`,
      'defaults: { timeout: 2s, maxAttempts: 1 }',
      'actions:',
      `  page: { escalateTo: null, onResolved: run, config: { kind: slack, url: "${target.url}/slack" } }`,
      '  webhook: { gate: { minBudgetRemaining: 0.9 } }',
    ].join('\n'),
  )
  app = buildApp({
    endpoints,
    logger: testLogger,
    stages: ['ingest', 'dedup', 'slo', 'actions'],
    prefix: t.prefix,
    http: { port: 0 },
    configDir: dir,
    configPollMs: 200,
    sessionTimeoutMs: 6000,
  })
  await app.start()
  budgets = await collect(t.topics.budget)
}, 120000)

afterAll(async () => {
  await app?.stop()
  await target?.stop()
  await budgets?.stop()
  await t?.cleanup()
  fs.rmSync(dir, { recursive: true, force: true })
}, 60000)

it('charges the union of the indicator alerts’ firing times, with remediations recorded, not subtracted', async () => {
  // a fires 0–10m, b fires 5–15m: 15 bad minutes, not 20.
  await post(alert('a', 'firing', T0), alert('b', 'firing', T0 + 5 * M))
  // Not an indicator of the SLO: never counted.
  await post(alert('c', 'firing', T0, undefined, { slo: 'other' }))
  const open = await budgetWhere('both alerts open', (b) => Object.keys(b.open).length === 2)
  expect(open.intervals).toEqual([])

  // An action fixed a at 2m: recorded against the SLO.
  const producer = await RecordProducer.connect(kafkaSettings('test-slo-outcome'))
  try {
    const fixed: ActionOutcomeRecord = outcomeFor(
      {
        idempotencyKey: 'k1',
        action: 'webhook',
        route: 'test',
        dryRun: false,
        alert: enrichedAlertRecord({
          alert: { fingerprint: alert('a', 'firing', T0).fingerprint, startsAt: new Date(T0).toISOString() },
          service: 'shop',
          slo: SLO,
        }),
      },
      { status: 'succeeded', finishedAt: T0 + 2 * M, startedAt: T0 + 2 * M - 500, attempts: 1, detail: 'ok' },
    )
    const id = await t.registry.idOf(valueSubject(t.topics.outcomes), schemas.resolve('ActionOutcome'))
    await producer.send([
      { topic: t.topics.outcomes, key: fixed.fingerprint, value: await t.registry.encode(id, fixed) },
    ])
  } finally {
    await producer.disconnect()
  }
  await budgetWhere('the remediation recorded', (b) => b.remediations.succeeded === 1)

  await post(alert('a', 'resolved', T0, T0 + 10 * M), alert('b', 'resolved', T0 + 5 * M, T0 + 15 * M))
  await post(alert('c', 'resolved', T0, T0 + 20 * M, { slo: 'other' }))
  const b = await budgetWhere('both alerts resolved', (x) => Object.keys(x.open).length === 0)

  expect(b.badMs).toBe(15 * M)
  // 99.9% over 30 days allows 43.2 bad minutes.
  expect(b.allowedBadMs).toBe(43.2 * M)
  expect(b.remainingRatio).toBeCloseTo(1 - 15 / 43.2, 9)
  expect(b.intervals).toEqual([{ start: T0, end: T0 + 15 * M }])
  expect(b).toMatchObject({
    slo: SLO,
    service: 'shop',
    team: 'payments',
    automated: 1,
    resolvedAfterActionCount: 1,
    resolvedAfterActionMs: 8 * M,
  })
  expect(b.asOf).toBeGreaterThanOrEqual(T0 + 15 * M)

  const metrics = await (await fetch(`${app.httpAddress()}/metrics`)).text()
  const line = metrics.split('\n').find((l) => l.startsWith(`nightshift_slo_error_budget_remaining_ratio{slo="${SLO}"`))
  expect(line).toBeDefined()
  expect(Number(line!.split(' ').at(-1))).toBeCloseTo(1 - 15 / 43.2, 6)
  expect(metrics).toContain(
    `nightshift_slo_remediations{slo="${SLO}",service="shop",team="payments",status="succeeded"} 1`,
  )

  // GET /api/slo: the same figures, recomputed at now.
  const api = (await (await fetch(`${app.httpAddress()}/api/slo`)).json()) as { slos: SloReportRow[] }
  expect(api.slos.map((s) => s.slo)).toEqual([SLO, `${SLO}-edge`])
  expect(api.slos[0]).toMatchObject({
    slo: SLO,
    badMinutes: 15,
    allowedBadMinutes: 43.2,
    firing: 0,
    objectiveText: '99.9%',
    remediations: { runs: 1, succeeded: 1, dryRuns: 0, cancelled: 0, notEffective: 0 },
    meanMinutesToResolveAfterAction: 8,
  })
  expect(api.slos[0]!.budgetRemaining).toBeCloseTo(1 - 15 / 43.2, 9)
  expect(api.slos[0]!.badIntervals).toEqual([
    { start: new Date(T0).toISOString(), end: new Date(T0 + 15 * M).toISOString() },
  ])

  // nightshift slo report --json reads slo.budget itself and agrees.
  const printed: string[] = []
  const cli = new Command('nightshift').exitOverride()
  addSloCommands(cli, { print: (text) => printed.push(text), logger: testLogger })
  await cli.parseAsync(['slo', 'report', '--json', '--prefix', t.prefix, '--file', path.join(dir, 'slos.yaml')], {
    from: 'user',
  })
  const report = JSON.parse(printed.join('\n')) as SloReportRow[]
  expect(report[0]).toMatchObject({ slo: SLO, badMinutes: 15, remediations: { runs: 1 } })
  printed.length = 0
  await cli.parseAsync(['slo', 'report', '--prefix', t.prefix, '--file', path.join(dir, 'slos.yaml')], { from: 'user' })
  expect(printed.join('\n')).toMatch(new RegExp(`^${SLO}\\s+shop\\s+payments\\s+99\\.9%\\s+65\\.3%\\s+15/43\\.2`, 'm'))
})

it('an action for the service, once its budget is below the gate, is gated and paged — from alerts through the webhook to the worker', async () => {
  target.on('/restart', 200).on('/slack', 200)
  const outcomes = await collect(t.topics.outcomes)
  const producer = await RecordProducer.connect(kafkaSettings('test-slo-gate'))
  try {
    // 15 bad minutes charged above: 65.3% of the budget left, under the 90% gate.
    const r = actionRequest({
      action: 'webhook',
      fingerprint: 'gated0001',
      service: 'shop',
      slo: SLO,
      params: { url: `${target.url}/restart` },
    })
    await sendActionRequests(t, producer, [r])
    const outcome = await waitFor('the gated outcome', async () =>
      (await decodedOutcomes(t, outcomes)).find((o) => o.idempotencyKey === r.idempotencyKey),
    )
    expect(outcome).toMatchObject({ status: 'gated', attempts: 0, escalatedTo: 'page' })
    expect(outcome.detail).toContain(`error budget of SLO ${SLO} is at 65.3% (gate: at least 90%)`)
    const page = await waitFor('the page', async () =>
      (await decodedOutcomes(t, outcomes)).find((o) => o.idempotencyKey === `${r.idempotencyKey}>page`),
    )
    expect(page.status).toBe('succeeded')
    expect(target.calls('/slack')[0]!.body).toContain('gated')
    expect(target.calls('/restart')).toHaveLength(0)
  } finally {
    await producer.disconnect()
    await outcomes.stop()
  }
})

it('GET /slo renders each SLO’s burn-down chart with the numbers /api/slo returns (headless Chromium)', async () => {
  // The budget folds the outcomes of the test above a moment after they are on the topic:
  // the page must be compared with the budget that has them both.
  const api = await waitFor('the budget to count the gated request and its page', async () => {
    const body = (await (await fetch(`${app.httpAddress()}/api/slo`)).json()) as { slos: SloReportRow[] }
    const gated = body.slos[0]?.recentRemediations.filter((r) => r.fingerprint === 'gated0001') ?? []
    return gated.length >= 2 ? body : undefined
  })
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 700 } })
    const failed: string[] = []
    page.on('requestfailed', (r) => failed.push(r.url()))
    page.on('pageerror', (e) => failed.push(e.message))
    await page.goto(`${app.httpAddress()}/slo`)
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15000 })
    const row = api.slos[0]!
    const box = page.locator(`section[data-slo="${SLO}"]`)
    expect(Number(await box.getAttribute('data-remaining'))).toBeCloseTo(row.budgetRemaining, 9)
    expect(Number(await box.getAttribute('data-bad-minutes'))).toBe(15)
    // The chart was drawn (uPlot's canvas) from exactly the API's burn-down points.
    expect(await box.locator('canvas').count()).toBeGreaterThan(0)
    const points = JSON.parse((await box.locator('.chart').getAttribute('data-points'))!) as Array<[string, number]>
    // The window's ends move with the clock between the two requests; the interval edges do not.
    expect(points.slice(1, -1)).toEqual(row.burnDown.slice(1, -1).map((p) => [p.at, p.remaining]))
    expect(points.slice(1, -1).map(([at]) => at)).toEqual([
      new Date(T0).toISOString(),
      new Date(T0 + 15 * M).toISOString(),
    ])
    expect(points.at(-1)![1]).toBeCloseTo(row.budgetRemaining, 9)
    // The recent remediations, newest first, as the API lists them.
    const cells = await box
      .locator('table.remediations tr')
      .evaluateAll((rows) => rows.slice(1).map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)))
    expect(cells).toEqual(row.recentRemediations.map((r) => [r.at, r.action, r.status, r.fingerprint]))
    expect(cells.map((c) => c[2])).toContain('succeeded')
    expect(await box.textContent()).toContain('15 of 43.2 bad minutes')
    // Runs apart from what did not run (the gated request above is not a run).
    const r = row.remediations
    expect(await box.locator('.remediation-counts').textContent()).toBe(
      `runs ${r.runs} (${r.succeeded} ok, ${r.failed} failed, ${r.timedOut} timed out) · not run: ${r.dryRuns} dry runs, ` +
        `${r.cancelled} cancelled (resolved first), ${r.notRun} other · not held: ${r.notEffective}`,
    )
    expect(r.notRun).toBeGreaterThan(0)
    // Beside the window's chart, the last 24 hours, drawn from the API's recent points.
    expect(await box.locator('.chart-recent canvas').count()).toBeGreaterThan(0)
    const recent = JSON.parse((await box.locator('.chart-recent').getAttribute('data-points'))!) as Array<
      [string, number]
    >
    expect(recent.slice(1, -1)).toEqual(row.recentBurnDown.slice(1, -1).map((p) => [p.at, p.remaining]))
    // The objective with the precision it has: 0.9995 is 99.95%, never rounded up to 100%.
    const edge = page.locator(`section[data-slo="${SLO}-edge"]`)
    expect(await edge.locator('.facts').first().textContent()).toMatch(/^objective 99\.95% · budget left 100% · /)
    // Everything came from this process: no request failed, nothing from another host.
    expect(failed).toEqual([])
    fs.mkdirSync(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: path.join(ARTIFACTS, 'slo-page.png'), fullPage: true })
  } finally {
    await browser.close()
  }
}, 60000)
