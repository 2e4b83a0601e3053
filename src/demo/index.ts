/**
 * The demo harness: the demo service, Nightshift (every stage, with the demo's config
 * folder), and Debian's Prometheus and Alertmanager wired to them, on loopback. The
 * end-to-end test and `nightshift demo` (`npm start -- --demo`) both start it with
 * {@link startDemo} and run the loop with {@link runDemoScenario}.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { buildApp, type App } from '../app'
import type { Endpoints } from '../config/endpoints'
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

/** Everything the demo started; {@link RunningDemo.stop} stops it in reverse order. */
export interface RunningDemo {
  app: App
  service: DemoService
  observability: Observability
  kafka: KafkaSettings
  registry: Registry
  prefix: string
  raiseForMs: number
  dir: string
  stop(): Promise<void>
}

/**
 * Applies the topology under the prefix, then starts the demo service, Nightshift and
 * Prometheus + Alertmanager, stopping what started when a later piece fails.
 * @throws ConfigError (before starting anything) when prometheus or prometheus-alertmanager is not installed.
 */
export async function startDemo(o: DemoOptions): Promise<RunningDemo> {
  checkObservabilityBinaries()
  const { progress } = o
  const prefix = o.prefix ?? ''
  const raiseFor = o.raiseFor ?? '20s'
  const raiseForMs = parseDuration(raiseFor, 'the demo raise duration')
  const dir = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'nightshift-demo-'))
  const kafka: KafkaSettings = { brokers: o.endpoints.brokers, clientId: 'nightshift-demo', logger: o.logger }
  const registry = new Registry(o.endpoints.registryUrl)
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

    progress.step('starting Prometheus and Alertmanager')
    const observability = await startObservability({
      dir,
      demoTarget: new URL(service.url).host,
      nightshiftTarget: new URL(address).host,
      webhookUrl: `${address}/webhook/alertmanager`,
      ...(o.webhookToken ? { webhookToken: o.webhookToken } : {}),
      logger: o.logger,
    })
    stops.push(() => observability.stop())
    progress.done(
      `Prometheus ${observability.prometheusUrl}, Alertmanager ${observability.alertmanagerUrl} (configs and logs in ${dir})`,
    )

    return { app, service, observability, kafka, registry, prefix, raiseForMs, dir, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
