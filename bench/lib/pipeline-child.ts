/**
 * A Nightshift process for benchmarks that must not share the driver's event loop or
 * memory: buildApp with the stages it is given, started, then driven over IPC by
 * bench/lib/child.ts. Configuration comes in BENCH_CHILD (JSON, {@link ChildConfig}).
 *
 * Messages in: `{ type: 'stats', gc?: true }` → replies `{ type: 'stats', ... }` with
 * process.cpuUsage(), memory and the app's stage counters; `{ type: 'stop' }` → stops the
 * app and exits 0. Out: `{ type: 'ready', httpAddress }` once started, `{ type: 'error' }`
 * when start fails. It stops by itself when the driver goes away.
 */
import { buildApp, type App } from '../../src/app'
import { endpointsFromEnv } from '../../src/config/endpoints'
import { describeError } from '../../src/errors'
import { createLogger } from '../../src/log'
import { stageCounts } from './app-metrics'

/** What the driver asks the child to run. */
export interface ChildConfig {
  prefix: string
  stages: string[]
  configDir?: string
  dedup?: { maxEntries: number; ttlMs: number }
  /** Listen for the webhook (when ingest runs) on 127.0.0.1 and this port (0: any free one). */
  httpPort?: number
  logLevel?: string
}

/** The child's answer to `stats`. */
export interface ChildStats {
  type: 'stats'
  cpu: NodeJS.CpuUsage
  rss: number
  heapUsed: number
  heapTotal: number
  /** Memory of Buffers and other objects outside the V8 heap (arrayBuffers included). */
  external: number
  arrayBuffers: number
  /** performance.timeOrigin + performance.now(): wall time in ms with sub-ms precision. */
  at: number
  counts: Record<string, Awaited<ReturnType<typeof stageCounts>>>
}

function send(message: unknown): void {
  process.send?.(message)
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.BENCH_CHILD ?? '{}') as ChildConfig
  // JSON lines on stdout: the driver reads the runner's lines (restores) from there.
  const logger = createLogger({ level: config.logLevel ?? 'info', destination: 'stdout' })
  const app: App = buildApp({
    endpoints: endpointsFromEnv(),
    logger,
    stages: config.stages,
    prefix: config.prefix,
    ...(config.configDir ? { configDir: config.configDir } : {}),
    ...(config.dedup ? { dedup: config.dedup } : {}),
    ...(config.httpPort === undefined ? {} : { http: { host: '127.0.0.1', port: config.httpPort } }),
    readyTimeoutMs: 30_000,
  })
  let stopping = false
  const stop = async (code: number) => {
    if (stopping) return
    stopping = true
    await app.stop().catch((err: unknown) => logger.error({ err: describeError(err) }, 'stop failed'))
    logger.flush?.()
    process.exit(code)
  }
  process.on('disconnect', () => void stop(0))
  process.on('SIGTERM', () => void stop(0))
  process.on('message', (message: { type?: string; gc?: boolean }) => {
    if (message.type === 'stop') void stop(0)
    if (message.type === 'stats') {
      if (message.gc && typeof global.gc === 'function') global.gc()
      void (async () => {
        const counts: ChildStats['counts'] = {}
        for (const stage of config.stages) if (stage !== 'ingest') counts[stage] = await stageCounts(app.metrics, stage)
        const memory = process.memoryUsage()
        const stats: ChildStats = {
          type: 'stats',
          cpu: process.cpuUsage(),
          rss: memory.rss,
          heapUsed: memory.heapUsed,
          heapTotal: memory.heapTotal,
          external: memory.external,
          arrayBuffers: memory.arrayBuffers,
          at: performance.timeOrigin + performance.now(),
          counts,
        }
        send(stats)
      })()
    }
  })
  try {
    await app.start()
  } catch (err) {
    send({ type: 'error', error: describeError(err) })
    await stop(1)
    return
  }
  send({ type: 'ready', httpAddress: app.httpAddress() })
}

void main()
