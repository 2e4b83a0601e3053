/**
 * The action worker of one action: a stage of the one runner (src/runner) reading
 * `actions.<name>`, whose state is the action ledger and whose effect is the handler.
 *
 * Per request (decisions in decide.ts):
 *   ledger / pause / dry run / cancellation → an outcome without running anything; or
 *   the `started` mark is committed, then — holding a concurrency slot of the action and
 *   of the target service — the pause is checked again, the circuit of (action, service)
 *   admits or refuses it, and the handler runs with a time limit per attempt and retries
 *   with exponential backoff and jitter (attempts.ts); then the outcome, the `completed`
 *   entry, the escalation to `page` (when it failed or was refused) and the offsets are
 *   committed together (outcomes.ts).
 *
 * A crash between the two commits leaves `started` and no offset: the next owner finds
 * the mark and records the request as interrupted instead of running it again.
 *
 * `process` takes its time from the runner (`context.now`) and does no I/O. Besides its
 * arguments it reads the live resources of this worker — the actions file in force, the
 * pause and budget boards followed from their topics, and its register of requests in
 * flight (which it adds a request to when it plans a run) — and counts and logs the
 * outcomes it decides. Everything that waits or sizes (slots, circuits, the clock of a
 * run) is in the effect's `run`.
 *
 * Circuits are per worker process (all partitions of the action share them); caps are per
 * worker process too. Reverts (log-level) are kept in the ledger and run by timers (reverts.ts).
 */
import fs from 'node:fs'
import { performance } from 'node:perf_hooks'
import { outcomeFor, type OutcomeFields } from '../../contracts/outcome'
import type { ActionOutcomeRecord, ActionRequestRecord, LedgerEntry, SloBudgetRecord } from '../../contracts/records'
import type { SchemaSet } from '../../contracts/schemas'
import { describeError } from '../../errors'
import type { Registry } from '../../kafka'
import type { Logger } from '../../log'
import type { ProcessContext, StageDefinition, StageResult } from '../../runner/types'
import type { SlosConfig } from '../../slo/slos'
import { actionTopic, type TopicNames } from '../../topology/names'
import type { HandlerContext } from '../handlers/types'
import type { ActionConfig, ActionsConfig } from './actions-file'
import { runAttempts } from './attempts'
import { admit, circuitKey, record as recordCircuit, type Circuit } from './circuit'
import type { ApprovalAnswer } from './approvals'
import { holdOf, planRequest, withApproval, type ApprovalNote } from './decide'
import { Holds } from './holds'
import { requestGateReason } from './gate'
import { completedChange, ledgerKeyOf, runChanges, type LedgerChange } from './ledger'
import type { ActionMetrics } from './metrics'
import { OutcomeRecorder } from './outcomes'
import type { Pause, PausableRequest } from './pause'
import { Reverts, type PlainWriter } from './reverts'
import { Slots } from './slots'

/** What pauses the worker honours (the board following nightshift.control). */
export interface PauseSource {
  pauseFor(request: PausableRequest, now: number): Pause | undefined
}

/** The approval answers the worker acts on (the board following nightshift.control). */
export interface AnswerSource {
  answerFor(id: string): ApprovalAnswer | undefined
}

export interface ActionWorkerOptions {
  action: string
  groupId: string
  prefix: string
  topics: TopicNames
  /** The actions file in force (reloaded on change). */
  config: () => ActionsConfig
  pauses: PauseSource
  /** Approval answers (none: no answer ever comes; approvals time out). */
  answers?: AnswerSource
  registry: Registry
  schemas: SchemaSet
  writer: PlainWriter
  metrics: ActionMetrics
  logger: Logger
  /** Environment handlers read secrets from. */
  env: Readonly<Record<string, string | undefined>>
  partitions: number
  /** SLO definitions and budgets, for budget gates (none: nothing is gated). */
  slos?: () => SlosConfig | undefined
  budgets?: { get(slo: string): SloBudgetRecord | undefined }
  /** The clock of runs and reverts (decisions take the runner's `context.now`). */
  now?: () => number
  random?: () => number
}

/** The worker of one action: its stage definition, plus the revert timers it owns. */
export class ActionWorker {
  private readonly log: Logger
  private readonly now: () => number
  private readonly random: () => number
  private readonly circuits = new Map<string, Circuit>()
  private readonly slots: Slots
  private readonly outcomes: OutcomeRecorder
  private readonly reverts: Reverts
  private readonly holds: Holds
  /** Ledger keys whose handler this process is running (their `started` mark is ours, not a dead worker's). */
  private readonly running = new Set<string>()
  /** Artifacts folders created already (the folder may change with a config reload). */
  private readonly artifactDirs = new Set<string>()
  /** Aborted by {@link stop}: no retry or revert starts after it. */
  private readonly stopping = new AbortController()

  constructor(private readonly options: ActionWorkerOptions) {
    this.log = options.logger.child({ module: 'action-worker', action: options.action })
    this.now = options.now ?? Date.now
    this.random = options.random ?? Math.random
    const settings = this.current()?.settings
    this.slots = new Slots(settings?.concurrency ?? 1, settings?.perServiceConcurrency ?? 1)
    this.outcomes = new OutcomeRecorder({
      action: options.action,
      prefix: options.prefix,
      topics: options.topics,
      metrics: options.metrics,
      logger: this.log,
      escalateTo: () => this.current()?.settings.escalateTo ?? null,
    })
    this.reverts = new Reverts({
      action: options.action,
      topics: options.topics,
      registry: options.registry,
      schemas: options.schemas,
      writer: options.writer,
      metrics: options.metrics,
      logger: this.log,
      current: () => this.current(),
      context: () => this.handlerContext(),
      stopping: this.stopping.signal,
      now: this.now,
      random: this.random,
    })
    this.holds = new Holds({
      action: options.action,
      topic: `${options.prefix}${actionTopic(options.action)}`,
      registry: options.registry,
      schemas: options.schemas,
      writer: options.writer,
      metrics: options.metrics,
      logger: this.log,
      answerFor: (id) => options.answers?.answerFor(id),
      stopping: this.stopping.signal,
      now: this.now,
    })
  }

  /** An approval was answered: wakes the request it holds, if this worker holds it. */
  answered(answer: ApprovalAnswer): void {
    this.holds.answered(answer)
  }

  /** The stage the runner runs. */
  stage(): StageDefinition<ActionRequestRecord, LedgerEntry> {
    const o = this.options
    return {
      name: 'actions',
      groupId: o.groupId,
      inputTopics: [`${o.prefix}${actionTopic(o.action)}`],
      inputSchema: 'ActionRequest',
      state: { changelogTopic: o.topics.ledger, schema: 'LedgerEntry', maxEntries: 200_000, ttlMs: 14 * 24 * 3600_000 },
      concurrentPartitions: o.partitions,
      // A batch's requests are marked started in parts of the action's concurrency: a crash
      // then leaves at most that many per partition to be reported interrupted, not a batch.
      maxEffectsPerCommit: () => this.current()?.settings.concurrency ?? 1,
      hooks: {
        restored: (partition, entries) => {
          this.reverts.schedule(partition, entries)
          this.holds.schedule(partition, entries)
        },
        committed: (partition, changes) => {
          this.reverts.schedule(partition, changes)
          this.holds.schedule(partition, changes)
        },
        revoked: (partition) => {
          this.reverts.cancelPartition(partition)
          this.holds.cancelPartition(partition)
        },
      },
      process: (request, context) => this.process(request, context),
    }
  }

  /** Stops retries and revert timers (the next start finds the reverts in the ledger). */
  stop(): void {
    this.stopping.abort()
    this.reverts.stop()
    this.holds.stop()
  }

  private current(): ActionConfig | undefined {
    return this.options.config().actions.get(this.options.action)
  }

  private process(
    request: ActionRequestRecord,
    context: ProcessContext<LedgerEntry, ActionRequestRecord>,
  ): StageResult<LedgerEntry> {
    const { now } = context
    const file = this.options.config()
    const config = file.actions.get(this.options.action)
    if (!config) {
      const outcome = outcomeFor(request, {
        status: 'error',
        finishedAt: now,
        detail: `action ${this.options.action} is not configured in ${file.file}; not run`,
      })
      const ledger = [completedChange(request, request.idempotencyKey, outcome)]
      return this.outcomes.result(
        request,
        { ledger, outcome, escalate: undefined, followUps: [], reason: 'error' },
        now,
      )
    }
    const plan = planRequest({
      request,
      ledger: context.state,
      later: context.later,
      running: this.running.has(ledgerKeyOf(request, config.settings.onResolved)),
      pause: this.options.pauses.pauseFor(pausable(request, config), now),
      gated: this.gate(request, config, now),
      dryRun: { global: file.dryRun, action: config.settings.dryRun },
      describe: () => config.handler.describe(request),
      policy: {
        onResolved: config.settings.onResolved,
        escalateTo: config.settings.escalateTo,
        notEffectiveWindowMs: file.notEffectiveWindowMs,
      },
      hold: holdOf(request, config.settings.hold),
      answer: (id) => this.options.answers?.answerFor(id),
      now,
    })
    if (plan.kind === 'settled') return this.outcomes.result(request, plan, now)
    // Registered now, not when it runs: a copy later in this batch must find it running.
    this.running.add(plan.ledgerKey)
    return {
      emits: [],
      kind: 'run',
      effect: {
        before: [plan.mark, ...plan.ledger],
        run: () =>
          this.execute(request, plan.ledgerKey, plan.followUps, plan.approval).finally(() =>
            this.running.delete(plan.ledgerKey),
          ),
        abandon: () => this.running.delete(plan.ledgerKey),
      },
    }
  }

  /** Runs an admitted request: slots, pause re-check, circuit, attempts. Never rejects. */
  private async execute(
    request: ActionRequestRecord,
    ledgerKey: string,
    followUps: ActionOutcomeRecord[],
    approval: ApprovalNote | undefined,
  ): Promise<StageResult<LedgerEntry>> {
    const { action, metrics } = this.options
    const complete = (
      fields: OutcomeFields,
      escalate: string | undefined,
      extra: LedgerChange[] = [],
    ): StageResult<LedgerEntry> => {
      // The outcome is keyed like the ledger: a resolved notification that runs has its own.
      const outcome = outcomeFor(
        ledgerKey === request.idempotencyKey ? request : { ...request, idempotencyKey: ledgerKey },
        approval ? withApproval(fields, approval) : fields,
      )
      const ledger = [completedChange(request, ledgerKey, outcome), ...extra]
      return this.outcomes.result(request, { ledger, outcome, escalate, followUps, reason: outcome.status }, this.now())
    }
    try {
      const config = this.current()
      if (!config)
        return complete(
          {
            status: 'error',
            finishedAt: this.now(),
            detail: `action ${action} was removed from the actions file before it ran`,
          },
          undefined,
        )
      const service = request.alert.service
      // Sized here, where slots are taken, so a reloaded concurrency applies to the next run.
      this.slots.resize(config.settings.concurrency, config.settings.perServiceConcurrency)
      const release = await this.slots.acquire(service ?? '')
      metrics.inFlight.inc({ action })
      const began = performance.now()
      try {
        const pause = this.options.pauses.pauseFor(pausable(request, config), this.now())
        if (pause) {
          const detail = `paused before it started: ${pause.reason} (${pause.id})`
          return complete(
            { status: 'skipped_paused', finishedAt: this.now(), detail, output: { pause: pause.id } },
            pause.escalate ? detail : undefined,
          )
        }
        const gated = this.gate(request, config, this.now())
        if (gated !== undefined) return complete({ status: 'gated', finishedAt: this.now(), detail: gated }, gated)
        const key = circuitKey(action, service)
        const admission = admit(this.circuits.get(key), this.now(), config.settings.circuit)
        this.setCircuit(key, service, admission.circuit)
        if (!admission.allowed) {
          const detail = admission.reason ?? 'circuit open'
          return complete(
            { status: 'circuit_open', finishedAt: this.now(), detail },
            `${action} against ${service ?? 'an unknown service'} is failing: ${detail}`,
          )
        }
        const startedAt = this.now()
        const run = await runAttempts((context) => config.handler.run(request, context), {
          settings: config.settings,
          context: () => this.handlerContext(),
          stopping: this.stopping.signal,
          random: this.random,
          onAttempt: ({ result, timedOut }) =>
            metrics.attempts.inc({ action, result: result.ok ? 'ok' : timedOut ? 'timed_out' : 'failed' }),
          onRetry: ({ attempt, delayMs, value }) =>
            this.log.warn(
              { idempotencyKey: request.idempotencyKey, attempt, delayMs, detail: value?.result.detail },
              'attempt failed; retrying',
            ),
        })
        const { result } = run
        this.setCircuit(
          key,
          service,
          recordCircuit(this.circuits.get(key), result.ok ? 'success' : 'failure', this.now(), config.settings.circuit),
        )
        const finishedAt = this.now()
        const status = result.ok ? 'succeeded' : run.timedOut ? 'timed_out' : 'failed'
        const revert = config.handler.revert ? result.revert : undefined
        const output = { ...result.output }
        if (revert) output.revertAt = new Date(finishedAt + revert.afterMs).toISOString()
        const detail = result.ok
          ? result.detail
          : `${result.detail} (after ${run.attempts} attempt${run.attempts === 1 ? '' : 's'})`
        return complete(
          {
            status,
            finishedAt,
            startedAt,
            attempts: run.attempts,
            detail,
            output,
            ...(result.artifact ? { artifact: result.artifact } : {}),
          },
          result.ok ? undefined : `${action} ${status} after ${run.attempts} attempt(s): ${result.detail}`,
          runChanges(request, ledgerKey, { action, ok: result.ok, finishedAt, revert }),
        )
      } finally {
        release()
        metrics.inFlight.dec({ action })
        metrics.runSeconds.observe({ action }, (performance.now() - began) / 1000)
      }
    } catch (err) {
      // A bug in the worker, not the handler: recorded, never rethrown after the mark.
      this.log.error({ idempotencyKey: request.idempotencyKey, err }, 'action worker error')
      return complete(
        { status: 'error', finishedAt: this.now(), detail: `worker error: ${describeError(err)}` },
        `worker error: ${describeError(err)}`,
      )
    }
  }

  /** What every handler call is given besides its signal and time limit; creates the artifacts folder once. */
  private handlerContext(): Omit<HandlerContext, 'signal' | 'timeoutMs'> {
    const artifactsDir = this.options.config().artifactsDir
    if (!this.artifactDirs.has(artifactsDir)) {
      fs.mkdirSync(artifactsDir, { recursive: true })
      this.artifactDirs.add(artifactsDir)
    }
    return { artifactsDir, env: this.options.env }
  }

  private gate(request: ActionRequestRecord, config: ActionConfig, now: number): string | undefined {
    return requestGateReason(request, config.settings.gate, this.options.slos?.(), this.options.budgets, now)
  }

  private setCircuit(key: string, service: string | null, circuit: Circuit): void {
    this.circuits.set(key, circuit)
    this.options.metrics.circuitOpen.set(
      { action: this.options.action, service: service ?? '-' },
      circuit.state === 'closed' ? 0 : 1,
    )
  }
}

/** What a pause is matched against; `escalation` from the actions file in force (page: true). */
function pausable(request: ActionRequestRecord, config: Pick<ActionConfig, 'escalation'>): PausableRequest {
  return {
    team: request.alert.team,
    service: request.alert.service,
    action: request.action,
    labels: request.alert.alert.labels,
    escalation: config.escalation,
  }
}
