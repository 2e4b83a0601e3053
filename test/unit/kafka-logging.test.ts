import { Writable } from 'node:stream'
import pino from 'pino'
import { pinoLogCreator } from '../../src/kafka/connection'

/** A pino logger at debug whose lines are collected as parsed objects. */
function capture() {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>)
      done()
    },
  })
  return { lines, logger: pino({ level: 'debug' }, stream) }
}

// kafkajs' log levels (its logLevel enum); only src/kafka/ imports kafkajs.
const logLevel = { ERROR: 1, WARN: 2, INFO: 4, DEBUG: 5 } as const

describe('kafkajs logs through pino', () => {
  it.each([
    [
      'a real broker error stays an error',
      logLevel.ERROR,
      { message: 'Response Produce(key: 0)', error: 'This server is not the leader for that topic-partition' },
      50,
    ],
    ['a warning stays a warning', logLevel.WARN, { message: 'Something odd' }, 40],
    ['info stays info', logLevel.INFO, { message: 'Consumer has joined the group' }, 30],
    [
      'the bounded-retries warning is debug',
      logLevel.WARN,
      { message: 'Limiting retries for the idempotent producer may invalidate EoS guarantees' },
      20,
    ],
    [
      'CONCURRENT_TRANSACTIONS (retried by kafkajs) is debug',
      logLevel.ERROR,
      {
        message: 'Response AddPartitionsToTxn(key: 24, version: 1)',
        error:
          'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing',
      },
      20,
    ],
    [
      'a loading coordinator is debug',
      logLevel.ERROR,
      {
        message: 'Response InitProducerId(key: 22, version: 1)',
        error: "The coordinator is loading and hence can't process requests for this group",
      },
      20,
    ],
    [
      'the wrong coordinator at start (retried by kafkajs) is debug',
      logLevel.ERROR,
      {
        message: 'Response JoinGroup(key: 11, version: 5)',
        error: 'This is not the correct coordinator for this group',
      },
      20,
    ],
    [
      'the same, as the runner line kafkajs logs before it retries, is debug',
      logLevel.ERROR,
      { message: '[Connection] This is not the correct coordinator for this group', error: 'x' },
      20,
    ],
    [
      'a forgotten member re-joining is debug',
      logLevel.ERROR,
      {
        message: 'The coordinator is not aware of this member, re-joining the group',
        error: 'The coordinator is not aware of this member',
      },
      20,
    ],
    [
      'a coordinator not available yet is debug',
      logLevel.ERROR,
      { message: 'Response GroupCoordinator(key: 10, version: 2)', error: 'The group coordinator is not available' },
      20,
    ],
  ])('%s', (_name, level, log, expected) => {
    const { lines, logger } = capture()
    pinoLogCreator(logger)(logLevel.DEBUG)({
      namespace: 'Connection',
      level,
      label: 'x',
      log: { timestamp: 'now', logger: 'kafkajs', ...log },
    })
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ level: expected, module: 'kafkajs', ns: 'Connection', msg: log.message })
  })
})
