import { Registry as MetricsRegistry } from 'prom-client'
import type { AlertRecord } from '../../src/contracts/records'
import { SchemaSet } from '../../src/contracts/schemas'
import { createStageMetrics } from '../../src/runner/metrics'
import { StageRunner } from '../../src/runner/runner'
import { dedupStage } from '../../src/stages/dedup/stage'
import { KafkaAdmin, Registry } from '../../src/kafka'
import { applyTopology } from '../../src/topology/apply'
import { loadTopicsFile, planTopology, type TopicsFile } from '../../src/topology/topics-file'
import { changelogTopic, topicNames, type TopicNames } from '../../src/topology/names'
import { endpoints, kafkaSettings, testLogger } from './kafka'

export const schemas = SchemaSet.load()

/** A prefixed copy of the shipped topology for one test file, removed by `cleanup`. */
export interface TestTopology {
  prefix: string
  topics: TopicNames
  changelog: string
  registry: Registry
  cleanup(): Promise<void>
}

/**
 * Applies topology/topics.yaml under `prefix` (what `nightshift topology apply --prefix`
 * does), optionally with another partition count for every topic.
 */
export async function provisionTopology(prefix: string, partitions?: number): Promise<TestTopology> {
  const shipped = loadTopicsFile(schemas)
  const topology: TopicsFile =
    partitions === undefined ? shipped : { ...shipped, topics: shipped.topics.map((t) => ({ ...t, partitions })) }
  const registry = new Registry(endpoints.registryUrl, endpoints.registryAccess)
  const admin = await KafkaAdmin.connect(kafkaSettings('test-topology'))
  try {
    await applyTopology({ admin, registry, schemas, topology, prefix, logger: testLogger })
  } finally {
    await admin.disconnect()
  }
  const names = planTopology(topology, prefix).topics.map((t) => t.name)
  return {
    prefix,
    topics: topicNames(prefix),
    changelog: `${prefix}${changelogTopic('dedup')}`,
    registry,
    async cleanup() {
      const a = await KafkaAdmin.connect(kafkaSettings('test-topology'))
      try {
        const existing = new Set(await a.listTopics())
        await a.deleteTopics(names.filter((n) => existing.has(n)))
      } finally {
        await a.disconnect()
      }
    },
  }
}

/** A started dedup stage runner on `t`'s topics, dead-lettering to its DLQ. */
export async function startDedupRunner(t: TestTopology, clientId: string): Promise<StageRunner<AlertRecord, object>> {
  const runner = new StageRunner({
    stage: dedupStage(t.topics, t.prefix),
    kafka: kafkaSettings(clientId),
    registry: t.registry,
    schemas,
    dlqTopic: t.topics.dlq,
    metrics: createStageMetrics(new MetricsRegistry()),
    logger: testLogger,
  }) as unknown as StageRunner<AlertRecord, object>
  await runner.start()
  return runner
}
