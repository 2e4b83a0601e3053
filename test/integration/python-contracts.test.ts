/**
 * The schema contracts seen from another language: after a realistic run of the whole
 * pipeline (captured Alertmanager notifications through the webhook, every stage, the
 * action workers in dry run, SLO accounting, a dead letter, an operator pause), a Python
 * consumer that uses nothing of Nightshift's — confluent-kafka and its schema-registry
 * AvroDeserializer, pointed at the registry's Confluent-compatible API — reads every topic
 * of topology/topics.yaml (test/contracts/decode_topics.py) and must decode every record,
 * exactly as our own TypeScript reader and decoder see them.
 *
 * Needs python3 with venv (Debian: python3 python3-venv) and PyPI; test/support/python.ts
 * keeps the venv in .stack/python-venv, so only the first run installs.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { Command } from 'commander'
import { buildApp, type App } from '../../src/app'
import { addPauseCommands } from '../../src/cli/pause'
import { KafkaAdmin, readTopicToBarrier, type InRecord } from '../../src/kafka'
import { loadTopicsFile, type TopologyTopic } from '../../src/topology/topics-file'
import { valueSubject } from '../../src/topology/names'
import { DLQ_HEADERS } from '../../src/runner/dead-letter'
import { ALERTMANAGER_FIXTURES } from '../support/fixtures'
import { endpoints, kafkaSettings, testLogger, uniqueName, waitFor } from '../support/kafka'
import { ensurePythonVenv, type PythonVenv } from '../support/python'
import { provisionTopology, schemas, type TestTopology } from '../support/topology'

const ROOT = path.resolve(__dirname, '..', '..')
const DECODER = path.join(ROOT, 'test', 'contracts', 'decode_topics.py')
/** The Python report and the timings, kept after the run (ignored by git). */
const ARTIFACTS = path.join(ROOT, 'test', 'artifacts')

/**
 * Topics of topics.yaml without an Avro contract, and why. They are still read by the same
 * Python run, as JSON, and must have records too.
 */
const WITHOUT_AVRO_CONTRACT: Readonly<Record<string, string>> = {
  'nightshift.control': 'operator commands are JSON (src/actions/control.ts), no schema in topics.yaml; read as JSON',
  'nightshift.control-history':
    'the audit log of operator commands is JSON like nightshift.control (src/actions/worker/history.ts); read as JSON',
}

/**
 * Topics with a contract that this run cannot put a record on, and why. Empty: every
 * topic gets records. A topic listed here must stay empty, so the list cannot go stale.
 */
const WITHOUT_RECORDS: Readonly<Record<string, string>> = {}

/** The captured notifications (23 alerts: TargetUp of checkout, warning; five HandlerSeen of prometheus, critical). */
const BODIES = fs
  .readdirSync(ALERTMANAGER_FIXTURES)
  .filter((f) => /^\d\d-.*\.json$/.test(f))
  .sort()
  .map((f) => fs.readFileSync(path.join(ALERTMANAGER_FIXTURES, f)))
/** The first fixture's alert: TargetUp of checkout, which is also an indicator of checkout-availability. */
const TARGET_UP = { fingerprint: '16ddbf5dcf57d972', startsAt: '2026-11-25T00:52:34.568Z' }
const JUNK = Buffer.from('{"receiver": "nightshift", "alerts": [')
const ACTIONS = ['page', 'webhook', 'exec', 'log-level', 'thread-dump', 'incident-note'] as const

/** One topic in decode_topics.py's report. */
interface TopicReport {
  format: 'avro' | 'json'
  subject: string | null
  partitions: number
  records: number
  tombstones: number
  barriers: number
  decoded: number
  failureCount: number
  failures: Array<{ error: string; partition?: number; offset?: number; key?: string }>
  schemaIds: Record<string, number>
  schemaNames: Record<string, number>
  subjectSchemaIds: number[] | null
  sample: DecodedRecord | null
}

interface Report {
  ok: boolean
  client: Record<string, string>
  seconds: number
  topics: Record<string, TopicReport>
}

/** One line of decode_topics.py's --records-out. */
interface DecodedRecord {
  topic: string
  partition: number
  offset: number
  key: string | null
  schemaId: number | null
  value: unknown
}

/**
 * A decoded value in the JSON form decode_topics.py writes: bytes as {$bytes: base64},
 * non-finite doubles as {$double}, avsc's record objects as plain objects.
 */
function jsonSafe(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return { $bytes: value.toString('base64') }
  if (typeof value === 'number' && !Number.isFinite(value)) return { $double: String(value) }
  if (Array.isArray(value)) return value.map(jsonSafe)
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]))
  return value
}

/** The topics.yaml topics under the test prefix, with their contracts. */
const shipped = loadTopicsFile(schemas)

let t: TestTopology
let app: App | undefined
let configDir: string
let venv: PythonVenv
let python: { code: number | null; signal: string | null; stdout: string; stderr: string }
let report: Report
let pyRecords: Map<string, DecodedRecord>
/** Every record our TypeScript reader sees on each topic (unprefixed name), barriers left out. */
const tsRecords = new Map<string, InRecord[]>()
const timings: Record<string, number> = {}

const prefixed = (topic: TopologyTopic | string) => `${t.prefix}${typeof topic === 'string' ? topic : topic.name}`
const at = (topic: string, partition: number, offset: string | number) => `${topic}/${partition}@${offset}`

/** The test's config folder: the shipped catalog, SLOs and topics, and routes, limits and actions that reach every topic. */
function writeConfig(dir: string): void {
  for (const file of ['topics.yaml', 'catalog.yaml', 'slos.yaml'])
    fs.copyFileSync(path.join(ROOT, 'topology', file), path.join(dir, file))
  // Every action gets requests: each route matches the HandlerSeen alerts and goes on to the next.
  const params: Record<(typeof ACTIONS)[number], string> = {
    page: '{ team: "{{ team }}", summary: "{{ labels.alertname }} is {{ status }}" }',
    webhook: '{ url: "http://127.0.0.1:9/hook" }',
    exec: '{ command: noop }',
    'log-level': '{ url: "http://127.0.0.1:9/loggers", level: DEBUG, duration: 5m }',
    'thread-dump': '{ url: "http://127.0.0.1:9/threaddump" }',
    'incident-note': '{}',
  }
  fs.writeFileSync(
    path.join(dir, 'routes.yaml'),
    [
      'route:',
      '  name: root',
      '  routes:',
      ...ACTIONS.flatMap((a) => [
        `    - name: all-${a}`,
        '      matchers: [\'alertname="HandlerSeen"\']',
        '      continue: true',
        `      action: ${a}`,
        `      params: ${params[a]}`,
      ]),
    ].join('\n'),
  )
  // Two HandlerSeen alerts are admitted, the other three throttled (same alert-level bucket).
  fs.writeFileSync(
    path.join(dir, 'limits.yaml'),
    ['key: "{team}/{service}/{alertname}"', 'defaults:', '  alert: { rate: 1/1h, burst: 2 }'].join('\n'),
  )
  // Global dry run: outcomes and ledger entries say what would have run; nothing runs.
  fs.writeFileSync(
    path.join(dir, 'actions.yaml'),
    [
      'dryRun: true',
      `artifactsDir: ${JSON.stringify(path.join(dir, 'artifacts'))}`,
      `customActionsDir: ${JSON.stringify(path.join(ROOT, 'topology', 'custom-actions'))}`,
      'defaults: { timeout: 2s, maxAttempts: 1, escalateTo: null }',
      'actions:',
      '  page: { onResolved: run, config: { kind: slack, url: "http://127.0.0.1:9/slack" } }',
      '  webhook: {}',
      `  exec: { config: { commands: { noop: { program: ${JSON.stringify(process.execPath)}, args: ["-e", "0"] } } } }`,
      '  log-level: { config: { flavour: spring } }',
      '  thread-dump: {}',
      '  incident-note: {}',
    ].join('\n'),
  )
}

async function post(body: Buffer): Promise<Response> {
  return fetch(`${app!.httpAddress()}/webhook/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'Alertmanager/0.25.0' },
    body,
  })
}

/**
 * Waits until each consumer group has committed past the last record of its input topic.
 * The topic's writers must be done. Read to a barrier, because the log's end says nothing
 * here: several transactional producers (one per worker and partition) write the same
 * topics, so a partition may end in several commit markers, or in an aborted transaction.
 */
async function waitForConsumed(groups: Array<[groupId: string, topic: string]>, timeoutMs = 60000): Promise<void> {
  const admin = await KafkaAdmin.connect(kafkaSettings('test-pycontracts-consumed'))
  try {
    await Promise.all(
      groups.map(async ([groupId, topic]) => {
        const last = new Map<number, bigint>()
        for (const r of await readTopicToBarrier(kafkaSettings(uniqueName('pycontracts-last')), topic, {
          timeoutMs: 30000,
        }))
          last.set(r.partition, BigInt(r.offset))
        const deadline = Date.now() + timeoutMs
        for (;;) {
          const committed = await admin.committedOffsets(groupId, topic)
          const behind = [...last].filter(([p, offset]) => BigInt(committed.get(p) ?? '-1') <= offset)
          if (behind.length === 0) return
          if (Date.now() > deadline) {
            const where = behind
              .map(
                ([p, offset]) => `partition ${p}: committed ${committed.get(p) ?? 'nothing'}, last record at ${offset}`,
              )
              .join('; ')
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${groupId} to consume ${topic} (${where})`)
          }
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      }),
    )
  } finally {
    await admin.disconnect()
  }
}

/** Runs the pipeline until every stage has consumed everything its upstream wrote. */
async function runPipeline(): Promise<void> {
  app = buildApp({
    endpoints,
    logger: testLogger,
    prefix: t.prefix,
    http: { port: 0 },
    configDir,
    configPollMs: 200,
    sessionTimeoutMs: 6000,
  })
  await app.start()
  await waitFor(
    'the webhook to be ready',
    async () => ((await fetch(`${app!.httpAddress()}/readyz`)).ok ? true : undefined),
    30000,
  )
  for (const body of BODIES) expect((await post(body)).status).toBe(200)
  // A malformed notification: answered 400 and kept on the DLQ.
  expect((await post(JUNK)).status).toBe(400)

  // Stage by stage, so each wait starts once everything upstream has been consumed and
  // its input is complete.
  const group = (name: string) => `${t.prefix}nightshift-${name}`
  await waitForConsumed([[group('dedup'), t.topics.raw]])
  await waitForConsumed([
    [group('enrich'), t.topics.deduped],
    [group('slo-index-alerts'), t.topics.deduped],
  ])
  await waitForConsumed([[group('ratelimit'), t.topics.enriched]])
  await waitForConsumed([[group('route'), t.topics.admitted]])
  await waitForConsumed(ACTIONS.map((a) => [group(`action-${a}`), prefixed(`actions.${a}`)]))
  await waitForConsumed([[group('slo-index-outcomes'), t.topics.outcomes]])
  await waitForConsumed([[group('slo'), t.topics.sloEvents]])

  // An operator pause (on a scope nothing here matches), written by the real CLI command.
  const printed: string[] = []
  const cli = new Command('nightshift').exitOverride()
  addPauseCommands(cli, {
    print: (text) => printed.push(text),
    logger: testLogger,
    env: { ...process.env, USER: 'contracts-test' },
  })
  await cli.parseAsync(
    ['pause', '--service', 'python-contracts', '--for', '1h', '--reason', 'contract test', '--prefix', t.prefix],
    { from: 'user' },
  )
  expect(printed.join('\n')).toContain(`written to ${t.topics.control}`)

  // Stopped before reading: every transaction is decided, and nothing more is written.
  await app.stop()
  app = undefined
}

/** Runs decode_topics.py on every topic of topics.yaml. */
async function runPython(recordsOut: string): Promise<void> {
  const args = [
    DECODER,
    '--bootstrap',
    endpoints.brokers.join(','),
    '--registry',
    endpoints.registryUrl,
    '--timeout',
    '60',
    '--records-out',
    recordsOut,
  ]
  for (const topic of shipped.topics) {
    if (topic.schema) args.push('--topic', `${prefixed(topic)}=${valueSubject(prefixed(topic))}`)
    else args.push('--json-topic', prefixed(topic))
  }
  python = await new Promise((resolve) => {
    execFile(venv.python, args, { cwd: ROOT, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const failed = err as (Error & { code?: unknown; signal?: string | null }) | null
      resolve({
        code: failed ? (typeof failed.code === 'number' ? failed.code : null) : 0,
        signal: failed?.signal ?? null,
        stdout,
        stderr: stderr || (failed?.message ?? ''),
      })
    })
  })
  // 1 is "some records did not decode", with a report that the tests below look into.
  if (python.code !== 0 && python.code !== 1) {
    const how =
      python.code === null ? `killed by ${python.signal ?? 'an error'} (time limit 120 s?)` : `exit ${python.code}`
    throw new Error(`decode_topics.py could not read the topics (${how}):\n${python.stderr.slice(-4000)}`)
  }
  report = JSON.parse(python.stdout) as Report
  pyRecords = new Map(
    fs
      .readFileSync(recordsOut, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as DecodedRecord)
      .map((r) => [at(r.topic, r.partition, r.offset), r]),
  )
}

beforeAll(async () => {
  let started = Date.now()
  // The venv is prepared while the pipeline runs (the first install takes a while); a
  // failure is held, not left unhandled, and thrown once the pipeline is done.
  const venvReady = ensurePythonVenv().then(
    (v) => ({ ok: true as const, v }),
    (err: unknown) => ({ ok: false as const, err }),
  )
  t = await provisionTopology(`${uniqueName('pycontracts')}.`, 2)
  configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ns-pycontracts-'))
  writeConfig(configDir)
  await runPipeline()
  timings.pipelineMs = Date.now() - started

  const ready = await venvReady
  if (!ready.ok) throw ready.err
  venv = ready.v
  timings.venvMs = venv.ms

  started = Date.now()
  await runPython(path.join(configDir, 'records.jsonl'))
  timings.pythonMs = Date.now() - started

  // Our own reader, after Python (its barriers are written at the end of each partition).
  started = Date.now()
  await Promise.all(
    shipped.topics.map(async (topic) => {
      tsRecords.set(
        topic.name,
        await readTopicToBarrier(kafkaSettings(uniqueName('pycontracts-read')), prefixed(topic), { timeoutMs: 60000 }),
      )
    }),
  )
  timings.typescriptReadMs = Date.now() - started
  // Kept for whoever reads a failure (test/artifacts/ is ignored by git).
  fs.mkdirSync(ARTIFACTS, { recursive: true })
  fs.writeFileSync(
    path.join(ARTIFACTS, 'python-contracts-report.json'),
    JSON.stringify(
      { venv: venv.action, timings, pythonExit: python.code, stderr: python.stderr.slice(-4000), report },
      null,
      2,
    ),
  )
}, 240_000)

afterAll(async () => {
  await app?.stop()
  await t?.cleanup()
  if (configDir) fs.rmSync(configDir, { recursive: true, force: true })
}, 60000)

describe('a Python consumer (confluent-kafka + AvroDeserializer) reads every Nightshift topic', () => {
  it('covers every topic of topics.yaml: the Avro ones through their subject, the others as named exceptions', () => {
    const avro = shipped.topics.filter((x) => x.schema).map((x) => x.name)
    const other = shipped.topics.filter((x) => !x.schema).map((x) => x.name)
    expect(other.sort()).toEqual(Object.keys(WITHOUT_AVRO_CONTRACT).sort())
    expect(Object.keys(report.topics).sort()).toEqual(shipped.topics.map((x) => prefixed(x)).sort())
    for (const name of avro)
      expect({
        name,
        format: report.topics[prefixed(name)]!.format,
        subject: report.topics[prefixed(name)]!.subject,
      }).toEqual({ name, format: 'avro', subject: `${prefixed(name)}-value` })
    for (const name of other) expect(report.topics[prefixed(name)]!.format).toBe('json')
    // The six action topics are part of it.
    expect(avro).toEqual(expect.arrayContaining(ACTIONS.map((a) => `actions.${a}`)))
  })

  it('finds records on every topic (none is left without, unless listed with the reason)', () => {
    const empty = shipped.topics
      .filter((x) => (tsRecords.get(x.name) ?? []).filter((r) => r.value !== null).length === 0)
      .map((x) => x.name)
    expect(empty.sort()).toEqual(Object.keys(WITHOUT_RECORDS).sort())
  })

  it('decoded every record of every topic: exit 0, no failure anywhere', () => {
    const failures = Object.entries(report.topics)
      .filter(([, r]) => r.failureCount > 0)
      .map(([name, r]) => ({ name, failures: r.failures }))
    expect(failures).toEqual([])
    expect({ code: python.code, ok: report.ok }).toEqual({ code: 0, ok: true })
    for (const [name, r] of Object.entries(report.topics)) {
      expect({ name, accounted: r.decoded + r.tombstones + r.barriers }).toEqual({ name, accounted: r.records })
    }
  })

  it('decoded as many records as our TypeScript reader reads (read_committed, to a barrier), tombstones counted apart', () => {
    for (const topic of shipped.topics) {
      const ours = tsRecords.get(topic.name)!
      const r = report.topics[prefixed(topic)]!
      expect({ topic: topic.name, decoded: r.decoded, tombstones: r.tombstones }).toEqual({
        topic: topic.name,
        decoded: ours.filter((x) => x.value !== null).length,
        tombstones: ours.filter((x) => x.value === null).length,
      })
    }
  })

  it("saw exactly the schema of topics.yaml on each topic, by the id registered under the topic's subject", async () => {
    for (const topic of shipped.topics.filter((x) => x.schema)) {
      const r = report.topics[prefixed(topic)]!
      const id = await t.registry.idOf(valueSubject(prefixed(topic)), schemas.resolve(topic.schema!))
      expect({
        topic: topic.name,
        names: Object.keys(r.schemaNames),
        ids: Object.keys(r.schemaIds).map(Number),
      }).toEqual({ topic: topic.name, names: [topic.schema], ids: [id] })
      expect(r.subjectSchemaIds).toContain(id)
      // The ids our own records carry (wire format: magic byte, then the id).
      expect(
        new Set(
          tsRecords
            .get(topic.name)!
            .filter((x) => x.value !== null)
            .map((x) => x.value!.readInt32BE(1)),
        ),
      ).toEqual(new Set([id]))
    }
  })

  it('decoded every record to the same keys and values as our TypeScript decoder', async () => {
    const mismatches: Array<{ at: string; python: unknown; typescript: unknown }> = []
    let compared = 0
    for (const topic of shipped.topics) {
      for (const record of tsRecords.get(topic.name)!.filter((x) => x.value !== null)) {
        const where = at(prefixed(topic), record.partition, record.offset)
        const py = pyRecords.get(where)
        const value = topic.schema
          ? jsonSafe(await t.registry.decode(record.value!))
          : JSON.parse(record.value!.toString('utf8'))
        const ours = { key: record.key?.toString('utf8') ?? null, value }
        const theirs = py ? { key: py.key, value: py.value } : undefined
        compared += 1
        if (!isDeepStrictEqual(theirs, ours)) mismatches.push({ at: where, python: theirs, typescript: ours })
      }
    }
    expect(mismatches.slice(0, 5)).toEqual([])
    expect(compared).toBe(pyRecords.size)
  })

  it('reads what the TypeScript side wrote: the fixture alert, its enrichment, its SLO budget, the dead letter, the pause', () => {
    const values = (topic: string) => [...pyRecords.values()].filter((r) => r.topic === prefixed(topic))
    type Alert = {
      fingerprint: string
      startsAt: string
      status: string
      labels: Record<string, string>
      endsAt: string | null
      receivedAt: number
    }

    const raw = values('alerts.raw').map((r) => ({ key: r.key, alert: r.value as Alert }))
    expect(raw).toHaveLength(23)
    const targetUp = raw.filter((r) => r.key === TARGET_UP.fingerprint)
    expect(targetUp.map((r) => [r.alert.fingerprint, r.alert.startsAt, r.alert.status])).toEqual([
      [TARGET_UP.fingerprint, TARGET_UP.startsAt, 'firing'],
      [TARGET_UP.fingerprint, TARGET_UP.startsAt, 'firing'],
      [TARGET_UP.fingerprint, TARGET_UP.startsAt, 'resolved'],
    ])
    expect(targetUp[0]!.alert.labels).toMatchObject({ alertname: 'TargetUp', service: 'checkout', severity: 'warning' })
    expect(targetUp[0]!.alert.endsAt).toBe('0001-01-01T00:00:00Z')
    // timestamp-millis, decoded by fastavro as a datetime and written back as milliseconds.
    expect(
      Number.isInteger(targetUp[0]!.alert.receivedAt) &&
        Math.abs(Date.now() - targetUp[0]!.alert.receivedAt) < 10 * 60_000,
    ).toBe(true)

    const enriched = values('alerts.enriched').map(
      (r) => r.value as { alert: Alert; team: string; service: string | null; tier: string | null; slo: string | null },
    )
    expect(enriched.find((e) => e.alert.fingerprint === TARGET_UP.fingerprint)).toMatchObject({
      team: 'payments',
      service: 'checkout',
      tier: 'tier-1',
      slo: 'checkout-availability',
    })

    // Two HandlerSeen alerts admitted, three throttled by their alert-level bucket.
    expect(values('alerts.throttled').map((r) => (r.value as { throttledBy: string }).throttledBy)).toEqual([
      'alert:core/prometheus/HandlerSeen',
      'alert:core/prometheus/HandlerSeen',
      'alert:core/prometheus/HandlerSeen',
    ])
    for (const a of ACTIONS) expect({ a, requests: values(`actions.${a}`).length > 0 }).toEqual({ a, requests: true })
    const outcomes = values('actions.outcomes').map((r) => r.value as { status: string; dryRun: boolean })
    expect(outcomes.length).toBeGreaterThan(0)
    expect(outcomes.filter((o) => !['dry_run', 'cancelled_resolved'].includes(o.status))).toEqual([])

    const budgets = values('slo.budget').map((r) => ({
      key: r.key,
      budget: r.value as { slo: string; service: string; objective: number; open: Record<string, number> },
    }))
    expect(budgets.map((b) => b.key)).toContain('checkout-availability')
    expect(budgets.find((b) => b.key === 'checkout-availability')!.budget).toMatchObject({
      slo: 'checkout-availability',
      service: 'checkout',
      objective: 0.999,
    })

    const [letter] = values('nightshift.dlq').map(
      (r) => r.value as { stage: string; value: { $bytes: string } | null; headers: Record<string, string> },
    )
    expect(letter).toMatchObject({ stage: 'ingest', value: { $bytes: JUNK.toString('base64') } })
    expect(tsRecords.get('nightshift.dlq')![0]!.headers[DLQ_HEADERS.stage]).toBe('ingest')

    const [pause] = values('nightshift.control')
    expect(pause).toMatchObject({
      key: 'pause/service=python-contracts',
      value: {
        id: 'pause/service=python-contracts',
        scope: { service: 'python-contracts' },
        reason: 'contract test',
        createdBy: 'contracts-test',
      },
    })
    const [paused] = values('nightshift.control-history')
    expect(paused).toMatchObject({
      key: 'pause/service=python-contracts',
      value: { event: 'paused', pause: { id: 'pause/service=python-contracts', createdBy: 'contracts-test' } },
    })
  })
})
