/**
 * The whole loop with the real programs users run: Debian's Prometheus evaluates a rule
 * on the demo service, Debian's Alertmanager posts to Nightshift's webhook through a
 * plain `webhook_configs` receiver, the pipeline routes it, the log-level worker raises
 * the service's logger through its admin API, the SLO is charged, the rule clears, the
 * resolve flows through and the level goes back on schedule. Prometheus also loads
 * Nightshift's own alerting rules, so they are known to parse and evaluate.
 *
 * The harness is the one `nightshift demo` runs (src/demo/).
 */
import { startDemo, runDemoScenario, type RunningDemo, type ScenarioReport } from '../../src/demo'
import { createProgress } from '../../src/progress'
import { DEMO_ROUTE, DEMO_SLO } from '../../src/demo/config'
import { DEMO_ALERT, DEMO_SERVICE, DEMO_TEAM } from '../../src/demo/observability'
import { DEMO_LOGGER } from '../../src/demo/service'
import { endpoints, testLogger, uniqueName } from '../support/kafka'
import { provisionTopology, type TestTopology } from '../support/topology'

const RAISE_FOR_MS = 12_000

let demo: RunningDemo
let t: TestTopology
let report: ScenarioReport
const progressLines: string[] = []

beforeAll(async () => {
  const prefix = `${uniqueName('e2e')}.`
  // The demo applies the topology itself; provisioning first gives the test its cleanup.
  t = await provisionTopology(prefix)
  demo = await startDemo({
    endpoints,
    logger: testLogger,
    prefix,
    raiseFor: `${RAISE_FOR_MS / 1000}s`,
    progress: createProgress({ stream: { write: (text: string) => progressLines.push(text) } }),
    sessionTimeoutMs: 10_000,
  })
  report = await runDemoScenario({
    kafka: demo.kafka,
    registry: demo.registry,
    prefix,
    service: demo.service,
    observability: demo.observability,
    raiseForMs: RAISE_FOR_MS,
    progress: createProgress({ stream: { write: (text: string) => progressLines.push(text) } }),
  })
}, 300_000)

afterAll(async () => {
  await demo?.stop()
  await t?.cleanup()
}, 60_000)

describe('Prometheus → Alertmanager → Nightshift → demo service, and back', () => {
  test("Prometheus loaded Nightshift's own alerting rules and all of them evaluate", () => {
    expect(report.nightshiftRules.groups).toBeGreaterThan(0)
    expect(report.nightshiftRules.rules).toBeGreaterThanOrEqual(4)
    expect(report.nightshiftRules.unhealthy).toEqual([])
  })

  test('the rule fired and Alertmanager delivered it to the webhook as a real notification', () => {
    expect(report.firing.status).toBe('firing')
    expect(report.firing.labels).toMatchObject({
      alertname: DEMO_ALERT,
      service: DEMO_SERVICE,
      severity: 'critical',
      team: DEMO_TEAM,
    })
    expect(report.firing.receiver).toBe('nightshift')
    expect(report.firing.groupKey).toContain(DEMO_ALERT)
    expect(report.firing.generatorURL).toContain('/graph?')
    // Alertmanager's zero time while firing, passed through as received.
    expect(report.firing.endsAt).toBe('0001-01-01T00:00:00Z')
  })

  test('dedup forwarded it, enrich found the catalog service, ratelimit admitted it, route chose the log-level route', () => {
    expect(report.firingPath.map((p) => p.stage)).toEqual(['dedup', 'enrich', 'ratelimit', 'route'])
    const [dedup, enrich, ratelimit, route] = report.firingPath
    expect(dedup!.topic).toBe(`${t.prefix}alerts.deduped`)
    expect(enrich!.detail).toBe(`team=${DEMO_TEAM} service=${DEMO_SERVICE} slo=${DEMO_SLO}`)
    expect(ratelimit!.topic).toBe(`${t.prefix}alerts.admitted`)
    expect(route!.topic).toBe(`${t.prefix}actions.log-level`)
    expect(route!.detail).toContain(`route ${DEMO_ROUTE} → log-level`)
    expect(route!.detail).toContain(`logger=${DEMO_LOGGER} level=DEBUG`)
  })

  test("the log-level action raised the service's logger, and the service saw it", () => {
    expect(report.outcome).toMatchObject({
      action: 'log-level',
      route: DEMO_ROUTE,
      status: 'succeeded',
      service: DEMO_SERVICE,
      slo: DEMO_SLO,
      dryRun: false,
    })
    const [raise, back] = report.levelChanges
    expect(raise).toMatchObject({ logger: DEMO_LOGGER, from: null, to: 'DEBUG' })
    // Raised while it was failing: the service wrote debug lines it would not have written at INFO.
    expect(report.debugLines).toBeGreaterThan(0)
    expect(back).toMatchObject({ logger: DEMO_LOGGER, from: 'DEBUG', to: null })
    expect(report.levelChanges).toHaveLength(2)
  })

  test('the SLO was charged while firing and keeps the bad time once resolved', () => {
    const episode = `${report.fingerprint}|${report.startsAt}`
    expect(report.budgetWhileFiring.open[episode]).toBe(Date.parse(report.startsAt))
    const closed = report.budgetAfterResolve.intervals.find((i) => i.start === Date.parse(report.startsAt))
    expect(closed).toBeDefined()
    expect(closed!.end).toBe(Date.parse(report.resolved.endsAt!))
    expect(closed!.end - closed!.start).toBeGreaterThan(1000)
    expect(report.budgetAfterResolve.badMs).toBeGreaterThanOrEqual(closed!.end - closed!.start)
    expect(report.budgetAfterResolve.remainingRatio).toBeLessThan(1)
    expect(report.budgetAfterResolve.open[episode]).toBeUndefined()
  })

  test('the resolve flowed through dedup to route', () => {
    expect(report.resolved.status).toBe('resolved')
    expect(report.resolved.endsAt).not.toBeNull()
    expect(report.resolvedPath.map((p) => p.stage)).toEqual(['dedup', 'enrich', 'ratelimit', 'route'])
  })

  test('the level went back on schedule, recorded as the revert outcome', () => {
    expect(report.revertOutcome).toMatchObject({
      action: 'log-level',
      status: 'succeeded',
      idempotencyKey: `${report.outcome.idempotencyKey}/revert`,
    })
    // Due RAISE_FOR_MS after the raise; the worker checks its schedule every second or so.
    expect(report.raisedForMs).toBeGreaterThanOrEqual(RAISE_FOR_MS - 100)
    expect(report.raisedForMs).toBeLessThan(RAISE_FOR_MS + 10_000)
  })

  test('every step was shown as it happened', () => {
    const text = progressLines.join('')
    for (const line of [
      'Prometheus: DemoCheckoutErrors firing',
      'alerts.raw: DemoCheckoutErrors firing',
      'ratelimit: admitted',
      `${DEMO_LOGGER} (inherited) → DEBUG`,
      'slo.budget: episode open',
      'Prometheus: DemoCheckoutErrors resolved',
      'of bad time charged',
      `${DEMO_LOGGER} DEBUG → (inherited)`,
    ]) {
      expect(text).toContain(line)
    }
    expect(text).not.toContain('✗')
    // Fresh topics: every record of every followed topic decoded with its registered schema.
    expect(report.undecodable).toBe(0)
  })
})
