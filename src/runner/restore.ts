import { randomUUID } from 'node:crypto'
import { ERROR_CODES, RetriableError } from '../errors'
import {
  BARRIER_KEY_PREFIX,
  RecordConsumer,
  isBarrier,
  type KafkaSettings,
  type OutRecord,
  type Registry,
} from '../kafka'
import type { Logger } from '../log'

/** Header marking a restore barrier; its key starts with NUL so no stage key can equal it. */
export const BARRIER_HEADER = 'nightshift-restore-barrier'

/** A barrier record for `partition` of `changelogTopic`: a tombstone, so compaction drops it. */
export function barrierRecord(changelogTopic: string, partition: number): OutRecord & { key: string } {
  return {
    topic: changelogTopic,
    partition,
    key: `${BARRIER_KEY_PREFIX}${randomUUID()}`,
    value: null,
    headers: { [BARRIER_HEADER]: '1' },
  }
}

export interface RestoreArgs {
  kafka: KafkaSettings
  registry: Registry
  changelogTopic: string
  /** Partition → key of the barrier the new owner wrote (committed) before restoring. */
  barriers: ReadonlyMap<number, string>
  /** Called for every state record of a wanted partition, in log order; null = deleted. */
  apply(partition: number, key: string, value: unknown): void
  /** Keeps the stage's group membership alive during a long restore. */
  heartbeat(): Promise<void>
  timeoutMs: number
  logger: Logger
}

/**
 * Reads the changelog partitions from the beginning until each one's barrier: everything
 * before the barrier is all the state any earlier owner committed (writing the barrier
 * with the partition's transactional producer fenced earlier owners and aborted their
 * open transactions). kafkajs has no manual assignment, so a throwaway group reads the
 * topic and records of other partitions are skipped.
 * @returns how many state records were applied
 */
export async function restoreFromChangelog(args: RestoreArgs): Promise<number> {
  const pending = new Set(args.barriers.keys())
  if (pending.size === 0) return 0
  let applied = 0
  /** Why the restore stopped early, boxed so that any thrown value can be kept. */
  let failure: { err: unknown } | undefined
  let finish: () => void = () => undefined
  const finished = new Promise<void>((resolve) => (finish = resolve))

  const reader = await RecordConsumer.connect(
    { ...args.kafka, clientId: `${args.kafka.clientId}-restore` },
    {
      groupId: `nightshift-restore-${randomUUID()}`,
      topics: [args.changelogTopic],
      fromBeginning: true,
      readCommitted: true,
      autoCommit: false,
    },
  )
  const beat = setInterval(() => {
    args.heartbeat().catch((err: unknown) => {
      failure = { err }
      finish()
    })
  }, 1000)
  const timer = setTimeout(() => {
    failure = {
      err: new RetriableError(
        ERROR_CODES.KAFKA_UNAVAILABLE,
        `restoring ${args.changelogTopic} partitions ${[...pending].join(',')} did not reach the barrier within ${args.timeoutMs} ms`,
      ),
    }
    finish()
  }, args.timeoutMs)
  try {
    await reader.run(async (batch) => {
      if (!pending.has(batch.partition)) return
      const barrier = args.barriers.get(batch.partition)
      for (const record of batch.records) {
        const key = record.key?.toString('utf8') ?? ''
        if (key === barrier) {
          pending.delete(batch.partition)
          if (pending.size === 0) finish()
          return
        }
        // Own restore barriers, and other readers' barriers (readTopicToBarrier).
        if (record.headers[BARRIER_HEADER] !== undefined || isBarrier(record)) continue
        if (record.value === null) {
          args.apply(batch.partition, key, null)
        } else {
          try {
            args.apply(batch.partition, key, await args.registry.decode(record.value))
          } catch (err) {
            if (err instanceof RetriableError) throw err
            args.logger.error(
              { topic: record.topic, partition: record.partition, offset: record.offset, err },
              'skipping undecodable state record',
            )
            continue
          }
        }
        applied += 1
      }
    })
    await finished
  } finally {
    clearInterval(beat)
    clearTimeout(timer)
    await reader.disconnect().catch(() => undefined)
  }
  if (failure !== undefined) throw failure.err
  return applied
}
