import path from 'node:path'
import { SchemaSet } from '../../src/contracts/schemas'
import { ConfigError } from '../../src/errors'
import { STAGES, TOPICS, actionTopic, changelogTopic } from '../../src/topology/names'
import { loadTopicsFile, parseTopicsFile, planTopology, type TopicsFile } from '../../src/topology/topics-file'

const schemas = SchemaSet.load()
// Inside the working directory, so messages name it `topology/test.yaml`.
const FILE = path.resolve('topology', 'test.yaml')

const VALID = `
defaults: { partitions: 6, replicationFactor: 1 }
topics:
  alerts.raw: { schema: Alert }
  nightshift.dlq:
    schema: DeadLetter
    partitions: 2
    configs: { retention.ms: "1209600000" }
  slo.budget:
actions: { schema: ActionRequest, names: [page, thread-dump], partitions: 3 }
`

function parse(text: string): TopicsFile {
  return parseTopicsFile(text, FILE, schemas)
}

function topic(file: TopicsFile, name: string) {
  const found = file.topics.find((t) => t.name === name)
  if (!found) throw new Error(`no topic ${name}`)
  return found
}

describe('parseTopicsFile', () => {
  it('applies defaults, resolves schema names, derives the action topics, in file order', () => {
    const file = parse(VALID)
    expect(file.file).toBe('topology/test.yaml')
    expect(file.topics.map((t) => t.name)).toEqual([
      'alerts.raw',
      'nightshift.dlq',
      'slo.budget',
      'actions.page',
      'actions.thread-dump',
    ])
    expect(topic(file, 'alerts.raw')).toEqual({
      name: 'alerts.raw',
      partitions: 6,
      replicationFactor: 1,
      configs: {},
      schema: 'io.nightshift.alerts.Alert',
    })
    expect(topic(file, 'nightshift.dlq')).toMatchObject({ partitions: 2, configs: { 'retention.ms': '1209600000' } })
    expect(topic(file, 'slo.budget').schema).toBeUndefined()
    expect(topic(file, 'actions.page')).toMatchObject({ partitions: 3, schema: 'io.nightshift.actions.ActionRequest' })
    expect(file.actions).toEqual(['page', 'thread-dump'])
  })

  it('merges configs: defaults, then the actions block, then the topic', () => {
    const file = parse(`
defaults: { partitions: 1, replicationFactor: 1, configs: { min.insync.replicas: "1", retention.ms: "1" } }
topics:
  alerts.raw: { configs: { retention.ms: "2" } }
actions: { schema: ActionRequest, names: [page], configs: { retention.ms: "3" } }
`)
    expect(topic(file, 'alerts.raw').configs).toEqual({ 'min.insync.replicas': '1', 'retention.ms': '2' })
    expect(topic(file, 'actions.page').configs).toEqual({ 'min.insync.replicas': '1', 'retention.ms': '3' })
  })

  it('returns a frozen result', () => {
    const file = parse(VALID)
    expect(Object.isFrozen(file)).toBe(true)
    expect(Object.isFrozen(file.topics)).toBe(true)
    expect(Object.isFrozen(file.actions)).toBe(true)
    expect(file.topics.every((t) => Object.isFrozen(t) && Object.isFrozen(t.configs))).toBe(true)
  })

  const defaults = 'defaults: { partitions: 6, replicationFactor: 1 }\n'
  it.each([
    [
      'an unknown top-level key',
      `${defaults}topics: {}\nextras: 1\n`,
      '/extras is not allowed; expected one of: defaults, topics, actions',
    ],
    [
      'an unknown key in a topic',
      `${defaults}topics:\n  alerts.raw: { schema: Alert, partitons: 3 }\n`,
      '/topics/alerts.raw/partitons is not allowed; expected one of: schema, partitions, replicationFactor, configs',
    ],
    [
      'an unknown key in defaults',
      'defaults: { partitions: 6, replicationFactor: 1, retention: 1 }\ntopics: {}\n',
      '/defaults/retention is not allowed',
    ],
    [
      'an unknown key in actions',
      `${defaults}topics: {}\nactions: { schema: ActionRequest, names: [], topic: x }\n`,
      '/actions/topic is not allowed',
    ],
    [
      'partitions 0',
      `${defaults}topics:\n  alerts.raw: { partitions: 0 }\n`,
      '/topics/alerts.raw/partitions must be >= 1',
    ],
    [
      'replicationFactor 0 in defaults',
      'defaults: { partitions: 6, replicationFactor: 0 }\ntopics: {}\n',
      '/defaults/replicationFactor must be >= 1',
    ],
    [
      'partitions as a string',
      `${defaults}topics:\n  alerts.raw: { partitions: six }\n`,
      '/topics/alerts.raw/partitions must be integer',
    ],
    [
      'fractional partitions',
      `${defaults}topics:\n  alerts.raw: { partitions: 1.5 }\n`,
      '/topics/alerts.raw/partitions must be integer',
    ],
    [
      'a config value that is a number',
      `${defaults}topics:\n  nightshift.dlq: { configs: { retention.ms: 1209600000 } }\n`,
      '/topics/nightshift.dlq/configs/retention.ms must be string (quote it: "1209600000")',
    ],
    [
      'configs that are a list',
      `${defaults}topics:\n  alerts.raw: { configs: [a] }\n`,
      '/topics/alerts.raw/configs must be object',
    ],
    [
      'a config name that is not Kafka-shaped',
      `${defaults}topics:\n  alerts.raw: { configs: { Retention MS: "1" } }\n`,
      '/topics/alerts.raw/configs/Retention MS is not a Kafka config name',
    ],
    ['a topic that is a list', `${defaults}topics:\n  alerts.raw: [Alert]\n`, '/topics/alerts.raw must be object,null'],
    [
      'a schema that is not a string',
      `${defaults}topics:\n  alerts.raw: { schema: 1 }\n`,
      '/topics/alerts.raw/schema must be string',
    ],
    ['topics that are a list', `${defaults}topics: [alerts.raw]\n`, '/topics must be object'],
    ['no defaults', 'topics: {}\n', '/defaults is required'],
    [
      'defaults without partitions',
      'defaults: { replicationFactor: 1 }\ntopics: {}\n',
      '/defaults/partitions is required',
    ],
    ['no topics', defaults, '/topics is required'],
    [
      'actions without names',
      `${defaults}topics: {}\nactions: { schema: ActionRequest }\n`,
      '/actions/names is required',
    ],
    [
      'an action name with capitals',
      `${defaults}topics: {}\nactions: { schema: ActionRequest, names: [page, Restart] }\n`,
      '/actions/names/1 must be an action name',
    ],
    [
      'a repeated action name',
      `${defaults}topics: {}\nactions: { schema: ActionRequest, names: [page, page] }\n`,
      '/actions/names must not repeat a name',
    ],
    [
      'an unknown schema',
      `${defaults}topics:\n  alerts.raw: { schema: Alrt }\n`,
      '/topics/alerts.raw/schema names schema "Alrt", which is not defined in schemas/',
    ],
    [
      'an unknown action schema',
      `${defaults}topics: {}\nactions: { schema: ActionReq, names: [page] }\n`,
      '/actions/schema names schema "ActionReq", which is not defined in schemas/',
    ],
    [
      'an unknown topic name',
      `${defaults}topics:\n  alerts.rwa: { schema: Alert }\n`,
      '/topics/alerts.rwa is not a topic Nightshift knows (did you mean alerts.raw?)',
    ],
    [
      'an unknown changelog',
      `${defaults}topics:\n  nightshift.ingress-changelog: {}\n`,
      '/topics/nightshift.ingress-changelog is not a topic Nightshift knows (did you mean nightshift.ingest-changelog?)',
    ],
    [
      'an action topic declared as a topic',
      `${defaults}topics:\n  actions.page: {}\n`,
      '/topics/actions.page is an action topic: add "page" to /actions/names instead',
    ],
    [
      'an action whose topic is a role',
      `${defaults}topics: {}\nactions: { schema: ActionRequest, names: [outcomes] }\n`,
      '/actions/names/0 "outcomes" would use topic actions.outcomes, which is not an action topic',
    ],
    [
      'a YAML syntax error',
      `${defaults}topics:\n  alerts.raw: [Alert,\n  slo.budget: {}\n`,
      'line 4, column 3: invalid YAML: Flow sequence in block collection must be sufficiently indented',
    ],
    [
      'a duplicate key',
      `${defaults}topics:\n  alerts.raw: {}\n  alerts.raw: {}\n`,
      'line 4, column 3: invalid YAML: Map keys must be unique',
    ],
    [
      'a tab as indentation',
      `${defaults}topics:\n\talerts.raw: {}\n`,
      'line 3, column 1: invalid YAML: Tabs are not allowed as indentation',
    ],
    ['an empty file', '# nothing yet\n', 'the file is empty'],
    ['a file that is a list', '- alerts.raw\n', '(top level) must be object'],
  ])('rejects %s', (_case, text, fragment) => {
    expect(() => parse(text)).toThrow(ConfigError)
    expect(() => parse(text)).toThrow(`topology/test.yaml: ${fragment}`)
  })

  it('reports every problem at once, one line each', () => {
    const text = `${defaults}topics:\n  alerts.rwa: {}\n  alerts.raw: { schema: Alrt }\n  actions.exec: {}\n`
    const lines = (() => {
      try {
        parse(text)
      } catch (err) {
        return (err as Error).message.split('\n')
      }
      throw new Error('expected a ConfigError')
    })()
    expect(lines).toHaveLength(3)
    expect(lines.every((l) => l.startsWith('topology/test.yaml: /topics/'))).toBe(true)
  })

  it('names the file it cannot read', () => {
    expect(() => loadTopicsFile(schemas, path.resolve('topology', 'missing.yaml'))).toThrow(
      /^topology\/missing\.yaml: cannot read the topics file: .*ENOENT/,
    )
  })
})

describe('the shipped topology/topics.yaml', () => {
  const shipped = loadTopicsFile(schemas)
  const known = new Set<string>([...Object.values(TOPICS), ...STAGES.map((s) => changelogTopic(s))])

  it('loads, and names it relative to the project', () => {
    expect(shipped.file).toBe(path.join('topology', 'topics.yaml'))
  })

  it('declares every topic role of names.ts, with the default settings of the local stack', () => {
    const names = shipped.topics.map((t) => t.name)
    for (const role of Object.values(TOPICS)) expect(names).toContain(role)
    expect(names).toContain(changelogTopic('dedup'))
    expect(shipped.topics.every((t) => t.replicationFactor === 1 && t.partitions === 6)).toBe(true)
  })

  it('has an ActionRequest topic per built-in action, and the example custom action', () => {
    expect(shipped.actions).toEqual(['page', 'webhook', 'exec', 'log-level', 'thread-dump', 'incident-note'])
    for (const action of shipped.actions)
      expect(topic(shipped, actionTopic(action)).schema).toBe('io.nightshift.actions.ActionRequest')
    expect(shipped.topics.filter((t) => !known.has(t.name)).map((t) => t.name)).toEqual(
      shipped.actions.map(actionTopic),
    )
  })

  it.each([
    [TOPICS.raw, 'io.nightshift.alerts.Alert'],
    [TOPICS.deduped, 'io.nightshift.alerts.Alert'],
    [TOPICS.enriched, 'io.nightshift.alerts.EnrichedAlert'],
    [TOPICS.admitted, 'io.nightshift.alerts.EnrichedAlert'],
    [TOPICS.throttled, 'io.nightshift.alerts.EnrichedAlert'],
    [TOPICS.unrouted, 'io.nightshift.alerts.EnrichedAlert'],
    [TOPICS.outcomes, 'io.nightshift.actions.ActionOutcome'],
    [TOPICS.decisions, 'io.nightshift.decisions.Decision'],
    [TOPICS.dlq, 'io.nightshift.dlq.DeadLetter'],
    [changelogTopic('dedup'), 'io.nightshift.state.DedupEntry'],
    [TOPICS.sloEvents, 'io.nightshift.slo.SloEvent'],
    [TOPICS.budget, 'io.nightshift.slo.SloBudget'],
    [TOPICS.ledger, 'io.nightshift.state.LedgerEntry'],
    [TOPICS.control, undefined],
  ])('%s carries %s', (name, schema) => {
    expect(topic(shipped, name).schema).toBe(schema)
  })

  it.each([
    [TOPICS.control, 'compact'],
    [TOPICS.budget, 'compact'],
    [changelogTopic('dedup'), 'compact,delete'],
    [changelogTopic('ratelimit'), 'compact,delete'],
  ])('%s is compacted (cleanup.policy %s)', (name, policy) => {
    expect(topic(shipped, name).configs['cleanup.policy']).toBe(policy)
  })

  it('ages dedup episodes out after 7 days and keeps dead letters 14 days', () => {
    expect(topic(shipped, changelogTopic('dedup')).configs['retention.ms']).toBe(String(7 * 24 * 3600 * 1000))
    expect(topic(shipped, TOPICS.dlq).configs['retention.ms']).toBe(String(14 * 24 * 3600 * 1000))
  })
})

describe('planTopology', () => {
  const shipped = loadTopicsFile(schemas)

  it('applies the prefix to every topic and subject', () => {
    const prefix = 'test.abc.'
    const plan = planTopology(shipped, prefix)
    expect(plan.topics).toHaveLength(shipped.topics.length)
    expect(plan.topics.map((t) => t.name)).toEqual(shipped.topics.map((t) => `${prefix}${t.name}`))
    const withSchema = shipped.topics.filter((t) => t.schema !== undefined)
    expect(plan.subjects).toEqual(
      withSchema.map((t) => ({ topic: `${prefix}${t.name}`, subject: `${prefix}${t.name}-value`, schema: t.schema })),
    )
  })

  it('carries partitions, replication factor and configs into the topic specs', () => {
    const plan = planTopology(shipped)
    expect(plan.topics.find((t) => t.name === changelogTopic('dedup'))).toEqual({
      name: 'nightshift.dedup-changelog',
      partitions: 6,
      replicationFactor: 1,
      configs: { 'cleanup.policy': 'compact,delete', 'retention.ms': '604800000' },
    })
    expect(plan.subjects.find((s) => s.topic === TOPICS.raw)).toEqual({
      topic: 'alerts.raw',
      subject: 'alerts.raw-value',
      schema: 'io.nightshift.alerts.Alert',
    })
  })

  it('registers no subject for a topic without a schema', () => {
    const subjects = planTopology(shipped).subjects.map((s) => s.topic)
    expect(subjects).not.toContain(TOPICS.control)
  })

  it.each([['with space.'], ['slash/'], ['x'.repeat(240)]])('rejects the prefix %j', (prefix) => {
    expect(() => planTopology(shipped, prefix)).toThrow(ConfigError)
  })
})
