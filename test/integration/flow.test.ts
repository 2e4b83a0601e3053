import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { buildApp, type App } from '../../src/app'
import { actionTopic } from '../../src/topology/names'
import { collect, endpoints, testLogger, uniqueName, waitFor, waitForCaughtUp, type Collector } from '../support/kafka'
import { provisionTopology, type TestTopology } from '../support/topology'

const CATALOG = `
services:
  - name: checkout
    team: payments
    tier: tier-1
    slo: checkout-availability
    matchers: ['service="checkout"']
    endpoints: { admin: "http://127.0.0.1:18080" }
  - name: prometheus
    team: core
    tier: tier-2
    matchers: ['service="prometheus"']
`
// Only the per-alert level is limited: 4 alerts of one team/service/alertname at once.
const LIMITS = `
key: "{team}/{service}/{alertname}"
defaults:
  alert: { rate: 1/1h, burst: 4 }
`
const routes = (checkoutAction: string) => `
route:
  name: root
  routes:
    - name: critical-page
      matchers: ['severity="critical"']
      action: page
      params: { summary: "{{ labels.alertname }} on {{ service }}" }
    - name: checkout-warning
      matchers: ['service="checkout"']
      action: ${checkoutAction}
      params: { url: "{{ endpoints.admin }}/loggers" }
`

let sequence = 0
function alert(labels: Record<string, string>, status: 'firing' | 'resolved' = 'firing', startsAt?: string) {
  sequence += 1
  return {
    status,
    labels,
    annotations: {},
    startsAt:
      startsAt ?? `2026-11-25T02:00:${String(sequence % 60).padStart(2, '0')}.${String(sequence).padStart(3, '0')}Z`,
    endsAt: status === 'resolved' ? '2026-11-25T03:00:00Z' : '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus.example/graph',
  }
}

describe('ingest → dedup → enrich → ratelimit → route (in-process app, real broker, files teams own)', () => {
  let t: TestTopology
  let app: App
  let dir: string
  const c: Record<string, Collector> = {}

  const post = async (alerts: object[]) => {
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

  /** Waits until every stage committed everything its input topic holds. */
  const settled = () =>
    waitForCaughtUp(
      (
        [
          ['dedup', t.topics.raw],
          ['enrich', t.topics.deduped],
          ['ratelimit', t.topics.enriched],
          ['route', t.topics.admitted],
          ['route', t.topics.throttled],
        ] as const
      ).map(([stage, topic]) => ({
        groupId: `${t.prefix}nightshift-${stage}`,
        topic,
        transactional: topic !== t.topics.raw,
      })),
    )

  const counts = () => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v.records.length]))

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nightshift-config-'))
    fs.writeFileSync(path.join(dir, 'catalog.yaml'), CATALOG)
    fs.writeFileSync(path.join(dir, 'limits.yaml'), LIMITS)
    fs.writeFileSync(path.join(dir, 'routes.yaml'), routes('log-level'))
    fs.copyFileSync(path.resolve(__dirname, '..', '..', 'topology', 'topics.yaml'), path.join(dir, 'topics.yaml'))
    t = await provisionTopology(`${uniqueName('flow')}.`, 3)
    app = buildApp({
      endpoints,
      logger: testLogger,
      stages: ['ingest', 'dedup', 'enrich', 'ratelimit', 'route'],
      prefix: t.prefix,
      http: { port: 0 },
      configDir: dir,
      configPollMs: 100,
      sessionTimeoutMs: 6000,
    })
    await app.start()
    const topics = {
      admitted: t.topics.admitted,
      throttled: t.topics.throttled,
      unrouted: t.topics.unrouted,
      page: `${t.prefix}${actionTopic('page')}`,
      logLevel: `${t.prefix}${actionTopic('log-level')}`,
      threadDump: `${t.prefix}${actionTopic('thread-dump')}`,
    }
    for (const [name, topic] of Object.entries(topics)) c[name] = await collect(topic)
    await waitFor(
      'the webhook to be ready',
      async () => ((await fetch(`${app.httpAddress()}/readyz`)).ok ? true : undefined),
      30000,
    )
  })

  afterAll(async () => {
    await app.stop()
    await Promise.all(Object.values(c).map((x) => x.stop()))
    await t.cleanup()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('routes a mixed storm to exactly the expected topics, and follows routes.yaml edits', async () => {
    const slow = [1, 2, 3, 4, 5, 6].map((i) =>
      alert({ alertname: 'Slow', service: 'checkout', severity: 'warning', instance: `i${i}` }),
    )
    await post([
      // 3 critical checkout alerts → page (first match, no continue)
      ...['a', 'b', 'c'].map((i) =>
        alert({ alertname: 'Down', service: 'checkout', severity: 'critical', instance: i }),
      ),
      // 6 warnings of one alert key: 4 admitted → log-level, 2 throttled: no log-level,
      // and the team is told once (a page request, the throttle notice)
      ...slow,
      // 2 warnings of another team's service, and 1 of no catalog service: admitted, no route
      ...['x', 'y'].map((i) =>
        alert({ alertname: 'TargetUp', service: 'prometheus', severity: 'warning', instance: i }),
      ),
      alert({ alertname: 'Mystery', service: 'nobody-owns-this', severity: 'warning' }),
    ])
    await settled()
    // A resolve is never throttled: it is admitted and routed like its alert.
    await post([{ ...slow[5]!, status: 'resolved', endsAt: '2026-11-25T03:00:00Z' }])
    await settled()
    expect(counts()).toEqual({ admitted: 11, throttled: 2, unrouted: 3, page: 4, logLevel: 5, threadDump: 0 })

    // An edit of routes.yaml applies to later alerts, without a restart.
    fs.writeFileSync(path.join(dir, 'routes.yaml'), routes('thread-dump'))
    await waitFor('the reload', async () =>
      (await (await fetch(`${app.httpAddress()}/metrics`)).text()).match(
        /nightshift_config_reloads_total\{file="[^"]*routes\.yaml",result="ok"\} 1/,
      )
        ? true
        : undefined,
    )
    await post([alert({ alertname: 'Other', service: 'checkout', severity: 'warning' })])
    await settled()
    expect(counts()).toMatchObject({ logLevel: 5, threadDump: 1 })

    // An invalid edit is rejected: routing stays as it was, and the metric says so.
    fs.writeFileSync(path.join(dir, 'routes.yaml'), `${routes('log-level')}\nsurprise: key\n`)
    await waitFor('the rejection', async () =>
      (await (await fetch(`${app.httpAddress()}/metrics`)).text()).match(
        /nightshift_config_last_reload_ok\{file="[^"]*routes\.yaml"\} 0/,
      )
        ? true
        : undefined,
    )
    await post([alert({ alertname: 'Third', service: 'checkout', severity: 'warning' })])
    await settled()
    expect(counts()).toMatchObject({ logLevel: 5, threadDump: 2 })
  })
})
