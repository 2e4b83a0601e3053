import { ConfigError } from '../errors'

/** Where Kafka and the schema registry are. */
export interface Endpoints {
  brokers: string[]
  /** Confluent-compatible API base, e.g. http://127.0.0.1:8081/apis/ccompat/v7 */
  registryUrl: string
}

export const DEFAULT_KAFKA_PORT = 9092
export const DEFAULT_REGISTRY_PORT = 8081
export const CCOMPAT_PATH = '/apis/ccompat/v7'

/** Parses `host:port,host:port`; rejects anything else with a message naming the variable. */
export function parseBrokers(value: string, source = 'KAFKA_BROKERS'): string[] {
  const brokers = value
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0)
  if (brokers.length === 0) throw new ConfigError(`${source} is empty; expected host:port[,host:port…]`)
  for (const b of brokers) {
    if (!/^[A-Za-z0-9._-]+:\d{1,5}$/.test(b) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(b)) {
      throw new ConfigError(`${source} has "${b}"; expected host:port`)
    }
  }
  return brokers
}

/** Parses an http(s) URL and drops a trailing slash. */
export function parseRegistryUrl(value: string, source = 'SCHEMA_REGISTRY_URL'): string {
  let url: URL
  try {
    url = new URL(value.trim())
  } catch (cause) {
    throw new ConfigError(`${source} is not a URL: "${value}"`, { cause })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${source} must be http(s), got "${value}"`)
  }
  return url.toString().replace(/\/+$/, '')
}

/**
 * The endpoints Nightshift talks to: the external ones when KAFKA_BROKERS /
 * SCHEMA_REGISTRY_URL are set, otherwise the local stack's (ports from KAFKA_PORT and
 * REGISTRY_PORT).
 */
export function endpointsFromEnv(env: NodeJS.ProcessEnv = process.env): Endpoints {
  const kafkaPort = Number(env.KAFKA_PORT ?? DEFAULT_KAFKA_PORT)
  const registryPort = Number(env.REGISTRY_PORT ?? DEFAULT_REGISTRY_PORT)
  return {
    brokers: env.KAFKA_BROKERS ? parseBrokers(env.KAFKA_BROKERS) : [`127.0.0.1:${kafkaPort}`],
    registryUrl: env.SCHEMA_REGISTRY_URL
      ? parseRegistryUrl(env.SCHEMA_REGISTRY_URL)
      : `http://127.0.0.1:${registryPort}${CCOMPAT_PATH}`,
  }
}
