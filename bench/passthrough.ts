/**
 * The baseline of one hop: a raw kafkajs consume → produce passthrough that copies an
 * input topic to an output topic, record for record (key, value, headers), with nothing
 * in between: no decoding, no decision, no state. It consumes with the same settings as
 * the stage runner (src/kafka/consumer.ts: eachBatch, one partition at a time, 1 MiB per
 * partition, read_committed) and produces as it does (idempotent, acks=all, one request
 * per batch), so the stage's figure over it is what Nightshift's own work costs.
 *
 * Two variants:
 * - `txn`: exactly what the runner guarantees — one transaction per batch holding the
 *   batch's records and its consumed offsets, one transactional producer per input
 *   partition (the pattern kafkajs supports). The baseline stages are measured against.
 * - `plain`: no transactions; produce the batch, then commit its offsets. At-least-once,
 *   shown for what transactions cost.
 */
import { Partitioners, type Consumer, type Producer } from 'kafkajs'
import { createKafka } from '../src/kafka/connection'
import type { BenchContext } from './lib/context'
import { waitForCommitted } from './lib/offsets'

export type PassthroughMode = 'txn' | 'plain'

export interface PassthroughRun {
  mode: PassthroughMode
  records: number
  /** From the group joined (consumer running) to every input offset committed. */
  ms: number
  batches: number
  /** Milliseconds from connect() to the consumer running (joined, assigned). */
  startMs: number
  /** CPU of this process (all threads) over `ms`, per record: what one hop costs here. */
  cpuMicrosPerRecord: number
}

/**
 * Copies `input` to `output` under group `groupId` until the group committed `targets`
 * (the input's end offsets), then stops. The input must be written without transactions.
 */
export async function runPassthrough(
  ctx: BenchContext,
  mode: PassthroughMode,
  args: { input: string; output: string; groupId: string; targets: ReadonlyMap<number, bigint>; timeoutMs: number },
): Promise<PassthroughRun> {
  const kafka = createKafka(ctx.kafka(`bench-passthrough-${mode}`))
  const consumer: Consumer = kafka.consumer({
    groupId: args.groupId,
    readUncommitted: false,
    sessionTimeout: 30000,
    maxBytesPerPartition: 1048576,
  })
  const producers = new Map<number, Producer>()
  const producerFor = async (partition: number): Promise<Producer> => {
    let producer = producers.get(partition)
    if (!producer) {
      producer =
        mode === 'txn'
          ? kafka.producer({
              transactionalId: `${args.groupId}.${args.input}.${partition}`,
              idempotent: true,
              maxInFlightRequests: 1,
              createPartitioner: Partitioners.DefaultPartitioner,
            })
          : kafka.producer({
              idempotent: true,
              maxInFlightRequests: 1,
              createPartitioner: Partitioners.DefaultPartitioner,
            })
      await producer.connect()
      producers.set(partition, producer)
    }
    return producer
  }
  const total = [...args.targets.values()].reduce((a, b) => a + b, 0n)
  let batches = 0
  const connected = performance.now()
  await consumer.connect()
  await consumer.subscribe({ topics: [args.input], fromBeginning: true })
  try {
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 1,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        if (batch.messages.length === 0) return
        batches += 1
        const messages = batch.messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers }))
        const next = (BigInt(batch.lastOffset()) + 1n).toString()
        const producer = await producerFor(batch.partition)
        if (mode === 'txn') {
          const tx = await producer.transaction()
          try {
            await tx.sendBatch({ acks: -1, topicMessages: [{ topic: args.output, messages }] })
            await tx.sendOffsets({
              consumerGroupId: args.groupId,
              topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }],
            })
            await tx.commit()
          } catch (err) {
            await tx.abort().catch(() => undefined)
            throw err
          }
        } else {
          await producer.sendBatch({ acks: -1, topicMessages: [{ topic: args.output, messages }] })
          await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }])
        }
      },
    })
    const started = performance.now()
    const cpu = process.cpuUsage()
    const done = await waitForCommitted(ctx, args.groupId, args.input, args.targets, { timeoutMs: args.timeoutMs })
    const used = process.cpuUsage(cpu)
    return {
      mode,
      records: Number(total),
      ms: done - started,
      batches,
      startMs: started - connected,
      cpuMicrosPerRecord: (used.user + used.system) / Number(total),
    }
  } finally {
    await consumer.disconnect()
    await Promise.all([...producers.values()].map((p) => p.disconnect().catch(() => undefined)))
  }
}
