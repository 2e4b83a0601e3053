import { ERROR_CODES, NightshiftError, describeError } from '../errors'
import type { DeadLetterRecord } from '../contracts/records'
import type { SourcePosition } from './types'

/** Header names on dead letters (and the DeadLetter record mirrors them). */
export const DLQ_HEADERS = {
  stage: 'nightshift-stage',
  code: 'nightshift-error-code',
  message: 'nightshift-error-message',
  topic: 'nightshift-source-topic',
  partition: 'nightshift-source-partition',
  offset: 'nightshift-source-offset',
} as const

/** The DeadLetter record (schemas/dead-letter.avsc) and headers for a failed input record. */
export function deadLetterFor(args: {
  stage: string
  error: unknown
  source: SourcePosition | null
  key: Buffer | null
  value: Buffer | null
  headers: Record<string, string>
  failedAt: number
}): { value: DeadLetterRecord; headers: Record<string, string> } {
  const code = args.error instanceof NightshiftError ? args.error.code : ERROR_CODES.POISON_RECORD
  // Header values are single lines of bounded size, whatever the error said.
  const message = describeError(args.error).replace(/\s+/g, ' ').slice(0, 1000)
  const headers: Record<string, string> = {
    [DLQ_HEADERS.stage]: args.stage,
    [DLQ_HEADERS.code]: code,
    [DLQ_HEADERS.message]: message,
  }
  if (args.source) {
    headers[DLQ_HEADERS.topic] = args.source.topic
    headers[DLQ_HEADERS.partition] = String(args.source.partition)
    headers[DLQ_HEADERS.offset] = args.source.offset
  }
  return {
    headers,
    value: {
      stage: args.stage,
      errorCode: code,
      errorMessage: message,
      source: args.source,
      key: args.key,
      value: args.value,
      headers: args.headers,
      failedAt: args.failedAt,
    },
  }
}
