import type { AddressInfo } from 'node:net'
import fs from 'node:fs'
import path from 'node:path'
import { Registry as MetricsRegistry } from 'prom-client'
import { assertConfig } from './config/check'
import { kafkaSettings, type Endpoints } from './config/endpoints'
import { createConfigMetrics, watchConfig, type ConfigMetrics, type WatchedConfig } from './config/watched-file'
import { SchemaSet } from './contracts/schemas'
import { ESCALATION_BY_DEFAULT, escalationActions, parseActionsFile } from './actions/worker/actions-file'
import { BUILTIN_ACTIONS } from './actions/handlers/builtins'
import { ActionWorkerPool } from './actions/worker/pool'
import { ConfigError } from './errors'
import { DEFAULT_HTTP_LISTEN, buildHttpServer, type WebhookAuth } from './http'
import { registerSloPage } from './http/slo-page'
import { registerApprovalRoutes } from './http/approvals'
import { addressOf, buildOpsServer } from './http/ops'
import { registerConsoleRoutes } from './console/api'
import { consoleListenCheck, createConsoleAccess, decorateConsoleRequest, type ConsoleAccess } from './console/access'
import { registerConsolePage } from './console/page'
import { startConsoleViews, type RunningConsoleViews } from './console/views/start'
import type { FastifyInstance } from 'fastify'
import { KafkaIngestPublisher } from './ingest'
import { KafkaAdmin, Registry, waitForBroker, type KafkaSettings } from './kafka'
import type { Logger } from './log'
import { createStageMetrics, type StageMetrics } from './runner/metrics'
import { StageRunner } from './runner/runner'
import type { StageDefinition } from './runner/types'
import { DEFAULT_DEDUP, dedupStage, type DedupStageSettings } from './stages/dedup/stage'
import { parseCatalog } from './stages/enrich/catalog'
import { enrichStage } from './stages/enrich/stage'
import { parseLimits } from './stages/ratelimit/limits'
import { parseRoutesFile, type RouteTree } from './stages/route/config'
import { planRoute } from './stages/route/decide'
import { routeStage } from './stages/route/stage'
import { createSloMetrics } from './stages/slo/metrics'
import { parseSlos } from './slo/slos'
import { sloStages } from './stages/slo/stage'
import { sloReport, type SloReportRow } from './stages/slo/report'
import { staleAfterFromEnv } from './episodes/rule'
import type { SlosConfig } from './slo/slos'
import type { SloBudgetRecord } from './contracts/records'
import { loadTopicsFile } from './topology/topics-file'
import { ratelimitStage } from './stages/ratelimit/stage'
import { STAGES, topicNames, type Stage, type TopicNames } from './topology/names'

/** The webhook's HTTP listener (the ingest stage). */
export interface HttpOptions {
  host?: string
  /** 0 picks a free port (tests); see {@link App.httpAddress}. */
  port?: number
  auth?: WebhookAuth
  bodyLimitBytes?: number
}

export interface AppOptions {
  endpoints: Endpoints
  logger: Logger
  /** How long start() waits for Kafka and the registry before failing. */
  readyTimeoutMs?: number
  /** Stages to run in this process, of STAGES (default: all of them). */
  stages?: readonly string[]
  /** Prefix of every topic and group name (tests, replays); empty in production. */
  prefix?: string
  dedup?: DedupStageSettings
  /** Folder of the files teams own (topics, catalog, limits, routes, actions, slos .yaml); default topology/. */
  configDir?: string
  /** How often those files are checked for edits (default 1 s). */
  configPollMs?: number
  http?: HttpOptions
  /** Consumer group session timeout of the stages (default 30 s). */
  sessionTimeoutMs?: number
  metrics?: MetricsRegistry
  /** Action workers to run when the actions stage runs (default: every action of actions.yaml). */
  actions?: readonly string[]
  /**
   * Where a process without the webhook serves /metrics, /healthz, /readyz, /api/slo and
   * /slo (none: no HTTP server). A process running ingest serves them on the webhook's port.
   */
  opsHttp?: { host: string; port: number }
  /** Environment action handlers read secrets from (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>
  /**
   * Serve the operator console at `/` on the process's HTTP server (default: on, unless
   * NIGHTSHIFT_CONSOLE=off). Its credentials come from `env` (src/console/access.ts).
   */
  console?: boolean
}

/** A running Nightshift process: what `nightshift run` starts and stops. */
export interface App {
  start(): Promise<void>
  stop(): Promise<void>
  readonly metrics: MetricsRegistry
  /** `http://host:port` of the webhook once started (when the ingest stage runs). */
  httpAddress(): string | undefined
  /** `http://host:port/` of the operator console once started, when this process serves it. */
  consoleAddress(): string | undefined
  /**
   * Resolves with the error when a running stage stops for good (the broker refused its
   * group, topics or transactional ids): the process cannot do its work and should stop
   * with that error. Never resolves otherwise.
   */
  readonly failure: Promise<ConfigError>
}

interface StageContext {
  topics: TopicNames
  prefix: string
  kafka: KafkaSettings
  registry: Registry
  schemas: SchemaSet
  metrics: StageMetrics
  metricsRegistry: MetricsRegistry
  configMetrics: ConfigMetrics
  /** Watched config files, closed when the app stops. */
  watchers: WatchedConfig<unknown>[]
  logger: Logger
  options: AppOptions
  /** The route tree and escalations, once per process: ratelimit and route share them. */
  routing?: Routing
  /** A running stage stopped for good; see {@link App.failure}. */
  onFatal: (err: ConfigError) => void
  /** Set by the slo stage when it runs in this process: what GET /api/slo reports. */
  slo?: { config: () => SlosConfig; budgets: Map<string, SloBudgetRecord> }
  /** The operator console's views and access, when the console is served. */
  console?: { views: RunningConsoleViews; access: ConsoleAccess; served: boolean }
}

/** The folder of the files teams own, shipped with the code. */
export const DEFAULT_CONFIG_DIR = path.resolve(__dirname, '..', 'topology')

/**
 * Loads `file` of the config folder now (a bad file stops the start) and keeps it
 * current: edits that validate apply to the next record, bad edits are rejected and
 * the last good version keeps running.
 */
function watched<T>(ctx: StageContext, file: string, parse: (text: string, file: string) => T): () => T {
  const config = watchConfig({
    file: path.join(ctx.options.configDir ?? DEFAULT_CONFIG_DIR, file),
    parse,
    logger: ctx.logger,
    metrics: ctx.configMetrics,
    ...(ctx.options.configPollMs === undefined ? {} : { intervalMs: ctx.options.configPollMs }),
  })
  ctx.watchers.push(config)
  return () => config.current()
}

/** Runs a stage definition on the shared runner. */
function runner<I, S extends object>(ctx: StageContext, stage: StageDefinition<I, S>): StageRunner<I, S> {
  return new StageRunner({
    stage,
    kafka: ctx.kafka,
    registry: ctx.registry,
    schemas: ctx.schemas,
    dlqTopic: ctx.topics.dlq,
    metrics: ctx.metrics,
    logger: ctx.logger,
    onFatal: ctx.onFatal,
    ...(ctx.options.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: ctx.options.sessionTimeoutMs }),
  })
}

/** Partition count of an existing topic (the topology must have been applied). */
async function partitionsOf(ctx: StageContext, topic: string): Promise<number> {
  const admin = await KafkaAdmin.connect(ctx.kafka)
  try {
    const described = (await admin.describeTopics([topic])).get(topic)
    if (!described) throw new ConfigError(`topic ${topic} does not exist; run \`nightshift topology apply\``)
    return described.partitions
  } finally {
    await admin.disconnect()
  }
}

/** The runnable part of a stage, whatever its kind. */
interface Runnable {
  start(): Promise<void>
  stop(): Promise<void>
  address?(): string | undefined
}

/** What every Nightshift HTTP server serves besides its own routes: /metrics, /api/slo, /slo. */
function registerOpsRoutes(server: FastifyInstance, ctx: StageContext, host: string): void {
  server.get('/metrics', async (_request, reply) =>
    reply.type(ctx.metricsRegistry.contentType).send(await ctx.metricsRegistry.metrics()),
  )
  server.get('/api/slo', async (_request, reply) => {
    const slo = ctx.slo
    if (!slo)
      return reply.code(404).send({ error: 'the slo stage does not run in this process (run it with --stage slo)' })
    return reply.send({
      generatedAt: new Date().toISOString(),
      slos: sloReport(slo.config(), slo.budgets, Date.now(), staleAfterFromEnv(process.env)),
    })
  })
  registerSloPage(server)
  registerApprovalRoutes(server, { ...ctx, env: ctx.options.env ?? process.env })
  registerConsole(server, ctx, host)
}

/**
 * The operator console (`/`, `/api/console/…`) on `server`, listening on `host`. A
 * console without credentials lets whoever reaches it approve and pause, so it is served
 * on a loopback address only; elsewhere the process runs without it and says why.
 */
function registerConsole(server: FastifyInstance, ctx: StageContext, host: string): void {
  const parts = ctx.console
  if (!parts) return
  try {
    consoleListenCheck(host, parts.access)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    ctx.logger.child({ module: 'console' }).warn({ err }, 'not serving the console')
    return
  }
  decorateConsoleRequest(server)
  registerConsoleRoutes(server, {
    views: parts.views,
    access: parts.access,
    kafka: ctx.kafka,
    registry: ctx.registry,
    topics: ctx.topics,
    logger: ctx.logger,
    slos: consoleSlos(ctx, parts.views),
    stageMetrics: ctx.metrics,
    configMetrics: ctx.configMetrics,
    metrics: ctx.metricsRegistry,
  })
  registerConsolePage(server, { authenticate: parts.access.authenticate })
  parts.served = true
}

/**
 * What the console's SLOs tab shows: what /api/slo reports when the slo stage runs here,
 * else the same report from the budgets the console's views read (with slos.yaml).
 */
function consoleSlos(ctx: StageContext, views: RunningConsoleViews): () => SloReportRow[] | undefined {
  const slosFile = path.join(ctx.options.configDir ?? DEFAULT_CONFIG_DIR, 'slos.yaml')
  const config = ctx.slo?.config ?? (fs.existsSync(slosFile) ? watched(ctx, 'slos.yaml', parseSlos) : undefined)
  if (!config) return () => undefined
  return () => {
    const budgets = ctx.slo?.budgets ?? new Map(views.budgets().map((b) => [b.slo, b]))
    return sloReport(config(), budgets, Date.now(), staleAfterFromEnv(process.env))
  }
}

/** The HTTP server of a process without the webhook, when asked for (`--metrics-port`). */
function opsStage(ctx: StageContext, listen: { host: string; port: number }): Runnable {
  const server = buildOpsServer(ctx.logger)
  registerOpsRoutes(server, ctx, listen.host)
  let address: string | undefined
  return {
    async start() {
      await server.listen(listen)
      address = addressOf(server)
      ctx.logger.child({ module: 'http' }).info({ address }, 'metrics and health listening')
    },
    stop: () => server.close(),
    address: () => address,
  }
}

/**
 * The webhook: an HTTP server whose alerts go to alerts.raw, plus /healthz, /readyz and
 * /metrics. It starts accepting once Kafka answers, and says so on /readyz.
 */
function ingestStage(ctx: StageContext): Runnable {
  const http = ctx.options.http ?? {}
  const publisher = new KafkaIngestPublisher({
    kafka: ctx.kafka,
    registry: ctx.registry,
    schemas: ctx.schemas,
    topics: ctx.topics,
    logger: ctx.logger,
  })
  const server = buildHttpServer({
    logger: ctx.logger,
    publisher,
    metrics: ctx.metricsRegistry,
    ...(http.auth ? { auth: http.auth } : {}),
    ...(http.bodyLimitBytes ? { bodyLimitBytes: http.bodyLimitBytes } : {}),
  })
  registerOpsRoutes(server, ctx, http.host ?? DEFAULT_HTTP_LISTEN.host)
  let address: string | undefined
  return {
    async start() {
      publisher.start()
      await server.listen({ host: http.host ?? DEFAULT_HTTP_LISTEN.host, port: http.port ?? DEFAULT_HTTP_LISTEN.port })
      const info = server.server.address() as AddressInfo
      address = `http://${info.address}:${info.port}`
      ctx.logger
        .child({ module: 'ingest' })
        .info({ address, auth: http.auth ? Object.keys(http.auth) : 'none' }, 'webhook listening')
    },
    async stop() {
      await server.close()
      await publisher.close()
    },
    address: () => address,
  }
}

/** How each stage is built. */
const STAGE_BUILDERS: Record<Stage, (ctx: StageContext) => Runnable | Promise<Runnable>> = {
  ingest: ingestStage,
  // With slos.yaml, dedup tells the slo stage hourly that an open episode is still re-sent (staleness).
  dedup: (ctx) => {
    const slosFile = path.join(ctx.options.configDir ?? DEFAULT_CONFIG_DIR, 'slos.yaml')
    const slos = fs.existsSync(slosFile) ? watched(ctx, 'slos.yaml', parseSlos) : () => undefined
    return runner(ctx, dedupStage(ctx.topics, ctx.prefix, ctx.options.dedup ?? DEFAULT_DEDUP, slos))
  },
  enrich: (ctx) => runner(ctx, enrichStage(ctx.topics, ctx.prefix, watched(ctx, 'catalog.yaml', parseCatalog))),
  ratelimit: async (ctx) => {
    // Only a held-back alert whose routes name an escalation takes escalation tokens.
    const { routes, escalations } = routing(ctx)
    return runner(
      ctx,
      ratelimitStage(ctx.topics, ctx.prefix, watched(ctx, 'limits.yaml', parseLimits), {
        partitions: await partitionsOf(ctx, ctx.topics.enriched),
        escalates: (record) => {
          const names = escalations()
          return planRoute(routes(), record).actions.some((a) => names.has(a.action))
        },
      }),
    )
  },
  route: (ctx) => {
    const { routes, escalations, actions } = routing(ctx)
    // Throttle notices page; without a declared page action there is nowhere to send them.
    const noticeAction = actions.includes('page') ? 'page' : null
    return runner(ctx, routeStage(ctx.topics, ctx.prefix, routes, { escalations, noticeAction }))
  },
  actions: actionsStage,
  slo: sloStage,
}

/**
 * The route tree and the escalation actions, watched: what route needs, and what
 * ratelimit needs to know whether a held-back alert would page. A route may only name an
 * action declared in topics.yaml (it has a topic and workers). Escalations are those of
 * actions.yaml (`escalation: true`, page unless it says otherwise); a config folder
 * without actions.yaml has page. One watcher per file in a process running both stages.
 */
function routing(ctx: StageContext): Routing {
  ctx.routing ??= loadRouting(ctx)
  return ctx.routing
}

interface Routing {
  routes: () => RouteTree
  escalations: () => ReadonlySet<string>
  /** The action names of topics.yaml. */
  actions: readonly string[]
}

function loadRouting(ctx: StageContext): Routing {
  const configDir = ctx.options.configDir ?? DEFAULT_CONFIG_DIR
  const { actions } = loadTopicsFile(ctx.schemas, path.join(configDir, 'topics.yaml'))
  const routes = watched(ctx, 'routes.yaml', (text, file) => parseRoutesFile(text, file, actions))
  if (!fs.existsSync(path.join(configDir, 'actions.yaml')))
    return { routes, escalations: () => ESCALATION_BY_DEFAULT, actions }
  const config = watched(ctx, 'actions.yaml', (text, file) =>
    parseActionsFile(text, file, { actionTopics: actions, builtins: BUILTIN_ACTIONS }),
  )
  // Computed once per loaded version of the file, not per record.
  let seen: unknown
  let names: ReadonlySet<string> = ESCALATION_BY_DEFAULT
  const escalations = (): ReadonlySet<string> => {
    const current = config()
    if (current !== seen) {
      seen = current
      names = escalationActions(current)
    }
    return names
  }
  return { routes, escalations, actions }
}

/** Action workers: one per action of actions.yaml, honouring the pauses on the control topic. */
function actionsStage(ctx: StageContext): Runnable {
  const configDir = ctx.options.configDir ?? DEFAULT_CONFIG_DIR
  const { actions } = loadTopicsFile(ctx.schemas, path.join(configDir, 'topics.yaml'))
  const config = watched(ctx, 'actions.yaml', (text, file) =>
    parseActionsFile(text, file, { actionTopics: actions, builtins: BUILTIN_ACTIONS }),
  )
  const unknown = (ctx.options.actions ?? []).filter((a) => !config().actions.has(a))
  if (unknown.length > 0)
    throw new ConfigError(
      `--action ${unknown.join(', ')}: not in ${config().file}; known: ${[...config().actions.keys()].join(', ')}`,
    )
  return new ActionWorkerPool({
    kafka: ctx.kafka,
    registry: ctx.registry,
    schemas: ctx.schemas,
    topics: ctx.topics,
    prefix: ctx.prefix,
    config,
    ...(ctx.options.actions ? { only: ctx.options.actions } : {}),
    partitionsOf: (topic) => partitionsOf(ctx, topic),
    runner: (stage) => runner(ctx, stage),
    metrics: ctx.metricsRegistry,
    logger: ctx.logger,
    env: ctx.options.env ?? process.env,
    // Budget gates need the SLO definitions; a config folder without slos.yaml gates nothing.
    slos: fs.existsSync(path.join(configDir, 'slos.yaml')) ? watched(ctx, 'slos.yaml', parseSlos) : () => undefined,
  })
}

/** SLO accounting: two indexers and the per-SLO budget fold, three runners of one stage. */
function sloStage(ctx: StageContext): Runnable {
  const metrics = createSloMetrics(ctx.metricsRegistry, staleAfterFromEnv(process.env))
  const config = watched(ctx, 'slos.yaml', parseSlos)
  const latest = new Map<string, SloBudgetRecord>()
  ctx.slo = { config, budgets: latest }
  const stages = sloStages(ctx.topics, ctx.prefix, config, (budgets) => {
    for (const b of budgets) latest.set(b.slo, b)
    metrics.update(budgets)
  })
  const runners = stages.map((stage) => runner(ctx, stage as unknown as StageDefinition<unknown, object>))
  return {
    async start() {
      for (const r of runners) await r.start()
    },
    async stop() {
      await Promise.all(runners.map((r) => r.stop()))
    },
  }
}

/**
 * Builds the Nightshift process from its dependencies. Tests build it in-process;
 * `src/main.ts` only parses arguments, builds, runs and handles signals.
 */
export function buildApp(options: AppOptions): App {
  const log = options.logger.child({ module: 'app' })
  const registry = new Registry(options.endpoints.registryUrl, options.endpoints.registryAccess)
  const timeoutMs = options.readyTimeoutMs ?? 30000
  const metrics = options.metrics ?? new MetricsRegistry()
  const selected = [...new Set(options.stages ?? STAGES)]
  const unknown = selected.filter((s) => !(STAGES as readonly string[]).includes(s))
  if (unknown.length > 0) {
    throw new ConfigError(`unknown stage(s): ${unknown.join(', ')}; known: ${STAGES.join(', ')}`)
  }
  const prefix = options.prefix ?? ''
  const kafka: KafkaSettings = kafkaSettings(options.endpoints, 'nightshift', options.logger)
  // Stages start before the webhook and stop after it: intake stops first.
  const ordered = [...selected.filter((s) => s !== 'ingest'), ...selected.filter((s) => s === 'ingest')]
  const running: Runnable[] = []
  const watchers: WatchedConfig<unknown>[] = []
  const env = options.env ?? process.env
  // The console is served on the process's HTTP server: the webhook's, else the ops server.
  const withConsole =
    (options.console ?? env.NIGHTSHIFT_CONSOLE?.trim().toLowerCase() !== 'off') &&
    (selected.includes('ingest') || options.opsHttp !== undefined)
  let consoleParts: StageContext['console']
  const consoleAddress = (): string | undefined => {
    const address = running.find((r) => r.address)?.address?.()
    return consoleParts?.served && address ? `${address}/` : undefined
  }
  let onFatal: (err: ConfigError) => void = () => undefined
  const failure = new Promise<ConfigError>((resolve) => (onFatal = resolve))

  return {
    metrics,
    failure,
    httpAddress: () => running.find((r) => r.address)?.address?.(),
    consoleAddress,
    async start() {
      // Every problem of every file the stages read, at once, before anything connects.
      assertConfig(options.configDir ?? DEFAULT_CONFIG_DIR, selected as Stage[])
      const clusterId = await waitForBroker(kafka, { timeoutMs })
      await registry.ping()
      const ctx: StageContext = {
        topics: topicNames(prefix),
        prefix,
        kafka,
        registry,
        schemas: SchemaSet.load(),
        metrics: createStageMetrics(metrics),
        metricsRegistry: metrics,
        configMetrics: createConfigMetrics(metrics),
        watchers,
        logger: options.logger,
        options,
        onFatal,
      }
      if (withConsole) {
        // Credentials first: a bad users file stops the start before anything else runs.
        const access = createConsoleAccess({ logger: options.logger, env, metrics: ctx.configMetrics })
        try {
          // Returns at once; the views rebuild from the topics while the stages start.
          const views = await startConsoleViews({ kafka, registry, topics: ctx.topics, logger: options.logger })
          consoleParts = { views, access, served: false }
          ctx.console = consoleParts
        } catch (err) {
          access.close()
          throw err
        }
      }
      for (const name of ordered) {
        const stage = await STAGE_BUILDERS[name as Stage](ctx)
        await stage.start()
        running.push(stage)
      }
      if (!selected.includes('ingest') && options.opsHttp) {
        const ops = opsStage(ctx, options.opsHttp)
        await ops.start()
        running.push(ops)
      }
      const consoleUrl = consoleAddress()
      if (consoleParts && consoleUrl)
        log.info({ console: consoleUrl, access: consoleParts.access.describe() }, 'console listening')
      log.info(
        {
          ...(consoleUrl ? { console: consoleUrl } : {}),
          brokers: options.endpoints.brokers,
          clusterId,
          registry: options.endpoints.registryUrl,
          stages: selected,
          prefix,
        },
        'nightshift ready',
      )
    },
    async stop() {
      const stages = running.splice(0).reverse()
      const intake = stages.filter((s) => s.address)
      await Promise.all(intake.map((s) => s.stop()))
      await Promise.all(stages.filter((s) => !s.address).map((s) => s.stop()))
      if (consoleParts) {
        const { views, access } = consoleParts
        consoleParts = undefined
        await views.stop()
        access.close()
      }
      for (const w of watchers.splice(0)) w.close()
      log.info({}, 'nightshift stopped')
    },
  }
}
