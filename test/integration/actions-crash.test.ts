/**
 * Kill an action worker (a real `nightshift run --stage actions` process) with SIGKILL
 * while its handlers are calling the target, restart it, and count the target's calls:
 * nothing runs twice, and every request still gets exactly one outcome.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { ActionOutcomeRecord, ActionRequestRecord } from '../../src/contracts/records'
import { RecordProducer } from '../../src/kafka'
import { HttpTarget } from '../support/http-target'
import { collect, kafkaSettings, uniqueName, waitFor, type Collector } from '../support/kafka'
import { startNightshift, type NightshiftProcess } from '../support/nightshift-process'
import { actionRequest, actionsConfigDir, decodedOutcomes, sendActionRequests } from '../support/actions'
import { provisionTopology, type TestTopology } from '../support/topology'

const STARTS = '2026-11-25T02:00:00.000Z'

let t: TestTopology
let target: HttpTarget
let dir: string
let outcomes: Collector
let producer: RecordProducer
const workers: NightshiftProcess[] = []

function request(i: number, pathName: string): ActionRequestRecord {
  return actionRequest({
    action: 'webhook',
    fingerprint: `crash${String(i).padStart(3, '0')}`,
    startsAt: STARTS,
    service: `svc-${i}`,
    params: { url: `${target.url}${pathName}` },
  })
}

const send = (requests: ActionRequestRecord[]) => sendActionRequests(t, producer, requests)

async function outcomesOf(keys: string[]): Promise<Map<string, ActionOutcomeRecord[]>> {
  const byKey = new Map<string, ActionOutcomeRecord[]>(keys.map((k) => [k, []]))
  for (const o of await decodedOutcomes(t, outcomes)) byKey.get(o.idempotencyKey)?.push(o)
  return byKey
}

function startWorker(): NightshiftProcess {
  const worker = startNightshift(
    [
      'run',
      '--stage',
      'actions',
      '--action',
      'webhook',
      'page',
      'log-level',
      '--prefix',
      t.prefix,
      '--config-dir',
      dir,
    ],
    {
      NIGHTSHIFT_SESSION_TIMEOUT_MS: '6000',
    },
  )
  workers.push(worker)
  return worker
}

beforeAll(async () => {
  t = await provisionTopology(uniqueName('actions-crash'), 2)
  target = await new HttpTarget().start()
  dir = actionsConfigDir('crash', (d) => [
    'dryRun: false',
    `artifactsDir: ${JSON.stringify(path.join(d, 'artifacts'))}`,
    'defaults: { timeout: 10s, maxAttempts: 1, concurrency: 16, perServiceConcurrency: 1 }',
    'actions:',
    `  page: { escalateTo: null, onResolved: run, config: { kind: slack, url: "${target.url}/slack" } }`,
    '  webhook: {}',
    '  log-level: {}',
  ])
  producer = await RecordProducer.connect(kafkaSettings('test-crash-feed'))
  outcomes = await collect(t.topics.outcomes)
}, 60000)

afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL')
  await Promise.all(workers.map((w) => w.exited))
  await outcomes?.stop()
  await producer?.disconnect()
  await target?.stop()
  await t?.cleanup()
  fs.rmSync(dir, { recursive: true, force: true })
}, 60000)

it('SIGKILL mid-action, then restart: no action runs twice, each request has exactly one outcome', async () => {
  target.on('/slack', 200)
  // Done before the kill: must not run again after it.
  target.on('/done', 200)
  const done = request(0, '/done')
  // Still running at the kill: the target has their calls, the worker has no answer yet.
  const slow = [1, 2, 3, 4, 5, 6].map((i) => {
    target.on(`/slow/${i}`, { status: 200, delayMs: 3000 })
    return request(i, `/slow/${i}`)
  })

  const first = startWorker()
  await waitFor(
    'the first worker to start',
    () => (first.logs('action workers started').length > 0 ? true : undefined),
    60000,
  )
  await send([done])
  await waitFor('the first request to complete', async () =>
    (await outcomesOf([done.idempotencyKey])).get(done.idempotencyKey)!.length > 0 ? true : undefined,
  )
  await send(slow)
  await waitFor('every slow call to reach the target', () =>
    slow.every((_, i) => target.calls(`/slow/${i + 1}`).length === 1) ? true : undefined,
  )
  first.child.kill('SIGKILL')
  await first.exited

  const second = startWorker()
  await waitFor(
    'the second worker to start',
    () => (second.logs('action workers started').length > 0 ? true : undefined),
    60000,
  )
  const keys = [done, ...slow].map((r) => r.idempotencyKey)
  const settled = await waitFor(
    'an outcome for every request after the restart',
    async () => {
      const byKey = await outcomesOf(keys)
      return [...byKey.values()].every((list) => list.length >= 1) ? byKey : undefined
    },
    60000,
  )
  // Redelivered on purpose: the ledger knows them all.
  await send([done, ...slow])
  await waitFor('the redelivered requests to be skipped', async () => {
    const byKey = await outcomesOf(keys)
    return [...byKey.values()].every((list) => list.length >= 2) ? true : undefined
  })
  await new Promise((resolve) => setTimeout(resolve, 3500)) // any late re-run of a slow call would have landed by now

  expect(target.calls('/done')).toHaveLength(1)
  for (const i of [1, 2, 3, 4, 5, 6]) expect(target.calls(`/slow/${i}`)).toHaveLength(1)

  const byKey = await outcomesOf(keys)
  expect(byKey.get(done.idempotencyKey)!.map((o) => o.status)).toEqual(['succeeded', 'skipped_duplicate'])
  for (const r of slow) {
    const statuses = byKey.get(r.idempotencyKey)!.map((o) => o.status)
    // Each slow request: one outcome of its own (interrupted: failed, paged), then the skipped copy.
    expect(statuses).toEqual(['failed', 'skipped_duplicate'])
    const own = byKey.get(r.idempotencyKey)![0]!
    expect(own).toMatchObject({ escalatedTo: 'page', output: { interrupted: 'true' } })
  }
  expect(settled.size).toBe(7)
  // A human heard of each interrupted action.
  await waitFor('a page for every interrupted action', () =>
    target.calls('/slack').length >= slow.length ? true : undefined,
  )
  second.child.kill('SIGTERM')
  expect(await second.exited).toBe(0)
}, 180000)

it('a revert due when the worker dies runs after the restart (the ledger keeps it)', async () => {
  target.on(
    '/actuator/loggers/com.crash',
    { status: 200, body: '{"configuredLevel":"INFO","effectiveLevel":"INFO"}' },
    204,
    204,
  )
  const r = actionRequest({
    action: 'log-level',
    fingerprint: 'crashlog',
    startsAt: STARTS,
    params: { url: `${target.url}/actuator/loggers`, logger: 'com.crash', level: 'TRACE', duration: '8s' },
  })
  const first = startWorker()
  await waitFor(
    'the first worker to start',
    () => (first.logs('action workers started').length > 0 ? true : undefined),
    60000,
  )
  await send([r])
  await waitFor('the raise to succeed', async () =>
    (await outcomesOf([r.idempotencyKey])).get(r.idempotencyKey)!.length > 0 ? true : undefined,
  )
  first.child.kill('SIGKILL')
  await first.exited
  const posts = () =>
    target
      .calls('/actuator/loggers/com.crash')
      .filter((c) => c.method === 'POST')
      .map((c) => JSON.parse(c.body) as unknown)
  expect(posts()).toEqual([{ configuredLevel: 'TRACE' }])

  const second = startWorker()
  const revertKey = `${r.idempotencyKey}/revert`
  const done = await waitFor(
    'the revert outcome from the restarted worker',
    async () => (await outcomesOf([revertKey])).get(revertKey)!.at(0),
    60000,
  )
  expect(done.status).toBe('succeeded')
  expect(posts()).toEqual([{ configuredLevel: 'TRACE' }, { configuredLevel: 'INFO' }])
  second.child.kill('SIGTERM')
  expect(await second.exited).toBe(0)
}, 120000)
