import { ConfigError } from '../errors'
import type { KafkaSettings } from '../kafka/connection'
import type { Logger } from '../log'
import { Secret } from './secret'
import { kafkaSecurityFromEnv, registryAccessFromEnv, type KafkaSecurity, type RegistryAccess } from './security'

/** Where Kafka and the schema registry are, and how Nightshift authenticates to them. */
export interface Endpoints {
  brokers: string[]
  /** Confluent-compatible API base, e.g. http://127.0.0.1:8081/apis/ccompat/v7 */
  registryUrl: string
  /** TLS and SASL towards the brokers; plaintext when absent. */
  kafkaSecurity?: KafkaSecurity
  /** Registry credentials and CA; none when absent. */
  registryAccess?: RegistryAccess
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

/** `value` with any `user:password@` replaced, for error messages. */
function withoutUserInfo(value: string): string {
  return value.replace(/\/\/[^/@]*@/, '//[redacted]@')
}

/** Parses an http(s) URL and drops a trailing slash and any `user:password@`. */
export function parseRegistryUrl(value: string, source = 'SCHEMA_REGISTRY_URL'): string {
  return parseRegistryUrlWithUserInfo(value, source).url
}

function parseRegistryUrlWithUserInfo(value: string, source: string): { url: string; userInfo?: Secret } {
  let url: URL
  try {
    url = new URL(value.trim())
  } catch (cause) {
    throw new ConfigError(`${source} is not a URL: "${withoutUserInfo(value)}"`, { cause })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${source} must be http(s), got "${withoutUserInfo(value)}"`)
  }
  const userInfo =
    url.username === ''
      ? undefined
      : new Secret(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`)
  url.username = ''
  url.password = ''
  return { url: url.toString().replace(/\/+$/, ''), ...(userInfo === undefined ? {} : { userInfo }) }
}

/**
 * The endpoints Nightshift talks to: the external ones when KAFKA_BROKERS /
 * SCHEMA_REGISTRY_URL are set, otherwise the local stack's (ports from KAFKA_PORT and
 * REGISTRY_PORT); with TLS / SASL from KAFKA_TLS* / KAFKA_SASL_* and registry
 * credentials from SCHEMA_REGISTRY_* (see docs/operations.md, "Running at scale").
 * A `user:password@` in SCHEMA_REGISTRY_URL is taken as its basic auth.
 */
export function endpointsFromEnv(env: NodeJS.ProcessEnv = process.env): Endpoints {
  const kafkaPort = Number(env.KAFKA_PORT ?? DEFAULT_KAFKA_PORT)
  const registryPort = Number(env.REGISTRY_PORT ?? DEFAULT_REGISTRY_PORT)
  const registry = env.SCHEMA_REGISTRY_URL
    ? parseRegistryUrlWithUserInfo(env.SCHEMA_REGISTRY_URL, 'SCHEMA_REGISTRY_URL')
    : { url: `http://127.0.0.1:${registryPort}${CCOMPAT_PATH}` }
  const kafkaSecurity = kafkaSecurityFromEnv(env)
  let registryAccess = registryAccessFromEnv(env)
  if (registry.userInfo !== undefined) {
    if (registryAccess?.basicAuth !== undefined || registryAccess?.bearerToken !== undefined) {
      throw new ConfigError('SCHEMA_REGISTRY_URL carries user:password@ and registry credentials are set too; set one')
    }
    registryAccess = { ...registryAccess, basicAuth: registry.userInfo }
  }
  return {
    brokers: env.KAFKA_BROKERS ? parseBrokers(env.KAFKA_BROKERS) : [`127.0.0.1:${kafkaPort}`],
    registryUrl: registry.url,
    ...(kafkaSecurity === undefined ? {} : { kafkaSecurity }),
    ...(registryAccess === undefined ? {} : { registryAccess }),
  }
}

/**
 * The settings every Kafka client of Nightshift is built from: the one place that turns
 * endpoints into a client's brokers, TLS and SASL, so no command connects differently.
 */
export function kafkaSettings(endpoints: Endpoints, clientId: string, logger: Logger): KafkaSettings {
  return {
    brokers: endpoints.brokers,
    clientId,
    logger,
    ...(endpoints.kafkaSecurity === undefined ? {} : { security: endpoints.kafkaSecurity }),
  }
}
