import { endpointsFromEnv, parseBrokers, parseRegistryUrl } from '../../src/config/endpoints'
import { ConfigError } from '../../src/errors'

describe('parseBrokers', () => {
  it.each([
    ['127.0.0.1:9092', ['127.0.0.1:9092']],
    ['a:1, b.example:9093 ,', ['a:1', 'b.example:9093']],
    ['[::1]:9092', ['[::1]:9092']],
  ])('%s → %j', (input, expected) => {
    expect(parseBrokers(input)).toEqual(expected)
  })

  it.each([[''], [' , '], ['localhost'], ['host:port'], ['http://a:9092']])(
    'rejects %j with a ConfigError',
    (input) => {
      expect(() => parseBrokers(input)).toThrow(ConfigError)
    },
  )
})

describe('parseRegistryUrl', () => {
  it.each([
    ['http://127.0.0.1:8081/apis/ccompat/v7/', 'http://127.0.0.1:8081/apis/ccompat/v7'],
    ['https://sr.example', 'https://sr.example'],
  ])('%s → %s', (input, expected) => {
    expect(parseRegistryUrl(input)).toBe(expected)
  })

  it.each([['not a url'], ['ftp://x/y']])('rejects %j', (input) => {
    expect(() => parseRegistryUrl(input)).toThrow(/SCHEMA_REGISTRY_URL/)
  })
})

describe('endpointsFromEnv', () => {
  it.each([
    [{}, { brokers: ['127.0.0.1:9092'], registryUrl: 'http://127.0.0.1:8081/apis/ccompat/v7' }],
    [
      { KAFKA_PORT: '19092', REGISTRY_PORT: '18081' },
      { brokers: ['127.0.0.1:19092'], registryUrl: 'http://127.0.0.1:18081/apis/ccompat/v7' },
    ],
    [
      { KAFKA_BROKERS: 'k1:9092,k2:9092', SCHEMA_REGISTRY_URL: 'http://sr:8081' },
      { brokers: ['k1:9092', 'k2:9092'], registryUrl: 'http://sr:8081' },
    ],
  ])('%j', (env, expected) => {
    expect(endpointsFromEnv(env)).toEqual(expected)
  })
})
