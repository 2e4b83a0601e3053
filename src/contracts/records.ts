/**
 * TypeScript shapes of the Avro contracts in schemas/ that code builds or reads. The
 * .avsc files are the source of truth; tests validate records built with these shapes
 * against the avsc types (e.g. test/unit/ingest-alerts.test.ts).
 */

/** Where a record was read from (schemas/source-position.avsc). */
export interface SourcePosition {
  topic: string
  partition: number
  /** A decimal string: Kafka offsets are 64-bit. */
  offset: string
}

/** An alert on alerts.raw / alerts.deduped (schemas/alert.avsc). */
export interface AlertRecord {
  fingerprint: string
  status: 'firing' | 'resolved'
  labels: Record<string, string>
  annotations: Record<string, string>
  startsAt: string
  endsAt: string | null
  generatorURL: string | null
  receiver: string | null
  groupKey: string | null
  externalURL: string | null
  /** Milliseconds since the epoch. */
  receivedAt: number
  /** Set by dedup when the episode's canonical start (`startsAt`) differs from what Alertmanager sent: that. */
  sentStartsAt?: string | null
  /** A resolve Alertmanager did not send (`nightshift episodes close`, or a superseded episode): who and why. */
  closedBy?: { by: string; reason: string } | null
}

/**
 * An alert with what the service catalog knows of it (schemas/enriched-alert.avsc), on
 * alerts.enriched, alerts.admitted, alerts.throttled and alerts.unrouted.
 */
export interface EnrichedAlertRecord {
  /** The alert as deduplicated, unchanged. */
  alert: AlertRecord
  /** Owning team; {@link UNOWNED} when no catalog service matched. */
  team: string
  /** Catalog service; null when none matched. */
  service: string | null
  tier: string | null
  /** The alert's runbook_url annotation, else the catalog's. */
  runbookUrl: string | null
  slo: string | null
  /** Endpoints actions may call for this service, by name. */
  endpoints: Record<string, string>
  /** Record time (the alert's receivedAt) the enrichment was computed at, ms since the epoch. */
  enrichedAt: number
  /** On alerts.throttled: the limit that stopped the alert (e.g. `team:payments`); null elsewhere. */
  throttledBy: string | null
  /**
   * On alerts.throttled: why it was held back and what route does with it (schemas
   * Throttle); null elsewhere and on records written before it existed.
   */
  throttle?: ThrottleRecord | null
}

/** Why an alert on alerts.throttled was held back (schemas/enriched-alert.avsc Throttle). */
export interface ThrottleRecord {
  /** The automation limit that stopped the alert (= throttledBy). */
  limit: string
  level: string
  /** The limit's rate and burst as configured. */
  rate: string
  burst: number
  /** The limit window the alert was held back in: start (ms since the epoch) and length. */
  windowStart: number
  windowMs: number
  /** Alerts this limit held back in this window so far, this one included. */
  heldBack: number
  /** First hold-back of the window: route tells the team once. */
  notify: boolean
  /** The alert still goes to the escalation actions its routes name. */
  escalate: boolean
  /** The empty escalation limit when the alert routes to an escalation but escalate is false. */
  escalationHeldBy: string | null
}

/** A request to run one action for one alert, on `actions.<action>` (schemas/action-request.avsc). */
export interface ActionRequestRecord {
  idempotencyKey: string
  action: string
  /** Id of the route that produced the request (its name, else its path). */
  route: string
  params: Record<string, string>
  dryRun: boolean
  /** Record time of the admitted alert, ms since the epoch. */
  requestedAt: number
  alert: EnrichedAlertRecord
  /** The route's budget gate (null: none); the action's own applies too. */
  gate?: { minBudgetRemaining: number | null; maxBurnRate: number | null; burnWindow: string | null } | null
  /** Set when an operator ran a request a pause had skipped (`nightshift run`); null: routed as usual. */
  manualRun?: { by: string; reason: string; at: number; of: string } | null
  /** The route's holds (null: the action's own apply). */
  hold?: HoldRecord | null
}

/** What happens to a request awaiting approval when nobody answers in time. */
export type ApprovalTimeout = 'page' | 'skip' | 'run'

/** Holds of a request before it runs (schemas/action-request.avsc Hold). */
export interface HoldRecord {
  /** Held this long first; run only if the alert still fires then (0: no wait). */
  waitMs: number
  /** Not run until a person approves (null: no approval). */
  approval: { timeoutMs: number; onTimeout: ApprovalTimeout } | null
}

export type OutcomeStatus =
  | 'succeeded'
  | 'failed'
  | 'timed_out'
  | 'skipped_duplicate'
  | 'circuit_open'
  | 'cancelled_resolved'
  | 'dry_run'
  | 'skipped_paused'
  | 'gated'
  | 'error'
  | 'not_effective'
  | 'held'
  | 'awaiting_approval'
  | 'denied'
  | 'approval_expired'

/** What became of one action request (schemas/action-outcome.avsc). */
export interface ActionOutcomeRecord {
  idempotencyKey: string
  action: string
  route: string
  fingerprint: string
  startsAt: string
  team: string
  service: string | null
  slo: string | null
  status: OutcomeStatus
  attempts: number
  startedAt: number | null
  finishedAt: number
  detail: string | null
  output: Record<string, string>
  escalatedTo: string | null
  dryRun: boolean
  alertname: string
  durationMs: number | null
  artifact: string | null
}

export type LedgerEntryKind = 'started' | 'completed' | 'resolved' | 'last_success' | 'revert_pending' | 'held'

/** Action workers' ledger entry, on nightshift.action-ledger (schemas/ledger-entry.avsc). */
export interface LedgerEntry {
  kind: LedgerEntryKind
  idempotencyKey: string
  action: string
  fingerprint: string
  startsAt: string
  route: string
  team: string
  service: string | null
  /** ms since the epoch. */
  at: number
  status: string | null
  attempts: number
  revertAt: number | null
  params: Record<string, string>
  /** held: when the wait ends (null: no wait, or it is over). */
  holdUntil?: number | null
  /** held: the approval asked for, once asked. */
  approvalId?: string | null
  /** held: when an unanswered approval times out. */
  approvalTimeoutAt?: number | null
  /** held: the request as JSON, written back to its topic when the hold ends. */
  request?: string | null
}

/** Why a record went no further, on nightshift.decisions (schemas/decision.avsc). */
export interface DecisionRecord {
  fingerprint: string
  startsAt: string
  status: string
  stage: string
  kind: string
  reason: string
  detail: Record<string, string>
  source: SourcePosition
  decidedAt: number
}

/** Something that counts against one SLO, on slo.events (schemas/slo-event.avsc). */
export interface SloEventRecord {
  slo: string
  kind: 'alert' | 'outcome'
  fingerprint: string
  startsAt: string
  status: string
  startedAtMs: number | null
  endedAtMs: number | null
  at: number
  action: string | null
  idempotencyKey: string | null
}

/** One SLO's error budget and accounting state, on slo.budget (schemas/slo-budget.avsc). */
export interface SloBudgetRecord {
  slo: string
  service: string
  team: string
  objective: number
  asOf: number
  windowStart: number
  allowedBadMs: number
  badMs: number
  remainingRatio: number
  burnRates: Record<string, number>
  state: string
  open: Record<string, number>
  intervals: Array<{ start: number; end: number }>
  remediations: Record<string, number>
  automated: number
  notEffective: number
  /** Open alerts: episode → event time it was last heard of (absent in records older than the field). */
  lastSeen?: Record<string, number>
  actedAt: Record<string, number>
  resolvedAfterActionCount: number
  resolvedAfterActionMs: number
  recent: Array<{ at: number; action: string; status: string; fingerprint: string; idempotencyKey: string }>
}

/** A record that could not be processed, on nightshift.dlq (schemas/dead-letter.avsc). */
export interface DeadLetterRecord {
  stage: string
  errorCode: string
  errorMessage: string
  /** Where it was read from; null for a webhook body (it was never a record). */
  source: SourcePosition | null
  key: Buffer | null
  value: Buffer | null
  headers: Record<string, string>
  /** ms since the epoch. */
  failedAt: number
}
