import { SchemaSet } from '../../src/contracts/schemas'
import { SchemaIncompatibleError } from '../../src/errors'
import type { AvroSchema, Compatibility, TopicDescription, TopicSpec } from '../../src/kafka'
import { createLogger } from '../../src/log'
import { applyTopology, type ApplyOptions } from '../../src/topology/apply'
import { loadTopicsFile, planTopology, type TopicsFile } from '../../src/topology/topics-file'

const schemas = SchemaSet.load()
const shipped = loadTopicsFile(schemas)
const logger = createLogger({ level: 'silent' })

/** An in-memory cluster: topics with partitions and configs. */
class FakeAdmin {
  readonly topics = new Map<string, TopicDescription>()
  ensureCalls = 0

  async ensureTopics(specs: TopicSpec[]): Promise<string[]> {
    this.ensureCalls++
    const created: string[] = []
    for (const s of specs) {
      if (this.topics.has(s.name)) continue
      this.topics.set(s.name, { partitions: s.partitions, configs: { 'cleanup.policy': 'delete', ...s.configs } })
      created.push(s.name)
    }
    return created
  }

  async listTopics(): Promise<string[]> {
    return [...this.topics.keys()]
  }

  async describeTopics(names: string[]): Promise<Map<string, TopicDescription>> {
    return new Map(names.flatMap((n) => (this.topics.has(n) ? [[n, this.topics.get(n)!] as const] : [])))
  }
}

/** An in-memory registry: one id per distinct schema text, like a real one. */
class FakeRegistry {
  readonly calls: Array<{ subject: string; schema: AvroSchema; compatibility: Compatibility }> = []
  private readonly ids = new Map<string, number>()
  rejectSubject?: string

  async register(subject: string, schema: AvroSchema, compatibility: Compatibility = 'BACKWARD'): Promise<number> {
    this.calls.push({ subject, schema, compatibility })
    if (subject === this.rejectSubject)
      throw new SchemaIncompatibleError(`${schema.namespace}.${schema.name}`, subject, 'test')
    const text = JSON.stringify(schema)
    if (!this.ids.has(text)) this.ids.set(text, this.ids.size + 1)
    return this.ids.get(text)!
  }
}

function options(admin: FakeAdmin, registry: FakeRegistry, extra: Partial<ApplyOptions> = {}): ApplyOptions {
  return { admin, registry, schemas, topology: shipped, prefix: 'p.', logger, ...extra }
}

describe('applyTopology', () => {
  const plan = planTopology(shipped, 'p.')

  it('creates every topic, then registers every subject with BACKWARD and the self-contained schema', async () => {
    const admin = new FakeAdmin()
    const registry = new FakeRegistry()
    const report = await applyTopology(options(admin, registry))
    expect(report.created).toEqual(plan.topics.map((t) => t.name))
    expect(report.existing).toEqual([])
    expect(report.drift).toEqual([])
    expect(report.registered.map((r) => [r.subject, r.schema])).toEqual(plan.subjects.map((s) => [s.subject, s.schema]))
    expect(registry.calls.every((c) => c.compatibility === 'BACKWARD')).toBe(true)
    const enriched = registry.calls.find((c) => c.subject === 'p.alerts.enriched-value')!.schema
    expect(enriched).toEqual(schemas.resolve('EnrichedAlert'))
    expect(JSON.stringify(enriched)).toContain('"name":"Alert"')
  })

  it('is safe to run again: creates nothing and gets the same ids', async () => {
    const admin = new FakeAdmin()
    const registry = new FakeRegistry()
    const first = await applyTopology(options(admin, registry))
    const second = await applyTopology(options(admin, registry))
    expect(second.created).toEqual([])
    expect(second.existing).toEqual(first.created)
    expect(second.registered).toEqual(first.registered)
  })

  it.each([
    ['fewer partitions', 'p.alerts.raw', { partitions: 2, configs: {} }, ['2 partitions, declared 6']],
    ['more partitions', 'p.alerts.raw', { partitions: 12, configs: {} }, ['12 partitions, declared 6']],
    [
      'other configs',
      'p.nightshift.dedup-changelog',
      { partitions: 6, configs: { 'cleanup.policy': 'compact', 'retention.ms': '1000' } },
      ['cleanup.policy is compact, declared compact,delete', 'retention.ms is 1000, declared 604800000'],
    ],
    [
      'a config left unset',
      'p.nightshift.dedup-changelog',
      { partitions: 6, configs: { 'cleanup.policy': 'compact,delete' } },
      ['retention.ms is unset, declared 604800000'],
    ],
  ])(
    'reports an existing topic with %s and leaves it unchanged',
    async (_case, topic, existing: TopicDescription, differences) => {
      const admin = new FakeAdmin()
      admin.topics.set(topic, existing)
      const report = await applyTopology(options(admin, new FakeRegistry()))
      expect(report.existing).toEqual([topic])
      expect(report.drift).toEqual([{ topic, differences }])
      expect(admin.topics.get(topic)).toBe(existing)
    },
  )

  it('treats cleanup.policy as a set', async () => {
    const admin = new FakeAdmin()
    admin.topics.set('p.nightshift.dedup-changelog', {
      partitions: 6,
      configs: { 'cleanup.policy': 'delete,compact', 'retention.ms': '604800000' },
    })
    expect((await applyTopology(options(admin, new FakeRegistry()))).drift).toEqual([])
  })

  it('changes nothing on a dry run, and says what it would do', async () => {
    const admin = new FakeAdmin()
    admin.topics.set('p.alerts.raw', { partitions: 6, configs: {} })
    const registry = new FakeRegistry()
    const report = await applyTopology(options(admin, registry, { dryRun: true }))
    expect(admin.ensureCalls).toBe(0)
    expect(registry.calls).toEqual([])
    expect(report).toMatchObject({
      dryRun: true,
      existing: ['p.alerts.raw'],
      registered: [],
      wouldRegister: plan.subjects,
    })
    expect(report.created).toEqual(plan.topics.map((t) => t.name).filter((n) => n !== 'p.alerts.raw'))
  })

  it('lets an incompatible schema change propagate, and registers nothing after it', async () => {
    const registry = new FakeRegistry()
    registry.rejectSubject = 'p.alerts.deduped-value'
    await expect(applyTopology(options(new FakeAdmin(), registry))).rejects.toThrow(SchemaIncompatibleError)
    expect(registry.calls.map((c) => c.subject)).toEqual(['p.alerts.raw-value', 'p.alerts.deduped-value'])
  })

  it('applies a file without schemas or actions', async () => {
    const topology: TopicsFile = {
      file: 'x.yaml',
      topics: [{ name: 'slo.budget', partitions: 1, replicationFactor: 1, configs: {} }],
      actions: [],
    }
    const registry = new FakeRegistry()
    const report = await applyTopology(options(new FakeAdmin(), registry, { topology, prefix: '' }))
    expect(report).toEqual({
      dryRun: false,
      created: ['slo.budget'],
      existing: [],
      registered: [],
      wouldRegister: [],
      drift: [],
    })
  })
})
