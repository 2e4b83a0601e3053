/**
 * `nightshift trace <fingerprint>`: one alert's whole story, in time order, from every
 * topic of the topology (alerts.*, nightshift.decisions, actions.*, slo.events,
 * nightshift.dlq), with a verdict answering "why didn't it fire?". Reading is
 * side-effect free apart from the read barriers readTopicToBarrier appends (skipped by
 * every reader). Errors are thrown, not printed: main turns a NightshiftError into
 * `nightshift: <message> [<code>]` and exit code 1.
 */
import type { Command } from 'commander'
import { endpointsFromEnv } from '../config/endpoints'
import type {
  ActionOutcomeRecord,
  ActionRequestRecord,
  AlertRecord,
  DecisionRecord,
  EnrichedAlertRecord,
  DeadLetterRecord,
  SloEventRecord,
} from '../contracts/records'
import { asDeadLetter } from './dlq'
import { ConfigError, ERROR_CODES, NightshiftError, PoisonRecordError } from '../errors'
import { KafkaAdmin, Registry, readTopicToBarrier, type InRecord, type KafkaSettings } from '../kafka'
import { createLogger, type Logger } from '../log'
import { TOPICS, actionTopic, topicNames } from '../topology/names'

/** Where a trace record was read from. */
export interface TracePosition {
  /** The topic as read (with the prefix). */
  topic: string
  partition: number
  offset: string
  /** Kafka record timestamp, ms since the epoch. */
  timestamp: number
}

/** One decoded record of the alert, by the role of the topic it was read from. */
export type TraceRecord = TracePosition &
  (
    | { role: 'raw' | 'deduped'; value: AlertRecord }
    | { role: 'enriched' | 'admitted' | 'throttled' | 'unrouted'; value: EnrichedAlertRecord }
    | { role: 'decisions'; value: DecisionRecord }
    | { role: 'action'; value: ActionRequestRecord }
    | { role: 'outcomes'; value: ActionOutcomeRecord }
    | { role: 'sloEvents'; value: SloEventRecord }
    /** `original`: the dead-lettered record, decoded. */
    | {
        role: 'dlq'
        value: DeadLetterRecord
        original: { role: TraceRole; fingerprint: string; startsAt: string; status: string }
      }
  )

export type TraceRole = TraceRecord['role']

/** Where in the pipeline an event happened; also the tie-break order of equal timestamps. */
export const TRACE_STAGES = ['ingest', 'dedup', 'enrich', 'ratelimit', 'route', 'action', 'slo', 'dlq'] as const
export type TraceStage = (typeof TRACE_STAGES)[number]

/** One step of an alert's story. */
export interface TraceEvent {
  /** Record timestamp, ms since the epoch. */
  at: number
  stage: TraceStage
  /**
   * What happened: received, forwarded, duplicate_firing (any dedup Decision kind),
   * enriched, unowned, admitted, throttled, routed, escalated, unrouted, template_error
   * (any route Decision kind), outcome, slo_alert, slo_outcome, dead_letter, decision.
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

/** The answer to "why didn't it fire?" for one episode. */
export interface TraceVerdict {
  startsAt: string
  /** True when an action (any action) succeeded for the episode. */
  fired: boolean
  /** The furthest stage the episode reached. */
  furthest: TraceStage | 'none'
  /** One paragraph. */
  text: string
}

/** The fingerprint a decoded record of `role` belongs to. */
export function fingerprintOf(role: Exclude<TraceRole, 'dlq'>, value: unknown): string | undefined {
  const v = value as Record<string, unknown> | null
  if (v === null || typeof v !== 'object') return undefined
  switch (role) {
    case 'raw':
    case 'deduped':
    case 'decisions':
    case 'outcomes':
    case 'sloEvents':
      return typeof v.fingerprint === 'string' ? v.fingerprint : undefined
    case 'enriched':
    case 'admitted':
    case 'throttled':
    case 'unrouted':
      return (v as Partial<EnrichedAlertRecord>).alert?.fingerprint
    case 'action':
      return (v as Partial<ActionRequestRecord>).alert?.alert?.fingerprint
  }
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

/** `1 record`, `2 records`. */
export function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`
}

function decisionKey(stage: string, kind: string, startsAt: string, status: string): string {
  return `${stage}|${kind}|${startsAt}|${status}`
}

const STAGE_RANK = new Map<TraceStage, number>(TRACE_STAGES.map((s, i) => [s, i]))

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
        push(r, {
          stage: 'ingest',
          kind: 'received',
          startsAt: a.startsAt,
          status: a.status,
          text: `received (${a.status}, startsAt ${a.startsAt}) on ${on}`,
        })
        break
      }
      case 'deduped': {
        const a = r.value
        push(r, {
          stage: 'dedup',
          kind: 'forwarded',
          startsAt: a.startsAt,
          status: a.status,
          text: `deduped: forwarded (${a.status}) to ${on}`,
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
        if (q.params.escalatedFrom !== undefined) {
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
  return events.sort(
    (a, b) =>
      a.at - b.at ||
      STAGE_RANK.get(a.stage)! - STAGE_RANK.get(b.stage)! ||
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

/** What an outcome status means for "why didn't it fire?". */
function whyOutcome(e: TraceEvent): string {
  const tail = e.reason ? ` — ${e.reason}` : ''
  switch (e.outcome) {
    case 'dry_run':
      return `it was a dry run, nothing ran${tail}`
    case 'skipped_paused':
      return `it was paused${tail}`
    case 'gated':
      return `it was gated by the SLO error budget${tail}`
    case 'circuit_open':
      return `the circuit breaker was open${tail}`
    case 'cancelled_resolved':
      return `it was cancelled: the alert resolved before it started${tail}`
    case 'skipped_duplicate':
      return `it was skipped as a duplicate of a request already run${tail}`
    case 'timed_out':
      return `it timed out${tail}`
    case 'not_effective':
      return `it ran, but the alert fired again soon after${tail}`
    default:
      return `it ended ${e.outcome ?? 'without an outcome'}${tail}`
  }
}

/**
 * Why an episode did (or did not) fire: the furthest stage its firing notification
 * reached, and what stopped it there. Only firing events count when there are any: a
 * resolved notification going further says nothing about why the alert did not fire.
 */
export function traceVerdict(startsAt: string, episodeEvents: readonly TraceEvent[]): TraceVerdict {
  const firing = episodeEvents.filter((e) => e.status === 'firing')
  const events = firing.length > 0 ? firing : episodeEvents
  const of = (kind: string) => events.filter((e) => e.kind === kind)
  const outcomes = of('outcome')
  const succeeded = outcomes.filter((e) => e.outcome === 'succeeded')
  // slo and dlq are side roads, not further along the pipeline.
  const furthest = events
    .map((e) => e.stage)
    .filter((s) => s !== 'slo' && s !== 'dlq')
    .reduce<TraceStage | 'none'>(
      (best, s) => (best === 'none' || STAGE_RANK.get(s)! > STAGE_RANK.get(best)! ? s : best),
      'none',
    )
  const verdict = (fired: boolean, text: string): TraceVerdict => ({ startsAt, fired, furthest, text })
  const only = firing.length === 0 ? ' Only resolved notifications of this episode were found.' : ''
  const dead = of('dead_letter')
    .map((e) => ` A record of it was dead-lettered: ${e.reason ?? 'see nightshift.dlq'}.`)
    .join('')

  if (succeeded.length > 0) {
    const others = outcomes.filter((e) => e.outcome !== 'succeeded').map((e) => `${e.action} ${e.outcome}`)
    return verdict(
      true,
      `It fired: ${succeeded.map((e) => `action ${e.action} succeeded`).join(', ')}${others.length > 0 ? ` (also: ${others.join(', ')})` : ''}.${dead}`,
    )
  }
  const no = `No action succeeded for episode ${startsAt}.`
  const stopped = (where: string, why: string) =>
    verdict(false, `${no} Furthest stage: ${where}. Why: ${why}.${only}${dead}`)

  if (outcomes.length > 0) {
    const byAction = new Map<string, TraceEvent>()
    for (const e of outcomes) byAction.set(e.action ?? '?', e)
    const whys = [...byAction].map(([action, e]) => `action ${action}: ${whyOutcome(e)}`)
    return stopped(`action workers (${[...byAction.keys()].map((a) => actionTopic(a)).join(', ')})`, whys.join('; '))
  }
  const requests = [...of('routed'), ...of('escalated')]
  if (requests.length > 0) {
    return stopped(
      `routed to ${[...new Set(requests.map((e) => actionTopic(e.action ?? '?')))].join(', ')}`,
      'no action outcome yet: the action worker is not running, is behind, or the outcome is still in an open transaction',
    )
  }
  const routeProblem = events.find((e) => e.stage === 'route' && e.kind !== 'routed')
  const unowned = of('unowned')[0]
  const ownerNote = unowned
    ? ` The alert was unowned (${unowned.reason ?? 'no catalog service matched'}), which routes matching team or service labels do not see.`
    : ''
  if (routeProblem) {
    const why =
      routeProblem.kind === 'unrouted'
        ? `unrouted — ${routeProblem.reason ?? 'no route with an action matched'}`
        : `${routeProblem.kind} — ${routeProblem.reason ?? ''}`
    return verdict(false, `${no} Furthest stage: route. Why: ${why}.${ownerNote}${only}${dead}`)
  }
  const throttled = of('throttled')[0]
  if (throttled) return stopped('rate limit', throttled.reason ?? 'throttled')
  if (of('admitted').length > 0)
    return stopped(
      'rate limit (admitted)',
      `not routed yet: the route stage is not running or is behind${ownerNote ? `;${ownerNote.slice(0, -1)}` : ''}`,
    )
  if (of('enriched').length > 0 || unowned) {
    return stopped(
      `enrich${unowned ? ' (unowned)' : ''}`,
      'not through the rate limit yet: the ratelimit stage is not running or is behind',
    )
  }
  const dropped = events.find((e) => e.stage === 'dedup' && e.kind !== 'forwarded')
  if (of('forwarded').length > 0)
    return stopped('dedup (forwarded)', 'not enriched yet: the enrich stage is not running or is behind')
  if (dropped) return stopped('dedup', `dropped by dedup as ${dropped.kind} — ${dropped.reason ?? ''}`)
  if (of('received').length > 0)
    return stopped('ingest (alerts.raw)', 'not through dedup yet: the dedup stage is not running or is behind')
  return verdict(false, `${no} It was never received on alerts.raw in the topics read.${dead}`)
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms)
}

/** The text `nightshift trace` prints: a header, events by episode, a verdict per episode. */
export function formatTrace(fingerprint: string, prefix: string, events: readonly TraceEvent[]): string {
  const episodes = traceEpisodes(events)
  const width = Math.max(...TRACE_STAGES.map((s) => s.length))
  const lines = [
    `trace of ${fingerprint}${prefix ? ` (prefix ${prefix})` : ''}: ${plural(events.length, 'record')}, ${plural(episodes.length, 'episode')}`,
  ]
  for (const { startsAt, events: list } of episodes) {
    lines.push('')
    if (episodes.length > 1) lines.push(`episode startsAt ${startsAt}`)
    for (const e of list) lines.push(`  ${iso(e.at)}  ${e.stage.padEnd(width)}  ${e.text}`)
    lines.push('', `verdict: ${traceVerdict(startsAt, list).text}`)
  }
  return lines.join('\n')
}

/** What the command reads besides Kafka; tests replace them. */
export interface TraceCommandDeps {
  env?: NodeJS.ProcessEnv
  print?: (text: string) => void
  logger?: Logger
  /** How long each topic may take to read (default: readTopicToBarrier's). */
  readTimeoutMs?: number
}

/** The topics a trace reads under `prefix`, by role; action topics are every existing `actions.<name>`. */
export async function traceTopics(
  settings: KafkaSettings,
  prefix: string,
): Promise<Array<{ role: TraceRole; topic: string }>> {
  const names = topicNames(prefix)
  const admin = await KafkaAdmin.connect(settings)
  let existing: string[]
  try {
    existing = await admin.listTopics()
  } finally {
    await admin.disconnect()
  }
  const actionPrefix = `${prefix}${actionTopic('')}`
  const actions = existing.filter((t) => t.startsWith(actionPrefix) && t !== names.outcomes).sort()
  const fixed: Array<{ role: TraceRole; topic: string }> = (
    [
      'raw',
      'deduped',
      'enriched',
      'admitted',
      'throttled',
      'unrouted',
      'decisions',
      'outcomes',
      'sloEvents',
      'dlq',
    ] as const
  ).map((role) => ({ role, topic: names[role] }))
  return [...fixed, ...actions.map((topic) => ({ role: 'action' as const, topic }))]
}

/**
 * The records of `fingerprint` in one topic, decoded. Records that do not decode are
 * counted in `undecodable` (logged), not dropped silently; dead letters whose original
 * does not decode (webhook bodies, bytes of another format) are not the alert's.
 */
async function matching(
  registry: Registry,
  role: TraceRole,
  records: InRecord[],
  fingerprint: string,
  undecodable: InRecord[],
): Promise<TraceRecord[]> {
  const out: TraceRecord[] = []
  for (const record of records) {
    if (record.value === null) continue
    const position: TracePosition = {
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      timestamp: Number(record.timestamp),
    }
    let value: unknown
    try {
      value = await registry.decode(record.value)
    } catch (err) {
      if (!(err instanceof PoisonRecordError)) throw err
      undecodable.push(record)
      continue
    }
    if (role === 'dlq') {
      const letter = asDeadLetter(value)
      if (!letter || letter.source === null || letter.value === null) continue
      const originalRole = roleOfTopic(letter.source.topic)
      if (!originalRole) continue
      // A webhook body or bytes of another format are not a record of this alert.
      const original = await registry.decode(letter.value).catch((err: unknown) => {
        if (err instanceof PoisonRecordError) return undefined
        throw err
      })
      if (original === undefined || fingerprintOf(originalRole, original) !== fingerprint) continue
      const alert = alertOf(originalRole, original)
      out.push({
        ...position,
        role,
        value: letter,
        original: { role: originalRole, fingerprint, startsAt: alert?.startsAt ?? '?', status: alert?.status ?? '?' },
      })
      continue
    }
    if (fingerprintOf(role, value) === fingerprint) out.push({ ...position, role, value } as TraceRecord)
  }
  return out
}

/** The role of a (prefixed) topic name, for dead letters' sources. */
function roleOfTopic(topic: string): Exclude<TraceRole, 'dlq'> | undefined {
  for (const [role, name] of Object.entries(TOPICS)) {
    if (
      topic.endsWith(name) &&
      [
        'raw',
        'deduped',
        'enriched',
        'admitted',
        'throttled',
        'unrouted',
        'decisions',
        'outcomes',
        'sloEvents',
      ].includes(role)
    ) {
      return role as Exclude<TraceRole, 'dlq'>
    }
  }
  return /(^|\.)actions\.[a-z][a-z0-9-]*$/.test(topic) ? 'action' : undefined
}

function alertOf(
  role: Exclude<TraceRole, 'dlq'>,
  value: unknown,
): Pick<AlertRecord, 'startsAt' | 'status'> | undefined {
  switch (role) {
    case 'raw':
    case 'deduped':
    case 'decisions':
    case 'sloEvents':
      return value as AlertRecord
    case 'outcomes': {
      const o = value as ActionOutcomeRecord
      return { startsAt: o.startsAt, status: o.idempotencyKey.endsWith('#resolved') ? 'resolved' : 'firing' }
    }
    case 'action':
      return (value as ActionRequestRecord).alert.alert
    default:
      return (value as EnrichedAlertRecord).alert
  }
}

export function addTraceCommands(cli: Command, deps: TraceCommandDeps = {}): void {
  const print = deps.print ?? ((text: string) => process.stdout.write(`${text}\n`))
  cli
    .command('trace')
    .description("one alert's story across every topic, in time order, and why it did not fire")
    .argument('<fingerprint>', "the alert's fingerprint (Alertmanager's, as on alerts.raw)")
    .option('--prefix <prefix>', 'topic prefix of the run to trace', process.env.NIGHTSHIFT_TOPIC_PREFIX ?? '')
    .option('--json', 'print the events and verdicts as JSON')
    .option('--log-level <level>', 'pino log level (stderr)', 'warn')
    .action(async (fingerprint: string, opts: { prefix: string; json?: boolean; logLevel: string }) => {
      if (fingerprint.trim() === '') throw new ConfigError('trace: the fingerprint is empty')
      const endpoints = endpointsFromEnv(deps.env ?? process.env)
      const logger = (deps.logger ?? createLogger({ level: opts.logLevel, destination: 'stderr' })).child({
        module: 'trace',
      })
      const settings: KafkaSettings = { brokers: endpoints.brokers, clientId: 'nightshift-cli', logger }
      const registry = new Registry(endpoints.registryUrl)
      const topics = await traceTopics(settings, opts.prefix)
      const undecodable: InRecord[] = []
      const read = { ...(deps.readTimeoutMs === undefined ? {} : { timeoutMs: deps.readTimeoutMs }) }
      const found = await Promise.all(
        topics.map(async ({ role, topic }) =>
          matching(registry, role, await readTopicToBarrier(settings, topic, read), fingerprint, undecodable),
        ),
      )
      for (const r of undecodable)
        logger.warn(
          { topic: r.topic, partition: r.partition, offset: r.offset },
          'record does not decode; left out of the trace',
        )
      const records = found.flat()
      if (records.length === 0) {
        throw new NightshiftError(
          ERROR_CODES.NOT_FOUND,
          `no record of fingerprint ${fingerprint} in the ${topics.length} topics read${opts.prefix ? ` under prefix ${opts.prefix}` : ''} (${topics.map((t) => t.topic).join(', ')})`,
        )
      }
      const events = traceEvents(records)
      if (opts.json) {
        const verdicts = traceEpisodes(events).map(({ startsAt, events: list }) => traceVerdict(startsAt, list))
        print(JSON.stringify({ fingerprint, prefix: opts.prefix, events, verdicts }, null, 2))
        return
      }
      print(formatTrace(fingerprint, opts.prefix, events))
      if (undecodable.length > 0)
        print(`(${plural(undecodable.length, 'record')} did not decode and were left out; see the log)`)
    })
}
