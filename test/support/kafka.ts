import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { endpointsFromEnv, kafkaSettings as settingsFor } from '../../src/config/endpoints'
import { KafkaAdmin, RecordConsumer, type AvroSchema, type InRecord, type KafkaSettings } from '../../src/kafka'
import { createLogger } from '../../src/log'

/** Endpoints of the stack the global setup brought up (or the external one). */
export const endpoints = endpointsFromEnv()

export const testLogger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn' })

/** Client settings for a test; each test names its own client id. */
export function kafkaSettings(clientId: string): KafkaSettings {
  return settingsFor(endpoints, clientId, testLogger)
}

/** A unique name prefix, so concurrent and repeated runs never share topics or groups. */
export function uniqueName(prefix: string): string {
  return `test.${prefix}.${Date.now().toString(36)}.${randomBytes(3).toString('hex')}`
}

/** Reads a schema from `schemas/`. */
export function loadSchema(file: string): AvroSchema {
  return JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'schemas', file), 'utf8')) as AvroSchema
}

/**
 * Polls `probe` every `intervalMs` until it returns a value that is not undefined; fails
 * with `what` after `timeoutMs`. Used instead of sleeps.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 20000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/** Records read by a {@link collect}or, in arrival order, until it is stopped. */
export interface Collector {
  records: InRecord[]
  stop(): Promise<void>
}

/** Reads `topic` from the beginning with a fresh group, gathering every record once. */
export async function collect(topic: string, options: { readCommitted?: boolean } = {}): Promise<Collector> {
  const records: InRecord[] = []
  const consumer = await RecordConsumer.connect(kafkaSettings(uniqueName('collector')), {
    groupId: uniqueName('collector'),
    topics: [topic],
    fromBeginning: true,
    readCommitted: options.readCommitted ?? true,
    autoCommit: true,
  })
  // A plain consumer may be handed a record again after a rejoin; that is the same
  // record (same partition and offset) and is kept once. A duplicate written by a stage
  // has an offset of its own and is kept, so tests still see it.
  const seen = new Set<string>()
  await consumer.run(async (batch) => {
    for (const record of batch.records) {
      const at = `${record.partition}:${record.offset}`
      if (seen.has(at)) continue
      seen.add(at)
      records.push(record)
    }
  })
  return { records, stop: () => consumer.disconnect() }
}

/** A consumer group and the input topic it must have consumed. */
export interface GroupInput {
  groupId: string
  topic: string
  /**
   * Whether the topic is written in transactions. Each transaction ends in a commit
   * marker that takes an offset and is never delivered, so a consumer that read
   * everything has committed end - 1; without transactions it has committed end.
   */
  transactional: boolean
}

/** Waits until every group has committed everything its input topic holds. */
export async function waitForCaughtUp(groups: GroupInput[], timeoutMs = 60000): Promise<void> {
  const admin = await KafkaAdmin.connect(kafkaSettings('test-caught-up'))
  try {
    await waitFor(
      `${groups.map((g) => g.groupId).join(', ')} to catch up`,
      async () => {
        for (const { groupId, topic, transactional } of groups) {
          const [committed, ends] = await Promise.all([admin.committedOffsets(groupId, topic), admin.endOffsets(topic)])
          for (const [partition, end] of ends) {
            if (end === '0') continue
            if (BigInt(committed.get(partition) ?? '-1') < BigInt(end) - (transactional ? 1n : 0n)) return undefined
          }
        }
        return true
      },
      timeoutMs,
    )
  } finally {
    await admin.disconnect()
  }
}
