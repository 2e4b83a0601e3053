/**
 * The records of one alert as `nightshift trace` reads them: each decoded record with
 * where it was read from and the role of its topic in the topology.
 */
import type {
  ActionOutcomeRecord,
  ActionRequestRecord,
  AlertRecord,
  DecisionRecord,
  DeadLetterRecord,
  EnrichedAlertRecord,
  SloEventRecord,
} from '../contracts/records'

/** Where a trace record was read from. */
export interface TracePosition {
  /** The topic as read (with the prefix). */
  topic: string
  partition: number
  offset: string
  /** Kafka record timestamp, ms since the epoch. */
  timestamp: number
  /** An action request written back by its worker when a hold ended: why (wait, answer, timeout). */
  wake?: string
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

/** The role of the topic a trace record was read from. */
export type TraceRole = TraceRecord['role']

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
