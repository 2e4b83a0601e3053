/**
 * The console's stored secrets: scrypt hashes (`scrypt$N$r$p$salt$hash`), made by
 * `nightshift console hash-password` and checked in constant time. A hash weaker than the
 * defaults, or one that would take more than 256 MiB to check, is refused.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import { ConfigError } from '../errors'

/** scrypt parameters of new hashes: RFC 7914's interactive-login cost (16 MiB, ~100 ms). */
export const SCRYPT_DEFAULTS = Object.freeze({ N: 16384, r: 8, p: 1 })
export const SALT_BYTES = 16
export const KEY_BYTES = 32
/** Weaker than the defaults is refused; more than 256 MiB per check too. */
const MIN_N = 16384
const MAX_MEMORY = 256 * 1024 * 1024
export const HASH_FORMAT = 'scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>'
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/** A parsed `scrypt$N$r$p$salt$hash`. */
export interface ScryptHash {
  N: number
  r: number
  p: number
  salt: Buffer
  hash: Buffer
}

/** Parses a stored hash; `{ ok: false, reason }` says what is wrong, without echoing it. */
export function parseScryptHash(text: string): { ok: true; value: ScryptHash } | { ok: false; reason: string } {
  const parts = text.trim().split('$')
  if (parts[0] !== 'scrypt' || parts.length !== 6) {
    const bcrypt = /^\$2[abxy]?\$/.test(text.trim()) ? ' (bcrypt hashes are not supported)' : ''
    return { ok: false, reason: `not a scrypt hash${bcrypt}; expected ${HASH_FORMAT}` }
  }
  const [, nText, rText, pText, saltText, hashText] = parts as [string, string, string, string, string, string]
  const [N, r, p] = [nText, rText, pText].map((t) => (/^\d{1,10}$/.test(t) ? Number(t) : NaN)) as [
    number,
    number,
    number,
  ]
  if (!Number.isInteger(N) || N < MIN_N || (N & (N - 1)) !== 0)
    return { ok: false, reason: `N must be a power of 2 of at least ${MIN_N}` }
  if (!Number.isInteger(r) || r < 1 || r > 32) return { ok: false, reason: 'r must be between 1 and 32' }
  if (!Number.isInteger(p) || p < 1 || p > 16) return { ok: false, reason: 'p must be between 1 and 16' }
  if (128 * N * r > MAX_MEMORY) return { ok: false, reason: 'N × r needs more than 256 MiB per check' }
  if (!BASE64.test(saltText) || !BASE64.test(hashText))
    return { ok: false, reason: 'the salt and the hash must be base64' }
  const salt = Buffer.from(saltText, 'base64')
  const hash = Buffer.from(hashText, 'base64')
  if (salt.length < 16) return { ok: false, reason: 'the salt must be at least 16 bytes' }
  if (hash.length < 16 || hash.length > 64) return { ok: false, reason: 'the hash must be 16 to 64 bytes' }
  return { ok: true, value: { N, r, p, salt, hash } }
}

function derive(secret: string, salt: Buffer, length: number, params: { N: number; r: number; p: number }) {
  const options: ScryptOptions = { ...params, maxmem: 128 * params.N * params.r * 2 }
  return new Promise<Buffer>((resolve, reject) =>
    scryptCallback(secret.normalize('NFC'), salt, length, options, (err, key) => (err ? reject(err) : resolve(key))),
  )
}

/** Hashes a password or token for the users file: `scrypt$N$r$p$salt$hash`. */
export async function hashSecret(
  secret: string,
  params: { N?: number; r?: number; p?: number; salt?: Buffer } = {},
): Promise<string> {
  const { N, r, p } = { ...SCRYPT_DEFAULTS, ...params }
  const salt = params.salt ?? randomBytes(SALT_BYTES)
  const text = `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$`
  const parsed = parseScryptHash(`${text}${Buffer.alloc(KEY_BYTES).toString('base64')}`)
  if (!parsed.ok) throw new ConfigError(`cannot hash with these parameters: ${parsed.reason}`)
  const key = await derive(secret, salt, KEY_BYTES, { N, r, p })
  return `${text}${key.toString('base64')}`
}

/** Whether `secret` is the one `stored` was made from; constant time in the secret. */
export async function verifySecret(secret: string, stored: ScryptHash): Promise<boolean> {
  const key = await derive(secret, stored.salt, stored.hash.length, stored)
  return timingSafeEqual(key, stored.hash)
}
