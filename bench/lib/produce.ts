import { RecordProducer, type OutRecord } from '../../src/kafka'
import { valueSubject } from '../../src/topology/names'
import type { BenchContext } from './context'

/** Encodes values in the Confluent wire format with the schema registered for `topic`. */
export async function encodeAll<T>(
  ctx: BenchContext,
  topic: string,
  schema: string,
  values: readonly T[],
  key: (value: T) => string,
): Promise<OutRecord[]> {
  const id = await ctx.registry.idOf(valueSubject(topic), ctx.schemas.resolve(schema))
  const records: OutRecord[] = []
  for (const value of values) records.push({ topic, key: key(value), value: await ctx.registry.encode(id, value) })
  return records
}

/**
 * Writes records with the idempotent acks=all producer ingest uses, in chunks, without
 * transactions: the input of a benchmark is then exactly `end` records long per
 * partition (no commit markers), which is what {@link waitForCommitted} relies on.
 */
export async function produceAll(
  ctx: BenchContext,
  records: readonly OutRecord[],
  maxBytes = 512 * 1024,
): Promise<void> {
  const producer = await RecordProducer.connect(ctx.kafka('bench-producer'))
  try {
    // Chunks by size: records keyed alike all go to one partition, whose batch must stay
    // under the broker's 1 MiB message.max.bytes.
    let chunk: OutRecord[] = []
    let bytes = 0
    for (const record of records) {
      chunk.push(record)
      bytes += (record.value?.length ?? 0) + 64
      if (bytes >= maxBytes) {
        await producer.send(chunk)
        chunk = []
        bytes = 0
      }
    }
    await producer.send(chunk)
  } finally {
    await producer.disconnect()
  }
}
