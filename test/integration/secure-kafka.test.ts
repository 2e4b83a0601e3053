import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import pino from 'pino'
import { buildApp, type App } from '../../src/app'
import { endpointsFromEnv, kafkaSettings, type Endpoints } from '../../src/config/endpoints'
import { SchemaSet } from '../../src/contracts/schemas'
import { KafkaAdmin, RecordConsumer, RecordProducer, Registry, waitForBroker, type InRecord } from '../../src/kafka'
import { nightshiftAcls } from '../../src/kafka/acls'
import { startSecureBroker, type SecureBroker } from '../../src/stack/secure-broker'
import { stackSettingsFromEnv } from '../../src/stack/settings'
import { applyTopology } from '../../src/topology/apply'
import { loadTopicsFile, planTopology } from '../../src/topology/topics-file'
import { actionTopic, topicNames } from '../../src/topology/names'
import { endpoints as plainEndpoints, uniqueName, waitFor } from '../support/kafka'

/**
 * A broker that enforces SASL_SSL (SCRAM-SHA-512), a CA of its own and ACLs, beside the
 * plaintext stack (own ports, own folder, the same jars). Nightshift runs against it as
 * a user holding only the ACLs `topology apply --print-acls` lists.
 */
const root = path.resolve(__dirname, '..', '..')
const stack = stackSettingsFromEnv(root)
const PORT = Number(process.env.SECURE_TEST_KAFKA_PORT ?? 19493)
const CONTROLLER_PORT = Number(process.env.SECURE_TEST_KAFKA_CONTROLLER_PORT ?? 19495)
const ADMIN = { name: 'admin', password: 'admin-pw-7f3a91' }
const NIGHTSHIFT = { name: 'nightshift', password: 'ns-pw-c41d8e' }
const STRANGER = { name: 'stranger', password: 'stranger-pw-0b9e2c' }
const REGISTRY_USER_INFO = 'ns-registry:reg-pw-5a7d13'
const SECRETS = [ADMIN.password, NIGHTSHIFT.password, STRANGER.password, 'reg-pw-5a7d13', 'wrong-pw-99e0']

const lines: string[] = []
const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(l) })

let broker: SecureBroker
let front: http.Server
let frontUrl = ''
let dir: string
const prefix = `${uniqueName('secure')}.`

function env(user: { name: string; password: string }, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    KAFKA_BROKERS: broker.brokers.join(','),
    KAFKA_TLS_CA_FILE: broker.certs.caFile,
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: user.name,
    KAFKA_SASL_PASSWORD: user.password,
    SCHEMA_REGISTRY_URL: frontUrl,
    SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: REGISTRY_USER_INFO,
    ...extra,
  }
}

/** A registry front that wants basic auth and passes the request on to the real registry. */
function startRegistryFront(target: string): Promise<http.Server> {
  const expected = `Basic ${Buffer.from(REGISTRY_USER_INFO).toString('base64')}`
  const server = http.createServer((req, res) => {
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error_code":401,"message":"Unauthorized"}')
      return
    }
    const url = new URL(target + (req.url ?? '/'))
    const headers = { ...req.headers, host: url.host }
    delete headers.authorization
    const upstream = http.request(url, { method: req.method, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers)
      up.pipe(res)
    })
    upstream.on('error', () => res.writeHead(502).end())
    req.pipe(upstream)
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nightshift-secure-'))
  broker = await startSecureBroker({
    libsDir: path.join(stack.distDir ?? path.join(stack.stateDir, 'dist'), `kafka_2.13-${stack.kafkaVersion}`, 'libs'),
    dir: path.join(stack.stateDir, 'secure-test'),
    port: PORT,
    controllerPort: CONTROLLER_PORT,
    admin: ADMIN,
    users: [NIGHTSHIFT, STRANGER],
    javaBin: stack.javaBin,
  })
  front = await startRegistryFront(plainEndpoints.registryUrl.replace(/\/apis\/ccompat\/v7$/, ''))
  frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}/apis/ccompat/v7`
  const admin = endpointsFromEnv(env(ADMIN))
  await waitForBroker(kafkaSettings(admin, 'test-secure-admin', logger), { timeoutMs: 60_000 })
  // The stack's super user creates the topics and grants the Nightshift user its ACLs.
  const schemas = SchemaSet.load()
  const topology = loadTopicsFile(schemas)
  const a = await KafkaAdmin.connect(kafkaSettings(admin, 'test-secure-admin', logger))
  try {
    await applyTopology({
      admin: a,
      registry: new Registry(admin.registryUrl, admin.registryAccess),
      schemas,
      topology,
      prefix,
      logger,
    })
    const topics = planTopology(topology, prefix).topics.map((t) => t.name)
    await a.createAcls(
      `User:${NIGHTSHIFT.name}`,
      nightshiftAcls(prefix, topics).filter((b) => !b.applyOnly),
    )
  } finally {
    await a.disconnect()
  }
  // The authorizer applies new ACLs from the metadata log a moment later.
  const own = await KafkaAdmin.connect(kafkaSettings(endpointsFromEnv(env(NIGHTSHIFT)), 'test-secure-acl', logger))
  try {
    await waitFor(
      'the ACLs to apply',
      async () => ((await own.listTopics()).includes(`${prefix}alerts.raw`) ? true : undefined),
      30_000,
    )
  } finally {
    await own.disconnect()
  }
}, 120_000)

afterAll(async () => {
  await broker?.stop()
  await new Promise((resolve) => front?.close(resolve))
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
})

const escaped = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

const groupAcl = () =>
  nightshiftAcls(prefix, []).find((b) => b.resourceType === 'group' && b.name === `${prefix}nightshift-`)!
const transactionalIdAcl = () => nightshiftAcls(prefix, []).find((b) => b.resourceType === 'transactional-id')!

/** Grants or takes back one of the Nightshift user's ACLs, as the stack's super user. */
async function changeAcls(change: 'create' | 'delete', binding: ReturnType<typeof groupAcl>): Promise<void> {
  const admin = await KafkaAdmin.connect(kafkaSettings(endpointsFromEnv(env(ADMIN)), 'test-secure-admin', logger))
  try {
    if (change === 'create') await admin.createAcls(`User:${NIGHTSHIFT.name}`, [binding])
    else await admin.deleteAcls(`User:${NIGHTSHIFT.name}`, [binding])
  } finally {
    await admin.disconnect()
  }
}

/** `run --stage enrich` as the Nightshift user. */
function enrichApp(): App {
  return buildApp({
    endpoints: endpointsFromEnv(env(NIGHTSHIFT)),
    logger,
    stages: ['enrich'],
    prefix,
    sessionTimeoutMs: 6000,
    readyTimeoutMs: 30_000,
  })
}

/**
 * Starts `run --stage enrich` as the Nightshift user until the start fails, and returns
 * its message: the authorizer applies an ACL change a moment after the request. Each
 * failing start must fail within the ready timeout.
 */
async function startRefusal(): Promise<string> {
  return waitFor(
    'the refusal',
    async () => {
      const app = enrichApp()
      const started = Date.now()
      try {
        await app.start()
        return undefined
      } catch (err) {
        expect(Date.now() - started).toBeLessThan(30_000)
        return (err as Error).message
      } finally {
        await app.stop().catch(() => undefined)
      }
    },
    30_000,
  )
}

describe('a SASL_SSL broker with ACLs (SCRAM-SHA-512, own CA, StandardAuthorizer)', () => {
  it('runs the pipeline webhook → outcome as the nightshift user with only the listed ACLs', async () => {
    // The shipped topology/ files: checkout belongs to payments, a critical alert pages, actions are dry runs.
    const endpoints: Endpoints = endpointsFromEnv(env(NIGHTSHIFT))
    const app: App = buildApp({
      endpoints,
      logger,
      stages: ['ingest', 'dedup', 'enrich', 'ratelimit', 'route', 'actions'],
      prefix,
      http: { port: 0 },
      sessionTimeoutMs: 6000,
      readyTimeoutMs: 30_000,
    })
    try {
      await app.start()
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
          alerts: [
            {
              status: 'firing',
              labels: { alertname: 'CheckoutDown', service: 'checkout', severity: 'critical' },
              annotations: {},
              startsAt: '2026-11-25T02:00:00.000Z',
              endsAt: '0001-01-01T00:00:00Z',
              generatorURL: 'http://prometheus.example/graph',
            },
          ],
        }),
      })
      expect(res.status).toBe(200)
      const settings = kafkaSettings(endpoints, 'test-secure-reader', logger)
      const registry = new Registry(endpoints.registryUrl, endpoints.registryAccess)
      const read = async (topic: string): Promise<InRecord[]> => {
        const seen: InRecord[] = []
        const reader = await RecordConsumer.connect(settings, {
          groupId: `${prefix}nightshift-test-reader-${topic}`,
          topics: [topic],
          autoCommit: true,
        })
        await reader.run(async (batch) => void seen.push(...batch.records))
        return waitFor(`a record on ${topic}`, () => (seen.length > 0 ? seen : undefined), 60_000).finally(() =>
          reader.disconnect(),
        )
      }
      const [requests, outcomes] = await Promise.all([
        read(`${prefix}${actionTopic('page')}`),
        read(topicNames(prefix).outcomes),
      ])
      const request = (await registry.decode(requests[0]!.value!)) as {
        alert: { team: string; alert: { labels: Record<string, string> } }
      }
      expect(request.alert.team).toBe('payments')
      expect(request.alert.alert.labels.alertname).toBe('CheckoutDown')
      const outcome = (await registry.decode(outcomes[0]!.value!)) as { action: string; status: string }
      // The shipped routes send it to more than one action; the shipped actions are dry runs.
      expect(outcome.status).toBe('dry_run')
    } finally {
      await app.stop()
    }
  }, 120_000)

  it('an ACL removed while running stops run, naming the refused consumer group', async () => {
    const app = enrichApp()
    try {
      await app.start()
      await changeAcls('delete', groupAcl())
      // The next heartbeat is refused: the stage stops for good and the app says why.
      const failure = await Promise.race([app.failure, sleep(45_000).then(() => undefined)])
      expect(failure?.message).toMatch(
        new RegExp(
          `Kafka refused access to consumer group ${escaped(prefix)}nightshift-enrich \\(GROUP_AUTHORIZATION_FAILED\\)`,
        ),
      )
    } finally {
      await app.stop()
    }
  }, 90_000)

  it('a removed group ACL stops run at start, naming the refused consumer group', async () => {
    await changeAcls('delete', groupAcl())
    const message = await startRefusal()
    expect(message).toMatch(
      new RegExp(
        `Kafka refused access to consumer group ${escaped(prefix)}nightshift-enrich \\(GROUP_AUTHORIZATION_FAILED\\)`,
      ),
    )
  }, 60_000)

  it('a removed transactional-id ACL stops run at start, before any alert arrives', async () => {
    await changeAcls('create', groupAcl())
    await changeAcls('delete', transactionalIdAcl())
    const message = await startRefusal()
    expect(message).toMatch(
      new RegExp(
        `Kafka refused access to transactional id ${escaped(prefix)}nightshift-enrich\\.start-check \\(TRANSACTIONAL_ID_AUTHORIZATION_FAILED\\)`,
      ),
    )
  }, 60_000)

  it('a transactional-id ACL removed while running stops run at the next batch, naming the id', async () => {
    await changeAcls('create', transactionalIdAcl())
    const app = await waitFor(
      'a start with the ACL back',
      async () => {
        const candidate = enrichApp()
        try {
          await candidate.start()
          return candidate
        } catch {
          await candidate.stop().catch(() => undefined)
          return undefined
        }
      },
      30_000,
    )
    const settings = kafkaSettings(endpointsFromEnv(env(NIGHTSHIFT)), 'test-secure-feed', logger)
    const producer = await RecordProducer.connect(settings)
    try {
      await changeAcls('delete', transactionalIdAcl())
      // Each record makes a batch whose transaction (a dead letter, since it is not Avro)
      // is refused once the authorizer has dropped the ACL.
      let failure: Error | undefined
      void app.failure.then((err) => (failure = err))
      let n = 0
      await waitFor(
        'the stage to stop',
        async () => {
          await producer.send([
            { topic: `${prefix}alerts.deduped`, key: `k${n}`, value: Buffer.from(`not avro ${n++}`) },
          ])
          return failure
        },
        45_000,
        1000,
      )
      expect(failure?.message).toMatch(
        new RegExp(
          `Kafka refused access to transactional id ${escaped(prefix)}nightshift-enrich\\.${escaped(prefix)}alerts\\.deduped\\.\\d+ \\(TRANSACTIONAL_ID_AUTHORIZATION_FAILED\\)`,
        ),
      )
    } finally {
      await producer.disconnect()
      await app.stop()
    }
  }, 120_000)

  it('a wrong password stops at start, naming the SASL handshake and the user', async () => {
    const e = endpointsFromEnv(env(NIGHTSHIFT, { KAFKA_SASL_PASSWORD: 'wrong-pw-99e0' }))
    const started = Date.now()
    await expect(waitForBroker(kafkaSettings(e, 'test-secure', logger), { timeoutMs: 30_000 })).rejects.toThrow(
      /SASL authentication failed at 127\.0\.0\.1:\d+ \(SCRAM-SHA-512 as nightshift\)/,
    )
    expect(Date.now() - started).toBeLessThan(15_000)
  })

  it('a CA that did not sign the broker certificate stops at start, naming the certificate', async () => {
    const otherCa = path.join(dir, 'other-ca.pem')
    const { execFileSync } = await import('node:child_process')
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=other',
        '-keyout',
        path.join(dir, 'other.key'),
        '-out',
        otherCa,
      ],
      { stdio: 'ignore' },
    )
    const e = endpointsFromEnv(env(NIGHTSHIFT, { KAFKA_TLS_CA_FILE: otherCa }))
    await expect(waitForBroker(kafkaSettings(e, 'test-secure', logger), { timeoutMs: 30_000 })).rejects.toThrow(
      /TLS certificate of the broker at 127\.0\.0\.1:\d+ is not trusted.*KAFKA_TLS_CA_FILE/,
    )
  })

  it('a missing ACL stops the stage at start, naming the refused topic', async () => {
    const e = endpointsFromEnv(env(STRANGER))
    const topic = `${prefix}alerts.raw`
    await expect(
      RecordConsumer.connect(kafkaSettings(e, 'test-secure', logger), {
        groupId: `${prefix}nightshift-x`,
        topics: [topic],
      }),
    ).rejects.toThrow(
      new RegExp(`refused access on topic ${topic.replace(/\./g, '\\.')} \\(TOPIC_AUTHORIZATION_FAILED\\)`),
    )
  })

  it('a wrong registry credential is a clear error naming the setting', async () => {
    const registry = new Registry(
      frontUrl,
      endpointsFromEnv(env(NIGHTSHIFT, { SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: 'ns-registry:wrong-pw-99e0' }))
        .registryAccess,
    )
    await expect(registry.ping()).rejects.toThrow(
      /refused the credentials \(401\): check SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO/,
    )
    await expect(new Registry(frontUrl).ping()).rejects.toThrow(/requires credentials \(401\)/)
  })

  it('no credential appears in any captured log line', () => {
    expect(lines.length).toBeGreaterThan(0)
    const text = lines.join('')
    for (const secret of SECRETS) expect(text).not.toContain(secret)
  })
})
