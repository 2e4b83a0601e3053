import { createHash, timingSafeEqual } from 'node:crypto'
import { ConfigError } from '../errors'

/**
 * Credentials the webhook accepts: what Alertmanager's `http_config` sends, either
 * `authorization: { type: Bearer, credentials }` (or the older `bearer_token`) or
 * `basic_auth: { username, password }`. When both are set, either is accepted.
 */
export interface WebhookAuth {
  bearerToken?: string
  basic?: { username: string; password: string }
}

/** Checks an Authorization header against the configured credentials. */
export interface Authenticator {
  /** WWW-Authenticate challenges to send with a 401. */
  readonly challenges: string[]
  check(authorization: string | undefined): boolean
}

const REALM = 'nightshift'

function digest(value: string | Buffer): Buffer {
  return createHash('sha256').update(value).digest()
}

/**
 * Compares in constant time. Hashing first makes both sides the same length, so
 * neither the content nor the length of the secret leaks through timing.
 */
function safeEqual(given: string | Buffer, expected: Buffer): boolean {
  return timingSafeEqual(digest(given), expected)
}

/** Validates `auth` once; undefined when the webhook is open (no credentials configured). */
export function createAuthenticator(auth: WebhookAuth | undefined): Authenticator | undefined {
  if (!auth || (auth.bearerToken === undefined && auth.basic === undefined)) return undefined
  const challenges: string[] = []
  let bearer: Buffer | undefined
  let basic: Buffer | undefined
  if (auth.bearerToken !== undefined) {
    if (auth.bearerToken.trim() === '' || /\s/.test(auth.bearerToken)) {
      throw new ConfigError('webhook auth: bearerToken must be a non-empty token without whitespace')
    }
    bearer = digest(auth.bearerToken)
    challenges.push(`Bearer realm="${REALM}"`)
  }
  if (auth.basic !== undefined) {
    const { username, password } = auth.basic
    if (username === '' || username.includes(':'))
      throw new ConfigError('webhook auth: basic username must be non-empty and contain no ":" (RFC 7617)')
    if (password === '') throw new ConfigError('webhook auth: basic password must be non-empty')
    basic = digest(Buffer.from(`${username}:${password}`, 'utf8'))
    challenges.push(`Basic realm="${REALM}", charset="UTF-8"`)
  }
  return {
    challenges,
    check(authorization) {
      if (!authorization) return false
      const match = /^([A-Za-z]+) +(\S+) *$/.exec(authorization)
      if (!match) return false
      const scheme = match[1]!.toLowerCase()
      const credentials = match[2]!
      if (scheme === 'bearer' && bearer) return safeEqual(credentials, bearer)
      if (scheme === 'basic' && basic) return safeEqual(Buffer.from(credentials, 'base64'), basic)
      return false
    },
  }
}
