import { LRUCache } from 'lru-cache'
import { ConfigError, ERROR_CODES, PoisonRecordError } from '../../src/errors'
import { DLQ_HEADERS, deadLetterFor } from '../../src/runner/dead-letter'
import { BARRIER_HEADER, barrierRecord } from '../../src/runner/restore'
import { BatchOverlay, PartitionedStore } from '../../src/runner/store'

describe('BatchOverlay', () => {
  it('reads its own writes, falls back to the store, and reports net changes once per key', () => {
    const base = new LRUCache<string, { v: number }>({ max: 10 })
    base.set('a', { v: 1 })
    base.set('b', { v: 2 })
    const overlay = new BatchOverlay<{ v: number }>(base)
    overlay.set({ key: 'a', value: { v: 10 } })
    overlay.set({ key: 'c', value: { v: 3 } })
    overlay.set({ key: 'a', value: { v: 11 } })
    overlay.set({ key: 'b', value: null })
    expect(overlay.get('a')).toEqual({ v: 11 })
    expect(overlay.get('b')).toBeUndefined()
    expect(overlay.get('c')).toEqual({ v: 3 })
    expect(base.get('a')).toEqual({ v: 1 }) // untouched until applied
    expect(overlay.entries()).toEqual([
      { key: 'a', value: { v: 11 } },
      { key: 'c', value: { v: 3 } },
      { key: 'b', value: null },
    ])
  })
})

describe('PartitionedStore', () => {
  it('keeps partitions apart, bounds their size, applies deletes, and drops partitions', () => {
    const store = new PartitionedStore<{ v: number }>({ maxEntries: 2, ttlMs: 60_000 })
    store.apply(0, [
      { key: 'a', value: { v: 1 } },
      { key: 'b', value: { v: 2 } },
      { key: 'c', value: { v: 3 } },
    ])
    store.apply(1, [{ key: 'a', value: { v: 9 } }])
    expect(store.size(0)).toBe(2)
    expect(store.partition(0).get('a')).toBeUndefined() // least recently used evicted
    expect(store.partition(1).get('a')).toEqual({ v: 9 })
    store.apply(0, [{ key: 'b', value: null }])
    expect(store.partition(0).get('b')).toBeUndefined()
    store.drop(1)
    expect(store.size(1)).toBe(0)
  })

  it("builds each partition's store with the stage's createStore and its bounds, when given", () => {
    const made: Array<{ maxEntries: number; ttlMs: number }> = []
    const store = new PartitionedStore<{ v: number }>({
      maxEntries: 5,
      ttlMs: 1_000,
      createStore: (bounds) => {
        made.push(bounds)
        return new LRUCache<string, { v: number }>({ max: 1 })
      },
    })
    store.apply(0, [
      { key: 'a', value: { v: 1 } },
      { key: 'b', value: { v: 2 } },
    ])
    store.apply(3, [{ key: 'a', value: { v: 3 } }])
    expect(made).toEqual([
      { maxEntries: 5, ttlMs: 1_000 },
      { maxEntries: 5, ttlMs: 1_000 },
    ])
    expect([store.size(0), store.size(3)]).toEqual([1, 1]) // the given store's own bound
    expect(store.partition(0).get('b')).toEqual({ v: 2 })
  })
})

describe('deadLetterFor', () => {
  const base = {
    stage: 'dedup',
    key: Buffer.from('k'),
    value: Buffer.from([1, 2, 3]),
    headers: { h: 'v' },
    failedAt: 42,
  }
  it.each([
    ['a Nightshift error keeps its code', new PoisonRecordError('bad\nvalue'), ERROR_CODES.POISON_RECORD, 'bad value'],
    ['a config error keeps its code', new ConfigError('nope'), ERROR_CODES.CONFIG, 'nope'],
    ['any other error is a poison record', new Error('boom'), ERROR_CODES.POISON_RECORD, 'boom'],
    ['a thrown string is described', 'weird', ERROR_CODES.POISON_RECORD, 'weird'],
  ])('%s', (_name, error, code, message) => {
    const letter = deadLetterFor({ ...base, error, source: { topic: 't', partition: 3, offset: '17' } })
    expect(letter.headers).toEqual({
      [DLQ_HEADERS.stage]: 'dedup',
      [DLQ_HEADERS.code]: code,
      [DLQ_HEADERS.message]: message,
      [DLQ_HEADERS.topic]: 't',
      [DLQ_HEADERS.partition]: '3',
      [DLQ_HEADERS.offset]: '17',
    })
    expect(letter.value).toMatchObject({
      stage: 'dedup',
      errorCode: code,
      errorMessage: message,
      key: base.key,
      value: base.value,
      failedAt: 42,
    })
  })

  it('bounds the message and has no source headers without a source', () => {
    const letter = deadLetterFor({ ...base, error: new Error('x'.repeat(5000)), source: null })
    expect(letter.headers[DLQ_HEADERS.message]).toHaveLength(1000)
    expect(letter.headers[DLQ_HEADERS.topic]).toBeUndefined()
    expect(letter.value.source).toBeNull()
  })
})

describe('barrierRecord', () => {
  it('is a unique tombstone on the given partition, with a key no stage key can take', () => {
    const a = barrierRecord('cl', 4)
    const b = barrierRecord('cl', 4)
    expect(a).toMatchObject({ topic: 'cl', partition: 4, value: null, headers: { [BARRIER_HEADER]: '1' } })
    expect(a.key.startsWith('\u0000')).toBe(true)
    expect(a.key).not.toBe(b.key)
  })
})
