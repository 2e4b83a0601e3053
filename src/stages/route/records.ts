/**
 * Shapes of the records the route stage writes (schemas/action-request.avsc,
 * action-outcome.avsc, decision.avsc). The input, EnrichedAlertRecord, is enrich's.
 */
import type { SourcePosition } from '../../runner/types'
import type { EnrichedAlertRecord } from '../enrich/record'

export type { EnrichedAlertRecord }

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
}

export type OutcomeStatus = 'succeeded' | 'failed' | 'timed_out' | 'skipped_duplicate' | 'circuit_open' | 'cancelled_resolved' | 'dry_run' | 'skipped_paused' | 'gated' | 'error'

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
