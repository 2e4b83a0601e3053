/**
 * What a replay changed, pure: the alerts replayed, what the original run decided about
 * them and what the replay decided, in; each alert's fate before and after, out.
 *
 * An alert here is one fingerprint, episode (startsAt) and status: Alertmanager's
 * re-sends of it are more notifications of the same alert. Its fate is the furthest its
 * notifications got, from these records (the only ones the pipeline leaves):
 * - requested: an ActionRequest on `actions.<name>` (route writes no Decision for a
 *   routed alert), with the action names; a route in dry-run mode says so;
 * - error: a route Decision `template_error` (a params placeholder the alert lacks) and
 *   no request at all;
 * - unrouted: a route Decision `unrouted`;
 * - throttled: a ratelimit Decision `throttled`, with the limit that stopped it, and the
 *   escalations it still requested (its page: requests made at the time of a route
 *   Decision `escalated` belong to a held-back notification; the team's throttle notice
 *   among them is the limit's, not the alert's fate, and is left out);
 * - dropped: only dedup Decisions (every notification was a re-send or came after the
 *   resolve), with their kinds;
 * - none: nothing about it (the original run did not process it, or the records are
 *   past retention).
 * Records are matched to the replayed notifications by fingerprint, startsAt, status
 * and receive time (Decision.decidedAt and ActionRequest.alert.receivedAt are the
 * alert's receivedAt), so the original run's records about other notifications of the
 * same alert, outside the window, are left out.
 */
import type { ActionRequestRecord, AlertRecord, DecisionRecord } from '../contracts/records'
import { NOTICE_ROUTE } from '../stages/route/decide'

/** A notification of alerts.raw that was replayed. */
export type ReplayedAlert = Pick<AlertRecord, 'fingerprint' | 'status' | 'startsAt' | 'receivedAt' | 'labels'>

/** What an ActionRequest tells about its alert's fate. */
export interface RequestSummary {
  fingerprint: string
  startsAt: string
  status: string
  /** The requested alert's receivedAt. */
  receivedAt: number
  action: string
  route: string
  dryRun: boolean
}

/** The part of an ActionRequest the comparison uses. */
export function requestSummary(request: ActionRequestRecord): RequestSummary {
  const { alert } = request.alert
  return {
    fingerprint: alert.fingerprint,
    startsAt: alert.startsAt,
    status: alert.status,
    receivedAt: alert.receivedAt,
    action: request.action,
    route: request.route,
    dryRun: request.dryRun,
  }
}

/** What one run (the original, or the replay) recorded about alerts. */
export interface RunRecords {
  decisions: readonly DecisionRecord[]
  requests: readonly RequestSummary[]
}

/** Fates, in the order the summary lists them. */
export const FATE_KINDS = ['requested', 'throttled', 'unrouted', 'dropped', 'error', 'none'] as const
export type FateKind = (typeof FATE_KINDS)[number]

/** How the summary names a fate. */
export const FATE_LABELS: Readonly<Record<FateKind, string>> = {
  requested: 'requested an action',
  throttled: 'throttled',
  unrouted: 'unrouted',
  dropped: 'dropped by dedup',
  error: 'error',
  none: 'no outcome',
}

export interface Fate {
  kind: FateKind
  /** For a person, e.g. `requested log-level, page`, `throttled (alert:payments/checkout/Slow)`. */
  text: string
}

/** One alert's fate in the original run and in the replay. */
export interface AlertFate {
  fingerprint: string
  /** The `alertname` label, `-` when absent. */
  alertname: string
  /** The catalog service of the replay's enrichment, else the `service` label, else `-`. */
  service: string
  status: string
  startsAt: string
  /** Receive time of its first replayed notification, ms since the epoch. */
  firstReceivedAt: number
  /** Its notifications in the window (1 + Alertmanager's re-sends). */
  notifications: number
  /**
   * True when the episode began before the window: the original run's dedup and rate
   * limits knew its earlier notifications, the replay's start empty, so a difference may
   * come from that and not from the files.
   */
  beganBeforeWindow: boolean
  before: Fate
  after: Fate
}

/** Alerts per fate, before and after. */
export interface FateCount {
  kind: FateKind
  before: number
  after: number
}

export interface ReplayDiff {
  /** Notifications replayed. */
  notifications: number
  /** Alerts (fingerprint, episode, status) they make. */
  alerts: number
  /** Every fate of {@link FATE_KINDS}, in that order. */
  summary: FateCount[]
  /** Alerts whose fate text differs, by first receive time. */
  changed: AlertFate[]
  unchanged: number
}

export interface DiffInput {
  alerts: readonly ReplayedAlert[]
  before: RunRecords
  after: RunRecords
  /** Catalog service by fingerprint (null: unowned), for display. */
  services?: ReadonlyMap<string, string | null>
  /** Start of the window, ms since the epoch: flags alerts that began before it. */
  windowStart?: number
}

/** The alert a notification belongs to: fingerprint, episode and status. */
export function alertKey(a: { fingerprint: string; startsAt: string; status: string }): string {
  return `${a.fingerprint}|${a.startsAt}|${a.status}`
}

/** One notification: its alert and its receive time. */
export function notificationKey(
  a: { fingerprint: string; startsAt: string; status: string },
  receivedAt: number,
): string {
  return `${alertKey(a)}|${receivedAt}`
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)]
}

/** The fate one run's records about one alert give it (see the module comment). */
export function fateOf(decisions: readonly DecisionRecord[], allRequests: readonly RequestSummary[]): Fate {
  const of = (stage: string, kind?: string) =>
    decisions.filter((d) => d.stage === stage && (kind === undefined || d.kind === kind))
  const templateErrors = unique(of('route', 'template_error').map((d) => d.detail.action ?? d.reason)).sort()
  const failed = templateErrors.length > 0 ? `template error for ${templateErrors.join(', ')}` : ''
  // A held-back notification may still page (its escalations, the team's throttle
  // notice): route says so with a Decision `escalated`, timed like the requests it made.
  const escalatedAt = new Set(of('route', 'escalated').map((d) => d.decidedAt))
  const escalations = allRequests.filter((r) => escalatedAt.has(r.receivedAt))
  const requests = allRequests.filter((r) => !escalatedAt.has(r.receivedAt))
  if (requests.length > 0) {
    const actions = unique(requests.map((r) => (r.dryRun ? `${r.action} (dry run)` : r.action))).sort()
    return { kind: 'requested', text: `requested ${actions.join(', ')}${failed ? `; ${failed}` : ''}` }
  }
  if (failed) return { kind: 'error', text: `error (${failed})` }
  if (of('route', 'unrouted').length > 0) return { kind: 'unrouted', text: 'unrouted' }
  const throttled = of('ratelimit', 'throttled')
  if (throttled.length > 0) {
    const limits = unique(throttled.map((d) => d.detail.limit ?? d.reason)).sort()
    // The throttle notice is the limit's, sent with whichever alert was held back first
    // in its window: not this alert's fate.
    const sent = unique(escalations.filter((r) => r.route !== NOTICE_ROUTE).map((r) => r.action)).sort()
    return {
      kind: 'throttled',
      text: `throttled (${limits.join(', ')})${sent.length > 0 ? `; still requested ${sent.join(', ')}` : ''}`,
    }
  }
  const dropped = of('dedup')
  if (dropped.length > 0)
    return {
      kind: 'dropped',
      text: `dropped by dedup (${unique(dropped.map((d) => d.kind))
        .sort()
        .join(', ')})`,
    }
  return { kind: 'none', text: 'no outcome' }
}

/** One run's records about the replayed notifications, by alert; records about other notifications are left out. */
function byAlert(
  run: RunRecords,
  replayed: ReadonlySet<string>,
): Map<string, { decisions: DecisionRecord[]; requests: RequestSummary[] }> {
  const out = new Map<string, { decisions: DecisionRecord[]; requests: RequestSummary[] }>()
  const entry = (key: string) => {
    let e = out.get(key)
    if (!e) out.set(key, (e = { decisions: [], requests: [] }))
    return e
  }
  for (const d of run.decisions) if (replayed.has(notificationKey(d, d.decidedAt))) entry(alertKey(d)).decisions.push(d)
  for (const r of run.requests) if (replayed.has(notificationKey(r, r.receivedAt))) entry(alertKey(r)).requests.push(r)
  return out
}

/** Compares the original run's fate of every replayed alert with the replay's. */
export function replayDiff(input: DiffInput): ReplayDiff {
  const alerts = new Map<string, { first: ReplayedAlert; notifications: number }>()
  const replayed = new Set<string>()
  for (const a of input.alerts) {
    replayed.add(notificationKey(a, a.receivedAt))
    const key = alertKey(a)
    const seen = alerts.get(key)
    if (!seen) alerts.set(key, { first: a, notifications: 1 })
    else {
      seen.notifications += 1
      if (a.receivedAt < seen.first.receivedAt) seen.first = a
    }
  }
  const before = byAlert(input.before, replayed)
  const after = byAlert(input.after, replayed)
  const counts = new Map<FateKind, FateCount>(FATE_KINDS.map((kind) => [kind, { kind, before: 0, after: 0 }]))
  const changed: AlertFate[] = []
  for (const [key, { first, notifications }] of alerts) {
    const was = fateOf(before.get(key)?.decisions ?? [], before.get(key)?.requests ?? [])
    const now = fateOf(after.get(key)?.decisions ?? [], after.get(key)?.requests ?? [])
    counts.get(was.kind)!.before += 1
    counts.get(now.kind)!.after += 1
    if (was.text === now.text) continue
    const startsAt = Date.parse(first.startsAt)
    changed.push({
      fingerprint: first.fingerprint,
      alertname: first.labels.alertname || '-',
      service: input.services?.get(first.fingerprint) ?? (first.labels.service || '-'),
      status: first.status,
      startsAt: first.startsAt,
      firstReceivedAt: first.receivedAt,
      notifications,
      beganBeforeWindow: input.windowStart !== undefined && Number.isFinite(startsAt) && startsAt < input.windowStart,
      before: was,
      after: now,
    })
  }
  changed.sort(
    (a, b) =>
      a.firstReceivedAt - b.firstReceivedAt ||
      a.fingerprint.localeCompare(b.fingerprint) ||
      a.startsAt.localeCompare(b.startsAt) ||
      a.status.localeCompare(b.status),
  )
  return {
    notifications: input.alerts.length,
    alerts: alerts.size,
    summary: [...counts.values()],
    changed,
    unchanged: alerts.size - changed.length,
  }
}
