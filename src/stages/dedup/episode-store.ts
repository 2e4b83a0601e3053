import type { PartitionState, PartitionStateOptions } from '../../runner/types'
import { foldLegacyEntry, type DedupEntry } from './decide'

/** Slots come in chunks of 2^CHUNK_BITS (4,096: ~120 KB), added as episodes arrive. */
const CHUNK_BITS = 12
const CHUNK = 1 << CHUNK_BITS
const IN_CHUNK = CHUNK - 1
/** Nothing (no slot, end of a list). */
const NONE = -1

// Bits of `meta`, one byte per slot.
const FIRING = 1
const RESOLVED = 2
/** The slot's key and value live in the fallback maps, not in the arrays. */
const FALLBACK = 4
/** The upper four bits: how many fraction digits startsAt has (0–9). */
const DIGITS_SHIFT = 4

/** One chunk of slots: a typed array per field, each slot at the same offset. */
interface Chunk {
  fpHi: Uint32Array
  fpLo: Uint32Array
  /** startsAt truncated to the second, in seconds since the epoch (uint32: up to 2106). */
  startsSec: Uint32Array
  /** startsAt's fraction of a second, in nanoseconds. */
  nanos: Uint32Array
  lastSeen: Float64Array
  /** Index + 1 of the alertname in the store's name table; 0 is null. */
  name: Uint32Array
  meta: Uint8Array
  /** The LRU list: head is the least recently used, tail the most. A free slot is chained through `next`. */
  prev: Int32Array
  next: Int32Array
}

function newChunk(): Chunk {
  return {
    fpHi: new Uint32Array(CHUNK),
    fpLo: new Uint32Array(CHUNK),
    startsSec: new Uint32Array(CHUNK),
    nanos: new Uint32Array(CHUNK),
    lastSeen: new Float64Array(CHUNK),
    name: new Uint32Array(CHUNK),
    meta: new Uint8Array(CHUNK),
    prev: new Int32Array(CHUNK),
    next: new Int32Array(CHUNK),
  }
}

/**
 * Dedup's state of one partition, compact: one slot per fingerprint (its latest episode),
 * 37 bytes a slot plus 5–10 of hash index (about 45 a fingerprint) instead of the ~260 of
 * a `DedupEntry` object in an LRU, so that a million fingerprints fit in well under 300 MB.
 * Behaves exactly as the default lru-cache store without a wall-clock TTL: the same
 * answers for the same get/set/delete/clear, the same least-recently-used eviction at
 * `maxEntries`.
 *
 * An entry whose key is its value's fingerprint, of 16 lower-case hex digits, with a UTC
 * RFC 3339 startsAt between 1970 and 2106 (0–9 fraction digits, "Z"), is held in typed
 * arrays: the fingerprint as two uint32, startsAt as epoch seconds + nanoseconds + digit
 * count (written back character for character), lastSeenAt, the two flags, the alertname
 * as an index into a table of names (alertnames are few), and its place in the LRU list.
 * A hash index (open addressing, linear probing) finds it. Any other key or value keeps
 * its value as is in a fallback map; it still takes a slot, so the LRU order and the
 * bound are shared with the compact entries.
 *
 * A key `${fingerprint}|${startsAt}` is a state record of dedup before episodes had a
 * rule (one per episode): `set` folds it into its fingerprint's entry
 * ({@link foldLegacyEntry}), so a changelog written by an older version restores into
 * the new state; `get` and `delete` of such a key find nothing.
 *
 * Slots are added a chunk at a time as entries arrive, never beyond `maxEntries`, so an
 * idle partition costs little; chunks are never copied nor freed while the store lives
 * (growing by copying into doubled arrays left ~30 MB of freed-but-kept malloc memory
 * in the process for 1M episodes). Only the index doubles and is rebuilt.
 *
 * No wall-clock TTL: dedup expires episodes by record time (`isExpired` on lastSeenAt),
 * which a replay reproduces and a clock does not; an expired entry stays until it is
 * overwritten or evicted, and `maxEntries` bounds the memory either way.
 */
export class EpisodeStore implements PartitionState<DedupEntry> {
  private readonly maxEntries: number
  private chunks: Chunk[] = []
  /** Slot + 1 of each compact episode at its hash position; 0 is empty. */
  private index = new Int32Array(0)
  private mask = 0
  private head = NONE
  private tail = NONE
  private free = NONE
  /** Slots handed out at least once; those above are fresh. */
  private used = 0
  private count = 0
  private readonly fallbackSlots = new Map<string, number>()
  private readonly fallbackEntries = new Map<number, { key: string; value: DedupEntry }>()

  /** Alertnames by index - 1, and their indexes. */
  private readonly names: string[] = []
  private readonly nameIds = new Map<string, number>()

  // The last parsed key and startsAt, so parsing allocates nothing.
  private keyHi = 0
  private keyLo = 0
  private keySec = 0
  private keyNanos = 0
  private keyDigits = 0

  constructor(options: PartitionStateOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${options.maxEntries}`)
    }
    this.maxEntries = options.maxEntries
  }

  get size(): number {
    return this.count
  }

  /** Entries held as they are, not compactly: a high share means the compact form misses real keys. */
  get fallbackSize(): number {
    return this.fallbackSlots.size
  }

  get(key: string): DedupEntry | undefined {
    if (this.parseFingerprint(key)) {
      const slot = this.findCompact()
      if (slot !== NONE) {
        this.touch(slot)
        const chunk = this.chunks[slot >>> CHUNK_BITS]!
        const at = slot & IN_CHUNK
        const meta = chunk.meta[at]!
        const name = chunk.name[at]!
        // The key is the stored value's fingerprint (set checks it).
        return {
          fingerprint: key,
          startsAt: formatStartsAt(chunk.startsSec[at]!, chunk.nanos[at]!, meta >>> DIGITS_SHIFT),
          firingSeen: (meta & FIRING) !== 0,
          resolvedSeen: (meta & RESOLVED) !== 0,
          lastSeenAt: chunk.lastSeen[at]!,
          alertname: name === 0 ? null : this.names[name - 1]!,
        }
      }
    }
    if (this.fallbackSlots.size === 0) return undefined
    const slot = this.fallbackSlots.get(key)
    if (slot === undefined) return undefined
    this.touch(slot)
    return this.fallbackEntries.get(slot)!.value
  }

  set(key: string, value: DedupEntry): void {
    if (isLegacyKey(key)) {
      if (typeof value?.fingerprint !== 'string') return
      // Folding counts as a use of the fingerprint's entry, as the set that follows does.
      const folded = foldLegacyEntry(this.get(value.fingerprint), value)
      if (folded) this.set(folded.fingerprint, folded)
      return
    }
    const parsed = this.parseFingerprint(key)
    if (parsed && fitsCompact(key, value) && this.parseStartsAt(value.startsAt)) {
      const found = this.findCompact()
      if (found !== NONE) {
        this.writeValue(found, value)
        this.touch(found)
        return
      }
      // Held as a fallback until now (its earlier value did not fit).
      this.deleteFallback(key)
      const slot = this.take()
      const chunk = this.chunks[slot >>> CHUNK_BITS]!
      const at = slot & IN_CHUNK
      chunk.fpHi[at] = this.keyHi
      chunk.fpLo[at] = this.keyLo
      this.writeValue(slot, value)
      this.insertIndex(slot)
      this.linkTail(slot)
      return
    }
    const known = this.fallbackSlots.get(key)
    if (known !== undefined) {
      this.fallbackEntries.set(known, { key, value })
      this.touch(known)
      return
    }
    // Held compact until now, and the new value does not fit.
    if (parsed) {
      const compact = this.findCompact()
      if (compact !== NONE) this.removeSlot(compact)
    }
    const slot = this.take()
    this.chunks[slot >>> CHUNK_BITS]!.meta[slot & IN_CHUNK] = FALLBACK
    this.fallbackSlots.set(key, slot)
    this.fallbackEntries.set(slot, { key, value })
    this.linkTail(slot)
  }

  delete(key: string): void {
    if (this.parseFingerprint(key)) {
      const slot = this.findCompact()
      if (slot !== NONE) {
        this.removeSlot(slot)
        return
      }
    }
    this.deleteFallback(key)
  }

  /** Forgets everything and gives the arrays back (the partition's next owner restores it). */
  clear(): void {
    this.names.length = 0
    this.nameIds.clear()
    this.fallbackSlots.clear()
    this.fallbackEntries.clear()
    this.chunks = []
    this.index = new Int32Array(0)
    this.mask = 0
    this.head = NONE
    this.tail = NONE
    this.free = NONE
    this.used = 0
    this.count = 0
  }

  private deleteFallback(key: string): void {
    if (this.fallbackSlots.size === 0) return
    const slot = this.fallbackSlots.get(key)
    if (slot !== undefined) this.removeSlot(slot)
  }

  private writeValue(slot: number, value: DedupEntry): void {
    const chunk = this.chunks[slot >>> CHUNK_BITS]!
    const at = slot & IN_CHUNK
    chunk.startsSec[at] = this.keySec
    chunk.nanos[at] = this.keyNanos
    chunk.name[at] = this.nameId(value.alertname ?? null)
    chunk.lastSeen[at] = value.lastSeenAt
    chunk.meta[at] =
      (value.firingSeen ? FIRING : 0) | (value.resolvedSeen ? RESOLVED : 0) | (this.keyDigits << DIGITS_SHIFT)
  }

  /** A slot for a new entry: a freed one, a fresh one, or (full) the least recently used one's. */
  private take(): number {
    if (this.count >= this.maxEntries) this.removeSlot(this.head)
    let slot = this.free
    if (slot !== NONE) {
      this.free = this.nextOf(slot)
    } else {
      if (this.used === this.chunks.length * CHUNK) this.addChunk()
      slot = this.used++
    }
    this.count += 1
    return slot
  }

  /** Unlinks a held slot, removes it from the index or the fallback maps, and frees it. */
  private removeSlot(slot: number): void {
    const chunk = this.chunks[slot >>> CHUNK_BITS]!
    const at = slot & IN_CHUNK
    if ((chunk.meta[at]! & FALLBACK) !== 0) {
      const entry = this.fallbackEntries.get(slot)!
      this.fallbackEntries.delete(slot)
      this.fallbackSlots.delete(entry.key)
    } else {
      this.removeIndex(slot)
    }
    this.unlink(slot)
    chunk.meta[at] = 0
    chunk.next[at] = this.free
    this.free = slot
    this.count -= 1
  }

  private nextOf(slot: number): number {
    return this.chunks[slot >>> CHUNK_BITS]!.next[slot & IN_CHUNK]!
  }

  private touch(slot: number): void {
    if (slot === this.tail) return
    this.unlink(slot)
    this.linkTail(slot)
  }

  private unlink(slot: number): void {
    const chunk = this.chunks[slot >>> CHUNK_BITS]!
    const before = chunk.prev[slot & IN_CHUNK]!
    const after = chunk.next[slot & IN_CHUNK]!
    if (before === NONE) this.head = after
    else this.chunks[before >>> CHUNK_BITS]!.next[before & IN_CHUNK] = after
    if (after === NONE) this.tail = before
    else this.chunks[after >>> CHUNK_BITS]!.prev[after & IN_CHUNK] = before
  }

  private linkTail(slot: number): void {
    const chunk = this.chunks[slot >>> CHUNK_BITS]!
    chunk.prev[slot & IN_CHUNK] = this.tail
    chunk.next[slot & IN_CHUNK] = NONE
    if (this.tail === NONE) this.head = slot
    else this.chunks[this.tail >>> CHUNK_BITS]!.next[this.tail & IN_CHUNK] = slot
    this.tail = slot
  }

  /** The slot holding the last parsed key, or NONE. */
  private findCompact(): number {
    if (this.count === 0) return NONE
    const mask = this.mask
    let pos = hashFingerprint(this.keyHi, this.keyLo) & mask
    for (;;) {
      const held = this.index[pos]!
      if (held === 0) return NONE
      const slot = held - 1
      const chunk = this.chunks[slot >>> CHUNK_BITS]!
      const at = slot & IN_CHUNK
      if (chunk.fpLo[at] === this.keyLo && chunk.fpHi[at] === this.keyHi) return slot
      pos = (pos + 1) & mask
    }
  }

  private insertIndex(slot: number): void {
    const mask = this.mask
    let pos = this.slotHash(slot) & mask
    while (this.index[pos] !== 0) pos = (pos + 1) & mask
    this.index[pos] = slot + 1
  }

  /** Removes a compact slot from the index, shifting later entries of its probe run back (no tombstones). */
  private removeIndex(slot: number): void {
    const mask = this.mask
    let hole = this.slotHash(slot) & mask
    while (this.index[hole] !== slot + 1) hole = (hole + 1) & mask
    let pos = hole
    for (;;) {
      pos = (pos + 1) & mask
      const held = this.index[pos]!
      if (held === 0) break
      const home = this.slotHash(held - 1) & mask
      // The entry at `pos` may move into the hole only if its home is not in (hole, pos].
      const stays = hole <= pos ? home > hole && home <= pos : home > hole || home <= pos
      if (!stays) {
        this.index[hole] = held
        hole = pos
      }
    }
    this.index[hole] = 0
  }

  private slotHash(slot: number): number {
    const chunk = this.chunks[slot >>> CHUNK_BITS]!
    const at = slot & IN_CHUNK
    return hashFingerprint(chunk.fpHi[at]!, chunk.fpLo[at]!)
  }

  /** Adds a chunk of slots, and doubles and rebuilds the index when it would get too full. */
  private addChunk(): void {
    this.chunks.push(newChunk())
    // Load factor at most 0.8 (linear probing stays short below that).
    const slots = Math.min(this.chunks.length * CHUNK, this.maxEntries)
    let size = Math.max(this.index.length, 16)
    while (size < slots * 1.25) size *= 2
    if (size === this.index.length) return
    this.index = new Int32Array(size)
    this.mask = size - 1
    for (let slot = this.head; slot !== NONE; slot = this.nextOf(slot)) {
      if ((this.chunks[slot >>> CHUNK_BITS]!.meta[slot & IN_CHUNK]! & FALLBACK) === 0) this.insertIndex(slot)
    }
  }

  /** The index + 1 of an alertname in the name table (added when new); 0 for null. */
  private nameId(name: string | null): number {
    if (name === null) return 0
    let id = this.nameIds.get(name)
    if (id === undefined) {
      this.names.push(name)
      id = this.names.length
      this.nameIds.set(name, id)
    }
    return id
  }

  /**
   * Parses `key` as a fingerprint of 16 lower-case hex digits into the key fields,
   * allocating nothing (it runs for every get and set).
   * @returns false when it has another form (held in the fallback maps then)
   */
  private parseFingerprint(key: string): boolean {
    if (key.length !== 16) return false
    let hi = 0
    let lo = 0
    for (let i = 0; i < 16; i++) {
      const digit = hexDigit(key.charCodeAt(i))
      if (digit < 0) return false
      if (i < 8) hi = hi * 16 + digit
      else lo = lo * 16 + digit
    }
    this.keyHi = hi
    this.keyLo = lo
    return true
  }

  /**
   * Parses a startsAt in the compact form into the startsAt fields. The format is checked
   * strictly (every separator, two digits a field, the date exists), so writing the
   * fields back ({@link formatStartsAt}) gives exactly the characters parsed.
   * @returns false when it has another form
   */
  private parseStartsAt(text: string): boolean {
    // YYYY-MM-DDTHH:MM:SS, then Z or a fraction of 1–9 digits and Z.
    if (
      text.length < 20 ||
      text.charCodeAt(4) !== 45 /* - */ ||
      text.charCodeAt(7) !== 45 ||
      text.charCodeAt(10) !== 84 /* T */ ||
      text.charCodeAt(13) !== 58 /* : */ ||
      text.charCodeAt(16) !== 58
    ) {
      return false
    }
    const year = decimal(text, 0, 4)
    const month = decimal(text, 5, 2)
    const day = decimal(text, 8, 2)
    const hour = decimal(text, 11, 2)
    const minute = decimal(text, 14, 2)
    const second = decimal(text, 17, 2)
    if (
      year < 1970 ||
      month < 1 ||
      month > 12 ||
      day < 1 ||
      day > daysInMonth(year, month) ||
      hour < 0 ||
      hour > 23 ||
      minute < 0 ||
      minute > 59 ||
      second < 0 ||
      second > 59
    ) {
      return false
    }
    const end = text.length - 1
    if (text.charCodeAt(end) !== 90 /* Z */) return false
    let nanos = 0
    let digits = 0
    if (end !== 19) {
      digits = end - 20
      if (text.charCodeAt(19) !== 46 /* . */ || digits < 1 || digits > 9) return false
      nanos = decimal(text, 20, digits)
      if (nanos < 0) return false
      for (let i = digits; i < 9; i++) nanos *= 10
    }
    const sec = Date.UTC(year, month - 1, day, hour, minute, second) / 1000
    if (sec > 0xffffffff) return false
    this.keySec = sec
    this.keyNanos = nanos
    this.keyDigits = digits
    return true
  }
}

/** A key of dedup's state before episodes had a rule: `${fingerprint}|${startsAt}`. */
function isLegacyKey(key: string): boolean {
  return key.length > 17 && key.charCodeAt(16) === 124 /* | */
}

/** startsAt written back from its compact fields: `YYYY-MM-DDTHH:MM:SS[.f{digits}]Z`. */
function formatStartsAt(sec: number, nanos: number, digits: number): string {
  const whole = new Date(sec * 1000).toISOString().slice(0, 19)
  return digits === 0 ? `${whole}Z` : `${whole}.${String(nanos).padStart(9, '0').slice(0, digits)}Z`
}

/** The `length` decimal digits of `text` from `from` as a number, or -1 if one is not a digit. */
function decimal(text: string, from: number, length: number): number {
  let value = 0
  for (let i = from; i < from + length; i++) {
    const digit = text.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) return -1
    value = value * 10 + digit
  }
  return value
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31
}

/** True when `value` is what the compact form can give back for `key` (just parsed), its startsAt aside. */
function fitsCompact(key: string, value: DedupEntry): boolean {
  return (
    typeof value.fingerprint === 'string' &&
    typeof value.startsAt === 'string' &&
    typeof value.firingSeen === 'boolean' &&
    typeof value.resolvedSeen === 'boolean' &&
    typeof value.lastSeenAt === 'number' &&
    (value.alertname === undefined || value.alertname === null || typeof value.alertname === 'string') &&
    value.fingerprint === key
  )
}

/** 0–15 for a lower-case hex digit, else -1 (upper case is another fingerprint: fallback). */
function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48
  if (code >= 97 && code <= 102) return code - 87
  return -1
}

/** Mixes a fingerprint to 32 bits (murmur3's finaliser): linear probing needs well spread hashes. */
function hashFingerprint(hi: number, lo: number): number {
  let h = lo ^ Math.imul(hi, 0x9e3779b1)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h
}

/** The store factory dedup gives the runner (`StateSpec.createStore`). */
export function createEpisodeStore(options: PartitionStateOptions): PartitionState<DedupEntry> {
  return new EpisodeStore(options)
}
