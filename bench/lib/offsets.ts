import { KafkaAdmin } from '../../src/kafka'
import type { BenchContext } from './context'

/** End offsets of a topic, by partition. */
export async function endOffsets(ctx: BenchContext, topic: string): Promise<Map<number, bigint>> {
  const admin = await KafkaAdmin.connect(ctx.kafka('bench-offsets'))
  try {
    return new Map([...(await admin.endOffsets(topic))].map(([p, o]) => [p, BigInt(o)]))
  } finally {
    await admin.disconnect()
  }
}

/**
 * Watches a group's committed offsets on its input topic until every partition reached
 * `targets` (the end offsets of input written without transactions, so the last record
 * is at end - 1 and a consumer that read it all commits exactly end). Polls every
 * `pollMs` on one admin connection; resolves with the time (performance.now()) it saw
 * the group caught up.
 */
export async function waitForCommitted(
  ctx: BenchContext,
  groupId: string,
  topic: string,
  targets: ReadonlyMap<number, bigint>,
  options: { timeoutMs: number; pollMs?: number; onPoll?: (consumed: bigint) => void },
): Promise<number> {
  const admin = await KafkaAdmin.connect(ctx.kafka('bench-offsets'))
  const deadline = performance.now() + options.timeoutMs
  try {
    for (;;) {
      const committed = await admin.committedOffsets(groupId, topic)
      let done = true
      let consumed = 0n
      for (const [partition, target] of targets) {
        // An empty partition never gets a commit.
        if (target === 0n) continue
        const at = BigInt(committed.get(partition) ?? '-1')
        if (at > 0n) consumed += at
        if (at < target) done = false
      }
      options.onPoll?.(consumed)
      if (done) return performance.now()
      if (performance.now() > deadline) {
        const total = [...targets.values()].reduce((a, b) => a + b, 0n)
        throw new Error(
          `group ${groupId} committed ${consumed} of ${total} records of ${topic} within ${options.timeoutMs} ms`,
        )
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 50))
    }
  } finally {
    await admin.disconnect()
  }
}
