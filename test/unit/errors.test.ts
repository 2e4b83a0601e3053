import {
  ConfigError,
  ERROR_CODES,
  NightshiftError,
  PoisonRecordError,
  RetriableError,
  SchemaIncompatibleError,
  StackError,
} from '../../src/errors'

describe('errors', () => {
  it('has unique codes', () => {
    const codes = Object.values(ERROR_CODES)
    expect(new Set(codes).size).toBe(codes.length)
  })

  it.each([
    ['config', new ConfigError('bad'), ERROR_CODES.CONFIG, false],
    ['retriable', new RetriableError(ERROR_CODES.KAFKA_UNAVAILABLE, 'down'), ERROR_CODES.KAFKA_UNAVAILABLE, true],
    ['poison', new PoisonRecordError('junk'), ERROR_CODES.POISON_RECORD, false],
    ['stack', new StackError(ERROR_CODES.STACK_FETCH, 'no jar'), ERROR_CODES.STACK_FETCH, false],
    ['incompatible', new SchemaIncompatibleError('a.B', 't-value', 'why'), ERROR_CODES.SCHEMA_INCOMPATIBLE, false],
  ])('%s errors carry their code and retriability', (_name, err, code, retriable) => {
    expect(err).toBeInstanceOf(NightshiftError)
    expect(err.code).toBe(code)
    expect(err.retriable).toBe(retriable)
    expect(err.name).toBe(err.constructor.name)
  })

  it('names schema, subject and reason for an incompatible schema, and keeps the cause', () => {
    const cause = new Error('409')
    const err = new SchemaIncompatibleError('io.x.Alert', 'alerts.raw-value', 'field b has no default', cause)
    expect(err.message).toBe('schema io.x.Alert is incompatible with subject alerts.raw-value: field b has no default')
    expect(err.cause).toBe(cause)
  })
})
