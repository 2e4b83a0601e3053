/**
 * Episodes that close, with a real Alertmanager (Debian's prometheus-alertmanager and
 * amtool) posting to Nightshift's webhook: the demo harness (src/demo/) runs Nightshift
 * with the demo's config (route → log-level on demo-checkout, an SLO on its alerts), and
 * an Alertmanager alone, each alert a group of its own. Alerts are posted to its API v2
 * as Prometheus does, or added with `amtool`, and followed on the topics.
 *
 * - a firing with a nanosecond startsAt, resolved by `amtool alert add --start <ms>`:
 *   Alertmanager sends the resolve with the millisecond start; one episode, closed, the
 *   SLO stops charging, one action request;
 * - `nightshift episodes close` on a stuck episode: closed, the SLO stops charging, the
 *   audit record on nightshift.control, trace says who closed it, and Alertmanager's
 *   re-sends of it change nothing;
 * - a late duplicate resolve of an older episode while a newer one fires: the newer one
 *   stays open (the budget has it, `nightshift episodes` lists it).
 */
import { Command } from 'commander'
import { addEpisodesCommands } from '../../src/cli/episodes'
import { addTraceCommands } from '../../src/cli/trace'
import type { AlertRecord } from '../../src/contracts/records'
import { DemoWatch, startDemoNightshift, type DemoNightshift } from '../../src/demo'
import { DEMO_SLO } from '../../src/demo/config'
import {
  DEMO_ALERT,
  DEMO_SERVICE,
  DEMO_TEAM,
  startAlertmanager,
  type RunningAlertmanager,
} from '../../src/demo/observability'
import type { OpenEpisode } from '../../src/episodes/open'
import { readTopic } from '../../src/kafka'
import { createProgress } from '../../src/progress'
import type { SloReportRow } from '../../src/stages/slo/report'
import { endpoints, kafkaSettings, testLogger, uniqueName, waitFor } from '../support/kafka'
import { provisionTopology, type TestTopology } from '../support/topology'

const WAIT_MS = 30_000
const HOUR = 3_600_000

let t: TestTopology
let demo: DemoNightshift
let am: RunningAlertmanager
let watch: DemoWatch

beforeAll(async () => {
  t = await provisionTopology(`${uniqueName('episodes-am')}.`)
  demo = await startDemoNightshift({
    endpoints,
    logger: testLogger,
    prefix: t.prefix,
    raiseFor: '30m',
    progress: createProgress({ quiet: true }),
    sessionTimeoutMs: 10_000,
  })
  am = await startAlertmanager({
    dir: `${demo.dir}/alertmanager`,
    webhookUrl: demo.webhookUrl,
    logger: testLogger,
    // One group per alert: the cases do not ride on each other's notifications.
    groupBy: ['...'],
    groupWait: '1s',
    groupInterval: '1s',
    repeatInterval: '4s',
    resolveTimeout: '10s',
  })
  demo.own(() => am.stop())
  watch = new DemoWatch(demo.registry)
  await watch.start(demo.kafka, t.prefix, 'log-level')
}, 120_000)

afterAll(async () => {
  await watch?.stop()
  await demo?.stop()
  await t?.cleanup()
}, 60_000)

/** The demo's alert (it matches the demo route and SLO), told apart by its instance. */
function labelsOf(instance: string): Record<string, string> {
  return { alertname: DEMO_ALERT, service: DEMO_SERVICE, severity: 'critical', team: DEMO_TEAM, instance }
}

const iso = (ms: number): string => new Date(ms).toISOString()

/** A time as Alertmanager (Go's RFC3339Nano) prints it: no trailing zeros in the fraction. */
const amTime = (ms: number): string => iso(ms).replace(/\.?0+Z$/, 'Z')

/** Runs a `nightshift` command of the episodes and trace families in-process; the lines it printed. */
async function nightshift(...args: string[]): Promise<string[]> {
  const out: string[] = []
  const cli = new Command('nightshift').exitOverride()
  const deps = {
    print: (text: string) => out.push(...text.split('\n')),
    logger: testLogger,
    env: { ...process.env, USER: 'alice' },
  }
  addEpisodesCommands(cli, deps)
  addTraceCommands(cli, deps)
  await cli.parseAsync([...args, '--prefix', t.prefix], { from: 'user' })
  return out
}

async function openEpisodes(): Promise<OpenEpisode[]> {
  return (JSON.parse((await nightshift('episodes', '--json')).join('\n')) as { episodes: OpenEpisode[] }).episodes
}

async function sloRow(): Promise<SloReportRow> {
  const res = await fetch(`${demo.app.httpAddress()}/api/slo`)
  const body = (await res.json()) as { slos: SloReportRow[] }
  return body.slos.find((s) => s.slo === DEMO_SLO)!
}

const values = <T>(seen: ReadonlyArray<{ value: T }>): T[] => seen.map((s) => s.value)

/** The raw notifications of one alert, oldest first. */
const rawOf = (instance: string): AlertRecord[] => values(watch.raw).filter((a) => a.labels.instance === instance)
const dedupedOf = (fingerprint: string): AlertRecord[] =>
  values(watch.deduped).filter((a) => a.fingerprint === fingerprint)
const requestsOf = (fingerprint: string) =>
  values(watch.requests).filter((r) => r.alert.alert.fingerprint === fingerprint)
const latestBudget = () => watch.budgets[watch.budgets.length - 1]?.value

/** Waits for Alertmanager's firing notification of `instance` on alerts.raw and its first way to the SLO. */
async function fired(instance: string, startsAt: string): Promise<string> {
  const firing = await waitFor(
    `the firing ${instance} on alerts.raw`,
    () => rawOf(instance).find((a) => a.status === 'firing' && a.startsAt === startsAt),
    WAIT_MS,
  )
  expect(firing.receiver).toBe('nightshift')
  await waitFor(
    `the budget with ${instance}'s episode open`,
    () => values(watch.budgets).find((b) => b.open[`${firing.fingerprint}|${startsAt}`] !== undefined),
    WAIT_MS,
  )
  return firing.fingerprint
}

describe('episodes with a real Alertmanager', () => {
  test('a nanosecond firing resolved by amtool with milliseconds: one episode, closed, the SLO stops, one action request', async () => {
    const labels = labelsOf('ns-precision')
    const startMs = Date.now() - 5000
    const ms = iso(startMs) // …50.764Z: amtool has milliseconds only
    const ns = ms.replace(/Z$/, '919002Z') // …50.764919002Z: what Alertmanager passes on from Prometheus
    await am.post([{ labels, startsAt: ns, endsAt: iso(Date.now() + HOUR), generatorURL: 'http://prometheus/graph' }])
    const fp = await fired('ns-precision', ns)
    await waitFor('the log-level request', () => requestsOf(fp).find((r) => r.alert.alert.status === 'firing'), WAIT_MS)

    const resolvedAt = Date.now()
    await am.amtool([
      'alert',
      'add',
      ...Object.entries(labels).map(([k, v]) => `${k}=${v}`),
      `--start=${ms}`,
      `--end=${iso(resolvedAt)}`,
    ])
    const resolve = await waitFor(
      'the resolve on alerts.raw',
      () => rawOf('ns-precision').find((a) => a.status === 'resolved'),
      WAIT_MS,
    )
    // Alertmanager kept the earliest start of the two: amtool's milliseconds (the case).
    expect(resolve.startsAt).toBe(amTime(startMs))
    expect(resolve.fingerprint).toBe(fp)

    // Dedup: the resolve closes the episode, forwarded with its canonical start.
    const closing = await waitFor(
      'the resolve on alerts.deduped',
      () => dedupedOf(fp).find((a) => a.status === 'resolved'),
      WAIT_MS,
    )
    expect(closing).toMatchObject({ startsAt: ns, sentStartsAt: resolve.startsAt, closedBy: null })
    expect(new Set(dedupedOf(fp).map((a) => a.startsAt))).toEqual(new Set([ns]))

    // The SLO: the episode is closed at the resolve's end; nothing is charged after it.
    const episode = `${fp}|${ns}`
    const closed = await waitFor(
      'the budget with the episode closed',
      () =>
        values(watch.budgets).find(
          (b) => b.open[episode] === undefined && b.intervals.some((i) => i.start === startMs),
        ),
      WAIT_MS,
    )
    const interval = closed.intervals.find((i) => i.start === startMs)!
    expect(interval.end).toBe(Date.parse(closing.endsAt!))
    expect(Object.keys(latestBudget()!.open)).toEqual([])
    const row = await sloRow()
    expect(row.firing).toBe(0)
    expect(row.badIntervals.every((i) => i.end !== null)).toBe(true)
    const again = await sloRow()
    expect(again.badMinutes).toBe(row.badMinutes)

    // One episode: one firing request, and no resolve of an episode that never fired.
    await waitFor(
      'the resolved request',
      () => requestsOf(fp).find((r) => r.alert.alert.status === 'resolved'),
      WAIT_MS,
    )
    const requests = requestsOf(fp)
    expect(requests.filter((r) => r.alert.alert.status === 'firing')).toHaveLength(1)
    expect(new Set(requests.map((r) => r.idempotencyKey)).size).toBe(1)
    expect(
      values(watch.outcomes).filter((o) => o.fingerprint === fp && /no firing request/.test(o.detail ?? '')),
    ).toEqual([])

    expect((await openEpisodes()).map((e) => e.fingerprint)).not.toContain(fp)
    const story = (await nightshift('trace', fp)).join('\n')
    expect(story).toMatch(/, 1 episode$/m)
    expect(story).not.toContain('never received on alerts.raw')
  })

  test('episodes close on a stuck episode: closed, the SLO stops, audited on nightshift.control, shown by trace', async () => {
    const labels = labelsOf('stuck')
    const startMs = Date.now() - 3000
    const startsAt = amTime(startMs)
    // Firing for an hour as far as Alertmanager knows: the resolve that would end it is lost.
    await am.post([{ labels, startsAt, endsAt: iso(Date.now() + HOUR) }])
    const fp = await fired('stuck', startsAt)
    expect((await openEpisodes()).find((e) => e.fingerprint === fp)).toMatchObject({
      alertname: DEMO_ALERT,
      startsAt,
      stale: false,
    })

    const reason = 'resolve lost in an Alertmanager restart'
    const printed = await nightshift('episodes', 'close', fp, '--reason', reason)
    expect(printed.join('\n')).toMatch(
      new RegExp(`^closed episode ${fp} \\(${DEMO_ALERT}, started ${startsAt}\\) at .+ by alice: ${reason}$`),
    )
    const closedAt = Date.now()

    const closing = await waitFor(
      'the close on alerts.deduped',
      () => dedupedOf(fp).find((a) => a.status === 'resolved'),
      WAIT_MS,
    )
    expect(closing).toMatchObject({ startsAt, closedBy: { by: 'alice', reason } })
    const episode = `${fp}|${startsAt}`
    // Charged from its start to the close, not a moment more.
    const closedAtMs = Date.parse(closing.endsAt!)
    await waitFor(
      'the budget with the episode closed',
      () =>
        values(watch.budgets).find(
          (b) => b.open[episode] === undefined && b.intervals.some((i) => i.start <= startMs && i.end === closedAtMs),
        ),
      WAIT_MS,
    )
    expect((await sloRow()).firing).toBe(0)

    const audits = (await readTopic(kafkaSettings(uniqueName('control')), t.topics.control))
      .filter((r) => r.key?.toString('utf8') === `episode-close/${fp}`)
      .map((r) => JSON.parse(r.value!.toString('utf8')) as Record<string, unknown>)
    expect(audits).toEqual([
      expect.objectContaining({ fingerprint: fp, alertname: DEMO_ALERT, startsAt, by: 'alice', reason }),
    ])

    const story = (await nightshift('trace', fp)).join('\n')
    expect(story).toContain(`closed by alice: ${reason}`)

    // Alertmanager still has it firing and sends it again: a late re-send, it stays closed.
    await waitFor(
      "dedup's word on Alertmanager's re-send after the close",
      () =>
        values(watch.decisions).find(
          (d) =>
            d.stage === 'dedup' && d.fingerprint === fp && d.kind === 'firing_after_resolved' && d.decidedAt > closedAt,
        ),
      WAIT_MS,
    )
    expect(dedupedOf(fp).filter((a) => a.status === 'firing')).toHaveLength(1)
    expect((await openEpisodes()).map((e) => e.fingerprint)).not.toContain(fp)
    expect(latestBudget()!.open[episode]).toBeUndefined()
    expect(requestsOf(fp).filter((r) => r.alert.alert.status === 'firing')).toHaveLength(1)
  })

  test('a late duplicate resolve of an older episode while a newer one fires: the newer one stays open', async () => {
    const labels = labelsOf('late-resolve')
    const now = Date.now()
    const older = { startsAt: amTime(now - 30_000), endsAt: amTime(now - 20_000) }
    const newer = amTime(now - 5_000)

    await am.post([{ labels, startsAt: older.startsAt, endsAt: iso(now + HOUR) }])
    const fp = await fired('late-resolve', older.startsAt)
    await am.post([{ labels, ...older }])
    await waitFor('the older episode closed', () => dedupedOf(fp).find((a) => a.status === 'resolved'), WAIT_MS)

    await am.post([{ labels, startsAt: newer, endsAt: iso(Date.now() + HOUR) }])
    await fired('late-resolve', newer)
    await waitFor(
      "the newer episode's request",
      () => requestsOf(fp).find((r) => r.alert.alert.status === 'firing' && r.alert.alert.startsAt === newer),
      WAIT_MS,
    )

    // The older episode's resolve again, late: Alertmanager takes it (it replaces the alert) and sends it on.
    const lateAt = Date.now()
    await am.post([{ labels, ...older }])
    const late = await waitFor(
      'the late resolve on alerts.raw',
      () => rawOf('late-resolve').find((a) => a.status === 'resolved' && a.receivedAt >= lateAt),
      WAIT_MS,
    )
    expect(late).toMatchObject({ startsAt: older.startsAt, endsAt: older.endsAt })
    // What dedup made of it: a decision when it drops it, a record on alerts.deduped when it forwards it.
    const verdict = await waitFor(
      "dedup's verdict on the late resolve",
      () =>
        dedupedOf(fp).find((a) => a.status === 'resolved' && a.receivedAt >= late.receivedAt) ??
        values(watch.decisions).find(
          (d) =>
            d.stage === 'dedup' && d.fingerprint === fp && d.status === 'resolved' && d.decidedAt >= late.receivedAt,
        ),
      WAIT_MS,
    )
    expect(verdict).toMatchObject({ stage: 'dedup', kind: 'late_resolve' })
    expect(dedupedOf(fp).filter((a) => a.status === 'resolved')).toHaveLength(1)

    expect(latestBudget()!.open[`${fp}|${newer}`]).toBe(Date.parse(newer))
    expect((await sloRow()).firing).toBe(1)
    expect((await openEpisodes()).find((e) => e.fingerprint === fp)).toMatchObject({ startsAt: newer })
  })
})
