/**
 * Alertmanager's alert fingerprint: Prometheus `model.LabelSet.Fingerprint()`, i.e.
 * 64-bit FNV-1a over the labels sorted by name (byte order), each label hashed as
 * name bytes, 0xFF, value bytes, 0xFF (UTF-8). An empty label set hashes to the FNV
 * offset basis. Rendered like Go's `%016x`: 16 lowercase hex digits.
 *
 * The 64-bit state is kept in four 16-bit limbs so every intermediate product stays a
 * small integer (no BigInt per byte): this runs for every alert of every webhook.
 */

const SEPARATOR = 0xff

/** A well-formed fingerprint as Alertmanager renders it. */
export const FINGERPRINT_PATTERN = /^[0-9a-f]{16}$/

/** FNV-1a 64-bit offset basis 14695981039346656037 (0xcbf29ce484222325), low limb first. */
const OFFSET_BASIS: readonly [number, number, number, number] = [0x2325, 0x8422, 0x9ce4, 0xcbf2]

class Fnv64a {
  private h0 = OFFSET_BASIS[0]
  private h1 = OFFSET_BASIS[1]
  private h2 = OFFSET_BASIS[2]
  private h3 = OFFSET_BASIS[3]

  /** h = (h ^ byte) * 1099511628211 mod 2^64; the prime is 2^40 + 0x1b3. */
  addByte(byte: number): void {
    const h0 = this.h0 ^ byte
    const { h1, h2, h3 } = this
    // Products stay below 2^27, sums below 2^31: exact in int32 arithmetic.
    const t0 = h0 * 0x1b3
    const t1 = h1 * 0x1b3 + (t0 >>> 16)
    const t2 = h2 * 0x1b3 + (h0 << 8) + (t1 >>> 16)
    const t3 = h3 * 0x1b3 + (h1 << 8) + (t2 >>> 16)
    this.h0 = t0 & 0xffff
    this.h1 = t1 & 0xffff
    this.h2 = t2 & 0xffff
    this.h3 = t3 & 0xffff
  }

  addBytes(bytes: Uint8Array): void {
    for (const byte of bytes) this.addByte(byte)
  }

  hex(): string {
    return [this.h3, this.h2, this.h1, this.h0].map((limb) => limb.toString(16).padStart(4, '0')).join('')
  }
}

/**
 * The fingerprint of a label set, exactly as Alertmanager computes it (see the module
 * comment). Label order in `labels` does not matter.
 */
export function fingerprint(labels: Readonly<Record<string, string>>): string {
  const entries = Object.entries(labels).map(([name, value]) => ({
    name: Buffer.from(name, 'utf8'),
    value: Buffer.from(value, 'utf8'),
  }))
  // Go sorts strings by bytes; JS string order (UTF-16 units) differs beyond the BMP.
  entries.sort((a, b) => Buffer.compare(a.name, b.name))
  const hash = new Fnv64a()
  for (const { name, value } of entries) {
    hash.addBytes(name)
    hash.addByte(SEPARATOR)
    hash.addBytes(value)
    hash.addByte(SEPARATOR)
  }
  return hash.hex()
}
