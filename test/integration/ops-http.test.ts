/**
 * A process running stages without the webhook serves /metrics (with consumer lag per
 * input partition), /healthz and /readyz when given a metrics port.
 */
import { buildApp, type App } from '../../src/app'
import { RecordProducer } from '../../src/kafka'
import { valueSubject } from '../../src/topology/names'
import { endpoints, kafkaSettings, testLogger, uniqueName, waitFor } from '../support/kafka'
import { alertRecord } from '../support/records'
import { provisionTopology, schemas, type TestTopology } from '../support/topology'

let t: TestTopology
let app: App

beforeAll(async () => {
  t = await provisionTopology(`${uniqueName('ops')}.`, 2)
  app = buildApp({
    endpoints,
    logger: testLogger,
    stages: ['dedup'],
    prefix: t.prefix,
    opsHttp: { host: '127.0.0.1', port: 0 },
    sessionTimeoutMs: 6000,
  })
  await app.start()
}, 60000)

afterAll(async () => {
  await app?.stop()
  await t?.cleanup()
}, 60000)

it('serves health, readiness and the stage metrics with consumer lag, without a webhook', async () => {
  const base = app.httpAddress()!
  expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' })
  expect((await fetch(`${base}/readyz`)).status).toBe(200)
  expect((await fetch(`${base}/webhook/alertmanager`, { method: 'POST', body: '{}' })).status).toBe(404)

  const producer = await RecordProducer.connect(kafkaSettings('test-ops-feed'))
  try {
    const id = await t.registry.idOf(valueSubject(t.topics.raw), schemas.resolve('Alert'))
    const alerts = [1, 2, 3].map((i) => alertRecord({ fingerprint: `00000000000000a${i}` }))
    await producer.send(
      await Promise.all(
        alerts.map(async (a) => ({ topic: t.topics.raw, key: a.fingerprint, value: await t.registry.encode(id, a) })),
      ),
    )
  } finally {
    await producer.disconnect()
  }
  const lagLines = await waitFor('dedup to catch up, as its lag shows', async () => {
    const text = await (await fetch(`${base}/metrics`)).text()
    const lines = text
      .split('\n')
      .filter((l) =>
        l.startsWith(
          `nightshift_stage_consumer_lag{stage="dedup",group="${t.prefix}nightshift-dedup",topic="${t.topics.raw}"`,
        ),
      )
    return lines.length === 2 &&
      lines.every((l) => l.endsWith(' 0')) &&
      text.includes('nightshift_stage_records_in_total{stage="dedup"')
      ? lines
      : undefined
  })
  expect(lagLines).toHaveLength(2)
})
