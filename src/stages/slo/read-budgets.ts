import type { SloBudgetRecord } from '../../contracts/records'
import { readTopicToBarrier, type KafkaSettings, type Registry } from '../../kafka'

/**
 * Every SLO's latest budget on slo.budget. The topic is written in transactions, so it is
 * read to a barrier (readTopicToBarrier), not to its end offset.
 */
export async function readBudgets(
  kafka: KafkaSettings,
  registry: Registry,
  topic: string,
  timeoutMs = 30_000,
): Promise<Map<string, SloBudgetRecord>> {
  const budgets = new Map<string, SloBudgetRecord>()
  for (const record of await readTopicToBarrier(kafka, topic, { timeoutMs })) {
    const key = record.key?.toString('utf8') ?? ''
    if (record.value === null) budgets.delete(key)
    else budgets.set(key, (await registry.decode(record.value)) as SloBudgetRecord)
  }
  return budgets
}
