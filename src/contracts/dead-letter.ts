/**
 * Reading a decoded record as a DeadLetter (schemas/dead-letter.avsc): the DLQ may hold
 * records of other writers, so its readers (`nightshift dlq`, `nightshift trace`) check
 * the shape before trusting it.
 */
import type { DeadLetterRecord, SourcePosition } from './records'

function isStringMap(v: unknown): v is Record<string, string> {
  return (
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')
  )
}

function isSource(v: unknown): v is SourcePosition {
  if (typeof v !== 'object' || v === null) return false
  const s = v as Record<string, unknown>
  return typeof s.topic === 'string' && typeof s.partition === 'number' && typeof s.offset === 'string'
}

/** `decoded` as a DeadLetter, or undefined when it does not have that shape. */
export function asDeadLetter(decoded: unknown): DeadLetterRecord | undefined {
  if (typeof decoded !== 'object' || decoded === null) return undefined
  const d = decoded as Record<string, unknown>
  const bytesOrNull = (v: unknown) => v === null || Buffer.isBuffer(v)
  if (typeof d.stage !== 'string' || typeof d.errorCode !== 'string' || typeof d.errorMessage !== 'string')
    return undefined
  if (
    !(d.source === null || isSource(d.source)) ||
    !bytesOrNull(d.key) ||
    !bytesOrNull(d.value) ||
    !isStringMap(d.headers)
  )
    return undefined
  if (typeof d.failedAt !== 'number') return undefined
  return d as unknown as DeadLetterRecord
}
