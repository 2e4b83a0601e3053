/**
 * Following the demo's topics from their start, decoded: every record of the demo's alert
 * (alertname DemoCheckoutErrors) on the alert topics and the demo route's action topic,
 * every decision, the demo service's outcomes and the demo SLO's budgets, each with when
 * it was seen. The demo's loop (./scenario.ts) waits on it; so do the tests that drive
 * Alertmanager or an HA pair of Prometheus themselves.
 */
import type {
  ActionOutcomeRecord,
  ActionRequestRecord,
  AlertRecord,
  DecisionRecord,
  EnrichedAlertRecord,
  SloBudgetRecord,
} from '../contracts/records'
import { ERROR_CODES, NightshiftError, describeError } from '../errors'
import { TopicTail, type InRecord, type KafkaSettings, type Registry } from '../kafka'
import { actionTopic, topicNames } from '../topology/names'
import { DEMO_SLO } from './config'
import { DEMO_ALERT, DEMO_SERVICE } from './observability'

/** Records in the order they were seen, each with when (ms). */
export type Seen<T> = Array<{ at: number; value: T }>

/** Where the episode went in one stage: the topic it reached and what that record says. */
export interface PathStep {
  stage: 'dedup' | 'enrich' | 'ratelimit' | 'route'
  topic: string
  detail: string
}

/** An alert of the demo's episode as a record of one topic says it. */
interface Passage {
  fingerprint: string
  startsAt: string
  status: string
  step: PathStep
}

/** Follows topics from the start and keeps the decoded records of the demo's alert. */
export class DemoWatch {
  /** The demo's alert on alerts.raw, as Alertmanager sent it. */
  readonly raw: Seen<AlertRecord> = []
  /** The demo's alert on alerts.deduped: what dedup forwarded, with the episode's canonical start. */
  readonly deduped: Seen<AlertRecord> = []
  /** Action requests for the demo's alert on the followed action topic. */
  readonly requests: Seen<ActionRequestRecord> = []
  readonly passages: Seen<Passage> = []
  readonly decisions: Seen<DecisionRecord> = []
  readonly outcomes: Seen<ActionOutcomeRecord> = []
  readonly budgets: Seen<SloBudgetRecord> = []
  private readonly tails: TopicTail[] = []
  private decoding: Promise<void> = Promise.resolve()
  /** Records no schema of the registry decodes (e.g. written before a registry lost its schemas). */
  undecodable = 0
  firstUndecodable: string | undefined

  constructor(private readonly registry: Registry) {}

  /** Starts following the topics under `prefix`, and `actions.<action>`. */
  async start(kafka: KafkaSettings, prefix: string, action: string): Promise<void> {
    const topics = topicNames(prefix)
    const follow = <T>(topic: string, keep: (value: T) => void) =>
      TopicTail.start(kafka, topic, (record: InRecord) => {
        if (record.value === null) return
        const value = record.value
        this.decoding = this.decoding.then(async () => {
          try {
            keep((await this.registry.decode(value)) as T)
          } catch (err) {
            this.undecodable += 1
            this.firstUndecodable ??= `${topic} partition ${record.partition} offset ${record.offset}: ${describeError(err)}`
          }
        })
      })
    const seen = <T>(into: Seen<T>, value: T) => into.push({ at: Date.now(), value })
    const passed = (a: AlertRecord, step: PathStep) => {
      if (a.labels.alertname === DEMO_ALERT)
        seen(this.passages, { fingerprint: a.fingerprint, startsAt: a.startsAt, status: a.status, step })
    }
    const enriched = (e: EnrichedAlertRecord) =>
      `team=${e.team} service=${e.service ?? '(none)'} slo=${e.slo ?? '(none)'}`
    const tails = await Promise.all([
      follow<AlertRecord>(topics.raw, (a) => a.labels.alertname === DEMO_ALERT && seen(this.raw, a)),
      follow<AlertRecord>(topics.deduped, (a) => {
        if (a.labels.alertname === DEMO_ALERT) seen(this.deduped, a)
        passed(a, { stage: 'dedup', topic: topics.deduped, detail: 'forwarded: a new notification of this episode' })
      }),
      follow<EnrichedAlertRecord>(topics.enriched, (e) =>
        passed(e.alert, { stage: 'enrich', topic: topics.enriched, detail: enriched(e) }),
      ),
      follow<EnrichedAlertRecord>(topics.admitted, (e) =>
        passed(e.alert, { stage: 'ratelimit', topic: topics.admitted, detail: 'admitted: within the limits' }),
      ),
      follow<ActionRequestRecord>(`${prefix}${actionTopic(action)}`, (r) => {
        if (r.alert.alert.labels.alertname === DEMO_ALERT) seen(this.requests, r)
        passed(r.alert.alert, {
          stage: 'route',
          topic: `${prefix}${actionTopic(action)}`,
          detail: `route ${r.route} → ${r.action} ${Object.entries(r.params)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}`,
        })
      }),
      follow<DecisionRecord>(topics.decisions, (d) => seen(this.decisions, d)),
      follow<ActionOutcomeRecord>(topics.outcomes, (o) => o.service === DEMO_SERVICE && seen(this.outcomes, o)),
      follow<SloBudgetRecord>(topics.budget, (b) => b.slo === DEMO_SLO && seen(this.budgets, b)),
    ])
    this.tails.push(...tails)
  }

  /** The episode's path through the stages so far, in stage order. */
  path(fingerprint: string, startsAt: string, status: string): PathStep[] {
    const mine = this.passages
      .map((p) => p.value)
      .filter((p) => p.fingerprint === fingerprint && p.startsAt === startsAt && p.status === status)
    return PIPELINE_STAGES.flatMap((stage) => mine.find((p) => p.step.stage === stage)?.step ?? [])
  }

  /** Throws a decision that stopped the episode (dropped, throttled, unrouted) with its reason. */
  check(episode?: { fingerprint: string; startsAt: string; status: string; allowed: readonly string[] }): void {
    if (!episode) return
    const stop = this.decisions.find(
      ({ value: d }) =>
        d.fingerprint === episode.fingerprint &&
        d.startsAt === episode.startsAt &&
        d.status === episode.status &&
        !episode.allowed.includes(d.kind),
    )
    if (stop)
      throw new NightshiftError(
        ERROR_CODES.DEMO,
        `demo: the ${episode.status} alert went no further: ${describeDecision(stop.value)}`,
      )
  }

  async stop(): Promise<void> {
    await Promise.all(this.tails.map((t) => t.stop().catch(() => undefined)))
  }
}

/** The stages an alert passes on its way to an action topic, in order. */
export const PIPELINE_STAGES = ['dedup', 'enrich', 'ratelimit', 'route'] as const

/** A decision as one line: stage, kind, reason and the details that say why. */
export function describeDecision(d: DecisionRecord): string {
  const detail = Object.entries(d.detail)
    .filter(([k]) => ['team', 'service', 'route', 'action', 'limit', 'throttledBy', 'routes', 'actions'].includes(k))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')
  return `${d.stage}: ${d.kind}${d.reason ? ` (${d.reason})` : ''}${detail ? ` ${detail}` : ''}`
}
