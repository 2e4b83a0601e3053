import type { ActionRequestRecord } from '../../src/contracts/records'
import { ConfigError } from '../../src/errors'
import { createLogLevelHandler, INHERITED_LEVEL, type LogLevelConfig } from '../../src/actions/handlers/log-level'
import {
  closedPort,
  handlerContext as context,
  handlerRequest,
  useRecordingServer,
  type RecordedRequest,
  type RecordingServer,
} from '../support/handler-fixtures'

type Seen = RecordedRequest
type Answer = { status: number; body?: string; type?: string }

/**
 * A Spring Boot actuator loggers endpoint (`/actuator/loggers/{name}`) and a generic
 * form endpoint (`/generic/loggers`) over one in-memory table of configured levels.
 * Construct it at the top level of the file: its server starts and stops with the file.
 */
class FakeService {
  readonly levels = new Map<string, string | null>()
  /** The requests received; emptied before each test and by {@link reset}. */
  readonly seen: Seen[]
  /** Answers a request itself instead of the endpoint (failures, odd bodies). */
  override: ((request: Seen) => Answer | undefined) | undefined
  /** Whether the generic endpoint reports `{"previousLevel": ...}`. */
  genericReports = true
  private readonly server: RecordingServer

  constructor() {
    this.server = useRecordingServer((seen, res) => {
      const answer = this.override?.(seen) ?? this.answer(seen)
      res.writeHead(
        answer.status,
        answer.body === undefined ? {} : { 'content-type': answer.type ?? 'application/json' },
      )
      res.end(answer.body)
    })
    this.seen = this.server.received
  }

  get base(): string {
    return this.server.base
  }

  reset(levels: Record<string, string | null>): void {
    this.levels.clear()
    for (const [name, level] of Object.entries(levels)) this.levels.set(name, level)
    this.seen.length = 0
    this.override = undefined
    this.genericReports = true
  }

  private answer(request: Seen): Answer {
    const url = new URL(request.url, 'http://fake')
    const prefix = '/actuator/loggers/'
    if (url.pathname.startsWith(prefix)) {
      const name = decodeURIComponent(url.pathname.slice(prefix.length))
      if (request.method === 'GET') {
        if (!this.levels.has(name)) return { status: 404 }
        const configuredLevel = this.levels.get(name) ?? null
        return { status: 200, body: JSON.stringify({ configuredLevel, effectiveLevel: configuredLevel ?? 'INFO' }) }
      }
      if (request.method === 'POST') {
        const body = JSON.parse(request.body) as { configuredLevel: string | null }
        this.levels.set(name, body.configuredLevel)
        return { status: 204 }
      }
      return { status: 405 }
    }
    if (url.pathname === '/generic/loggers') {
      const form = new URLSearchParams(request.body)
      const logger = form.get('logger') ?? ''
      const previousLevel = this.levels.get(logger) ?? null
      this.levels.set(logger, form.get('level'))
      return { status: 200, body: JSON.stringify(this.genericReports ? { previousLevel } : { ok: true }) }
    }
    return { status: 404 }
  }
}

const service = new FakeService()
let loggers: string

beforeAll(() => {
  loggers = `${service.base}/actuator/loggers`
})

beforeEach(() => {
  service.reset({ ROOT: 'WARN', 'com.example.Checkout': null })
})

function request(params: Record<string, string>): ActionRequestRecord {
  return handlerRequest('log-level', params)
}

describe('log-level (spring): raise, then revert to exactly the previous state', () => {
  it.each<[string, string, string | null, string, string]>([
    ['a configured ROOT', 'ROOT', 'WARN', 'DEBUG', 'WARN'],
    ['an inheriting logger (null comes back as null)', 'com.example.Checkout', null, 'TRACE', INHERITED_LEVEL],
    ['a lower-case level, sent upper-case', 'ROOT', 'WARN', 'debug', 'WARN'],
  ])('%s', async (_name, logger, before, level, shownBefore) => {
    const handler = createLogLevelHandler({})
    const result = await handler.run(request({ url: loggers, logger, level }), context())
    const upper = level.toUpperCase()
    expect(result).toMatchObject({
      ok: true,
      retriable: false,
      output: {
        flavour: 'spring',
        logger,
        level: upper,
        previousLevel: shownBefore,
        revertAfterMs: '900000',
        httpStatus: '204',
      },
      revert: {
        afterMs: 900_000,
        params: { flavour: 'spring', url: loggers, logger, level: upper, previousLevel: shownBefore },
      },
    })
    expect(service.levels.get(logger)).toBe(upper)
    const path = `/actuator/loggers/${encodeURIComponent(logger)}`
    expect(service.seen.map((s) => [s.method, s.url, s.body])).toEqual([
      ['GET', path, ''],
      ['POST', path, JSON.stringify({ configuredLevel: upper })],
    ])
    expect(service.seen[1]?.headers['content-type']).toBe('application/json')

    service.seen.length = 0
    const reverted = await handler.revert!(result.revert!.params, context())
    expect(reverted).toMatchObject({
      ok: true,
      retriable: false,
      detail: `logger ${logger} of ${loggers} back to ${shownBefore}`,
      output: { flavour: 'spring', logger, level: shownBefore, httpStatus: '204' },
    })
    expect(service.levels.get(logger)).toBe(before)
    expect(service.seen.map((s) => [s.method, s.url, s.body])).toEqual([
      ['POST', path, JSON.stringify({ configuredLevel: before })],
    ])
  })

  it('duration comes from params, and the revert params survive a JSON round trip (the ledger)', async () => {
    const handler = createLogLevelHandler({ defaultDuration: '5m' })
    const result = await handler.run(
      request({ url: `${loggers}/`, level: 'INFO', duration: '1h30m', alert: 'HighLatency' }),
      context(),
    )
    expect(result).toMatchObject({ ok: true, output: { revertAfterMs: '5400000' }, revert: { afterMs: 5_400_000 } })
    expect(result.detail).toBe(`logger ROOT of ${loggers}/ set to INFO (was WARN); back in 1h30m`)
    expect(service.seen[1]?.url).toBe('/actuator/loggers/ROOT')
    const stored = JSON.parse(JSON.stringify(result.revert!.params)) as Record<string, string>
    expect(Object.values(stored).every((v) => typeof v === 'string')).toBe(true)
    expect((await handler.revert!(stored, context())).ok).toBe(true)
    expect(service.levels.get('ROOT')).toBe('WARN')
  })

  it('the default duration applies when the request has none', async () => {
    const result = await createLogLevelHandler({ defaultDuration: '2m' }).run(
      request({ url: loggers, level: 'DEBUG' }),
      context(),
    )
    expect(result.revert?.afterMs).toBe(120_000)
  })

  it('a logger already at the level is left alone: no write, no revert', async () => {
    service.reset({ ROOT: 'DEBUG' })
    const result = await createLogLevelHandler({}).run(request({ url: loggers, level: 'DEBUG' }), context())
    expect(result).toMatchObject({ ok: true, output: { unchanged: 'true', previousLevel: 'DEBUG', level: 'DEBUG' } })
    expect(result.revert).toBeUndefined()
    expect(service.seen.map((s) => s.method)).toEqual(['GET'])
  })

  it('a second raise while the first is still active does not make the raised level permanent', async () => {
    const handler = createLogLevelHandler({})
    const first = await handler.run(request({ url: loggers, level: 'DEBUG' }), context())
    const second = await handler.run(request({ url: loggers, level: 'DEBUG' }), context())
    expect(second.revert).toBeUndefined()
    await handler.revert!(first.revert!.params, context())
    expect(service.levels.get('ROOT')).toBe('WARN')
  })
})

describe('log-level (spring): a failed read changes nothing', () => {
  it.each<[string, Answer, boolean]>([
    ['a 503', { status: 503, body: 'starting' }, true],
    ['a 429', { status: 429 }, true],
    ['a 401', { status: 401, body: 'no' }, false],
    ['a 404 (no such logger)', { status: 404 }, false],
    ['a 200 that is not JSON', { status: 200, body: '<html>login</html>', type: 'text/html' }, false],
    ['a 200 with an unknown level', { status: 200, body: '{"configuredLevel":"LOUD"}' }, false],
  ])('%s: retriable %s', async (_name, answer, retriable) => {
    service.override = (r) => (r.method === 'GET' ? answer : undefined)
    const result = await createLogLevelHandler({}).run(request({ url: loggers, level: 'DEBUG' }), context())
    expect(result).toMatchObject({ ok: false, retriable })
    expect(result.revert).toBeUndefined()
    expect(service.seen.map((s) => s.method)).toEqual(['GET'])
    expect(service.levels.get('ROOT')).toBe('WARN')
  })

  it('no connection is retriable, and nothing is written', async () => {
    const port = await closedPort()
    const result = await createLogLevelHandler({}).run(
      request({ url: `http://127.0.0.1:${port}/actuator/loggers`, level: 'DEBUG' }),
      context(),
    )
    expect(result).toMatchObject({ ok: false, retriable: true, output: { error: 'network' } })
  })

  it('an aborted attempt sends nothing and is retriable', async () => {
    const result = await createLogLevelHandler({}).run(
      request({ url: loggers, level: 'DEBUG' }),
      context({ signal: AbortSignal.abort(new Error('worker stopping')) }),
    )
    expect(result).toMatchObject({ ok: false, retriable: true, output: { error: 'aborted' } })
    expect(service.seen).toEqual([])
  })

  it.each<[number, boolean, boolean]>([
    // 502: the level may be set all the same, so the revert to the level read before is planned.
    [502, true, true],
    // 400: refused, nothing changed, nothing to undo.
    [400, false, false],
  ])('a failed write (%d, retriable %s): revert planned %s', async (status, retriable, planned) => {
    service.override = (r) => (r.method === 'POST' ? { status } : undefined)
    const result = await createLogLevelHandler({}).run(request({ url: loggers, level: 'DEBUG' }), context())
    expect(result).toMatchObject({
      ok: false,
      retriable,
      output: { httpStatus: String(status), previousLevel: 'WARN' },
    })
    if (planned)
      expect(result.revert).toMatchObject({
        params: { flavour: 'spring', logger: 'ROOT', level: 'DEBUG', previousLevel: 'WARN' },
      })
    else expect(result.revert).toBeUndefined()
  })

  it('a failed revert is retriable on a 5xx', async () => {
    service.override = () => ({ status: 503 })
    const result = await createLogLevelHandler({}).revert!(
      { flavour: 'spring', url: loggers, logger: 'ROOT', level: 'DEBUG', previousLevel: 'WARN' },
      context(),
    )
    expect(result).toMatchObject({ ok: false, retriable: true, output: { httpStatus: '503' } })
  })
})

describe('log-level: bad requests are final and send nothing', () => {
  it.each<[string, Record<string, string>, RegExp]>([
    ['no level', { url: 'http://x/l' }, /params\.level is required/],
    [
      'an unknown level',
      { url: 'http://x/l', level: 'LOUD' },
      /params\.level must be one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL, OFF, got "LOUD"/,
    ],
    ['no url', { level: 'DEBUG' }, /params\.url is required/],
    [
      'a url that is not http',
      { url: 'file:///etc/passwd', level: 'DEBUG' },
      /params\.url: "file:\/\/\/etc\/passwd" is not an http\(s\) URL/,
    ],
    [
      'a bad duration',
      { url: 'http://x/l', level: 'DEBUG', duration: 'soon' },
      /params\.duration: must be a duration like/,
    ],
    [
      'a zero duration',
      { url: 'http://x/l', level: 'DEBUG', duration: '0s' },
      /params\.duration: must be longer than zero/,
    ],
    [
      'a duration over the maximum',
      { url: 'http://x/l', level: 'DEBUG', duration: '5h' },
      /params\.duration 5h is longer than the maximum 4h \(log-level\.config\.maxDuration\)/,
    ],
    [
      'an unknown flavour',
      { url: 'http://x/l', level: 'DEBUG', flavour: 'log4j' },
      /params\.flavour must be one of spring, generic/,
    ],
    [
      'a logger climbing the path',
      { url: 'http://x/l', level: 'DEBUG', logger: '../../shutdown' },
      /params\.logger "\.\.\/\.\.\/shutdown" is not a logger name/,
    ],
    [
      'a logger with a slash',
      { url: 'http://x/l', level: 'DEBUG', logger: 'a/b' },
      /params\.logger "a\/b" is not a logger name/,
    ],
    ['a logger ..', { url: 'http://x/l', level: 'DEBUG', logger: '..' }, /is not a logger name/],
    ['a logger .', { url: 'http://x/l', level: 'DEBUG', logger: '.' }, /is not a logger name/],
    ['an empty logger', { url: 'http://x/l', level: 'DEBUG', logger: '' }, /params\.logger must not be empty/],
  ])('%s', async (_name, params, detail) => {
    const handler = createLogLevelHandler({})
    const result = await handler.run(
      request({ ...params, url: (params.url ?? '').replace('http://x/l', loggers) }),
      context(),
    )
    expect(result).toMatchObject({ ok: false, retriable: false })
    expect(result.detail).toMatch(detail)
    expect(result.revert).toBeUndefined()
    expect(handler.describe(request(params))).toMatch(/ \(would fail\)$/)
    expect(service.seen).toEqual([])
  })

  it('names every problem at once', async () => {
    const result = await createLogLevelHandler({}).run(
      request({ level: 'LOUD', duration: '9h', logger: 'a/../b' }),
      context(),
    )
    expect(result.detail).toMatch(
      /params\.level must be[\s\S]*params\.duration 9h is longer[\s\S]*params\.url is required[\s\S]*params\.logger/,
    )
  })

  it.each(['a?b=c#d', 'a b', '%2e%2e', 'ünïcødé', 'a;b', 'com.example.Foo$Inner'])(
    'a logger %j stays one path segment',
    async (logger) => {
      service.reset({ [logger]: 'INFO' })
      const result = await createLogLevelHandler({}).run(request({ url: loggers, level: 'DEBUG', logger }), context())
      expect(result.ok).toBe(true)
      expect(service.seen.map((s) => s.url)).toEqual([
        `/actuator/loggers/${encodeURIComponent(logger)}`,
        `/actuator/loggers/${encodeURIComponent(logger)}`,
      ])
      expect(service.levels.get(logger)).toBe('DEBUG')
    },
  )

  it('a revert with bad stored params is final and sends nothing', async () => {
    const handler = createLogLevelHandler({})
    const cases: Record<string, string>[] = [
      {},
      { flavour: 'spring', url: loggers, logger: 'ROOT', previousLevel: 'LOUD' },
      { flavour: 'spring', url: loggers, logger: '../x', previousLevel: 'INFO' },
      { flavour: 'generic', url: loggers, logger: 'ROOT', previousLevel: INHERITED_LEVEL },
      { flavour: 'generic', url: loggers, logger: 'ROOT', previousLevel: 'INFO', method: 'DELETE' },
    ]
    for (const params of cases) {
      const result = await handler.revert!(params, context())
      expect(result).toMatchObject({ ok: false, retriable: false })
      expect(result.detail).toMatch(/^log-level revert: /)
    }
    expect(service.seen).toEqual([])
  })
})

describe('log-level (generic)', () => {
  it('one form request; the previous level the service reports is the revert level', async () => {
    const handler = createLogLevelHandler({ flavour: 'generic', generic: { method: 'put' } })
    const url = `${service.base}/generic/loggers`
    const result = await handler.run(request({ url, logger: 'com.example.Checkout', level: 'debug' }), context())
    expect(result).toMatchObject({
      ok: true,
      output: {
        flavour: 'generic',
        logger: 'com.example.Checkout',
        level: 'DEBUG',
        previousLevel: 'INFO',
        previousLevelFrom: 'config',
        httpStatus: '200',
      },
      revert: {
        params: {
          flavour: 'generic',
          url,
          logger: 'com.example.Checkout',
          level: 'DEBUG',
          previousLevel: 'INFO',
          method: 'PUT',
        },
      },
    })
    expect(service.seen.map((s) => [s.method, s.url, s.headers['content-type'], s.body])).toEqual([
      ['PUT', '/generic/loggers', 'application/x-www-form-urlencoded', 'logger=com.example.Checkout&level=DEBUG'],
    ])

    service.reset({ ROOT: 'WARN' })
    const raised = await handler.run(request({ url, level: 'TRACE' }), context())
    expect(raised).toMatchObject({
      ok: true,
      output: { previousLevel: 'WARN', previousLevelFrom: 'service' },
      revert: { params: { previousLevel: 'WARN' } },
    })
    expect(service.levels.get('ROOT')).toBe('TRACE')
    const reverted = await handler.revert!(raised.revert!.params, context())
    expect(reverted).toMatchObject({ ok: true, detail: `logger ROOT of ${url} back to WARN` })
    expect(service.levels.get('ROOT')).toBe('WARN')
    expect(service.seen.map((s) => [s.method, s.body])).toEqual([
      ['PUT', 'logger=ROOT&level=TRACE'],
      ['PUT', 'logger=ROOT&level=WARN'],
    ])
  })

  it('without a reported level the revert goes to config generic.revertLevel; params.flavour overrides the config', async () => {
    service.genericReports = false
    const handler = createLogLevelHandler({ generic: { revertLevel: 'error' } })
    const result = await handler.run(
      request({ url: `${service.base}/generic/loggers`, level: 'DEBUG', flavour: 'generic' }),
      context(),
    )
    expect(result).toMatchObject({
      ok: true,
      output: { previousLevel: 'ERROR', previousLevelFrom: 'config' },
      revert: { params: { previousLevel: 'ERROR', method: 'POST' } },
    })
    expect(service.seen[0]).toMatchObject({ method: 'POST', body: 'logger=ROOT&level=DEBUG' })
  })

  it('a form value with & and = stays one value', async () => {
    const result = await createLogLevelHandler({ flavour: 'generic' }).run(
      request({ url: `${service.base}/generic/loggers`, level: 'DEBUG', logger: 'a&level=OFF' }),
      context(),
    )
    expect(result.ok).toBe(true)
    expect(service.levels.get('a&level=OFF')).toBe('DEBUG')
  })
})

describe('log-level: secrets', () => {
  const token = 's3cr3t-t0ken'
  const config: LogLevelConfig = { headers: { Authorization: 'Bearer ${env:NS_ADMIN_TOKEN}', 'X-Team': 'payments' } }

  it('header secrets are filled from the context env for the raise and the revert, and appear nowhere else', async () => {
    const handler = createLogLevelHandler(config)
    const env = { NS_ADMIN_TOKEN: token }
    const req = request({ url: loggers, level: 'DEBUG' })
    const result = await handler.run(req, context({ env }))
    expect(result.ok).toBe(true)
    const reverted = await handler.revert!(result.revert!.params, context({ env }))
    expect(reverted.ok).toBe(true)
    expect(service.seen.map((s) => [s.method, s.headers.authorization, s.headers['x-team']])).toEqual([
      ['GET', `Bearer ${token}`, 'payments'],
      ['POST', `Bearer ${token}`, 'payments'],
      ['POST', `Bearer ${token}`, 'payments'],
    ])
    expect(JSON.stringify([result, reverted, handler.describe(req)])).not.toContain(token)
  })

  it('an unset secret is final, named, and nothing is sent', async () => {
    const result = await createLogLevelHandler(config).run(
      request({ url: loggers, level: 'DEBUG' }),
      context({ env: { NS_ADMIN_TOKEN: '' } }),
    )
    expect(result).toMatchObject({
      ok: false,
      retriable: false,
      detail: 'log-level: the environment lacks NS_ADMIN_TOKEN (named in log-level.config.headers)',
    })
    expect(service.seen).toEqual([])
  })

  it('a secret that would start a new header line is final, not quoted, and nothing is sent', async () => {
    const result = await createLogLevelHandler(config).run(
      request({ url: loggers, level: 'DEBUG' }),
      context({ env: { NS_ADMIN_TOKEN: 'x\r\nX-Evil: 1' } }),
    )
    expect(result).toMatchObject({
      ok: false,
      retriable: false,
      detail:
        'log-level: header Authorization: the value with its secrets filled in contains CR or LF, which would start a new header line; not sent',
    })
    expect(JSON.stringify(result)).not.toContain('X-Evil')
    expect(service.seen).toEqual([])
  })
})

describe('log-level: describe (no I/O)', () => {
  it.each<[string, LogLevelConfig, Record<string, string>, string]>([
    [
      'spring',
      {},
      { url: 'http://checkout:8081/actuator/loggers', level: 'debug' },
      'GET http://checkout:8081/actuator/loggers/ROOT, then POST http://checkout:8081/actuator/loggers/ROOT {"configuredLevel":"DEBUG"}; revert after 15m',
    ],
    [
      'spring, userinfo and query hidden',
      {},
      { url: 'http://u:pw@checkout:8081/loggers?token=abc', level: 'WARN', logger: 'a b', duration: '1h' },
      'GET http://checkout:8081/loggers/a%20b?…, then POST http://checkout:8081/loggers/a%20b?… {"configuredLevel":"WARN"}; revert after 1h',
    ],
    [
      'generic',
      { flavour: 'generic' },
      { url: 'http://checkout:8081/admin/log', level: 'TRACE', duration: '90s' },
      'POST http://checkout:8081/admin/log logger=ROOT&level=TRACE; revert after 1m30s',
    ],
  ])('%s', (_name, config, params, expected) => {
    expect(createLogLevelHandler(config).describe(request(params))).toBe(expected)
  })
})

describe('log-level: config validation', () => {
  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['empty', {}],
    [
      'everything',
      {
        flavour: 'generic',
        defaultDuration: '10m',
        maxDuration: '1d',
        headers: { Authorization: 'Bearer ${env:T}' },
        generic: { method: 'PATCH', revertLevel: 'warn' },
      },
    ],
  ])('%s is valid', (_name, config) => {
    expect(createLogLevelHandler(config).name).toBe('log-level')
  })

  it.each<[string, unknown, string]>([
    ['not an object', 'spring', 'log-level.config: must be an object'],
    [
      'an unknown key',
      { flavor: 'spring' },
      'log-level.config.flavor: is not allowed; expected one of: flavour, defaultDuration, maxDuration, headers, generic',
    ],
    [
      'an unknown flavour',
      { flavour: 'log4j' },
      'log-level.config.flavour: must be one of spring, generic, got "log4j"',
    ],
    ['a bad maxDuration', { maxDuration: '4 hours' }, 'log-level.config.maxDuration: must be a duration like'],
    [
      'a numeric defaultDuration',
      { defaultDuration: 900 },
      'log-level.config.defaultDuration: must be a duration string',
    ],
    [
      'a null defaultDuration',
      { defaultDuration: null },
      'log-level.config.defaultDuration: must be a duration string',
    ],
    [
      'a default over the maximum',
      { defaultDuration: '1h', maxDuration: '30m' },
      'log-level.config.defaultDuration: 1h is longer than maxDuration 30m',
    ],
    [
      'headers not an object',
      { headers: ['a'] },
      'log-level.config.headers must be a map of header names to string values',
    ],
    ['a non-string header', { headers: { 'X-N': 1 } }, 'log-level.config.headers.X-N must be a string'],
    [
      'a header with a line break',
      { headers: { 'X-N': 'a\r\nX-Evil: 1' } },
      'log-level.config.headers.X-N: the value contains CR or LF',
    ],
    [
      'a header with NUL',
      { headers: { 'X-N': 'a\0b' } },
      'log-level.config.headers.X-N: the value contains a control character',
    ],
    [
      'a bad header name',
      { headers: { 'X N': 'a' } },
      'log-level.config.headers["X N"]: "X N" is not a valid HTTP header name',
    ],
    [
      'a header the handler sets',
      { headers: { 'Content-Type': 'text/plain' } },
      'log-level.config.headers.Content-Type: "Content-Type" is set by the handler',
    ],
    [
      'a header the HTTP client sets',
      { headers: { Expect: '100-continue' } },
      'log-level.config.headers.Expect: "Expect" is set by the HTTP client',
    ],
    [
      'a header repeated in another case',
      { headers: { 'x-team': 'a', 'X-Team': 'b' } },
      'log-level.config.headers.X-Team repeats x-team',
    ],
    ['generic not an object', { generic: 'POST' }, 'log-level.config.generic: must be an object'],
    [
      'a generic GET',
      { generic: { method: 'GET' } },
      'log-level.config.generic.method: must be one of POST, PUT, PATCH, got "GET"',
    ],
    [
      'a bad revertLevel',
      { generic: { revertLevel: 'LOUD' } },
      'log-level.config.generic.revertLevel: must be one of TRACE',
    ],
    ['an unknown generic key', { generic: { url: 'x' } }, 'log-level.config.generic.url: is not allowed'],
  ])('%s is a ConfigError naming the path', (_name, config, message) => {
    const build = (): unknown => createLogLevelHandler(config)
    expect(build).toThrow(ConfigError)
    expect(build).toThrow(message)
  })

  it('reports every problem at once', () => {
    const build = (): unknown =>
      createLogLevelHandler({
        flavour: 1,
        maxDuration: 'x',
        headers: { Host: 'h' },
        generic: { method: 'GET' },
        extra: true,
      })
    expect(build).toThrow(
      /log-level\.config\.extra[\s\S]*\.flavour[\s\S]*\.maxDuration[\s\S]*\.headers\.Host[\s\S]*\.generic\.method/,
    )
  })
})
