import type { AlertRecord, DecisionRecord, SourcePosition } from '../contracts/records'
import type { Emit } from '../runner/types'
import type { StageName } from '../topology/names'

/**
 * The `Decision` record every stage writes when an alert goes no further (or somewhere
 * unusual), keyed by fingerprint, timed by the alert's receive time so a replay writes
 * the same record.
 */
export function decisionEmit(args: {
  topic: string
  stage: StageName
  alert: Pick<AlertRecord, 'fingerprint' | 'startsAt' | 'status' | 'receivedAt'>
  source: SourcePosition
  kind: string
  reason: string
  detail?: Record<string, string>
}): Emit {
  const { alert } = args
  const value: DecisionRecord = {
    fingerprint: alert.fingerprint,
    startsAt: alert.startsAt,
    status: alert.status,
    stage: args.stage,
    kind: args.kind,
    reason: args.reason,
    detail: args.detail ?? {},
    source: args.source,
    decidedAt: alert.receivedAt,
  }
  return { topic: args.topic, key: alert.fingerprint, schema: 'Decision', value }
}
