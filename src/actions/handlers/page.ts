/**
 * The `page` action: hands an alert to a human, through PagerDuty's Events API v2 or a
 * Slack-compatible incoming webhook (Slack, Mattermost). Routes page for critical alerts;
 * the worker pages when automation gives up (circuit open, paused, failed after N
 * attempts), with `reason`, `escalatedFrom` and `escalatedKey` params. What must hold:
 * - the routing key, and `${env:NAME}` secrets in the URL and headers, are filled at run
 *   time and never shown: detail, output and describe carry placeholders; a Slack
 *   webhook URL (whose path is the credential) is shown as its origin only;
 * - PagerDuty deduplicates on `nightshift/<fingerprint>/<startsAt>`, so a retried or
 *   repeated trigger for one alert episode is one incident, and its resolve closes it;
 * - in Slack text, label-derived values cannot add mentions, links or lines: `&`, `<`, `>`
 *   are escaped as Slack requires, `@` is followed by a zero-width space (Mattermost
 *   turns a bare `@channel` into a mention), and line breaks become spaces.
 */
import type { ActionRequestRecord, AlertRecord } from '../../contracts/records'
import { approvalBlocks } from '../../http/slack'
import { ConfigError } from '../../errors'
import {
  attemptHttp,
  clip,
  filledHeaderProblem,
  fillSecretHeaders,
  fillSecrets,
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

/** Where the page goes. */
export type PageKind = 'pagerduty' | 'slack'

/** The `page` action's configuration (`actions.page.config` of topology/actions.yaml). */
export interface PageConfig {
  kind: PageKind
  /**
   * Where events are posted; default {@link PAGERDUTY_EVENTS_URL} for pagerduty, required
   * for slack. May hold `${env:NAME}` (a Slack webhook URL is a secret).
   */
  url?: string
  /** PagerDuty integration key (pagerduty only, required), normally `${env:PAGERDUTY_ROUTING_KEY}`. */
  routingKey?: string
  /** Extra request headers; values may hold `${env:NAME}`. */
  headers?: Record<string, string>
  /** PagerDuty `payload.source`; default `nightshift`. */
  source?: string
}

/** The validated, frozen configuration the handler runs from. */
export interface ValidPageConfig {
  readonly kind: PageKind
  /** The URL template (may hold `${env:NAME}`). */
  readonly url: string
  /** The URL as detail, output and describe show it: placeholders, no query, no Slack path. */
  readonly shownUrl: string
  readonly routingKey: string | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly source: string
}

/** PagerDuty Events API v2 endpoint. */
export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue'
/** PagerDuty's limit of `payload.summary`. */
export const PAGERDUTY_SUMMARY_MAX = 1024
export const PAGE_KINDS: readonly PageKind[] = ['pagerduty', 'slack']
export const DEFAULT_PAGE_SOURCE = 'nightshift'

const CONFIG_KEYS = ['kind', 'url', 'routingKey', 'headers', 'source']
/** PagerDuty severities, each mapped to itself; any other label value pages as `error`. */
const SEVERITIES = new Set(['critical', 'error', 'warning', 'info'])

/** Non-empty own param, else undefined. */
function param(request: ActionRequestRecord, key: string): string | undefined {
  const value = ownString(request.params, key)
  return value === undefined || value === '' ? undefined : value
}

function shownUrlOf(kind: PageKind, template: string): string {
  if (secretNames(template).length > 0) return template
  const url = parseHttpUrl(template)
  if (typeof url === 'string') return template
  // An incoming-webhook URL's path is its credential (Slack /services/T/B/X, Mattermost /hooks/id).
  return kind === 'slack' ? `${url.protocol}//${url.host}/…` : redactUrl(url)
}

/**
 * Validates the `page` configuration.
 * @throws ConfigError listing every problem, each as `page.config.<path>: <what is wrong>`.
 */
export function validatePageConfig(config: unknown): ValidPageConfig {
  const problems: string[] = []
  if (!isRecord(config)) {
    const what = config === undefined || config === null ? 'is required' : 'must be a map'
    throw new ConfigError(
      `invalid page action config:\n  page.config ${what} (kind: pagerduty | slack, url, routingKey, headers, source)`,
    )
  }
  for (const key of Object.keys(config)) {
    if (!CONFIG_KEYS.includes(key))
      problems.push(`${keyPath('page.config', key)} is not allowed; expected one of: ${CONFIG_KEYS.join(', ')}`)
  }
  const { kind, url, routingKey, headers, source } = config
  const validKind = PAGE_KINDS.find((k) => k === kind)
  if (kind === undefined) problems.push(`page.config.kind is required; expected one of: ${PAGE_KINDS.join(', ')}`)
  else if (!validKind)
    problems.push(`page.config.kind: ${JSON.stringify(kind)} is not one of: ${PAGE_KINDS.join(', ')}`)

  let validUrl = validKind === 'pagerduty' ? PAGERDUTY_EVENTS_URL : ''
  if (url === undefined) {
    if (validKind === 'slack')
      problems.push(
        'page.config.url is required for kind slack (the incoming webhook URL, e.g. ${env:SLACK_WEBHOOK_URL})',
      )
  } else if (typeof url !== 'string' || url === '')
    problems.push('page.config.url must be a non-empty string (an http(s) URL)')
  else if (secretNames(url).length > 0) {
    // Checked once filled, at run time.
    if (/[\s\0]/.test(url)) problems.push('page.config.url must not contain whitespace')
    else validUrl = url
  } else {
    const parsed = parseHttpUrl(url)
    if (typeof parsed === 'string') problems.push(`page.config.url: ${parsed}`)
    else validUrl = parsed.href
  }

  if (routingKey !== undefined && validKind === 'slack')
    problems.push('page.config.routingKey is only used with kind pagerduty')
  else if (routingKey === undefined) {
    if (validKind === 'pagerduty')
      problems.push('page.config.routingKey is required for kind pagerduty (normally ${env:PAGERDUTY_ROUTING_KEY})')
  } else if (typeof routingKey !== 'string' || routingKey.trim() === '')
    problems.push('page.config.routingKey must be a non-empty string (normally ${env:PAGERDUTY_ROUTING_KEY})')

  const validHeaders = headers === undefined ? {} : validateHeaderMap(headers, 'page.config.headers', problems)
  if (source !== undefined && (typeof source !== 'string' || source.trim() === ''))
    problems.push('page.config.source must be a non-empty string')

  if (problems.length > 0) throw new ConfigError(`invalid page action config:\n  ${problems.join('\n  ')}`)
  const validated = validKind as PageKind
  return Object.freeze({
    kind: validated,
    url: validUrl,
    shownUrl: shownUrlOf(validated, validUrl),
    routingKey: routingKey as string | undefined,
    headers: Object.freeze(validHeaders),
    source: (source as string | undefined) ?? DEFAULT_PAGE_SOURCE,
  })
}

/** PagerDuty's dedup key of an alert episode: one incident per fingerprint and start. */
export function pageDedupKey(alert: AlertRecord): string {
  return `nightshift/${alert.fingerprint}/${alert.startsAt}`
}

/** PagerDuty severity of a `severity` label value: itself when PagerDuty knows it, else `error`. */
export function pagerDutySeverity(label: string | undefined): 'critical' | 'error' | 'warning' | 'info' {
  const value = (label ?? '').trim().toLowerCase()
  return SEVERITIES.has(value) ? (value as 'critical' | 'error' | 'warning' | 'info') : 'error'
}

/** The page's one-line summary, without the escalation reason. */
function baseSummary(request: ActionRequestRecord): string {
  const { alert } = request.alert
  return (
    param(request, 'summary') ??
    `${ownString(alert.labels, 'alertname') ?? 'alert'} ${alert.status} on ${request.alert.service ?? 'unknown service'}`
  )
}

/** PagerDuty's `payload.summary`: the summary, ` — <reason>` when escalated, at most 1024 characters. */
export function pageSummary(request: ActionRequestRecord): string {
  const reason = param(request, 'reason')
  return clip(
    reason === undefined ? baseSummary(request) : `${baseSummary(request)} — ${reason}`,
    PAGERDUTY_SUMMARY_MAX,
  )
}

function pageTeam(request: ActionRequestRecord): string {
  return param(request, 'team') ?? request.alert.team
}

/** The Events API v2 body (`routing_key` as given: the caller fills it). */
export function pagerDutyEvent(
  request: ActionRequestRecord,
  routingKey: string,
  source: string,
): Record<string, unknown> {
  const enriched = request.alert
  const { alert } = enriched
  const dedupKey = pageDedupKey(alert)
  if (alert.status === 'resolved') return { routing_key: routingKey, event_action: 'resolve', dedup_key: dedupKey }
  const alertname = ownString(alert.labels, 'alertname')
  const links = [
    ...(enriched.runbookUrl ? [{ href: enriched.runbookUrl, text: 'runbook' }] : []),
    ...(alert.generatorURL ? [{ href: alert.generatorURL, text: 'source' }] : []),
  ]
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: dedupKey,
    payload: {
      summary: pageSummary(request),
      source,
      severity: pagerDutySeverity(ownString(alert.labels, 'severity')),
      timestamp: alert.startsAt,
      ...(enriched.service !== null ? { component: enriched.service } : {}),
      group: pageTeam(request),
      ...(alertname !== undefined ? { class: alertname } : {}),
      custom_details: {
        labels: alert.labels,
        annotations: alert.annotations,
        params: request.params,
        slo: enriched.slo,
        tier: enriched.tier,
        idempotencyKey: request.idempotencyKey,
      },
    },
    ...(links.length > 0 ? { links } : {}),
  }
}

/**
 * Makes label-derived text inert in Slack (and Mattermost) message text: `&`, `<`, `>` as
 * entities (no `<!channel>`, no `<url|link>`), `@` followed by a zero-width space (no
 * `@channel` in Mattermost), and line breaks as spaces (no forged lines).
 */
export function slackEscape(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/@/g, '@\u200b')
    .replace(/\r\n|[\r\n\u2028\u2029]/g, ' ')
}

/**
 * The Slack message: {@link slackText}, and for an approval announcement (param
 * `approvalId`, made by the worker) Approve / Deny buttons that answer through the
 * interactive callback (POST /api/slack/interactive).
 */
export function slackMessage(request: ActionRequestRecord): { text: string; blocks?: unknown[] } {
  const text = slackText(request)
  const id = request.params.approvalId
  if (id === undefined || !/^[0-9a-f]{12}$/.test(id) || request.alert.alert.status === 'resolved') return { text }
  return { text, blocks: approvalBlocks(id, text) }
}

/** The Slack message text: a headline, then team, service, runbook, reason and escalation lines. */
export function slackText(request: ActionRequestRecord): string {
  const enriched = request.alert
  const resolved = enriched.alert.status === 'resolved'
  const lines = [
    `${resolved ? ':white_check_mark:' : ':rotating_light:'} ${slackEscape(clip(baseSummary(request), PAGERDUTY_SUMMARY_MAX))}`,
    `team: ${slackEscape(pageTeam(request))}`,
    `service: ${slackEscape(enriched.service ?? 'unknown service')}`,
  ]
  if (enriched.runbookUrl) lines.push(`runbook: ${slackEscape(enriched.runbookUrl)}`)
  const reason = param(request, 'reason')
  if (reason !== undefined) lines.push(`reason: ${slackEscape(clip(reason, PAGERDUTY_SUMMARY_MAX))}`)
  const from = param(request, 'escalatedFrom')
  if (from !== undefined) {
    const key = param(request, 'escalatedKey')
    lines.push(
      `escalated from: ${slackEscape(from)}${key !== undefined ? ` (idempotency key ${slackEscape(key)})` : ''}`,
    )
  }
  return lines.join('\n')
}

/** The headers without any spelling of Content-Type: the body is always JSON. */
function withoutContentType(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'content-type'))
}

function hideValue(result: HandlerResult, value: string, shown: string): HandlerResult {
  if (value === '') return result
  const hide = (text: string): string => text.split(value).join(shown)
  return {
    ...result,
    detail: hide(result.detail),
    output: Object.fromEntries(Object.entries(result.output).map(([k, v]) => [k, hide(v)])),
  }
}

function fail(detail: string, output: Record<string, string>): HandlerResult {
  return { ok: false, retriable: false, detail, output }
}

/**
 * Creates the `page` action handler. pagerduty: posts an Events API v2 trigger (resolve
 * when the alert is resolved) deduplicated by {@link pageDedupKey}; slack: posts
 * `{ text }` ({@link slackText}). Results follow http.ts: 2xx ok (PagerDuty answers 202);
 * 408, 425, 429, 5xx, no connection, abort → retriable; other statuses (PagerDuty's 400)
 * final; an unset secret variable → final, naming it. Output: `kind`, `httpStatus`,
 * `dedupKey` (pagerduty), `responseBody` (bounded).
 * @throws ConfigError when the configuration is invalid.
 */
export function createPageHandler(config: unknown): ActionHandler {
  const valid = validatePageConfig(config)
  const via = `page via ${valid.kind}`
  const secrets = [
    ...new Set([
      ...secretNames(valid.url),
      ...secretNames(valid.routingKey ?? ''),
      ...Object.values(valid.headers).flatMap(secretNames),
    ]),
  ]
  return Object.freeze({
    name: 'page',
    describe(request: ActionRequestRecord): string {
      const { alert } = request.alert
      if (valid.kind === 'pagerduty') {
        const action = alert.status === 'resolved' ? 'resolve' : 'trigger'
        const summary = action === 'trigger' ? ` ${JSON.stringify(clip(pageSummary(request)))}` : ''
        return `${via} (${valid.shownUrl}): ${action} ${pageDedupKey(alert)}${summary} for team ${pageTeam(request)}`
      }
      const reason = param(request, 'reason')
      return `${via} (${valid.shownUrl}): ${alert.status} ${JSON.stringify(clip(baseSummary(request)))} for team ${pageTeam(request)}${reason !== undefined ? ` (${clip(reason)})` : ''}`
    },
    async run(request: ActionRequestRecord, context: HandlerContext): Promise<HandlerResult> {
      const output: Record<string, string> = { kind: valid.kind }
      try {
        const dedupKey = pageDedupKey(request.alert.alert)
        if (valid.kind === 'pagerduty') output.dedupKey = dedupKey
        const missing = new Set<string>()
        const url = fillSecrets(valid.url, context.env)
        if (!url.ok) for (const m of url.missing) missing.add(m)
        const routingKey = valid.routingKey === undefined ? undefined : fillSecrets(valid.routingKey, context.env)
        if (routingKey && !routingKey.ok) for (const m of routingKey.missing) missing.add(m)
        const headers = fillSecretHeaders(valid.headers, context.env)
        if (!headers.ok) for (const m of headers.missing) missing.add(m)
        if (!url.ok || !headers.ok || (routingKey && !routingKey.ok)) {
          const names = [...missing]
          return fail(
            `${via}: environment variable${names.length > 1 ? 's' : ''} ${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} not set`,
            { ...output, missing: names.join(',') },
          )
        }
        const target = parseHttpUrl(url.value)
        if (typeof target === 'string')
          return fail(`${via}: the URL ${valid.shownUrl} is not an http(s) URL once its secrets are filled in`, output)
        const badFilled = filledHeaderProblem(headers.value)
        if (badFilled) return fail(`${via}: ${badFilled}`, output)
        const body =
          valid.kind === 'pagerduty'
            ? pagerDutyEvent(request, routingKey?.ok ? routingKey.value : '', valid.source)
            : slackMessage(request)
        const { result } = await attemptHttp(
          `${via} POST ${valid.shownUrl}`,
          {
            method: 'POST',
            url: target.href,
            headers: { ...withoutContentType(headers.value), 'content-type': 'application/json' },
            body: JSON.stringify(body),
            signal: context.signal,
          },
          output,
        )
        // http.ts names the filled URL in network failures; show the placeholder form.
        const filledShown = redactUrl(target)
        const shown =
          filledShown === valid.shownUrl
            ? result
            : { ...result, detail: result.detail.split(filledShown).join(valid.shownUrl) }
        const scrubbed = scrubResult(shown, secrets, context.env)
        // A literal routing key (no placeholder) is as secret as a filled one.
        return routingKey?.ok && valid.routingKey !== undefined && secretNames(valid.routingKey).length === 0
          ? hideValue(scrubbed, routingKey.value, '[routing key]')
          : scrubbed
      } catch (err) {
        // Nothing above is expected to throw; a handler must still never reject.
        return scrubResult(
          fail(`${via}: unexpected error: ${err instanceof Error ? err.message : String(err)}`, {
            ...output,
            error: 'internal',
          }),
          secrets,
          context.env,
        )
      }
    },
  })
}
