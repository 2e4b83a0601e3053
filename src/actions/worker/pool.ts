/**
 * Every action worker of one process: the pause board following `nightshift.control`,
 * one {@link ActionWorker} (one consumer group, `<prefix>nightshift-action-<name>`) per
 * action of topology/actions.yaml, and the producer revert results go through.
 */
import type { Registry as MetricsRegistry } from 'prom-client'
import type { SchemaSet } from '../../contracts/schemas'
import { RecordProducer, TopicTail, type KafkaSettings, type Registry } from '../../kafka'
import type { Logger } from '../../log'
import type { StageDefinition } from '../../runner/types'
import { actionTopic, type TopicNames } from '../../topology/names'
import type { ActionsConfig } from './actions-file'
import { ApprovalBoard, describeAnswer } from './approvals'
import { PauseBoard } from './control'
import { BudgetBoard } from '../../slo/board'
import type { SlosConfig } from '../../slo/slos'
import { createActionMetrics } from './metrics'
import { ActionWorker } from './worker'

/** What runs a stage definition (the app's shared runner factory). */
export interface StageStarter {
  start(): Promise<void>
  stop(): Promise<void>
}

export interface ActionWorkerPoolOptions {
  kafka: KafkaSettings
  registry: Registry
  schemas: SchemaSet
  topics: TopicNames
  prefix: string
  config: () => ActionsConfig
  /** Only these actions (default: every action of the file). */
  only?: readonly string[]
  /** Partition count of an action topic. */
  partitionsOf: (topic: string) => Promise<number>
  runner: (stage: StageDefinition<never, never>) => StageStarter
  metrics: MetricsRegistry
  logger: Logger
  env: Readonly<Record<string, string | undefined>>
  /** SLO definitions (slos.yaml), for budget gates; undefined when the file is absent. */
  slos: () => SlosConfig | undefined
}

/**
 * Starts and stops every action worker of one process, with what they share: the pause
 * board, the budget board, the producer of revert results and the metrics.
 */
export class ActionWorkerPool {
  private readonly log: Logger
  private readonly board: PauseBoard
  private readonly answers = new ApprovalBoard()
  private tail: TopicTail | undefined
  private budgetTail: TopicTail | undefined
  private readonly budgets: BudgetBoard
  private producer: RecordProducer | undefined
  private readonly running: Array<{ worker: ActionWorker; runner: StageStarter }> = []

  constructor(private readonly options: ActionWorkerPoolOptions) {
    this.log = options.logger.child({ module: 'action-workers' })
    this.board = new PauseBoard(options.logger)
    this.budgets = new BudgetBoard(options.registry, options.logger)
  }

  async start(): Promise<void> {
    const o = this.options
    const names = [...o.config().actions.keys()].filter((name) => !o.only || o.only.includes(name))
    // Pauses present now are honoured from the first request on.
    this.tail = await TopicTail.start({ ...o.kafka, clientId: 'nightshift-control' }, o.topics.control, (record) => {
      const change = this.board.apply(record)
      if (change.kind === 'paused')
        this.log.warn(
          { pause: change.pause.id, until: new Date(change.pause.until).toISOString(), reason: change.pause.reason },
          'pause in force',
        )
      else if (change.kind === 'lifted') this.log.info({ pause: change.key }, 'pause lifted')
      const answer = this.answers.apply(record)
      if (answer.kind === 'answered') {
        this.log.info({ approval: answer.answer.id, answer: describeAnswer(answer.answer) }, 'approval answered')
        for (const { worker } of this.running) worker.answered(answer.answer)
      } else if (answer.kind === 'late')
        this.log.info(
          { approval: answer.answer.id, first: describeAnswer(answer.first), late: describeAnswer(answer.answer) },
          'a later answer to an approval changes nothing',
        )
      else if (answer.kind === 'malformed')
        this.log.error({ key: answer.key, reason: answer.reason }, 'ignoring malformed approval answer')
    })
    try {
      await this.tail.caughtUp(60_000)
    } catch (err) {
      await this.tail.stop().catch(() => undefined)
      throw err
    }
    // Budgets for the gates: followed, not waited for (slo.budget is written in
    // transactions, whose last commit marker a reader never sees); the gate lets a
    // request through while its SLO's budget is not known yet.
    this.budgetTail = await TopicTail.start({ ...o.kafka, clientId: 'nightshift-budgets' }, o.topics.budget, (record) =>
      this.budgets.apply(record),
    )
    this.producer = await RecordProducer.connect({ ...o.kafka, clientId: 'nightshift-actions' })
    const metrics = createActionMetrics(o.metrics)
    for (const action of names) {
      const worker = new ActionWorker({
        action,
        groupId: `${o.prefix}nightshift-action-${action}`,
        prefix: o.prefix,
        topics: o.topics,
        config: o.config,
        pauses: { pauseFor: (request, now) => this.board.pauseFor(request, now) },
        answers: this.answers,
        registry: o.registry,
        schemas: o.schemas,
        writer: this.producer,
        metrics,
        logger: o.logger,
        env: o.env,
        partitions: await o.partitionsOf(`${o.prefix}${actionTopic(action)}`),
        slos: o.slos,
        budgets: this.budgets,
      })
      const runner = o.runner(worker.stage() as unknown as StageDefinition<never, never>)
      await runner.start()
      this.running.push({ worker, runner })
    }
    this.log.info({ actions: names, pauses: this.board.active(Date.now()).length }, 'action workers started')
  }

  async stop(): Promise<void> {
    const running = this.running.splice(0)
    for (const { worker } of running) worker.stop()
    await Promise.all(running.map(({ runner }) => runner.stop()))
    await Promise.all([this.tail?.stop(), this.budgetTail?.stop()])
    await this.producer?.disconnect()
  }
}
