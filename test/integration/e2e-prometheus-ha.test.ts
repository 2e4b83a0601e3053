/**
 * End to end with Debian's Prometheus as an HA pair, as people run it: two replicas with
 * the same rule file and the same scrape target (the demo service), told apart by an
 * external label `replica: a|b` that alert_relabel_configs drops, both sending to one
 * Alertmanager that posts to Nightshift (the harness of src/demo/).
 *
 * The replicas start at different times, and Alertmanager comes up after replica a has
 * fired (as after an Alertmanager restart): a's first notification is lost, so b's, with
 * a later start, reaches Alertmanager first and is sent on; a's re-send then moves the
 * alert's startsAt earlier mid-episode, which Alertmanager sends on its next repeat. That
 * is the case: keyed on the exact startsAt, Nightshift saw a second episode and
 * ran the action again. Here one incident must give one action run and one episode,
 * closed when the service is fixed.
 */
import path from 'node:path'
import { Command } from 'commander'
import { addEpisodesCommands } from '../../src/cli/episodes'
import type { AlertRecord } from '../../src/contracts/records'
import { DemoWatch, startDemoNightshift, type DemoNightshift } from '../../src/demo'
import {
  DEMO_ALERT,
  DEMO_SERVICE,
  freePort,
  startAlertmanager,
  startPrometheus,
  type PrometheusOptions,
  type RunningPrometheus,
} from '../../src/demo/observability'
import type { OpenEpisode } from '../../src/episodes/open'
import { createProgress } from '../../src/progress'
import { endpoints, testLogger, uniqueName, waitFor } from '../support/kafka'
import { provisionTopology, type TestTopology } from '../support/topology'

const WAIT_MS = 60_000
/** Prometheus re-sends firing alerts this often: replica a's lost notification comes again then. */
const RESEND_DELAY = '10s'

let t: TestTopology
let demo: DemoNightshift
let watch: DemoWatch

beforeAll(async () => {
  t = await provisionTopology(`${uniqueName('e2e-ha')}.`)
  demo = await startDemoNightshift({
    endpoints,
    logger: testLogger,
    prefix: t.prefix,
    raiseFor: '30m',
    progress: createProgress({ quiet: true }),
    sessionTimeoutMs: 10_000,
  })
  watch = new DemoWatch(demo.registry)
  await watch.start(demo.kafka, t.prefix, 'log-level')
}, 120_000)

afterAll(async () => {
  await watch?.stop()
  await demo?.stop()
  await t?.cleanup()
}, 60_000)

const values = <T>(seen: ReadonlyArray<{ value: T }>): T[] => seen.map((s) => s.value)
const firingRaw = (): AlertRecord[] => values(watch.raw).filter((a) => a.status === 'firing')

async function openEpisodes(): Promise<OpenEpisode[]> {
  const out: string[] = []
  const cli = new Command('nightshift').exitOverride()
  addEpisodesCommands(cli, { print: (text) => out.push(text), logger: testLogger, env: process.env })
  await cli.parseAsync(['episodes', '--json', '--prefix', t.prefix], { from: 'user' })
  return (JSON.parse(out.join('\n')) as { episodes: OpenEpisode[] }).episodes
}

/** Waits until `prometheus` has the demo's alert firing; its activeAt. */
async function firingIn(prometheus: RunningPrometheus, name: string): Promise<string> {
  const alert = await waitFor(
    `${DEMO_ALERT} firing in ${name}`,
    async () => (await prometheus.alerts()).find((a) => a.labels.alertname === DEMO_ALERT && a.state === 'firing'),
    WAIT_MS,
    200,
  )
  return alert.activeAt
}

test('an HA pair of Prometheus: one incident, one action run, one episode closed on resolve', async () => {
  const amPort = await freePort()
  const replica = (name: 'a' | 'b'): PrometheusOptions => ({
    dir: path.join(demo.dir, `prometheus-${name}`),
    rulesDir: path.join(demo.dir, 'rules'),
    name: `prometheus-${name}`,
    alertmanager: `127.0.0.1:${amPort}`,
    demoTarget: demo.demoTarget,
    nightshiftTarget: demo.nightshiftTarget,
    externalLabels: { replica: name },
    dropAlertLabels: ['replica'],
    resendDelay: RESEND_DELAY,
    logger: testLogger,
  })

  const a = await startPrometheus(replica('a'))
  demo.own(() => a.stop())
  await waitFor(
    'replica a scraping demo-checkout',
    async () => ((await a.targets())[DEMO_SERVICE] === 'up' ? true : undefined),
    WAIT_MS,
    200,
  )

  demo.service.setBroken(true)
  const activeInA = await firingIn(a, 'replica a')

  // Alertmanager comes up only now, and replica b starts later than a.
  const owned = async <T extends { stop(): Promise<void> }>(starting: Promise<T>): Promise<T> => {
    const started = await starting
    demo.own(() => started.stop())
    return started
  }
  const [, b] = await Promise.all([
    owned(
      startAlertmanager({
        dir: path.join(demo.dir, 'alertmanager'),
        webhookUrl: demo.webhookUrl,
        logger: testLogger,
        port: amPort,
        groupWait: '1s',
        groupInterval: '2s',
        repeatInterval: '5s',
      }),
    ),
    owned(startPrometheus(replica('b'))),
  ])
  const activeInB = await firingIn(b, 'replica b')
  expect(Date.parse(activeInB)).toBeGreaterThan(Date.parse(activeInA))

  const first = await waitFor('the first firing on alerts.raw', () => firingRaw()[0], WAIT_MS)
  const fp = first.fingerprint
  // The replica label was dropped: both replicas' alerts are one alert for Alertmanager.
  expect(first.labels.replica).toBeUndefined()
  expect(first.labels).toMatchObject({ alertname: DEMO_ALERT, service: DEMO_SERVICE })
  await waitFor(
    'the log-level run',
    () => values(watch.outcomes).find((o) => o.fingerprint === fp && o.status === 'succeeded'),
    WAIT_MS,
  )

  // Replica a's re-send moves the start earlier; Alertmanager sends it on its next repeat.
  const moved = await waitFor(
    'a firing with an earlier startsAt on alerts.raw (replica a re-sent)',
    () => firingRaw().find((r) => Date.parse(r.startsAt) < Date.parse(first.startsAt)),
    WAIT_MS,
  )
  expect(moved.fingerprint).toBe(fp)
  const movedSeen = await waitFor(
    "dedup's verdict on the moved start",
    () =>
      values(watch.decisions).find(
        (d) => d.stage === 'dedup' && d.fingerprint === fp && d.startsAt === moved.startsAt && d.status === 'firing',
      ) ?? values(watch.deduped).find((r) => r.fingerprint === fp && r.receivedAt === moved.receivedAt),
    WAIT_MS,
  )
  expect(movedSeen).toMatchObject({ stage: 'dedup', kind: 'duplicate_firing' })

  // The incident ends.
  demo.service.setBroken(false)
  const resolved = await waitFor(
    'the resolve on alerts.deduped',
    () => values(watch.deduped).find((r) => r.fingerprint === fp && r.status === 'resolved'),
    WAIT_MS,
  )
  // Alertmanager sends the earliest start; dedup forwards it with the episode's own.
  expect(resolved).toMatchObject({ startsAt: first.startsAt, sentStartsAt: moved.startsAt, closedBy: null })
  const episode = `${fp}|${first.startsAt}`
  const closed = await waitFor(
    'the budget with the episode closed',
    () =>
      values(watch.budgets).find(
        (bud) => bud.open[episode] === undefined && bud.intervals.some((i) => i.end === Date.parse(resolved.endsAt!)),
      ),
    WAIT_MS,
  )
  // Charged from when the incident began (replica a's start), not from the start first sent.
  expect(closed.intervals.find((i) => i.end === Date.parse(resolved.endsAt!))!.start).toBe(Date.parse(moved.startsAt))

  // One episode: everything dedup forwarded carries one start; one run of the action.
  expect(new Set(values(watch.deduped).map((r) => `${r.fingerprint}|${r.startsAt}`))).toEqual(new Set([episode]))
  const firingRequests = values(watch.requests).filter((r) => r.alert.alert.status === 'firing')
  expect(firingRequests).toHaveLength(1)
  const runs = values(watch.outcomes).filter(
    (o) => o.fingerprint === fp && ['succeeded', 'failed', 'timed_out'].includes(o.status),
  )
  expect(runs.map((o) => o.idempotencyKey).filter((k) => !k.endsWith('/revert') && !k.endsWith('#resolved'))).toEqual([
    firingRequests[0]!.idempotencyKey,
  ])
  expect((await openEpisodes()).map((e) => e.fingerprint)).not.toContain(fp)
}, 150_000)
