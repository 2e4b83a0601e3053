/**
 * `nightshift trace` against the real broker and registry: an alert and its re-send go
 * through the in-process pipeline with the shipped topology files (a global dry run,
 * so nothing is called), then trace tells its story and why it did not fire.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Command } from 'commander'
import { buildApp, type App } from '../../src/app'
import { addTraceCommands } from '../../src/cli/trace'
import type { ActionOutcomeRecord } from '../../src/contracts/records'
import { ERROR_CODES, NightshiftError } from '../../src/errors'
import { fingerprint } from '../../src/ingest'
import { collect, endpoints, testLogger, uniqueName, waitFor, type Collector } from '../support/kafka'
import { provisionTopology, type TestTopology } from '../support/topology'

const SHIPPED = path.resolve(__dirname, '..', '..', 'topology')
// The shipped catalog: service payments-api, team payments. The shipped routes: only
// page-critical matches (no service=checkout label, not a HighLatency alert).
const LABELS = {
  alertname: 'PaymentsErrors',
  severity: 'critical',
  namespace: 'payments',
  job: 'payments-api',
  instance: 'a',
}

let t: TestTopology
let app: App
let dir: string
let outcomes: Collector

/** Runs `nightshift trace <args…> --prefix <prefix>` in-process; returns the printed lines. */
async function trace(...args: string[]): Promise<string[]> {
  const out: string[] = []
  const cli = new Command('nightshift').exitOverride()
  addTraceCommands(cli, { print: (text) => out.push(...text.split('\n')), logger: testLogger, env: process.env })
  await cli.parseAsync(['trace', ...args, '--prefix', t.prefix], { from: 'user' })
  return out
}

async function post(alerts: object[]): Promise<void> {
  const res = await fetch(`${app.httpAddress()}/webhook/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      version: '4',
      status: 'firing',
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

beforeAll(async () => {
  t = await provisionTopology(`${uniqueName('trace')}.`, 1)
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ns-trace-'))
  for (const file of ['topics.yaml', 'catalog.yaml', 'limits.yaml', 'routes.yaml'])
    fs.copyFileSync(path.join(SHIPPED, file), path.join(dir, file))
  // The custom actions import from src/ by relative path: they are loaded where they are shipped.
  const actions = fs.readFileSync(path.join(SHIPPED, 'actions.yaml'), 'utf8')
  expect(actions).toMatch(/^customActionsDir: custom-actions$/m)
  fs.writeFileSync(
    path.join(dir, 'actions.yaml'),
    actions.replace(
      /^customActionsDir: custom-actions$/m,
      `customActionsDir: ${JSON.stringify(path.join(SHIPPED, 'custom-actions'))}`,
    ),
  )
  app = buildApp({
    endpoints,
    logger: testLogger,
    stages: ['ingest', 'dedup', 'enrich', 'ratelimit', 'route', 'actions'],
    prefix: t.prefix,
    http: { port: 0 },
    configDir: dir,
    sessionTimeoutMs: 6000,
    env: {},
  })
  await app.start()
  outcomes = await collect(t.topics.outcomes)
  await waitFor(
    'the webhook to be ready',
    async () => ((await fetch(`${app.httpAddress()}/readyz`)).ok ? true : undefined),
    30000,
  )
}, 120000)

afterAll(async () => {
  await app?.stop()
  await outcomes?.stop()
  await t?.cleanup()
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
}, 60000)

it('tells an alert’s story: received twice, one dropped as a duplicate, enriched, admitted, routed to page, a dry run', async () => {
  const fp = fingerprint(LABELS)
  const startsAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000).toISOString()
  const alert = {
    status: 'firing',
    labels: LABELS,
    annotations: { summary: 'errors' },
    startsAt,
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus/graph',
    fingerprint: fp,
  }
  await post([alert])
  // Alertmanager's re-send of the same episode: a duplicate.
  await post([alert])
  await waitFor(
    'the page outcome',
    async () => {
      for (const r of outcomes.records) {
        const o = (await t.registry.decode(r.value!)) as ActionOutcomeRecord
        if (o.fingerprint === fp && o.action === 'page') return o
      }
      return undefined
    },
    60000,
  )

  const lines = await trace(fp)
  const expected: RegExp[] = [
    new RegExp(`^trace of ${fp} \\(prefix ${t.prefix.replace(/\./g, '\\.')}\\): \\d+ records, 1 episode$`),
    new RegExp(`ingest +received \\(firing, startsAt ${startsAt.replace(/\./g, '\\.')}\\) on alerts\\.raw$`),
    /dedup +deduped: forwarded \(firing\) to alerts\.deduped$/,
    /dedup +dropped by dedup: duplicate_firing \(firing\) — Alertmanager re-sent a firing alert already forwarded$/,
    /enrich +enriched: team payments, service payments-api, tier tier-1, slo payments-api-latency$/,
    /ratelimit +admitted \(firing\) to alerts\.admitted$/,
    new RegExp(`route +routed \\(firing\\) by page-critical → actions\\.page \\(idempotency key ${fp}\\|`),
    /action +action page: dry_run — dry run/,
    /^verdict: No action succeeded for episode .*Furthest stage: action workers \(actions\.page\)\. Why: action page: it was a dry run, nothing ran/,
  ]
  // In this order (the two receptions are the first two event lines).
  let at = -1
  for (const re of expected) {
    const found = lines.findIndex((l, i) => i > at && re.test(l))
    if (found < 0) throw new Error(`no line matching ${re} after line ${at} in:\n${lines.join('\n')}`)
    at = found
  }
  expect(lines.filter((l) => /received \(firing/.test(l))).toHaveLength(2)
  expect(lines.filter((l) => /→ actions\./.test(l))).toHaveLength(1)

  // --json: the same events, with the verdict.
  const json = JSON.parse((await trace(fp, '--json')).join('\n')) as {
    fingerprint: string
    events: Array<{ kind: string; topic: string }>
    verdicts: Array<{ fired: boolean; furthest: string }>
  }
  expect(json.fingerprint).toBe(fp)
  expect(json.events.map((e) => e.kind)).toEqual(
    expect.arrayContaining(['received', 'forwarded', 'duplicate_firing', 'enriched', 'admitted', 'routed', 'outcome']),
  )
  expect(json.events.find((e) => e.kind === 'routed')?.topic).toBe(`${t.prefix}actions.page`)
  expect(json.verdicts).toEqual([expect.objectContaining({ fired: false, furthest: 'action' })])
}, 120000)

it('fails clearly for a fingerprint it finds nowhere', async () => {
  const err = await trace('0000000000000000').catch((e: unknown) => e)
  expect(err).toBeInstanceOf(NightshiftError)
  expect((err as NightshiftError).code).toBe(ERROR_CODES.NOT_FOUND)
  expect((err as Error).message).toMatch(
    new RegExp(
      `^no record of fingerprint 0000000000000000 in the \\d+ topics read under prefix ${t.prefix.replace(/\./g, '\\.')} \\(`,
    ),
  )
}, 60000)
