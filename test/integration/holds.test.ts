/**
 * Holds (issue 17) against the real broker and registry and the real action workers: a
 * wait cancelled by a resolve, a wait that runs when it ends, a restart in the middle of
 * a wait, approvals answered through the CLI (approve, deny, two answers, an answer while
 * every worker is down) and approvals nobody answered, with each onTimeout. The webhook
 * action hits an HTTP target, so "ran once" is counted where it lands.
 */
import fs from 'node:fs'
import { Command } from 'commander'
import { buildApp, type App } from '../../src/app'
import { answerRecord } from '../../src/actions/worker/approvals'
import { addApprovalCommands } from '../../src/cli/approvals'
import type { ActionOutcomeRecord, ActionRequestRecord, HoldRecord } from '../../src/contracts/records'
import { RecordProducer } from '../../src/kafka'
import { HttpTarget } from '../support/http-target'
import { collect, endpoints, kafkaSettings, testLogger, uniqueName, waitFor, type Collector } from '../support/kafka'
import {
  actionRequest,
  actionsConfigDir,
  runningActionsYaml,
  decodedOutcomes,
  sendActionRequests,
} from '../support/actions'
import { provisionTopology, type TestTopology } from '../support/topology'

let t: TestTopology
let app: App | undefined
let target: HttpTarget
let dir: string
let outcomes: Collector
let producer: RecordProducer

function startApp(): Promise<void> {
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
  return app.start()
}

async function stopApp(): Promise<void> {
  await app?.stop()
  app = undefined
}

/** A webhook request for `fingerprint` with the route's `hold`. */
function held(fingerprint: string, hold: HoldRecord): ActionRequestRecord {
  return {
    ...actionRequest({ action: 'webhook', fingerprint, params: { url: `${target.url}/hook/${fingerprint}` } }),
    hold,
  }
}

const resolvedOf = (r: ActionRequestRecord): ActionRequestRecord => ({
  ...r,
  alert: { ...r.alert, alert: { ...r.alert.alert, status: 'resolved' } },
})

/** Every outcome (events included) of `key` once `done` holds for them. */
async function outcomesOf(
  key: string,
  done: (mine: ActionOutcomeRecord[]) => boolean,
  timeoutMs = 30_000,
): Promise<ActionOutcomeRecord[]> {
  return waitFor(
    `the outcomes of ${key}`,
    async () => {
      const mine = (await decodedOutcomes(t, outcomes)).filter((o) => o.idempotencyKey === key)
      return done(mine) ? mine : undefined
    },
    timeoutMs,
  )
}

const has = (status: string) => (mine: ActionOutcomeRecord[]) => mine.some((o) => o.status === status)

/** `nightshift <args…> --prefix <prefix>` in-process, as `user`; what it printed. */
async function nightshift(args: string[], user = 'alice'): Promise<string[]> {
  const out: string[] = []
  const program = new Command('nightshift').exitOverride()
  addApprovalCommands(program, {
    print: (text) => out.push(...text.split('\n')),
    logger: testLogger,
    env: { ...process.env, USER: user },
  })
  await program.parseAsync(['node', 'nightshift', ...args, '--prefix', t.prefix])
  return out
}

/** `nightshift approve|deny <id> --by <by> --reason <reason>`. */
function answer(id: string, decision: 'approve' | 'deny', by: string, reason: string): Promise<string[]> {
  return nightshift([decision, id, '--by', by, '--reason', reason])
}

/** The approval id the awaiting_approval event of `key` names. */
async function approvalOf(key: string): Promise<string> {
  const mine = await outcomesOf(key, has('awaiting_approval'))
  return mine.find((o) => o.status === 'awaiting_approval')!.output.approval!
}

beforeAll(async () => {
  t = await provisionTopology(uniqueName('holds'), 2)
  target = await new HttpTarget().start()
  dir = actionsConfigDir('holds', () => runningActionsYaml(target.url))
  target.on('/pd', 202)
  producer = await RecordProducer.connect(kafkaSettings('test-holds-feed'))
  outcomes = await collect(t.topics.outcomes)
  await startApp()
}, 120_000)

afterAll(async () => {
  await stopApp()
  await outcomes?.stop()
  await producer?.disconnect()
  await target?.stop()
  await t?.cleanup()
  fs.rmSync(dir, { recursive: true, force: true })
}, 60_000)

describe('wait before acting (real broker, real workers)', () => {
  it('a resolve within the wait cancels the request: nothing runs', async () => {
    const fp = 'hold-resolve-01'
    const request = held(fp, { waitMs: 60_000, approval: null })
    target.on(`/hook/${fp}`, 200)
    await sendActionRequests(t, producer, [request])
    const [event] = await outcomesOf(request.idempotencyKey, has('held'))
    expect(event!.detail).toMatch(/waiting 1m .*cancelled if the alert resolves first/)
    await sendActionRequests(t, producer, [resolvedOf(request)])
    const mine = await outcomesOf(request.idempotencyKey, has('cancelled_resolved'))
    expect(mine.map((o) => o.status)).toEqual(['held', 'cancelled_resolved'])
    expect(mine[1]!.detail).toMatch(/resolved while the request was held/)
    expect(target.calls(`/hook/${fp}`)).toHaveLength(0)
  }, 60_000)

  it('a wait that ends with the alert still firing runs the action once', async () => {
    const fp = 'hold-expire-01'
    const request = held(fp, { waitMs: 2000, approval: null })
    target.on(`/hook/${fp}`, 200)
    const sent = Date.now()
    await sendActionRequests(t, producer, [request])
    const mine = await outcomesOf(request.idempotencyKey, has('succeeded'))
    expect(mine.map((o) => o.status)).toEqual(['held', 'succeeded'])
    expect(mine[1]!.finishedAt - sent).toBeGreaterThanOrEqual(2000)
    expect(target.calls(`/hook/${fp}`)).toHaveLength(1)
  }, 60_000)

  it('a restart in the middle of a wait resumes it: one run, one final outcome', async () => {
    const fp = 'hold-restart-01'
    const request = held(fp, { waitMs: 12_000, approval: null })
    target.on(`/hook/${fp}`, 200)
    const sent = Date.now()
    await sendActionRequests(t, producer, [request])
    await outcomesOf(request.idempotencyKey, has('held'))
    await stopApp()
    await startApp()
    const mine = await outcomesOf(request.idempotencyKey, has('succeeded'), 45_000)
    expect(mine.map((o) => o.status)).toEqual(['held', 'succeeded'])
    expect(mine[1]!.finishedAt - sent).toBeGreaterThanOrEqual(12_000)
    expect(target.calls(`/hook/${fp}`)).toHaveLength(1)
  }, 90_000)
})

describe('ask before acting (real broker, real workers)', () => {
  const ask = (onTimeout: 'page' | 'skip' | 'run', timeoutMs = 10 * 60_000): HoldRecord => ({
    waitMs: 0,
    approval: { timeoutMs, onTimeout },
  })

  it('announces once through page, then an approval runs it once and the outcome names the approver', async () => {
    const fp = 'ask-approve-01'
    const request = held(fp, ask('page'))
    target.on(`/hook/${fp}`, 200)
    await sendActionRequests(t, producer, [request])
    const id = await approvalOf(request.idempotencyKey)
    const announced = await waitFor('the announcement', () => target.calls('/pd').find((c) => c.body.includes(id)))
    expect(announced.body).toContain(`nightshift approve ${id}`)
    expect(target.calls(`/hook/${fp}`)).toHaveLength(0)
    expect((await nightshift(['approvals'])).join('\n')).toContain(id)
    await answer(id, 'approve', 'alice', 'checked the dashboard')
    const mine = await outcomesOf(request.idempotencyKey, has('succeeded'))
    expect(mine.map((o) => o.status)).toEqual(['awaiting_approval', 'succeeded'])
    expect(mine[1]!.output).toMatchObject({ approval: id, approvedBy: 'alice', answerReason: 'checked the dashboard' })
    expect(mine[1]!.detail).toMatch(/^approved by alice at .* \(cli\): checked the dashboard/)
    expect(target.calls(`/hook/${fp}`)).toHaveLength(1)
    expect(target.calls('/pd').filter((c) => c.body.includes(id))).toHaveLength(1)
  }, 60_000)

  it('a denial: nothing runs; a second answer changes nothing (the first wins)', async () => {
    const fp = 'ask-deny-01'
    const request = held(fp, ask('run'))
    target.on(`/hook/${fp}`, 200)
    await sendActionRequests(t, producer, [request])
    const id = await approvalOf(request.idempotencyKey)
    await answer(id, 'deny', 'bob', 'not during the sale')
    // The CLI refuses the second answer; one written past it (a race) changes nothing either.
    await expect(answer(id, 'approve', 'carol', 'looks fine to me')).rejects.toThrow(/already denied by bob/)
    await producer.send([
      answerRecord(
        { id, decision: 'approve', by: 'carol', reason: 'raced', at: Date.now(), via: 'http' },
        t.topics.control,
      ),
    ])
    const mine = await outcomesOf(request.idempotencyKey, has('denied'))
    expect(mine.find((o) => o.status === 'denied')!.output).toMatchObject({ deniedBy: 'bob' })
    // Give the late approval every chance to do harm.
    await new Promise((resolve) => setTimeout(resolve, 3000))
    const after = (await decodedOutcomes(t, outcomes)).filter((o) => o.idempotencyKey === request.idempotencyKey)
    expect(after.map((o) => o.status)).toEqual(['awaiting_approval', 'denied'])
    expect(target.calls(`/hook/${fp}`)).toHaveLength(0)
  }, 60_000)

  it.each([
    ['skip', 'approval_expired', 0, false],
    ['page', 'approval_expired', 0, true],
    ['run', 'succeeded', 1, false],
  ] as const)(
    'nobody answers, onTimeout %s: %s',
    async (onTimeout, status, runs, paged) => {
      const fp = `ask-timeout-${onTimeout}`
      const request = held(fp, ask(onTimeout, 2000))
      target.on(`/hook/${fp}`, 200)
      await sendActionRequests(t, producer, [request])
      const id = await approvalOf(request.idempotencyKey)
      const mine = await outcomesOf(request.idempotencyKey, has(status))
      const final = mine.find((o) => o.status === status)!
      expect(final.output.approval).toBe(id)
      expect(final.escalatedTo).toBe(paged ? 'page' : null)
      expect(target.calls(`/hook/${fp}`)).toHaveLength(runs)
    },
    60_000,
  )

  it('an answer given while every worker is down is acted on when one starts', async () => {
    const fp = 'ask-down-01'
    const request = held(fp, ask('skip'))
    target.on(`/hook/${fp}`, 200)
    await sendActionRequests(t, producer, [request])
    const id = await approvalOf(request.idempotencyKey)
    await stopApp()
    await answer(id, 'approve', 'dave', 'approved from the train')
    await startApp()
    const mine = await outcomesOf(request.idempotencyKey, has('succeeded'), 45_000)
    expect(mine.find((o) => o.status === 'succeeded')!.output.approvedBy).toBe('dave')
    expect(target.calls(`/hook/${fp}`)).toHaveLength(1)
  }, 90_000)

  it('a resolve while awaiting approval closes it as cancelled_resolved', async () => {
    const fp = 'ask-resolve-01'
    const request = held(fp, ask('run'))
    target.on(`/hook/${fp}`, 200)
    await sendActionRequests(t, producer, [request])
    await approvalOf(request.idempotencyKey)
    await sendActionRequests(t, producer, [resolvedOf(request)])
    const mine = await outcomesOf(request.idempotencyKey, has('cancelled_resolved'))
    expect(mine.map((o) => o.status)).toEqual(['awaiting_approval', 'cancelled_resolved'])
    expect(target.calls(`/hook/${fp}`)).toHaveLength(0)
  }, 60_000)
})
