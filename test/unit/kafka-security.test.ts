import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { inspect } from 'node:util'
import pino from 'pino'
import { endpointsFromEnv, kafkaSettings } from '../../src/config/endpoints'
import { kafkaSecurityFromEnv, registryAccessFromEnv } from '../../src/config/security'
import { ConfigError } from '../../src/errors'
import { registryAuthorization } from '../../src/kafka/registry-http'
import { kafkajsSasl, kafkajsSsl, startFailure } from '../../src/kafka/security'
import { createLogger } from '../../src/log'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ns-security-'))
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
const KEY = '-----BEGIN PRIVATE KEY-----\nS3CRETKEY\n-----END PRIVATE KEY-----\n'
const file = (name: string, text: string): string => {
  const p = path.join(dir, name)
  fs.writeFileSync(p, text)
  return p
}
const ca = file('ca.pem', PEM)
const cert = file('cert.pem', PEM)
const key = file('key.pem', KEY)
const passwordFile = file('password', 'p4ss-from-file\n')
const notPem = file('not.pem', 'hello')
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe('kafkaSecurityFromEnv', () => {
  it('is undefined without any setting: plaintext, as before', () => {
    expect(kafkaSecurityFromEnv({})).toBeUndefined()
  })

  it('reads TLS with a CA, mTLS and a server name; TLS is on once a file is named', () => {
    const s = kafkaSecurityFromEnv({
      KAFKA_TLS_CA_FILE: ca,
      KAFKA_TLS_CERT_FILE: cert,
      KAFKA_TLS_KEY_FILE: key,
      KAFKA_TLS_SERVERNAME: 'kafka.internal',
    })!
    expect(kafkajsSsl(s.tls)).toEqual({ ca: PEM, cert: PEM, key: KEY, servername: 'kafka.internal' })
    expect(kafkajsSsl(kafkaSecurityFromEnv({ KAFKA_TLS: 'true' })!.tls)).toEqual({})
  })

  it('reads SCRAM with the password inline or from a file', () => {
    const inline = kafkaSecurityFromEnv({
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'nightshift',
      KAFKA_SASL_PASSWORD: 'p4ss',
    })!
    expect(kafkajsSasl(inline.sasl)).toEqual({ mechanism: 'scram-sha-512', username: 'nightshift', password: 'p4ss' })
    const fromFile = kafkaSecurityFromEnv({
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD_FILE: passwordFile,
    })!
    expect(kafkajsSasl(fromFile.sasl)).toEqual({ mechanism: 'plain', username: 'u', password: 'p4ss-from-file' })
  })

  it('reads an OAUTHBEARER token from a file each time kafkajs asks', async () => {
    const token = file('token', 'tok-1\n')
    const s = kafkaSecurityFromEnv({ KAFKA_SASL_MECHANISM: 'oauthbearer', KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: token })!
    const sasl = kafkajsSasl(s.sasl) as { oauthBearerProvider: () => Promise<{ value: string }> }
    await expect(sasl.oauthBearerProvider()).resolves.toEqual({ value: 'tok-1' })
    fs.writeFileSync(token, 'tok-2')
    await expect(sasl.oauthBearerProvider()).resolves.toEqual({ value: 'tok-2' })
    const cmd = kafkaSecurityFromEnv({
      KAFKA_SASL_MECHANISM: 'oauthbearer',
      KAFKA_SASL_OAUTHBEARER_TOKEN_COMMAND: 'echo tok-3',
    })!
    const viaCommand = kafkajsSasl(cmd.sasl) as { oauthBearerProvider: () => Promise<{ value: string }> }
    await expect(viaCommand.oauthBearerProvider()).resolves.toEqual({ value: 'tok-3' })
  })

  it.each([
    [{ KAFKA_TLS: 'maybe' }, /KAFKA_TLS must be true or false/],
    [{ KAFKA_TLS: 'false', KAFKA_TLS_CA_FILE: ca }, /KAFKA_TLS is false but/],
    [
      { KAFKA_TLS_CA_FILE: path.join(dir, 'missing.pem') },
      /KAFKA_TLS_CA_FILE names .*missing.pem, which cannot be read \(ENOENT\)/,
    ],
    [{ KAFKA_TLS_CA_FILE: notPem }, /KAFKA_TLS_CA_FILE names .* no PEM block/],
    [{ KAFKA_TLS_CERT_FILE: cert }, /mTLS needs both KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE/],
    [{ KAFKA_SASL_MECHANISM: 'gssapi' }, /KAFKA_SASL_MECHANISM is "gssapi"; expected one of plain/],
    [{ KAFKA_SASL_USERNAME: 'u' }, /KAFKA_SASL_USERNAME set without KAFKA_SASL_MECHANISM/],
    [{ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD: 'x' }, /needs KAFKA_SASL_USERNAME/],
    [
      { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' },
      /needs KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE/,
    ],
    [
      {
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'x',
        KAFKA_SASL_PASSWORD_FILE: passwordFile,
      },
      /both KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE are set/,
    ],
    [{ KAFKA_SASL_MECHANISM: 'oauthbearer' }, /needs exactly one of KAFKA_SASL_OAUTHBEARER_TOKEN_FILE/],
  ])('%j is refused', (env, message) => {
    expect(() => kafkaSecurityFromEnv(env)).toThrow(ConfigError)
    expect(() => kafkaSecurityFromEnv(env)).toThrow(message)
  })
})

describe('registry access', () => {
  it('sends basic auth or a bearer token', () => {
    expect(registryAuthorization(registryAccessFromEnv({ SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: 'u:p' }))).toBe(
      `Basic ${Buffer.from('u:p').toString('base64')}`,
    )
    expect(registryAuthorization(registryAccessFromEnv({ SCHEMA_REGISTRY_BEARER_TOKEN: 't' }))).toBe('Bearer t')
    expect(registryAccessFromEnv({})).toBeUndefined()
    expect(registryAccessFromEnv({ SCHEMA_REGISTRY_CA_FILE: ca })).toEqual({ ca: PEM })
  })

  it('takes user:password@ in SCHEMA_REGISTRY_URL as basic auth and drops it from the URL', () => {
    const e = endpointsFromEnv({ SCHEMA_REGISTRY_URL: 'https://key:s3cret@sr.example.com/' })
    expect(e.registryUrl).toBe('https://sr.example.com')
    expect(registryAuthorization(e.registryAccess)).toBe(`Basic ${Buffer.from('key:s3cret').toString('base64')}`)
  })

  it.each([
    [{ SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: 'nocolon' }, /must be user:password \(the value is not shown\)/],
    [{ SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: 'u:p', SCHEMA_REGISTRY_BEARER_TOKEN: 't' }, /set one/],
  ])('%j is refused without showing the value', (env, message) => {
    expect(() => registryAccessFromEnv(env)).toThrow(message)
    expect(() => registryAccessFromEnv(env)).not.toThrow(/nocolon/)
  })
})

describe('startFailure names what failed', () => {
  const settings = kafkaSettings(
    endpointsFromEnv({
      KAFKA_BROKERS: 'k:9093',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'nightshift',
      KAFKA_SASL_PASSWORD: 'hunter2-secret',
    }),
    'unit',
    createLogger({ level: 'silent' }),
  )
  const kafkajsError = (name: string, fields: object) =>
    Object.assign(new Error(String((fields as { message?: string }).message ?? name)), { name, ...fields })

  it.each([
    [
      kafkajsError('KafkaJSSASLAuthenticationError', {
        message: 'SASL SCRAM SHA512 authentication failed: Authentication failed',
      }),
      {},
      /SASL authentication failed at k:9093 \(SCRAM-SHA-512 as nightshift\)/,
    ],
    [
      kafkajsError('KafkaJSNumberOfRetriesExceeded', {
        cause: kafkajsError('KafkaJSConnectionError', {
          message: 'Connection error: self-signed certificate in certificate chain',
          code: 'SELF_SIGNED_CERT_IN_CHAIN',
        }),
      }),
      {},
      /TLS certificate of the broker at k:9093 is not trusted \(SELF_SIGNED_CERT_IN_CHAIN\).*KAFKA_TLS_CA_FILE/,
    ],
    [
      kafkajsError('KafkaJSProtocolError', { type: 'TOPIC_AUTHORIZATION_FAILED' }),
      { topics: ['alerts.raw'] },
      /on topic alerts.raw \(TOPIC_AUTHORIZATION_FAILED\)/,
    ],
    [
      kafkajsError('KafkaJSProtocolError', { type: 'GROUP_AUTHORIZATION_FAILED' }),
      { groupId: 'nightshift-dedup' },
      /to consumer group nightshift-dedup/,
    ],
    [
      kafkajsError('KafkaJSProtocolError', { type: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED' }),
      { transactionalId: 'nightshift-dedup-alerts.raw-0' },
      /to transactional id nightshift-dedup-alerts.raw-0/,
    ],
    [
      kafkajsError('KafkaJSProtocolError', { type: 'CLUSTER_AUTHORIZATION_FAILED' }),
      {},
      /IdempotentWrite on the cluster/,
    ],
  ])('%s', (err, context, message) => {
    const failure = startFailure(err, settings, context)
    expect(failure).toBeInstanceOf(ConfigError)
    expect(failure!.message).toMatch(message)
    expect(failure!.message).not.toContain('hunter2')
  })

  it('leaves an unreachable broker to the retries', () => {
    expect(
      startFailure(
        kafkajsError('KafkaJSConnectionError', {
          message: 'Connection error: connect ECONNREFUSED',
          code: 'ECONNREFUSED',
        }),
        settings,
      ),
    ).toBeUndefined()
  })
})

describe('redaction', () => {
  it('no credential reaches a log line, JSON or inspect of the settings', () => {
    const env = {
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'nightshift',
      KAFKA_SASL_PASSWORD: 'hunter2-secret',
      KAFKA_TLS_CA_FILE: ca,
      KAFKA_TLS_CERT_FILE: cert,
      KAFKA_TLS_KEY_FILE: key,
      SCHEMA_REGISTRY_URL: 'https://reg:url-s3cret@sr.example.com',
    }
    const lines: string[] = []
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) })
    const endpoints = endpointsFromEnv(env)
    const settings = kafkaSettings(endpoints, 'unit', logger)
    logger.info({ endpoints, settings: { ...settings, logger: undefined } }, 'settings')
    const texts = [
      ...lines,
      JSON.stringify(endpoints),
      inspect(endpoints, { depth: 10 }),
      `${String(endpoints.kafkaSecurity?.sasl && 'password' in endpoints.kafkaSecurity.sasl ? endpoints.kafkaSecurity.sasl.password : '')}`,
    ]
    for (const text of texts) {
      expect(text).not.toContain('hunter2')
      expect(text).not.toContain('S3CRETKEY')
      expect(text).not.toContain('url-s3cret')
    }
    expect(lines.join('')).toContain('[redacted]')
  })
})
