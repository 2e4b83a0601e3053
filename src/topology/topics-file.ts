/**
 * `topology/topics.yaml`: the topics Nightshift needs, their settings, and the schema
 * each one carries. Validated once at load (unknown keys rejected, errors name the
 * file, the path and what was expected), then frozen, so nothing downstream re-checks.
 */
import path from 'node:path'
import type { SchemaSet } from '../contracts/schemas'
import { displayName, readConfigFile, yamlFormat } from '../config/yaml-file'
import { ConfigError } from '../errors'
import type { TopicSpec } from '../kafka'
import { STAGES, TOPICS, actionTopic, changelogTopic, valueSubject } from './names'

/** The shipped topics file, relative to the project root. */
export const TOPICS_FILE = path.resolve(__dirname, '..', '..', 'topology', 'topics.yaml')

/** One topic of the topology, with the defaults applied; the name has no prefix. */
export interface TopologyTopic {
  readonly name: string
  readonly partitions: number
  readonly replicationFactor: number
  readonly configs: Readonly<Record<string, string>>
  /** Full name of the value schema in schemas/, when the topic has a contract yet. */
  readonly schema?: string
}

/** The validated, frozen contents of a topics file. */
export interface TopicsFile {
  /** The file as named in error messages. */
  readonly file: string
  /** Every topic in file order: the declared topics, then the action topics. */
  readonly topics: readonly TopologyTopic[]
  /** The declared action names; each one's topic is `actionTopic(name)`. */
  readonly actions: readonly string[]
}

/** A subject to register: `<prefix><topic>-value` carrying `schema` (a full name). */
export interface PlannedSubject {
  readonly topic: string
  readonly subject: string
  readonly schema: string
}

/** What applying a topics file does: topics to ensure, then subjects to register. */
export interface TopologyPlan {
  readonly topics: TopicSpec[]
  readonly subjects: PlannedSubject[]
}

interface RawSettings {
  partitions?: number
  replicationFactor?: number
  configs?: Record<string, string>
}

interface RawFile {
  defaults: RawSettings & { partitions: number; replicationFactor: number }
  topics: Record<string, (RawSettings & { schema?: string }) | null>
  actions?: RawSettings & { schema: string; names: string[] }
}

const ACTION_NAME = '^[a-z][a-z0-9-]*$'
// Kafka's own config names: lower-case words joined by dots.
const CONFIG_NAME = '^[a-z][a-z0-9]*(\\.[a-z0-9]+)*$'

/** What each pattern means, for error messages. */
const PATTERN_MEANS: Record<string, string> = {
  [ACTION_NAME]: 'an action name: lower-case letters, digits and "-", starting with a letter',
}

const SETTINGS = {
  partitions: { type: 'integer', minimum: 1 },
  replicationFactor: { type: 'integer', minimum: 1 },
  configs: {
    type: 'object',
    propertyNames: { pattern: CONFIG_NAME },
    additionalProperties: { type: 'string' },
  },
} as const

/** The JSON schema of a topics file (after YAML parsing). */
const TOPICS_FORMAT_PATTERNS = {
  ...PATTERN_MEANS,
  propertyNames: 'a Kafka config name (expected lower-case words joined by dots, e.g. retention.ms)',
}

export const TOPICS_FILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['defaults', 'topics'],
  properties: {
    defaults: {
      type: 'object',
      additionalProperties: false,
      required: ['partitions', 'replicationFactor'],
      properties: SETTINGS,
    },
    topics: {
      type: 'object',
      additionalProperties: {
        // null: a topic with the defaults and no schema (`slo.budget:` on its own).
        type: ['object', 'null'],
        additionalProperties: false,
        properties: { schema: { type: 'string', minLength: 1 }, ...SETTINGS },
      },
    },
    actions: {
      type: 'object',
      additionalProperties: false,
      required: ['schema', 'names'],
      properties: {
        schema: { type: 'string', minLength: 1 },
        names: { type: 'array', uniqueItems: true, items: { type: 'string', pattern: ACTION_NAME } },
        ...SETTINGS,
      },
    },
  },
} as const

const TOPICS_FORMAT = yamlFormat<RawFile>(TOPICS_FILE_SCHEMA, { emptyMeans: 'the keys defaults and topics', patternMeans: TOPICS_FORMAT_PATTERNS })




/** Every default topic name a topics file may declare, besides the action topics. */
function knownTopicNames(): Set<string> {
  return new Set<string>([...Object.values(TOPICS), ...STAGES.map((s) => changelogTopic(s))])
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = row
  }
  return previous[b.length]!
}

function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: { name: string; distance: number } | undefined
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate)
    if (distance <= 3 && (!best || distance < best.distance)) best = { name: candidate, distance }
  }
  return best?.name
}

function freezeTopic(topic: TopologyTopic): TopologyTopic {
  Object.freeze(topic.configs)
  return Object.freeze(topic)
}

/**
 * Validates the text of a topics file. `file` is the path used in messages. Every
 * problem is reported, one line each: `<file>: <JSON path> <what was expected>`.
 * @throws ConfigError on invalid YAML (naming the line), a schema violation, an
 * unknown topic name, or a schema name that is not in `schemas`.
 */
export function parseTopicsFile(text: string, file: string, schemas: SchemaSet): TopicsFile {
  const name = displayName(file)
  const data = TOPICS_FORMAT.parse(text, file)

  const problems: string[] = []
  const schemaName = (at: string, declared: string | undefined): string | undefined => {
    if (declared === undefined) return undefined
    try {
      return schemas.fullName(declared)
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      problems.push(`${at} names schema "${declared}", which is not defined in schemas/ (known: ${schemas.names().join(', ')})`)
      return undefined
    }
  }

  const known = knownTopicNames()
  const { defaults } = data
  const settings = (own: RawSettings, inherited: RawSettings = {}) => ({
    partitions: own.partitions ?? inherited.partitions ?? defaults.partitions,
    replicationFactor: own.replicationFactor ?? inherited.replicationFactor ?? defaults.replicationFactor,
    configs: { ...defaults.configs, ...inherited.configs, ...own.configs },
  })

  const topics: TopologyTopic[] = []
  for (const [topic, declared] of Object.entries(data.topics)) {
    const at = `/topics/${topic}`
    if (!known.has(topic)) {
      if (topic.startsWith(actionTopic(''))) {
        problems.push(`${at} is an action topic: add "${topic.slice(actionTopic('').length)}" to /actions/names instead`)
      } else {
        const hint = closest(topic, known)
        problems.push(
          `${at} is not a topic Nightshift knows${hint ? ` (did you mean ${hint}?)` : ''}; expected one of: ${[...known].join(', ')}, or an action under /actions/names`,
        )
      }
      continue
    }
    const own = declared ?? {}
    const schema = schemaName(`${at}/schema`, own.schema)
    topics.push(freezeTopic({ name: topic, ...settings(own), ...(schema ? { schema } : {}) }))
  }

  const actions = data.actions?.names ?? []
  if (data.actions) {
    const schema = schemaName('/actions/schema', data.actions.schema)
    actions.forEach((action, i) => {
      const topic = actionTopic(action)
      if (known.has(topic)) {
        problems.push(`/actions/names/${i} "${action}" would use topic ${topic}, which is not an action topic; pick another name`)
        return
      }
      topics.push(freezeTopic({ name: topic, ...settings({}, data.actions), ...(schema ? { schema } : {}) }))
    })
  }

  if (problems.length > 0) throw new ConfigError(problems.map((p) => `${name}: ${p}`).join('\n'))
  return Object.freeze({ file: name, topics: Object.freeze(topics), actions: Object.freeze([...actions]) })
}

/**
 * Loads and validates a topics file (default: the shipped `topology/topics.yaml`).
 * @throws ConfigError naming the file when it cannot be read or does not validate.
 */
export function loadTopicsFile(schemas: SchemaSet, file: string = TOPICS_FILE): TopicsFile {
  return parseTopicsFile(readConfigFile(file, 'topics file'), file, schemas)
}

// Kafka's legal topic characters; the longest default name leaves room for a prefix.
const LEGAL_PREFIX = /^[A-Za-z0-9._-]*$/
const MAX_TOPIC_NAME = 249

/**
 * What applying `topics` does under `prefix` (empty in production; e.g. `test.abc.` for
 * an isolated run): every topic name and every subject gets the prefix.
 * @throws ConfigError when the prefix would make an illegal topic name.
 */
export function planTopology(topics: TopicsFile, prefix = ''): TopologyPlan {
  if (!LEGAL_PREFIX.test(prefix)) {
    throw new ConfigError(`topic prefix "${prefix}" may only contain letters, digits, ".", "_" and "-"`)
  }
  const tooLong = topics.topics.find((t) => prefix.length + t.name.length > MAX_TOPIC_NAME)
  if (tooLong) throw new ConfigError(`topic prefix "${prefix}" makes ${prefix}${tooLong.name} longer than Kafka's ${MAX_TOPIC_NAME} characters`)

  const specs: TopicSpec[] = []
  const subjects: PlannedSubject[] = []
  for (const t of topics.topics) {
    const name = `${prefix}${t.name}`
    specs.push({ name, partitions: t.partitions, replicationFactor: t.replicationFactor, configs: { ...t.configs } })
    if (t.schema) subjects.push({ topic: name, subject: valueSubject(name), schema: t.schema })
  }
  return { topics: specs, subjects }
}
