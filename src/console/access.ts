/**
 * Who may use the console (issue 18): a viewer credential to look, an operator credential
 * to approve, deny, pause and lift.
 *
 * Credentials:
 * - people: `Authorization: Basic` (the browser asks, prompted by `WWW-Authenticate: Basic
 *   realm="nightshift"`), checked against `users:` of the file named by
 *   NIGHTSHIFT_CONSOLE_USERS_FILE;
 * - programs: `Authorization: Bearer <token>`, checked against `tokens:` of the same file,
 *   and against NIGHTSHIFT_OPERATOR_TOKEN(_FILE), the approval API's token, which stays an
 *   operator token named "operator" (also accepted as Basic `operator:<token>`, so a browser
 *   can use it).
 *
 * The file holds only scrypt hashes (`scrypt$N$r$p$salt$hash`, from `nightshift console
 * hash-password`); a plain password is refused at load naming the user. The file is
 * re-read when it changes: a valid edit takes effect within seconds (and forgets every
 * cached sign-in), a bad one is logged and the last good version stays.
 *
 * scrypt costs ~100 ms and 16 MiB by design, so a successful check is cached for a minute,
 * keyed by a SHA-256 of the presented header (never the credential itself), and at most
 * {@link MAX_CONCURRENT_CHECKS} checks run at once: more is answered 429, so a flood of
 * wrong passwords cannot take the process's memory and CPU (signed-in users, cached, are
 * not slowed).
 *
 * Cross-site request forgery. A browser sends Basic credentials it has cached (and, in open
 * mode, nothing is needed at all) with any request to the origin, including one a hostile
 * page makes it send. Every state-changing request (POST, PUT, PATCH, DELETE) must
 * therefore carry the header {@link CSRF_HEADER} (any value), and, when the browser says
 * where it comes from (`Origin`, `Sec-Fetch-Site`), come from the console's own origin.
 * The header suffices: an HTML form, the only cross-site way to send a POST without
 * JavaScript's permission model, cannot set a header; a cross-site `fetch` that sets one
 * is not "simple", so the browser first sends a CORS preflight (OPTIONS), which we never
 * answer with `Access-Control-Allow-*`, and the request itself is never sent. The origin
 * check adds a second, independent refusal for browsers that send those headers. A request
 * that signs in with a Bearer token needs no header: a browser never attaches one by
 * itself, so it cannot be forged (curl and scripts keep working as documented); it is
 * still refused when it says it comes from another origin. GET and HEAD change nothing and
 * need neither.
 *
 * With no credentials configured the console is open: everyone is the operator "local",
 * which is only safe on a loopback address; {@link consoleListenCheck} refuses the rest,
 * and a request addressed to any other name (DNS rebinding) is refused.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import net from 'node:net'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { LRUCache } from 'lru-cache'
import { secretFromEnv } from '../config/security'
import { watchConfig, type ConfigMetrics, type WatchedConfig } from '../config/watched-file'
import { displayName, yamlFormat } from '../config/yaml-file'
import { ConfigError } from '../errors'
import { HTTP_ERROR_CODES, sendError } from '../http/errors'
import type { Logger } from '../log'
import {
  HASH_FORMAT,
  KEY_BYTES,
  SALT_BYTES,
  SCRYPT_DEFAULTS,
  parseScryptHash,
  verifySecret,
  type ScryptHash,
} from './scrypt'
import { CSRF_HEADER, type ConsoleRole, type ConsoleUser } from './types'

export { SCRYPT_DEFAULTS, hashSecret, parseScryptHash, verifySecret, type ScryptHash } from './scrypt'

declare module 'fastify' {
  interface FastifyRequest {
    /** Who made the request; set by the console's access hook. */
    consoleUser?: ConsoleUser
  }
}

/** The environment variable naming the users file. */
export const USERS_FILE_ENV = 'NIGHTSHIFT_CONSOLE_USERS_FILE'
/** The approval API's operator token, accepted by the console as the operator "operator". */
export const OPERATOR_TOKEN_ENV = 'NIGHTSHIFT_OPERATOR_TOKEN'
export const OPERATOR_TOKEN_NAME = 'operator'
/** Who everyone is when no credentials are configured. */
export const OPEN_USER: ConsoleUser = Object.freeze({ name: 'local', role: 'operator', open: true })
export const REALM = 'nightshift'

/** scrypt checks running at once before sign-ins are answered 429. */
export const MAX_CONCURRENT_CHECKS = 4
const CACHE_MAX = 1000
/** The code of a 403: a viewer acting, a forged request. */
const REFUSED = HTTP_ERROR_CODES.forbidden
const DEFAULT_CACHE_TTL_MS = 60_000

// ---------------------------------------------------------------- the users file

/** A valid users file: who may sign in, with what role. */
export interface ConsoleCredentials {
  users: ReadonlyArray<{ name: string; role: ConsoleRole; password: ScryptHash }>
  tokens: ReadonlyArray<{ name: string; role: ConsoleRole; token: ScryptHash }>
}

interface RawFile {
  users?: Array<{ name: string; role: ConsoleRole; password: unknown }>
  tokens?: Array<{ name: string; role: ConsoleRole; token: unknown }>
}

const NAME_PATTERN = '^[^:\\s]{1,100}$'
const ROLES: readonly ConsoleRole[] = ['viewer', 'operator']

const entrySchema = (secret: 'password' | 'token') => ({
  type: 'object',
  additionalProperties: false,
  required: ['name', 'role', secret],
  properties: {
    name: { type: 'string', pattern: NAME_PATTERN },
    role: { enum: ROLES },
    // Any type: a plain value is refused below, naming the user and never echoing it.
    [secret]: { description: HASH_FORMAT },
  },
})

/** The JSON schema of the users file. */
export const USERS_FILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    users: { type: 'array', items: entrySchema('password') },
    tokens: { type: 'array', items: entrySchema('token') },
  },
} as const

const FORMAT = yamlFormat<RawFile>(USERS_FILE_SCHEMA, {
  emptyMeans: 'the key users (or tokens)',
  patternMeans: { [NAME_PATTERN]: 'a name of 1 to 100 characters without ":" or spaces' },
})

/**
 * Parses and validates a users file; one ConfigError lists every problem. `reserved` are
 * names taken elsewhere (the operator token's).
 */
export function parseUsersFile(text: string, file: string, reserved: readonly string[] = []): ConsoleCredentials {
  const name = displayName(file)
  const raw = FORMAT.parse(text, file)
  const problems: string[] = []
  const seen = new Map<string, string>(reserved.map((r) => [r, 'the operator token (NIGHTSHIFT_OPERATOR_TOKEN)']))
  const secretOf = (value: unknown, where: string, who: string): ScryptHash | undefined => {
    if (typeof value !== 'string') {
      problems.push(`${where} of ${who} is not a scrypt hash; expected ${HASH_FORMAT}`)
      return undefined
    }
    const parsed = parseScryptHash(value)
    if (parsed.ok) return parsed.value
    problems.push(`${where} of ${who} is ${parsed.reason.startsWith('not') ? '' : 'a bad hash: '}${parsed.reason}`)
    return undefined
  }
  const claim = (entryName: string, where: string): void => {
    const first = seen.get(entryName)
    if (first !== undefined) problems.push(`${where}: the name "${entryName}" is already used by ${first}`)
    else seen.set(entryName, where)
  }
  const users = (raw.users ?? []).flatMap((u, i) => {
    claim(u.name, `/users/${i}`)
    const password = secretOf(u.password, `/users/${i}/password`, `user "${u.name}"`)
    return password ? [{ name: u.name, role: u.role, password }] : []
  })
  const tokens = (raw.tokens ?? []).flatMap((t, i) => {
    claim(t.name, `/tokens/${i}`)
    const token = secretOf(t.token, `/tokens/${i}/token`, `token "${t.name}"`)
    return token ? [{ name: t.name, role: t.role, token }] : []
  })
  if (problems.length === 0 && users.length + tokens.length === 0)
    problems.push(
      'no users and no tokens: an empty file would open the console to everyone; remove the setting instead',
    )
  if (problems.length > 0) {
    const plain = problems.some((p) => p.includes('is not a scrypt hash'))
      ? `\n${name}: store only hashes: run \`nightshift console hash-password\` and paste what it prints`
      : ''
    throw new ConfigError(`${problems.map((p) => `${name}: ${p}`).join('\n')}${plain}`)
  }
  return Object.freeze({ users: Object.freeze(users), tokens: Object.freeze(tokens) })
}

// ---------------------------------------------------------------- cross-site request forgery

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** What the CSRF check reads of a request. */
export interface CsrfInput {
  method: string
  /** The Host the client addressed (fastify's `request.host`: X-Forwarded-Host with trustProxy). */
  host: string
  origin?: string
  secFetchSite?: string
  /** Whether the {@link CSRF_HEADER} header is present (its value does not matter). */
  csrfHeader: boolean
  /** Whether the request signs in with a Bearer token (a browser never adds one itself). */
  bearer: boolean
}

/** Whether `origin` (`scheme://host[:port]`) names the same host and port as `host`. */
export function sameOrigin(origin: string, host: string): boolean {
  try {
    const from = new URL(origin)
    if (from.protocol !== 'http:' && from.protocol !== 'https:') return false
    // The Host header has no scheme: read it with the Origin's, so default ports compare equal.
    return from.host === new URL(`${from.protocol}//${host}`).host
  } catch {
    return false
  }
}

/** Whether a request may change state as far as cross-site forgery goes; why not when not. */
export function checkCsrf(input: CsrfInput): { ok: true } | { ok: false; reason: string } {
  if (SAFE_METHODS.has(input.method.toUpperCase())) return { ok: true }
  if (input.origin !== undefined && !sameOrigin(input.origin, input.host))
    return { ok: false, reason: `cross-site request refused: Origin ${input.origin} is not this console's` }
  if (input.secFetchSite !== undefined && input.secFetchSite !== 'same-origin')
    return { ok: false, reason: `cross-site request refused: Sec-Fetch-Site is ${input.secFetchSite}` }
  if (!input.csrfHeader && !input.bearer)
    return {
      ok: false,
      reason: `a ${input.method.toUpperCase()} from a browser must carry the header ${CSRF_HEADER} (any value) to show it comes from the console's page`,
    }
  return { ok: true }
}

// ---------------------------------------------------------------- the hook

/** Whether `host` is a loopback address (or `localhost`): what an open console may listen on. */
export function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
  if (h === 'localhost' || h.endsWith('.localhost')) return true
  if (net.isIPv4(h)) return h.startsWith('127.')
  if (net.isIPv6(h)) return h === '::1' || /^::ffff:127\./.test(h) || h === '0:0:0:0:0:0:0:1'
  return false
}

/**
 * Refuses a console without credentials on anything but a loopback address: an open
 * console lets everyone who reaches it approve and pause. The server wiring calls it with
 * its listen address before listening.
 */
export function consoleListenCheck(host: string, access: Pick<ConsoleAccess, 'open'>): void {
  if (!access.open || isLoopback(host)) return
  throw new ConfigError(
    `the console has no credentials (neither ${USERS_FILE_ENV} nor ${OPERATOR_TOKEN_ENV} is set), so it is open to ` +
      `anyone who reaches it and may only listen on a loopback address, not ${host}: give people credentials ` +
      `(docs/operations.md, "Console access") or listen on 127.0.0.1`,
  )
}

export interface ConsoleAccessOptions {
  logger: Logger
  /** NIGHTSHIFT_CONSOLE_USERS_FILE and NIGHTSHIFT_OPERATOR_TOKEN(_FILE) come from here (default: process.env). */
  env?: NodeJS.ProcessEnv
  /** Reload metrics of the users file (nightshift_config_*). */
  metrics?: ConfigMetrics
  /** How often the users file is checked for edits (default: watchConfig's). */
  reloadIntervalMs?: number
  /** How long a successful check is remembered (default 60 s). */
  cacheTtlMs?: number
}

/** Who may use the console; built once at start by {@link createConsoleAccess}. */
export interface ConsoleAccess {
  /** True when no credentials are configured: everyone is {@link OPEN_USER} (loopback only). */
  readonly open: boolean
  /** One line for the start log and the page: what is configured, never a secret. */
  describe(): string
  /**
   * onRequest (or preHandler) hook for `/`, `/api/console/*` and `/api/approvals/*`:
   * refuses forged cross-site requests (403), then signs the request in: sets
   * `request.consoleUser`, or answers 401 with the challenges (429 when too many checks run).
   */
  authenticate(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined>
  /** preHandler of state-changing routes, after {@link authenticate}: 403 for a viewer. */
  requireOperator(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined>
  /** The user an Authorization header signs in; undefined when it signs in no one. */
  identify(authorization: string | undefined): Promise<ConsoleUser | undefined>
  /** Stops watching the users file. */
  close(): void
}

/** Declares `request.consoleUser` on `server` (once; fastify wants decorations declared up front). */
export function decorateConsoleRequest(server: FastifyInstance): void {
  if (!server.hasRequestDecorator('consoleUser')) server.decorateRequest('consoleUser', undefined)
}

function sha256(value: string | Buffer): Buffer {
  return createHash('sha256').update(value).digest()
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name]
  return Array.isArray(value) ? value[0] : value
}

type Presented =
  | { scheme: 'basic'; name: string; secret: string }
  | { scheme: 'bearer'; secret: string }
  | { scheme: 'none' }
  | { scheme: 'malformed' }

function presented(authorization: string | undefined): Presented {
  if (authorization === undefined || authorization.trim() === '') return { scheme: 'none' }
  const match = /^([A-Za-z]+) +(\S+) *$/.exec(authorization)
  if (!match) return { scheme: 'malformed' }
  const scheme = match[1]!.toLowerCase()
  if (scheme === 'bearer') return { scheme: 'bearer', secret: match[2]! }
  if (scheme !== 'basic') return { scheme: 'malformed' }
  const decoded = Buffer.from(match[2]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon <= 0) return { scheme: 'malformed' }
  return { scheme: 'basic', name: decoded.slice(0, colon), secret: decoded.slice(colon + 1) }
}

/** A hash nobody's password matches, checked for unknown names so they take as long as known ones. */
const DECOY: ScryptHash = {
  ...SCRYPT_DEFAULTS,
  salt: Buffer.alloc(SALT_BYTES, 0x6e),
  hash: Buffer.alloc(KEY_BYTES),
}

/**
 * Reads the credentials (a bad users file or operator token setting is a ConfigError: the
 * process must not start on it) and returns the hooks that enforce them.
 */
export function createConsoleAccess(options: ConsoleAccessOptions): ConsoleAccess {
  const env = options.env ?? process.env
  const log = options.logger.child({ module: 'console-access' })
  const operatorToken = secretFromEnv(env, OPERATOR_TOKEN_ENV)
  const operatorDigest = operatorToken === undefined ? undefined : sha256(operatorToken.reveal())
  const reserved = operatorDigest === undefined ? [] : [OPERATOR_TOKEN_NAME]
  const file = env[USERS_FILE_ENV]?.trim() || undefined
  const cache = new LRUCache<string, ConsoleUser>({ max: CACHE_MAX, ttl: options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS })
  const watched: WatchedConfig<ConsoleCredentials> | undefined =
    file === undefined
      ? undefined
      : watchConfig({
          file,
          parse: (text, name) => parseUsersFile(text, name, reserved),
          logger: options.logger,
          ...(options.metrics ? { metrics: options.metrics } : {}),
          ...(options.reloadIntervalMs === undefined ? {} : { intervalMs: options.reloadIntervalMs }),
          // Someone removed or demoted must not stay signed in from the cache.
          onChange: () => cache.clear(),
        })
  const open = watched === undefined && operatorDigest === undefined
  let checking = 0

  const user = (name: string, role: ConsoleRole): ConsoleUser => Object.freeze({ name, role, open: false })
  const operator = user(OPERATOR_TOKEN_NAME, 'operator')
  const isOperatorToken = (secret: string): boolean =>
    operatorDigest !== undefined && timingSafeEqual(sha256(secret), operatorDigest)

  /** Runs the scrypt checks; undefined when no one matches. */
  const verify = async (given: Presented): Promise<ConsoleUser | undefined> => {
    const credentials = watched?.current()
    if (given.scheme === 'bearer') {
      if (isOperatorToken(given.secret)) return operator
      for (const t of credentials?.tokens ?? [])
        if (await verifySecret(given.secret, t.token)) return user(t.name, t.role)
      return undefined
    }
    if (given.scheme !== 'basic') return undefined
    if (given.name === OPERATOR_TOKEN_NAME && isOperatorToken(given.secret)) return operator
    const found = credentials?.users.find((u) => u.name === given.name)
    const ok = await verifySecret(given.secret, found?.password ?? DECOY)
    return ok && found ? user(found.name, found.role) : undefined
  }

  const identifyOrBusy = async (authorization: string | undefined): Promise<ConsoleUser | 'busy' | undefined> => {
    if (open) return OPEN_USER
    const given = presented(authorization)
    if (given.scheme === 'none' || given.scheme === 'malformed') return undefined
    const key = sha256(`${given.scheme} ${authorization!.trim().split(/ +/)[1]}`).toString('hex')
    const cached = cache.get(key)
    if (cached !== undefined) return cached
    if (checking >= MAX_CONCURRENT_CHECKS) return 'busy'
    checking += 1
    try {
      const found = await verify(given)
      if (found !== undefined) cache.set(key, found)
      else
        log.warn({ scheme: given.scheme, ...(given.scheme === 'basic' ? { user: given.name } : {}) }, 'sign-in refused')
      return found
    } finally {
      checking -= 1
    }
  }

  const challenges = (): string[] => {
    const credentials = watched?.current()
    const basic = `Basic realm="${REALM}", charset="UTF-8"`
    const bearer = `Bearer realm="${REALM}"`
    // Basic first: a browser prompts for the first scheme it knows.
    return (credentials?.tokens.length ?? 0) > 0 || operatorDigest !== undefined ? [basic, bearer] : [basic]
  }

  return {
    open,
    describe() {
      if (open) return 'console open: no credentials configured, everyone on this host is an operator'
      const credentials = watched?.current()
      const count = (role: ConsoleRole) =>
        [...(credentials?.users ?? []), ...(credentials?.tokens ?? [])].filter((e) => e.role === role).length
      const parts = [
        ...(credentials
          ? [`${credentials.users.length} user(s) and ${credentials.tokens.length} token(s) from ${displayName(file!)}`]
          : []),
        ...(operatorDigest ? [`the operator token (${OPERATOR_TOKEN_ENV})`] : []),
      ]
      return `console access: ${parts.join(', ')}; ${count('operator') + (operatorDigest ? 1 : 0)} operator(s), ${count('viewer')} viewer(s)`
    },
    async authenticate(request, reply) {
      // DNS rebinding: a hostile name resolving to 127.0.0.1 would make its page same-origin
      // with an open console. Asking for nothing, an open console answers only to loopback names.
      if (open && !isLoopback(request.hostname)) {
        const reason = `an open console (no credentials) answers only to a loopback name such as 127.0.0.1 or localhost, not ${request.hostname}`
        log.warn({ ip: request.ip, method: request.method, url: request.url, reason }, 'request refused')
        return sendError(reply, 403, REFUSED, reason)
      }
      const authorization = header(request, 'authorization')
      const csrf = checkCsrf({
        method: request.method,
        host: request.host,
        origin: header(request, 'origin'),
        secFetchSite: header(request, 'sec-fetch-site'),
        csrfHeader: header(request, CSRF_HEADER) !== undefined,
        bearer: !open && presented(authorization).scheme === 'bearer',
      })
      if (!csrf.ok) {
        log.warn({ ip: request.ip, method: request.method, url: request.url, reason: csrf.reason }, 'request refused')
        return sendError(reply, 403, REFUSED, csrf.reason)
      }
      const found = await identifyOrBusy(authorization)
      if (found === 'busy') {
        reply.header('retry-after', '1')
        return sendError(reply, 429, HTTP_ERROR_CODES.tooManyRequests, 'too many sign-ins being checked; try again')
      }
      if (found === undefined) {
        reply.header('www-authenticate', challenges())
        return sendError(
          reply,
          401,
          HTTP_ERROR_CODES.unauthorized,
          authorization === undefined ? 'sign in to use the console' : 'wrong or unknown credentials',
        )
      }
      request.consoleUser = found
      return undefined
    },
    async requireOperator(request, reply) {
      const who = request.consoleUser
      if (who === undefined) {
        reply.header('www-authenticate', challenges())
        return sendError(reply, 401, HTTP_ERROR_CODES.unauthorized, 'sign in to use the console')
      }
      if (who.role === 'operator') return undefined
      return sendError(
        reply,
        403,
        REFUSED,
        `${who.name} is a viewer: approving, denying, pausing and lifting need an operator credential`,
      )
    },
    async identify(authorization) {
      const found = await identifyOrBusy(authorization)
      return found === 'busy' ? undefined : found
    },
    close() {
      watched?.close()
    },
  }
}
