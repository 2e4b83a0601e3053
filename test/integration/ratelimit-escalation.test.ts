/**
 * Rate limits protect automation's targets, never the human's sleep (issue 15): a critical
 * alert the automation limits hold back still pages, and the team hears of the throttle
 * exactly once per limit window, also across a restart. Real broker and registry, the
 * ratelimit and route stages of the app in-process, alerts.enriched fed directly so the
 * record times (and so the windows) are the test's.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { buildApp, type App } from '../../src/app'
import type { ActionRequestRecord, EnrichedAlertRecord } from '../../src/contracts/records'
import { RecordProducer } from '../../src/kafka'
import { NOTICE_ROUTE } from '../../src/stages/route/decide'
import { actionTopic, valueSubject } from '../../src/topology/names'
import { enrichedAlertRecord } from '../support/records'
import {
  collect,
  endpoints,
  kafkaSettings,
  testLogger,
  uniqueName,
  waitFor,
  waitForCaughtUp,
  type Collector,
} from '../support/kafka'
import { provisionTopology, schemas, type TestTopology } from '../support/topology'

const CATALOG = `
services:
  - name: checkout
    team: payments
    matchers: ['service="checkout"']
`
// Automation: 2 alerts of a key per hour. Escalations of held-back alerts: 20 per hour.
const LIMITS = `
defaults:
  alert: { rate: 2/1h, burst: 2 }
escalation:
  alert: { rate: 20/1h, burst: 20 }
`
const ROUTES = `
route:
  routes:
    - name: critical-log-level
      matchers: ['severity="critical"']
      continue: true
      action: log-level
      params: { level: DEBUG }
    - name: page-critical
      matchers: ['severity="critical"']
      action: page
      params: { summary: "{{ labels.alertname }} on {{ service }}" }
`

/** 10:00 UTC: the start of a 1h window. */
const T0 = Date.UTC(2026, 10, 25, 10, 0, 0)
const MIN = 60_000

describe('a throttled critical alert still pages; the team is told once per window (real broker)', () => {
  let t: TestTopology
  let app: App | undefined
  let dir: string
  let producer: RecordProducer
  const c: Record<'throttled' | 'page' | 'logLevel' | 'unrouted', Collector> = {} as never

  const start = async () => {
    app = buildApp({
      endpoints,
      logger: testLogger,
      stages: ['ratelimit', 'route'],
      prefix: t.prefix,
      configDir: dir,
      sessionTimeoutMs: 6000,
    })
    await app.start()
  }

  let sequence = 0
  /** Feeds critical HighLatency alerts of checkout (one key), each its own episode, at `times`. */
  const fire = async (times: number[]) => {
    const id = await t.registry.idOf(valueSubject(t.topics.enriched), schemas.resolve('EnrichedAlert'))
    const records = await Promise.all(
      times.map(async (receivedAt) => {
        sequence += 1
        const value: EnrichedAlertRecord = enrichedAlertRecord({
          alert: {
            fingerprint: `fp${sequence}`,
            labels: { alertname: 'HighLatency', service: 'checkout', severity: 'critical', instance: `i${sequence}` },
            startsAt: new Date(receivedAt - 1000).toISOString(),
            receivedAt,
          },
          team: 'payments',
          service: 'checkout',
        })
        // enrich keys alerts.enriched by team.
        return { topic: t.topics.enriched, key: 'payments', value: await t.registry.encode(id, value) }
      }),
    )
    await producer.send(records)
    await waitForCaughtUp([
      { groupId: `${t.prefix}nightshift-ratelimit`, topic: t.topics.enriched, transactional: false },
      { groupId: `${t.prefix}nightshift-route`, topic: t.topics.admitted, transactional: true },
      { groupId: `${t.prefix}nightshift-route`, topic: t.topics.throttled, transactional: true },
    ])
  }

  const pages = async (): Promise<ActionRequestRecord[]> =>
    Promise.all(c.page.records.map(async (r) => (await t.registry.decode(r.value!)) as ActionRequestRecord))
  const notices = async () => (await pages()).filter((p) => p.route === NOTICE_ROUTE)
  const ownPages = async () => (await pages()).filter((p) => p.route === 'page-critical')
  /** Waits until the collectors hold these counts (they read what the stages committed). */
  const expectCounts = (expected: Record<keyof typeof c, number>) =>
    waitFor(
      `counts ${JSON.stringify(expected)}`,
      () => {
        const counts = Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v.records.length]))
        return JSON.stringify(counts) === JSON.stringify({ ...counts, ...expected }) ? true : undefined
      },
      20000,
    ).catch((err: unknown) => {
      const counts = Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v.records.length]))
      throw new Error(`${(err as Error).message}; have ${JSON.stringify(counts)}`)
    })

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nightshift-escalation-'))
    fs.writeFileSync(path.join(dir, 'catalog.yaml'), CATALOG)
    fs.writeFileSync(path.join(dir, 'limits.yaml'), LIMITS)
    fs.writeFileSync(path.join(dir, 'routes.yaml'), ROUTES)
    fs.copyFileSync(path.resolve(__dirname, '..', '..', 'topology', 'topics.yaml'), path.join(dir, 'topics.yaml'))
    t = await provisionTopology(`${uniqueName('escalation')}.`, 2)
    producer = await RecordProducer.connect(kafkaSettings(uniqueName('escalation-feed')))
    c.throttled = await collect(t.topics.throttled)
    c.page = await collect(`${t.prefix}${actionTopic('page')}`)
    c.logLevel = await collect(`${t.prefix}${actionTopic('log-level')}`)
    c.unrouted = await collect(t.topics.unrouted)
    await start()
  })

  afterAll(async () => {
    await app?.stop()
    await producer?.disconnect()
    await Promise.all(Object.values(c).map((x) => x.stop()))
    await t?.cleanup()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('pages every critical alert, automation only within its limit, and one notice per window, also across a restart', async () => {
    // 10:00: 5 alerts of one key. 2 admitted: log-level and page each. 3 held back:
    // their pages still go out (the automation limit does not hold a page), their
    // log-level requests do not; the first held back tells the team.
    await fire([1, 2, 3, 4, 5].map((s) => T0 + s * 1000))
    await expectCounts({ throttled: 3, page: 6, logLevel: 2, unrouted: 0 })
    expect(await ownPages()).toHaveLength(5)
    const [notice] = await notices()
    expect(await notices()).toHaveLength(1)
    expect(notice).toMatchObject({
      idempotencyKey: 'throttle|alert:payments/checkout/HighLatency|2026-11-25T10:00:00.000Z|page',
      action: 'page',
      params: { team: 'payments', limit: 'alert:payments/checkout/HighLatency', heldBack: '1' },
      alert: { alert: { fingerprint: 'fp3' }, throttledBy: 'alert:payments/checkout/HighLatency' },
    })

    // A restart: the notice window comes back from the changelog, so 10:10's held-back
    // alerts page, and nobody is told a second time.
    await app!.stop()
    app = undefined
    await start()
    await fire([T0 + 10 * MIN, T0 + 10 * MIN + 1000])
    await expectCounts({ throttled: 5, page: 8, logLevel: 2, unrouted: 0 })
    expect(await notices()).toHaveLength(1)

    // 11:00, a new window: the bucket refilled (2 admitted), the third is held back and
    // the team is told again, under the new window's key.
    await fire([T0 + 60 * MIN + 1000, T0 + 60 * MIN + 2000, T0 + 60 * MIN + 3000])
    await expectCounts({ throttled: 6, page: 12, logLevel: 4, unrouted: 0 })
    expect((await notices()).map((n) => n.idempotencyKey)).toEqual([
      'throttle|alert:payments/checkout/HighLatency|2026-11-25T10:00:00.000Z|page',
      'throttle|alert:payments/checkout/HighLatency|2026-11-25T11:00:00.000Z|page',
    ])
    // Every page request is distinct: one per episode, one per notice.
    const keys = (await pages()).map((p) => p.idempotencyKey)
    expect(new Set(keys).size).toBe(keys.length)
    expect(await ownPages()).toHaveLength(10)
  })
})
