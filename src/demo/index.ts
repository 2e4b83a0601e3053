/**
 * The demo harness: the demo service, Nightshift (every stage, with the demo's config
 * folder), and Debian's Prometheus and Alertmanager wired to them, on loopback. The
 * end-to-end test and `nightshift demo` (`npm start -- --demo`) both start it with
 * {@link startDemo} and run the loop with {@link runDemoScenario}; tests that need
 * Alertmanager alone or an HA pair of Prometheus start {@link startDemoNightshift} and
 * the programs of ./observability themselves, and follow the topics with a DemoWatch.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { buildApp, type App } from '../app'
import { kafkaSettings, type Endpoints } from '../config/endpoints'
import { parseDuration } from '../config/duration'
import { SchemaSet } from '../contracts/schemas'
import { KafkaAdmin, Registry, type KafkaSettings } from '../kafka'
import type { Logger } from '../log'
import type { Progress } from '../progress'
import { applyTopology } from '../topology/apply'
import { loadTopicsFile } from '../topology/topics-file'
import { writeDemoConfig } from './config'
import { checkObservabilityBinaries, startObservability, type Observability } from './observability'
import { startDemoService, type DemoService } from './service'

export { runDemoScenario, type ScenarioReport } from './scenario'
export { DemoWatch } from './watch'

export interface DemoOptions {
  endpoints: Endpoints
  logger: Logger
  progress: Progress
  /** Topic prefix (tests: a unique one; the demo command: the process's --prefix). */
  prefix?: string
  /** Webhook host and port (0: any free port). */
  http?: { host: string; port: number }
  /** Bearer token the webhook requires (Alertmanager is configured to send it). */
  webhookToken?: string
  /** How long the log level stays raised (default 20s). */
  raiseFor?: string
  /** Folder for the generated configs, Prometheus' and Alertmanager's data and logs (default: a new temporary folder). */
  dir?: string
  /** Consumer group session timeout of the stages. */
  sessionTimeoutMs?: number
}

/** The demo's Nightshift and the service it fixes, without Prometheus or Alertmanager. */
export interface DemoNightshift {
  app: App
  service: DemoService
  kafka: KafkaSettings
  registry: Registry
  prefix: string
  raiseForMs: number
  /** Folder of the generated configs (the Nightshift config folder is `<dir>/config`). */
  dir: string
  /** Nightshift's webhook, as Alertmanager is configured to post to it. */
  webhookUrl: string
  /** `host:port` of Nightshift's /metrics, as Prometheus scrapes it. */
  nightshiftTarget: string
  /** `host:port` of the demo service, as Prometheus scrapes it. */
  demoTarget: string
  /** Stops `stop` with the rest, before anything started earlier (a test's own Prometheus, say). */
  own(stop: () => Promise<void>): void
  stop(): Promise<void>
}

/** Everything the demo started; {@link RunningDemo.stop} stops it in reverse order. */
export interface RunningDemo extends DemoNightshift {
  observability: Observability
}

/**
 * Applies the topology under the prefix, then starts the demo service and Nightshift
 * with the demo's config folder, stopping what started when a later piece fails. Tests
 * that start Alertmanager or Prometheus their own way (an HA pair, Alertmanager alone)
 * begin here; {@link startDemo} adds one Prometheus and one Alertmanager.
 */
export async function startDemoNightshift(o: DemoOptions): Promise<DemoNightshift> {
  const { progress } = o
  const prefix = o.prefix ?? ''
  const raiseFor = o.raiseFor ?? '20s'
  const raiseForMs = parseDuration(raiseFor, 'the demo raise duration')
  const dir = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'nightshift-demo-'))
  const kafka: KafkaSettings = kafkaSettings(o.endpoints, 'nightshift-demo', o.logger)
  const registry = new Registry(o.endpoints.registryUrl, o.endpoints.registryAccess)
  const stops: Array<() => Promise<void>> = []
  const stop = async () => {
    for (const s of stops.splice(0).reverse())
      await s().catch((err: unknown) => o.logger.warn({ err }, 'demo: stopping a part failed'))
  }

  try {
    const schemas = SchemaSet.load()
    await registry.ping()
    const admin = await KafkaAdmin.connect(kafka)
    try {
      await applyTopology({
        admin,
        registry,
        schemas,
        topology: loadTopicsFile(schemas),
        prefix,
        logger: o.logger,
        progress,
      })
    } finally {
      await admin.disconnect()
    }

    progress.step('starting the demo service (demo-checkout)')
    const service = await startDemoService({ logger: o.logger })
    stops.push(() => service.close())
    progress.done(`demo-checkout at ${service.url} (metrics at /metrics, admin API at /actuator)`)

    const configDir = writeDemoConfig(path.join(dir, 'config'), {
      serviceUrl: service.url,
      raiseFor,
      artifactsDir: path.join(dir, 'artifacts'),
    })
    progress.step('starting Nightshift: every stage, the webhook and the action workers')
    const app = buildApp({
      endpoints: o.endpoints,
      logger: o.logger,
      prefix,
      configDir,
      http: {
        host: o.http?.host ?? '127.0.0.1',
        port: o.http?.port ?? 0,
        ...(o.webhookToken ? { auth: { bearerToken: o.webhookToken } } : {}),
      },
      ...(o.sessionTimeoutMs ? { sessionTimeoutMs: o.sessionTimeoutMs } : {}),
    })
    stops.push(() => app.stop())
    await app.start()
    const address = app.httpAddress()!
    progress.done(
      `Nightshift ready: webhook ${address}/webhook/alertmanager, SLO page ${address}/slo (config: ${configDir})`,
    )
    return {
      app,
      service,
      kafka,
      registry,
      prefix,
      raiseForMs,
      dir,
      webhookUrl: `${address}/webhook/alertmanager`,
      nightshiftTarget: new URL(address).host,
      demoTarget: new URL(service.url).host,
      own: (s) => stops.push(s),
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}

/**
 * Applies the topology under the prefix, then starts the demo service, Nightshift and
 * Prometheus + Alertmanager, stopping what started when a later piece fails.
 * @throws ConfigError (before starting anything) when prometheus or prometheus-alertmanager is not installed.
 */
export async function startDemo(o: DemoOptions): Promise<RunningDemo> {
  checkObservabilityBinaries()
  const { progress } = o
  const demo = await startDemoNightshift(o)
  try {
    progress.step('starting Prometheus and Alertmanager')
    const observability = await startObservability({
      dir: demo.dir,
      demoTarget: demo.demoTarget,
      nightshiftTarget: demo.nightshiftTarget,
      webhookUrl: demo.webhookUrl,
      ...(o.webhookToken ? { webhookToken: o.webhookToken } : {}),
      logger: o.logger,
    })
    demo.own(() => observability.stop())
    progress.done(
      `Prometheus ${observability.prometheusUrl}, Alertmanager ${observability.alertmanagerUrl} (configs and logs in ${demo.dir})`,
    )
    return { ...demo, observability }
  } catch (err) {
    await demo.stop()
    throw err
  }
}
