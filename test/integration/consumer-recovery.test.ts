/**
 * A consumer whose batch handler fails for a reason kafkajs does not call retriable (a
 * plain Error, a fenced producer) must not stop consuming while the process lives on:
 * found by the reliability suite, where a stage's group sat empty after a restart. Real
 * broker.
 */
import { KafkaAdmin, RecordConsumer, RecordProducer } from '../../src/kafka'
import { kafkaSettings, uniqueName, waitFor } from '../support/kafka'

const topic = uniqueName('consumer-recovery')
let admin: KafkaAdmin

beforeAll(async () => {
  admin = await KafkaAdmin.connect(kafkaSettings('it-consumer-recovery'))
  await admin.ensureTopics([{ name: topic, partitions: 1 }])
  const producer = await RecordProducer.connect(kafkaSettings('it-consumer-recovery'))
  await producer.send([0, 1, 2].map((i) => ({ topic, key: `k${i}`, value: Buffer.from(`v${i}`) })))
  await producer.disconnect()
}, 60000)

afterAll(async () => {
  await admin.deleteTopics([topic])
  await admin.disconnect()
})

it.each([
  ['a plain Error', () => new Error('boom: not retriable')],
  [
    'an error whose root cause says not retriable',
    () =>
      Object.assign(new Error('fenced'), { cause: Object.assign(new Error('producer fenced'), { retriable: false }) }),
  ],
])(
  'a handler failing with %s: the batch is handed out again and consumed',
  async (_name, failure) => {
    const consumer = await RecordConsumer.connect(kafkaSettings('it-consumer-recovery'), {
      groupId: uniqueName('consumer-recovery.group'),
      topics: [topic],
      autoCommit: true,
    })
    let calls = 0
    const handled: string[] = []
    try {
      await consumer.run(async (batch) => {
        calls += 1
        if (calls === 1) throw failure()
        handled.push(...batch.records.map((r) => r.value!.toString()))
      })
      await waitFor('the records after the failure', () => (handled.length >= 3 ? true : undefined), 45000)
      expect(handled.slice(0, 3)).toEqual(['v0', 'v1', 'v2'])
      expect(calls).toBeGreaterThanOrEqual(2)
    } finally {
      await consumer.disconnect()
    }
  },
  60000,
)
