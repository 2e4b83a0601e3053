/**
 * Reading an alert's records from the topics of a run: every topic of the topology under
 * a prefix, each read to its end and filtered on the alert's fingerprint. Side-effect
 * free apart from the read barriers readTopicToBarrier appends (skipped by every reader).
 */
import { WAKE_HEADER } from '../actions/worker/holds'
import { asDeadLetter } from '../contracts/dead-letter'
import type { ActionOutcomeRecord, ActionRequestRecord, AlertRecord, EnrichedAlertRecord } from '../contracts/records'
import { PoisonRecordError } from '../errors'
import { KafkaAdmin, Registry, readTopicToBarrier, type InRecord, type KafkaSettings } from '../kafka'
import { TOPICS, actionTopic, topicNames } from '../topology/names'
import { fingerprintOf, type TracePosition, type TraceRecord, type TraceRole } from './records'

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

/** What {@link readTrace} found. */
export interface TraceRead {
  /** The topics read, by role. */
  topics: Array<{ role: TraceRole; topic: string }>
  /** The alert's records, decoded, in the order of `topics`. */
  records: TraceRecord[]
  /** Records that did not decode: left out of `records`, for the caller to report. */
  undecodable: InRecord[]
}

/**
 * Every record of `fingerprint` in the topics of the run under `prefix` (see
 * {@link traceTopics}), decoded.
 * @param options.timeoutMs how long each topic may take to read (default: readTopicToBarrier's)
 */
export async function readTrace(
  settings: KafkaSettings,
  registry: Registry,
  prefix: string,
  fingerprint: string,
  options: { timeoutMs?: number } = {},
): Promise<TraceRead> {
  const topics = await traceTopics(settings, prefix)
  const undecodable: InRecord[] = []
  const found = await Promise.all(
    topics.map(async ({ role, topic }) =>
      matching(registry, role, await readTopicToBarrier(settings, topic, options), fingerprint, undecodable),
    ),
  )
  return { topics, records: found.flat(), undecodable }
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
    const wake = record.headers[WAKE_HEADER]
    if (wake !== undefined) position.wake = wake
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
