/**
 * Action workers against the real broker and registry, real HTTP targets and real child
 * processes: every built-in action's success and failure, retries, timeouts, the circuit
 * escalating to page, pauses, dry runs, cancellation, duplicates, fix-didn't-hold,
 * log-level's automatic revert, and hostile label values reaching `exec` as literal
 * single arguments.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { buildApp, type App } from '../../src/app'
import { pauseKey, pauseRecord, resumeRecord } from '../../src/actions/worker/control'
import { newPause, type PauseScope } from '../../src/actions/worker/pause'
import type { ActionOutcomeRecord, ActionRequestRecord, SloBudgetRecord } from '../../src/contracts/records'
import { RecordProducer } from '../../src/kafka'
import { emptyBudget } from '../../src/stages/slo/decide'
import { parseSlos } from '../../src/slo/slos'
import { valueSubject } from '../../src/topology/names'
import { HttpTarget } from '../support/http-target'
import { collect, endpoints, kafkaSettings, testLogger, uniqueName, waitFor, type Collector } from '../support/kafka'
import { actionRequest, actionsConfigDir, decodedOutcomes, sendActionRequests } from '../support/actions'
import { provisionTopology, schemas, type TestTopology } from '../support/topology'

const PD_KEY = 'pd-routing-key-secret'
const TOKEN = 'webhook-token-secret'

let t: TestTopology
let app: App
let target: HttpTarget
let dir: string
let callsDir: string
let outcomes: Collector
let producer: RecordProducer

const request = actionRequest

async function send(...requests: ActionRequestRecord[]): Promise<void> {
  await sendActionRequests(t, producer, requests)
}

async function allOutcomes(): Promise<ActionOutcomeRecord[]> {
  return decodedOutcomes(t, outcomes)
}

/** Waits for `count` outcomes of the idempotency key (a little longer to catch extras) and returns them all. */
async function outcomesOf(key: string, count = 1, timeoutMs = 30000): Promise<ActionOutcomeRecord[]> {
  const found = await waitFor(
    `${count} outcome(s) of ${key}`,
    async () => {
      const mine = (await allOutcomes()).filter((o) => o.idempotencyKey === key)
      return mine.length >= count ? mine : undefined
    },
    timeoutMs,
  )
  return found
}

async function control(record: ReturnType<typeof pauseRecord>): Promise<void> {
  await producer.send([record])
}

function pause(scope: PauseScope, reason: string) {
  return newPause({ scope, reason, forMs: 3600_000, now: Date.now(), id: pauseKey(scope), escalate: true })
}

beforeAll(async () => {
  t = await provisionTopology(uniqueName('actions'), 2)
  target = await new HttpTarget().start()
  dir = actionsConfigDir('actions', (d) => {
    callsDir = path.join(d, 'calls')
    fs.mkdirSync(callsDir)
    // A program that records its argv, one file per call, so tests see exactly what it got.
    const recorder = path.join(d, 'record-argv.js')
    fs.writeFileSync(
      recorder,
      `const fs = require('fs'); const path = require('path');\n` +
        `fs.writeFileSync(path.join(${JSON.stringify(callsDir)}, Date.now() + '-' + process.pid + '.json'), JSON.stringify(process.argv.slice(2)));\n` +
        `process.stdout.write('recorded ' + (process.argv.length - 2) + ' arguments');\n`,
    )
    return [
      'dryRun: false',
      `artifactsDir: ${JSON.stringify(path.join(d, 'artifacts'))}`,
      'notEffectiveWindow: 10m',
      'defaults:',
      '  timeout: 1s',
      '  maxAttempts: 3',
      '  backoff: { initial: 50ms, max: 200ms }',
      '  concurrency: 8',
      '  perServiceConcurrency: 1',
      '  circuit: { failures: 2, coolDown: 10m }',
      '  escalateTo: page',
      'actions:',
      '  page:',
      '    onResolved: run',
      '    escalateTo: null',
      '    maxAttempts: 1',
      '    perServiceConcurrency: 8',
      `    config: { kind: pagerduty, url: "${target.url}/pd", routingKey: "\${env:TEST_PD_KEY}" }`,
      '  webhook:',
      '    gate: { minBudgetRemaining: 0.25 }',
      '    config:',
      '      headers: { Authorization: "Bearer ${env:TEST_WEBHOOK_TOKEN}" }',
      '  exec:',
      '    config:',
      '      commands:',
      `        record-argv: { program: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(recorder)}, "{{ labels.payload }}", "{{ params.extra }}"] }`,
      '  log-level:',
      '    config: { flavour: spring }',
      '  thread-dump: { timeout: 30s }',
      '  incident-note: {}',
      `customActionsDir: ${JSON.stringify(path.resolve(__dirname, '..', '..', 'topology', 'custom-actions'))}`,
    ]
  })
  fs.writeFileSync(
    path.join(dir, 'slos.yaml'),
    [
      'slos:',
      '  - name: shop-gated',
      '    service: shop',
      '    team: payments',
      '    objective: 0.999',
      '    indicator:',
      '      matchers: [\'slo="shop-gated"\']',
    ].join('\n'),
  )
  producer = await RecordProducer.connect(kafkaSettings('test-actions-feed'))
  outcomes = await collect(t.topics.outcomes)
  // The budget of shop-gated as the slo stage writes it: 60 bad minutes of the 43.2 allowed.
  const now = Math.floor(Date.now() / 60_000) * 60_000 // on a minute boundary: exactly 60 bad 1m slices
  const budget: SloBudgetRecord = {
    ...emptyBudget(
      parseSlos(fs.readFileSync(path.join(dir, 'slos.yaml'), 'utf8'), 'slos.yaml').byName.get('shop-gated')!,
    ),
    asOf: now - 60 * 60_000,
    intervals: [{ start: now - 2 * 60 * 60_000, end: now - 60 * 60_000 }],
  }
  const budgetId = await t.registry.idOf(valueSubject(t.topics.budget), schemas.resolve('SloBudget'))
  await producer.send([{ topic: t.topics.budget, key: 'shop-gated', value: await t.registry.encode(budgetId, budget) }])

  // Before the workers start, so their first batch holds both: a firing request and
  // its resolved notification (cancellation), and a pause already in force.
  await send(
    request({ action: 'webhook', fingerprint: 'cancel01', params: { url: `${target.url}/cancelled` } }),
    request({
      action: 'webhook',
      fingerprint: 'cancel01',
      params: { url: `${target.url}/cancelled` },
      status: 'resolved',
    }),
  )
  await control(pauseRecord(pause({ service: 'paused-svc' }, 'deploy freeze'), t.topics.control))

  app = buildApp({
    endpoints,
    logger: testLogger,
    stages: ['actions'],
    prefix: t.prefix,
    configDir: dir,
    configPollMs: 200,
    sessionTimeoutMs: 6000,
    env: { TEST_PD_KEY: PD_KEY, TEST_WEBHOOK_TOKEN: TOKEN, PATH: process.env.PATH },
  })
  await app.start()
}, 120000)

afterAll(async () => {
  await app?.stop()
  await outcomes?.stop()
  await producer?.disconnect()
  await target?.stop()
  await t?.cleanup()
  fs.rmSync(dir, { recursive: true, force: true })
}, 60000)

describe('action workers', () => {
  it('webhook: a 2xx succeeds once, with the secret header filled and the idempotency key sent', async () => {
    target.on('/ok', 200)
    const r = request({
      action: 'webhook',
      fingerprint: 'ok000001',
      params: { url: `${target.url}/ok`, body: '{"flush":true}' },
    })
    await send(r)
    const [o] = await outcomesOf(r.idempotencyKey)
    expect(o).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      action: 'webhook',
      service: 'checkout',
      team: r.alert.team,
      alertname: 'HighLatency',
      escalatedTo: null,
    })
    expect(o!.durationMs).not.toBeNull()
    const calls = target.calls('/ok')
    expect(calls).toHaveLength(1)
    expect(calls[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`)
    expect(calls[0]!.headers['idempotency-key']).toBe(r.idempotencyKey)
    expect(calls[0]!.body).toBe('{"flush":true}')
    expect(JSON.stringify(o)).not.toContain(TOKEN)
  })

  it('retries a retriable failure with backoff, then succeeds', async () => {
    target.on('/flaky', 503, 500, 200)
    const r = request({ action: 'webhook', fingerprint: 'flaky001', params: { url: `${target.url}/flaky` } })
    await send(r)
    const [o] = await outcomesOf(r.idempotencyKey)
    expect(o).toMatchObject({ status: 'succeeded', attempts: 3 })
    expect(target.calls('/flaky')).toHaveLength(3)
  })

  it('a final failure is not retried and is escalated to page (PagerDuty Events v2)', async () => {
    target.on('/gone', 404).on('/pd', 202)
    const r = request({ action: 'webhook', fingerprint: 'gone0001', params: { url: `${target.url}/gone` } })
    await send(r)
    const [o] = await outcomesOf(r.idempotencyKey)
    expect(o).toMatchObject({ status: 'failed', attempts: 1, escalatedTo: 'page' })
    expect(target.calls('/gone')).toHaveLength(1)
    const [page] = await outcomesOf(`${r.idempotencyKey}>page`)
    expect(page).toMatchObject({ status: 'succeeded', action: 'page' })
    const sent = target.calls('/pd').map(
      (c) =>
        JSON.parse(c.body) as {
          routing_key: string
          event_action: string
          payload: { custom_details: { params: Record<string, string> } }
        },
    )
    const event = sent.find((e) => e.payload.custom_details.params.escalatedKey === r.idempotencyKey)
    expect(event).toMatchObject({ routing_key: PD_KEY, event_action: 'trigger' })
    expect(event!.payload.custom_details.params.reason).toContain('failed')
  })

  it('an attempt over the time limit is aborted: timed_out after every attempt', async () => {
    target.on('/slow', { status: 200, delayMs: 5000 })
    const r = request({
      action: 'webhook',
      fingerprint: 'slow0001',
      service: 'slow-svc',
      params: { url: `${target.url}/slow` },
    })
    await send(r)
    const [o] = await outcomesOf(r.idempotencyKey)
    expect(o).toMatchObject({ status: 'timed_out', attempts: 3, escalatedTo: 'page' })
    expect(o!.detail).toContain('timed out')
  })

  it('the circuit opens after consecutive failures against a service: not run, escalated to page', async () => {
    target.on('/broken', 500).on('/pd', 202)
    const rs = ['brk00001', 'brk00002', 'brk00003'].map((fp) =>
      request({ action: 'webhook', fingerprint: fp, service: 'broken-svc', params: { url: `${target.url}/broken` } }),
    )
    // One after the other: the circuit counts requests in the order they finish.
    for (const r of rs) {
      await send(r)
      await outcomesOf(r.idempotencyKey)
    }
    const statuses = await Promise.all(rs.map(async (r) => (await outcomesOf(r.idempotencyKey))[0]!))
    expect(statuses.map((o) => o.status)).toEqual(['failed', 'failed', 'circuit_open'])
    expect(statuses[2]).toMatchObject({ attempts: 0, escalatedTo: 'page' })
    expect(target.calls('/broken')).toHaveLength(6)
    const [page] = await outcomesOf(`${rs[2]!.idempotencyKey}>page`)
    expect(page!.status).toBe('succeeded')
  })

  it('a resolved notification cancels its request when it comes before the request started', async () => {
    const [o] = await outcomesOf('cancel01|2026-11-25T01:00:00.000Z|webhook|test')
    expect(o!.status).toBe('cancelled_resolved')
    expect(target.calls('/cancelled')).toHaveLength(0)
  })

  it('a pause is honoured (skipped_paused, escalated) and resume lifts it within seconds', async () => {
    target.on('/paused', 200).on('/pd', 202)
    const first = request({
      action: 'webhook',
      fingerprint: 'pause001',
      service: 'paused-svc',
      params: { url: `${target.url}/paused` },
    })
    await send(first)
    const [o] = await outcomesOf(first.idempotencyKey)
    expect(o).toMatchObject({ status: 'skipped_paused', escalatedTo: 'page' })
    expect(o!.detail).toContain('deploy freeze')
    expect(target.calls('/paused')).toHaveLength(0)

    await control(resumeRecord({ service: 'paused-svc' }, t.topics.control))
    const resumedAt = Date.now()
    let n = 0
    const ran = await waitFor('a request of paused-svc to run after resume', async () => {
      n += 1
      const r = request({
        action: 'webhook',
        fingerprint: `pause1${String(n).padStart(2, '0')}`,
        service: 'paused-svc',
        params: { url: `${target.url}/paused` },
      })
      await send(r)
      const [out] = await outcomesOf(r.idempotencyKey)
      return out!.status === 'succeeded' ? out : undefined
    })
    expect(ran.status).toBe('succeeded')
    expect(Date.now() - resumedAt).toBeLessThan(15000)
    expect(target.calls('/paused')).toHaveLength(1)
  })

  it('dry run (route flag) runs nothing and says what would have run', async () => {
    const r = request({
      action: 'webhook',
      fingerprint: 'dry00001',
      dryRun: true,
      params: { url: `${target.url}/dry`, method: 'PUT' },
    })
    await send(r)
    const [o] = await outcomesOf(r.idempotencyKey)
    expect(o).toMatchObject({ status: 'dry_run', dryRun: true, attempts: 0 })
    expect(o!.detail).toContain('PUT')
    expect(o!.detail).toContain('/dry')
    expect(target.calls('/dry')).toHaveLength(0)
  })

  it('a request delivered twice runs once: the second is skipped_duplicate', async () => {
    target.on('/twice', 200)
    const r = request({ action: 'webhook', fingerprint: 'dup00001', params: { url: `${target.url}/twice` } })
    await send(r, r)
    const found = await outcomesOf(r.idempotencyKey, 2)
    expect(found.map((o) => o.status).sort()).toEqual(['skipped_duplicate', 'succeeded'])
    await send(r)
    const later = await outcomesOf(r.idempotencyKey, 3)
    expect(later.map((o) => o.status).sort()).toEqual(['skipped_duplicate', 'skipped_duplicate', 'succeeded'])
    expect(target.calls('/twice')).toHaveLength(1)
  })

  it('fix did not hold: the same alert firing again within the window after a success gets not_effective', async () => {
    target.on('/fix', 200)
    const first = request({ action: 'webhook', fingerprint: 'fix00001', params: { url: `${target.url}/fix` } })
    await send(first)
    expect((await outcomesOf(first.idempotencyKey))[0]!.status).toBe('succeeded')
    const again = request({
      action: 'webhook',
      fingerprint: 'fix00001',
      startsAt: new Date(Date.now() + 1000).toISOString(),
      params: { url: `${target.url}/fix` },
    })
    await send(again)
    const follow = await outcomesOf(first.idempotencyKey, 2)
    expect(follow.map((o) => o.status)).toEqual(['succeeded', 'not_effective'])
    expect(follow[1]!.output.newIdempotencyKey).toBe(again.idempotencyKey)
    expect((await outcomesOf(again.idempotencyKey))[0]!.status).toBe('succeeded')
  })

  it('exec: hostile label values arrive as literal single arguments, never through a shell', async () => {
    const hostile = ['; rm -rf /', '$(id)', '`id`', 'a\nb\r\nc', '"quoted" \'single\' | & > /tmp/x', 'x'.repeat(20000)]
    const before = new Set(fs.readdirSync(callsDir))
    for (const [i, payload] of hostile.entries()) {
      const r = request({
        action: 'exec',
        fingerprint: `exec000${i}`,
        labels: { payload },
        params: { command: 'record-argv', extra: `$HOME ${payload.slice(0, 10)}` },
      })
      await send(r)
      const [o] = await outcomesOf(r.idempotencyKey)
      expect(o).toMatchObject({ status: 'succeeded', attempts: 1 })
      expect(o!.output.exitCode).toBe('0')
    }
    const files = fs.readdirSync(callsDir).filter((f) => !before.has(f))
    const argvs = files.map((f) => JSON.parse(fs.readFileSync(path.join(callsDir, f), 'utf8')) as string[])
    for (const payload of hostile) {
      expect(argvs).toContainEqual([payload, `$HOME ${payload.slice(0, 10)}`])
    }
  })

  it('exec: a command not on the allowlist fails for good without running anything', async () => {
    const r = request({ action: 'exec', fingerprint: 'exec0bad', service: 'exec-bad', params: { command: 'rm' } })
    await send(r)
    const [o] = await outcomesOf(r.idempotencyKey)
    expect(o).toMatchObject({ status: 'failed', attempts: 1 })
    expect(o!.detail).toContain('not allowlisted')
  })

  it('log-level: raises through the Spring actuator, then reverts by itself and records both steps', async () => {
    target.on('/actuator/loggers/com.shop', { status: 200, body: '{"configuredLevel":null,"effectiveLevel":"INFO"}' })
    const r = request({
      action: 'log-level',
      fingerprint: 'log00001',
      params: { url: `${target.url}/actuator/loggers`, logger: 'com.shop', level: 'debug', duration: '2s' },
    })
    await send(r)
    const [o] = await outcomesOf(r.idempotencyKey)
    expect(o).toMatchObject({ status: 'succeeded' })
    expect(o!.output.revertAt).toBeDefined()
    const [revert] = await outcomesOf(`${r.idempotencyKey}/revert`, 1, 30000)
    expect(revert).toMatchObject({ status: 'succeeded', action: 'log-level', service: 'checkout' })
    const posts = target
      .calls('/actuator/loggers/com.shop')
      .filter((c) => c.method === 'POST')
      .map((c) => JSON.parse(c.body) as unknown)
    expect(posts).toEqual([{ configuredLevel: 'DEBUG' }, { configuredLevel: null }])
  })

  it('log-level: a change whose answer was lost (502) is still reverted, even though the request failed', async () => {
    const state = { status: 200, body: '{"configuredLevel":"WARN","effectiveLevel":"WARN"}' }
    // Three attempts of GET then POST (each POST 502), then the revert's POST.
    target.on('/actuator/loggers/com.lost', state, 502, state, 502, state, 502, 204)
    const r = request({
      action: 'log-level',
      fingerprint: 'log00003',
      service: 'log-lost',
      params: { url: `${target.url}/actuator/loggers`, logger: 'com.lost', level: 'DEBUG', duration: '1s' },
    })
    await send(r)
    const [o] = await outcomesOf(r.idempotencyKey)
    expect(o).toMatchObject({ status: 'failed', attempts: 3, escalatedTo: 'page' })
    expect(o!.output.revertAt).toBeDefined()
    const [revert] = await outcomesOf(`${r.idempotencyKey}/revert`)
    expect(revert!.status).toBe('succeeded')
    const posts = target
      .calls('/actuator/loggers/com.lost')
      .filter((c) => c.method === 'POST')
      .map((c) => JSON.parse(c.body) as unknown)
    expect(posts).toEqual([
      { configuredLevel: 'DEBUG' },
      { configuredLevel: 'DEBUG' },
      { configuredLevel: 'DEBUG' },
      { configuredLevel: 'WARN' },
    ])
  })

  it('log-level: the target refusing the change is a final failure, escalated', async () => {
    target.on('/actuator/loggers/bad.logger', 400)
    const r = request({
      action: 'log-level',
      fingerprint: 'log00002',
      service: 'log-bad',
      params: { url: `${target.url}/actuator/loggers`, logger: 'bad.logger', level: 'DEBUG' },
    })
    await send(r)
    const [o] = await outcomesOf(r.idempotencyKey)
    expect(o).toMatchObject({ status: 'failed', escalatedTo: 'page' })
  })

  it('thread-dump: stores the actuator dump as an artifact referenced by the outcome; a failing endpoint fails', async () => {
    target.on('/actuator/threaddump', { status: 200, body: '"main" #1 prio=5\n   java.lang.Thread.State: RUNNABLE\n' })
    const r = request({
      action: 'thread-dump',
      fingerprint: 'tdump001',
      params: { url: `${target.url}/actuator/threaddump` },
    })
    await send(r)
    const [o] = await outcomesOf(r.idempotencyKey)
    expect(o).toMatchObject({ status: 'succeeded' })
    expect(o!.artifact).toMatch(/^thread-dumps\/checkout\//)
    expect(fs.readFileSync(path.join(dir, 'artifacts', o!.artifact!), 'utf8')).toContain(
      'java.lang.Thread.State: RUNNABLE',
    )

    target.on('/broken-dump', 500)
    const bad = request({
      action: 'thread-dump',
      fingerprint: 'tdump002',
      service: 'dump-bad',
      params: { url: `${target.url}/broken-dump` },
    })
    await send(bad)
    expect((await outcomesOf(bad.idempotencyKey))[0]).toMatchObject({ status: 'failed', artifact: null })
  })

  it('thread-dump: jcmd <pid> Thread.print of a real JVM, stored as an artifact', async () => {
    const source = path.join(dir, 'Sleeper.java')
    fs.writeFileSync(
      source,
      'public class Sleeper { public static void main(String[] a) throws Exception { System.out.println("ready"); Thread.sleep(120000); } }\n',
    )
    const jvm = spawn('java', ['-Xmx32m', source], { stdio: ['ignore', 'pipe', 'inherit'] })
    try {
      await new Promise<void>((resolve, reject) => {
        jvm.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve())
        jvm.once('exit', (code) => reject(new Error(`the JVM exited early (${code})`)))
      })
      const r = request({
        action: 'thread-dump',
        fingerprint: 'tdump003',
        service: 'jvm-svc',
        params: { pid: String(jvm.pid) },
      })
      await send(r)
      const [o] = await outcomesOf(r.idempotencyKey, 1, 60000)
      expect(o).toMatchObject({ status: 'succeeded', output: { source: 'jcmd', pid: String(jvm.pid) } })
      const dump = fs.readFileSync(path.join(dir, 'artifacts', o!.artifact!), 'utf8')
      expect(dump).toContain('Full thread dump')
      expect(dump).toContain('Sleeper.main')
    } finally {
      jvm.kill('SIGKILL')
    }
  }, 90000)

  it('page: a route-made page triggers, and its resolved notification resolves the incident', async () => {
    target.on('/pd', 202)
    const firing = request({ action: 'page', fingerprint: 'page0001', params: { summary: 'checkout is slow' } })
    await send(firing)
    expect((await outcomesOf(firing.idempotencyKey))[0]!.status).toBe('succeeded')
    const resolved = request({
      action: 'page',
      fingerprint: 'page0001',
      status: 'resolved',
      params: { summary: 'checkout is slow' },
    })
    await send(resolved)
    expect((await outcomesOf(`${resolved.idempotencyKey}#resolved`))[0]!.status).toBe('succeeded')
    const events = target.calls('/pd').map((c) => JSON.parse(c.body) as { event_action: string; dedup_key: string })
    const mine = events.filter((e) => e.dedup_key === 'nightshift/page0001/2026-11-25T01:00:00.000Z')
    expect(mine.map((e) => e.event_action)).toEqual(['trigger', 'resolve'])
  })

  it('page: a pager that fails is a failed outcome, not escalated to itself', async () => {
    target.on('/pd', 500)
    try {
      const r = request({ action: 'page', fingerprint: 'page0002', params: { summary: 'nobody hears this' } })
      await send(r)
      const [o] = await outcomesOf(r.idempotencyKey)
      expect(o).toMatchObject({ status: 'failed', attempts: 1, escalatedTo: null })
      expect(o!.output.httpStatus).toBe('500')
    } finally {
      target.on('/pd', 202)
    }
  })

  it('budget gate: an action for a service whose SLO budget is spent is gated and paged, not run', async () => {
    target.on('/gated', 200).on('/pd', 202)
    const r = request({
      action: 'webhook',
      fingerprint: 'gate0001',
      service: 'shop',
      slo: 'shop-gated',
      params: { url: `${target.url}/gated` },
    })
    await send(r)
    const [o] = await outcomesOf(r.idempotencyKey)
    expect(o).toMatchObject({ status: 'gated', attempts: 0, escalatedTo: 'page' })
    expect(o!.detail).toContain('error budget of SLO shop-gated is at -38.9% (gate: at least 25%)')
    expect(target.calls('/gated')).toHaveLength(0)
    const [page] = await outcomesOf(`${r.idempotencyKey}>page`)
    expect(page!.status).toBe('succeeded')
    // A route's gate (carried on the request) stops an action that has none of its own.
    const viaRoute = {
      ...request({
        action: 'exec',
        fingerprint: 'gate0003',
        service: 'shop',
        slo: 'shop-gated',
        params: { command: 'record-argv', extra: 'x' },
      }),
      gate: { minBudgetRemaining: null, maxBurnRate: 5, burnWindow: '3d' },
    }
    await send(viaRoute)
    const [routed] = await outcomesOf(viaRoute.idempotencyKey)
    expect(routed).toMatchObject({ status: 'gated', escalatedTo: 'page' })
    expect(routed!.detail).toContain('over 3d (gate: at most 5×)')
    // The same action for a service with budget left runs.
    const ok = request({
      action: 'webhook',
      fingerprint: 'gate0002',
      service: 'shop',
      slo: 'no-such-slo',
      params: { url: `${target.url}/gated` },
    })
    await send(ok)
    expect((await outcomesOf(ok.idempotencyKey))[0]!.status).toBe('succeeded')
  })

  it('caps: one request at a time against one service (perServiceConcurrency 1), several services at once', async () => {
    target.track('/cap/').track('/par/')
    const capped = [1, 2, 3].map((i) => {
      target.on(`/cap/${i}`, { status: 200, delayMs: 300 })
      return request({
        action: 'webhook',
        fingerprint: `cap0000${i}`,
        service: 'capped-svc',
        params: { url: `${target.url}/cap/${i}` },
      })
    })
    const parallel = [1, 2, 3].map((i) => {
      target.on(`/par/${i}`, { status: 200, delayMs: 300 })
      return request({
        action: 'webhook',
        fingerprint: `par0000${i}`,
        service: `par-svc-${i}`,
        params: { url: `${target.url}/par/${i}` },
      })
    })
    await send(...capped, ...parallel)
    for (const r of [...capped, ...parallel]) expect((await outcomesOf(r.idempotencyKey))[0]!.status).toBe('succeeded')
    expect(target.maxInFlight.get('/cap/')).toBe(1)
    expect(target.maxInFlight.get('/par/')).toBeGreaterThan(1)
  })

  it('a custom action (defineAction in the custom actions folder) runs like a built-in one', async () => {
    const r = request({ action: 'incident-note', fingerprint: 'note0001', params: { owner: 'payments' } })
    await send(r)
    const [o] = await outcomesOf(r.idempotencyKey)
    expect(o).toMatchObject({ status: 'succeeded', artifact: 'notes/note0001.md' })
    expect(fs.readFileSync(path.join(dir, 'artifacts', 'notes', 'note0001.md'), 'utf8')).toContain('- owner: payments')
  })

  it('every request got exactly one outcome of its own (duplicates and follow-ups aside)', async () => {
    const counts = new Map<string, number>()
    for (const o of await allOutcomes()) {
      if (o.status === 'skipped_duplicate' || o.status === 'not_effective') continue
      counts.set(o.idempotencyKey, (counts.get(o.idempotencyKey) ?? 0) + 1)
    }
    expect(counts.size).toBeGreaterThan(20)
    expect([...counts].filter(([, n]) => n > 1)).toEqual([])
  })
})
