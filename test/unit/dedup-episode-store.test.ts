import { LRUCache } from 'lru-cache'
import { episodeKey, type DedupEntry } from '../../src/stages/dedup/decide'
import { EpisodeStore } from '../../src/stages/dedup/episode-store'

const FP = '16ddbf5dcf57d972'
const MS = '2026-11-25T00:52:34.568Z'

const entry = (
  fingerprint: string,
  startsAt: string,
  lastSeenAt = 1_000,
  firingSeen = true,
  resolvedSeen = false,
  alertname: string | null = null,
): DedupEntry => ({
  fingerprint,
  startsAt,
  firingSeen,
  resolvedSeen,
  lastSeenAt,
  alertname,
})
const store = (maxEntries = 100) => new EpisodeStore({ maxEntries, ttlMs: 60_000 })
/** Sets an entry under its fingerprint; returns the key. */
const put = (s: EpisodeStore, e: DedupEntry): string => {
  const key = e.fingerprint
  s.set(key, e)
  return key
}
/** Seeded PRNG (mulberry32), so a failure reproduces. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
/** Field by field, cheaper than expect() in a loop of thousands. */
const same = (a: DedupEntry | undefined, b: DedupEntry | undefined): boolean =>
  a === b ||
  (a !== undefined &&
    b !== undefined &&
    a.fingerprint === b.fingerprint &&
    a.startsAt === b.startsAt &&
    a.firingSeen === b.firingSeen &&
    a.resolvedSeen === b.resolvedSeen &&
    (a.alertname ?? null) === (b.alertname ?? null) &&
    Object.is(a.lastSeenAt, b.lastSeenAt))
const hex16 = (random: () => number) =>
  Array.from({ length: 16 }, () => Math.floor(random() * 16).toString(16)).join('')

describe('EpisodeStore', () => {
  it.each<[string, boolean, DedupEntry]>([
    ['millisecond startsAt', true, entry(FP, MS)],
    ['whole-second startsAt', true, entry(FP, '2026-11-25T00:52:34Z')],
    ['nanosecond startsAt', true, entry(FP, '2026-11-25T00:52:34.568123456Z')],
    ['one fraction digit', true, entry(FP, '2026-11-25T00:52:34.5Z')],
    ['trailing zeros kept as sent', true, entry(FP, '2026-11-25T00:52:34.500Z')],
    ['a zero fingerprint and the epoch', true, entry('0000000000000000', '1970-01-01T00:00:00.000Z', 0, false, true)],
    [
      'the largest fingerprint and the last second that fits',
      true,
      entry('ffffffffffffffff', '2106-02-07T06:28:15.999999999Z', Number.MAX_SAFE_INTEGER, true, true),
    ],
    ['a leap day', true, entry(FP, '2024-02-29T12:00:00.000Z')],
    ['a leap day of a 400th year', true, entry(FP, '2000-02-29T12:00:00Z')],
    ['a negative lastSeenAt', true, entry(FP, MS, -1)],
    ['an alertname', true, entry(FP, MS, 1, true, false, 'TargetDown')],
    ['fractional lastSeenAt', true, entry(FP, MS, 1.5)],
    ['an offset', false, entry(FP, '2026-11-25T02:52:34.568+02:00')],
    ['ten fraction digits', false, entry(FP, '2026-11-25T00:52:34.5681234567Z')],
    ['lower-case z', false, entry(FP, '2026-11-25T00:52:34.568z')],
    ['a space for the T', false, entry(FP, '2026-11-25 00:52:34.568Z')],
    ['an impossible date', false, entry(FP, '2026-02-30T00:52:34.568Z')],
    ['no leap day in a 100th year', false, entry(FP, '2100-02-29T00:00:00Z')],
    ['month 13', false, entry(FP, '2026-13-01T00:00:00Z')],
    ['day 0', false, entry(FP, '2026-11-00T00:00:00Z')],
    ['hour 24', false, entry(FP, '2026-11-25T24:00:00Z')],
    ['a letter in the fraction', false, entry(FP, '2026-11-25T00:52:34.5a8Z')],
    ['a shifted separator', false, entry(FP, '2026-11-25T0:052:34.568Z')],
    ['before the epoch', false, entry(FP, '1969-07-20T20:17:40.000Z')],
    ['after 2106-02-07T06:28:15Z', false, entry(FP, '2106-02-07T06:28:16Z')],
    ['the year 9999', false, entry(FP, '9999-12-31T23:59:59.999999999Z')],
    ['a leap second', false, entry(FP, '2026-12-31T23:59:60Z')],
    ['an extended year', false, entry(FP, '+010000-01-01T00:00:00.000Z')],
    ['a dot without digits', false, entry(FP, '2026-11-25T00:52:34.Z')],
    ['an upper-case fingerprint', false, entry(FP.toUpperCase(), MS)],
    ['a short fingerprint', false, entry('16ddbf5dcf57d97', MS)],
    ['a long fingerprint', false, entry(`${FP}0`, MS)],
    ['a non-hex fingerprint', false, entry('16ddbf5dcf57d97g', MS)],
    ['an empty startsAt', false, entry(FP, '')],
    ['a fingerprint with a bar', false, entry('16ddbf5d|f57d972', MS)],
    ['an alertname that is not a string', false, { ...entry(FP, MS), alertname: 7 as unknown as string }],
  ])('keeps an episode with %s exactly (compact: %s)', (_name, compact, value) => {
    const s = store()
    const key = put(s, value)
    expect(s.get(key)).toEqual(value)
    expect(s.size).toBe(1)
    expect(s.fallbackSize).toBe(compact ? 0 : 1)
    expect(s.get(`${key}x`)).toBeUndefined()
    s.delete(key)
    expect(s.get(key)).toBeUndefined()
    expect(s.size).toBe(0)
    expect(s.fallbackSize).toBe(0)
  })

  it('overwrites an episode in place', () => {
    const s = store()
    const key = put(s, entry(FP, MS, 1_000, true, false))
    s.set(key, entry(FP, MS, 2_000, true, true))
    expect(s.size).toBe(1)
    expect(s.get(key)).toEqual(entry(FP, MS, 2_000, true, true))
  })

  it.each<[string, DedupEntry]>([
    ['another fingerprint than its key', entry('aaaaaaaaaaaaaaaa', MS)],
    ['a startsAt with an offset', entry(FP, '2026-11-25T02:52:35.568+02:00')],
  ])('keeps a value with %s as it is, and compactly again once it fits', (_name, odd) => {
    const s = store()
    const key = FP
    s.set(key, entry(FP, MS))
    s.set(key, odd)
    expect(s.get(key)).toEqual(odd)
    expect([s.size, s.fallbackSize]).toEqual([1, 1])
    s.set(key, entry(FP, MS, 7))
    expect(s.get(key)).toEqual(entry(FP, MS, 7))
    expect([s.size, s.fallbackSize]).toEqual([1, 0])
  })

  it('gives startsAt back as written, fraction digits and all', () => {
    const s = store()
    for (const startsAt of [
      '2026-11-25T00:52:34Z',
      '2026-11-25T00:52:34.5Z',
      '2026-11-25T00:52:34.50Z',
      '2026-11-25T00:52:34.500000000Z',
      '2026-11-25T00:52:34.000000001Z',
    ]) {
      s.set(FP, entry(FP, startsAt))
      expect(s.get(FP)?.startsAt).toBe(startsAt)
    }
    expect([s.size, s.fallbackSize]).toEqual([1, 0])
  })

  it('folds state written before episodes had a rule (key fingerprint|startsAt) into its fingerprint', () => {
    const s = store()
    const older = entry(FP, '2026-11-25T00:00:00Z', 10, true, true)
    const newer = entry(FP, '2026-11-25T01:00:00.123456789Z', 20, true, false)
    s.set(episodeKey(older), older)
    s.set(episodeKey(newer), newer)
    s.set(episodeKey(older), older) // an older episode after a newer one changes nothing
    expect(s.get(FP)).toEqual(newer)
    expect(s.get(episodeKey(newer))).toBeUndefined()
    s.delete(episodeKey(newer))
    expect([s.size, s.fallbackSize]).toEqual([1, 0])
    // What the new version writes is keyed by fingerprint and wins over anything older.
    const current = entry(FP, '2026-11-25T01:00:00.123Z', 30, true, true, 'TargetDown')
    s.set(FP, current)
    s.set(episodeKey(older), older)
    expect(s.get(FP)).toEqual(current)
  })

  it('evicts the least recently used at maxEntries, a get counting as a use, compact and fallback alike', () => {
    const s = store(3)
    const a = put(s, entry('000000000000000a', '2026-11-25T00:00:01Z'))
    const b = put(s, entry('000000000000000b', '2026-11-25T02:00:02+02:00')) // fallback
    const c = put(s, entry('000000000000000c', '2026-11-25T00:00:03Z'))
    expect(s.get(a)).toBeDefined() // order now b, c, a
    const d = put(s, entry('000000000000000d', '2026-11-25T00:00:04Z')) // evicts b
    expect([s.size, s.fallbackSize]).toEqual([3, 0])
    expect(s.get(b)).toBeUndefined()
    const e = put(s, entry(FP.toUpperCase(), MS)) // evicts c
    expect(s.get(c)).toBeUndefined()
    expect([a, d, e].map((k) => s.get(k) !== undefined)).toEqual([true, true, true])
    s.set(a, entry('000000000000000a', '2026-11-25T00:00:01Z', 5)) // order now d, e, a
    put(s, entry('000000000000000f', '2026-11-25T00:00:06Z')) // evicts d
    expect(s.get(d)).toBeUndefined()
    expect(s.get(a)?.lastSeenAt).toBe(5)
    expect(s.size).toBe(3)
  })

  it('grows past its first arrays and rehashes without losing an episode', () => {
    const random = prng(7)
    const s = store(50_000)
    const values = Array.from({ length: 40_000 }, (_, i) =>
      entry(hex16(random), new Date(1_700_000_000_000 + (i % 97) * 1000).toISOString(), i, i % 2 === 0, i % 3 === 0),
    )
    for (const v of values) put(s, v)
    expect(s.size).toBe(values.length)
    expect(s.fallbackSize).toBe(0)
    expect(values.filter((v) => !same(s.get(v.fingerprint), v))).toEqual([])
    // Delete every other one: the index must still find the rest (backward-shift deletion).
    values.forEach((v, i) => i % 2 === 0 && s.delete(v.fingerprint))
    expect(s.size).toBe(values.length / 2)
    expect(values.filter((v, i) => !same(s.get(v.fingerprint), i % 2 === 0 ? undefined : v))).toEqual([])
  })

  it('clears everything, and works again afterwards', () => {
    const s = store(5_000)
    for (let i = 0; i < 3_000; i++) put(s, entry(i.toString(16).padStart(16, '0'), new Date(i * 1000).toISOString(), i))
    put(s, entry('odd', MS))
    s.clear()
    expect([s.size, s.fallbackSize]).toEqual([0, 0])
    expect(s.get('0000000000000000')).toBeUndefined()
    const key = put(s, entry(FP, MS, 9))
    expect(s.get(key)).toEqual(entry(FP, MS, 9))
    expect(s.size).toBe(1)
  })

  it('ignores deletes of keys it does not hold', () => {
    const s = store()
    const key = put(s, entry(FP, MS))
    s.delete('aaaaaaaaaaaaaaaa')
    s.delete('not a key')
    expect(s.size).toBe(1)
    expect(s.get(key)).toEqual(entry(FP, MS))
  })

  it('rejects a maxEntries that bounds nothing', () => {
    expect(() => store(0)).toThrow(RangeError)
  })

  it.each([
    ['small, mostly evicting', 1, 40, 120, 20_000],
    ['one entry', 2, 1, 10, 2_000],
    ['growing past the first arrays', 3, 3_000, 5_000, 60_000],
    ['mostly odd keys', 4, 50, 100, 20_000],
  ])('answers as lru-cache does (%s, seed %d)', (_name, seed, maxEntries, keyCount, operations) => {
    const random = prng(seed)
    const oddShare = seed === 4 ? 0.7 : 0.15
    const fingerprints = Array.from({ length: Math.max(2, Math.ceil(keyCount / 3)) }, (_, i) =>
      random() < oddShare ? (i % 2 === 0 ? hex16(random).toUpperCase() : `fp-${i}`) : hex16(random),
    )
    const startsAt = () => {
      const at = 1_700_000_000_000 + Math.floor(random() * 100) * 1000
      const pick = random()
      if (pick < 0.1) return new Date(at).toISOString().replace('.000Z', '+00:00')
      if (pick < 0.3)
        return new Date(at).toISOString().replace('.000Z', `.${String(Math.floor(random() * 1e9)).padStart(9, '0')}Z`)
      if (pick < 0.4) return new Date(at).toISOString().replace('.000Z', 'Z')
      return new Date(at + Math.floor(random() * 1000)).toISOString()
    }
    const episodes = Array.from({ length: keyCount }, () => ({
      fingerprint: fingerprints[Math.floor(random() * fingerprints.length)]!,
      startsAt: startsAt(),
    }))
    const keys = episodes.map((e) => e.fingerprint)
    const valueFor = (i: number): DedupEntry => {
      // Now and then a value that does not match its key, as a generic store would take.
      const e = random() < 0.05 ? episodes[Math.floor(random() * episodes.length)]! : episodes[i]!
      return entry(e.fingerprint, e.startsAt, Math.floor(random() * 1e12), random() < 0.5, random() < 0.5)
    }

    const expected = new LRUCache<string, DedupEntry>({ max: maxEntries })
    const actual = store(maxEntries)
    for (let op = 0; op < operations; op++) {
      const i = Math.floor(random() * keys.length)
      const key = keys[i]!
      const pick = random()
      if (pick < 0.5) {
        const value = valueFor(i)
        expected.set(key, value)
        actual.set(key, value)
      } else if (pick < 0.9) {
        const [got, want] = [actual.get(key), expected.get(key)]
        if (!same(got, want)) expect({ op, key, got }).toEqual({ op, key, got: want })
      } else if (pick < 0.9995) {
        expected.delete(key)
        actual.delete(key)
      } else {
        expected.clear()
        actual.clear()
      }
      if (actual.size !== expected.size) expect({ op, size: actual.size }).toEqual({ op, size: expected.size })
    }
    // Everything still held is the same (reading in the same order keeps both orders equal).
    for (const key of keys) expect(actual.get(key)).toEqual(expected.get(key))
  })
})
