/**
 * HTTP for the actions that call a service or a pager (webhook, log-level, thread-dump,
 * page): one request with the attempt's abort signal, a bounded response body, and one
 * mapping from what happened to a {@link HandlerResult}:
 * - 2xx → ok;
 * - 408, 425, 429 and 5xx → failed, retriable (the target is busy or broken for now);
 * - any other status → failed, final (a retry sends the same wrong request);
 * - no connection, reset, DNS failure → failed, retriable;
 * - the signal aborted (attempt timeout, worker stopping) → failed, retriable.
 *
 * Secrets: header and body values may name environment variables as `${env:NAME}`;
 * {@link fillSecrets} substitutes them from the handler context's env at run time, and
 * {@link describeRequest} (dry-run, logs, outcomes) shows the placeholder, never the value;
 * {@link scrubResult} puts the placeholder back where an answer echoes a filled value.
 *
 * Headers: one set of rules for every handler's configured headers
 * ({@link validateHeaderMap}, at config load) and for what is sent ({@link headerNameProblem},
 * {@link headerValueProblem}, {@link filledHeaderProblem}), so a label value or a secret
 * can never add a header line, and a header the client or the handler sets is refused
 * up front instead of failing (and being retried) as a network error.
 */
import type { HandlerResult } from './types'

/** Bytes of a response body kept for the outcome (the rest is read and dropped). */
export const DEFAULT_MAX_RESPONSE_BYTES = 4096

export interface HttpRequest {
  method: string
  url: string
  headers?: Record<string, string>
  body?: string
  signal: AbortSignal
  /** Response body bytes kept; default {@link DEFAULT_MAX_RESPONSE_BYTES}. */
  maxResponseBytes?: number
}

export interface HttpResponse {
  status: number
  /** The body as text, cut at the bound with a `…[truncated N bytes]` marker. */
  body: string
  /** The whole body when it fit under the bound (for callers that parse it), else undefined. */
  complete: string | undefined
  contentType: string
}

/** Why a request got no response: `aborted` (signal), `network` (connection, DNS, reset), `url` (not a valid http(s) URL). */
export class HttpFailure extends Error {
  constructor(
    readonly kind: 'aborted' | 'network' | 'url',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'HttpFailure'
  }
}

/** Parses an http(s) URL, or explains why it is not one. */
export function parseHttpUrl(raw: string): URL | string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return `"${raw}" is not a URL`
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `"${raw}" is not an http(s) URL`
  return url
}

/** Sends one request. Throws {@link HttpFailure} when there is no response; any status resolves. */
export async function httpRequest(request: HttpRequest): Promise<HttpResponse> {
  const url = parseHttpUrl(request.url)
  if (typeof url === 'string') throw new HttpFailure('url', url)
  const limit = request.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES
  let response: Response
  try {
    response = await fetch(url, {
      method: request.method,
      ...(request.headers ? { headers: request.headers } : {}),
      ...(request.body !== undefined ? { body: request.body } : {}),
      signal: request.signal,
      redirect: 'manual',
    })
  } catch (err) {
    if (request.signal.aborted)
      throw new HttpFailure(
        'aborted',
        `${request.method} ${redactUrl(url)} was stopped: ${abortReason(request.signal)}`,
        { cause: err },
      )
    throw new HttpFailure('network', `${request.method} ${redactUrl(url)} failed: ${networkCause(err)}`, { cause: err })
  }
  const chunks: Buffer[] = []
  let kept = 0
  let dropped = 0
  try {
    if (response.body) {
      for await (const chunk of response.body) {
        const buf = Buffer.from(chunk as Uint8Array)
        const room = limit - kept
        if (room > 0) {
          const part = buf.length <= room ? buf : buf.subarray(0, room)
          chunks.push(part)
          kept += part.length
        }
        dropped += Math.max(0, buf.length - Math.max(0, room))
      }
    }
  } catch (err) {
    if (request.signal.aborted)
      throw new HttpFailure(
        'aborted',
        `${request.method} ${redactUrl(url)} was stopped while reading the response: ${abortReason(request.signal)}`,
        { cause: err },
      )
    throw new HttpFailure(
      'network',
      `${request.method} ${redactUrl(url)} broke while reading the response: ${networkCause(err)}`,
      { cause: err },
    )
  }
  const text = Buffer.concat(chunks).toString('utf8')
  return {
    status: response.status,
    body: dropped > 0 ? `${text}…[truncated ${dropped} bytes]` : text,
    complete: dropped > 0 ? undefined : text,
    contentType: response.headers.get('content-type') ?? '',
  }
}

/** Whether a status is worth retrying: the target is overloaded or failing for now. */
export function retriableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500
}

/**
 * The result of an attempt that got `response`: ok on 2xx, else failed (retriable per
 * {@link retriableStatus}). `what` names the call in the detail (`POST http://…/restart`).
 */
export function resultOfResponse(
  what: string,
  response: HttpResponse,
  output: Record<string, string> = {},
): HandlerResult {
  const facts = { ...output, httpStatus: String(response.status), responseBody: response.body }
  if (response.status >= 200 && response.status < 300)
    return { ok: true, retriable: false, detail: `${what} answered ${response.status}`, output: facts }
  const retriable = retriableStatus(response.status)
  return {
    ok: false,
    retriable,
    detail: `${what} answered ${response.status}${retriable ? '' : ' (not retried: the same request would fail again)'}`,
    output: facts,
  }
}

/** The result of an attempt that got no response. */
export function resultOfFailure(err: unknown, output: Record<string, string> = {}): HandlerResult {
  if (err instanceof HttpFailure)
    return { ok: false, retriable: err.kind !== 'url', detail: err.message, output: { ...output, error: err.kind } }
  return {
    ok: false,
    retriable: false,
    detail: `unexpected error: ${err instanceof Error ? err.message : String(err)}`,
    output: { ...output, error: 'internal' },
  }
}

/** Sends `request` and maps whatever happens to a result; never throws. */
export async function attemptHttp(
  what: string,
  request: HttpRequest,
  output: Record<string, string> = {},
): Promise<{ result: HandlerResult; response?: HttpResponse }> {
  try {
    const response = await httpRequest(request)
    return { result: resultOfResponse(what, response, output), response }
  } catch (err) {
    return { result: resultOfFailure(err, output) }
  }
}

const SECRET = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g

/** Names of the `${env:NAME}` placeholders in `text`. */
export function secretNames(text: string): string[] {
  return [...new Set([...text.matchAll(SECRET)].map((m) => m[1] ?? ''))]
}

export type FillSecretsResult = { ok: true; value: string } | { ok: false; missing: string[] }

/** Replaces each `${env:NAME}` in `text` with the variable's value; names every unset one. */
export function fillSecrets(text: string, env: Readonly<Record<string, string | undefined>>): FillSecretsResult {
  const missing: string[] = []
  const value = text.replace(SECRET, (_, name: string) => {
    const found = Object.hasOwn(env, name) ? env[name] : undefined
    if (found === undefined || found === '') {
      missing.push(name)
      return ''
    }
    return found
  })
  return missing.length > 0 ? { ok: false, missing: [...new Set(missing)] } : { ok: true, value }
}

/** Fills the secrets of every header value; names every unset variable at once. */
export function fillSecretHeaders(
  headers: Record<string, string>,
  env: Readonly<Record<string, string | undefined>>,
): { ok: true; value: Record<string, string> } | { ok: false; missing: string[] } {
  const filled: Record<string, string> = {}
  const missing = new Set<string>()
  for (const [name, template] of Object.entries(headers)) {
    const result = fillSecrets(template, env)
    if (result.ok) filled[name] = result.value
    else for (const m of result.missing) missing.add(m)
  }
  return missing.size > 0 ? { ok: false, missing: [...missing] } : { ok: true, value: filled }
}

/**
 * Fills the secrets of a handler's configured headers for one attempt.
 * @param at where the config names the headers (`log-level.config.headers`), for the message.
 * @returns the headers to send, or why they cannot be sent: the unset variables, or a
 *   filled value no header can carry (see {@link filledHeaderProblem}).
 */
export function fillConfiguredHeaders(
  headers: Readonly<Record<string, string>>,
  env: Readonly<Record<string, string | undefined>>,
  at: string,
): Record<string, string> | string {
  const filled = fillSecretHeaders(headers, env)
  if (!filled.ok) return `the environment lacks ${filled.missing.join(', ')} (named in ${at})`
  return filledHeaderProblem(filled.value) ?? filled.value
}

/**
 * Replaces every value of the named variables in `text` by its `${env:NAME}` placeholder,
 * so a receiver that echoes a header (or an error that quotes one) cannot put a secret in
 * an outcome.
 */
export function scrubSecrets(
  text: string,
  names: Iterable<string>,
  env: Readonly<Record<string, string | undefined>>,
): string {
  const pairs: [string, string][] = []
  for (const name of names) {
    const value = Object.hasOwn(env, name) ? env[name] : undefined
    if (value) pairs.push([value, `\${env:${name}}`])
  }
  pairs.sort((a, b) => b[0].length - a[0].length)
  let out = text
  for (const [value, placeholder] of pairs) out = out.split(value).join(placeholder)
  return out
}

/** Scrubs the detail and every output value of a result (see {@link scrubSecrets}). */
export function scrubResult(
  result: HandlerResult,
  names: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): HandlerResult {
  if (names.length === 0) return result
  const output: Record<string, string> = {}
  for (const [k, v] of Object.entries(result.output)) output[k] = scrubSecrets(v, names, env)
  return { ...result, detail: scrubSecrets(result.detail, names, env), output }
}

/** RFC 9110 token: what a header name may be. */
const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/**
 * Headers the HTTP client sets itself or refuses (undici drops Host, breaks on a wrong
 * Content-Length, rejects the rest): a request naming one fails final instead of as a
 * network error that would be retried.
 */
export const MANAGED_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'proxy-connection',
])

/**
 * Why a header name cannot be sent, or undefined.
 * @param setByHandler lower-case names the calling handler sets itself (`accept`): a
 *   configured one would be sent twice or overridden.
 */
export function headerNameProblem(name: string, setByHandler: readonly string[] = []): string | undefined {
  if (!HTTP_TOKEN.test(name)) return "is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~)"
  const lower = name.toLowerCase()
  if (MANAGED_HEADERS.has(lower)) return 'is set by the HTTP client and cannot be given'
  if (setByHandler.includes(lower)) return 'is set by the handler and cannot be configured'
  return undefined
}

/**
 * Why a header value cannot be sent, or undefined. Never quotes the value (it may hold a
 * secret): the caller names the header.
 */
export function headerValueProblem(value: string): string | undefined {
  if (/[\r\n]/.test(value)) return 'contains CR or LF, which would start a new header line'
  // Header values are bytes: tab, visible ASCII and Latin-1 (obs-text).
  if (/[^\t\x20-\x7e\x80-\xff]/.test(value)) return 'contains a control character or a character outside Latin-1'
  return undefined
}

/**
 * Why headers whose secrets were filled in cannot be sent (`header <Name>: …`), or
 * undefined. Their templates passed {@link headerValueProblem}, so a problem is in a
 * secret's value: it is never quoted.
 */
export function filledHeaderProblem(headers: Readonly<Record<string, string>>): string | undefined {
  for (const [name, value] of Object.entries(headers)) {
    const bad = headerValueProblem(value)
    if (bad) return `header ${name}: the value with its secrets filled in ${bad}; not sent`
  }
  return undefined
}

/**
 * Validates a config `headers` map into `problems` (each naming its path under `at`);
 * returns the valid entries. Names are checked by {@link headerNameProblem} (with
 * `setByHandler`), once whatever their case; values by {@link headerValueProblem}.
 */
export function validateHeaderMap(
  raw: unknown,
  at: string,
  problems: string[],
  setByHandler: readonly string[] = [],
): Record<string, string> {
  const headers: Record<string, string> = {}
  if (!isRecord(raw)) {
    problems.push(`${at} must be a map of header names to string values`)
    return headers
  }
  const seen = new Map<string, string>()
  for (const [name, value] of Object.entries(raw)) {
    const where = keyPath(at, name)
    const before = problems.length
    const badName = headerNameProblem(name, setByHandler)
    if (badName) problems.push(`${where}: "${clip(name, 60)}" ${badName}`)
    const other = seen.get(name.toLowerCase())
    if (other !== undefined) problems.push(`${where} repeats ${other} (header names are case-insensitive)`)
    seen.set(name.toLowerCase(), name)
    if (typeof value !== 'string') problems.push(`${where} must be a string (secrets as \${env:NAME})`)
    else {
      const badValue = headerValueProblem(value)
      if (badValue) problems.push(`${where}: the value ${badValue}`)
    }
    if (problems.length === before) headers[name] = value as string
  }
  return headers
}

/** `base.key`, or `base["key"]` when the key is not a plain name. */
export function keyPath(base: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`
}

/** At most `max` characters of `text` (hostile values go into details), with `…` when cut. */
export function clip(text: string, max = 200): string {
  if (text.length <= max) return text
  let end = max - 1
  const code = text.charCodeAt(end - 1)
  if (code >= 0xd800 && code <= 0xdbff) end -= 1
  return `${text.slice(0, end)}…`
}

/** Whether a config value is a map (an object, not an array or null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The own string value of `key` in a request's params (or labels), else undefined:
 * templated maps come from the wire, so `constructor` or `__proto__` must not resolve.
 */
export function ownString(map: Readonly<Record<string, string>>, key: string): string | undefined {
  if (!Object.hasOwn(map, key)) return undefined
  const value: unknown = map[key]
  return typeof value === 'string' ? value : undefined
}

/** `POST http://host/path` with any userinfo and query string hidden (they may hold tokens). */
export function redactUrl(url: URL | string): string {
  const parsed = typeof url === 'string' ? parseHttpUrl(url) : url
  if (typeof parsed === 'string') return String(url)
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}${parsed.search ? '?…' : ''}`
}

/** One line for dry-run: method, redacted URL, body (placeholders, not secrets) cut at 200 chars. */
export function describeRequest(method: string, url: string, body?: string): string {
  const shown = body === undefined || body === '' ? '' : ` ${body.length > 200 ? `${body.slice(0, 200)}…` : body}`
  return `${method} ${redactUrl(url)}${shown}`
}

function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason
  return reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'aborted'
}

function networkCause(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err
  const code =
    typeof cause === 'object' && cause !== null && 'code' in cause
      ? String((cause as { code: unknown }).code)
      : undefined
  const message = cause instanceof Error ? cause.message : String(cause)
  return code && !message.includes(code) ? `${code} ${message}` : message
}
