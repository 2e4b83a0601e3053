import type * as Log from '../../src/log'

// The real module: test/support/quiet-logs.ts replaces createLogger in every test file.
const { createLogger, formatLogLine } = jest.requireActual<typeof Log>('../../src/log')

const at = new Date(2026, 10, 25, 3, 4, 5, 67).getTime()
const line = (fields: Record<string, unknown>) => JSON.stringify({ level: 30, time: at, pid: 42, ...fields })

describe('formatLogLine', () => {
  it.each([
    [
      'time, level, module, message',
      { module: 'dedup', msg: 'episode opened' },
      '03:04:05.067 INFO  dedup episode opened',
    ],
    ['no module', { msg: 'stack ready' }, '03:04:05.067 INFO  stack ready'],
    ['other levels', { level: 50, module: 'runner', msg: 'x' }, '03:04:05.067 ERROR runner x'],
    [
      'fields as key=value, quoted when not a plain word',
      { module: 'http', msg: 'webhook answered', status: 503, reason: 'Kafka is down', ok: false },
      '03:04:05.067 INFO  http webhook answered status=503 reason="Kafka is down" ok=false',
    ],
    [
      'objects inline',
      { module: 'stack', msg: 'stack ready', brokers: ['127.0.0.1:9092'] },
      '03:04:05.067 INFO  stack stack ready brokers=["127.0.0.1:9092"]',
    ],
    [
      'long values cut at 80 characters',
      { msg: 'm', body: 'x'.repeat(200) },
      `03:04:05.067 INFO  m body=${'x'.repeat(79)}…`,
    ],
  ])('%s', (_name, fields, expected) => {
    expect(formatLogLine(line(fields))).toBe(`${expected}\n`)
  })

  it('shows an err with its stack and causes below the line', () => {
    const stack =
      'ConfigError: bad\n    at load (src/config/load.ts:1:1)\ncaused by: TypeError: inner\n    at x (y.ts:2:2)'
    const text = formatLogLine(
      line({
        level: 50,
        module: 'app',
        msg: 'cannot start',
        err: { type: 'ConfigError', message: 'bad', stack, code: 'NS_CONFIG' },
      }),
    )
    expect(text).toBe(
      '03:04:05.067 ERROR app cannot start err.code=NS_CONFIG\n' +
        '  ConfigError: bad\n' +
        '      at load (src/config/load.ts:1:1)\n' +
        '  caused by: TypeError: inner\n' +
        '      at x (y.ts:2:2)\n',
    )
  })

  it('passes a line that is not JSON through', () => {
    expect(formatLogLine('plain text')).toBe('plain text\n')
  })

  it('colours only when asked', () => {
    expect(formatLogLine(line({ msg: 'm' }), { colors: true })).toContain('\x1b[32mINFO \x1b[0m')
    expect(formatLogLine(line({ msg: 'm' }))).not.toContain('\x1b[')
  })
})

describe('createLogger', () => {
  const saved = process.env.LOG_FORMAT
  afterEach(() => {
    if (saved === undefined) delete process.env.LOG_FORMAT
    else process.env.LOG_FORMAT = saved
  })

  function written(settings: Log.LoggerSettings): string {
    const out: string[] = []
    const logger = createLogger({ level: 'info', ...settings, stream: { write: (s: string) => out.push(s) } })
    logger.child({ module: 'm' }).info({ n: 1 }, 'hello')
    return out.join('')
  }

  it('writes JSON when not at a terminal (production)', () => {
    delete process.env.LOG_FORMAT
    expect(JSON.parse(written({}))).toMatchObject({ level: 30, module: 'm', n: 1, msg: 'hello' })
  })

  it('LOG_FORMAT=pretty gives short lines, LOG_FORMAT=json JSON, an explicit format wins', () => {
    process.env.LOG_FORMAT = 'pretty'
    expect(written({})).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}m hello n=1\n$/)
    process.env.LOG_FORMAT = 'json'
    expect(written({})).toMatch(/^\{/)
    expect(written({ format: 'pretty' })).toMatch(/ INFO {2}m hello/)
  })

  it('rejects an unknown LOG_FORMAT', () => {
    process.env.LOG_FORMAT = 'yaml'
    expect(() => written({})).toThrow('LOG_FORMAT must be json or pretty, not "yaml"')
  })
})
