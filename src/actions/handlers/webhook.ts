/**
 * The `webhook` action: one HTTP request to a URL the route built for the alert (usually
 * from a catalog endpoint, `{{ endpoints.admin }}/cache/flush`). Params arrive already
 * templated, so any part of them may hold label values: hostile until proven otherwise.
 * What must hold:
 * - the URL is http(s); when the config sets `urlPrefixes`, the URL as the client will
 *   send it (normalized: `..` resolved, default port dropped, host lowercased) starts with
 *   one of them at a path boundary, so neither `/../`, a userinfo `@` nor a longer host
 *   name (`https://api.example.com.evil.net`) steps outside;
 * - `${env:NAME}` secrets are filled in header values only, at run time, and never shown:
 *   detail, output and describe carry the placeholder, and a response that echoes a
 *   secret has it replaced by its placeholder. The URL and body are sent as given (a
 *   label value holding `${env:NAME}` is not filled there);
 * - header names are HTTP tokens and never ones the client manages (Host,
 *   Content-Length…); a value with CR or LF is refused, so a label cannot add headers;
 * - every request carries `Idempotency-Key: <request.idempotencyKey>` so receivers can
 *   drop a retried duplicate.
 */
import type { ActionRequestRecord } from '../../contracts/records'
import { ConfigError } from '../../errors'
import {
  DEFAULT_MAX_RESPONSE_BYTES,
  attemptHttp,
  clip,
  describeRequest,
  filledHeaderProblem,
  fillSecretHeaders,
  headerNameProblem,
  headerValueProblem,
  isRecord,
  keyPath,
  ownString,
  parseHttpUrl,
  redactUrl,
  scrubResult,
  secretNames,
  validateHeaderMap,
} from './http'
import type { ActionHandler, HandlerContext, HandlerResult } from './types'

/** The `webhook` action's configuration (`actions.webhook.config` of topology/actions.yaml). */
export interface WebhookConfig {
  /**
   * When set, a request URL must start with one of these http(s) URLs (at a path
   * boundary), else the attempt fails final: label values cannot steer the request to
   * another host or path. No query or fragment.
   */
  urlPrefixes?: string[]
  /** Headers of every request (values may hold `${env:NAME}`); a request's `header.<Name>` params override them. */
  headers?: Record<string, string>
  /** Response body bytes kept in the outcome; default {@link DEFAULT_MAX_RESPONSE_BYTES}. */
  maxResponseBytes?: number
}

/** The validated, frozen configuration the handler runs from. */
export interface ValidWebhookConfig {
  /** Normalized prefixes (`URL.href`); undefined: any http(s) URL is allowed. */
  readonly urlPrefixes: readonly string[] | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly maxResponseBytes: number
}

/** Methods a webhook request may use. */
export const WEBHOOK_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const
export type WebhookMethod = (typeof WEBHOOK_METHODS)[number]

/** Request params that are headers: `header.<Name>`. */
export const WEBHOOK_HEADER_PARAM = 'header.'

const CONFIG_KEYS = ['urlPrefixes', 'headers', 'maxResponseBytes']
const BODY_METHODS: readonly WebhookMethod[] = ['POST', 'PUT', 'PATCH']

function validatePrefix(raw: unknown, at: string, problems: string[]): string | undefined {
  if (typeof raw !== 'string') {
    problems.push(`${at} must be a string (an http(s) URL)`)
    return undefined
  }
  const url = parseHttpUrl(raw)
  if (typeof url === 'string') {
    problems.push(`${at}: ${url}`)
    return undefined
  }
  if (url.search !== '' || url.hash !== '' || raw.includes('?') || raw.includes('#')) {
    problems.push(
      `${at}: "${raw}" must not have a query or fragment; a prefix is a scheme, a host and an optional path`,
    )
    return undefined
  }
  return url.href
}

/**
 * Validates the `webhook` configuration; undefined or null means the defaults.
 * @throws ConfigError listing every problem, each as `webhook.config.<path>: <what is wrong>`.
 */
export function validateWebhookConfig(config: unknown): ValidWebhookConfig {
  const problems: string[] = []
  let urlPrefixes: string[] | undefined
  let headers: Record<string, string> = {}
  let maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES
  if (config !== undefined && config !== null) {
    if (!isRecord(config)) problems.push('webhook.config must be a map (urlPrefixes, headers, maxResponseBytes)')
    else {
      for (const key of Object.keys(config)) {
        if (!CONFIG_KEYS.includes(key))
          problems.push(`${keyPath('webhook.config', key)} is not allowed; expected one of: ${CONFIG_KEYS.join(', ')}`)
      }
      if (config.urlPrefixes !== undefined) {
        if (!Array.isArray(config.urlPrefixes))
          problems.push('webhook.config.urlPrefixes must be a list of http(s) URLs')
        else if (config.urlPrefixes.length === 0)
          problems.push('webhook.config.urlPrefixes must list at least one URL (leave it out to allow any URL)')
        else {
          const valid = config.urlPrefixes.map((p: unknown, i) =>
            validatePrefix(p, `webhook.config.urlPrefixes[${i}]`, problems),
          )
          urlPrefixes = valid.filter((p): p is string => p !== undefined)
        }
      }
      if (config.headers !== undefined) headers = validateHeaderMap(config.headers, 'webhook.config.headers', problems)
      if (config.maxResponseBytes !== undefined) {
        const max = config.maxResponseBytes
        if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 1)
          problems.push(`webhook.config.maxResponseBytes must be an integer >= 1 (bytes), got ${JSON.stringify(max)}`)
        else maxResponseBytes = max
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(`invalid webhook action config:\n  ${problems.join('\n  ')}`)
  return Object.freeze({
    urlPrefixes: urlPrefixes === undefined ? undefined : Object.freeze(urlPrefixes),
    headers: Object.freeze(headers),
    maxResponseBytes,
  })
}

/** Whether `href` (normalized) starts with `prefix` (normalized) at a path boundary. */
function allowedBy(href: string, prefix: string): boolean {
  if (!href.startsWith(prefix)) return false
  if (prefix.endsWith('/')) return true
  const next = href.charAt(prefix.length)
  return next === '' || next === '/' || next === '?' || next === '#'
}

/** What one request would send, with secrets still as placeholders. */
interface WebhookPlan {
  method: WebhookMethod
  url: URL
  /** Header templates by lower-cased name, each with the name as given. */
  headers: Map<string, { name: string; value: string }>
  body: string | undefined
}

function fail(detail: string, output: Record<string, string> = {}): HandlerResult {
  return { ok: false, retriable: false, detail, output }
}

/** The JSON body sent when a POST/PUT/PATCH request has no `body` param. */
export function webhookAlertSummary(request: ActionRequestRecord): string {
  const { alert } = request.alert
  return JSON.stringify({
    fingerprint: alert.fingerprint,
    status: alert.status,
    alertname: ownString(alert.labels, 'alertname') ?? null,
    labels: alert.labels,
    annotations: alert.annotations,
    startsAt: alert.startsAt,
    service: request.alert.service,
    team: request.alert.team,
    idempotencyKey: request.idempotencyKey,
  })
}

function plan(config: ValidWebhookConfig, request: ActionRequestRecord): WebhookPlan | HandlerResult {
  const params = request.params
  const rawUrl = ownString(params, 'url')
  if (rawUrl === undefined || rawUrl === '') return fail('webhook request has no params.url')
  const url = parseHttpUrl(rawUrl)
  if (typeof url === 'string') return fail(`webhook params.url: ${clip(url)}`)
  const shown = redactUrl(url)
  if (config.urlPrefixes && !config.urlPrefixes.some((p) => allowedBy(url.href, p))) {
    return fail(
      `webhook URL ${clip(shown)} is not allowed: it starts with none of the configured urlPrefixes (${config.urlPrefixes.map((p) => redactUrl(p)).join(', ')})`,
      { url: clip(shown) },
    )
  }
  const rawMethod = ownString(params, 'method') ?? 'POST'
  const method = WEBHOOK_METHODS.find((m) => m === rawMethod.toUpperCase())
  if (!method)
    return fail(
      `webhook params.method "${clip(rawMethod, 40)}" is not allowed; expected one of: ${WEBHOOK_METHODS.join(', ')}`,
      { url: shown },
    )
  const output = { method, url: shown }

  let body = ownString(params, 'body')
  const headers = new Map<string, { name: string; value: string }>()
  const put = (name: string, value: string): void => {
    headers.set(name.toLowerCase(), { name, value })
  }
  if (body !== undefined && method === 'GET')
    return fail('webhook params.body cannot be sent with GET; use POST, PUT, PATCH or DELETE', output)
  for (const [name, value] of Object.entries(config.headers)) put(name, value)
  for (const [param, value] of Object.entries(params)) {
    if (!param.startsWith(WEBHOOK_HEADER_PARAM)) continue
    const name = param.slice(WEBHOOK_HEADER_PARAM.length)
    const badName = headerNameProblem(name)
    if (badName) return fail(`webhook params.${clip(param, 80)}: "${clip(name, 60)}" ${badName}`, output)
    const badValue = headerValueProblem(value)
    if (badValue) return fail(`webhook header ${name}: the value ${badValue}; not sent`, output)
    put(name, value)
  }
  if (body === undefined && BODY_METHODS.includes(method)) {
    body = webhookAlertSummary(request)
    put('content-type', 'application/json')
  }
  const badKey = headerValueProblem(request.idempotencyKey)
  if (badKey) return fail(`webhook Idempotency-Key: the request's idempotency key ${badKey}`, output)
  put('Idempotency-Key', request.idempotencyKey)
  return { method, url, headers, body }
}

function describePlan(p: WebhookPlan): string {
  const headers = [...p.headers.values()].map((h) => `${h.name}: ${clip(h.value, 100)}`).join(', ')
  return `webhook ${describeRequest(p.method, p.url.href, p.body)} [headers: ${headers}]`
}

/**
 * Creates the `webhook` action handler. Request params: `url` (required, http(s)),
 * `method` (GET, POST, PUT, PATCH, DELETE; default POST), `body` (default for POST, PUT,
 * PATCH: a JSON summary of the alert, see {@link webhookAlertSummary}), `header.<Name>`.
 * Results follow http.ts: 2xx ok; 408, 425, 429, 5xx, no connection, abort → retriable;
 * other statuses final. A bad or disallowed URL, method or header, or an unset secret
 * variable → final. Output: `method`, `url` (redacted), `httpStatus`, `responseBody`
 * (bounded by `maxResponseBytes`).
 * @throws ConfigError when the configuration is invalid.
 */
export function createWebhookHandler(config: unknown): ActionHandler {
  const valid = validateWebhookConfig(config)
  return Object.freeze({
    name: 'webhook',
    describe(request: ActionRequestRecord): string {
      const p = plan(valid, request)
      return 'ok' in p ? `webhook: would fail: ${p.detail}` : describePlan(p)
    },
    async run(request: ActionRequestRecord, context: HandlerContext): Promise<HandlerResult> {
      try {
        const p = plan(valid, request)
        if ('ok' in p) return p
        const output = { method: p.method, url: redactUrl(p.url) }
        const templates: Record<string, string> = {}
        const names = new Set<string>()
        const configured = new Map(Object.entries(valid.headers).map(([name, value]) => [name.toLowerCase(), value]))
        for (const { name, value } of p.headers.values()) {
          const secrets = secretNames(value)
          if (secrets.length > 0 && configured.get(name.toLowerCase()) !== value) {
            // Request params are filled from alert labels: a label must never pull a secret out.
            return fail(
              `webhook header ${name}: request params may not name secrets (\${env:…}); put the header in actions.yaml webhook config.headers`,
              output,
            )
          }
          templates[name] = value
          for (const n of secrets) names.add(n)
        }
        const filled = fillSecretHeaders(templates, context.env)
        if (!filled.ok) {
          return fail(
            `webhook: environment variable${filled.missing.length > 1 ? 's' : ''} ${filled.missing.join(', ')} named in a header value ${filled.missing.length > 1 ? 'are' : 'is'} not set`,
            { ...output, missing: filled.missing.join(',') },
          )
        }
        const badFilled = filledHeaderProblem(filled.value)
        if (badFilled) return fail(`webhook ${badFilled}`, output)
        const what = `webhook ${p.method} ${output.url}`
        const { result } = await attemptHttp(
          what,
          {
            method: p.method,
            url: p.url.href,
            headers: filled.value,
            ...(p.body !== undefined ? { body: p.body } : {}),
            signal: context.signal,
            maxResponseBytes: valid.maxResponseBytes,
          },
          output,
        )
        return scrubResult(result, [...names], context.env)
      } catch (err) {
        // Nothing above is expected to throw; a handler must still never reject.
        return fail(`webhook: unexpected error: ${err instanceof Error ? err.message : String(err)}`, {
          error: 'internal',
        })
      }
    },
  })
}
