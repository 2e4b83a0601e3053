import path from 'node:path'
import { ConfigError } from '../errors'
import {
  CCOMPAT_PATH,
  DEFAULT_KAFKA_PORT,
  DEFAULT_REGISTRY_PORT,
  parseBrokers,
  parseRegistryUrl,
} from '../config/endpoints'

/** Kafka used when KAFKA_VERSION is not set. */
export const DEFAULT_KAFKA_VERSION = '3.9.1'
/**
 * Apicurio Registry versions tried in order when APICURIO_VERSION is not set.
 * 3.1.7 (the last built for Java 17) is preferred; Maven Central has not carried it,
 * so 3.0.9 is what a fresh machine gets today. A cached one is used before any fetch.
 */
export const DEFAULT_APICURIO_VERSIONS = ['3.1.7', '3.0.9'] as const

/** How the local stack is laid out and where its services listen. */
export interface StackSettings {
  /** One ignored folder for downloads, data, pids and logs. */
  stateDir: string
  /**
   * Where downloads are unpacked (default `<stateDir>/dist`): a second stack with a state
   * folder of its own (the reliability suite's) shares the first one's downloads.
   */
  distDir?: string
  kafkaVersion: string
  kafkaPort: number
  /** KRaft controller listener; not 9093/9094, which Alertmanager uses. */
  controllerPort: number
  registryPort: number
  apicurioVersions: string[]
  heap: string
  /** Set when KAFKA_BROKERS names an existing cluster: no broker is started. */
  externalBrokers?: string[]
  /** Set when SCHEMA_REGISTRY_URL names an existing registry: none is started. */
  externalRegistryUrl?: string
  readyTimeoutMs: number
  javaBin: string
  mavenBin: string
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new ConfigError(`${name} must be a port number (1-65535), got "${raw}"`)
  }
  return value
}

/** Kafka versions are plain release numbers (3.9.1, 4.1.1); anything else is refused. */
export function checkKafkaVersion(version: string): string {
  if (!/^\d+\.\d+\.\d+$/.test(version)) {
    throw new ConfigError(`KAFKA_VERSION must be a release like 3.9.1 or 4.1.1, got "${version}"`)
  }
  return version
}

/** Reads the stack's settings from the environment; `projectRoot` anchors the state folder. */
export function stackSettingsFromEnv(projectRoot: string, env: NodeJS.ProcessEnv = process.env): StackSettings {
  const settings: StackSettings = {
    stateDir: path.resolve(projectRoot, env.NIGHTSHIFT_STACK_DIR ?? '.stack'),
    kafkaVersion: checkKafkaVersion(env.KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION),
    kafkaPort: port(env, 'KAFKA_PORT', DEFAULT_KAFKA_PORT),
    controllerPort: port(env, 'KAFKA_CONTROLLER_PORT', 9095),
    registryPort: port(env, 'REGISTRY_PORT', DEFAULT_REGISTRY_PORT),
    apicurioVersions: env.APICURIO_VERSION ? [env.APICURIO_VERSION] : [...DEFAULT_APICURIO_VERSIONS],
    heap: env.STACK_HEAP ?? '512m',
    readyTimeoutMs: Number(env.STACK_READY_TIMEOUT_MS ?? 120000),
    javaBin: env.JAVA_HOME ? path.join(env.JAVA_HOME, 'bin', 'java') : 'java',
    mavenBin: env.MAVEN_BIN ?? 'mvn',
  }
  if (env.KAFKA_BROKERS) settings.externalBrokers = parseBrokers(env.KAFKA_BROKERS)
  if (env.SCHEMA_REGISTRY_URL) settings.externalRegistryUrl = parseRegistryUrl(env.SCHEMA_REGISTRY_URL)
  if (settings.kafkaPort === settings.controllerPort) {
    throw new ConfigError(`KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ (both ${settings.kafkaPort})`)
  }
  return settings
}

/** The broker list and registry URL of a stack (external or local). */
export function stackEndpoints(settings: StackSettings): { brokers: string[]; registryUrl: string } {
  return {
    brokers: settings.externalBrokers ?? [`127.0.0.1:${settings.kafkaPort}`],
    registryUrl: settings.externalRegistryUrl ?? `http://127.0.0.1:${settings.registryPort}${CCOMPAT_PATH}`,
  }
}

/**
 * The broker+controller configuration of the single-node KRaft cluster: loopback only,
 * replication factor 1 everywhere (transactions need their state topic to be creatable).
 */
export function renderServerProperties(settings: StackSettings, dataDir: string): string {
  const lines: Array<[string, string | number]> = [
    ['process.roles', 'broker,controller'],
    ['node.id', 1],
    ['controller.quorum.voters', `1@127.0.0.1:${settings.controllerPort}`],
    ['listeners', `PLAINTEXT://127.0.0.1:${settings.kafkaPort},CONTROLLER://127.0.0.1:${settings.controllerPort}`],
    ['advertised.listeners', `PLAINTEXT://127.0.0.1:${settings.kafkaPort}`],
    ['controller.listener.names', 'CONTROLLER'],
    ['inter.broker.listener.name', 'PLAINTEXT'],
    ['listener.security.protocol.map', 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT'],
    ['log.dirs', dataDir],
    ['num.partitions', 1],
    ['default.replication.factor', 1],
    ['offsets.topic.replication.factor', 1],
    ['offsets.topic.num.partitions', 10],
    ['transaction.state.log.replication.factor', 1],
    ['transaction.state.log.min.isr', 1],
    ['transaction.state.log.num.partitions', 10],
    ['share.coordinator.state.topic.replication.factor', 1],
    ['share.coordinator.state.topic.min.isr', 1],
    ['group.initial.rebalance.delay.ms', 0],
    ['auto.create.topics.enable', 'false'],
    ['delete.topic.enable', 'true'],
  ]
  return lines.map(([k, v]) => `${k}=${v}`).join('\n') + '\n'
}

/** log4j 1.x (reload4j) configuration: everything to stdout, which goes to the log file. */
export const LOG4J_PROPERTIES = [
  'log4j.rootLogger=INFO, stdout',
  'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
  'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
  'log4j.logger.kafka.request.logger=WARN',
  'log4j.logger.org.apache.kafka.controller=INFO',
  'log4j.logger.state.change.logger=WARN',
  '',
].join('\n')

/**
 * The Maven project whose dependencies are the broker's classpath: Kafka and an SLF4J
 * binding (reload4j) so the broker logs.
 */
export function renderKafkaPom(kafkaVersion: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.nightshift.stack</groupId>
  <artifactId>kafka-classpath</artifactId>
  <version>${kafkaVersion}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${kafkaVersion}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
`
}

/** A dependency-less Maven project, for running dependency:copy on one artifact. */
export const FETCH_POM = `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.nightshift.stack</groupId>
  <artifactId>fetch</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
</project>
`
