import { SchemaSet } from '../../src/contracts/schemas'
import { KafkaAdmin, Registry } from '../../src/kafka'
import { changelogTopic, topicNames, valueSubject, type TopicNames } from '../../src/topology/names'
import { endpoints, kafkaSettings } from './kafka'

export const schemas = SchemaSet.load()

/** A prefixed copy of the topology's topics for one test file, removed by `cleanup`. */
export interface TestTopology {
  prefix: string
  topics: TopicNames
  changelog: string
  registry: Registry
  cleanup(): Promise<void>
}

/** Creates the prefixed topics the implemented stages use and registers their schemas. */
export async function provisionTopology(prefix: string, partitions = 3): Promise<TestTopology> {
  const topics = topicNames(prefix)
  const changelog = `${prefix}${changelogTopic('dedup')}`
  const registry = new Registry(endpoints.registryUrl)
  const plan: Array<[string, string, Record<string, string>]> = [
    [topics.raw, 'Alert', {}],
    [topics.deduped, 'Alert', {}],
    [topics.decisions, 'Decision', {}],
    [topics.dlq, 'DeadLetter', {}],
    [changelog, 'DedupEntry', { 'cleanup.policy': 'compact' }],
  ]
  const admin = await KafkaAdmin.connect(kafkaSettings('test-topology'))
  try {
    await admin.ensureTopics(plan.map(([name, , configs]) => ({ name, partitions, configs })))
  } finally {
    await admin.disconnect()
  }
  for (const [name, schema] of plan) await registry.register(valueSubject(name), schemas.resolve(schema), 'BACKWARD')
  return {
    prefix,
    topics,
    changelog,
    registry,
    async cleanup() {
      const a = await KafkaAdmin.connect(kafkaSettings('test-topology'))
      try {
        const existing = new Set(await a.listTopics())
        await a.deleteTopics(plan.map(([name]) => name).filter((n) => existing.has(n)))
      } finally {
        await a.disconnect()
      }
    },
  }
}
