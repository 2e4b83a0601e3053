import fs from 'node:fs'
import path from 'node:path'
import { buildApp, type App } from '../../src/app'
import type { InRecord } from '../../src/kafka'
import { DLQ_HEADERS } from '../../src/runner/dead-letter'
import { collect, endpoints, testLogger, uniqueName, waitFor, waitForCaughtUp, type Collector } from '../support/kafka'
import { provisionTopology, type TestTopology } from '../support/topology'
import { ALERTMANAGER_FIXTURES } from '../support/fixtures'

const FIXTURES = ALERTMANAGER_FIXTURES
const bodies = fs
  .readdirSync(FIXTURES)
  .filter((f) => /^\d\d-.*\.json$/.test(f))
  .sort()
  .map((f) => fs.readFileSync(path.join(FIXTURES, f)))

interface Decoded {
  fingerprint: string
  startsAt: string
  status: string
  kind?: string
  stage?: string
}

async function decodeAll(t: TestTopology, records: InRecord[]): Promise<Decoded[]> {
  return Promise.all(records.map(async (r) => (await t.registry.decode(r.value!)) as Decoded))
}

const episode = (d: Decoded) => `${d.fingerprint}|${d.startsAt}|${d.status}`

describe('webhook → alerts.raw → dedup (in-process app, real broker and registry)', () => {
  let t: TestTopology
  let app: App
  let raw: Collector, deduped: Collector, decisions: Collector, dlq: Collector

  beforeAll(async () => {
    t = await provisionTopology(`${uniqueName('pipeline')}.`, 3)
    app = buildApp({ endpoints, logger: testLogger, prefix: t.prefix, http: { port: 0 }, sessionTimeoutMs: 6000 })
    await app.start()
    ;[raw, deduped, decisions, dlq] = await Promise.all([
      collect(t.topics.raw),
      collect(t.topics.deduped),
      collect(t.topics.decisions),
      collect(t.topics.dlq),
    ])
    await waitFor(
      'the webhook to be ready',
      async () => ((await fetch(`${app.httpAddress()}/readyz`)).ok ? true : undefined),
      30000,
    )
  })

  afterAll(async () => {
    await app.stop()
    await Promise.all([raw, deduped, decisions, dlq].map((c) => c.stop()))
    await t.cleanup()
  })

  it('turns the captured Alertmanager notifications into exactly the expected records', async () => {
    for (const body of bodies) {
      const res = await fetch(`${app.httpAddress()}/webhook/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'Alertmanager/0.25.0' },
        body,
      })
      const sent = (JSON.parse(body.toString()) as { alerts: unknown[] }).alerts.length
      expect({ status: res.status, body: await res.json() }).toEqual({ status: 200, body: { accepted: sent } })
    }

    // An independent oracle: the first firing and first resolved of each episode pass.
    const seen = new Set<string>()
    const expectedForwarded: string[] = []
    const expectedDropped: string[] = []
    for (const body of bodies) {
      for (const a of (JSON.parse(body.toString()) as { alerts: Decoded[] }).alerts) {
        const key = episode(a)
        const late = a.status === 'firing' && seen.has(`${a.fingerprint}|${a.startsAt}|resolved`)
        if (seen.has(key) || late) expectedDropped.push(key)
        else {
          seen.add(key)
          expectedForwarded.push(key)
        }
      }
    }
    expect([expectedForwarded.length, expectedDropped.length]).toEqual([12, 11]) // the fixtures: 23 alerts

    await waitFor(
      'every record through dedup',
      () => (deduped.records.length + decisions.records.length >= 23 ? true : undefined),
      30000,
    )
    await waitForCaughtUp([{ groupId: `${t.prefix}nightshift-dedup`, topic: t.topics.raw, transactional: false }])

    const rawAlerts = await decodeAll(t, raw.records)
    expect(rawAlerts).toHaveLength(23)
    expect(raw.records.every((r, i) => r.key?.toString() === rawAlerts[i]!.fingerprint)).toBe(true)
    expect((await decodeAll(t, deduped.records)).map(episode).sort()).toEqual(expectedForwarded.sort())
    // Dedup's decisions (later stages write theirs to the same topic, e.g. route's template errors).
    const dropped = (await decodeAll(t, decisions.records)).filter((d) => d.stage === 'dedup')
    expect(dropped.map(episode).sort()).toEqual(expectedDropped.sort())
    expect(new Set(dropped.map((d) => d.kind))).toEqual(new Set(['duplicate_firing']))
  })

  it('answers 400 to a malformed body and keeps it on the DLQ', async () => {
    const junk = Buffer.from('{"receiver": "nightshift", "alerts": [')
    const res = await fetch(`${app.httpAddress()}/webhook/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: junk,
    })
    expect(res.status).toBe(400)
    const [letter] = await waitFor('the dead letter', () => (dlq.records.length > 0 ? dlq.records : undefined))
    expect(letter!.headers[DLQ_HEADERS.stage]).toBe('ingest')
    expect(((await t.registry.decode(letter!.value!)) as { value: Buffer }).value).toEqual(junk)
  })

  it('carries the alerts on to the action workers, where nothing runs: cancelled (resolved before it started) or dry run', async () => {
    const outcomes = await collect(t.topics.outcomes)
    const pageRequests = await collect(`${t.prefix}actions.page`)
    try {
      // The fixtures' episodes fire and resolve within moments: a page whose resolve comes in
      // the same batch is cancelled, and that resolve has nothing to resolve. Anything else
      // is a dry run (the shipped config).
      const decoded = await waitFor(
        'an outcome for both the firing and the resolved page request of every episode',
        async () => {
          const all = (await decodeAll(t, outcomes.records)) as unknown as Array<{
            action: string
            status: string
            idempotencyKey: string
          }>
          const pages = all.filter((o) => o.action === 'page')
          return pageRequests.records.length > 0 && pages.length >= pageRequests.records.length ? all : undefined
        },
        30000,
      )
      expect(decoded.filter((o) => !['dry_run', 'error', 'cancelled_resolved'].includes(o.status))).toEqual([])
      const pages = decoded.filter((o) => o.action === 'page')
      // Exactly one outcome per request (a resolve's is keyed <key>#resolved).
      expect(pages).toHaveLength(pageRequests.records.length)
      expect(new Set(pages.map((o) => o.idempotencyKey)).size).toBe(pages.length)
      // Usually all cancelled; a firing request fetched before its resolve is a dry run.
      expect(pages.filter((o) => o.status !== 'cancelled_resolved' && o.status !== 'dry_run')).toEqual([])
    } finally {
      await Promise.all([outcomes.stop(), pageRequests.stop()])
    }
  })

  it("exposes the stages' counters on /metrics", async () => {
    const text = await (await fetch(`${app.httpAddress()}/metrics`)).text()
    expect(text).toMatch(/nightshift_stage_decisions_total\{stage="dedup",kind="forwarded"\} 12/)
    expect(text).toMatch(/nightshift_stage_decisions_total\{stage="dedup",kind="duplicate_firing"\} 11/)
  })
})
