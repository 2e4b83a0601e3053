import { ConfigError } from '../../src/errors'
import { KafkaIngestPublisher, chunkRecords, recordBytes } from '../../src/ingest'
import { Registry, type OutRecord } from '../../src/kafka'
import { createLogger } from '../../src/log'
import { SchemaSet } from '../../src/contracts/schemas'

const record = (key: string | null, valueBytes: number, headers?: Record<string, string>): OutRecord => ({
  topic: 't',
  key,
  value: Buffer.alloc(valueBytes),
  headers,
})

describe('recordBytes', () => {
  it.each<[string, OutRecord, number]>([
    ['value only', record(null, 10), 10],
    ['key and value', record('16ddbf5dcf57d972', 10), 26],
    ['unicode key', record('é', 0), 2],
    ['buffer key', { topic: 't', key: Buffer.alloc(3), value: null }, 3],
    ['headers', record('k', 1, { 'nightshift-received-at': '1795567977000' }), 1 + 1 + 22 + 13],
  ])('%s', (_name, r, expected) => {
    expect(recordBytes(r)).toBe(expected)
  })
})

describe('chunkRecords', () => {
  const sizes = (chunks: OutRecord[][]) => chunks.map((c) => c.map((r) => r.value!.length))

  it.each<[string, number[], number, number[][]]>([
    ['nothing', [], 100, []],
    ['all in one', [10, 20, 30], 100, [[10, 20, 30]]],
    ['exactly the limit', [50, 50], 100, [[50, 50]]],
    ['split in order', [60, 30, 20, 90, 5], 100, [[60, 30], [20], [90, 5]]],
    ['a record above the limit gets its own chunk', [10, 150, 10], 100, [[10], [150], [10]]],
  ])('%s', (_name, valueSizes, max, expected) => {
    expect(
      sizes(
        chunkRecords(
          valueSizes.map((n) => record(null, n)),
          max,
        ),
      ),
    ).toEqual(expected)
  })
})

describe('KafkaIngestPublisher options', () => {
  const base = {
    kafka: { brokers: ['127.0.0.1:1'], clientId: 'unit', logger: createLogger({ level: 'silent' }) },
    registry: new Registry('http://127.0.0.1:1'),
    schemas: SchemaSet.load(),
    topics: { raw: 'alerts.raw', dlq: 'nightshift.dlq' },
    logger: createLogger({ level: 'silent' }),
  }

  it.each([
    [{ publishTimeoutMs: 0 }],
    [{ maxBatchBytes: -1 }],
    [{ maxRecordBytes: Number.NaN }],
    [{ reconnectBackoff: { initialMs: 0, maxMs: 10 } }],
  ])('refuses %j', (bad) => {
    expect(() => new KafkaIngestPublisher({ ...base, ...bad })).toThrow(ConfigError)
  })

  it('is not ready before start, and says why', async () => {
    const publisher = new KafkaIngestPublisher(base)
    expect(publisher.readiness()).toEqual({
      ready: false,
      missing: [
        'publisher: not started',
        'kafka: no producer connected to 127.0.0.1:1 (not connected yet)',
        'registry: schema ids not looked up yet',
      ],
    })
    await publisher.close()
  })
})
