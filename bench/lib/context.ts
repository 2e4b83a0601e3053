import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { endpointsFromEnv, kafkaSettings, type Endpoints } from '../../src/config/endpoints'
import { SchemaSet } from '../../src/contracts/schemas'
import { describeError } from '../../src/errors'
import { Registry, waitForBroker, type KafkaSettings } from '../../src/kafka'
import { createLogger, type Logger } from '../../src/log'

/** The project root and where results go. */
export const ROOT = path.resolve(__dirname, '..', '..')
export const RESULTS_DIR = path.join(ROOT, 'bench', 'results')

/** What every benchmark module is given. */
export interface BenchContext {
  endpoints: Endpoints
  /** The driver's log (stderr); the table goes to stdout. */
  log: Logger
  /** A quiet logger for the clients and stages a benchmark runs in this process. */
  quiet: Logger
  schemas: SchemaSet
  registry: Registry
  /** Runs per figure (each figure is the median of them). */
  runs: number
  /** Smoke run: small counts and short windows; figures are not comparable with a full run. */
  quick: boolean
  kafka(clientId: string): KafkaSettings
  /** `bench.<id>.<time>.<random>.`: every benchmark's topics, groups and subjects live under their own prefix. */
  prefix(id: string): string
}

/** Builds the context once the broker and the registry answer. */
export async function createContext(options: { runs: number; quick: boolean }): Promise<BenchContext> {
  const endpoints = endpointsFromEnv()
  const log = createLogger({
    destination: 'stderr',
    level: process.env.LOG_LEVEL ?? 'info',
  }).child({ module: 'bench' })
  const quiet = createLogger({ destination: 'stderr', level: process.env.BENCH_CLIENT_LOG_LEVEL ?? 'warn' })
  const kafka = (clientId: string): KafkaSettings => kafkaSettings(endpoints, clientId, quiet)
  await waitForBroker(kafka('bench'), { timeoutMs: 15_000 }).catch((err: unknown) => {
    throw new Error(`${describeError(err)} (start the local stack with npm run stack:up)`)
  })
  const registry = new Registry(endpoints.registryUrl, endpoints.registryAccess)
  await registry.ping()
  return {
    endpoints,
    log,
    quiet,
    schemas: SchemaSet.load(),
    registry,
    runs: options.runs,
    quick: options.quick,
    kafka,
    prefix: (id) => `bench.${id}.${Date.now().toString(36)}.${randomBytes(2).toString('hex')}.`,
  }
}
