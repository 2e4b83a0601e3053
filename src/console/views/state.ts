/**
 * The console's views, folded from decoded records (pure apart from the logger the pause
 * board takes): what {@link ConsoleViews} answers. start.ts feeds it from the topics;
 * unit tests feed it records directly.
 *
 * Memory is bounded by {@link ViewLimits}: the Actions view keeps at most `maxRows` rows
 * (default 50,000, oldest by finishedAt evicted) with at most 20 earlier records each,
 * and the params and labels of as many requests (least recently read evicted);
 * the Alert view keeps at most `maxFingerprints` fingerprints (default 20,000, least
 * recently written evicted) with at most `maxPerFingerprint` records each (default 200;
 * `complete: false` once trimmed) and `maxAlertRecords` in all (default 250,000). Pauses,
 * approval answers and budgets are not bounded: one entry per key of a compacted topic,
 * written by a person (pauses, answers) or one per SLO, as in the workers' own boards.
 * {@link ConsoleViewState.sizes} reports every count.
 *
 * Live events ({@link ConsoleViewState.subscribe}) start per topic once that topic is
 * caught up: rebuilding at start announces nothing.
 */
import { LRUCache } from 'lru-cache'
import type { ActionOutcomeRecord, ActionRequestRecord, DecisionRecord, SloBudgetRecord } from '../../contracts/records'
import { ApprovalBoard } from '../../actions/worker/approvals'
import { PauseBoard } from '../../actions/worker/control'
import type { Pause } from '../../actions/worker/pause'
import type { InRecord } from '../../kafka'
import type { Logger } from '../../log'
import type { TopicNames } from '../../topology/names'
import type {
  ActionPage,
  ActionQuery,
  ActionRow,
  AlertStory,
  ConsoleEvent,
  ConsoleViews,
  HeldView,
  PendingApprovalView,
  RequestFacts,
  ViewProgress,
} from '../types'
import { ActionsView, isoMs } from './actions-view'
import { AlertsView, DEFAULT_FIND_LIMIT, type TraceAt } from './alerts-view'
import { TopicProgress } from './progress'

/** The topics the views follow. */
export type ViewTopics = Pick<TopicNames, 'outcomes' | 'decisions' | 'control' | 'budget'> & {
  /** The action topics (`actions.<name>`, prefixed): the requests' params and alert labels, and their place in an alert's story. */
  actions?: readonly string[]
}

/** The bounds of the views (see the module comment). */
export interface ViewLimits {
  maxRows: number
  maxFingerprints: number
  maxPerFingerprint: number
  maxAlertRecords: number
}

export const DEFAULT_VIEW_LIMITS: Readonly<ViewLimits> = Object.freeze({
  maxRows: 50_000,
  maxFingerprints: 20_000,
  maxPerFingerprint: 200,
  maxAlertRecords: 250_000,
})

export class ConsoleViewState implements ConsoleViews {
  private readonly rows: ActionsView
  /** Params and labels of the newest requests, by idempotency key (as many as rows). */
  private readonly requests: LRUCache<string, RequestFacts>
  private readonly actionTopicNames: string[] = []
  private readonly alerts: AlertsView
  private readonly pauseBoard: PauseBoard
  private readonly answers = new ApprovalBoard()
  private answerCount = 0
  private readonly budgetsBySlo = new Map<string, SloBudgetRecord>()
  private readonly progressOf = new Map<string, TopicProgress>()
  private readonly listeners = new Set<(event: ConsoleEvent) => void>()
  private readonly log: Logger

  constructor(
    readonly topics: ViewTopics,
    logger: Logger,
    limits: Partial<ViewLimits> = {},
  ) {
    const l = { ...DEFAULT_VIEW_LIMITS, ...limits }
    this.log = logger.child({ module: 'console-views' })
    this.rows = new ActionsView(l.maxRows)
    this.alerts = new AlertsView({
      maxFingerprints: l.maxFingerprints,
      maxPerFingerprint: l.maxPerFingerprint,
      maxRecords: l.maxAlertRecords,
    })
    this.pauseBoard = new PauseBoard(logger)
    this.requests = new LRUCache<string, RequestFacts>({ max: l.maxRows })
    for (const topic of [topics.outcomes, topics.decisions, topics.control, topics.budget])
      this.progressOf.set(topic, new TopicProgress(topic))
    this.addActionTopics(topics.actions ?? [])
  }

  // ------------------------------------------------------------ folding

  /** Follows these action topics too (found at start when the topics do not name them). */
  addActionTopics(topics: readonly string[]): void {
    for (const topic of topics) {
      if (this.progressOf.has(topic)) continue
      this.progressOf.set(topic, new TopicProgress(topic))
      this.actionTopicNames.push(topic)
    }
  }

  /** The action topics the views follow. */
  actionTopics(): readonly string[] {
    return this.actionTopicNames
  }

  /** The end offsets of `topic` at start (what caught up means). */
  begin(topic: string, ends: ReadonlyMap<number, bigint | string>): void {
    this.progress$(topic).begin(ends)
  }

  /** Progress of `topic`, for the reader's grace and timeout. */
  topicProgress(topic: string): TopicProgress {
    return this.progress$(topic)
  }

  outcome(value: ActionOutcomeRecord, at: TraceAt): void {
    const live = this.progress$(this.topics.outcomes).caughtUp
    const row = this.rows.apply(value, at)
    this.alerts.outcome(value, at)
    this.advance(this.topics.outcomes, at)
    if (live) this.emit({ kind: 'outcome', row })
  }

  /**
   * A request of an action topic: its params and labels for the Actions detail, and a
   * step of its alert's story. A held request written back by its worker (`wake`) is the
   * same request again: kept once, shown in the story as woken.
   */
  request(value: ActionRequestRecord, at: TraceAt, wake?: string): void {
    if (wake === undefined)
      this.requests.set(value.idempotencyKey, {
        route: value.route,
        params: value.params,
        labels: value.alert.alert.labels,
        requestedAt: value.requestedAt,
      })
    this.alerts.request(value, wake === undefined ? at : { ...at, wake })
    this.advance(at.topic, at)
  }

  decision(value: DecisionRecord, at: TraceAt): void {
    this.alerts.decision(value, at)
    this.advance(this.topics.decisions, at)
  }

  /** A record of nightshift.control (JSON): pauses and approval answers. */
  control(record: InRecord): void {
    const live = this.progress$(this.topics.control).caughtUp
    const change = this.pauseBoard.apply(record)
    const answer = this.answers.apply(record)
    this.advance(this.topics.control, record)
    if (answer.kind === 'answered') this.answerCount += 1
    else if (answer.kind === 'malformed')
      this.log.error({ key: answer.key, reason: answer.reason }, 'ignoring malformed approval answer')
    if (!live) return
    if (change.kind === 'paused') this.emit({ kind: 'pause', pause: change.pause })
    else if (change.kind === 'lifted') this.emit({ kind: 'lift', id: change.key })
    else if (change.kind === 'malformed' && change.dropped) this.emit({ kind: 'lift', id: change.key })
    if (answer.kind === 'answered') this.emit({ kind: 'approval', answer: answer.answer })
  }

  /** A budget of slo.budget by its key (the SLO); null is a tombstone. */
  budget(key: string, value: SloBudgetRecord | null, at: Pick<TraceAt, 'partition' | 'offset'>): void {
    const live = this.progress$(this.topics.budget).caughtUp
    if (value === null) this.budgetsBySlo.delete(key)
    else this.budgetsBySlo.set(key, value)
    this.advance(this.topics.budget, at)
    if (live && value !== null) this.emit({ kind: 'budget', budget: value })
  }

  /** A record read but not applied (a barrier, an undecodable value): it still counts as read. */
  skipped(topic: string, at: Pick<TraceAt, 'partition' | 'offset'>): void {
    this.advance(topic, at)
  }

  /** Counts `topic` as caught up (after the marker grace or the timeout). */
  forceCaughtUp(topic: string): boolean {
    return this.progress$(topic).force()
  }

  // ------------------------------------------------------------ ConsoleViews

  actions(query: ActionQuery): ActionPage {
    return this.rows.query(query)
  }

  action(key: string): ActionRow | undefined {
    const row = this.rows.action(key)
    if (!row) return undefined
    // A `#resolved` outcome was asked by its episode's request; a revert by the request it undoes.
    const request = this.requests.get(key.replace(/(#resolved|\/revert|#not_effective)$/, ''))
    return request ? { ...row, request } : row
  }

  pendingApprovals(): PendingApprovalView[] {
    return this.rows.pendingRows().map((row) => {
      const id = row.outcome.output.approval ?? ''
      const view: PendingApprovalView = {
        id,
        key: row.key,
        outcome: row.outcome,
        askedAt: row.outcome.finishedAt,
        timeoutAt: isoMs(row.outcome.output.approvalTimeoutAt),
      }
      const answer = id === '' ? undefined : this.answers.answerFor(id)
      if (answer) view.answer = answer
      return view
    })
  }

  held(): HeldView[] {
    return this.rows.held()
  }

  pauses(now: number, all = false): Pause[] {
    return all ? this.pauseBoard.all() : this.pauseBoard.active(now)
  }

  budgets(): SloBudgetRecord[] {
    return [...this.budgetsBySlo.values()].sort((a, b) => (a.slo < b.slo ? -1 : a.slo > b.slo ? 1 : 0))
  }

  alert(fingerprint: string): AlertStory | undefined {
    return this.alerts.story(fingerprint)
  }

  findAlerts(matchers: string, limit = DEFAULT_FIND_LIMIT): string[] {
    return this.alerts.find(matchers, limit)
  }

  progress(): ViewProgress[] {
    return [...this.progressOf.values()].map((p) => p.view())
  }

  subscribe(listener: (event: ConsoleEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  sizes(): Record<string, number> {
    const rows = this.rows.sizes()
    const alerts = this.alerts.sizes()
    return {
      actionRows: rows.rows,
      actionHistory: rows.history,
      pendingApprovals: rows.pending,
      held: rows.held,
      alertFingerprints: alerts.fingerprints,
      alertRecords: alerts.records,
      requests: this.requests.size,
      pauses: this.pauseBoard.all().length,
      approvalAnswers: this.answerCount,
      budgets: this.budgetsBySlo.size,
      listeners: this.listeners.size,
    }
  }

  // ------------------------------------------------------------ internals

  private progress$(topic: string): TopicProgress {
    const p = this.progressOf.get(topic)
    if (!p) throw new RangeError(`${topic} is not a topic of the console views`)
    return p
  }

  private advance(topic: string, at: Pick<TraceAt, 'partition' | 'offset'>): void {
    if (this.progress$(topic).saw(at.partition, at.offset))
      this.log.info(this.progress$(topic).view(), 'console view caught up')
  }

  /** A listener that throws is logged and kept: one broken page must not stop the others. */
  private emit(event: ConsoleEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event)
      } catch (err) {
        this.log.error({ err, event: event.kind }, 'console event listener failed')
      }
    }
  }
}
