import type { SloBudgetRecord } from '../../contracts/records'
import { ConfigError } from '../../errors'
import { KafkaAdmin, RecordProducer, type KafkaSettings, type Registry } from '../../kafka'
import type { Logger } from '../../log'
import { barrierRecord, restoreFromChangelog } from '../../runner/restore'

/**
 * Every SLO's latest budget on slo.budget, read to a barrier written now to each
 * partition (the way stages restore their state): slo.budget is written in
 * transactions, and a reader never sees their commit markers, so "read to the end
 * offset" would wait for a record that never comes.
 */
export async function readBudgets(kafka: KafkaSettings, registry: Registry, topic: string, logger: Logger, timeoutMs = 30_000): Promise<Map<string, SloBudgetRecord>> {
  const admin = await KafkaAdmin.connect(kafka)
  let partitions: number
  try {
    const described = (await admin.describeTopics([topic])).get(topic)
    if (!described) throw new ConfigError(`topic ${topic} does not exist; run \`nightshift topology apply\` (with the same --prefix)`)
    partitions = described.partitions
  } finally {
    await admin.disconnect()
  }
  const barriers = new Map<number, string>()
  const producer = await RecordProducer.connect(kafka)
  try {
    const records = Array.from({ length: partitions }, (_, p) => barrierRecord(topic, p))
    await producer.send(records)
    for (const [p, r] of records.entries()) barriers.set(p, r.key)
  } finally {
    await producer.disconnect()
  }
  const budgets = new Map<string, SloBudgetRecord>()
  await restoreFromChangelog({
    kafka,
    registry,
    changelogTopic: topic,
    barriers,
    apply: (_partition, key, value) => {
      if (value === null) budgets.delete(key)
      else budgets.set(key, value as SloBudgetRecord)
    },
    heartbeat: async () => undefined,
    timeoutMs,
    logger,
  })
  return budgets
}
