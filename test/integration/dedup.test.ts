import { randomBytes } from 'node:crypto'
import { DLQ_HEADERS } from '../../src/runner/dead-letter'
import { StageRunner } from '../../src/runner/runner'
import type { AlertRecord } from '../../src/contracts/records'
import { RecordProducer, type InRecord } from '../../src/kafka'
import { valueSubject } from '../../src/topology/names'
import { collect, kafkaSettings, uniqueName, waitFor, waitForCaughtUp } from '../support/kafka'
import { startNightshift, type NightshiftProcess } from '../support/nightshift-process'
import { provisionTopology, schemas, startDedupRunner, type TestTopology } from '../support/topology'
import { alertRecord } from '../support/records'

const STARTS = '2026-11-25T00:52:34.568Z'

function alert(fingerprint: string, status: 'firing' | 'resolved', receivedAt: number): AlertRecord {
  return alertRecord({
    fingerprint,
    status,
    labels: { alertname: 'TargetUp', fp: fingerprint },
    startsAt: STARTS,
    endsAt: status === 'resolved' ? '2026-11-25T01:00:00Z' : '0001-01-01T00:00:00Z',
    receiver: 'nightshift',
    receivedAt,
  })
}

/** Produces alerts to the raw topic, Avro-encoded with the registered Alert schema. */
async function produceAlerts(t: TestTopology, alerts: AlertRecord[]): Promise<void> {
  const id = await t.registry.idOf(valueSubject(t.topics.raw), schemas.resolve('Alert'))
  const producer = await RecordProducer.connect(kafkaSettings('test-dedup-feed'))
  try {
    const records = await Promise.all(
      alerts.map(async (a) => ({ topic: t.topics.raw, key: a.fingerprint, value: await t.registry.encode(id, a) })),
    )
    await producer.send(records)
  } finally {
    await producer.disconnect()
  }
}

/** Decodes collected records into "fingerprint/status" strings. */
async function episodes(t: TestTopology, records: InRecord[]): Promise<string[]> {
  return Promise.all(
    records.map(async (r) => {
      const v = (await t.registry.decode(r.value!)) as { fingerprint: string; status: string }
      return `${v.fingerprint}/${v.status}`
    }),
  )
}

describe('dedup stage (real broker and registry)', () => {
  describe('killed and restarted mid-stream, then two instances sharing the partitions', () => {
    let t: TestTopology
    const procs: NightshiftProcess[] = []
    const env = { NIGHTSHIFT_SESSION_TIMEOUT_MS: '6000', LOG_LEVEL: 'info' }

    beforeAll(async () => {
      t = await provisionTopology(`${uniqueName('dedup-restart')}.`, 3)
    })
    afterAll(async () => {
      for (const p of procs) p.child.kill('SIGKILL')
      await Promise.all(procs.map((p) => p.exited))
      await t.cleanup()
    })

    it('forwards every episode exactly once and loses nothing', async () => {
      const fingerprints = Array.from({ length: 90 }, () => randomBytes(8).toString('hex'))
      const run = () => startNightshift(['run', '--stage', 'dedup', '--prefix', t.prefix], env)
      const deduped = await collect(t.topics.deduped)
      const decisions = await collect(t.topics.decisions)
      try {
        const first = run()
        procs.push(first)
        // Phase 1: every episode fires and is re-sent once, in chunks while the stage runs.
        const phase1 = (async () => {
          for (let i = 0; i < fingerprints.length; i += 10) {
            const chunk = fingerprints.slice(i, i + 10)
            await produceAlerts(t, [
              ...chunk.map((f) => alert(f, 'firing', 1000 + i)),
              ...chunk.map((f) => alert(f, 'firing', 5000 + i)),
            ])
          }
        })()
        await waitFor(
          'the first instance to forward some alerts',
          () => (deduped.records.length >= 20 ? true : undefined),
          60000,
        )
        first.child.kill('SIGKILL') // mid-stream: no clean shutdown, maybe mid-transaction
        expect(await first.exited).not.toBe(0)
        await phase1

        // Phase 2, with no stage running: re-sends (state must remember them), resolves, re-sent resolves.
        await produceAlerts(t, [
          ...fingerprints.map((f) => alert(f, 'firing', 9000)),
          ...fingerprints.map((f) => alert(f, 'resolved', 10000)),
          ...fingerprints.map((f) => alert(f, 'resolved', 11000)),
        ])

        // Two instances share the partitions and restore their state from the changelog.
        const a = run()
        const b = run()
        procs.push(a, b)
        await waitForCaughtUp(
          [{ groupId: `${t.prefix}nightshift-dedup`, topic: t.topics.raw, transactional: false }],
          90000,
        )

        // Caught up means committed; the test's own readers may still be behind.
        await waitFor(
          'the readers to see every output',
          () => (deduped.records.length >= 180 && decisions.records.length >= 270 ? true : undefined),
          30000,
        ).catch(() => undefined) // the assertions below say what is missing
        const forwarded = await episodes(t, deduped.records)
        const expected = fingerprints.flatMap((f) => [`${f}/firing`, `${f}/resolved`])
        expect(forwarded.sort()).toEqual(expected.sort()) // each once: nothing lost, nothing twice
        // Dropped: 90 re-sends in phase 1, 90 in phase 2, 90 re-sent resolves, each with a Decision.
        expect(decisions.records).toHaveLength(270)

        const assigned = (p: NightshiftProcess) => {
          const last = p.logs('partitions assigned').pop()
          return (last?.partitions as number[] | undefined) ?? []
        }
        const [pa, pb] = [assigned(a), assigned(b)]
        expect(pa.length).toBeGreaterThan(0)
        expect(pb.length).toBeGreaterThan(0)
        expect([...pa, ...pb].sort()).toEqual([0, 1, 2])
        const restored = [...a.logs('state restored from changelog'), ...b.logs('state restored from changelog')]
        expect(restored.reduce((n, l) => n + Number(l.entries), 0)).toBeGreaterThan(0)
      } finally {
        await deduped.stop()
        await decisions.stop()
      }
    })
  })

  describe('poison records', () => {
    let t: TestTopology
    let runner: StageRunner<AlertRecord, object>

    beforeAll(async () => {
      t = await provisionTopology(`${uniqueName('dedup-poison')}.`, 1)
      runner = await startDedupRunner(t, 'test-dedup-poison')
    })
    afterAll(async () => {
      await runner.stop()
      await t.cleanup()
    })

    it('sends undecodable and wrong-schema records to the DLQ with error headers and goes on', async () => {
      const entryId = await t.registry.idOf(valueSubject(t.changelog), schemas.resolve('DedupEntry'))
      const wrongSchema = await t.registry.encode(entryId, {
        fingerprint: 'x',
        startsAt: STARTS,
        firingSeen: true,
        resolvedSeen: false,
        lastSeenAt: 1,
      })
      const poison = [
        Buffer.from('{"this":"is json, not avro"}'),
        Buffer.from([0, 0x7f, 0, 0, 1, 2, 3]), // wire format, unknown schema id
        wrongSchema, // valid Avro of another contract
      ]
      const producer = await RecordProducer.connect(kafkaSettings('test-dedup-poison'))
      await producer.send([
        ...poison.map((value, i) => ({ topic: t.topics.raw, key: `poison-${i}`, value })),
        { topic: t.topics.raw, key: 'tomb', value: null },
      ])
      await producer.disconnect()
      await produceAlerts(t, [alert('00000000000000aa', 'firing', 1)])

      const dlq = await collect(t.topics.dlq)
      const deduped = await collect(t.topics.deduped)
      try {
        await waitFor('the good alert after the poison', () => (deduped.records.length === 1 ? true : undefined), 30000)
        await waitFor('four dead letters', () => (dlq.records.length === 4 ? true : undefined))
        expect(await episodes(t, deduped.records)).toEqual(['00000000000000aa/firing'])
        const offsets = dlq.records.map((r) => r.headers[DLQ_HEADERS.offset])
        expect(offsets).toEqual(['0', '1', '2', '3'])
        for (const r of dlq.records) {
          expect(r.headers).toMatchObject({
            [DLQ_HEADERS.stage]: 'dedup',
            [DLQ_HEADERS.code]: 'NS_POISON_RECORD',
            [DLQ_HEADERS.topic]: t.topics.raw,
            [DLQ_HEADERS.partition]: '0',
          })
        }
        const letters = await Promise.all(
          dlq.records.map(
            async (r) => (await t.registry.decode(r.value!)) as { value: Buffer | null; errorMessage: string },
          ),
        )
        expect(letters.slice(0, 3).map((l) => l.value)).toEqual(poison) // byte for byte, replayable
        expect(letters[3]!.value).toBeNull()
        expect(letters[0]!.errorMessage).toMatch(/not in the Confluent wire format/)
        expect(letters[1]!.errorMessage).toMatch(/schema id 2130706433 is unknown/)
        expect(letters[2]!.errorMessage).toMatch(/cannot be read as/)
        expect(letters[3]!.errorMessage).toMatch(/tombstone/)
      } finally {
        await dlq.stop()
        await deduped.stop()
      }
    })
  })
})
