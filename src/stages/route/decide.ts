/**
 * Route's decision, pure: the route tree and an admitted alert in; action requests, or
 * the alert on alerts.unrouted, out.
 *
 * The tree is walked like Alertmanager's dispatch/route.go: a route matches when all its
 * matchers match; then its children are tried in order, and a matching child stops the
 * walk at that level unless it has `continue: true`; when no child matched, the route
 * itself is the match. The root matches every alert.
 *
 * Every matched route with an action yields one ActionRequest. A matched route without
 * an action yields nothing (a receiver-less route in Alertmanager); when the matched
 * set yields no action at all, the alert is unrouted: it goes to alerts.unrouted with a
 * Decision, so nothing disappears without a trace. A params placeholder the alert lacks
 * turns that one request into an ActionOutcome with status `error` and a Decision
 * `template_error`; the other requests of the alert are still made.
 *
 * Resolved alerts are routed the same way: action workers use them to cancel.
 *
 * Alerts the rate limits held back (alerts.throttled) are routed too, but only to
 * escalation actions ({@link decideThrottledRoute}): the limits protect automation's
 * targets, never the human's sleep.
 */
import { matchesAll } from '../../matchers'
import type { Emit, SourcePosition } from '../../runner/types'
import { actionTopic, type TopicNames } from '../../topology/names'
import type { Route, RouteTree } from './config'
import type { ActionRequestRecord, EnrichedAlertRecord, ThrottleRecord } from '../../contracts/records'
import { outcomeFor } from '../../contracts/outcome'
import { fillTemplate } from './template'
import { decisionEmit } from '../decision'

export type RouteKind = 'routed' | 'unrouted' | 'template_error' | 'escalated' | 'held'

/**
 * The labels routes match on: the alert's labels, plus the catalog's `team`, `service`
 * and `tier` under those names when the alert has no such label (the alert's own label
 * wins) and the catalog has a value.
 */
export function matchLabels(record: EnrichedAlertRecord): Record<string, string> {
  const labels: Record<string, string> = Object.assign(
    Object.create(null) as Record<string, string>,
    record.alert.labels,
  )
  const catalog: Array<[string, string | null]> = [
    ['team', record.team],
    ['service', record.service],
    ['tier', record.tier],
  ]
  for (const [name, value] of catalog) {
    if (value !== null && !Object.hasOwn(record.alert.labels, name)) labels[name] = value
  }
  return labels
}

function match(route: Route, labels: Readonly<Record<string, string>>): Route[] {
  if (!matchesAll(route.matchers, labels)) return []
  const all: Route[] = []
  for (const child of route.routes) {
    const matched = match(child, labels)
    all.push(...matched)
    if (matched.length > 0 && !child.continue) break
  }
  return all.length > 0 ? all : [route]
}

/** The routes `record` matches, in walk order (never empty: at worst the root). */
export function routeAlert(tree: RouteTree, record: EnrichedAlertRecord): Route[] {
  return match(tree.root, matchLabels(record))
}

/** `fingerprint|startsAt|action|routeId`: one request per episode, action and route. */
export function idempotencyKey(record: EnrichedAlertRecord, action: string, routeId: string): string {
  return `${record.alert.fingerprint}|${record.alert.startsAt}|${action}|${routeId}`
}

/** What one matched route with an action asks for: filled params, or what they lack. */
export type PlannedAction =
  | { ok: true; route: Route; action: string; params: Record<string, string> }
  | { ok: false; route: Route; action: string; missing: string[] }

/** The walk's result before it becomes records (also what `nightshift routes test` prints). */
export interface RoutePlan {
  matched: Route[]
  actions: PlannedAction[]
}

export function planRoute(tree: RouteTree, record: EnrichedAlertRecord): RoutePlan {
  const matched = routeAlert(tree, record)
  const actions: PlannedAction[] = []
  for (const route of matched) {
    if (route.action === null) continue
    const params: Record<string, string> = {}
    const missing: string[] = []
    for (const p of route.params) {
      const filled = fillTemplate(p.template, record)
      if (filled.ok) params[p.name] = filled.value
      else missing.push(...filled.missing.filter((m) => !missing.includes(m)))
    }
    actions.push(
      missing.length > 0
        ? { ok: false, route, action: route.action, missing }
        : { ok: true, route, action: route.action, params },
    )
  }
  return { matched, actions }
}

/** What the decision needs besides the record. */
export interface RouteContext {
  /**
   * Escalation actions (page, and those marked `escalation: true` in actions.yaml): the
   * only ones a throttled alert is routed to. Not needed for admitted alerts.
   */
  escalations?: ReadonlySet<string>
  /** The action a throttle notice is sent to (`page`); null: none is declared, no notice. */
  noticeAction?: string | null
  /** Topic names with the prefix applied. */
  topics: TopicNames
  /** The topic prefix (action topics are `<prefix>actions.<name>`). */
  prefix: string
  /** The input record's position, for Decision records. */
  source: SourcePosition
}

export interface RouteDecision {
  kind: RouteKind
  emits: Emit[]
}

/**
 * Routes one alert. Time is the alert's receivedAt (requestedAt, decidedAt,
 * finishedAt), so a replay produces identical records.
 */
export function decideRoute(tree: RouteTree, record: EnrichedAlertRecord, ctx: RouteContext): RouteDecision {
  const { alert } = record
  const plan = planRoute(tree, record)
  const decision = (kind: RouteKind, reason: string, detail: Record<string, string>): Emit =>
    decisionEmit({ topic: ctx.topics.decisions, stage: 'route', alert, source: ctx.source, kind, reason, detail })

  if (plan.actions.length === 0) {
    return {
      kind: 'unrouted',
      emits: [
        { topic: ctx.topics.unrouted, key: alert.fingerprint, schema: 'EnrichedAlert', value: record },
        decision('unrouted', 'no route with an action matched the alert', {
          routes: plan.matched.map((r) => r.id).join(','),
          file: tree.file,
        }),
      ],
    }
  }

  const emits: Emit[] = []
  let failed = false
  for (const planned of plan.actions) failed = requestEmits(planned, record, ctx, emits) || failed
  return { kind: failed ? 'template_error' : 'routed', emits }
}

/**
 * The records one planned action makes: its ActionRequest, or (params it lacks) an
 * `error` outcome and a `template_error` Decision. Pushed onto `emits`; true when failed.
 */
function requestEmits(planned: PlannedAction, record: EnrichedAlertRecord, ctx: RouteContext, emits: Emit[]): boolean {
  const { alert } = record
  const key = idempotencyKey(record, planned.action, planned.route.id)
  if (planned.ok) {
    const value: ActionRequestRecord = {
      idempotencyKey: key,
      action: planned.action,
      route: planned.route.id,
      params: planned.params,
      dryRun: planned.route.dryRun,
      requestedAt: alert.receivedAt,
      alert: record,
    }
    const gate = planned.route.gate
    if (gate)
      value.gate = {
        minBudgetRemaining: gate.minBudgetRemaining ?? null,
        maxBurnRate: gate.maxBurnRate ?? null,
        burnWindow: gate.burnWindow ?? null,
      }
    const hold = planned.route.hold
    if (hold) value.hold = { waitMs: hold.waitMs, approval: hold.approval ? { ...hold.approval } : null }
    emits.push({
      topic: `${ctx.prefix}${actionTopic(planned.action)}`,
      key: alert.fingerprint,
      schema: 'ActionRequest',
      value,
    })
    return false
  }
  const detail = `route ${planned.route.id}: the alert has no ${planned.missing.join(', ')} for the params of action ${planned.action}`
  const outcome = outcomeFor(
    {
      idempotencyKey: key,
      action: planned.action,
      route: planned.route.id,
      dryRun: planned.route.dryRun,
      alert: record,
    },
    { status: 'error', finishedAt: alert.receivedAt, detail },
  )
  emits.push({ topic: ctx.topics.outcomes, key: alert.fingerprint, schema: 'ActionOutcome', value: outcome })
  emits.push(
    decisionEmit({
      topic: ctx.topics.decisions,
      stage: 'route',
      alert,
      source: ctx.source,
      kind: 'template_error',
      reason: detail,
      detail: {
        route: planned.route.id,
        action: planned.action,
        missing: planned.missing.join(','),
        idempotencyKey: key,
      },
    }),
  )
  return true
}

/** The route id of throttle notices: not a valid route name, so no route of the tree has it. */
export const NOTICE_ROUTE = 'ratelimit/notice'

/**
 * `throttle|<limit>|<window start>|<action>`: one notice per limit and window, whichever
 * alert was held back first; stable across a replay or a restart, so even a notice
 * decided twice runs once (the action ledger).
 */
export function noticeKey(limit: string, windowStart: number, action: string): string {
  return `throttle|${limit}|${new Date(windowStart).toISOString()}|${action}`
}

/** The notice to the team of an alert the rate limits held back (the first of its window and limit). */
export function noticeRequest(
  record: EnrichedAlertRecord,
  throttle: ThrottleRecord,
  action: string,
): ActionRequestRecord {
  const { alert } = record
  const until = new Date(throttle.windowStart + throttle.windowMs).toISOString()
  const escalation = throttle.escalate
    ? 'its escalations still go out'
    : throttle.escalationHeldBy !== null
      ? `its escalations are held too (escalation limit ${throttle.escalationHeldBy})`
      : 'it routes to no escalation'
  return {
    idempotencyKey: noticeKey(throttle.limit, throttle.windowStart, action),
    action,
    route: NOTICE_ROUTE,
    params: {
      team: record.team,
      summary: `Automation held back for ${throttle.limit}: ${alert.labels.alertname ?? 'an alert'} over the ${throttle.level} rate limit`,
      reason:
        `over the ${throttle.level} limit ${throttle.limit} (${throttle.rate}, burst ${throttle.burst}): ` +
        `automation of alerts under it is held back; ${escalation}. Told once until ${until}; ` +
        `the held-back alerts are kept on alerts.throttled (nightshift trace <fingerprint>)`,
      limit: throttle.limit,
      heldBack: String(throttle.heldBack),
      window: new Date(throttle.windowStart).toISOString(),
    },
    dryRun: false,
    requestedAt: alert.receivedAt,
    alert: record,
  }
}

/**
 * Routes one alert the rate limits held back (alerts.throttled): to the escalation
 * actions of its routes when the ratelimit stage allowed it (`throttle.escalate`), and
 * the notice to the team when it was the first of its window (`throttle.notify`); never
 * to automation and never to alerts.unrouted (it is kept on alerts.throttled). A record
 * written before throttles carried these details makes nothing.
 */
export function decideThrottledRoute(tree: RouteTree, record: EnrichedAlertRecord, ctx: RouteContext): RouteDecision {
  const { alert } = record
  const throttle = record.throttle ?? null
  const emits: Emit[] = []
  if (throttle === null) return { kind: 'held', emits }
  const escalations = ctx.escalations ?? new Set<string>()
  const sent: string[] = []
  let failed = false
  if (throttle.escalate) {
    for (const planned of planRoute(tree, record).actions) {
      if (!escalations.has(planned.action)) continue
      failed = requestEmits(planned, record, ctx, emits) || failed
      if (planned.ok) sent.push(`${planned.action} (route ${planned.route.id})`)
    }
  }
  const noticeAction = ctx.noticeAction ?? null
  if (throttle.notify && noticeAction !== null) {
    const value = noticeRequest(record, throttle, noticeAction)
    emits.push({
      topic: `${ctx.prefix}${actionTopic(noticeAction)}`,
      key: alert.fingerprint,
      schema: 'ActionRequest',
      value,
    })
    sent.push(`the notice of ${throttle.limit} to ${noticeAction}`)
  }
  const kind: RouteKind = failed ? 'template_error' : sent.length > 0 ? 'escalated' : 'held'
  emits.push(
    decisionEmit({
      topic: ctx.topics.decisions,
      stage: 'route',
      alert,
      source: ctx.source,
      kind,
      reason:
        sent.length > 0
          ? `held back by ${throttle.limit}; sent only ${sent.join(' and ')}`
          : `held back by ${throttle.limit}; nothing sent${throttle.notify && noticeAction === null ? ' (no page action is declared for the notice)' : ''}`,
      detail: {
        limit: throttle.limit,
        heldBack: String(throttle.heldBack),
        escalate: String(throttle.escalate),
        notify: String(throttle.notify),
        ...(throttle.escalationHeldBy === null ? {} : { escalationHeldBy: throttle.escalationHeldBy }),
      },
    }),
  )
  return { kind, emits }
}
