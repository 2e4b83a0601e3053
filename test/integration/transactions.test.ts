import {
  KafkaAdmin,
  RecordConsumer,
  RecordProducer,
  TransactionalProducer,
  nextOffset,
  type RecordBatch,
} from '../../src/kafka'
import { collect, kafkaSettings, uniqueName, waitFor } from '../support/kafka'

const INPUT_RECORDS = 20

describe('transactions (real broker)', () => {
  const input = uniqueName('tx.in')
  const output = uniqueName('tx.out')
  let admin: KafkaAdmin

  beforeAll(async () => {
    admin = await KafkaAdmin.connect(kafkaSettings('it-tx-admin'))
    await admin.ensureTopics([
      { name: input, partitions: 2 },
      { name: output, partitions: 2 },
    ])
  })

  afterAll(async () => {
    await admin.deleteTopics([input, output])
    await admin.disconnect()
  })

  it('consume → transform → produce with the offsets sent in the same transaction', async () => {
    const producer = await RecordProducer.connect(kafkaSettings('it-tx-seed'))
    await producer.send(
      Array.from({ length: INPUT_RECORDS }, (_, i) => ({
        topic: input,
        key: `k${i}`,
        value: Buffer.from(`value-${i}`),
      })),
    )
    await producer.disconnect()

    const groupId = uniqueName('tx.group')
    // kafkajs supports one transactional producer per input partition (stable id).
    const producers = new Map<number, TransactionalProducer>()
    const producerFor = async (partition: number) => {
      let p = producers.get(partition)
      if (!p) {
        p = await TransactionalProducer.connect(kafkaSettings('it-tx-stage'), `${groupId}.${input}.${partition}`)
        producers.set(partition, p)
      }
      return p
    }
    const consumer = await RecordConsumer.connect(kafkaSettings('it-tx-stage'), {
      groupId,
      topics: [input],
      autoCommit: false,
    })
    await consumer.run(async (batch: RecordBatch) => {
      const last = batch.records[batch.records.length - 1]
      if (!last) return
      const tx = await producerFor(batch.partition)
      await tx.run(async (t) => {
        await t.send(
          batch.records.map((r) => ({
            topic: output,
            key: r.key,
            value: Buffer.from(r.value!.toString().toUpperCase()),
          })),
        )
        await t.commitOffsets(groupId, [{ topic: input, partition: batch.partition, offset: nextOffset(last.offset) }])
      })
    })

    const reader = await collect(output, { readCommitted: true })
    try {
      const seen = await waitFor('all transformed records', () =>
        reader.records.length >= INPUT_RECORDS ? reader.records : undefined,
      )
      expect(seen.map((r) => r.value!.toString()).sort()).toEqual(
        Array.from({ length: INPUT_RECORDS }, (_, i) => `VALUE-${i}`).sort(),
      )
      // The consumed offsets were committed by the transactions, not by the consumer.
      const committed = await admin.committedOffsets(groupId, input)
      const ends = await admin.endOffsets(input)
      expect([...committed].sort()).toEqual([...ends].sort())
    } finally {
      await reader.stop()
      await consumer.disconnect()
      await Promise.all([...producers.values()].map((p) => p.disconnect()))
    }
  })

  it('a read_committed consumer never sees the records of an aborted transaction', async () => {
    const producer = await TransactionalProducer.connect(kafkaSettings('it-tx-abort'), uniqueName('tx.abort'))
    const failure = new Error('stage failed mid-batch')
    await expect(
      producer.run(async (t) => {
        await t.send([0, 1, 2, 3, 4].map((i) => ({ topic: output, key: `a${i}`, value: Buffer.from(`aborted-${i}`) })))
        throw failure
      }),
    ).rejects.toBe(failure)
    await producer.run(async (t) => {
      await t.send(
        [0, 1].map((partition) => ({ topic: output, key: 'm', partition, value: Buffer.from('committed-marker') })),
      )
    })
    await producer.disconnect()

    const committed = await collect(output, { readCommitted: true })
    const uncommitted = await collect(output, { readCommitted: false })
    try {
      const values = (c: typeof committed) => c.records.map((r) => r.value?.toString())
      // Both readers get to the markers written after the aborted transaction, one per partition.
      await waitFor('markers (read_committed)', () =>
        values(committed).filter((v) => v === 'committed-marker').length === 2 ? true : undefined,
      )
      await waitFor('markers (read_uncommitted)', () =>
        values(uncommitted).filter((v) => v === 'committed-marker').length === 2 ? true : undefined,
      )
      // The aborted records are in the log (a read_uncommitted reader sees them) ...
      expect(values(uncommitted).filter((v) => v?.startsWith('aborted-'))).toHaveLength(5)
      // ... and never reach a read_committed one.
      expect(values(committed).filter((v) => v?.startsWith('aborted-'))).toHaveLength(0)
    } finally {
      await committed.stop()
      await uncommitted.stop()
    }
  })
})
