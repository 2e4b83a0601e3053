import fs from 'node:fs'
import { ConfigError } from '../errors'
import { Secret } from './secret'

/** The SASL mechanisms kafkajs speaks that Nightshift offers (AWS IAM needs a plugin). */
export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'] as const
export type SaslMechanism = (typeof SASL_MECHANISMS)[number]

/** TLS towards the brokers: PEM contents, read once at start. */
export interface KafkaTls {
  /** CA bundle the brokers' certificates are checked against; the system's when absent. */
  ca?: string
  /** Client certificate and key, for mTLS (both or neither). */
  cert?: string
  key?: Secret
  /** The name the broker certificate must carry, when it is not the host dialled. */
  servername?: string
}

export type KafkaSasl =
  | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: Secret }
  /** The token is read again (file) or fetched again (command) each time kafkajs asks. */
  | { mechanism: 'oauthbearer'; tokenFile?: string; tokenCommand?: string }

/** How Nightshift authenticates to the brokers; absent parts mean plaintext, no SASL. */
export interface KafkaSecurity {
  tls?: KafkaTls
  sasl?: KafkaSasl
}

/** How Nightshift authenticates to the schema registry. */
export interface RegistryAccess {
  /** `user:password`, as Confluent clients' `basic.auth.user.info`. */
  basicAuth?: Secret
  bearerToken?: Secret
  /** CA bundle (PEM) for an https registry whose certificate the system does not trust. */
  ca?: string
}

type Env = NodeJS.ProcessEnv

function readFile(path: string, variable: string): string {
  try {
    return fs.readFileSync(path, 'utf8')
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'unreadable'
    throw new ConfigError(`${variable} names ${path}, which cannot be read (${code})`, { cause })
  }
}

function set(env: Env, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value.trim() === '' ? undefined : value
}

/** A PEM file named by `variable`, checked to hold at least one PEM block. */
function pemFile(env: Env, variable: string): string | undefined {
  const path = set(env, variable)
  if (path === undefined) return undefined
  const text = readFile(path.trim(), variable)
  if (!/-----BEGIN [A-Z0-9 ]+-----/.test(text)) {
    throw new ConfigError(`${variable} names ${path.trim()}, which holds no PEM block (-----BEGIN …-----)`)
  }
  return text
}

/**
 * A secret given either inline (`NAME`) or as a file (`NAME_FILE`, e.g. a mounted
 * Kubernetes secret); the file's trailing newline is dropped. Never both.
 */
export function secretFromEnv(env: Env, name: string): Secret | undefined {
  const inline = set(env, name)
  const file = set(env, `${name}_FILE`)
  if (inline !== undefined && file !== undefined) {
    throw new ConfigError(`both ${name} and ${name}_FILE are set; set one`)
  }
  if (file !== undefined) {
    const value = readFile(file.trim(), `${name}_FILE`).replace(/\r?\n$/, '')
    if (value === '') throw new ConfigError(`${name}_FILE names ${file.trim()}, which is empty`)
    return new Secret(value)
  }
  return inline === undefined ? undefined : new Secret(inline)
}

function parseBool(value: string, variable: string): boolean {
  const v = value.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(v)) return true
  if (['0', 'false', 'no', 'off'].includes(v)) return false
  throw new ConfigError(`${variable} must be true or false, got "${value}"`)
}

function tlsFromEnv(env: Env): KafkaTls | undefined {
  const ca = pemFile(env, 'KAFKA_TLS_CA_FILE')
  const cert = pemFile(env, 'KAFKA_TLS_CERT_FILE')
  const keyText = pemFile(env, 'KAFKA_TLS_KEY_FILE')
  const servername = set(env, 'KAFKA_TLS_SERVERNAME')?.trim()
  const detail = ca !== undefined || cert !== undefined || keyText !== undefined || servername !== undefined
  const flag = set(env, 'KAFKA_TLS')
  const on = flag === undefined ? detail : parseBool(flag, 'KAFKA_TLS')
  if (!on) {
    if (detail) {
      throw new ConfigError('KAFKA_TLS is false but KAFKA_TLS_* settings are given; set KAFKA_TLS=true or drop them')
    }
    return undefined
  }
  if ((cert === undefined) !== (keyText === undefined)) {
    throw new ConfigError('mTLS needs both KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE; only one is set')
  }
  return {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(keyText === undefined ? {} : { key: new Secret(keyText) }),
    ...(servername === undefined ? {} : { servername }),
  }
}

function saslFromEnv(env: Env): KafkaSasl | undefined {
  const raw = set(env, 'KAFKA_SASL_MECHANISM')
  const username = set(env, 'KAFKA_SASL_USERNAME')?.trim()
  const password = secretFromEnv(env, 'KAFKA_SASL_PASSWORD')
  const tokenFile = set(env, 'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE')?.trim()
  const tokenCommand = set(env, 'KAFKA_SASL_OAUTHBEARER_TOKEN_COMMAND')?.trim()
  if (raw === undefined) {
    const given = [
      ['KAFKA_SASL_USERNAME', username],
      ['KAFKA_SASL_PASSWORD(_FILE)', password],
      ['KAFKA_SASL_OAUTHBEARER_TOKEN_FILE', tokenFile],
      ['KAFKA_SASL_OAUTHBEARER_TOKEN_COMMAND', tokenCommand],
    ].filter(([, v]) => v !== undefined)
    if (given.length > 0) {
      throw new ConfigError(
        `${given.map(([n]) => String(n)).join(', ')} set without KAFKA_SASL_MECHANISM (one of ${SASL_MECHANISMS.join(', ')})`,
      )
    }
    return undefined
  }
  const mechanism = raw.trim().toLowerCase()
  if (!(SASL_MECHANISMS as readonly string[]).includes(mechanism)) {
    throw new ConfigError(`KAFKA_SASL_MECHANISM is "${raw}"; expected one of ${SASL_MECHANISMS.join(', ')}`)
  }
  if (mechanism === 'oauthbearer') {
    if (username !== undefined || password !== undefined) {
      throw new ConfigError(
        'KAFKA_SASL_MECHANISM=oauthbearer takes a token, not KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD',
      )
    }
    if ((tokenFile === undefined) === (tokenCommand === undefined)) {
      throw new ConfigError(
        'KAFKA_SASL_MECHANISM=oauthbearer needs exactly one of KAFKA_SASL_OAUTHBEARER_TOKEN_FILE or KAFKA_SASL_OAUTHBEARER_TOKEN_COMMAND',
      )
    }
    return tokenFile !== undefined ? { mechanism, tokenFile } : { mechanism, tokenCommand: tokenCommand! }
  }
  if (tokenFile !== undefined || tokenCommand !== undefined) {
    throw new ConfigError(`KAFKA_SASL_OAUTHBEARER_TOKEN_* is set but KAFKA_SASL_MECHANISM is ${mechanism}`)
  }
  if (username === undefined) throw new ConfigError(`KAFKA_SASL_MECHANISM=${mechanism} needs KAFKA_SASL_USERNAME`)
  if (password === undefined) {
    throw new ConfigError(`KAFKA_SASL_MECHANISM=${mechanism} needs KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE`)
  }
  return { mechanism: mechanism as 'plain' | 'scram-sha-256' | 'scram-sha-512', username, password }
}

/** TLS and SASL towards the brokers, from the KAFKA_TLS* and KAFKA_SASL_* variables. */
export function kafkaSecurityFromEnv(env: Env = process.env): KafkaSecurity | undefined {
  const tls = tlsFromEnv(env)
  const sasl = saslFromEnv(env)
  if (tls === undefined && sasl === undefined) return undefined
  return { ...(tls === undefined ? {} : { tls }), ...(sasl === undefined ? {} : { sasl }) }
}

/** Registry credentials and CA, from the SCHEMA_REGISTRY_* variables. */
export function registryAccessFromEnv(env: Env = process.env): RegistryAccess | undefined {
  const basicAuth = secretFromEnv(env, 'SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO')
  const bearerToken = secretFromEnv(env, 'SCHEMA_REGISTRY_BEARER_TOKEN')
  const ca = pemFile(env, 'SCHEMA_REGISTRY_CA_FILE')
  if (basicAuth !== undefined && bearerToken !== undefined) {
    throw new ConfigError('both SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO and SCHEMA_REGISTRY_BEARER_TOKEN are set; set one')
  }
  if (basicAuth !== undefined && !basicAuth.reveal().includes(':')) {
    throw new ConfigError('SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO must be user:password (the value is not shown)')
  }
  if (basicAuth === undefined && bearerToken === undefined && ca === undefined) return undefined
  return {
    ...(basicAuth === undefined ? {} : { basicAuth }),
    ...(bearerToken === undefined ? {} : { bearerToken }),
    ...(ca === undefined ? {} : { ca }),
  }
}
