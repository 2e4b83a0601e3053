/**
 * The action worker of one action: a stage of the one runner (src/runner) reading
 * `actions.<name>`, whose state is the action ledger and whose effect is the handler.
 *
 * Per request (decisions in decide.ts):
 *   ledger / pause / dry run / cancellation → an outcome without running anything; or
 *   the `started` mark is committed, then — holding a concurrency slot of the action and
 *   of the target service — the pause is checked again, the circuit of (action, service)
 *   admits or refuses it, and the handler runs with a time limit per attempt and retries
 *   with exponential backoff and jitter; then the outcome, the `completed` entry, the
 *   escalation to `page` (when it failed or was refused) and the offsets are committed
 *   together.
 *
 * A crash between the two commits leaves `started` and no offset: the next owner finds
 * the mark and records the request as interrupted instead of running it again.
 *
 * Circuits are per worker process (all partitions of the action share them); caps are per
 * worker process too. Reverts (log-level) are kept in the ledger and run by timers.
 */
import fs from 'node:fs'
import { performance } from 'node:perf_hooks'
import { Counter, Gauge, Histogram, type Registry as MetricsRegistry } from 'prom-client'
import type { ActionOutcomeRecord, ActionRequestRecord, LedgerEntry, SloBudgetRecord } from '../contracts/records'
import type { SchemaSet } from '../contracts/schemas'
import { describeError } from '../errors'
import type { OutRecord, Registry } from '../kafka'
import type { Logger } from '../log'
import { backoffDelay } from '../runner/backoff'
import type { Emit, StageDefinition, StageResult, StateChange } from '../runner/types'
import { actionTopic, valueSubject, type TopicNames } from '../topology/names'
import type { ActionConfig, ActionsConfig } from './actions-file'
import { admit, circuitKey, record as recordCircuit, type Circuit } from './circuit'
import {
  escalationFor,
  ledgerEntry,
  ledgerKeyOf,
  planRequest,
  revertKey,
  successKey,
  type LedgerChange,
} from './decide'
import { outcomeFor, type OutcomeFields } from './outcome'
import type { Pause, PausableRequest } from './pause'
import { Slots } from './slots'
import { BURN_WINDOW_NAMES, gateReason, type GateSettings } from './gate'
import type { BurnWindowName } from '../stages/slo/budget'
import type { SlosConfig } from '../stages/slo/slos'
import type { HandlerContext, HandlerResult } from './types'

/** Metrics of every action worker of a process. */
export interface ActionMetrics {
  outcomes: Counter<'action' | 'status'>
  attempts: Counter<'action' | 'result'>
  runSeconds: Histogram<'action'>
  inFlight: Gauge<'action'>
  escalations: Counter<'action' | 'to'>
  notEffective: Counter<'action'>
  circuitOpen: Gauge<'action' | 'service'>
  reverts: Counter<'action' | 'result'>
}

export function createActionMetrics(registry: MetricsRegistry): ActionMetrics {
  const registers = [registry]
  return {
    outcomes: new Counter({
      name: 'nightshift_action_outcomes_total',
      help: 'Action outcomes by status.',
      labelNames: ['action', 'status'],
      registers,
    }),
    attempts: new Counter({
      name: 'nightshift_action_attempts_total',
      help: 'Handler attempts by result (ok, failed, timed_out).',
      labelNames: ['action', 'result'],
      registers,
    }),
    runSeconds: new Histogram({
      name: 'nightshift_action_run_seconds',
      help: 'Time from a request taking its slot to its outcome, for requests that ran.',
      labelNames: ['action'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers,
    }),
    inFlight: new Gauge({
      name: 'nightshift_action_in_flight',
      help: 'Requests running now.',
      labelNames: ['action'],
      registers,
    }),
    escalations: new Counter({
      name: 'nightshift_action_escalations_total',
      help: 'Requests handed to another action (page).',
      labelNames: ['action', 'to'],
      registers,
    }),
    notEffective: new Counter({
      name: 'nightshift_action_not_effective_total',
      help: 'Fixes that did not hold: the alert fired again within the window after a success.',
      labelNames: ['action'],
      registers,
    }),
    circuitOpen: new Gauge({
      name: 'nightshift_action_circuit_open',
      help: '1 while the circuit of (action, service) refuses requests.',
      labelNames: ['action', 'service'],
      registers,
    }),
    reverts: new Counter({
      name: 'nightshift_action_reverts_total',
      help: 'Scheduled undo steps run (log level back), by result.',
      labelNames: ['action', 'result'],
      registers,
    }),
  }
}

/** What pauses the worker honours (the board following nightshift.control). */
export interface PauseSource {
  pauseFor(request: PausableRequest, now: number): Pause | undefined
}

/** Writes records outside the runner's transactions (revert results). */
export interface PlainWriter {
  send(records: OutRecord[]): Promise<void>
}

export interface ActionWorkerOptions {
  action: string
  groupId: string
  prefix: string
  topics: TopicNames
  /** The actions file in force (reloaded on change). */
  config: () => ActionsConfig
  pauses: PauseSource
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
  private readonly reverts = new Map<string, { partition: number; timer: NodeJS.Timeout }>()
  /** Ledger keys whose handler this process is running (their `started` mark is ours, not a dead worker's). */
  private readonly running = new Set<string>()
  /** Artifacts folders created already (the folder may change with a config reload). */
  private readonly artifactDirs = new Set<string>()
  private stopped = false

  constructor(private readonly options: ActionWorkerOptions) {
    this.log = options.logger.child({ module: 'action-worker', action: options.action })
    this.now = options.now ?? Date.now
    this.random = options.random ?? Math.random
    const settings = this.current()?.settings
    this.slots = new Slots(settings?.concurrency ?? 1, settings?.perServiceConcurrency ?? 1)
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
        restored: (partition, entries) => this.schedule(partition, entries),
        committed: (partition, changes) => this.schedule(partition, changes),
        revoked: (partition) => this.cancelReverts(partition),
      },
      process: (request, context) => this.process(request, context.state, context.later),
    }
  }

  /** Stops revert timers (the next start finds the reverts in the ledger). */
  stop(): void {
    this.stopped = true
    for (const { timer } of this.reverts.values()) clearTimeout(timer)
    this.reverts.clear()
  }

  private current(): ActionConfig | undefined {
    return this.options.config().actions.get(this.options.action)
  }

  private process(
    request: ActionRequestRecord,
    ledger: { get(key: string): LedgerEntry | undefined },
    later: () => readonly ActionRequestRecord[],
  ): StageResult<LedgerEntry> {
    const now = this.now()
    const file = this.options.config()
    const config = file.actions.get(this.options.action)
    if (!config) {
      const detail = `action ${this.options.action} is not configured in ${file.file}; not run`
      return this.settledResult(
        request,
        [{ key: request.idempotencyKey, value: ledgerEntry(request, 'completed', now, { status: 'error' }) }],
        outcomeFor(request, { status: 'error', finishedAt: now, detail }),
        undefined,
        [],
        'error',
      )
    }
    this.slots.resize(config.settings.concurrency, config.settings.perServiceConcurrency)
    const plan = planRequest({
      request,
      ledger,
      later,
      running: this.running.has(ledgerKeyOf(request, config.settings.onResolved)),
      pause: this.options.pauses.pauseFor(pausable(request), now),
      gated: this.gate(request, config, now),
      dryRun: { global: file.dryRun, action: config.settings.dryRun },
      describe: () => config.handler.describe(request),
      policy: {
        onResolved: config.settings.onResolved,
        escalateTo: config.settings.escalateTo,
        notEffectiveWindowMs: file.notEffectiveWindowMs,
      },
      now,
    })
    if (plan.kind === 'settled') {
      return this.settledResult(request, plan.ledger, plan.outcome, plan.escalate, plan.followUps, plan.reason)
    }
    this.running.add(plan.ledgerKey)
    return {
      emits: [],
      kind: 'run',
      effect: {
        before: [plan.mark, ...plan.ledger],
        run: () =>
          this.execute(request, plan.ledgerKey, plan.followUps).finally(() => this.running.delete(plan.ledgerKey)),
        abandon: () => this.running.delete(plan.ledgerKey),
      },
    }
  }

  /** The records of a decided request: its outcome, follow-ups, and the escalation when asked for. */
  private settledResult(
    request: ActionRequestRecord,
    ledger: LedgerChange[],
    outcome: ActionOutcomeRecord | undefined,
    escalate: string | undefined,
    followUps: ActionOutcomeRecord[],
    kind: string,
  ): StageResult<LedgerEntry> {
    const emits: Emit[] = []
    if (outcome) {
      const escalation =
        escalate === undefined
          ? undefined
          : escalationFor(request, this.current()?.settings.escalateTo ?? null, escalate, this.now())
      if (escalation) {
        outcome.escalatedTo = escalation.action
        emits.push({
          topic: `${this.options.prefix}${actionTopic(escalation.action)}`,
          key: request.alert.alert.fingerprint,
          schema: 'ActionRequest',
          value: escalation,
        })
        this.options.metrics.escalations.inc({ action: this.options.action, to: escalation.action })
      } else if (escalate !== undefined) {
        // The escalation target itself (page) failing, or an action without a target.
        this.log.error(
          { idempotencyKey: request.idempotencyKey, status: outcome.status, detail: outcome.detail },
          'nobody was told: no escalation for this action',
        )
      }
      emits.push(this.outcomeEmit(outcome))
      this.options.metrics.outcomes.inc({ action: this.options.action, status: outcome.status })
      this.log.info(
        {
          idempotencyKey: request.idempotencyKey,
          route: request.route,
          service: request.alert.service,
          status: outcome.status,
          attempts: outcome.attempts,
          escalatedTo: outcome.escalatedTo,
          detail: outcome.detail,
        },
        'action outcome',
      )
    }
    for (const followUp of followUps) {
      emits.push(this.outcomeEmit(followUp))
      this.options.metrics.outcomes.inc({ action: this.options.action, status: followUp.status })
      this.options.metrics.notEffective.inc({ action: this.options.action })
      this.log.warn({ idempotencyKey: followUp.idempotencyKey, detail: followUp.detail }, 'fix did not hold')
    }
    return { emits, state: ledger, kind }
  }

  private outcomeEmit(outcome: ActionOutcomeRecord): Emit {
    return { topic: this.options.topics.outcomes, key: outcome.fingerprint, schema: 'ActionOutcome', value: outcome }
  }

  /** Runs an admitted request: slots, pause re-check, circuit, attempts. Never rejects. */
  private async execute(
    request: ActionRequestRecord,
    ledgerKey: string,
    followUps: ActionOutcomeRecord[],
  ): Promise<StageResult<LedgerEntry>> {
    const { action, metrics } = { action: this.options.action, metrics: this.options.metrics }
    const complete = (
      fields: OutcomeFields,
      escalate: string | undefined,
      extra: LedgerChange[] = [],
    ): StageResult<LedgerEntry> => {
      const outcome = outcomeFor(
        ledgerKey === request.idempotencyKey ? request : { ...request, idempotencyKey: ledgerKey },
        fields,
      )
      const ledger: LedgerChange[] = [
        {
          key: ledgerKey,
          value: ledgerEntry(request, 'completed', fields.finishedAt, {
            status: outcome.status,
            attempts: outcome.attempts,
          }),
        },
        ...extra,
      ]
      return this.settledResult(request, ledger, outcome, escalate, followUps, outcome.status)
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
      const release = await this.slots.acquire(service ?? '')
      metrics.inFlight.inc({ action })
      const began = performance.now()
      try {
        const pause = this.options.pauses.pauseFor(pausable(request), this.now())
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
        const run = await this.attempts(request, config)
        this.setCircuit(
          key,
          service,
          recordCircuit(
            this.circuits.get(key),
            run.result.ok ? 'success' : 'failure',
            this.now(),
            config.settings.circuit,
          ),
        )
        const finishedAt = this.now()
        const status = run.result.ok ? 'succeeded' : run.timedOut ? 'timed_out' : 'failed'
        const extra: LedgerChange[] = []
        if (run.result.ok) {
          extra.push({
            key: successKey(action, request.alert.alert.fingerprint),
            value: ledgerEntry(request, 'last_success', finishedAt, { idempotencyKey: request.idempotencyKey }),
          })
        }
        // Kept whatever the result: a failed attempt may still have changed the target
        // (its answer lost), and undoing an unchanged value is harmless.
        const revert = config.handler.revert ? run.result.revert : undefined
        const output = { ...run.result.output }
        if (revert) {
          extra.push({
            key: revertKey(ledgerKey),
            value: ledgerEntry(request, 'revert_pending', finishedAt, {
              revertAt: finishedAt + revert.afterMs,
              params: revert.params,
            }),
          })
          output.revertAt = new Date(finishedAt + revert.afterMs).toISOString()
        }
        const detail = run.result.ok
          ? run.result.detail
          : `${run.result.detail} (after ${run.attempts} attempt${run.attempts === 1 ? '' : 's'})`
        return complete(
          {
            status,
            finishedAt,
            startedAt: run.startedAt,
            attempts: run.attempts,
            detail,
            output,
            ...(run.result.artifact ? { artifact: run.result.artifact } : {}),
          },
          run.result.ok ? undefined : `${action} ${status} after ${run.attempts} attempt(s): ${run.result.detail}`,
          extra,
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

  /** Runs the handler until it succeeds, fails for good, or runs out of attempts. */
  private async attempts(
    request: ActionRequestRecord,
    config: ActionConfig,
  ): Promise<{ result: HandlerResult; attempts: number; timedOut: boolean; startedAt: number }> {
    const { settings, handler } = config
    const startedAt = this.now()
    let result: HandlerResult = { ok: false, retriable: false, detail: 'not run', output: {} }
    let timedOut = false
    let revert: HandlerResult['revert']
    let attempt = 0
    while (attempt < settings.maxAttempts) {
      attempt += 1
      const one = await this.attempt(settings.timeoutMs, (context) => handler.run(request, context))
      // The first undo step planned is the one that restores the state before any attempt.
      result = revert ? { ...one.result, revert } : one.result
      revert = result.revert
      timedOut = one.timedOut
      this.options.metrics.attempts.inc({
        action: this.options.action,
        result: result.ok ? 'ok' : timedOut ? 'timed_out' : 'failed',
      })
      if (result.ok || !result.retriable || attempt >= settings.maxAttempts || this.stopped) break
      const delay = backoffDelay(attempt, { ...settings.backoff, maxAttempts: settings.maxAttempts }, this.random())
      this.log.warn(
        { idempotencyKey: request.idempotencyKey, attempt, delayMs: delay, detail: result.detail },
        'attempt failed; retrying',
      )
      await new Promise((resolve) => setTimeout(resolve, delay))
    }
    return { result, attempts: attempt, timedOut, startedAt }
  }

  /** One handler call with its own time limit; a throw or a late answer becomes a failed result. */
  private async attempt(
    timeoutMs: number,
    call: (context: HandlerContext) => Promise<HandlerResult>,
  ): Promise<{ result: HandlerResult; timedOut: boolean }> {
    const controller = new AbortController()
    let timedOut = false
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<HandlerResult>((resolve) => {
      timer = setTimeout(() => {
        timedOut = true
        controller.abort(new Error(`attempt timed out after ${timeoutMs} ms`))
        // A handler that ignores the signal is not waited for beyond a grace period.
        setTimeout(
          () => resolve({ ok: false, retriable: true, detail: `timed out after ${timeoutMs} ms`, output: {} }),
          5000,
        ).unref()
      }, timeoutMs)
    })
    const artifactsDir = this.options.config().artifactsDir
    if (!this.artifactDirs.has(artifactsDir)) {
      fs.mkdirSync(artifactsDir, { recursive: true })
      this.artifactDirs.add(artifactsDir)
    }
    const context: HandlerContext = { signal: controller.signal, timeoutMs, artifactsDir, env: this.options.env }
    try {
      const result = await Promise.race([
        call(context).catch((err: unknown): HandlerResult => ({
          ok: false,
          retriable: false,
          detail: `handler threw: ${describeError(err)}`,
          output: {},
        })),
        deadline,
      ])
      if (timedOut && !result.ok)
        return { result: { ...result, detail: `timed out after ${timeoutMs} ms: ${result.detail}` }, timedOut }
      return { result, timedOut: false }
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * Why a budget gate stops the request now: the action's own (actions.yaml) or its
   * route's (routes.yaml, carried on the request); the SLO is its service's (catalog).
   */
  private gate(request: ActionRequestRecord, config: ActionConfig, now: number): string | undefined {
    const slo = request.alert.slo
    if (slo === null) return undefined
    const definition = this.options.slos?.()?.byName.get(slo)
    const budget = this.options.budgets?.get(slo)
    const reasons = [config.settings.gate ?? undefined, routeGate(request)]
      .map((gate) => gateReason(gate, definition, budget, now))
      .filter((r): r is string => r !== undefined)
    return reasons.length > 0 ? [...new Set(reasons)].join(' / ') : undefined
  }

  private setCircuit(key: string, service: string | null, circuit: Circuit): void {
    this.circuits.set(key, circuit)
    this.options.metrics.circuitOpen.set(
      { action: this.options.action, service: service ?? '-' },
      circuit.state === 'closed' ? 0 : 1,
    )
  }

  // --- reverts -------------------------------------------------------------------------

  /** Starts timers for reverts due in `changes`, stops those whose entry is gone. */
  schedule(partition: number, changes: ReadonlyArray<StateChange<LedgerEntry>>): void {
    for (const { key, value } of changes) {
      if (!key.startsWith('revert/')) continue
      if (value === null) {
        this.cancelRevert(key)
        continue
      }
      if (
        value.kind !== 'revert_pending' ||
        value.action !== this.options.action ||
        value.revertAt === null ||
        this.reverts.has(key) ||
        this.stopped
      )
        continue
      const delay = Math.max(0, value.revertAt - this.now())
      const timer = setTimeout(() => void this.revert(partition, key, value), delay)
      timer.unref()
      this.reverts.set(key, { partition, timer })
      this.log.info({ key, revertAt: new Date(value.revertAt).toISOString() }, 'revert scheduled')
    }
  }

  private cancelRevert(key: string): void {
    const known = this.reverts.get(key)
    if (known) clearTimeout(known.timer)
    this.reverts.delete(key)
  }

  private cancelReverts(partition: number): void {
    for (const [key, known] of this.reverts) if (known.partition === partition) this.cancelRevert(key)
  }

  /**
   * Runs a due revert (retried like a request), then records it: an outcome under
   * `<key>/revert` and the ledger entry's tombstone, written outside any transaction. A
   * crash before the tombstone runs the revert again after the restart: harmless, a
   * revert puts back a value.
   */
  private async revert(partition: number, key: string, entry: LedgerEntry): Promise<void> {
    const config = this.current()
    const handler = config?.handler
    if (!config || !handler?.revert) {
      this.log.error({ key }, 'revert due but the action has no revert any more; left in the ledger')
      return
    }
    const startedAt = this.now()
    let result: HandlerResult = { ok: false, retriable: true, detail: 'not run', output: {} }
    let attempts = 0
    for (; attempts < config.settings.maxAttempts && !this.stopped;) {
      attempts += 1
      result = (await this.attempt(config.settings.timeoutMs, (context) => handler.revert!(entry.params, context)))
        .result
      if (result.ok || !result.retriable) break
      await new Promise((resolve) =>
        setTimeout(
          resolve,
          backoffDelay(
            attempts,
            { ...config.settings.backoff, maxAttempts: config.settings.maxAttempts },
            this.random(),
          ),
        ),
      )
    }
    if (this.stopped && !result.ok) return
    this.reverts.delete(key)
    this.options.metrics.reverts.inc({ action: this.options.action, result: result.ok ? 'ok' : 'failed' })
    const finishedAt = this.now()
    const outcome: ActionOutcomeRecord = {
      idempotencyKey: `${entry.idempotencyKey}/revert`,
      action: entry.action,
      route: entry.route,
      fingerprint: entry.fingerprint,
      startsAt: entry.startsAt,
      team: entry.team,
      service: entry.service,
      slo: null,
      status: result.ok ? 'succeeded' : 'failed',
      attempts,
      startedAt,
      finishedAt,
      detail: `revert: ${result.detail}`,
      output: { ...result.output, step: 'revert' },
      escalatedTo: null,
      dryRun: false,
      alertname: '',
      durationMs: finishedAt - startedAt,
      artifact: null,
    }
    const level = result.ok ? 'info' : 'error'
    this.log[level](
      { key, attempts, detail: result.detail },
      result.ok ? 'revert done' : 'revert failed; fix it by hand',
    )
    try {
      const o = this.options
      const outcomeId = await o.registry.idOf(valueSubject(o.topics.outcomes), o.schemas.resolve('ActionOutcome'))
      await o.writer.send([
        { topic: o.topics.outcomes, key: entry.fingerprint, value: await o.registry.encode(outcomeId, outcome) },
        { topic: o.topics.ledger, partition, key, value: null },
      ])
    } catch (err) {
      this.log.error({ key, err }, 'could not record the revert; it runs again after a restart')
    }
  }
}

/** The gate a route put on the request, as GateSettings. */
function routeGate(request: ActionRequestRecord): GateSettings | undefined {
  const g = request.gate
  if (!g) return undefined
  const gate: { minBudgetRemaining?: number; maxBurnRate?: number; burnWindow?: BurnWindowName } = {}
  if (g.minBudgetRemaining !== null) gate.minBudgetRemaining = g.minBudgetRemaining
  if (g.maxBurnRate !== null) gate.maxBurnRate = g.maxBurnRate
  if (g.burnWindow !== null && (BURN_WINDOW_NAMES as readonly string[]).includes(g.burnWindow))
    gate.burnWindow = g.burnWindow as BurnWindowName
  return gate
}

function pausable(request: ActionRequestRecord): PausableRequest {
  return { team: request.alert.team, service: request.alert.service, action: request.action }
}
