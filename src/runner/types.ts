import type { SourcePosition } from '../contracts/records'
import type { StageName } from '../topology/names'

export type { SourcePosition }

/** A record a stage wants produced; the runner encodes `value` with `schema`. */
export interface Emit {
  topic: string
  key: string | null
  /** Full or short name of the schema in schemas/ the value conforms to. */
  schema: string
  value: unknown
  headers?: Record<string, string>
}

/** A change to a stage's state: `value: null` deletes the key (a changelog tombstone). */
export interface StateChange<S> {
  key: string
  value: S | null
}

/** What a stage decided for one record. */
export interface StageResult<S> {
  emits: Emit[]
  state?: StateChange<S>[]
  /** The decision's kind, counted per stage in metrics (e.g. forwarded, duplicate_firing). */
  kind: string
}

/** Read access to the state of the input record's partition. */
export interface StateView<S> {
  get(key: string): S | undefined
}

/** What a stage's `process` is given besides the record. */
export interface ProcessContext<S> {
  state: StateView<S>
  source: SourcePosition
  /** Kafka timestamp of the input record, ms since the epoch. */
  timestamp: number
}

/** State kept by a stage: a bounded store per input partition, backed by a compacted changelog. */
export interface StateSpec {
  changelogTopic: string
  /** Schema of the state values written to the changelog. */
  schema: string
  /** Entries kept per partition (least recently used are evicted). */
  maxEntries: number
  /** Wall-clock bound on an entry's life in memory; stages also expire by record time. */
  ttlMs: number
}

/**
 * A stage: which topics it reads, which state it keeps, and its decision. `process`
 * must be pure (no I/O, no clock): the runner does all Kafka work the same way for
 * every stage. It may throw a PoisonRecordError (or any non-retriable error) for a
 * record it cannot handle: that record goes to the DLQ and the stage goes on.
 */
export interface StageDefinition<I, S = never> {
  name: StageName
  groupId: string
  inputTopics: string[]
  /** Schema the input values must conform to; anything else is a poison record. */
  inputSchema: string
  state?: StateSpec
  process(input: I, context: ProcessContext<S>): StageResult<S>
}
