/**
 * What a settled request becomes on the topics: its outcome (built by
 * contracts/outcome.ts), the not-effective follow-ups, the escalation request to the
 * action's target (page) when a human must hear of it, and the ledger changes, as one
 * StageResult the runner commits together. Counted and logged here, once per outcome.
 */
import type { ActionOutcomeRecord, ActionRequestRecord, LedgerEntry } from '../../contracts/records'
import type { Logger } from '../../log'
import type { Emit, StageResult } from '../../runner/types'
import { actionTopic, type TopicNames } from '../../topology/names'
import { announcementFor, escalationFor, type Plan } from './decide'
import type { ActionMetrics } from './metrics'

/** A settled request: what decide.ts's settled plan says, or what a run ended with. */
export type Settled = Omit<Extract<Plan, { kind: 'settled' }>, 'kind'>

export interface OutcomeRecorderOptions {
  action: string
  prefix: string
  topics: TopicNames
  metrics: ActionMetrics
  logger: Logger
  /** The action escalated to in the config in force (null: none). */
  escalateTo: () => string | null
}

/** Turns settled requests of one action into the records the runner commits. */
export class OutcomeRecorder {
  constructor(private readonly options: OutcomeRecorderOptions) {}

  /** The records of a settled request; an escalation made now is requested at `now`. */
  result(request: ActionRequestRecord, settled: Settled, now: number): StageResult<LedgerEntry> {
    const { action, metrics, logger: log } = this.options
    const { outcome, escalate } = settled
    const emits: Emit[] = []
    if (outcome && request.manualRun) audit(outcome, request.manualRun)
    if (outcome) {
      const escalation =
        escalate === undefined ? undefined : escalationFor(request, this.options.escalateTo(), escalate, now)
      if (escalation) {
        outcome.escalatedTo = escalation.action
        emits.push({
          topic: `${this.options.prefix}${actionTopic(escalation.action)}`,
          key: request.alert.alert.fingerprint,
          schema: 'ActionRequest',
          value: escalation,
        })
        metrics.escalations.inc({ action, to: escalation.action })
      } else if (escalate !== undefined) {
        // The escalation target itself (page) failing, or an action without a target.
        log.error(
          { idempotencyKey: request.idempotencyKey, status: outcome.status, detail: outcome.detail },
          'nobody was told: no escalation for this action',
        )
      }
      if (settled.announce) {
        const ask = announcementFor(request, this.options.escalateTo(), settled.announce, now)
        if (ask) {
          outcome.escalatedTo = ask.action
          emits.push({
            topic: `${this.options.prefix}${actionTopic(ask.action)}`,
            key: request.alert.alert.fingerprint,
            schema: 'ActionRequest',
            value: ask,
          })
        } else
          log.warn(
            { idempotencyKey: request.idempotencyKey, approval: settled.announce.id },
            'approval not announced: the action has no escalation target; see nightshift approvals',
          )
      }
      emits.push(this.emit(outcome))
      metrics.outcomes.inc({ action, status: outcome.status })
      log.info(
        {
          idempotencyKey: request.idempotencyKey,
          route: request.route,
          service: request.alert.service,
          status: outcome.status,
          attempts: outcome.attempts,
          escalatedTo: outcome.escalatedTo,
          detail: outcome.detail,
        },
        'action outcome',
      )
    }
    for (const followUp of settled.followUps) {
      emits.push(this.emit(followUp))
      metrics.outcomes.inc({ action, status: followUp.status })
      metrics.notEffective.inc({ action })
      log.warn({ idempotencyKey: followUp.idempotencyKey, detail: followUp.detail }, 'fix did not hold')
    }
    return { emits, state: settled.ledger, kind: settled.reason }
  }

  private emit(outcome: ActionOutcomeRecord): Emit {
    return { topic: this.options.topics.outcomes, key: outcome.fingerprint, schema: 'ActionOutcome', value: outcome }
  }
}

/**
 * Says on the outcome of a request run by hand (`nightshift run`) who asked and why: in its
 * detail, and as `runBy`, `runReason` and `runOf` (the skipped request's key) in its output.
 */
function audit(outcome: ActionOutcomeRecord, run: NonNullable<ActionRequestRecord['manualRun']>): void {
  outcome.output = { ...outcome.output, runBy: run.by, runReason: run.reason, runOf: run.of }
  const asked = `run by hand by ${run.by} (${run.reason}) for ${run.of}`
  outcome.detail = outcome.detail ? `${asked}: ${outcome.detail}` : asked
}
