/**
 * Reliability (issue 8): a storm of ≥ 100,000 alerts through the real webhook while the
 * Nightshift process (`nightshift run`: webhook, every stage, the action workers) is
 * killed with SIGKILL at random moments and restarted, and the broker is restarted once.
 * Then, counted from the topics and from the action target's own log:
 *
 * - every episode (fingerprint, startsAt) the webhook accepted firing became exactly one
 *   firing ActionRequest, and every accepted resolve exactly one resolved request;
 * - every firing request has exactly one final outcome;
 * - no action ran twice (the target's log), and none ran that was recorded as not run;
 * - nothing is left uncommitted: every stage's group has committed its whole input, no
 *   transaction is left open, and the DLQ is empty (no good record was dead-lettered).
 *
 * It runs on a stack of its own (test/reliability/stack.ts), so the broker restart
 * disturbs nothing else. `npm run test:reliability`; RELIABILITY_SEED replays a run
 * (printed at the end), RELIABILITY_EPISODES scales the storm (default 30,000 episodes,
 * ≈ 100,000 alerts; the ≥ 100,000 check applies to the default only).
 */
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import type { ActionOutcomeRecord, ActionRequestRecord, AlertRecord } from '../../src/contracts/records'
import { KafkaAdmin, readTopicToBarrier } from '../../src/kafka'
import { freePort } from '../../src/demo/observability'
import { restartKafka } from '../../src/stack/local-stack'
import { SUPERSEDED_BY } from '../../src/stages/dedup/stage'
import { createLogger } from '../../src/log'
import { collect, kafkaSettings, uniqueName, waitFor, type Collector } from '../support/kafka'
import { startNightshift, type NightshiftProcess } from '../support/nightshift-process'
import { provisionTopology, type TestTopology } from '../support/topology'
import { ActionTarget } from './action-target'
import { reliabilityStack } from './stack'
import { episodeKey, planStorm, seeded, stormCatalog, type StormPlan } from './storm'

const ROOT = path.resolve(__dirname, '..', '..')
const SEED = Number(process.env.RELIABILITY_SEED ?? Date.now() % 2 ** 31)
const EPISODES = Number(process.env.RELIABILITY_EPISODES ?? 30_000)
const KILLS = 5
const CONCURRENCY = 16
/** A body not accepted within this (retrying all along) fails the suite. */
const BODY_DEADLINE_MS = 240_000
/** How long after the storm every request may take to get its outcome. */
const DRAIN_MS = 600_000
/** The stage groups and their inputs: all must have committed everything. */
const GROUPS: Array<{ group: string; topic: string }> = [
  { group: 'nightshift-dedup', topic: 'alerts.raw' },
  { group: 'nightshift-enrich', topic: 'alerts.deduped' },
  { group: 'nightshift-ratelimit', topic: 'alerts.enriched' },
  { group: 'nightshift-route', topic: 'alerts.admitted' },
  { group: 'nightshift-action-webhook', topic: 'actions.webhook' },
  { group: 'nightshift-action-page', topic: 'actions.page' },
  { group: 'nightshift-slo-index-alerts', topic: 'alerts.deduped' },
  { group: 'nightshift-slo-index-outcomes', topic: 'actions.outcomes' },
  { group: 'nightshift-slo', topic: 'slo.events' },
]
/** Outcomes that end a request (not_effective is a later note on a request that succeeded). */
const FINAL = new Set(['succeeded', 'cancelled_resolved', 'failed', 'circuit_open', 'timed_out'])

const log = createLogger({ level: process.env.LOG_LEVEL ?? 'info' }).child({ module: 'reliability' })

let t: TestTopology
let target: ActionTarget
let dir: string
let plan: StormPlan
const collectors: Collector[] = []
const processes: NightshiftProcess[] = []
let supervisor: Supervisor | undefined

/** The suite's config folder: its catalog of many teams, limits that admit the storm, one route to the target. */
function writeConfig(into: string, targetUrl: string): void {
  fs.copyFileSync(path.join(ROOT, 'topology', 'topics.yaml'), path.join(into, 'topics.yaml'))
  fs.writeFileSync(path.join(into, 'catalog.yaml'), stormCatalog())
  // Every level limited (so the buckets are kept and changelogged) far above the storm's rate:
  // the invariant is one request per episode, so nothing may be throttled.
  fs.writeFileSync(
    path.join(into, 'limits.yaml'),
    [
      'key: "{team}/{service}/{alertname}"',
      'defaults:',
      ...['alert', 'service', 'team', 'global'].map((l) => `  ${l}: { rate: 1000000/1s, burst: 1000000 }`),
      '',
    ].join('\n'),
  )
  fs.writeFileSync(
    path.join(into, 'routes.yaml'),
    [
      'route:',
      '  name: root',
      '  routes:',
      '    - name: storm',
      '      matchers: [\'alertname=~".+"\']',
      '      action: webhook',
      '      params:',
      `        url: "${targetUrl}/act/{{ fingerprint }}"`,
      '',
    ].join('\n'),
  )
  fs.writeFileSync(
    path.join(into, 'actions.yaml'),
    [
      'dryRun: false',
      `artifactsDir: ${JSON.stringify(path.join(into, 'artifacts'))}`,
      // One attempt: a retry would be a second call the target counts. A high circuit
      // threshold: interrupted actions are failures, and the suite wants every request run.
      'defaults: { timeout: 10s, maxAttempts: 1, concurrency: 64, perServiceConcurrency: 64, circuit: { failures: 100000 } }',
      'actions:',
      `  page: { escalateTo: null, onResolved: run, config: { kind: slack, url: "${targetUrl}/page" } }`,
      '  webhook: {}',
      '',
    ].join('\n'),
  )
  fs.writeFileSync(
    path.join(into, 'slos.yaml'),
    [
      'slos:',
      ...[0, 1, 2].flatMap((team) => [
        `  - name: svc-0${team}-a-availability`,
        `    service: svc-0${team}-a`,
        `    team: team-0${team}`,
        '    objective: 0.999',
        '    indicator:',
        '      matchers:',
        `        - service="svc-0${team}-a"`,
      ]),
      '',
    ].join('\n'),
  )
}

/** The Nightshift process under test, restarted after every kill. */
class Supervisor {
  current: NightshiftProcess | undefined
  starts = 0
  /** Exits the suite did not cause. */
  unexpectedExits: Array<{ code: number | null; tail: string[] }> = []
  private killing = false
  private stopped = false

  constructor(private readonly args: string[]) {}

  start(): NightshiftProcess {
    const p = startNightshift(this.args, { NIGHTSHIFT_SESSION_TIMEOUT_MS: '6000', LOG_LEVEL: 'info' })
    this.starts += 1
    this.current = p
    processes.push(p)
    void p.exited.then((code) => {
      if (this.killing || this.current !== p || this.stopped) return
      // Like systemd's Restart=always (up to a crash loop); the suite reports it.
      this.unexpectedExits.push({ code, tail: p.lines.slice(-20) })
      log.error({ code, tail: p.lines.slice(-20) }, 'the Nightshift process exited on its own; restarting it')
      if (this.unexpectedExits.length < 10) this.start()
    })
    return p
  }

  async ready(timeoutMs = 120_000): Promise<void> {
    await waitFor(
      'the Nightshift process to be ready',
      () => (this.current && this.current.logs('nightshift ready').length > 0 ? true : undefined),
      timeoutMs,
    )
  }

  async kill(): Promise<void> {
    const p = this.current!
    this.killing = true
    p.child.kill('SIGKILL')
    await p.exited
    this.killing = false
    this.start()
  }

  /** No more restarts: the suite is ending. */
  halt(): void {
    this.stopped = true
  }

  async stop(): Promise<number | null> {
    this.halt()
    const p = this.current!
    p.child.kill('SIGTERM')
    return p.exited
  }
}

/** POSTs one body until the webhook accepts it; a 4xx is a bug in the storm or the webhook. */
async function deliver(url: URL, agent: http.Agent, body: Buffer, stats: { retries: number }): Promise<void> {
  const deadline = Date.now() + BODY_DEADLINE_MS
  for (let attempt = 0; ; attempt++) {
    const status = await new Promise<number>((resolve) => {
      const req = http.request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': body.length },
        },
        (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode ?? 0))
          res.on('error', () => resolve(0))
        },
      )
      req.on('error', () => resolve(0))
      req.setTimeout(15_000, () => req.destroy())
      req.end(body)
    })
    if (status >= 200 && status < 300) return
    if (status >= 400 && status < 500) throw new Error(`the webhook refused a storm body with ${status}`)
    if (Date.now() > deadline)
      throw new Error(`a storm body was not accepted within ${BODY_DEADLINE_MS} ms (last answer ${status || 'none'})`)
    stats.retries += 1
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(2000, 100 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2)),
    )
  }
}

/** Decodes a collector's records as they come, keeping its place. */
function decoder<T>(c: Collector): () => Promise<T[]> {
  const decoded: T[] = []
  return async () => {
    const fresh = c.records.slice(decoded.length)
    for (const r of fresh) decoded.push((await t.registry.decode(r.value!)) as T)
    return decoded
  }
}

beforeAll(async () => {
  plan = planStorm({
    seed: SEED,
    episodes: EPISODES,
    waves: 40,
    resendsPerEpisode: 2,
    resolvesPerEpisode: 0.4,
    refireShare: 0.1,
    baseTime: Date.now() - 2 * 3_600_000,
    stepMs: 200,
  })
  log.info(
    { seed: SEED, alerts: plan.alerts, bodies: plan.bodies, episodes: plan.episodes.size },
    'storm planned (RELIABILITY_SEED replays it)',
  )
  t = await provisionTopology(uniqueName('reliability'))
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ns-reliability-'))
  target = await new ActionTarget(path.join(dir, 'target-calls.jsonl')).start()
  writeConfig(dir, target.url)
}, 120_000)

afterAll(async () => {
  supervisor?.halt()
  for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL')
  await Promise.all(processes.map((p) => p.exited))
  // Each process's log, for whoever reads a failure (test/artifacts/ is not committed).
  const logs = path.join(ROOT, 'test', 'artifacts', 'reliability')
  fs.rmSync(logs, { recursive: true, force: true })
  fs.mkdirSync(logs, { recursive: true })
  for (const [i, p] of processes.entries())
    fs.writeFileSync(path.join(logs, `nightshift-${i + 1}.log`), `${p.lines.join('\n')}\n`)
  // On CI only the output is kept: the processes' last error lines go there too.
  const errorLines = processes.flatMap((p, i) =>
    p.lines.filter((l) => l.startsWith('{"level":50')).map((l) => `[${i + 1}] ${l.slice(0, 400)}`),
  )
  process.stdout.write(
    `\nreliability: ${errorLines.length} error lines logged by the Nightshift processes (all in test/artifacts/reliability/); the last 15:\n${errorLines.slice(-15).join('\n')}\n`,
  )
  await Promise.all(collectors.map((c) => c.stop()))
  await target?.stop()
  await t?.cleanup().catch(() => undefined)
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
}, 120_000)

it('a storm through SIGKILLs and a broker restart: one request and one outcome per episode, no action twice, nothing uncommitted', async () => {
  const started = Date.now()
  const port = await freePort()
  const webhook = new URL(`http://127.0.0.1:${port}/webhook/alertmanager`)
  supervisor = new Supervisor(['run', '--prefix', t.prefix, '--config-dir', dir, '--http-port', String(port)])
  supervisor.start()
  await supervisor.ready()

  // Chaos, at random waves and random points inside them: five kills and one broker restart.
  const random = seeded(SEED + 1)
  const waves = plan.waves.length
  const slots = new Set<number>()
  while (slots.size < KILLS + 1) slots.add(2 + Math.floor(random() * (waves - 6)))
  const chaosWaves = [...slots].sort((a, b) => a - b)
  const brokerAt = chaosWaves[1 + Math.floor(random() * (KILLS - 1))]!
  const events: string[] = []
  const downtime: number[] = []

  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  const stats = { retries: 0, accepted: 0 }
  for (let w = 0; w < waves; w++) {
    const wave = plan.waves[w]!
    const bodies = wave.bodies.map((b) => Buffer.from(JSON.stringify(b)))
    let acceptedInWave = 0
    let next = 0
    const sender = async () => {
      while (next < bodies.length) {
        const i = next++
        await deliver(webhook, agent, bodies[i]!, stats)
        acceptedInWave += 1
        stats.accepted += wave.alerts[i]!.length
      }
    }
    const sending = Promise.all(Array.from({ length: CONCURRENCY }, sender))
    if (chaosWaves.includes(w)) {
      const at = Math.floor((0.1 + random() * 0.7) * bodies.length)
      await waitFor(`wave ${w} to reach body ${at}`, () => (acceptedInWave >= at ? true : undefined), BODY_DEADLINE_MS)
      const down = Date.now()
      if (w === brokerAt) {
        events.push(`wave ${w}: broker restart at body ${at}/${bodies.length}`)
        log.info({ wave: w, at }, 'restarting the broker')
        await restartKafka(reliabilityStack(), log)
      } else {
        await supervisor.ready()
        events.push(`wave ${w}: SIGKILL at body ${at}/${bodies.length}`)
        log.info({ wave: w, at }, 'SIGKILL')
        await supervisor.kill()
        await supervisor.ready()
      }
      downtime.push(Date.now() - down)
    }
    await sending
  }
  agent.destroy()
  const stormMs = Date.now() - started
  log.info({ alerts: stats.accepted, retries: stats.retries, stormMs, events }, 'storm sent')
  expect(stats.accepted).toBe(plan.alerts)
  if (!process.env.RELIABILITY_EPISODES) expect(plan.alerts).toBeGreaterThanOrEqual(100_000)

  // Wait, following the topics as they fill, until everything expected is there (or give
  // up after DRAIN_MS and let the counts below say what is missing).
  const [requestsIn, outcomesIn] = await Promise.all([
    collect(`${t.prefix}actions.webhook`),
    collect(t.topics.outcomes),
  ])
  collectors.push(requestsIn, outcomesIn)
  const following = {
    requests: decoder<ActionRequestRecord>(requestsIn),
    outcomes: decoder<ActionOutcomeRecord>(outcomesIn),
  }
  await waitFor(
    'a firing request and a final outcome for every episode, a resolved request for every resolve',
    async () => {
      const seen = await following.requests()
      const firing = new Set(seen.filter((r) => r.alert.alert.status === 'firing').map((r) => r.idempotencyKey))
      const resolved = new Set(seen.filter((r) => r.alert.alert.status === 'resolved').map((r) => r.idempotencyKey))
      if (firing.size < plan.episodes.size || resolved.size < plan.resolved.size) return undefined
      const done = new Set(
        (await following.outcomes())
          .filter((o) => o.action === 'webhook' && FINAL.has(o.status))
          .map((o) => o.idempotencyKey),
      )
      for (const k of firing) if (!done.has(k)) return undefined
      return true
    },
    DRAIN_MS,
    1000,
  ).catch((err: unknown) => log.error({ err: String(err) }, 'not everything arrived; counting what did'))
  await waitForGroupsCaughtUp()
  const drainMs = Date.now() - started - stormMs

  // The verdict reads each topic whole, to a barrier appended now: nothing still in flight is missed.
  const read = async <T>(topic: string) =>
    Promise.all(
      (await readTopicToBarrier(kafkaSettings('reliability-read'), topic, { timeoutMs: 120_000 })).map(
        async (r) => (await t.registry.decode(r.value!)) as T,
      ),
    )
  const all = await read<ActionRequestRecord>(`${t.prefix}actions.webhook`)
  const outcomes = await read<ActionOutcomeRecord>(t.topics.outcomes)

  // 1. One firing request per accepted episode, one resolved request per accepted resolve.
  // An episode a newer one of its fingerprint superseded before its resolve arrived (the
  // storm's bodies are delivered out of order through kills) is closed by dedup itself
  // (closedBy nightshift, docs/episodes.md): counted apart, and only allowed then.
  const perEpisode = new Map<string, { firing: ActionRequestRecord[]; resolved: number; superseded: number }>()
  for (const r of all) {
    const key = episodeKey(r.alert.alert.fingerprint, r.alert.alert.startsAt)
    const entry = perEpisode.get(key) ?? { firing: [], resolved: 0, superseded: 0 }
    if (r.alert.alert.status === 'firing') entry.firing.push(r)
    else if (r.alert.alert.closedBy?.by === SUPERSEDED_BY) entry.superseded += 1
    else entry.resolved += 1
    perEpisode.set(key, entry)
  }
  const startsOf = new Map<string, number[]>()
  for (const e of plan.episodes) {
    const [fp, startsAt] = e.split('|') as [string, string]
    startsOf.set(fp, [...(startsOf.get(fp) ?? []), Date.parse(startsAt)])
  }
  const hasNewer = (e: string) => {
    const [fp, startsAt] = e.split('|') as [string, string]
    return (startsOf.get(fp) ?? []).some((s) => s > Date.parse(startsAt))
  }
  const count = (e: string) =>
    `${e}: ${perEpisode.get(e)?.firing.length ?? 0} firing, ${perEpisode.get(e)?.resolved ?? 0} resolved`
  const wrongFiring = [...plan.episodes].filter((e) => perEpisode.get(e)?.firing.length !== 1).map(count)
  const strangers = [...perEpisode.keys()].filter((e) => !plan.episodes.has(e)).map(count)
  const wrongResolved = [...plan.episodes]
    .filter((e) => {
      const { resolved = 0, superseded = 0 } = perEpisode.get(e) ?? {}
      if (superseded > 1 || (superseded === 1 && !hasNewer(e))) return true
      // Superseded first, its own resolve then dropped as late; or resolved as sent.
      return resolved + superseded !== (plan.resolved.has(e) ? 1 : superseded)
    })
    .map((e) => `${count(e)}, ${perEpisode.get(e)?.superseded ?? 0} superseded, resolve sent: ${plan.resolved.has(e)}`)
  expect({
    wrongFiring: wrongFiring.slice(0, 5),
    strangers: strangers.slice(0, 5),
    wrongResolved: wrongResolved.slice(0, 5),
  }).toEqual({ wrongFiring: [], strangers: [], wrongResolved: [] })

  // 2. Exactly one final outcome per firing request.
  const keyOf = new Map([...perEpisode.values()].map((e) => [e.firing[0]!.idempotencyKey, e]))
  const finals = new Map<string, ActionOutcomeRecord[]>()
  const statusCount: Record<string, number> = {}
  for (const o of outcomes) {
    if (o.action !== 'webhook') continue
    statusCount[o.status] = (statusCount[o.status] ?? 0) + 1
    if (!FINAL.has(o.status)) continue
    finals.set(o.idempotencyKey, [...(finals.get(o.idempotencyKey) ?? []), o])
  }
  const notOne = [...keyOf.keys()].filter((k) => finals.get(k)?.length !== 1)
  expect(notOne.slice(0, 5)).toEqual([])
  expect([...finals.keys()].filter((k) => !keyOf.has(k))).toEqual([])
  // Failures are only the interrupted ones (a worker killed mid-action), and a human was paged for each.
  const failed = [...finals.values()]
    .map((l) => l[0]!)
    .filter((o) => o.status !== 'succeeded' && o.status !== 'cancelled_resolved')
  expect(
    failed
      .filter((o) => o.status !== 'failed' || o.output.interrupted !== 'true')
      .map((o) => `${o.status}: ${o.detail}`),
  ).toEqual([])
  expect(failed.filter((o) => o.escalatedTo !== 'page')).toEqual([])

  // 3. The target's own log: nothing ran twice; what ran is what the outcomes say.
  const calls = (await target.calls()).filter((c) => c.path.startsWith('/act/'))
  const callsPerKey = new Map<string, number>()
  for (const c of calls) callsPerKey.set(c.key, (callsPerKey.get(c.key) ?? 0) + 1)
  const twice = [...callsPerKey].filter(([, n]) => n > 1)
  expect(twice.slice(0, 5)).toEqual([])
  const statusOf = (k: string) => finals.get(k)![0]!.status
  expect([...keyOf.keys()].filter((k) => statusOf(k) === 'succeeded' && callsPerKey.get(k) !== 1).slice(0, 5)).toEqual(
    [],
  )
  expect(
    [...callsPerKey.keys()].filter((k) => !keyOf.has(k) || statusOf(k) === 'cancelled_resolved').slice(0, 5),
  ).toEqual([])

  // 4. Nothing uncommitted, nothing dead-lettered.
  await expectNoOpenTransactions()
  expect((await readTopicToBarrier(kafkaSettings('reliability-read'), t.topics.dlq)).map((r) => r.headers)).toEqual([])
  const raw = new Set((await read<AlertRecord>(t.topics.raw)).map((a) => episodeKey(a.fingerprint, a.startsAt)))
  expect([...plan.episodes].filter((e) => !raw.has(e)).slice(0, 5)).toEqual([])

  // The process still stops cleanly after all that.
  expect(await supervisor.stop()).toBe(0)
  expect(supervisor.unexpectedExits.map((e) => e.tail.join('\n'))).toEqual([])

  const interrupted = failed.length
  // Errors the processes logged, by message: what an operator would have seen.
  const errors: Record<string, number> = {}
  for (const p of processes)
    for (const line of p.lines) {
      if (!line.startsWith('{"level":50')) continue
      const msg = (JSON.parse(line) as { msg?: string }).msg ?? '?'
      errors[msg] = (errors[msg] ?? 0) + 1
    }
  const report = {
    seed: SEED,
    alerts: plan.alerts,
    bodies: plan.bodies,
    episodes: plan.episodes.size,
    resolves: plan.resolved.size,
    retriedBodies: stats.retries,
    events,
    downtimeMs: downtime,
    processStarts: supervisor.starts,
    outcomes: statusCount,
    interrupted,
    targetCalls: calls.length,
    errorsLogged: errors,
    stormS: Math.round(stormMs / 1000),
    drainS: Math.round(drainMs / 1000),
  }
  process.stdout.write(`\nreliability: ${JSON.stringify(report, null, 2)}\n`)
}, 3_600_000)

async function waitForGroupsCaughtUp(): Promise<void> {
  const admin = await KafkaAdmin.connect(kafkaSettings('reliability-caught-up'))
  let behind: string[] = []
  try {
    await waitFor(
      'every stage group to commit its whole input',
      async () => {
        behind = []
        for (const { group, topic } of GROUPS) {
          const [committed, ends] = await Promise.all([
            admin.committedOffsets(`${t.prefix}${group}`, `${t.prefix}${topic}`),
            admin.endOffsets(`${t.prefix}${topic}`),
          ])
          // Input topics other than alerts.raw are written in transactions: their last
          // offset is a commit marker, which is never delivered.
          const marker = topic === 'alerts.raw' ? 0n : 1n
          let lag = 0n
          for (const [partition, end] of ends) {
            if (end === '0') continue
            const gap = BigInt(end) - marker - BigInt(committed.get(partition) ?? '0')
            if (gap > 0n) lag += gap
          }
          if (lag > 0n) behind.push(`${group}: ${lag} behind on ${topic}`)
        }
        return behind.length === 0 ? true : undefined
      },
      120_000,
      1000,
    )
  } catch (err) {
    throw new Error(`${String(err)}: ${behind.join('; ')}`)
  } finally {
    await admin.disconnect()
  }
}

/** Every topic's last stable offset is its end offset: no transaction was left open. */
async function expectNoOpenTransactions(): Promise<void> {
  const admin = await KafkaAdmin.connect(kafkaSettings('reliability-open-transactions'))
  try {
    const topics = (await admin.listTopics()).filter((n) => n.startsWith(t.prefix))
    const open: string[] = []
    for (const topic of topics) {
      const [stable, ends] = await Promise.all([admin.stableOffsets(topic), admin.endOffsets(topic)])
      for (const [partition, end] of ends)
        if (stable.get(partition) !== end)
          open.push(`${topic}[${partition}] stable ${stable.get(partition)} end ${end}`)
    }
    expect(open).toEqual([])
  } finally {
    await admin.disconnect()
  }
}
