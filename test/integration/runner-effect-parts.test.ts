/**
 * The runner commits a batch with more effects than `maxEffectsPerCommit` in parts: each
 * part's marks, effects and offsets before the next part's effects start, so a crash
 * leaves at most that many marks behind. Real broker and registry; the effect itself
 * looks at what the group has committed when it runs.
 */
import { Registry as MetricsRegistry } from 'prom-client'
import type { AlertRecord } from '../../src/contracts/records'
import { KafkaAdmin, RecordProducer } from '../../src/kafka'
import { createStageMetrics } from '../../src/runner/metrics'
import { StageRunner } from '../../src/runner/runner'
import type { StageDefinition } from '../../src/runner/types'
import type { DedupEntry } from '../../src/stages/dedup/decide'
import { valueSubject } from '../../src/topology/names'
import { kafkaSettings, testLogger, uniqueName, waitFor } from '../support/kafka'
import { alertRecord } from '../support/records'
import { provisionTopology, schemas, type TestTopology } from '../support/topology'

async function send(t: TestTopology, alerts: AlertRecord[]): Promise<void> {
  const producer = await RecordProducer.connect(kafkaSettings('it-effect-parts-feed'))
  const id = await t.registry.idOf(valueSubject(t.topics.raw), schemas.resolve('Alert'))
  await producer.send(
    await Promise.all(
      alerts.map(async (a) => ({ topic: t.topics.raw, key: a.fingerprint, value: await t.registry.encode(id, a) })),
    ),
  )
  await producer.disconnect()
}

it.each([
  // [records, bound, committed offset seen by each effect when it runs]
  [7, 3, [0, 0, 0, 3, 3, 3, 6]],
  [4, 10, [0, 0, 0, 0]],
  [5, 1, [0, 1, 2, 3, 4]],
])(
  '%i records with effects, at most %i per commit: each part commits before the next runs',
  async (count, bound, expected) => {
    // A topic of its own per case: the group starts at its first record.
    const t = await provisionTopology(uniqueName('effect-parts'), 1)
    // An admin of its own too: kafkajs' admin keeps asking for the metadata of topics it saw, deleted or not.
    const admin = await KafkaAdmin.connect(kafkaSettings('it-effect-parts'))
    const groupId = uniqueName('effect-parts.group')
    const seen: Array<{ offset: string; committed: number }> = []
    const stage: StageDefinition<AlertRecord, DedupEntry> = {
      name: 'dedup',
      groupId,
      inputTopics: [t.topics.raw],
      inputSchema: 'Alert',
      state: { changelogTopic: t.changelog, schema: 'DedupEntry', maxEntries: 1000, ttlMs: 3_600_000 },
      maxEffectsPerCommit: () => bound,
      process: (alert, { source }) => {
        const entry: DedupEntry = {
          fingerprint: alert.fingerprint,
          startsAt: alert.startsAt,
          firingSeen: true,
          resolvedSeen: false,
          lastSeenAt: alert.receivedAt,
        }
        return {
          kind: 'effect',
          emits: [],
          effect: {
            before: [{ key: `${alert.fingerprint}|${alert.startsAt}`, value: entry }],
            run: async () => {
              const committed = (await admin.committedOffsets(groupId, t.topics.raw)).get(0)
              seen.push({ offset: source.offset, committed: Math.max(0, Number(committed ?? -1)) })
              return { kind: 'ran', emits: [] }
            },
          },
        }
      },
    }
    // All records in place before the runner starts, so they come in one batch.
    await send(
      t,
      Array.from({ length: count }, (_, i) =>
        alertRecord({
          fingerprint: `00000000000000${String(i).padStart(2, '0')}`,
          startsAt: new Date(Date.UTC(2026, 11, 4, 0, i)).toISOString(),
        }),
      ),
    )
    const runner = new StageRunner({
      stage,
      kafka: kafkaSettings('it-effect-parts-runner'),
      registry: t.registry,
      schemas,
      dlqTopic: t.topics.dlq,
      metrics: createStageMetrics(new MetricsRegistry()),
      logger: testLogger,
    })
    await runner.start()
    try {
      await waitFor('every effect to run', () => (seen.length >= count ? true : undefined), 30000)
      // The offset the group had committed when each effect ran, in record order.
      expect([...seen].sort((a, b) => Number(a.offset) - Number(b.offset)).map((s) => s.committed)).toEqual(expected)
      await waitFor('the whole batch to be committed', async () =>
        Number((await admin.committedOffsets(groupId, t.topics.raw)).get(0)) === count ? true : undefined,
      )
    } finally {
      await runner.stop()
      await admin.disconnect()
      await t.cleanup()
    }
  },
  60000,
)
