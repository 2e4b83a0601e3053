/** A record to produce. `value: null` is a tombstone (compacted topics). */
export interface OutRecord {
  topic: string
  key: string | Buffer | null
  value: Buffer | null
  headers?: Record<string, string>
  /** Set only when the partition must be chosen explicitly; else the key decides. */
  partition?: number
  /** Milliseconds since the epoch, as a string (Kafka's record timestamp). */
  timestamp?: string
}

/** A consumed record. */
export interface InRecord {
  topic: string
  partition: number
  offset: string
  key: Buffer | null
  value: Buffer | null
  headers: Record<string, string>
  /** Milliseconds since the epoch, as a string. */
  timestamp: string
}

/** The position to commit after `record`: Kafka commits the next offset to read. */
export function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString()
}
