import { execFile } from 'node:child_process'
import fs from 'node:fs'
import type { ConnectionOptions } from 'node:tls'
import type { OauthbearerProviderResponse, SASLOptions } from 'kafkajs'
import type { KafkaSasl, KafkaTls } from '../config/security'
import { ConfigError } from '../errors'

/** kafkajs' `ssl` option from the TLS settings. */
export function kafkajsSsl(tls: KafkaTls | undefined): ConnectionOptions | undefined {
  if (tls === undefined) return undefined
  return {
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key.reveal() }),
    ...(tls.servername === undefined ? {} : { servername: tls.servername }),
  }
}

function tokenFromCommand(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', command], { timeout: 30_000, maxBuffer: 1024 * 1024 }, (err, stdout) => {
      // The command's output is the token: never put it in the error.
      if (err) reject(new ConfigError(`KAFKA_SASL_OAUTHBEARER_TOKEN_COMMAND failed: ${err.message.split('\n')[0]}`))
      else resolve(stdout.trim())
    })
  })
}

/** kafkajs' `sasl` option; an OAUTHBEARER token is read or fetched again each time kafkajs asks. */
export function kafkajsSasl(sasl: KafkaSasl | undefined): SASLOptions | undefined {
  if (sasl === undefined) return undefined
  if (sasl.mechanism === 'oauthbearer') {
    const { tokenFile, tokenCommand } = sasl
    return {
      mechanism: 'oauthbearer',
      oauthBearerProvider: async (): Promise<OauthbearerProviderResponse> => ({
        value:
          tokenFile !== undefined
            ? (await fs.promises.readFile(tokenFile, 'utf8')).trim()
            : await tokenFromCommand(tokenCommand!),
      }),
    }
  }
  return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password.reveal() } as SASLOptions
}

/** Node's codes for a certificate the client does not trust or that does not match. */
const CERT_CODES =
  /^(SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_[A-Z_]+|ERR_TLS_CERT_ALTNAME_INVALID|ERR_SSL_[A-Z_]+)$/

/** What a refused request was about, so an ACL failure can name it. */
export interface AccessContext {
  topics?: string[]
  groupId?: string
  transactionalId?: string
}

interface SettingsLike {
  brokers: string[]
  security?: { sasl?: KafkaSasl; tls?: KafkaTls }
}

function chain(err: unknown): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = []
  let e: unknown = err
  for (let i = 0; i < 8 && typeof e === 'object' && e !== null && !out.includes(e as Record<string, unknown>); i++) {
    out.push(e as Record<string, unknown>)
    const next = e as { cause?: unknown; originalError?: unknown; errors?: unknown[] }
    e = next.cause ?? next.originalError ?? (Array.isArray(next.errors) ? next.errors[0] : undefined)
  }
  return out
}

/**
 * A failure retrying cannot fix (the broker refused the password, its certificate is not
 * trusted, an ACL is missing) as a ConfigError that names what failed, so `run` stops at
 * start with it instead of retrying until its ready timeout; undefined for anything else.
 * The message names the user and the setting, never a credential.
 */
export function startFailure(
  err: unknown,
  settings: SettingsLike,
  context: AccessContext = {},
): ConfigError | undefined {
  const brokers = settings.brokers.join(',')
  for (const e of chain(err)) {
    const name = typeof e.name === 'string' ? e.name : ''
    const message = typeof e.message === 'string' ? e.message : ''
    const type = typeof e.type === 'string' ? e.type : ''
    const code = typeof e.code === 'string' ? e.code : ''
    if (name === 'KafkaJSSASLAuthenticationError') {
      const sasl = settings.security?.sasl
      const who =
        sasl === undefined
          ? ''
          : sasl.mechanism === 'oauthbearer'
            ? ' (OAUTHBEARER)'
            : ` (${sasl.mechanism.toUpperCase()} as ${sasl.username})`
      return new ConfigError(
        `SASL authentication failed at ${brokers}${who}: ${message}; check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD(_FILE)`,
        { cause: err },
      )
    }
    if (CERT_CODES.test(code) || /certificate|self[- ]signed/i.test(message)) {
      const hint =
        code === 'ERR_TLS_CERT_ALTNAME_INVALID'
          ? 'set KAFKA_TLS_SERVERNAME to a name in the certificate, or dial the broker by that name'
          : 'set KAFKA_TLS_CA_FILE to the CA that signed the broker certificate'
      return new ConfigError(
        `TLS certificate of the broker at ${brokers} is not trusted${code ? ` (${code})` : ''}: ${message}; ${hint}`,
        { cause: err },
      )
    }
    if (type === 'TOPIC_AUTHORIZATION_FAILED') {
      const topics = context.topics?.length ? ` on topic ${context.topics.join(', ')}` : ''
      return new ConfigError(
        `Kafka refused access${topics} (TOPIC_AUTHORIZATION_FAILED): the principal lacks a topic ACL; see nightshift topology apply --print-acls`,
        { cause: err },
      )
    }
    if (type === 'GROUP_AUTHORIZATION_FAILED') {
      const group = context.groupId ? ` to consumer group ${context.groupId}` : ''
      return new ConfigError(
        `Kafka refused access${group} (GROUP_AUTHORIZATION_FAILED): the principal lacks a group ACL; see nightshift topology apply --print-acls`,
        { cause: err },
      )
    }
    if (type === 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED') {
      const id = context.transactionalId ? ` to transactional id ${context.transactionalId}` : ''
      return new ConfigError(
        `Kafka refused access${id} (TRANSACTIONAL_ID_AUTHORIZATION_FAILED): the principal lacks a transactional-id ACL; see nightshift topology apply --print-acls`,
        { cause: err },
      )
    }
    if (type === 'CLUSTER_AUTHORIZATION_FAILED') {
      return new ConfigError(
        `Kafka refused a cluster operation (CLUSTER_AUTHORIZATION_FAILED): the principal lacks IdempotentWrite on the cluster (or Create/AlterConfigs for topology apply); see nightshift topology apply --print-acls`,
        { cause: err },
      )
    }
  }
  return undefined
}

/** Runs `work`; a {@link startFailure} it throws comes out as that ConfigError. */
export async function withAccessContext<T>(
  settings: SettingsLike,
  context: AccessContext,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work()
  } catch (err) {
    throw startFailure(err, settings, context) ?? err
  }
}
