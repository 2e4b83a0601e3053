import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Command } from 'commander'
import { addTopologyCommands } from '../../src/cli/topology'
import { SCHEMA_DIR, SchemaSet } from '../../src/contracts/schemas'
import { SchemaIncompatibleError } from '../../src/errors'
import { KafkaAdmin, Registry } from '../../src/kafka'
import { applyTopology, type ApplyReport } from '../../src/topology/apply'
import { changelogTopic } from '../../src/topology/names'
import { loadTopicsFile, parseTopicsFile, planTopology } from '../../src/topology/topics-file'
import { endpoints, kafkaSettings, testLogger, uniqueName } from '../support/kafka'

const root = path.resolve(__dirname, '..', '..')

async function compatibilityOf(subject: string): Promise<string> {
  const res = await fetch(`${endpoints.registryUrl}/config/${encodeURIComponent(subject)}`)
  return ((await res.json()) as { compatibilityLevel: string }).compatibilityLevel
}

/** Soft then hard delete, as the Confluent API wants; a missing subject is fine. */
async function deleteSubject(subject: string): Promise<void> {
  const url = `${endpoints.registryUrl}/subjects/${encodeURIComponent(subject)}`
  await fetch(url, { method: 'DELETE' })
  await fetch(`${url}?permanent=true`, { method: 'DELETE' })
}

/** A copy of schemas/ whose Alert has a new field without a default: not BACKWARD compatible. */
function schemasWithIncompatibleAlert(dir: string): SchemaSet {
  for (const file of fs.readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.avsc'))) {
    fs.copyFileSync(path.join(SCHEMA_DIR, file), path.join(dir, file))
  }
  const alertFile = path.join(dir, 'alert.avsc')
  const alert = JSON.parse(fs.readFileSync(alertFile, 'utf8')) as { fields: object[] }
  alert.fields.push({ name: 'tenant', type: 'string' })
  fs.writeFileSync(alertFile, JSON.stringify(alert))
  return SchemaSet.load(dir)
}

describe('nightshift topology apply (real broker and registry)', () => {
  const prefix = `${uniqueName('topology')}.`
  const schemas = SchemaSet.load()
  const topology = loadTopicsFile(schemas)
  const plan = planTopology(topology, prefix)
  const registry = new Registry(endpoints.registryUrl)
  const topics = new Set(plan.topics.map((t) => t.name))
  const subjects = new Set(plan.subjects.map((s) => s.subject))
  let admin: KafkaAdmin
  let tmp: string
  let first: ApplyReport

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nightshift-topology-'))
    admin = await KafkaAdmin.connect(kafkaSettings('it-topology-admin'))
    first = await applyTopology({ admin, registry, schemas, topology, prefix, logger: testLogger })
  })

  afterAll(async () => {
    const present = new Set(await admin.listTopics())
    await admin.deleteTopics([...topics].filter((t) => present.has(t)))
    await admin.disconnect()
    for (const subject of subjects) await deleteSubject(subject)
    fs.rmSync(tmp, { recursive: true, force: true })
  })

  it('creates every topic with its partitions and configs', async () => {
    expect([...first.created].sort()).toEqual([...topics].sort())
    expect(first.existing).toEqual([])
    expect(first.drift).toEqual([])
    const described = await admin.describeTopics([...topics])
    for (const spec of plan.topics) {
      const actual = described.get(spec.name)
      expect({ topic: spec.name, partitions: actual?.partitions }).toEqual({
        topic: spec.name,
        partitions: spec.partitions,
      })
      for (const [name, value] of Object.entries(spec.configs ?? {})) expect(actual?.configs[name]).toBe(value)
    }
    expect(described.get(`${prefix}${changelogTopic('dedup')}`)?.configs['cleanup.policy']).toBe('compact,delete')
  })

  it('registers every subject under <prefix><topic>-value with BACKWARD compatibility', async () => {
    expect(first.registered.map((r) => r.subject)).toEqual(plan.subjects.map((s) => s.subject))
    for (const { subject, id } of first.registered) {
      expect(subject.startsWith(prefix)).toBe(true)
      expect(await compatibilityOf(subject)).toBe('BACKWARD')
      expect(await registry.latestId(subject)).toBe(id)
    }
  })

  it('is safe to run again: nothing created, the same ids', async () => {
    const again = await applyTopology({ admin, registry, schemas, topology, prefix, logger: testLogger })
    expect(again.created).toEqual([])
    expect([...again.existing].sort()).toEqual([...topics].sort())
    expect(again.drift).toEqual([])
    expect(again.registered).toEqual(first.registered)
  })

  it('prints the summary from the CLI command', async () => {
    const out: string[] = []
    const program = new Command('nightshift').exitOverride()
    addTopologyCommands(program, {
      print: (text) => out.push(text),
      logger: testLogger,
      progressStream: { write: () => true },
    })
    await program.parseAsync(['node', 'nightshift', 'topology', 'apply', '--prefix', prefix])
    const summary = out.join('\n')
    expect(summary).toContain(`topology/topics.yaml with prefix "${prefix}"`)
    expect(summary).toContain('  created 0 topic(s)\n')
    expect(summary).toContain(`  existing ${topics.size} topic(s): ${prefix}alerts.raw, `)
    const raw = first.registered.find((r) => r.subject === `${prefix}alerts.raw-value`)!
    expect(summary).toContain(`    ${raw.subject}  io.nightshift.alerts.Alert  id ${raw.id}`)
  })

  it('rejects an incompatible schema change naming the schema and the subject', async () => {
    const changed = schemasWithIncompatibleAlert(tmp)
    const attempt = applyTopology({ admin, registry, schemas: changed, topology, prefix, logger: testLogger })
    await expect(attempt).rejects.toBeInstanceOf(SchemaIncompatibleError)
    await expect(attempt).rejects.toMatchObject({
      schemaName: 'io.nightshift.alerts.Alert',
      subject: `${prefix}alerts.raw-value`,
    })
    await expect(attempt).rejects.toThrow(
      `schema io.nightshift.alerts.Alert is incompatible with subject ${prefix}alerts.raw-value`,
    )
  })

  it('reports an existing topic with fewer partitions than declared and leaves it alone', async () => {
    const small = `${uniqueName('topology-drift')}.`
    topics.add(`${small}alerts.raw`)
    await admin.ensureTopics([{ name: `${small}alerts.raw`, partitions: 2 }])
    const one = parseTopicsFile(
      'defaults: { partitions: 4, replicationFactor: 1 }\ntopics:\n  alerts.raw:\n',
      'drift.yaml',
      schemas,
    )
    const report = await applyTopology({ admin, registry, schemas, topology: one, prefix: small, logger: testLogger })
    expect(report.created).toEqual([])
    expect(report.drift).toEqual([{ topic: `${small}alerts.raw`, differences: ['2 partitions, declared 4'] }])
    expect((await admin.describeTopics([`${small}alerts.raw`])).get(`${small}alerts.raw`)?.partitions).toBe(2)
  })

  it('exits 1 with `nightshift: <message> [NS_CONFIG]` when the file is invalid', async () => {
    const bad = path.join(tmp, 'bad.yaml')
    fs.writeFileSync(bad, 'defaults: { partitions: 0, replicationFactor: 1 }\ntopics: {}\n')
    const child = spawn(
      process.execPath,
      [path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'src/main.ts', 'topology', 'apply', '--file', bad],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
    expect(code).toBe(1)
    expect(stderr).toContain(`nightshift: ${bad}: /defaults/partitions must be >= 1 [NS_CONFIG]`)
  })
})
