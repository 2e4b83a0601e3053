/**
 * The demo service: a pretend `demo-checkout` that Prometheus scrapes and Nightshift
 * fixes. It serves
 * - `GET /metrics`: `demo_checkout_requests_total{outcome="ok"|"error"}` from simulated
 *   traffic (every 100 ms), `demo_checkout_broken` and `demo_checkout_log_level{logger}`
 *   (the configured level as a number: TRACE 0 … OFF 6, inherited -1);
 * - a Spring Boot actuator-style admin API, the one the `log-level` and `thread-dump`
 *   actions call: `GET|POST /actuator/loggers/{name}` (`{"configuredLevel": …}`) and
 *   `GET /actuator/threaddump` (text);
 * - `POST /demo/break` and `POST /demo/fix`: half of the requests fail while broken.
 *
 * It observes its own level: while a logger is at DEBUG or finer, each failed request
 * writes a debug line (what the raise is for), and every level change is kept in
 * {@link DemoService.levelChanges} and logged.
 */
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import { Counter, Gauge, Registry } from 'prom-client'
import type { Logger } from '../log'

/** Spring Boot's levels, finest first; the index is the metric's value. */
const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL', 'OFF'] as const
type Level = (typeof LEVELS)[number]

/** The logger the demo's traffic logs to (and whose level the demo route raises). */
export const DEMO_LOGGER = 'com.example.checkout'

/** One change of a logger's configured level, as the service saw it. */
export interface LevelChange {
  at: number
  logger: string
  /** The configured level before; null: inherited. */
  from: Level | null
  to: Level | null
}

export interface DemoService {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly port: number
  /** Every level change, oldest first. */
  readonly levelChanges: readonly LevelChange[]
  /** Debug lines written because a logger was at DEBUG while requests failed. */
  debugLines(): number
  /** The logger's configured level (null: it inherits ROOT's). */
  levelOf(logger: string): Level | null
  broken(): boolean
  setBroken(broken: boolean): void
  close(): Promise<void>
}

export interface DemoServiceOptions {
  host?: string
  /** 0: any free port. */
  port?: number
  logger: Logger
  /** Simulated requests per 100 ms tick (default 10). */
  requestsPerTick?: number
}

function isLevel(value: unknown): value is Level {
  return typeof value === 'string' && (LEVELS as readonly string[]).includes(value.toUpperCase())
}

/** Starts the demo service; resolves once it listens. */
export async function startDemoService(options: DemoServiceOptions): Promise<DemoService> {
  const log = options.logger.child({ module: 'demo-service' })
  const configured = new Map<string, Level | null>([
    ['ROOT', 'INFO'],
    [DEMO_LOGGER, null],
  ])
  const levelChanges: LevelChange[] = []
  let isBroken = false
  let debugLines = 0
  let tick = 0

  const metrics = new Registry()
  const requests = new Counter({
    name: 'demo_checkout_requests_total',
    help: 'Simulated checkout requests by outcome.',
    labelNames: ['outcome'],
    registers: [metrics],
  })
  requests.inc({ outcome: 'ok' }, 0)
  requests.inc({ outcome: 'error' }, 0)
  new Gauge({
    name: 'demo_checkout_broken',
    help: '1 while the demo service is broken (POST /demo/break).',
    registers: [metrics],
    collect() {
      this.set(isBroken ? 1 : 0)
    },
  })
  new Gauge({
    name: 'demo_checkout_log_level',
    help: 'Configured level of each logger: TRACE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4, FATAL 5, OFF 6; -1 inherited.',
    labelNames: ['logger'],
    registers: [metrics],
    collect() {
      for (const [name, level] of configured) this.set({ logger: name }, level === null ? -1 : LEVELS.indexOf(level))
    },
  })

  const effective = (name: string): Level => configured.get(name) ?? configured.get('ROOT') ?? 'INFO'
  const perTick = options.requestsPerTick ?? 10
  const traffic = setInterval(() => {
    tick += 1
    for (let i = 0; i < perTick; i += 1) {
      const failed = isBroken && (tick * perTick + i) % 2 === 0
      requests.inc({ outcome: failed ? 'error' : 'ok' })
      if (failed && LEVELS.indexOf(effective(DEMO_LOGGER)) <= LEVELS.indexOf('DEBUG')) debugLines += 1
    }
  }, 100)
  traffic.unref()

  const app = Fastify({ logger: false })
  app.get('/metrics', async (_req, reply) => reply.type(metrics.contentType).send(await metrics.metrics()))
  app.get<{ Params: { name: string } }>('/actuator/loggers/:name', async (req, reply) => {
    const { name } = req.params
    return reply.send({ configuredLevel: configured.get(name) ?? null, effectiveLevel: effective(name) })
  })
  app.post<{ Params: { name: string }; Body: unknown }>('/actuator/loggers/:name', async (req, reply) => {
    const { name } = req.params
    const body = req.body as { configuredLevel?: unknown } | undefined
    const wanted = body?.configuredLevel
    if (wanted !== null && !isLevel(wanted))
      return reply.code(400).send({ error: `configuredLevel must be one of ${LEVELS.join(', ')} or null` })
    const to = wanted === null ? null : (wanted.toUpperCase() as Level)
    if (name === 'ROOT' && to === null) return reply.code(400).send({ error: 'ROOT cannot inherit' })
    const from = configured.get(name) ?? null
    configured.set(name, to)
    levelChanges.push({ at: Date.now(), logger: name, from, to })
    log.info({ logger: name, from: from ?? '(inherited)', to: to ?? '(inherited)' }, 'log level changed')
    return reply.code(204).send()
  })
  app.get('/actuator/threaddump', async (_req, reply) =>
    reply
      .type('text/plain')
      .send(
        `"main" #1 prio=5 os_prio=0 tid=0x1 nid=0x1 runnable\n   java.lang.Thread.State: RUNNABLE\n\n"checkout-worker-1" #12 prio=5 tid=0x2 nid=0x2 waiting on condition\n   java.lang.Thread.State: TIMED_WAITING (sleeping)\n`,
      ),
  )
  app.post('/demo/break', async (_req, reply) => {
    isBroken = true
    log.info('demo service broken: half of the checkout requests fail')
    return reply.code(204).send()
  })
  app.post('/demo/fix', async (_req, reply) => {
    isBroken = false
    log.info('demo service fixed')
    return reply.code(204).send()
  })

  await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 })
  const { port } = app.server.address() as AddressInfo
  const url = `http://${options.host ?? '127.0.0.1'}:${port}`
  log.info({ url }, 'demo service listening')
  return {
    url,
    port,
    levelChanges,
    debugLines: () => debugLines,
    levelOf: (name) => configured.get(name) ?? null,
    broken: () => isBroken,
    setBroken(value) {
      isBroken = value
    },
    async close() {
      clearInterval(traffic)
      await app.close()
    },
  }
}
