/**
 * `nightshift replay` against the real broker and registry, no mocks: a storm goes
 * through the in-process pipeline (ingest → dedup → enrich → ratelimit → route) with one
 * set of files; then its alerts.raw is replayed through the same files (nothing may
 * change: the decisions depend on the records only, burst order included) and through
 * edited ones (a tighter limit, a new route), and the report names exactly the alerts
 * whose fate changed. The replay's topics and subjects are gone afterwards (or kept with
 * --keep).
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Command } from 'commander'
import { buildApp, type App } from '../../src/app'
import { addReplayCommands } from '../../src/cli/replay'
import type { EnrichedAlertRecord } from '../../src/contracts/records'
import { ConfigError, ERROR_CODES, RetriableError } from '../../src/errors'
import { fingerprint } from '../../src/ingest'
import { KafkaAdmin, readTopicToBarrier } from '../../src/kafka'
import type { ReplayReport } from '../../src/replay/report'
import { REPLAY_STAGES } from '../../src/replay/run'
import { endpoints, kafkaSettings, testLogger, uniqueName, waitFor, waitForCaughtUp } from '../support/kafka'
import { provisionTopology, type TestTopology } from '../support/topology'

const SHIPPED = path.resolve(__dirname, '..', '..', 'topology')

const CATALOG = `
services:
  - name: checkout
    team: payments
    matchers: ['service="checkout"']
    endpoints: { admin: "http://127.0.0.1:18080" }
  - name: prometheus
    team: core
    matchers: ['service="prometheus"']
`
const limits = (burst: number) => `
key: "{team}/{service}/{alertname}"
defaults:
  alert: { rate: 1/1h, burst: ${burst} }
`
const ROUTES = `
route:
  name: root
  routes:
    - name: critical-page
      matchers: ['severity="critical"']
      action: page
      params: { summary: "{{ labels.alertname }}" }
    - name: checkout-log-level
      matchers: ['service="checkout"']
      action: log-level
      params: { url: "{{ endpoints.admin }}/loggers" }
`
// The edit under test: TargetUp pages too.
const ROUTES_EDITED = `${ROUTES}    - name: targetup-page
      matchers: ['alertname="TargetUp"']
      action: page
      params: { summary: "{{ labels.alertname }}" }
`

function configDir(name: string, files: { limits: string; routes: string }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ns-replay-${name}-`))
  fs.copyFileSync(path.join(SHIPPED, 'topics.yaml'), path.join(dir, 'topics.yaml'))
  fs.writeFileSync(path.join(dir, 'catalog.yaml'), CATALOG)
  fs.writeFileSync(path.join(dir, 'limits.yaml'), files.limits)
  fs.writeFileSync(path.join(dir, 'routes.yaml'), files.routes)
  return dir
}

let t: TestTopology
let original: string
let edited: string
let from: number
const kept: string[] = []

const labels = {
  down: ['a', 'b', 'c'].map((i) => ({ alertname: 'Down', service: 'checkout', severity: 'critical', instance: i })),
  slow: [1, 2, 3, 4, 5, 6].map((i) => ({
    alertname: 'Slow',
    service: 'checkout',
    severity: 'warning',
    instance: `i${i}`,
  })),
  targetUp: ['x', 'y'].map((i) => ({ alertname: 'TargetUp', service: 'prometheus', severity: 'warning', instance: i })),
}
let startsAt: string

/** Runs `nightshift replay <args…> --prefix <prefix>` in-process. */
async function replay(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ report: ReplayReport; out: string; progress: string }> {
  let report: ReplayReport | undefined
  const out: string[] = []
  const progress: string[] = []
  const cli = new Command('nightshift').exitOverride()
  addReplayCommands(cli, {
    env,
    logger: testLogger,
    print: (text) => out.push(text),
    progressStream: { write: (text: string) => progress.push(text), isTTY: false },
    onReport: (r) => (report = r),
    sessionTimeoutMs: 6000,
  })
  await cli.parseAsync(['replay', '--prefix', t.prefix, ...args], { from: 'user' })
  return { report: report!, out: out.join('\n'), progress: progress.join('') }
}

async function topicsUnder(prefix: string): Promise<string[]> {
  const admin = await KafkaAdmin.connect(kafkaSettings('test-replay'))
  try {
    return (await admin.listTopics()).filter((n) => n.startsWith(prefix))
  } finally {
    await admin.disconnect()
  }
}

async function subjectsUnder(prefix: string): Promise<string[]> {
  const subjects = (await (await fetch(`${endpoints.registryUrl}/subjects`)).json()) as string[]
  return subjects.filter((s) => s.startsWith(prefix))
}

beforeAll(async () => {
  original = configDir('original', { limits: limits(4), routes: ROUTES })
  edited = configDir('edited', { limits: limits(2), routes: ROUTES_EDITED })
  // Three partitions: the storm is spread over alerts.raw's partitions, as in production.
  t = await provisionTopology(`${uniqueName('replay')}.`, 3)
  const app: App = buildApp({
    endpoints,
    logger: testLogger,
    stages: ['ingest', 'dedup', 'enrich', 'ratelimit', 'route'],
    prefix: t.prefix,
    http: { port: 0 },
    configDir: original,
    sessionTimeoutMs: 6000,
  })
  await app.start()
  try {
    await waitFor(
      'the webhook to be ready',
      async () => ((await fetch(`${app.httpAddress()}/readyz`)).ok ? true : undefined),
      30000,
    )
    from = Date.now() - 1000
    startsAt = new Date(from + 500).toISOString()
    const post = async (alerts: Array<Record<string, string>>) => {
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
          alerts: alerts.map((l) => ({
            status: 'firing',
            labels: l,
            annotations: {},
            startsAt,
            endsAt: '0001-01-01T00:00:00Z',
            generatorURL: 'http://prometheus/graph',
            fingerprint: fingerprint(l),
          })),
        }),
      })
      expect(res.status).toBe(200)
    }
    // One storm (one Alertmanager group: one receive time), then a re-send of one alert.
    await post([...labels.down, ...labels.slow, ...labels.targetUp])
    await post([labels.down[0]!])
    await waitForCaughtUp(
      (
        [
          ['dedup', t.topics.raw],
          ['enrich', t.topics.deduped],
          ['ratelimit', t.topics.enriched],
          ['route', t.topics.admitted],
        ] as const
      ).map(([stage, topic]) => ({
        groupId: `${t.prefix}nightshift-${stage}`,
        topic,
        transactional: topic !== t.topics.raw,
      })),
    )
  } finally {
    await app.stop()
  }
}, 90000)

afterAll(async () => {
  // What --keep left: topics, groups and subjects of that replay.
  const admin = await KafkaAdmin.connect(kafkaSettings('test-replay'))
  try {
    for (const prefix of kept) {
      await admin.deleteTopics((await admin.listTopics()).filter((n) => n.startsWith(prefix)))
      await admin.deleteGroupsIfPresent(REPLAY_STAGES.map((s) => `${prefix}nightshift-${s}`))
      for (const subject of await subjectsUnder(prefix)) await t.registry.deleteSubject(subject)
    }
  } finally {
    await admin.disconnect()
  }
  await t?.cleanup()
  for (const dir of [original, edited]) if (dir) fs.rmSync(dir, { recursive: true, force: true })
}, 60000)

it('replayed through the same files, nothing changes (burst order included); --keep leaves the topics for tail', async () => {
  const { report, out } = await replay([
    '--from',
    new Date(from).toISOString(),
    '--config-dir',
    original,
    '--json',
    '--keep',
  ])
  if (report.replayPrefix) kept.push(report.replayPrefix)
  const json = JSON.parse(out) as {
    changedTotal: number
    summary: Array<{ kind: string; before: number; after: number }>
    notifications: number
    alerts: number
    kept: boolean
    replayPrefix: string
  }
  expect(json).toMatchObject({
    notifications: 12,
    alerts: 11,
    changedTotal: 0,
    kept: true,
    replayPrefix: report.replayPrefix,
  })
  const counts = Object.fromEntries(
    json.summary.filter((r) => r.before + r.after > 0).map((r) => [r.kind, [r.before, r.after]]),
  )
  // 3 Down → page and 4 Slow → log-level; 2 Slow over the burst of 4; 2 TargetUp match no route.
  expect(counts).toEqual({ requested: [7, 7], throttled: [2, 2], unrouted: [2, 2] })

  expect(report.replayPrefix).toMatch(new RegExp(`^${t.prefix.replace(/\./g, '\\.')}replay-\\d{14}-[0-9a-f]{6}\\.$`))
  const topics = await topicsUnder(report.replayPrefix!)
  expect(topics).toEqual(
    expect.arrayContaining([
      `${report.replayPrefix}alerts.raw`,
      `${report.replayPrefix}alerts.throttled`,
      `${report.replayPrefix}nightshift.decisions`,
    ]),
  )
}, 60000)

it('replayed through edited files, names exactly the alerts whose fate changed, and cleans up', async () => {
  // The order the original rate limit saw the storm in (one team: one partition of alerts.enriched).
  const enriched = await readTopicToBarrier(kafkaSettings('test-replay'), t.topics.enriched)
  const order: Record<string, string[]> = { Slow: [], Down: [] }
  for (const r of enriched) {
    const value = (await t.registry.decode(r.value!)) as EnrichedAlertRecord
    order[value.alert.labels.alertname!]?.push(value.alert.fingerprint)
  }
  expect([order.Slow!.length, order.Down!.length]).toEqual([6, 3])
  const expected = [
    // Burst 2 instead of 4: the 3rd and 4th Slow of the storm are throttled now (the 5th
    // and 6th were already), and so is the 3rd Down: the per-alert limit applies to it too,
    // but not to its page (an escalation), which it still requests.
    ...order
      .Slow!.slice(2, 4)
      .map((fp) => `${fp} Slow checkout: requested log-level → throttled (alert:payments/checkout/Slow)`),
    `${order.Down![2]} Down checkout: requested page → throttled (alert:payments/checkout/Down); still requested page`,
    // The new route.
    ...labels.targetUp.map((l) => `${fingerprint(l)} TargetUp prometheus: unrouted → requested page`),
  ].sort()

  const { report, out, progress } = await replay(['--from', new Date(from).toISOString(), '--config-dir', edited])
  const changed = report
    .diff!.changed.map((c) => `${c.fingerprint} ${c.alertname} ${c.service}: ${c.before.text} → ${c.after.text}`)
    .sort()
  expect(changed).toEqual(expected)
  expect(report.diff!.changed.every((c) => c.status === 'firing' && !c.beganBeforeWindow)).toBe(true)
  expect(report).toMatchObject({ replayed: 12, undecodable: 0, kept: false, cleanupProblems: [] })
  const counts = Object.fromEntries(
    report.diff!.summary.filter((r) => r.before + r.after > 0).map((r) => [r.kind, [r.before, r.after]]),
  )
  expect(counts).toEqual({ requested: [7, 6], throttled: [2, 5], unrouted: [2, 0] })

  // The printed report: the table and one line per changed alert.
  expect(out).toMatch(
    /^replayed 12 notifications \(11 alerts\) of .*alerts\.raw from .* through .*; dry run: no action ran$/m,
  )
  expect(out).toMatch(/^throttled +2 → 5 \(\+3\)$/m)
  expect(out).toContain('5 of 11 alerts changed fate')
  for (const line of expected) expect(out).toContain(`  ${line}  (firing, startsAt ${startsAt})`)
  // The re-sent Down is one alert of two notifications; the first two Down are unchanged.
  for (const fp of order.Down!.slice(0, 2)) expect(out).not.toContain(fp)
  // Progress on stderr, step by step.
  for (const step of [
    /→ reading .*alerts\.raw from /,
    /→ creating the replay topics under /,
    /→ replaying 12 records into /,
    /→ waiting for the stages to catch up/,
    /→ comparing with the original run/,
    /→ deleting the replay topics, consumer groups and subjects/,
  ]) {
    expect(progress).toMatch(step)
  }

  // Nothing left behind.
  await waitFor(
    'the replay topics to be deleted',
    async () => ((await topicsUnder(report.replayPrefix!)).length === 0 ? true : undefined),
    15000,
  )
  expect(await subjectsUnder(report.replayPrefix!)).toEqual([])
}, 60000)

it('an empty window says so and creates nothing; a bad --from is a ConfigError; no broker is a RetriableError', async () => {
  const before = new Date(from - 3_600_000).toISOString()
  const { report, out } = await replay([
    '--from',
    before,
    '--to',
    new Date(from - 1_800_000).toISOString(),
    '--config-dir',
    original,
  ])
  expect(out).toBe(
    `no records on ${t.prefix}alerts.raw from ${before} to ${new Date(from - 1_800_000).toISOString()}: nothing to replay`,
  )
  expect(report.replayPrefix).toBeUndefined()
  await expect(replay(['--from', 'last tuesday'])).rejects.toThrow(ConfigError)
  const unreachable = await replay(['--from', '1h', '--config-dir', original], {
    ...process.env,
    KAFKA_BROKERS: '127.0.0.1:1',
  }).catch((e: unknown) => e)
  expect(unreachable).toBeInstanceOf(RetriableError)
  expect(unreachable).toMatchObject({
    code: ERROR_CODES.KAFKA_UNAVAILABLE,
    message: expect.stringMatching(/^Kafka at 127\.0\.0\.1:1 is unreachable/),
  })
}, 30000)
