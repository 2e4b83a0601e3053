import { performance } from 'node:perf_hooks'
import type avro from 'avsc'
import type { SchemaSet } from '../contracts/schemas'
import { ConfigError, PoisonRecordError, describeError, errorCode, isRetriable } from '../errors'
import {
  KafkaAdmin,
  RecordConsumer,
  TransactionalProducer,
  isBarrier,
  nextOffset,
  type BatchControl,
  type InRecord,
  type KafkaSettings,
  type OffsetToCommit,
  type OutRecord,
  type RecordBatch,
  type Registry,
} from '../kafka'
import type { Logger } from '../log'
import { valueSubject } from '../topology/names'
import { retry } from '../retry'
import { DEFAULT_BACKOFF, type BatchRetrySettings } from './backoff'
import { deadLetterFor } from './dead-letter'
import type { StageMetrics } from './metrics'
import { barrierRecord, restoreFromChangelog } from './restore'
import { BatchOverlay, PartitionedStore } from './store'
import type { Effect, Emit, SourcePosition, StageDefinition, StageResult, StateChange, StateView } from './types'

export interface RunnerOptions<I, S extends object> {
  stage: StageDefinition<I, S>
  kafka: KafkaSettings
  registry: Registry
  schemas: SchemaSet
  /** The dead-letter topic (with the run's prefix). */
  dlqTopic: string
  metrics: StageMetrics
  logger: Logger
  backoff?: BatchRetrySettings
  restoreTimeoutMs?: number
  /** Group session timeout: how long a dead instance keeps its partitions (≥ 6 s on default brokers). */
  sessionTimeoutMs?: number
  /** Wall clock, for dead letters' failedAt only (decisions use record time). */
  now?: () => number
  /**
   * Called once when the stage stops for good while running: the broker refused its
   * group, topics or transactional ids (an ACL removed). Retrying cannot help, so the
   * process owning it stops with the error instead of looping.
   */
  onFatal?: (err: ConfigError) => void
}

const NO_STATE: StateView<never> = { get: () => undefined }

/** A batch record decoded into the stage's input, or carrying why it could not be. */
type DecodedRecord<I> = { record: InRecord; source: SourcePosition } & ({ input: I } | { error: unknown })

/** Batch control of a restore started by an assignment, outside any batch (the consumer heartbeats on its own meanwhile). */
const EAGER_RESTORE: BatchControl = { heartbeat: async () => undefined, isRunning: () => true, isStale: () => false }

/**
 * Runs one stage: consumes its input topics in per-partition batches, decodes each
 * record through the registry into the stage's input schema, calls the stage's pure
 * `process`, and in one Kafka transaction per batch produces the outputs, the state
 * changelog updates, the dead letters and the consumed offsets. A crash at any point
 * leaves either all of a batch's effects or none.
 *
 * State: one bounded store per input partition, restored from the changelog before the
 * partition's first record is processed, on start and after every rebalance.
 * Errors: a record that cannot be decoded or that `process` rejects goes to the DLQ
 * and the batch goes on; a retriable error (broker, registry) retries the whole batch
 * with backoff; anything else stops the batch and kafkajs restarts the consumer from
 * the last committed offset.
 */
export class StageRunner<I, S extends object = never> {
  private readonly stage: StageDefinition<I, S>
  private readonly log: Logger
  private readonly inputType: avro.Type
  private readonly store: PartitionedStore<S> | undefined
  private readonly producers = new Map<string, TransactionalProducer>()
  private readonly schemaIds = new Map<string, number>()
  private readonly restored = new Set<number>()
  /**
   * Next offset to process per input partition (`topic/partition`), advanced by our own
   * commits. kafkajs may redeliver records after a rejoin: its OffsetFetch cannot ask
   * for stable offsets (KIP-447), so it can read an offset from before a transaction
   * that has just committed. Records below this mark were committed already; skipped.
   */
  private readonly positions = new Map<string, bigint>()
  private admin: KafkaAdmin | undefined
  private restoring: Promise<void> | undefined
  private assigned = new Set<number>()
  private consumer: RecordConsumer | undefined
  private readonly backoff: BatchRetrySettings
  private readonly now: () => number

  constructor(private readonly options: RunnerOptions<I, S>) {
    this.stage = options.stage
    this.log = options.logger.child({ module: 'runner', stage: options.stage.name })
    this.inputType = options.schemas.type(options.stage.inputSchema)
    this.store = options.stage.state ? new PartitionedStore<S>(options.stage.state) : undefined
    this.backoff = options.backoff ?? DEFAULT_BACKOFF
    this.now = options.now ?? Date.now
  }

  /**
   * Joins the stage's group and starts consuming; resolves once the loop runs. Fails
   * with a ConfigError naming the missing topics when the topology was not applied.
   */
  async start(): Promise<void> {
    const admin = await KafkaAdmin.connect({ ...this.options.kafka, clientId: `nightshift-${this.stage.name}` })
    try {
      await this.checkTopics(admin)
    } catch (err) {
      await admin.disconnect().catch(() => undefined)
      throw err
    }
    this.admin = admin
    await this.checkTransactionalIds()
    const consumer = await RecordConsumer.connect(
      { ...this.options.kafka, clientId: `nightshift-${this.stage.name}` },
      {
        groupId: this.stage.groupId,
        topics: this.stage.inputTopics,
        readCommitted: true,
        autoCommit: false,
        ...(this.options.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: this.options.sessionTimeoutMs }),
        concurrentPartitions: this.stage.concurrentPartitions ?? 1,
      },
    )
    consumer.onAssignment((assignment) => this.onAssignment(assignment))
    this.consumer = consumer
    await consumer.run((batch, control) => this.handleBatch(batch, control))
    consumer.onFatal((err) => this.fail(err))
    this.options.metrics.lagProbes.add(this.lagProbe)
    this.log.info({ groupId: this.stage.groupId, topics: this.stage.inputTopics }, 'stage started')
  }

  private async checkTopics(admin: KafkaAdmin): Promise<void> {
    const needed = [
      ...this.stage.inputTopics,
      this.options.dlqTopic,
      ...(this.stage.state ? [this.stage.state.changelogTopic] : []),
    ]
    const existing = new Set(await admin.listTopics())
    const missing = needed.filter((t) => !existing.has(t))
    if (missing.length > 0) {
      throw new ConfigError(
        `stage ${this.stage.name} needs topic(s) ${missing.join(', ')}, which do not exist; run \`nightshift topology apply\``,
      )
    }
  }

  /**
   * The stage's transactional producers are made per partition, at its first batch; one
   * made now, under the same id prefix, shows a refused transactional-id ACL at start
   * rather than when the first alert arrives.
   */
  private async checkTransactionalIds(): Promise<void> {
    const producer = await TransactionalProducer.connect(
      { ...this.options.kafka, clientId: `nightshift-${this.stage.name}` },
      `${this.stage.groupId}.start-check`,
    ).catch(async (err: unknown) => {
      await this.admin?.disconnect().catch(() => undefined)
      this.admin = undefined
      throw err
    })
    await producer.disconnect()
  }

  private failed = false

  private fail(err: Error): void {
    if (this.failed) return
    this.failed = true
    this.log.error({ err }, 'stage stopped for good: the broker refused it and retrying cannot help')
    this.options.onFatal?.(err instanceof ConfigError ? err : new ConfigError(err.message, { cause: err }))
  }

  /** This group's lag per input partition, for /metrics (asked at scrape time). */
  private readonly lagProbe = async (): Promise<
    Array<{ stage: string; group: string; topic: string; partition: number; lag: number }>
  > => {
    const admin = this.admin
    if (!admin) return []
    const out: Array<{ stage: string; group: string; topic: string; partition: number; lag: number }> = []
    for (const topic of this.stage.inputTopics) {
      const [ends, committed] = await Promise.all([
        admin.endOffsets(topic),
        admin.committedOffsets(this.stage.groupId, topic),
      ])
      for (const [partition, end] of ends) {
        const at = BigInt(committed.get(partition) ?? '-1')
        const lag = BigInt(end) - (at < 0n ? 0n : at)
        out.push({
          stage: this.stage.name,
          group: this.stage.groupId,
          topic,
          partition,
          lag: Number(lag < 0n ? 0n : lag),
        })
      }
    }
    return out
  }

  /** Finishes the batch in progress, commits it, leaves the group, closes producers. */
  async stop(): Promise<void> {
    this.options.metrics.lagProbes.delete(this.lagProbe)
    await this.consumer?.disconnect()
    this.consumer = undefined
    await Promise.all([...this.producers.values()].map((p) => p.disconnect().catch(() => undefined)))
    this.producers.clear()
    this.positions.clear()
    await this.admin?.disconnect().catch(() => undefined)
    this.admin = undefined
    this.log.info({}, 'stage stopped')
  }

  private onAssignment(assignment: Record<string, number[]>): void {
    const next = new Set<number>()
    for (const topic of this.stage.inputTopics) for (const p of assignment[topic] ?? []) next.add(p)
    for (const p of this.assigned) {
      if (next.has(p)) continue
      // Revoked: whoever owns it next restores it from the changelog.
      this.restored.delete(p)
      this.store?.drop(p)
      this.stage.hooks?.revoked?.(p)
      for (const topic of this.stage.inputTopics) void this.dropProducer(topic, p)
    }
    this.assigned = next
    this.log.info({ partitions: [...next].sort((a, b) => a - b) }, 'partitions assigned')
    if (this.store && this.stage.hooks?.restored && next.size > 0) {
      // A stage acting on its state by itself (timers) needs it before any record comes.
      const first = Math.min(...next)
      this.ensureRestored(first, EAGER_RESTORE).catch((err: unknown) => {
        this.log.warn({ err }, 'restore on assignment failed; it is retried with the first batch')
      })
    }
  }

  private async handleBatch(batch: RecordBatch, control: BatchControl): Promise<void> {
    if (batch.records.length === 0) return
    let attempts = 0
    try {
      await this.withRetries(
        control,
        async (attempt) => {
          attempts = attempt
          if (this.store) await this.ensureRestored(batch.partition, control)
          const from = await this.position(batch.topic, batch.partition)
          const records = batch.records.filter((r) => BigInt(r.offset) >= from)
          if (records.length < batch.records.length) {
            this.log.info(
              {
                topic: batch.topic,
                partition: batch.partition,
                skipped: batch.records.length - records.length,
                from: from.toString(),
              },
              'skipping redelivered records already committed',
            )
          }
          if (records.length === 0) return
          await this.processBatch({ ...batch, records }, control)
        },
        { topic: batch.topic, partition: batch.partition },
        'retriable error; retrying the batch',
      )
    } catch (err) {
      // A refused transactional id (TransactionalProducer throws it as a ConfigError).
      if (err instanceof ConfigError) this.fail(err)
      else
        this.log.error(
          { topic: batch.topic, partition: batch.partition, offset: batch.records[0]?.offset, attempt: attempts, err },
          'batch failed; the consumer restarts from the last commit',
        )
      throw err
    }
  }

  /**
   * Runs `operation` under the runner's backoff: retriable errors are retried (counted,
   * logged, the group heartbeated before each delay) while the consumer runs and attempts
   * remain; anything else is thrown at once.
   */
  private async withRetries(
    control: BatchControl,
    operation: (attempt: number) => Promise<void>,
    where: { topic: string; partition: number },
    message: string,
  ): Promise<void> {
    await retry(operation, {
      ...this.backoff,
      retriable: (err) => isRetriable(err) && control.isRunning(),
      onRetry: async ({ attempt, delayMs, err }) => {
        this.options.metrics.retries.inc({ stage: this.stage.name, code: errorCode(err) })
        this.log.warn({ ...where, attempt, delayMs, err }, message)
        await control.heartbeat().catch(() => undefined)
      },
    })
  }

  /**
   * Where processing of a partition resumes. The first time a partition is taken, its
   * transactional producer is initialised first: that waits until every earlier
   * transaction of the same id completed, so the committed offset read next is stable.
   */
  private async position(topic: string, partition: number): Promise<bigint> {
    const key = `${topic}/${partition}`
    let next = this.positions.get(key)
    if (next === undefined) {
      await this.producerFor(topic, partition)
      const committed = (await this.admin!.committedOffsets(this.stage.groupId, topic)).get(partition)
      next = committed === undefined || BigInt(committed) < 0n ? 0n : BigInt(committed)
      this.positions.set(key, next)
    }
    return next
  }

  private async processBatch(batch: RecordBatch, control: BatchControl): Promise<void> {
    const decoded = await this.decodeAll(batch.records)
    // A batch is committed in parts when its effects exceed the stage's bound; without
    // effects (or a bound) the whole batch is one part, one transaction.
    for (let start = 0; ;) {
      const next = await this.processPart(batch, decoded, start, control)
      if (next === undefined) return
      if (next >= decoded.length) break
      start = next
    }
    this.options.metrics.recordsIn.inc({ stage: this.stage.name, topic: batch.topic }, batch.records.length)
  }

  /**
   * Processes `decoded[start..]` up to the end of the batch or until the stage's bound of
   * effects is reached, and commits that part with its offsets. Returns where the next
   * part starts, or undefined when the partition was revoked (nothing committed).
   */
  private async processPart(
    batch: RecordBatch,
    decoded: DecodedRecord<I>[],
    start: number,
    control: BatchControl,
  ): Promise<number | undefined> {
    const { topic, partition } = batch
    const overlay = this.store ? new BatchOverlay<S>(this.store.partition(partition)) : undefined
    const state = overlay ?? (NO_STATE as StateView<S>)
    const out: OutRecord[] = []
    const kinds = new Map<string, number>()
    const deadLetters = new Map<string, number>()
    const effects: Array<{ record: InRecord; source: SourcePosition; effect: Effect<S> }> = []
    const maxEffects = this.stage.maxEffectsPerCommit ? Math.max(1, this.stage.maxEffectsPerCommit()) : Infinity

    const fail = async (record: InRecord, source: SourcePosition, err: unknown): Promise<void> => {
      if (isRetriable(err)) throw err
      const code = errorCode(err)
      deadLetters.set(code, (deadLetters.get(code) ?? 0) + 1)
      this.log.warn({ topic, partition, offset: record.offset, code, err }, 'record sent to the DLQ')
      out.push(await this.deadLetter(record, source, err))
    }
    /** Takes a result's outputs whole or not at all. */
    const take = async (result: StageResult<S>): Promise<void> => {
      const encoded = await Promise.all(result.emits.map((emit) => this.encode(emit)))
      out.push(...encoded)
      for (const change of result.state ?? []) overlay?.set(change)
      kinds.set(result.kind, (kinds.get(result.kind) ?? 0) + 1)
    }

    const abandon = () => {
      for (const e of effects) e.effect.abandon?.()
    }
    let end = decoded.length
    try {
      for (let i = start; i < decoded.length; i++) {
        const item = decoded[i]!
        const { record, source } = item
        if (!('input' in item)) {
          await fail(record, source, item.error)
          continue
        }
        try {
          // The lookahead: the batch's inputs after this one (also in later parts), built only when asked.
          const result = this.stage.process(item.input, {
            state,
            source,
            timestamp: Number(record.timestamp),
            now: this.now(),
            later: () => decoded.slice(i + 1).flatMap((d) => ('input' in d ? [d.input] : [])),
          })
          if (result.effect) {
            for (const change of result.effect.before) overlay?.set(change)
            effects.push({ record, source, effect: result.effect })
          } else {
            await take(result)
          }
        } catch (err) {
          await fail(record, source, err)
        }
        if (effects.length >= maxEffects && i + 1 < decoded.length) {
          end = i + 1
          break
        }
      }
    } catch (err) {
      abandon()
      throw err
    }

    if (control.isStale()) {
      // A rebalance took the partition: its next owner processes the batch again.
      this.log.info({ topic, partition }, 'partition revoked during the batch; not committing it')
      abandon()
      return undefined
    }
    if (effects.length > 0) {
      // Mark first, act second: once the marks are committed a crash cannot make the
      // effects run again, it can only leave marks for the next owner to find.
      const before = effects.flatMap((e) => e.effect.before)
      try {
        await this.commit(topic, partition, await this.stateRecords(partition, before), undefined)
      } catch (err) {
        abandon()
        throw err
      }
      this.store?.apply(partition, before)
      const results = await this.whileHeartbeating(control, Promise.all(effects.map((e) => e.effect.run())))
      for (const [i, result] of results.entries()) {
        const { record, source } = effects[i]!
        try {
          await take(result)
        } catch (err) {
          await fail(record, source, err)
        }
      }
    }
    out.push(...(await this.stateRecords(partition, overlay?.entries() ?? [])))

    // The last part also covers what was not decoded at the end (readers' barriers).
    const last = end === decoded.length ? batch.records[batch.records.length - 1]! : decoded[end - 1]!.record
    const started = performance.now()
    const offsets = { topic, partition, offset: nextOffset(last.offset) }
    if (effects.length === 0) {
      await this.commit(topic, partition, out, offsets)
    } else {
      // The effects ran: their results must be recorded, so a retriable failure is
      // retried here rather than by reprocessing the batch (which would find the marks).
      await this.commitWithRetries(topic, partition, out, offsets, control)
    }
    this.positions.set(`${topic}/${partition}`, BigInt(last.offset) + 1n)
    this.options.metrics.transactionSeconds.observe({ stage: this.stage.name }, (performance.now() - started) / 1000)
    if (overlay) {
      const changes = overlay.entries()
      this.store!.apply(partition, changes)
      this.stage.hooks?.committed?.(partition, changes)
    }

    const m = this.options.metrics
    const perTopic = new Map<string, number>()
    for (const record of out) perTopic.set(record.topic, (perTopic.get(record.topic) ?? 0) + 1)
    for (const [outTopic, n] of perTopic) m.recordsOut.inc({ stage: this.stage.name, topic: outTopic }, n)
    for (const [kind, n] of kinds) m.decisions.inc({ stage: this.stage.name, kind }, n)
    for (const [code, n] of deadLetters) m.deadLetters.inc({ stage: this.stage.name, code }, n)
    this.log.debug(
      { topic, partition, offset: last.offset, records: end - start, out: out.length, effects: effects.length },
      'batch committed',
    )
    return end
  }

  /** Decodes every record of a batch into the stage's input type; a record that does not decode carries its error. */
  private async decodeAll(records: InRecord[]): Promise<DecodedRecord<I>[]> {
    const decoded: DecodedRecord<I>[] = []
    for (const record of records) {
      // A reader's barrier (readTopicToBarrier: `nightshift trace`, `dlq list`) is no input.
      if (isBarrier(record)) continue
      const source: SourcePosition = { topic: record.topic, partition: record.partition, offset: record.offset }
      try {
        if (record.value === null) throw new PoisonRecordError('record has no value (a tombstone) on an input topic')
        decoded.push({
          record,
          source,
          input: (await this.options.registry.decodeAs(record.value, this.inputType)) as I,
        })
      } catch (err) {
        if (isRetriable(err)) throw err
        decoded.push({ record, source, error: err })
      }
    }
    return decoded
  }

  /** One transaction of the partition's producer: `records`, and the offsets when given. */
  private async commit(
    topic: string,
    partition: number,
    records: OutRecord[],
    offsets: OffsetToCommit | undefined,
  ): Promise<void> {
    const producer = await this.producerFor(topic, partition)
    try {
      await producer.run(async (tx) => {
        await tx.send(records)
        if (offsets) await tx.commitOffsets(this.stage.groupId, [offsets])
      })
    } catch (err) {
      // Fenced or broken: a fresh producer re-initialises (and fences any zombie).
      await this.dropProducer(topic, partition)
      throw err
    }
  }

  private async commitWithRetries(
    topic: string,
    partition: number,
    records: OutRecord[],
    offsets: OffsetToCommit,
    control: BatchControl,
  ): Promise<void> {
    let attempts = 0
    try {
      await this.withRetries(
        // Effects ran: their results are committed even while the consumer stops.
        { ...control, isRunning: () => true },
        async (attempt) => {
          attempts = attempt
          await this.commit(topic, partition, records, offsets)
        },
        { topic, partition },
        'retriable error committing effect results; retrying the commit',
      )
    } catch (err) {
      this.log.error(
        { topic, partition, attempt: attempts, err },
        'could not record the results of effects that ran; the next owner finds their marks and does not run them again',
      )
      throw err
    }
  }

  /** Keeps the group membership alive while slow work runs. */
  private async whileHeartbeating<T>(control: BatchControl, work: Promise<T>): Promise<T> {
    const beat = setInterval(() => void control.heartbeat().catch(() => undefined), 1000)
    try {
      return await work
    } finally {
      clearInterval(beat)
    }
  }

  private async stateRecords(partition: number, changes: ReadonlyArray<StateChange<S>>): Promise<OutRecord[]> {
    const spec = this.stage.state
    if (!spec) return []
    return Promise.all(changes.map((change) => this.stateRecord(spec.changelogTopic, spec.schema, partition, change)))
  }

  /**
   * Restores every assigned partition not restored yet, before any of their records. One
   * restore at a time: batches of several partitions may ask at once.
   */
  private async ensureRestored(partition: number, control: BatchControl): Promise<void> {
    while (!this.restored.has(partition)) {
      if (this.restoring) {
        await this.restoring.catch(() => undefined)
        continue
      }
      this.restoring = this.restore(partition, control)
      try {
        await this.restoring
      } finally {
        this.restoring = undefined
      }
    }
  }

  private async restore(partition: number, control: BatchControl): Promise<void> {
    const spec = this.stage.state!
    const wanted = [...new Set([...this.assigned, partition])].filter((p) => !this.restored.has(p))
    const started = performance.now()
    const barriers = new Map<number, string>()
    for (const p of wanted) {
      // The partition's transactional producer writes the barrier: initialising it fenced
      // any earlier owner, so the barrier comes after everything they committed.
      const producer = await this.producerFor(this.stage.inputTopics[0]!, p)
      const barrier = barrierRecord(spec.changelogTopic, p)
      await producer.run((tx) => tx.send([barrier]))
      barriers.set(p, barrier.key)
      this.store!.drop(p)
    }
    const restoredChanges = this.stage.hooks?.restored
      ? new Map(wanted.map((p) => [p, [] as StateChange<S>[]]))
      : undefined
    const entries = await restoreFromChangelog({
      kafka: this.options.kafka,
      registry: this.options.registry,
      changelogTopic: spec.changelogTopic,
      barriers,
      apply: (p, key, value) => {
        const change = { key, value: value as S | null }
        this.store!.apply(p, [change])
        restoredChanges?.get(p)?.push(change)
      },
      heartbeat: () => control.heartbeat(),
      timeoutMs: this.options.restoreTimeoutMs ?? 120000,
      logger: this.log,
    })
    for (const p of wanted) this.restored.add(p)
    for (const [p, changes] of restoredChanges ?? []) this.stage.hooks!.restored!(p, changes)
    this.options.metrics.restoredEntries.inc({ stage: this.stage.name }, entries)
    this.log.info(
      { partitions: wanted, entries, ms: Math.round(performance.now() - started) },
      'state restored from changelog',
    )
  }

  private async producerFor(topic: string, partition: number): Promise<TransactionalProducer> {
    const key = `${topic}/${partition}`
    let producer = this.producers.get(key)
    if (!producer) {
      // One transactional producer per input partition, with an id stable across
      // restarts and instances: the kafkajs-supported pattern, and what fences zombies.
      producer = await TransactionalProducer.connect(
        { ...this.options.kafka, clientId: `nightshift-${this.stage.name}` },
        `${this.stage.groupId}.${topic}.${partition}`,
      )
      this.producers.set(key, producer)
    }
    return producer
  }

  private async dropProducer(topic: string, partition: number): Promise<void> {
    const key = `${topic}/${partition}`
    const producer = this.producers.get(key)
    this.producers.delete(key)
    // Whether its last transaction committed is unknown: re-read after a fresh init.
    this.positions.delete(key)
    await producer?.disconnect().catch(() => undefined)
  }

  private async schemaId(topic: string, schema: string): Promise<number> {
    const cacheKey = `${topic}\u0000${schema}`
    let id = this.schemaIds.get(cacheKey)
    if (id === undefined) {
      id = await this.options.registry.idOf(valueSubject(topic), this.options.schemas.resolve(schema))
      this.schemaIds.set(cacheKey, id)
    }
    return id
  }

  private async encode(emit: Emit): Promise<OutRecord> {
    const id = await this.schemaId(emit.topic, emit.schema)
    let value: Buffer
    try {
      value = await this.options.registry.encode(id, emit.value)
    } catch (err) {
      throw new PoisonRecordError(`output for ${emit.topic} does not match ${emit.schema}: ${describeError(err)}`, {
        cause: err,
      })
    }
    const record: OutRecord = { topic: emit.topic, key: emit.key, value }
    if (emit.headers) record.headers = emit.headers
    return record
  }

  private async stateRecord(
    topic: string,
    schema: string,
    partition: number,
    change: StateChange<S>,
  ): Promise<OutRecord> {
    const value =
      change.value === null
        ? null
        : await this.options.registry.encode(await this.schemaId(topic, schema), change.value)
    return { topic, partition, key: change.key, value }
  }

  private async deadLetter(record: InRecord, source: SourcePosition, error: unknown): Promise<OutRecord> {
    const letter = deadLetterFor({
      stage: this.stage.name,
      error,
      source,
      key: record.key,
      value: record.value,
      headers: record.headers,
      failedAt: this.now(),
    })
    const id = await this.schemaId(this.options.dlqTopic, 'DeadLetter')
    return {
      topic: this.options.dlqTopic,
      key: record.key,
      value: await this.options.registry.encode(id, letter.value),
      headers: letter.headers,
    }
  }
}
