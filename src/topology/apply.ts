/**
 * `nightshift topology apply`: makes the cluster and the registry match a topics file.
 * Creates the missing topics, registers every topic's value schema, and never alters
 * an existing topic: a difference is reported for a person to decide.
 */
import type { SchemaSet } from '../contracts/schemas'
import type { Compatibility, KafkaAdmin, Registry } from '../kafka'
import type { Logger } from '../log'
import type { Progress } from '../progress'
import { planTopology, type PlannedSubject, type TopicsFile } from './topics-file'

/** Every subject is registered with this level: consumers upgrade after producers. */
export const SUBJECT_COMPATIBILITY: Compatibility = 'BACKWARD'

export interface ApplyOptions {
  admin: Pick<KafkaAdmin, 'ensureTopics' | 'listTopics' | 'describeTopics'>
  registry: Pick<Registry, 'register'>
  schemas: SchemaSet
  topology: TopicsFile
  /** Prepended to every topic and subject name; empty in production. */
  prefix?: string
  logger: Logger
  /** Report what would be created and registered, and change nothing. */
  dryRun?: boolean
  /** Steps and a counter of the subjects registered (the CLI shows them on stderr). */
  progress?: Progress
}

export interface RegisteredSubject {
  subject: string
  /** Full name of the schema. */
  schema: string
  id: number
}

/** An existing topic that differs from its declaration; apply left it as it is. */
export interface TopicDrift {
  topic: string
  /** What differs, e.g. `3 partitions, declared 6` or `retention.ms is 1000, declared 604800000`. */
  differences: string[]
}

export interface ApplyReport {
  dryRun: boolean
  /** Topics this run created (dry run: would create), with the prefix. */
  created: string[]
  /** Declared topics that existed already. */
  existing: string[]
  /** Subjects registered with their schema ids; empty on a dry run. */
  registered: RegisteredSubject[]
  /** On a dry run: the subjects a real run would register. */
  wouldRegister: PlannedSubject[]
  /** Existing topics with fewer partitions or other configs than declared. */
  drift: TopicDrift[]
}

/** A list-valued config (cleanup.policy) means the same in any order. */
function sameConfig(name: string, actual: string, declared: string): boolean {
  if (name !== 'cleanup.policy') return actual === declared
  const norm = (v: string) => v.split(',').map((p) => p.trim()).sort().join(',')
  return norm(actual) === norm(declared)
}

async function findDrift(options: ApplyOptions, declared: Map<string, { partitions: number; configs: Record<string, string> }>, existing: string[]): Promise<TopicDrift[]> {
  const described = await options.admin.describeTopics(existing)
  const drift: TopicDrift[] = []
  for (const topic of existing) {
    const want = declared.get(topic)
    const have = described.get(topic)
    if (!want || !have) continue
    const differences: string[] = []
    if (have.partitions !== want.partitions) differences.push(`${have.partitions} partitions, declared ${want.partitions}`)
    for (const [name, value] of Object.entries(want.configs)) {
      const actual = have.configs[name]
      if (actual === undefined || !sameConfig(name, actual, value)) differences.push(`${name} is ${actual ?? 'unset'}, declared ${value}`)
    }
    if (differences.length > 0) drift.push({ topic, differences })
  }
  return drift
}

/**
 * Applies a topics file: creates the missing topics with their partitions and configs,
 * then registers each topic's schema under `<prefix><topic>-value` with BACKWARD
 * compatibility. Safe to run again: a second run creates nothing and gets the same ids.
 * Existing topics are never changed; how they differ is in the report's `drift`.
 * @throws SchemaIncompatibleError when a schema change breaks its subject's
 * compatibility (naming the schema, the subject and the reason); topics created
 * before that stay.
 */
export async function applyTopology(options: ApplyOptions): Promise<ApplyReport> {
  const log = options.logger.child({ module: 'topology' })
  const prefix = options.prefix ?? ''
  const dryRun = options.dryRun ?? false
  const plan = planTopology(options.topology, prefix)
  const declared = new Map(plan.topics.map((t) => [t.name, { partitions: t.partitions, configs: t.configs ?? {} }]))

  log.info({ file: options.topology.file, prefix, topics: plan.topics.length, dryRun }, 'creating topics')
  options.progress?.step(`${dryRun ? 'checking' : 'creating'} ${plan.topics.length} topics`)
  let created: string[]
  if (dryRun) {
    const present = new Set(await options.admin.listTopics())
    created = plan.topics.filter((t) => !present.has(t.name)).map((t) => t.name)
  } else {
    created = await options.admin.ensureTopics(plan.topics)
  }
  const createdSet = new Set(created)
  const existing = plan.topics.filter((t) => !createdSet.has(t.name)).map((t) => t.name)
  for (const topic of created) log.debug({ topic, partitions: declared.get(topic)?.partitions, dryRun }, dryRun ? 'would create topic' : 'created topic')
  log.info({ created: created.length, existing: existing.length, dryRun }, 'topics ready')
  options.progress?.done(`${created.length} topic(s) ${dryRun ? 'to create' : 'created'}, ${existing.length} existing`)

  const drift = await findDrift(options, declared, existing)
  for (const d of drift) log.warn({ topic: d.topic, differences: d.differences }, 'existing topic differs from the topology; left unchanged')

  if (dryRun) {
    log.info({ subjects: plan.subjects.length }, 'dry run: not registering schemas')
    return { dryRun, created, existing, registered: [], wouldRegister: plan.subjects, drift }
  }

  log.info({ subjects: plan.subjects.length, compatibility: SUBJECT_COMPATIBILITY }, 'registering schemas')
  const registered: RegisteredSubject[] = []
  options.progress?.step(`registering ${plan.subjects.length} schemas`)
  for (const { subject, schema } of plan.subjects) {
    const id = await options.registry.register(subject, options.schemas.resolve(schema), SUBJECT_COMPATIBILITY)
    log.debug({ subject, schema, id }, 'registered schema')
    registered.push({ subject, schema, id })
    options.progress?.update(registered.length, plan.subjects.length, subject)
  }
  options.progress?.done()
  return { dryRun, created, existing, registered, wouldRegister: [], drift }
}
