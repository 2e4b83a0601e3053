/**
 * An alert's story: its records from every topic of the topology (alerts.*,
 * nightshift.decisions, actions.*, slo.events, nightshift.dlq) turned into events in time
 * order and grouped by episode. Pure: the records' own timestamps are the only time used.
 */
import type { AlertRecord } from '../contracts/records'
import { plural } from '../text'
import { TOPICS, actionTopic } from '../topology/names'
import type { TraceRecord, TraceRole } from './records'

/** Where in the pipeline an event happened; also the tie-break order of equal timestamps. */
export const TRACE_STAGES = ['ingest', 'dedup', 'enrich', 'ratelimit', 'route', 'action', 'slo', 'dlq'] as const
/** A stage of {@link TRACE_STAGES}. */
export type TraceStage = (typeof TRACE_STAGES)[number]

/** One step of an alert's story. */
export interface TraceEvent {
  /** Record timestamp, ms since the epoch. */
  at: number
  stage: TraceStage
  /**
   * What happened: received, forwarded, duplicate_firing (any dedup Decision kind),
   * enriched, unowned, admitted, throttled, routed, escalated, woken (a held request
   * written back when its hold ended), unrouted, template_error (any route Decision
   * kind), outcome, slo_alert, slo_outcome, dead_letter, decision.
   */
  kind: string
  /** The episode: the alert's startsAt. */
  startsAt: string
  /** firing or resolved, as the record says. */
  status: string
  /** One line for a person. */
  text: string
  /** Why it went no further, when the record says (Decision reason, outcome detail). */
  reason?: string
  /** Action events: the action's name. */
  action?: string
  /** Outcome events: the outcome's status. */
  outcome?: string
  topic: string
  partition: number
  offset: string
}

/** The default (unprefixed) name of a role's topic, for explanations. */
function shortTopic(record: TraceRecord): string {
  switch (record.role) {
    case 'action':
      return actionTopic(record.value.action)
    case 'dlq':
      return TOPICS.dlq
    default:
      return TOPICS[record.role]
  }
}

function decisionKey(stage: string, kind: string, startsAt: string, status: string): string {
  return `${stage}|${kind}|${startsAt}|${status}`
}

/** Each stage's place in {@link TRACE_STAGES}: pipeline order. */
export const TRACE_STAGE_RANK: ReadonlyMap<TraceStage, number> = new Map(TRACE_STAGES.map((s, i) => [s, i]))

/** Record-based events a Decision explains: their text takes the Decision's reason. */
const EXPLAINED_BY_DECISION: ReadonlyArray<{ role: TraceRole; stage: string; kind: string }> = [
  { role: 'enriched', stage: 'enrich', kind: 'unowned' },
  { role: 'throttled', stage: 'ratelimit', kind: 'throttled' },
  { role: 'unrouted', stage: 'route', kind: 'unrouted' },
]

/**
 * Turns an alert's records into its story: one event per record, sorted by record
 * timestamp, then by stage, then by position. A Decision that explains a record of its
 * own (unowned, throttled, unrouted) lends that event its reason instead of making a
 * second event. Pure: the records' own timestamps are the only time used.
 */
export function traceEvents(records: readonly TraceRecord[]): TraceEvent[] {
  const decisions = new Map<string, Array<TraceRecord & { role: 'decisions' }>>()
  for (const r of records) {
    if (r.role !== 'decisions') continue
    const key = decisionKey(r.value.stage, r.value.kind, r.value.startsAt, r.value.status)
    decisions.set(key, [...(decisions.get(key) ?? []), r])
  }
  const used = new Set<TraceRecord>()
  const reasonFor = (role: TraceRole, alert: AlertRecord): string | undefined => {
    const explained = EXPLAINED_BY_DECISION.find((e) => e.role === role)
    if (!explained) return undefined
    const decision = decisions
      .get(decisionKey(explained.stage, explained.kind, alert.startsAt, alert.status))
      ?.find((d) => !used.has(d))
    if (!decision) return undefined
    used.add(decision)
    return decision.value.reason
  }

  const events: TraceEvent[] = []
  const push = (r: TraceRecord, e: Omit<TraceEvent, 'at' | 'topic' | 'partition' | 'offset'>) =>
    events.push({ at: r.timestamp, ...e, topic: r.topic, partition: r.partition, offset: r.offset })

  // Decisions first, so the records they explain can claim them.
  const ordered = [...records.filter((r) => r.role !== 'decisions'), ...records.filter((r) => r.role === 'decisions')]
  for (const r of ordered) {
    const on = shortTopic(r)
    switch (r.role) {
      case 'raw': {
        const a = r.value
        const made = a.closedBy ? `, made by ${a.closedBy.by}: ${a.closedBy.reason}` : ''
        push(r, {
          stage: 'ingest',
          kind: 'received',
          startsAt: a.startsAt,
          status: a.status,
          text: `received (${a.status}, startsAt ${a.startsAt}${made}) on ${on}`,
        })
        break
      }
      case 'deduped': {
        const a = r.value
        const closing =
          a.status !== 'resolved'
            ? a.sentStartsAt
              ? ` (sent with startsAt ${a.sentStartsAt}: the same episode)`
              : ''
            : a.closedBy
              ? `, closing episode ${a.startsAt} (closed by ${a.closedBy.by}: ${a.closedBy.reason})`
              : a.sentStartsAt
                ? `, closing episode ${a.startsAt} (the resolve was sent with startsAt ${a.sentStartsAt})`
                : ''
        push(r, {
          stage: 'dedup',
          kind: 'forwarded',
          startsAt: a.startsAt,
          status: a.status,
          text: `deduped: forwarded (${a.status}) to ${on}${closing}`,
        })
        break
      }
      case 'enriched': {
        const e = r.value
        const base = { stage: 'enrich' as const, startsAt: e.alert.startsAt, status: e.alert.status }
        if (e.service === null) {
          const reason = reasonFor('enriched', e.alert) ?? "no catalog service matched the alert's labels"
          push(r, { ...base, kind: 'unowned', reason, text: `enriched: unowned (team ${e.team}) — ${reason}` })
        } else {
          const parts = [
            `team ${e.team}`,
            `service ${e.service}`,
            ...(e.tier ? [`tier ${e.tier}`] : []),
            ...(e.slo ? [`slo ${e.slo}`] : []),
          ]
          push(r, { ...base, kind: 'enriched', text: `enriched: ${parts.join(', ')}` })
        }
        break
      }
      case 'admitted': {
        const a = r.value.alert
        push(r, {
          stage: 'ratelimit',
          kind: 'admitted',
          startsAt: a.startsAt,
          status: a.status,
          text: `admitted (${a.status}) to ${on}`,
        })
        break
      }
      case 'throttled': {
        const a = r.value.alert
        const by = r.value.throttledBy ?? 'a rate limit'
        const reason = reasonFor('throttled', a) ?? `over the limit ${by}`
        push(r, {
          stage: 'ratelimit',
          kind: 'throttled',
          startsAt: a.startsAt,
          status: a.status,
          reason: `throttled by ${by} — ${reason}`,
          text: `throttled by ${by} — ${reason}`,
        })
        break
      }
      case 'unrouted': {
        const a = r.value.alert
        const reason = reasonFor('unrouted', a) ?? 'no route with an action matched the alert'
        push(r, {
          stage: 'route',
          kind: 'unrouted',
          startsAt: a.startsAt,
          status: a.status,
          reason,
          text: `unrouted — ${reason}`,
        })
        break
      }
      case 'action': {
        const q = r.value
        const a = q.alert.alert
        const dry = q.dryRun ? ', dry run' : ''
        if (r.wake !== undefined) {
          push(r, {
            stage: 'action',
            kind: 'woken',
            action: q.action,
            startsAt: a.startsAt,
            status: a.status,
            text: `held request woken (${r.wake === 'answer' ? 'an approval was answered' : r.wake === 'timeout' ? 'its approval timed out' : 'its wait ended'}) → ${on} (idempotency key ${q.idempotencyKey}${dry})`,
          })
        } else if (q.params.escalatedFrom !== undefined) {
          const reason = q.params.reason ?? 'no reason given'
          push(r, {
            stage: 'action',
            kind: 'escalated',
            action: q.action,
            startsAt: a.startsAt,
            status: a.status,
            reason,
            text: `escalated from ${q.params.escalatedFrom} → ${on}: ${reason} (idempotency key ${q.idempotencyKey}${dry})`,
          })
        } else {
          push(r, {
            stage: 'route',
            kind: 'routed',
            action: q.action,
            startsAt: a.startsAt,
            status: a.status,
            text: `routed (${a.status}) by ${q.route} → ${on} (idempotency key ${q.idempotencyKey}${dry})`,
          })
        }
        break
      }
      case 'outcomes': {
        const o = r.value
        const attempts = o.attempts > 0 ? ` after ${plural(o.attempts, 'attempt')}` : ''
        const detail = o.detail ? ` — ${o.detail}` : ''
        const escalated = o.escalatedTo ? `; escalated to ${o.escalatedTo}` : ''
        // A resolved notification that runs (page's onResolved: run) has its own key.
        const status = o.idempotencyKey.endsWith('#resolved') ? 'resolved' : 'firing'
        push(r, {
          stage: 'action',
          kind: 'outcome',
          action: o.action,
          outcome: o.status,
          startsAt: o.startsAt,
          status,
          ...(o.detail ? { reason: o.detail } : {}),
          text: `action ${o.action}: ${o.status}${attempts}${detail}${escalated}`,
        })
        break
      }
      case 'sloEvents': {
        const s = r.value
        if (s.kind === 'alert') {
          push(r, {
            stage: 'slo',
            kind: 'slo_alert',
            startsAt: s.startsAt,
            status: s.status,
            text: `charged to SLO ${s.slo} (${s.status})`,
          })
        } else {
          push(r, {
            stage: 'slo',
            kind: 'slo_outcome',
            action: s.action ?? undefined,
            outcome: s.status,
            startsAt: s.startsAt,
            status: 'firing',
            text: `remediation recorded against SLO ${s.slo}: ${s.action ?? 'an action'} ${s.status}`,
          })
        }
        break
      }
      case 'dlq': {
        const d = r.value
        const from = d.source ? ` (from ${d.source.topic} ${d.source.partition}:${d.source.offset})` : ''
        push(r, {
          stage: 'dlq',
          kind: 'dead_letter',
          startsAt: r.original.startsAt,
          status: r.original.status,
          reason: d.errorMessage,
          text: `dead-lettered by ${d.stage}${from}: ${d.errorCode} — ${d.errorMessage}`,
        })
        break
      }
      case 'decisions': {
        if (used.has(r)) break
        const d = r.value
        // Decision.stage is a StageName: `actions` is the action workers' stage here.
        const stage: TraceStage =
          d.stage === 'actions'
            ? 'action'
            : (TRACE_STAGES as readonly string[]).includes(d.stage)
              ? (d.stage as TraceStage)
              : 'route'
        const text =
          d.stage === 'dedup'
            ? `dropped by dedup: ${d.kind} (${d.status}) — ${d.reason}`
            : d.stage === 'enrich' && d.kind === 'unowned'
              ? `unowned — ${d.reason}`
              : `${d.stage}: ${d.kind} — ${d.reason}`
        push(r, { stage, kind: d.kind, startsAt: d.startsAt, status: d.status, reason: d.reason, text })
        break
      }
    }
  }
  // One episode per canonical start: what was sent in another form (another precision,
  // moved earlier by Alertmanager) belongs to the episode dedup forwarded it with.
  const canonical = episodeAliases(records)
  for (const e of events) e.startsAt = canonical.get(e.startsAt) ?? e.startsAt
  return events.sort(
    (a, b) =>
      a.at - b.at ||
      TRACE_STAGE_RANK.get(a.stage)! - TRACE_STAGE_RANK.get(b.stage)! ||
      (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0) ||
      a.partition - b.partition ||
      (BigInt(a.offset) < BigInt(b.offset) ? -1 : BigInt(a.offset) > BigInt(b.offset) ? 1 : 0),
  )
}

/** The events grouped by episode (startsAt), episodes in the order they first appear. */
export function traceEpisodes(events: readonly TraceEvent[]): Array<{ startsAt: string; events: TraceEvent[] }> {
  const episodes = new Map<string, TraceEvent[]>()
  for (const e of events) episodes.set(e.startsAt, [...(episodes.get(e.startsAt) ?? []), e])
  return [...episodes].map(([startsAt, list]) => ({ startsAt, events: list }))
}

/**
 * Each startsAt as sent → the canonical start of its episode, from what dedup wrote: a
 * forwarded record's `sentStartsAt`, and the episode named in its Decisions. Starts sent
 * as they were first seen map to nothing (they are canonical).
 */
export function episodeAliases(records: readonly TraceRecord[]): Map<string, string> {
  const aliases = new Map<string, string>()
  for (const r of records) {
    if (r.role === 'deduped' && r.value.sentStartsAt) aliases.set(r.value.sentStartsAt, r.value.startsAt)
    if (r.role === 'decisions' && r.value.stage === 'dedup') {
      const episode = r.value.detail.episode
      const at = episode?.indexOf('|') ?? -1
      if (episode && at >= 0 && episode.slice(at + 1) !== r.value.startsAt)
        aliases.set(r.value.startsAt, episode.slice(at + 1))
    }
  }
  return aliases
}
