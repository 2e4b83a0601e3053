/**
 * Pauses stop automation, not the human (issue 15), against the real broker and registry
 * and the real action workers, driven by the real CLI commands: a team pause skips the
 * team's webhook and still sends its page; a matcher pause skips only what it matches;
 * the history keeps who paused and who lifted; `nightshift run` runs a skipped request
 * once the pause is lifted, through the worker, audited — and twice runs once.
 */
import fs from 'node:fs'
import { Command } from 'commander'
import { buildApp, type App } from '../../src/app'
import { addPauseCommands } from '../../src/cli/pause'
import { manualRunKey, runSkippedRequest } from '../../src/cli/run'
import type { ActionOutcomeRecord, ActionRequestRecord } from '../../src/contracts/records'
import { RecordProducer, readTopic } from '../../src/kafka'
import { HttpTarget } from '../support/http-target'
import { collect, endpoints, kafkaSettings, testLogger, uniqueName, waitFor, type Collector } from '../support/kafka'
import { actionRequest, actionsConfigDir, runningActionsYaml, sendActionRequests } from '../support/actions'
import { provisionTopology, type TestTopology } from '../support/topology'

let t: TestTopology
let app: App
let target: HttpTarget
let dir: string
let outcomes: Collector
let producer: RecordProducer

const env = { ...process.env, USER: 'alice' }

/** `nightshift <args…> --prefix <prefix>` (pause, resume, pauses) in-process; what it printed. */
async function nightshift(args: string[]): Promise<string[]> {
  const out: string[] = []
  const program = new Command('nightshift').exitOverride()
  addPauseCommands(program, { print: (text) => out.push(...text.split('\n')), logger: testLogger, env })
  await program.parseAsync(['node', 'nightshift', ...args, '--prefix', t.prefix])
  return out
}

/** `nightshift run <fingerprint> --action <action> --by bob --reason …`; what it printed. */
async function runByHand(fingerprint: string, action: string): Promise<string[]> {
  const out: string[] = []
  await runSkippedRequest(
    fingerprint,
    { action: [action], by: 'bob', reason: 'the cleanup the freeze skipped', prefix: t.prefix, logLevel: 'info' },
    { print: (text) => out.push(...text.split('\n')), logger: testLogger, env },
  )
  return out
}

/** The outcomes read so far; `nightshift run` reads the topic to a barrier, whose records have no value. */
async function decoded(): Promise<ActionOutcomeRecord[]> {
  const values = outcomes.records.flatMap((r) => (r.value === null ? [] : [r.value]))
  return Promise.all(values.map(async (v) => (await t.registry.decode(v)) as ActionOutcomeRecord))
}

async function outcomesOf(key: string, count = 1): Promise<ActionOutcomeRecord[]> {
  return waitFor(
    `${count} outcome(s) of ${key}`,
    async () => {
      const mine = (await decoded()).filter((o) => o.idempotencyKey === key)
      return mine.length >= count ? mine : undefined
    },
    30000,
  )
}

/** A webhook and a page request for one alert, as a route with `continue` makes them. */
function alertRequests(fingerprint: string, labels: Record<string, string> = {}): ActionRequestRecord[] {
  return [
    actionRequest({ action: 'webhook', fingerprint, labels, params: { url: `${target.url}/hook/${fingerprint}` } }),
    actionRequest({ action: 'page', fingerprint, labels }),
  ]
}

/**
 * Waits until the workers' pause board has caught up with the control topic: a probe
 * request is skipped (`paused`), or is not (lifted).
 */
async function pauseInForce(fingerprint: string, labels: Record<string, string> = {}, paused = true): Promise<void> {
  let n = 0
  await waitFor(`the workers to see the pause ${paused ? 'set' : 'lifted'}`, async () => {
    n += 1
    const probe = actionRequest({
      action: 'webhook',
      fingerprint: `${fingerprint}-probe${n}`,
      labels,
      params: { url: `${target.url}/probe` },
    })
    await sendActionRequests(t, producer, [probe])
    const [o] = await outcomesOf(probe.idempotencyKey)
    return (o!.status === 'skipped_paused') === paused ? true : undefined
  })
}

beforeAll(async () => {
  t = await provisionTopology(uniqueName('pause-run'), 2)
  target = await new HttpTarget().start()
  dir = actionsConfigDir('pause-run', () => runningActionsYaml(target.url))
  producer = await RecordProducer.connect(kafkaSettings('test-pause-run-feed'))
  outcomes = await collect(t.topics.outcomes)
  app = buildApp({
    endpoints,
    logger: testLogger,
    stages: ['actions'],
    prefix: t.prefix,
    configDir: dir,
    configPollMs: 200,
    sessionTimeoutMs: 6000,
    env: { PATH: process.env.PATH },
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

describe('pauses stop automation, not the human (real broker, real workers)', () => {
  it('a team pause: the webhook is skipped_paused, the page is sent', async () => {
    target.on('/pd', 202)
    await nightshift(['pause', '--team', 'payments', '--for', '1h', '--reason', 'deploy freeze'])
    await pauseInForce('team01')

    const [webhook, page] = alertRequests('team01')
    await sendActionRequests(t, producer, [webhook!, page!])
    const [w] = await outcomesOf(webhook!.idempotencyKey)
    const [p] = await outcomesOf(page!.idempotencyKey)
    expect(w).toMatchObject({ status: 'skipped_paused', output: { pause: 'pause/team=payments' } })
    expect(p).toMatchObject({ status: 'succeeded', action: 'page' })
    expect(target.calls('/hook/team01')).toHaveLength(0)
    expect(target.calls('/pd').length).toBeGreaterThanOrEqual(1)
  })

  it('run refuses while the pause is in force, and for what was not skipped', async () => {
    await expect(runByHand('team01', 'webhook')).rejects.toThrow(/a pause still covers this request: team=payments/)
    await expect(runByHand('team01', 'page')).rejects.toThrow(/nothing to run: no request of page for team01/)
    await expect(runByHand('nosuch01', 'webhook')).rejects.toThrow(/nothing to run/)
  })

  it('resume records who lifted and why; pauses --all shows it', async () => {
    const out = await nightshift(['resume', '--team', 'payments', '--by', 'carol', '--reason', 'deploy done'])
    expect(out[0]).toMatch(/^lifted pause team=payments \(deploy freeze, by alice\), which had (1h|59m\d*s?) left$/)
    const all = (await nightshift(['pauses', '--all'])).join('\n')
    expect(all).toMatch(/team=payments: deploy freeze\n {2}paused by alice at \S+Z for 1h/)
    expect(all).toMatch(/ {2}lifted by carol at \S+Z, .* before its end: deploy done/)
    expect(await nightshift(['pauses'])).toEqual(['no active pauses'])
    await pauseInForce('team01', {}, false)
  })

  it('run after the lift: the worker runs it once, audited on the outcome and on the history', async () => {
    target.on('/hook/team01', 200)
    const [webhook] = alertRequests('team01')
    const key = manualRunKey(webhook!.idempotencyKey)
    const printed = await runByHand('team01', 'webhook')
    expect(printed[0]).toBe('requested webhook for team01 by hand (by bob: the cleanup the freeze skipped)')
    expect(printed.join('\n')).toContain(`new idempotency key ${key}`)
    const [o] = await outcomesOf(key)
    expect(o).toMatchObject({
      status: 'succeeded',
      action: 'webhook',
      output: { runBy: 'bob', runReason: 'the cleanup the freeze skipped', runOf: webhook!.idempotencyKey },
    })
    expect(o!.detail).toMatch(/^run by hand by bob \(the cleanup the freeze skipped\)/)
    expect(target.calls('/hook/team01')).toHaveLength(1)
    expect(target.calls('/hook/team01')[0]!.headers['idempotency-key']).toBe(key)

    const all = (await nightshift(['pauses', '--all'])).join('\n')
    expect(all).toContain(`run by hand: webhook for team01 by bob at`)
    expect(all).toContain(`(key ${key})`)
  })

  it('running `run` twice runs once: the command refuses, and a copy that gets through is a duplicate', async () => {
    const [webhook] = alertRequests('team01')
    const key = manualRunKey(webhook!.idempotencyKey)
    await expect(runByHand('team01', 'webhook')).rejects.toThrow(/already run by hand: .* ended succeeded/)
    // Two commands racing both get past that check: the worker's ledger stops the second.
    const [first] = await outcomesOf(key)
    const copy = {
      ...webhook!,
      idempotencyKey: key,
      manualRun: { by: 'bob', reason: 'again', at: Date.now(), of: webhook!.idempotencyKey },
    }
    await sendActionRequests(t, producer, [copy])
    const both = await outcomesOf(key, 2)
    expect(both.map((o) => o.status)).toEqual([first!.status, 'skipped_duplicate'])
    expect(target.calls('/hook/team01')).toHaveLength(1)
  })

  it('a matcher pause skips only the alerts it matches, and never their page', async () => {
    target.on('/pd', 202, 202, 202)
    await nightshift(['pause', '--matcher', 'alertname="DiskFull"', '--for', '10m', '--reason', 'disk cleanup'])
    const disk = { alertname: 'DiskFull' }
    await pauseInForce('disk01', disk)
    const [diskHook, diskPage] = alertRequests('disk01', disk)
    const [otherHook] = alertRequests('other01')
    target.on('/hook/other01', 200)
    await sendActionRequests(t, producer, [diskHook!, diskPage!, otherHook!])
    expect((await outcomesOf(diskHook!.idempotencyKey))[0]).toMatchObject({
      status: 'skipped_paused',
      output: { pause: 'pause/{alertname="DiskFull"}' },
    })
    expect((await outcomesOf(diskPage!.idempotencyKey))[0]!.status).toBe('succeeded')
    expect((await outcomesOf(otherHook!.idempotencyKey))[0]!.status).toBe('succeeded')
    expect(await nightshift(['resume', '--matcher', 'alertname="DiskFull"', '--reason', 'done'])).toEqual([
      expect.stringMatching(/^lifted pause \{alertname="DiskFull"\} \(disk cleanup, by alice\), which had .* left$/),
      expect.stringContaining('tombstone written to'),
    ])
    // The history topic holds every event, in order per pause.
    const events = (await readTopic(kafkaSettings(uniqueName('history')), t.topics.controlHistory)).map(
      (r) => (JSON.parse(r.value!.toString('utf8')) as { event: string }).event,
    )
    expect(events.sort()).toEqual(['lifted', 'lifted', 'paused', 'paused', 'ran'])
  })
})
