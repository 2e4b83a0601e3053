/**
 * A replay: `<prefix>alerts.raw` history between two record times sent again through
 * the current files, in a throwaway namespace, with every stage that decides (dedup,
 * enrich, ratelimit, route) and none that acts (no action workers: nothing runs), then
 * the fate of every replayed alert compared with the original run's.
 *
 * Steps, each shown on the progress stream: read the window of alerts.raw (and the
 * order the original rate limit saw it in), create the replay's topics under
 * `<prefix>replay-<time>-<random>.`, write the records there, run the stages in-process
 * until each has committed everything before it, read both runs' Decisions and action
 * requests, compare (src/replay/diff.ts), delete the replay's topics, consumer groups
 * and subjects (unless kept).
 *
 * The decisions are a function of the records alone: dedup and ratelimit use the
 * alert's receivedAt as time, route is stateless, and every Decision and ActionRequest
 * is timed by receivedAt. What a replay cannot reproduce is state from before the
 * window (it starts with empty dedup episodes and full token buckets) and the exact
 * interleaving of the original's partitions (see src/replay/order.ts).
 */
import { randomBytes, randomUUID } from 'node:crypto'
import path from 'node:path'
import { buildApp, type App } from '../app'
import type { Progress } from '../progress'
import { pause } from '../retry'
import { traceTopics } from '../trace/read'
import { kafkaSettings, type Endpoints } from '../config/endpoints'
import { readConfigFile } from '../config/yaml-file'
import type { ActionRequestRecord, AlertRecord, DecisionRecord, EnrichedAlertRecord } from '../contracts/records'
import { SchemaSet } from '../contracts/schemas'
import { ERROR_CODES, NightshiftError, PoisonRecordError, describeError } from '../errors'
import {
  BARRIER_KEY_PREFIX,
  KafkaAdmin,
  RecordProducer,
  Registry,
  isBarrier,
  readTopicToBarrier,
  readTopicWindow,
  type InRecord,
  type KafkaSettings,
  type OutRecord,
} from '../kafka'
import type { Logger } from '../log'
import { DEFAULT_DEDUP, dedupStage, type DedupStageSettings } from '../stages/dedup/stage'
import { parseCatalog, type Catalog } from '../stages/enrich/catalog'
import { enrichStage } from '../stages/enrich/stage'
import { parseLimits, type LimitsConfig } from '../stages/ratelimit/limits'
import { ratelimitStage } from '../stages/ratelimit/stage'
import { parseRoutesFile, type RouteTree } from '../stages/route/config'
import { routeStage } from '../stages/route/stage'
import { applyTopology } from '../topology/apply'
import { topicNames, type TopicNames } from '../topology/names'
import { loadTopicsFile, planTopology, type TopicsFile } from '../topology/topics-file'
import { notificationKey, replayDiff, requestSummary, type RunRecords } from './diff'
import { replayOrder, type RawNotification } from './order'
import type { ReplayReport } from './report'
import { replayTopology } from './topology'
import { replayPrefix as makeReplayPrefix, type ReplayWindow } from './window'

/** The stages a replay runs, in pipeline order: every stage that decides, none that acts. */
export const REPLAY_STAGES = ['dedup', 'enrich', 'ratelimit', 'route'] as const

/**
 * How far before the window the original run's records are read: a Decision is written
 * after the raw record it is about, but by another process, whose clock may be behind.
 */
export const CLOCK_SKEW_MARGIN_MS = 10 * 60_000

/**
 * Replayed records per produce request, by count and by bytes: a request must stay
 * under the broker's message.max.bytes (ingest keeps each record under 1 MB).
 */
const SEND_CHUNK_RECORDS = 500
const SEND_CHUNK_BYTES = 512 * 1024

export interface ReplayOptions {
  endpoints: Endpoints
  logger: Logger
  /** Prefix of the run whose alerts.raw is replayed and compared with (empty in production). */
  prefix: string
  window: ReplayWindow
  /**
   * True when `window.to` is "now" (no --to): every record up to the end offsets is
   * read, whatever its timestamp; otherwise records at or after `window.to` are not.
   */
  openEnded?: boolean
  /** Folder of topics.yaml, catalog.yaml, limits.yaml and routes.yaml the replay runs with. */
  configDir: string
  /** Keep the replay's topics (for `nightshift tail --prefix` / `trace --prefix`). */
  keep?: boolean
  /** Dedup settings of the replay (default: `nightshift run`'s). */
  dedup?: DedupStageSettings
  progress: Progress
  /** How long the replay stages may make no progress before the replay gives up (default 2 min). */
  stallTimeoutMs?: number
  /** How long reading one topic may take (default 5 min). */
  readTimeoutMs?: number
  /** Consumer group session timeout of the replay stages. */
  sessionTimeoutMs?: number
  /** Clock and random part of the replay prefix (tests). */
  now?: () => number
  random?: () => string
}

/** The Kafka and registry clients of one replay. */
interface Clients {
  settings: KafkaSettings
  registry: Registry
  admin: KafkaAdmin
}

/** The files the replay runs with, validated before anything is created, so a bad file costs nothing. */
function loadConfig(configDir: string): { schemas: SchemaSet; topology: TopicsFile } {
  const schemas = SchemaSet.load()
  const topology = loadTopicsFile(schemas, path.join(configDir, 'topics.yaml'))
  const parse = <T>(file: string, what: string, parser: (text: string, file: string) => T): T =>
    parser(readConfigFile(path.join(configDir, file), what), path.join(configDir, file))
  parse<Catalog>('catalog.yaml', 'service catalog', parseCatalog)
  parse<LimitsConfig>('limits.yaml', 'rate limits file', parseLimits)
  parse<RouteTree>('routes.yaml', 'routes file', (text, file) => parseRoutesFile(text, file, topology.actions))
  return { schemas, topology }
}

/**
 * The consumer group and input topics of each replay stage, as the stage definitions
 * name them (their config callbacks are never called here): one entry per input topic.
 */
function replayStageInputs(
  topics: TopicNames,
  prefix: string,
): Array<{ name: string; groupId: string; input: string }> {
  const unused = (): never => {
    throw new Error('not called: only the group id and input topic are read')
  }
  const definitions = [
    dedupStage(topics, prefix),
    enrichStage(topics, prefix, unused),
    ratelimitStage(topics, prefix, unused, { partitions: 1 }),
    routeStage(topics, prefix, unused),
  ]
  // Route reads alerts.throttled too (escalations and throttle notices): wait for each input.
  return definitions.flatMap((d) => d.inputTopics.map((input) => ({ name: d.name, groupId: d.groupId, input })))
}

/** Decodes a record value, or undefined (counted) when it is not a record of ours. */
async function decodeOrSkip(registry: Registry, record: InRecord, skipped: { count: number }): Promise<unknown> {
  if (record.value === null) return undefined
  try {
    return await registry.decode(record.value)
  } catch (err) {
    if (!(err instanceof PoisonRecordError)) throw err
    skipped.count += 1
    return undefined
  }
}

/** The alerts.raw records of the window, decoded. */
async function readWindow(
  clients: Clients,
  topic: string,
  options: ReplayOptions,
): Promise<{ notifications: Array<RawNotification & { record: InRecord; alert: AlertRecord }>; undecodable: number }> {
  const { window, progress } = options
  const records = await readTopicWindow(clients.settings, topic, {
    since: window.from,
    ...(options.openEnded ? {} : { until: window.to }),
    idleTimeoutMs: options.readTimeoutMs ?? 300_000,
    onProgress: (read, total) => progress.update(read, total, 'records'),
  })
  const skipped = { count: 0 }
  const notifications: Array<RawNotification & { record: InRecord; alert: AlertRecord }> = []
  for (const record of records) {
    const timestamp = Number(record.timestamp)
    // Offsets by timestamp bound the read; a record's own time decides (timestamps need not grow with offsets).
    if (
      record.value === null ||
      isBarrier(record) ||
      timestamp < window.from ||
      (!options.openEnded && timestamp >= window.to)
    )
      continue
    const alert = (await decodeOrSkip(clients.registry, record, skipped)) as AlertRecord | undefined
    if (alert === undefined || typeof alert.fingerprint !== 'string' || typeof alert.receivedAt !== 'number') {
      if (alert !== undefined) skipped.count += 1
      continue
    }
    notifications.push({ record, alert, partition: record.partition, offset: record.offset, timestamp })
  }
  return { notifications, undecodable: skipped.count }
}

/** Offsets on the original alerts.enriched of the window's notifications: the order the original rate limit saw them in. */
async function originalOrder(clients: Clients, topic: string, options: ReplayOptions): Promise<Map<string, bigint>> {
  const records = await readTopicToBarrier(clients.settings, topic, {
    since: options.window.from - CLOCK_SKEW_MARGIN_MS,
    timeoutMs: options.readTimeoutMs ?? 300_000,
  })
  const offsets = new Map<string, bigint>()
  const skipped = { count: 0 }
  for (const record of records) {
    const value = (await decodeOrSkip(clients.registry, record, skipped)) as EnrichedAlertRecord | undefined
    const alert = value?.alert
    if (!alert || typeof alert.receivedAt !== 'number') continue
    const key = notificationKey(alert, alert.receivedAt)
    if (!offsets.has(key)) offsets.set(key, BigInt(record.offset))
  }
  return offsets
}

/** Writes the notifications to the replay's alerts.raw, in order: key, value, headers and timestamp as they were. */
async function sendReplay(
  clients: Clients,
  topic: string,
  notifications: ReadonlyArray<{ record: InRecord }>,
  progress: Progress,
): Promise<void> {
  const producer = await RecordProducer.connect(clients.settings)
  try {
    let chunk: OutRecord[] = []
    let bytes = 0
    let sent = 0
    const flush = async () => {
      await producer.send(chunk)
      sent += chunk.length
      progress.update(sent, notifications.length, 'records')
      chunk = []
      bytes = 0
    }
    for (const { record } of notifications) {
      const size = (record.value?.length ?? 0) + (record.key?.length ?? 0)
      if (chunk.length > 0 && (chunk.length >= SEND_CHUNK_RECORDS || bytes + size > SEND_CHUNK_BYTES)) await flush()
      chunk.push({
        topic,
        key: record.key,
        value: record.value,
        headers: { ...record.headers, [REPLAY_OF_HEADER]: `${record.topic}/${record.partition}:${record.offset}` },
        timestamp: record.timestamp,
      })
      bytes += size
    }
    if (chunk.length > 0) await flush()
  } finally {
    await producer.disconnect().catch(() => undefined)
  }
}

/** Header of every replayed record: `<topic>/<partition>:<offset>` of the original. */
export const REPLAY_OF_HEADER = 'nightshift-replay-of'

/**
 * Waits until each replay stage, in pipeline order, has committed everything on its
 * input. A barrier (a tombstone the runner skips but commits past) is appended to every
 * partition of the input once the stage before has finished, so "committed offset ≥
 * end offset" holds exactly when the stage is done, also on inputs written in
 * transactions, whose commit markers take offsets no consumer is handed.
 * @throws NightshiftError when a stage's committed offsets do not move for `stallTimeoutMs`.
 */
async function waitForStages(
  clients: Clients,
  stages: ReadonlyArray<{ name: string; groupId: string; input: string }>,
  progress: Progress,
  stallTimeoutMs: number,
): Promise<void> {
  const producer = await RecordProducer.connect(clients.settings)
  try {
    for (const stage of stages) {
      const partitions = [...(await clients.admin.endOffsets(stage.input)).keys()]
      await producer.send(
        partitions.map((partition) => ({
          topic: stage.input,
          partition,
          key: `${BARRIER_KEY_PREFIX}replay/${randomUUID()}`,
          value: null,
        })),
      )
      const ends = new Map([...(await clients.admin.endOffsets(stage.input))].map(([p, end]) => [p, BigInt(end)]))
      const total = [...ends.values()].reduce((sum, end) => sum + end, 0n)
      let last = -1n
      let lastMoved = Date.now()
      for (;;) {
        const committed = await clients.admin.committedOffsets(stage.groupId, stage.input)
        let done = 0n
        const behind: string[] = []
        for (const [partition, end] of ends) {
          const at = BigInt(committed.get(partition) ?? '-1')
          done += at < 0n ? 0n : at > end ? end : at
          if (at < end) behind.push(`partition ${partition} at ${at < 0n ? 'no commit' : at} of ${end}`)
        }
        progress.update(Number(done), Number(total), `${stage.name} (${stage.input})`)
        if (behind.length === 0) break
        if (done !== last) {
          last = done
          lastMoved = Date.now()
        } else if (Date.now() - lastMoved > stallTimeoutMs) {
          throw new NightshiftError(
            ERROR_CODES.KAFKA,
            `the replay's ${stage.name} stage made no progress on ${stage.input} for ${Math.round(stallTimeoutMs / 1000)} s (${behind.join(', ')}); run with --log-level info to see why`,
          )
        }
        await pause(200)
      }
    }
  } finally {
    await producer.disconnect().catch(() => undefined)
  }
}

/** Decisions and action requests of the run under `prefix`, from `since` on (all when undefined). */
async function runRecords(
  clients: Clients,
  prefix: string,
  since: number | undefined,
  readTimeoutMs: number,
  logger: Logger,
): Promise<RunRecords> {
  const topics = (await traceTopics(clients.settings, prefix)).filter(
    (t) => t.role === 'decisions' || t.role === 'action',
  )
  const skipped = { count: 0 }
  const read = await Promise.all(
    topics.map(async ({ role, topic }) => ({
      role,
      records: await readTopicToBarrier(clients.settings, topic, {
        timeoutMs: readTimeoutMs,
        ...(since === undefined ? {} : { since }),
      }),
    })),
  )
  const decisions: DecisionRecord[] = []
  const requests: RunRecords['requests'][number][] = []
  for (const { role, records } of read) {
    for (const record of records) {
      const value = await decodeOrSkip(clients.registry, record, skipped)
      if (value === undefined) continue
      if (role === 'decisions') decisions.push(value as DecisionRecord)
      else requests.push(requestSummary(value as ActionRequestRecord))
    }
  }
  if (skipped.count > 0)
    logger.warn(
      { prefix, records: skipped.count },
      'records of the decisions or action topics do not decode; left out of the comparison',
    )
  return { decisions, requests }
}

/** Catalog service by fingerprint, as the replay's enrich stage found it. */
async function replayServices(
  clients: Clients,
  topic: string,
  readTimeoutMs: number,
): Promise<Map<string, string | null>> {
  const services = new Map<string, string | null>()
  const skipped = { count: 0 }
  for (const record of await readTopicToBarrier(clients.settings, topic, { timeoutMs: readTimeoutMs })) {
    const value = (await decodeOrSkip(clients.registry, record, skipped)) as EnrichedAlertRecord | undefined
    if (value?.alert) services.set(value.alert.fingerprint, value.service)
  }
  return services
}

/** Deletes what a replay created; returns what could not be deleted, one sentence each. */
async function cleanUp(
  clients: Clients,
  replayPrefix: string,
  groups: string[],
  subjects: string[],
): Promise<string[]> {
  const problems: string[] = []
  try {
    const topics = (await clients.admin.listTopics()).filter((t) => t.startsWith(replayPrefix))
    await clients.admin.deleteTopics(topics)
  } catch (err) {
    problems.push(`could not delete the topics under prefix ${replayPrefix}: ${describeError(err)}`)
  }
  try {
    await clients.admin.deleteGroupsIfPresent(groups)
  } catch (err) {
    problems.push(describeError(err))
  }
  for (const subject of subjects) {
    try {
      await clients.registry.deleteSubject(subject)
    } catch (err) {
      problems.push(`could not delete subject ${subject}: ${describeError(err)}`)
    }
  }
  return problems
}

/**
 * Replays `<prefix>alerts.raw` of the window through the files of `configDir` and
 * compares every replayed alert's fate with the original run's. Nothing is created when
 * the window holds no record. The replay's topics, consumer groups and subjects are
 * deleted afterwards, also on failure, unless `keep`.
 * @throws ConfigError for a bad file of `configDir` or a missing topic of the original
 *   run; RetriableError when Kafka or the registry cannot be reached; NightshiftError
 *   when the replay stages stall.
 */
export async function runReplay(options: ReplayOptions): Promise<ReplayReport> {
  const { progress, window } = options
  const now = options.now ?? Date.now
  const readTimeoutMs = options.readTimeoutMs ?? 300_000
  const log = options.logger.child({ module: 'replay' })
  const names = topicNames(options.prefix)
  const { schemas, topology } = loadConfig(options.configDir)
  const base = {
    prefix: options.prefix,
    topic: names.raw,
    window,
    configDir: options.configDir,
    kept: false,
    cleanupProblems: [] as string[],
  }

  const registry = new Registry(options.endpoints.registryUrl, options.endpoints.registryAccess)
  await registry.ping()
  const settings: KafkaSettings = kafkaSettings(options.endpoints, 'nightshift-replay', options.logger)
  const clients: Clients = { settings, registry, admin: await KafkaAdmin.connect(settings) }
  let step = ''
  const begin = (message: string) => {
    step = message
    progress.step(message)
  }
  // The step that failed is reported once, when it fails, before the clean-up steps.
  let reported = false
  const failStep = (err: unknown) => {
    if (!reported) progress.fail(`${step}: ${describeError(err)}`)
    reported = true
  }
  try {
    begin(`reading ${names.raw} from ${new Date(window.from).toISOString()} to ${new Date(window.to).toISOString()}`)
    const { notifications, undecodable } = await readWindow(clients, names.raw, options)
    if (undecodable > 0)
      log.warn(
        { topic: names.raw, records: undecodable },
        'records of the window do not decode as an Alert; not replayed',
      )
    if (notifications.length === 0) {
      progress.done(`no records on ${names.raw} in the window`)
      return { ...base, replayed: 0, undecodable }
    }
    progress.done(`read ${notifications.length} records of ${names.raw}`)

    begin(`reading the order the original rate limit saw them in (${names.enriched})`)
    const ordered = replayOrder(notifications, await originalOrder(clients, names.enriched, options))

    const replayPrefix = makeReplayPrefix(options.prefix, now(), options.random?.() ?? randomBytes(3).toString('hex'))
    const replayNames = topicNames(replayPrefix)
    const stages = replayStageInputs(replayNames, replayPrefix)
    const replayTopics = replayTopology(
      topology,
      ordered.reduce((min, n) => Math.min(min, n.timestamp), Infinity),
      now(),
    )
    const subjects = planTopology(replayTopics, replayPrefix).subjects.map((s) => s.subject)
    // One partition now holds what the original spread over several: as much room for episodes.
    const rawPartitions = (await clients.admin.describeTopics([names.raw])).get(names.raw)?.partitions ?? 1
    const dedup = options.dedup ?? DEFAULT_DEDUP
    let app: App | undefined
    // Stopping the stages takes a fetch wait (seconds): it runs while the results are read.
    let stopping: Promise<void> | undefined
    const stopApp = () => {
      const running = app
      app = undefined
      stopping ??= running?.stop().catch((err: unknown) => log.warn({ err }, 'stopping the replay stages failed'))
    }
    try {
      begin(`creating the replay topics under ${replayPrefix}`)
      await applyTopology({
        admin: clients.admin,
        registry,
        schemas,
        topology: replayTopics,
        prefix: replayPrefix,
        logger: options.logger,
      })

      begin(`replaying ${ordered.length} records into ${replayNames.raw}`)
      await sendReplay(clients, replayNames.raw, ordered, progress)

      begin(`starting ${REPLAY_STAGES.join(', ')} (no action stage: nothing runs)`)
      app = buildApp({
        endpoints: options.endpoints,
        logger: options.logger,
        stages: REPLAY_STAGES,
        prefix: replayPrefix,
        configDir: options.configDir,
        dedup: { ...dedup, maxEntries: dedup.maxEntries * rawPartitions },
        ...(options.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: options.sessionTimeoutMs }),
      })
      await app.start()

      begin('waiting for the stages to catch up')
      await waitForStages(clients, stages, progress, options.stallTimeoutMs ?? 120_000)
      stopApp()

      begin('comparing with the original run')
      const [before, after, services] = await Promise.all([
        runRecords(clients, options.prefix, window.from - CLOCK_SKEW_MARGIN_MS, readTimeoutMs, log),
        runRecords(clients, replayPrefix, undefined, readTimeoutMs, log),
        replayServices(clients, replayNames.enriched, readTimeoutMs),
      ])
      const diff = replayDiff({
        alerts: ordered.map((n) => n.alert),
        before,
        after,
        services,
        windowStart: window.from,
      })
      progress.done(`compared ${diff.alerts} alerts: ${diff.changed.length} changed fate`)
      return { ...base, replayed: ordered.length, undecodable, replayPrefix, kept: options.keep === true, diff }
    } catch (err) {
      failStep(err)
      throw err
    } finally {
      stopApp()
      await stopping
      if (options.keep) {
        progress.note(`replay topics kept under prefix ${replayPrefix}`)
      } else {
        begin(`deleting the replay topics, consumer groups and subjects under ${replayPrefix}`)
        const problems = await cleanUp(
          clients,
          replayPrefix,
          stages.map((s) => s.groupId),
          subjects,
        )
        for (const p of problems) {
          log.warn({ replayPrefix }, p)
          progress.note(`warning: ${p}`)
        }
        base.cleanupProblems.push(...problems)
        progress.done()
      }
    }
  } catch (err) {
    failStep(err)
    throw err
  } finally {
    await clients.admin.disconnect().catch(() => undefined)
  }
}
