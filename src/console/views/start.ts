/**
 * The console's views on the real topics: one TopicTail per topic (a throwaway group,
 * from the beginning, every start), records decoded with the registry in log order and
 * folded into a {@link ConsoleViewState}.
 *
 * `startConsoleViews` checks the topics and takes their end offsets, starts the tails and
 * returns at once: the page shows {@link ConsoleViews.progress} while the views rebuild.
 * A topic is caught up when its end offsets at start are read, or one offset short of
 * them (a transaction's commit marker, which a read_committed reader never sees; see
 * progress.ts) once nothing arrived for `markerGraceMs`, or when nothing arrived for
 * `idleTimeoutMs` at all (an aborted transaction at the end, a partition emptied by
 * retention), which is logged with the partitions still behind.
 */
import { ConfigError, PoisonRecordError, describeError } from '../../errors'
import { WAKE_HEADER } from '../../actions/worker/holds'
import type { ActionOutcomeRecord, ActionRequestRecord, DecisionRecord, SloBudgetRecord } from '../../contracts/records'
import { KafkaAdmin, TopicTail, isBarrier, type InRecord, type KafkaSettings, type Registry } from '../../kafka'
import type { Logger } from '../../log'
import { retry } from '../../retry'
import type { ConsoleViews } from '../types'
import { ConsoleViewState, type ViewLimits, type ViewTopics } from './state'

/** How the views decide they are caught up when the end offsets are not reached exactly. */
export interface CatchUpSettings {
  /** All partitions one offset short and nothing new for this long: caught up (default 1 s). */
  markerGraceMs: number
  /** Nothing new for this long: caught up anyway, with a warning (default 20 s). */
  idleTimeoutMs: number
}

export const DEFAULT_CATCH_UP: Readonly<CatchUpSettings> = Object.freeze({ markerGraceMs: 1000, idleTimeoutMs: 20_000 })

export interface ConsoleViewsOptions {
  kafka: KafkaSettings
  registry: Registry
  topics: ViewTopics
  logger: Logger
  limits?: Partial<ViewLimits>
  catchUp?: Partial<CatchUpSettings>
}

/** The views, running; `stop` leaves every tail's group. */
export type RunningConsoleViews = ConsoleViews & { stop(): Promise<void> }

/**
 * Starts following the four topics and returns the views at once (rebuilding).
 * @throws ConfigError when a topic does not exist (the topology was not applied);
 *   RetriableError when Kafka cannot be reached for the end offsets.
 */
export async function startConsoleViews(options: ConsoleViewsOptions): Promise<RunningConsoleViews> {
  const { topics, logger } = options
  const settings: KafkaSettings = { ...options.kafka, clientId: `${options.kafka.clientId}-console` }
  const catchUp = { ...DEFAULT_CATCH_UP, ...options.catchUp }
  const views = new LiveConsoleViews(topics, logger, options.limits)
  const fixed = [topics.outcomes, topics.decisions, topics.control, topics.budget]
  const admin = await KafkaAdmin.connect(settings)
  let all = fixed
  try {
    const existing = new Set(await admin.listTopics())
    const missing = fixed.filter((t) => !existing.has(t))
    if (missing.length > 0)
      throw new ConfigError(
        `the console views need ${missing.join(', ')}; run \`nightshift topology apply\` (with the same --prefix)`,
      )
    // Every action topic there is (`<prefix>actions.<name>`): the requests' params and labels.
    const actionPrefix = topics.outcomes.slice(0, -'outcomes'.length)
    const actions =
      topics.actions ?? [...existing].filter((t) => t.startsWith(actionPrefix) && t !== topics.outcomes).sort()
    views.addActionTopics(actions)
    all = [...fixed, ...actions]
    // Right after a topic is created the broker may not lead its partitions yet
    // (NOT_LEADER_FOR_PARTITION, retriable), as TopicTail's own ListOffsets knows.
    for (const topic of all)
      views.begin(topic, await retry(() => admin.endOffsets(topic), { initialMs: 250, maxMs: 1000, maxAttempts: 20 }))
  } finally {
    await admin.disconnect()
  }
  const apply = folders(views, options.registry)
  // nightshift.control is written without transactions (CLI, HTTP, Slack): read exactly to its end.
  for (const topic of all)
    views.follow(new ViewFollower(settings, topic, apply.get(topic)!, views, catchUp, logger, topic !== topics.control))
  return views
}

/** How each topic's records are decoded and folded. */
function folders(views: ConsoleViewState, registry: Registry): Map<string, (record: InRecord) => Promise<void>> {
  const at = (r: InRecord) => ({
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: Number(r.timestamp),
  })
  const { topics } = views
  const request = async (r: InRecord) =>
    views.request((await registry.decode(r.value!)) as ActionRequestRecord, at(r), r.headers[WAKE_HEADER])
  return new Map<string, (record: InRecord) => Promise<void>>([
    ...views.actionTopics().map((topic) => [topic, request] as const),
    [topics.outcomes, async (r) => views.outcome((await registry.decode(r.value!)) as ActionOutcomeRecord, at(r))],
    [topics.decisions, async (r) => views.decision((await registry.decode(r.value!)) as DecisionRecord, at(r))],
    [topics.control, async (r) => views.control(r)],
    [
      topics.budget,
      async (r) =>
        views.budget(
          r.key!.toString('utf8'),
          r.value === null ? null : ((await registry.decode(r.value)) as SloBudgetRecord),
          at(r),
        ),
    ],
  ])
}

class LiveConsoleViews extends ConsoleViewState {
  private readonly followers: ViewFollower[] = []

  follow(follower: ViewFollower): void {
    this.followers.push(follower)
    follower.start()
  }

  async stop(): Promise<void> {
    await Promise.all(this.followers.splice(0).map((f) => f.stop()))
  }
}

/**
 * Reads one topic into the views: records are queued as the tail hands them out and
 * applied one after the other (decoding is asynchronous, the order must hold).
 */
class ViewFollower {
  private queue: InRecord[] = []
  private draining = false
  /** Next offset to apply per partition: a restarted tail's repeats are dropped. */
  private readonly next = new Map<number, bigint>()
  private lastAt = Date.now()
  private tail: TopicTail | undefined
  private timer: NodeJS.Timeout | undefined
  private readonly abort = new AbortController()
  private readonly log: Logger
  private starting: Promise<void> = Promise.resolve()

  constructor(
    private readonly settings: KafkaSettings,
    readonly topic: string,
    private readonly fold: (record: InRecord) => Promise<void>,
    private readonly views: ConsoleViewState,
    private readonly catchUp: CatchUpSettings,
    logger: Logger,
    /** Written in transactions: its partitions may end with a commit marker. */
    private readonly transactional: boolean,
  ) {
    this.log = logger.child({ module: 'console-views', topic })
  }

  start(): void {
    const signal = this.abort.signal
    this.starting = retry(() => TopicTail.start(this.settings, this.topic, (record) => this.receive(record)), {
      initialMs: 500,
      maxMs: 30_000,
      signal,
      onRetry: ({ attempt, err }) => this.log.warn({ attempt, err }, 'could not start reading; trying again'),
    }).then(
      async (tail) => {
        if (signal.aborted) return tail.stop()
        this.tail = tail
        this.lastAt = Date.now()
        this.timer = setInterval(() => this.tick(), Math.min(250, this.catchUp.markerGraceMs))
        this.timer.unref()
      },
      (err: unknown) => {
        if (!signal.aborted) this.log.error({ err }, 'could not start reading; this view stays incomplete')
      },
    )
  }

  async stop(): Promise<void> {
    this.abort.abort()
    clearInterval(this.timer)
    await this.starting
    await this.tail?.stop()
  }

  private receive(record: InRecord): void {
    const offset = BigInt(record.offset)
    if (offset < (this.next.get(record.partition) ?? 0n)) return
    this.next.set(record.partition, offset + 1n)
    this.lastAt = Date.now()
    this.queue.push(record)
    if (!this.draining) void this.drain()
  }

  private async drain(): Promise<void> {
    this.draining = true
    try {
      while (this.queue.length > 0 && !this.abort.signal.aborted) {
        const batch = this.queue
        this.queue = []
        for (const record of batch) {
          if (this.abort.signal.aborted) return
          await this.applyOne(record)
        }
      }
    } finally {
      this.draining = false
    }
  }

  /** Applies one record, trying again while the registry cannot be reached; a poison record is skipped. */
  private async applyOne(record: InRecord): Promise<void> {
    const position = { partition: record.partition, offset: record.offset }
    const key = record.key?.toString('utf8') ?? ''
    // Barriers (read and restore barriers: NUL-prefixed keys) are no one's records; a
    // tombstone means something only on the compacted control and budget topics.
    const tombstoneMeans = this.topic === this.views.topics.control || this.topic === this.views.topics.budget
    if (isBarrier(record) || key.startsWith('\u0000') || (record.value === null && !tombstoneMeans)) {
      this.views.skipped(this.topic, position)
      return
    }
    try {
      await retry(() => this.fold(record), {
        initialMs: 200,
        maxMs: 10_000,
        signal: this.abort.signal,
        onRetry: ({ attempt, err }) =>
          this.log.warn({ attempt, err, ...position }, 'could not decode a record; trying again'),
      })
    } catch (err) {
      if (this.abort.signal.aborted) return
      // Applying it again would fail the same way and stall the view, as in TopicTail.
      if (err instanceof PoisonRecordError)
        this.log.warn({ ...position, reason: describeError(err) }, 'skipping an undecodable record')
      else this.log.error({ ...position, err }, 'could not apply a record; record skipped')
      this.views.skipped(this.topic, position)
    }
  }

  private tick(): void {
    const progress = this.views.topicProgress(this.topic)
    if (progress.caughtUp) {
      clearInterval(this.timer)
      return
    }
    if (this.draining || this.queue.length > 0) return
    const idle = Date.now() - this.lastAt
    if (this.transactional && progress.nearly() && idle >= this.catchUp.markerGraceMs) {
      if (this.views.forceCaughtUp(this.topic))
        this.log.info(
          { read: progress.view().read, target: progress.view().target },
          'console view caught up (up to the last commit markers)',
        )
    } else if (idle >= this.catchUp.idleTimeoutMs) {
      if (this.views.forceCaughtUp(this.topic))
        this.log.warn(
          { behind: progress.behind(), idleMs: idle },
          'console view counted as caught up: nothing arrived for a while short of the end offsets at start',
        )
    }
  }
}
