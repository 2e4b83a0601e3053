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
 * {@link describeRequest} (dry-run, logs, outcomes) shows the placeholder, never the value.
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
    if (request.signal.aborted) throw new HttpFailure('aborted', `${request.method} ${redactUrl(url)} was stopped: ${abortReason(request.signal)}`, { cause: err })
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
    if (request.signal.aborted) throw new HttpFailure('aborted', `${request.method} ${redactUrl(url)} was stopped while reading the response: ${abortReason(request.signal)}`, { cause: err })
    throw new HttpFailure('network', `${request.method} ${redactUrl(url)} broke while reading the response: ${networkCause(err)}`, { cause: err })
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
export function resultOfResponse(what: string, response: HttpResponse, output: Record<string, string> = {}): HandlerResult {
  const facts = { ...output, httpStatus: String(response.status), responseBody: response.body }
  if (response.status >= 200 && response.status < 300) return { ok: true, retriable: false, detail: `${what} answered ${response.status}`, output: facts }
  const retriable = retriableStatus(response.status)
  return { ok: false, retriable, detail: `${what} answered ${response.status}${retriable ? '' : ' (not retried: the same request would fail again)'}`, output: facts }
}

/** The result of an attempt that got no response. */
export function resultOfFailure(err: unknown, output: Record<string, string> = {}): HandlerResult {
  if (err instanceof HttpFailure) return { ok: false, retriable: err.kind !== 'url', detail: err.message, output: { ...output, error: err.kind } }
  return { ok: false, retriable: false, detail: `unexpected error: ${err instanceof Error ? err.message : String(err)}`, output: { ...output, error: 'internal' } }
}

/** Sends `request` and maps whatever happens to a result; never throws. */
export async function attemptHttp(what: string, request: HttpRequest, output: Record<string, string> = {}): Promise<{ result: HandlerResult; response?: HttpResponse }> {
  try {
    const response = await httpRequest(request)
    return { result: resultOfResponse(what, response, output), response }
  } catch (err) {
    return { result: resultOfFailure(err, output) }
  }
}

const SECRET = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g

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
export function fillSecretHeaders(headers: Record<string, string>, env: Readonly<Record<string, string | undefined>>): { ok: true; value: Record<string, string> } | { ok: false; missing: string[] } {
  const filled: Record<string, string> = {}
  const missing = new Set<string>()
  for (const [name, template] of Object.entries(headers)) {
    const result = fillSecrets(template, env)
    if (result.ok) filled[name] = result.value
    else for (const m of result.missing) missing.add(m)
  }
  return missing.size > 0 ? { ok: false, missing: [...missing] } : { ok: true, value: filled }
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
  const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String((cause as { code: unknown }).code) : undefined
  const message = cause instanceof Error ? cause.message : String(cause)
  return code && !message.includes(code) ? `${code} ${message}` : message
}
