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
  /**
   * Wall-clock time (ms since the epoch) the runner took when it handed this record of
   * the batch to `process`: the "now" of decisions that need one (a pause in force, a
   * budget gate), so `process` never reads a clock and a test or replay can fix it.
   */
  now: number
  /** The decoded records after this one in the same batch (same partition), for stages that look ahead (copied on each call). */
  later(): readonly I[]
}

/** How big a partition's store may get; what a {@link StateSpec.createStore} is given. */
export interface PartitionStateOptions {
  /** Entries kept (least recently used are evicted): a hard bound. */
  maxEntries: number
  /**
   * Wall-clock bound on an entry's life in memory; stages also expire by record time. A
   * stage's own store may leave it to the record-time expiry and `maxEntries`.
   */
  ttlMs: number
}

/**
 * The in-memory state of one input partition: exactly what the runner uses of it. `get`
 * counts as a use (least recently used entries are evicted first once `maxEntries` is
 * reached), and must answer a value equal to the one last `set` for the key, or
 * undefined once it was deleted, evicted or expired. Never shared between partitions.
 */
export interface PartitionState<S> {
  get(key: string): S | undefined
  set(key: string, value: S): void
  delete(key: string): void
  readonly size: number
  clear(): void
}

/** State kept by a stage: a bounded store per input partition, backed by a compacted changelog. */
export interface StateSpec<S = unknown> extends PartitionStateOptions {
  changelogTopic: string
  /** Schema of the state values written to the changelog. */
  schema: string
  /**
   * Builds one partition's store, for a stage whose state fits a more compact form than
   * the default (an LRU of the values as JS objects). Called once per partition taken.
   */
  createStore?: (options: PartitionStateOptions) => PartitionState<S>
}

/**
 * A stage: which topics it reads, which state it keeps, and its decision. `process`
 * does no I/O and reads no clock (time comes in as `context.timestamp` or `context.now`):
 * the runner does all Kafka work the same way for every stage. It is pure except for the
 * live, in-process resources a stage declares in its own docs: configuration reloaded on
 * change, boards it follows from topics, a register of its effects in flight, and its
 * metrics and log lines. Whatever waits or sizes a resource (slots, concurrency) belongs
 * in an effect's `run`, never here. It may throw a PoisonRecordError (or any
 * non-retriable error) for a record it cannot handle: that record goes to the DLQ and
 * the stage goes on.
 */
export interface StageDefinition<I, S = never> {
  name: StageName
  groupId: string
  inputTopics: string[]
  /** Schema the input values must conform to; anything else is a poison record. */
  inputSchema: string
  state?: StateSpec<S>
  /** Partitions consumed at once by one instance (default 1); stages with slow effects raise it. */
  concurrentPartitions?: number
  /**
   * Most effects marked and run per commit (default: a whole batch). A batch with more is
   * committed in parts, each with its marks, its effects and its offsets, so a crash leaves
   * at most this many marks per partition behind (each one an interrupted effect a human
   * is told about). Asked per part: the action's concurrency, hot-reloaded.
   */
  maxEffectsPerCommit?: () => number
  hooks?: StateHooks<S>
  process(input: I, context: ProcessContext<S, I>): StageResult<S>
}
