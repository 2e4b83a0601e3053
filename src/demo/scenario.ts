/**
 * The demo's loop, step by step, each step waiting for what shows it happened — in the
 * programs and topics themselves, not in Nightshift's memory:
 *
 *  1. Prometheus scrapes the demo service and has loaded Nightshift's own rules;
 *  2. the demo service breaks; Prometheus' DemoCheckoutErrors rule fires;
 *  3. Alertmanager posts it to the webhook: the alert is on alerts.raw;
 *  4. dedup, enrich, ratelimit and route decide (nightshift.decisions);
 *  5. the log-level worker raises the service's logger (the service saw the POST) and
 *     records a succeeded outcome on actions.outcomes;
 *  6. the SLO's budget on slo.budget holds the episode as open bad time;
 *  7. the service is fixed; the rule resolves in Prometheus;
 *  8. Alertmanager posts the resolve; it flows through dedup to route;
 *  9. the budget closes the episode: its bad time is charged for good;
 * 10. the level goes back on schedule (the worker's revert, raise + duration).
 *
 * The test (test/integration/e2e-prometheus.test.ts) asserts the returned
 * {@link ScenarioReport}; `nightshift demo` prints the same steps as they happen.
 */
import type { ActionOutcomeRecord, AlertRecord, SloBudgetRecord } from '../contracts/records'
import { ERROR_CODES, NightshiftError, describeError } from '../errors'
import type { KafkaSettings, Registry } from '../kafka'
import type { Progress } from '../progress'
import { pause } from '../retry'
import { DEMO_ALERT, DEMO_SERVICE, type Observability } from './observability'
import { DEMO_LOGGER, type DemoService, type LevelChange } from './service'
import { DEMO_SLO } from './config'
import { DemoWatch, PIPELINE_STAGES, type PathStep } from './watch'

export type { PathStep } from './watch'

export interface ScenarioOptions {
  kafka: KafkaSettings
  registry: Registry
  /** Topic prefix Nightshift runs with. */
  prefix: string
  service: DemoService
  observability: Observability
  /** How long the route raises the level for, in ms (the revert is due then). */
  raiseForMs: number
  progress: Progress
  /** Longest wait of one step (default 90 s). */
  stepTimeoutMs?: number
}

/** What the loop showed, step by step. */
export interface ScenarioReport {
  fingerprint: string
  startsAt: string
  /** Nightshift's alerting rules as Prometheus loaded them. */
  nightshiftRules: { groups: number; rules: number; unhealthy: string[] }
  /** The firing notification on alerts.raw. */
  firing: AlertRecord
  /** The firing alert's way through dedup, enrich, ratelimit and route. */
  firingPath: PathStep[]
  /** The log-level outcome of the raise. */
  outcome: ActionOutcomeRecord
  /** The budget while the episode was open. */
  budgetWhileFiring: SloBudgetRecord
  resolved: AlertRecord
  /** The resolve's way through the same stages. */
  resolvedPath: PathStep[]
  /** The budget once the episode closed. */
  budgetAfterResolve: SloBudgetRecord
  /** The revert's outcome (`<key>/revert`). */
  revertOutcome: ActionOutcomeRecord
  /** The level changes the service saw for the demo logger: raise, then revert. */
  levelChanges: LevelChange[]
  /** Debug lines the service wrote while the level was raised. */
  debugLines: number
  /** ms from the raise to the revert, as the service saw them. */
  raisedForMs: number
  /** Records of the followed topics that did not decode (skipped; the first is described in the output). */
  undecodable: number
}

/** Polls `probe` every 200 ms until it returns a value; rejects naming `what` after `timeoutMs`. */
async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => T | undefined | Promise<T | undefined>,
  check?: () => void,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    check?.()
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (err) {
      lastError = err
    }
    if (Date.now() > deadline) {
      throw new NightshiftError(
        ERROR_CODES.DEMO,
        `demo: ${what} did not happen within ${Math.round(timeoutMs / 1000)} s${lastError ? ` (last error: ${describeError(lastError)})` : ''}`,
      )
    }
    await pause(200)
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

/** Dedup's decisions on Alertmanager's re-sends: the episode itself went on. */
const EPISODE_GOES_ON = ['duplicate_firing', 'duplicate_resolved', 'firing_after_resolved']

/** Runs the loop against running programs; see the file comment. The service is left fixed. */
export async function runDemoScenario(o: ScenarioOptions): Promise<ScenarioReport> {
  const { progress, service, observability: obs } = o
  const timeout = o.stepTimeoutMs ?? 90_000
  const began = Date.now()
  const watch = new DemoWatch(o.registry)
  try {
    progress.step('Prometheus scrapes demo-checkout and Nightshift, and loads the rules')
    await until('Prometheus scraping demo-checkout and nightshift', timeout, async () => {
      const targets = await obs.targets()
      return targets[DEMO_SERVICE] === 'up' && targets.nightshift === 'up' ? targets : undefined
    })
    const groups = await until('rules loaded', timeout, async () => {
      const g = await obs.rules()
      return g.length > 0 ? g : undefined
    })
    const own = groups.filter((g) => g.file.endsWith('nightshift-rules.yaml'))
    const nightshiftRules = {
      groups: own.length,
      rules: own.reduce((n, g) => n + g.rules.length, 0),
      unhealthy: own.flatMap((g) =>
        g.rules.filter((r) => r.health === 'err').map((r) => `${r.name}: ${r.lastError ?? 'error'}`),
      ),
    }
    progress.done(
      `Prometheus scrapes both; Nightshift's ${nightshiftRules.rules} alerting rules loaded in ${nightshiftRules.groups} group(s)`,
    )

    progress.step('following the alert through the topics, from alerts.raw to slo.budget')
    await watch.start(o.kafka, o.prefix, 'log-level')
    progress.done()

    progress.step('breaking demo-checkout: half of its requests fail')
    const brokenAt = Date.now()
    service.setBroken(true)
    await until(`${DEMO_ALERT} firing in Prometheus`, timeout, async () => {
      const alerts = await obs.alerts()
      return alerts.find((a) => a.labels.alertname === DEMO_ALERT && a.state === 'firing')
    })
    progress.done(`Prometheus: ${DEMO_ALERT} firing after ${seconds(Date.now() - brokenAt)}`)

    progress.step('Alertmanager posts to the webhook')
    const firing = await until(
      `the firing ${DEMO_ALERT} on alerts.raw`,
      timeout,
      () => watch.raw.find((r) => r.value.status === 'firing' && r.value.receivedAt >= brokenAt)?.value,
    )
    const { fingerprint, startsAt } = firing
    // Decisions that do not stop an episode; any other one on it ends the demo with its reason.
    const check = (status: string) => () => watch.check({ fingerprint, startsAt, status, allowed: EPISODE_GOES_ON })
    /** Waits for the notification on every stage's output topic and shows where it went. */
    const throughTheStages = async (status: 'firing' | 'resolved') => {
      const path = await until(
        `the ${status} alert on alerts.deduped, alerts.enriched, alerts.admitted and actions.log-level`,
        timeout,
        () => {
          const steps = watch.path(fingerprint, startsAt, status)
          return steps.length === PIPELINE_STAGES.length ? steps : undefined
        },
        check(status),
      )
      for (const step of path) progress.note(`${step.stage}: ${step.detail} (${step.topic})`)
      return path
    }
    progress.done(
      `alerts.raw: ${DEMO_ALERT} firing, fingerprint ${fingerprint}, startsAt ${startsAt} (received ${seconds(firing.receivedAt - brokenAt)} after the break)`,
    )

    progress.step('dedup → enrich → ratelimit → route')
    const firingPath = await throughTheStages('firing')
    progress.done()

    progress.step(`log-level raises ${DEMO_LOGGER} on demo-checkout`)
    const outcome = await until(
      'the log-level outcome',
      timeout,
      () =>
        watch.outcomes
          .map((r) => r.value)
          .find(
            (r) =>
              r.fingerprint === fingerprint &&
              r.startsAt === startsAt &&
              r.action === 'log-level' &&
              !r.idempotencyKey.endsWith('/revert'),
          ),
      check('firing'),
    )
    if (outcome.status !== 'succeeded')
      throw new NightshiftError(
        ERROR_CODES.DEMO,
        `demo: the log-level action ended ${outcome.status}: ${outcome.detail ?? ''}`,
      )
    const raise = service.levelChanges.find((c) => c.logger === DEMO_LOGGER && c.to === 'DEBUG' && c.at >= brokenAt)
    if (!raise)
      throw new NightshiftError(
        ERROR_CODES.DEMO,
        `demo: the outcome says succeeded but demo-checkout saw no level change of ${DEMO_LOGGER}`,
      )
    progress.done(
      `demo-checkout: ${DEMO_LOGGER} ${raise.from ?? '(inherited)'} → ${raise.to}; outcome ${outcome.status} on actions.outcomes (${outcome.detail ?? ''})`,
    )

    progress.step(`SLO ${DEMO_SLO} charged while the alert fires`)
    const episode = `${fingerprint}|${startsAt}`
    const budgetWhileFiring = await until('the budget with the episode open', timeout, () =>
      watch.budgets.map((b) => b.value).find((b) => b.open[episode] !== undefined),
    )
    progress.done(
      `slo.budget: episode open since ${new Date(budgetWhileFiring.open[episode]!).toISOString()}, ${(budgetWhileFiring.remainingRatio * 100).toFixed(2)}% of the budget left`,
    )

    // The point of raising the level: the failing service writes debug lines. Fixed only
    // once it has, so the story never ends before its last chapter (a fast budget could).
    await until(`demo-checkout to log at DEBUG while failing`, timeout, () =>
      service.debugLines() > 0 ? true : undefined,
    )

    progress.step('fixing demo-checkout')
    const fixedAt = Date.now()
    service.setBroken(false)
    await until(`${DEMO_ALERT} to stop firing in Prometheus`, timeout, async () => {
      const alerts = await obs.alerts()
      return alerts.some((a) => a.labels.alertname === DEMO_ALERT) ? undefined : true
    })
    progress.done(`Prometheus: ${DEMO_ALERT} resolved ${seconds(Date.now() - fixedAt)} after the fix`)

    progress.step('Alertmanager posts the resolve; it flows through')
    const resolved = await until(
      `the resolved ${DEMO_ALERT} on alerts.raw`,
      timeout,
      () =>
        watch.raw.find(
          (r) => r.value.status === 'resolved' && r.value.fingerprint === fingerprint && r.value.startsAt === startsAt,
        )?.value,
    )
    const resolvedPath = await throughTheStages('resolved')
    progress.done(`alerts.raw: resolved, endsAt ${resolved.endsAt ?? '?'}`)

    progress.step('the budget closes the episode')
    const budgetAfterResolve = await until('the budget with the episode closed', timeout, () =>
      watch.budgets
        .map((b) => b.value)
        .find(
          (b) =>
            b.open[episode] === undefined &&
            b.asOf >= firing.receivedAt &&
            b.intervals.some((i) => i.start === budgetWhileFiring.open[episode]),
        ),
    )
    const interval = budgetAfterResolve.intervals.find((i) => i.start === budgetWhileFiring.open[episode])!
    progress.done(
      `slo.budget: ${seconds(interval.end - interval.start)} of bad time charged, ${(budgetAfterResolve.remainingRatio * 100).toFixed(2)}% left (charged although automation acted)`,
    )

    const dueAt = raise.at + o.raiseForMs
    progress.step(`${DEMO_LOGGER} goes back at ${new Date(dueAt).toISOString()} (raised for ${seconds(o.raiseForMs)})`)
    const revertOutcome = await until('the revert outcome', Math.max(timeout, dueAt - Date.now() + timeout), () =>
      watch.outcomes.map((r) => r.value).find((r) => r.idempotencyKey === `${outcome.idempotencyKey}/revert`),
    )
    const revert = service.levelChanges.find((c) => c.logger === DEMO_LOGGER && c.from === 'DEBUG' && c.at > raise.at)
    if (revertOutcome.status !== 'succeeded' || !revert) {
      throw new NightshiftError(
        ERROR_CODES.DEMO,
        `demo: the revert ended ${revertOutcome.status} (${revertOutcome.detail ?? ''}); demo-checkout saw ${revert ? 'it' : 'no change back'}`,
      )
    }
    progress.done(
      `demo-checkout: ${DEMO_LOGGER} DEBUG → ${revert.to ?? '(inherited)'} after ${seconds(revert.at - raise.at)}; revert outcome ${revertOutcome.status}`,
    )
    progress.note(`the whole loop took ${seconds(Date.now() - began)}`)
    if (watch.firstUndecodable)
      progress.note(
        `skipped ${watch.undecodable} record(s) that no registered schema decodes, first: ${watch.firstUndecodable}`,
      )

    return {
      fingerprint,
      startsAt,
      nightshiftRules,
      firing,
      firingPath,
      outcome,
      budgetWhileFiring,
      resolved,
      resolvedPath,
      budgetAfterResolve,
      revertOutcome,
      levelChanges: service.levelChanges.filter((c) => c.logger === DEMO_LOGGER && c.at >= brokenAt),
      debugLines: service.debugLines(),
      raisedForMs: revert.at - raise.at,
      undecodable: watch.undecodable,
    }
  } catch (err) {
    progress.fail(describeError(err))
    throw err
  } finally {
    service.setBroken(false)
    await watch.stop()
  }
}
