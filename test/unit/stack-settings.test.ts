import { ConfigError } from '../../src/errors'
import { newClusterId } from '../../src/stack/local-stack'
import {
  DEFAULT_APICURIO_VERSIONS,
  renderKafkaPom,
  renderServerProperties,
  stackEndpoints,
  stackSettingsFromEnv,
} from '../../src/stack/settings'

const root = '/project'

describe('stackSettingsFromEnv', () => {
  it('defaults: Kafka 3.9.1 on 9092, controller off Alertmanager ports, registry 8081, state in .stack', () => {
    const s = stackSettingsFromEnv(root, {})
    expect(s).toMatchObject({
      stateDir: '/project/.stack',
      kafkaVersion: '3.9.1',
      kafkaPort: 9092,
      registryPort: 8081,
      heap: '512m',
    })
    expect([9093, 9094]).not.toContain(s.controllerPort)
    expect(s.apicurioVersions).toEqual([...DEFAULT_APICURIO_VERSIONS])
    expect(s.externalBrokers).toBeUndefined()
    expect(s.externalRegistryUrl).toBeUndefined()
  })

  it.each([
    [{ KAFKA_VERSION: '4.1.1' }, { kafkaVersion: '4.1.1' }],
    [
      { KAFKA_PORT: '19092', KAFKA_CONTROLLER_PORT: '19095' },
      { kafkaPort: 19092, controllerPort: 19095 },
    ],
    [{ APICURIO_VERSION: '2.6.13.Final' }, { apicurioVersions: ['2.6.13.Final'] }],
    [{ NIGHTSHIFT_STACK_DIR: '/tmp/s' }, { stateDir: '/tmp/s' }],
    [{ KAFKA_BROKERS: 'k:9092' }, { externalBrokers: ['k:9092'] }],
    [
      { SCHEMA_REGISTRY_URL: 'http://sr:8081/apis/ccompat/v7' },
      { externalRegistryUrl: 'http://sr:8081/apis/ccompat/v7' },
    ],
  ])('%j', (env, expected) => {
    expect(stackSettingsFromEnv(root, env)).toMatchObject(expected)
  })

  it.each([
    [{ KAFKA_VERSION: '4.1' }, /KAFKA_VERSION must be a release/],
    [{ KAFKA_VERSION: '3.9.1; rm -rf /' }, /KAFKA_VERSION/],
    [{ KAFKA_PORT: '0' }, /KAFKA_PORT must be a port/],
    [{ REGISTRY_PORT: 'abc' }, /REGISTRY_PORT/],
    [{ KAFKA_PORT: '9095' }, /must differ/],
    [{ KAFKA_BROKERS: 'nope' }, /KAFKA_BROKERS/],
  ])('rejects %j', (env, message) => {
    expect(() => stackSettingsFromEnv(root, env)).toThrow(ConfigError)
    expect(() => stackSettingsFromEnv(root, env)).toThrow(message)
  })

  it('uses external endpoints when set, local ones otherwise', () => {
    expect(stackEndpoints(stackSettingsFromEnv(root, {}))).toEqual({
      brokers: ['127.0.0.1:9092'],
      registryUrl: 'http://127.0.0.1:8081/apis/ccompat/v7',
    })
    expect(
      stackEndpoints(stackSettingsFromEnv(root, { KAFKA_BROKERS: 'k:1', SCHEMA_REGISTRY_URL: 'http://r' })),
    ).toEqual({
      brokers: ['k:1'],
      registryUrl: 'http://r',
    })
  })
})

describe('renderServerProperties', () => {
  const props = renderServerProperties(stackSettingsFromEnv(root, { KAFKA_CONTROLLER_PORT: '9097' }), '/data')
  const map = new Map(
    props
      .trim()
      .split('\n')
      .map((l) => l.split('=', 2) as [string, string]),
  )

  it.each([
    ['process.roles', 'broker,controller'],
    ['listeners', 'PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9097'],
    ['advertised.listeners', 'PLAINTEXT://127.0.0.1:9092'],
    ['controller.quorum.voters', '1@127.0.0.1:9097'],
    ['log.dirs', '/data'],
    ['offsets.topic.replication.factor', '1'],
    ['transaction.state.log.replication.factor', '1'],
    ['transaction.state.log.min.isr', '1'],
    ['auto.create.topics.enable', 'false'],
  ])('%s=%s', (key, value) => {
    expect(map.get(key)).toBe(value)
  })

  it('listens on loopback only', () => {
    expect(props).not.toMatch(/0\.0\.0\.0|localhost/)
  })
})

describe('renderKafkaPom', () => {
  it('pins the Kafka version and a log4j binding', () => {
    const pom = renderKafkaPom('4.1.1')
    expect(pom).toContain('<artifactId>kafka_2.13</artifactId><version>4.1.1</version>')
    expect(pom).toContain('<artifactId>slf4j-reload4j</artifactId>')
  })
})

describe('newClusterId', () => {
  it('is 22 URL-safe base64 characters and random', () => {
    const ids = new Set(Array.from({ length: 50 }, () => newClusterId()))
    expect(ids.size).toBe(50)
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/)
  })
})
