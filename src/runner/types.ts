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
  /**
   * Work outside Kafka the record needs (an action worker's handler). The runner commits
   * `before` first, then runs every effect of the batch, then commits their results with
   * the batch's other outputs and offsets; `emits`, `state` and `kind` of this result are
   * dropped in favour of the effect's.
   */
  effect?: Effect<S>
}

/**
 * Work outside Kafka, which no transaction covers. Between the two commits a crash
 * leaves `before` in the changelog and no offset: the record comes back, and the stage
 * finds its own `before` mark in the state and decides what to do without running the
 * effect again (at most once).
 */
export interface Effect<S> {
  /** State committed, in a transaction of its own, before `run` starts. */
  before: StateChange<S>[]
  /** Does the work; never rejects (failures are results). Runs concurrently with the batch's other effects. */
  run(): Promise<StageResult<S>>
  /** Called instead of `run` when the batch is given up before its effects start (revoked, or the mark did not commit). */
  abandon?(): void
}

/** Called by the runner as a stage's state moves; for stages that act on state later (timers). */
export interface StateHooks<S> {
  /** After a partition was restored from the changelog (`entries`: everything restored). */
  restored?(partition: number, entries: ReadonlyArray<StateChange<S>>): void
  /** After a batch's transaction committed these changes. */
  committed?(partition: number, changes: ReadonlyArray<StateChange<S>>): void
  /** The partition was taken away (its next owner restores it). */
  revoked?(partition: number): void
}

/** Read access to the state of the input record's partition. */
export interface StateView<S> {
  get(key: string): S | undefined
}

/** What a stage's `process` is given besides the record. */
export interface ProcessContext<S, I = unknown> {
  state: StateView<S>
  source: SourcePosition
  /** Kafka timestamp of the input record, ms since the epoch. */
  timestamp: number
  /** The decoded records after this one in the same batch (same partition), for stages that look ahead (copied on each call). */
  later(): readonly I[]
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
  /** Partitions consumed at once by one instance (default 1); stages with slow effects raise it. */
  concurrentPartitions?: number
  hooks?: StateHooks<S>
  process(input: I, context: ProcessContext<S, I>): StageResult<S>
}
