import { execFile, spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { ERROR_CODES, StackError } from '../errors'
import { newClusterId } from './local-stack'
import { LOG4J_PROPERTIES } from './settings'

const run = promisify(execFile)

/** A SCRAM-SHA-512 user created at format time. */
export interface ScramUser {
  name: string
  password: string
}

/** Where the secured broker lives and listens; its own folder and ports, beside the plaintext stack. */
export interface SecureBrokerOptions {
  /** The plaintext stack's Kafka classpath folder (`<stack>/dist/kafka_2.13-<v>/libs`): nothing new is fetched. */
  libsDir: string
  /** Its own folder: certificates (kept), data and log (made anew each start). */
  dir: string
  port: number
  controllerPort: number
  /** The super user the stack and the test setup act as. */
  admin: ScramUser
  /** Further users, with no ACL of their own (the caller grants them). */
  users: ScramUser[]
  javaBin?: string
  heap?: string
}

/** The files a client needs to trust the broker. */
export interface SecureBrokerCerts {
  /** CA bundle (PEM) that signed the broker certificate. */
  caFile: string
  /** A client certificate and key signed by the same CA, for mTLS. */
  clientCertFile: string
  clientKeyFile: string
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd })
  } catch (cause) {
    throw new StackError(ERROR_CODES.STACK, `openssl ${args[0]} failed: ${(cause as Error).message}`, { cause })
  }
}

/**
 * A CA and a broker certificate for 127.0.0.1 / localhost, made with openssl once and
 * cached in `dir` (PEM, which Kafka reads directly: no keystore password to keep).
 */
export async function ensureCertificates(dir: string): Promise<SecureBrokerCerts & { brokerPem: string }> {
  fs.mkdirSync(dir, { recursive: true })
  const f = (name: string) => path.join(dir, name)
  const certs = {
    caFile: f('ca.pem'),
    clientCertFile: f('client.pem'),
    clientKeyFile: f('client.key'),
    brokerPem: f('broker-keystore.pem'),
  }
  if (Object.values(certs).every((p) => fs.existsSync(p))) return certs
  await openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '3650',
      '-subj',
      '/CN=nightshift-test-ca',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
    ],
    dir,
  )
  fs.writeFileSync(f('broker.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  for (const [name, cn, ext] of [
    ['broker', 'localhost', ['-extfile', 'broker.ext']],
    ['client', 'nightshift', []],
  ] as const) {
    await openssl(
      ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${name}.rsa`, '-out', `${name}.csr`],
      dir,
    )
    // PKCS#8, unencrypted: what Kafka's PEM keystore reads without ssl.key.password.
    await openssl(['pkcs8', '-topk8', '-nocrypt', '-in', `${name}.rsa`, '-out', `${name}.key`], dir)
    await openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '3650',
        '-out',
        `${name}.pem`,
        ...ext,
      ],
      dir,
    )
  }
  fs.writeFileSync(certs.brokerPem, fs.readFileSync(f('broker.key'), 'utf8') + fs.readFileSync(f('broker.pem'), 'utf8'))
  return certs
}

function jaasValue(user: ScramUser): string {
  return `org.apache.kafka.common.security.scram.ScramLoginModule required username="${user.name}" password="${user.password}";`
}

/**
 * server.properties of a single KRaft node whose client listener is SASL_SSL with
 * SCRAM-SHA-512, with StandardAuthorizer and no access without an ACL. The controller
 * listener is plaintext on 127.0.0.1 (its principal, ANONYMOUS, is a super user, as the
 * broker's own requests to the controller need).
 */
export function renderSecureServerProperties(
  o: SecureBrokerOptions,
  dataDir: string,
  certs: { caFile: string; brokerPem: string },
): string {
  const lines: Array<[string, string | number]> = [
    ['process.roles', 'broker,controller'],
    ['node.id', 1],
    ['controller.quorum.voters', `1@127.0.0.1:${o.controllerPort}`],
    ['listeners', `SASL_SSL://127.0.0.1:${o.port},CONTROLLER://127.0.0.1:${o.controllerPort}`],
    ['advertised.listeners', `SASL_SSL://127.0.0.1:${o.port}`],
    ['controller.listener.names', 'CONTROLLER'],
    ['inter.broker.listener.name', 'SASL_SSL'],
    ['listener.security.protocol.map', 'SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT'],
    ['sasl.enabled.mechanisms', 'SCRAM-SHA-512'],
    ['sasl.mechanism.inter.broker.protocol', 'SCRAM-SHA-512'],
    ['listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config', jaasValue(o.admin)],
    ['ssl.keystore.type', 'PEM'],
    ['ssl.keystore.location', certs.brokerPem],
    ['ssl.truststore.type', 'PEM'],
    ['ssl.truststore.location', certs.caFile],
    ['ssl.client.auth', 'requested'],
    ['authorizer.class.name', 'org.apache.kafka.metadata.authorizer.StandardAuthorizer'],
    ['allow.everyone.if.no.acl.found', 'false'],
    ['super.users', `User:${o.admin.name};User:ANONYMOUS`],
    ['log.dirs', dataDir],
    ['num.partitions', 1],
    ['default.replication.factor', 1],
    ['offsets.topic.replication.factor', 1],
    ['offsets.topic.num.partitions', 4],
    ['transaction.state.log.replication.factor', 1],
    ['transaction.state.log.min.isr', 1],
    ['transaction.state.log.num.partitions', 4],
    ['group.initial.rebalance.delay.ms', 0],
    ['auto.create.topics.enable', 'false'],
  ]
  return lines.map(([k, v]) => `${k}=${v}`).join('\n') + '\n'
}

/** A running secured broker; {@link stop} kills it. */
export interface SecureBroker {
  brokers: string[]
  certs: SecureBrokerCerts
  logFile: string
  stop(): Promise<void>
}

/**
 * Formats (with the SCRAM users, `StorageTool format --add-scram`) and starts a fresh
 * secured broker as a child of this process. The caller waits for it (as the admin user)
 * and stops it; its data is made anew at each start, its certificates are kept.
 */
export async function startSecureBroker(o: SecureBrokerOptions): Promise<SecureBroker> {
  if (!fs.existsSync(o.libsDir)) {
    throw new StackError(
      ERROR_CODES.STACK,
      `no Kafka jars at ${o.libsDir}: start the plaintext stack once (npm run stack:up)`,
    )
  }
  const java = o.javaBin ?? 'java'
  const certs = await ensureCertificates(path.join(o.dir, 'certs'))
  const dataDir = path.join(o.dir, 'data')
  fs.rmSync(dataDir, { recursive: true, force: true })
  const props = path.join(o.dir, 'server.properties')
  const log4j = path.join(o.dir, 'log4j.properties')
  const logFile = path.join(o.dir, 'kafka.log')
  fs.writeFileSync(props, renderSecureServerProperties(o, dataDir, certs))
  fs.writeFileSync(log4j, LOG4J_PROPERTIES)
  const classpath = ['-cp', path.join(o.libsDir, '*'), `-Dlog4j.configuration=file:${log4j}`]
  const scram = [o.admin, ...o.users].flatMap((u) => [
    '--add-scram',
    `SCRAM-SHA-512=[name=${u.name},password=${u.password}]`,
  ])
  try {
    await run(java, [...classpath, 'kafka.tools.StorageTool', 'format', '-t', newClusterId(), '-c', props, ...scram])
  } catch (cause) {
    throw new StackError(
      ERROR_CODES.STACK,
      `formatting the secured broker failed: ${(cause as Error).message.split('\n')[0]}`,
      { cause },
    )
  }
  const out = fs.openSync(logFile, 'w')
  const child: ChildProcess = spawn(
    java,
    [
      `-Xms${o.heap ?? '384m'}`,
      `-Xmx${o.heap ?? '384m'}`,
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      ...classpath,
      'kafka.Kafka',
      props,
    ],
    { cwd: o.dir, stdio: ['ignore', out, out] },
  )
  fs.closeSync(out)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    brokers: [`127.0.0.1:${o.port}`],
    certs: { caFile: certs.caFile, clientCertFile: certs.clientCertFile, clientKeyFile: certs.clientKeyFile },
    logFile,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
        await exited
        clearTimeout(timer)
      }
    },
  }
}
