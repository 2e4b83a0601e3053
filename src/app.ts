import type { Endpoints } from './config/endpoints'
import { Registry, waitForBroker } from './kafka'
import type { Logger } from './log'

export interface AppOptions {
  endpoints: Endpoints
  logger: Logger
  /** How long start() waits for Kafka and the registry before failing. */
  readyTimeoutMs?: number
}

/** A running Nightshift process: what `nightshift run` starts and stops. */
export interface App {
  start(): Promise<void>
  stop(): Promise<void>
}

/**
 * Builds the Nightshift process from its dependencies. Tests build it in-process;
 * `src/main.ts` only parses arguments, builds, runs and handles signals.
 */
export function buildApp(options: AppOptions): App {
  const log = options.logger.child({ module: 'app' })
  const registry = new Registry(options.endpoints.registryUrl)
  const timeoutMs = options.readyTimeoutMs ?? 30000
  return {
    async start() {
      const clusterId = await waitForBroker(
        { brokers: options.endpoints.brokers, clientId: 'nightshift', logger: options.logger },
        { timeoutMs },
      )
      await registry.ping()
      log.info({ brokers: options.endpoints.brokers, clusterId, registry: options.endpoints.registryUrl }, 'nightshift ready')
    },
    async stop() {
      log.info({}, 'nightshift stopped')
    },
  }
}
