/**
 * Answers to approvals through the CLI, the HTTP API and the Slack callback, against the
 * real broker and registry. A pending approval is simulated by writing the `held` ledger
 * entry the action worker writes when it asks (no worker runs here): what is checked is
 * what reaches nightshift.control and nightshift.control-history, and what is refused.
 */
import { Command } from 'commander'
import { buildApp, type App } from '../../src/app'
import { approvalId } from '../../src/actions/worker/approvals'
import { addApprovalCommands } from '../../src/cli/approvals'
import type { LedgerEntry } from '../../src/contracts/records'
import { NightshiftError } from '../../src/errors'
import { registerApprovalRoutes } from '../../src/http/approvals'
import { addressOf, buildOpsServer } from '../../src/http/ops'
import { slackSignature } from '../../src/http/slack'
import { RecordProducer, readTopic, type InRecord } from '../../src/kafka'
import { valueSubject } from '../../src/topology/names'
import { endpoints, kafkaSettings, testLogger, uniqueName } from '../support/kafka'
import { enrichedAlertRecord } from '../support/records'
import { provisionTopology, schemas, type TestTopology } from '../support/topology'

const M = 60_000
const TOKEN = 'operator-token-for-tests'
const SIGNING_SECRET = 'slack-signing-secret-for-tests'

/** Ledger keys of the requests this file holds, and their approval ids. */
const KEYS = {
  cli: 'req-cli',
  http: 'req-http',
  slack: 'req-slack',
  closed: 'req-closed',
  refused: 'req-refused',
  operator: 'req-operator',
}
const ID = Object.fromEntries(Object.entries(KEYS).map(([k, v]) => [k, approvalId(v)])) as Record<
  keyof typeof KEYS,
  string
>
const UNKNOWN_ID = approvalId('never-held')

let t: TestTopology
let app: App
const started = Date.now()

/** Runs `nightshift <args…> --prefix <prefix>` in-process, as alice on host1; returns what it printed. */
async function nightshift(args: string[]): Promise<string[]> {
  const out: string[] = []
  const program = new Command('nightshift').exitOverride()
  addApprovalCommands(program, {
    print: (text) => out.push(...text.split('\n')),
    logger: testLogger,
    env: { ...process.env, USER: 'alice' },
    host: 'host1',
  })
  await program.parseAsync(['node', 'nightshift', ...args, '--prefix', t.prefix])
  return out
}

function heldEntry(key: string, at: number, overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  const alert = enrichedAlertRecord({ alert: { labels: { alertname: 'HighLatency' } } })
  return {
    kind: 'held',
    idempotencyKey: key,
    action: 'restart',
    fingerprint: alert.alert.fingerprint,
    startsAt: alert.alert.startsAt,
    route: 'payments/restart',
    team: 'payments',
    service: 'checkout',
    at,
    status: null,
    attempts: 0,
    revertAt: null,
    params: {},
    holdUntil: null,
    approvalId: approvalId(key),
    approvalTimeoutAt: at + 30 * M,
    request: JSON.stringify({
      idempotencyKey: key,
      action: 'restart',
      route: 'payments/restart',
      params: { deployment: 'checkout' },
      dryRun: false,
      requestedAt: at,
      alert,
    }),
    ...overrides,
  }
}

/** The answers on the control topic now, by key, as JSON. */
async function controlAnswers(): Promise<Array<{ key: string; value: Record<string, unknown> }>> {
  return decoded(await readTopic(kafkaSettings(uniqueName('read-control')), t.topics.control))
}

async function historyEvents(): Promise<Array<{ key: string; value: Record<string, unknown> }>> {
  return decoded(await readTopic(kafkaSettings(uniqueName('read-history')), t.topics.controlHistory))
}

function decoded(records: InRecord[]): Array<{ key: string; value: Record<string, unknown> }> {
  return records.map((r) => ({
    key: r.key!.toString('utf8'),
    value: JSON.parse(r.value!.toString('utf8')) as Record<string, unknown>,
  }))
}

beforeAll(async () => {
  t = await provisionTopology(`${uniqueName('approvals')}.`)
  const id = await t.registry.idOf(valueSubject(t.topics.ledger), schemas.resolve('LedgerEntry'))
  const entries: Array<[string, LedgerEntry]> = [
    [KEYS.cli, heldEntry(KEYS.cli, started - 20 * M)],
    [KEYS.http, heldEntry(KEYS.http, started - 10 * M)],
    [KEYS.slack, heldEntry(KEYS.slack, started - 5 * M)],
    [KEYS.refused, heldEntry(KEYS.refused, started - 4 * M)],
    [KEYS.operator, heldEntry(KEYS.operator, started - 3 * M)],
    // Held, then the alert resolved: the worker closed it.
    [KEYS.closed, heldEntry(KEYS.closed, started - 30 * M)],
    [
      KEYS.closed,
      heldEntry(KEYS.closed, started - 2 * M, { kind: 'completed', status: 'cancelled_resolved', approvalId: null }),
    ],
  ]
  const producer = await RecordProducer.connect(kafkaSettings('test-approvals-ledger'))
  try {
    for (const [key, entry] of entries)
      await producer.send([{ topic: t.topics.ledger, key, value: await t.registry.encode(id, entry) }])
  } finally {
    await producer.disconnect()
  }
  app = buildApp({
    endpoints,
    logger: testLogger,
    stages: ['ingest'],
    prefix: t.prefix,
    http: { host: '127.0.0.1', port: 0 },
    env: { NIGHTSHIFT_OPERATOR_TOKEN: TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET },
  })
  await app.start()
}, 60000)

afterAll(async () => {
  await app?.stop()
  await t?.cleanup()
}, 60000)

describe('the CLI', () => {
  it('approvals lists the pending ones, oldest first, not the closed one', async () => {
    const out = await nightshift(['approvals'])
    expect(out[0]).toMatch(/^ID +ASKED +TIMES OUT +RUNS +ON +ROUTE +ANSWER$/)
    expect(out.slice(1).map((l) => l.slice(0, 12))).toEqual([ID.cli, ID.http, ID.slack, ID.refused, ID.operator])
    expect(out[1]).toMatch(
      /^\w{12} {2}20m(\ds)? ago +in (10m|9m\d+s) +restart deployment=checkout {2}payments\/checkout HighLatency 16ddbf5dcf57d972 {2}payments\/restart$/,
    )
  })

  it('approve writes the answer with who, why and from where, and the history event', async () => {
    const out = await nightshift(['approve', ID.cli, '--reason', 'looks safe'])
    expect(out).toEqual([
      expect.stringMatching(/^approved by alice at \d{4}-.*Z \(cli\): looks safe$/),
      `written to ${t.topics.control} (key approval/${ID.cli}); the worker acts on it`,
    ])
    const answers = await controlAnswers()
    expect(answers).toEqual([
      {
        key: `approval/${ID.cli}`,
        value: {
          id: ID.cli,
          decision: 'approve',
          by: 'alice',
          reason: 'looks safe',
          at: expect.any(Number),
          via: 'cli',
          from: 'host1',
        },
      },
    ])
    expect(await historyEvents()).toEqual([
      { key: `approval/${ID.cli}`, value: { event: 'answered', at: answers[0]!.value.at, answer: answers[0]!.value } },
    ])
  })

  it('a second answer, approve or deny, is refused naming the first, and writes nothing', async () => {
    for (const verb of ['approve', 'deny']) {
      const attempt = nightshift([verb, ID.cli, '--by', 'bob'])
      await expect(attempt).rejects.toBeInstanceOf(NightshiftError)
      await expect(attempt).rejects.toThrow(
        new RegExp(`^approval ${ID.cli}: already approved by alice at .*Z \\(cli\\): looks safe; nothing written$`),
      )
    }
    expect(await controlAnswers()).toHaveLength(1)
    expect(await historyEvents()).toHaveLength(1)
  })

  it('approvals shows an answer the worker has not acted on yet', async () => {
    const out = await nightshift(['approvals'])
    expect(out[1]).toMatch(
      new RegExp(`^${ID.cli} .* approved by alice at .*\\(cli\\): looks safe \\(not acted on yet\\)$`),
    )
  })

  it('an unknown id, a closed one and a malformed one are refused', async () => {
    await expect(nightshift(['approve', UNKNOWN_ID])).rejects.toMatchObject({
      code: 'NS_NOT_FOUND',
      message: `no request waits for approval ${UNKNOWN_ID} on ${t.topics.ledger}; see nightshift approvals`,
    })
    await expect(nightshift(['deny', ID.closed])).rejects.toThrow(
      new RegExp(
        `^approval ${ID.closed} no longer waits for an answer: restart for 16ddbf5dcf57d972 completed \\(cancelled_resolved\\) at .*; nothing written$`,
      ),
    )
    await expect(nightshift(['approve', 'XYZ'])).rejects.toMatchObject({ code: 'NS_CONFIG' })
    expect(await controlAnswers()).toHaveLength(1)
  })
})

describe('the HTTP API', () => {
  const post = (path: string, init: { token?: string; body?: string } = {}): Promise<Response> =>
    fetch(`${app.httpAddress()!}${path}`, {
      method: 'POST',
      headers: {
        ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(init.body === undefined ? {} : { body: init.body }),
    })

  it('refuses a missing or wrong operator token with 401, and records nothing', async () => {
    for (const token of [undefined, 'wrong', `${TOKEN}x`]) {
      const res = await post(`/api/approvals/${ID.http}/approve`, { ...(token ? { token } : {}), body: '{}' })
      expect(res.status).toBe(401)
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/)
    }
    expect((await controlAnswers()).map((a) => a.key)).toEqual([`approval/${ID.cli}`])
  })

  it('approves with the token: 200, by and reason from the body, from the client address; then 409 with the first', async () => {
    const res = await post(`/api/approvals/${ID.http}/deny`, {
      token: TOKEN,
      body: JSON.stringify({ by: 'carol', reason: 'not at peak' }),
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'recorded', answer: { by: 'carol', decision: 'deny' } })
    const answer = (await controlAnswers()).find((a) => a.key === `approval/${ID.http}`)
    expect(answer?.value).toEqual({
      id: ID.http,
      decision: 'deny',
      by: 'carol',
      reason: 'not at peak',
      at: expect.any(Number),
      via: 'http',
      from: '127.0.0.1',
    })

    const again = await post(`/api/approvals/${ID.http}/approve`, { token: TOKEN })
    expect(again.status).toBe(409)
    expect(await again.json()).toMatchObject({
      status: 'already',
      message: expect.stringMatching(/already denied by carol at .* \(http\): not at peak/),
      first: answer?.value,
    })
    expect((await controlAnswers()).filter((a) => a.key === `approval/${ID.http}`)).toHaveLength(1)
  })

  it('404 for an unknown id, 410 for a closed one, 400 for a bad body; "operator" when no one is named', async () => {
    expect((await post(`/api/approvals/${UNKNOWN_ID}/approve`, { token: TOKEN })).status).toBe(404)
    const closed = await post(`/api/approvals/${ID.closed}/approve`, { token: TOKEN })
    expect(closed.status).toBe(410)
    expect(await closed.json()).toMatchObject({ status: 'closed', closed: { status: 'cancelled_resolved' } })
    expect((await post(`/api/approvals/${ID.refused}/approve`, { token: TOKEN, body: '{"by":' })).status).toBe(400)
    expect((await controlAnswers()).map((a) => a.key).sort()).toEqual(
      [`approval/${ID.cli}`, `approval/${ID.http}`].sort(),
    )
    const unnamed = await post(`/api/approvals/${ID.operator}/approve`, { token: TOKEN })
    expect(unnamed.status).toBe(200)
    expect(await unnamed.json()).toMatchObject({ answer: { by: 'operator', reason: '', via: 'http' } })
  })

  it('are off, saying how to turn them on, without an operator token or a signing secret', async () => {
    const server = buildOpsServer(testLogger)
    registerApprovalRoutes(server, {
      kafka: kafkaSettings('test-approvals-off'),
      registry: t.registry,
      topics: t.topics,
      logger: testLogger,
      env: {},
    })
    await server.listen({ host: '127.0.0.1', port: 0 })
    try {
      const base = addressOf(server)
      const api = await fetch(`${base}/api/approvals/${ID.refused}/approve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
      })
      expect(api.status).toBe(404)
      expect(await api.json()).toMatchObject({ error: { message: expect.stringMatching(/NIGHTSHIFT_OPERATOR_TOKEN/) } })
      const slack = await fetch(`${base}/api/slack/interactive`, { method: 'POST', body: 'payload=%7B%7D' })
      expect(slack.status).toBe(404)
      expect(await slack.json()).toMatchObject({ error: { message: expect.stringMatching(/SLACK_SIGNING_SECRET/) } })
    } finally {
      await server.close()
    }
  })
})

describe('the Slack callback', () => {
  const payload = (value: string): string =>
    new URLSearchParams({
      payload: JSON.stringify({
        type: 'block_actions',
        user: { id: 'U1', username: 'dave', name: 'Dave' },
        team: { id: 'T1', domain: 'acme' },
        channel: { id: 'C1', name: 'oncall' },
        actions: [{ action_id: 'nightshift_approve', value }],
      }),
    }).toString()

  const callback = (body: string, headers: Record<string, string>): Promise<Response> =>
    fetch(`${app.httpAddress()!}/api/slack/interactive`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
    })

  const signed = (body: string, at = Date.now()): Record<string, string> => {
    const ts = String(Math.floor(at / 1000))
    return {
      'x-slack-request-timestamp': ts,
      'x-slack-signature': slackSignature(SIGNING_SECRET, ts, Buffer.from(body, 'utf8')),
    }
  }

  it('a bad signature and an old timestamp are refused with 401, and nothing is recorded', async () => {
    const body = payload(`approve:${ID.refused}`)
    const good = signed(body)
    const forged = {
      ...good,
      'x-slack-signature': slackSignature('another-secret', good['x-slack-request-timestamp']!, Buffer.from(body)),
    }
    expect((await callback(body, forged)).status).toBe(401)
    expect((await callback(body, signed(body, Date.now() - 6 * M))).status).toBe(401)
    expect((await callback(`${body}&x=1`, good)).status).toBe(401)
    expect((await callback(body, {})).status).toBe(401)
    expect((await controlAnswers()).some((a) => a.key === `approval/${ID.refused}`)).toBe(false)
  })

  it('a well-signed button press is recorded, by the Slack user, from the team and channel', async () => {
    const body = payload(`approve:${ID.slack}`)
    const res = await callback(body, signed(body))
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({
      text: expect.stringMatching(
        new RegExp(`^approved by dave at .* \\(slack\\) — recorded for approval ${ID.slack}$`),
      ),
    })
    expect((await controlAnswers()).find((a) => a.key === `approval/${ID.slack}`)?.value).toEqual({
      id: ID.slack,
      decision: 'approve',
      by: 'dave',
      reason: '',
      at: expect.any(Number),
      via: 'slack',
      from: 'slack:acme/oncall',
    })
    const again = await callback(payload(`deny:${ID.slack}`), signed(payload(`deny:${ID.slack}`)))
    expect(again.status).toBe(200)
    expect(await again.json()).toMatchObject({ text: expect.stringMatching(/already approved by dave .*not recorded/) })
    expect((await controlAnswers()).filter((a) => a.key === `approval/${ID.slack}`)).toHaveLength(1)
  })
})
