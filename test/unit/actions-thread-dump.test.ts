import fs from 'node:fs'
import path from 'node:path'
import type { ActionRequestRecord } from '../../src/contracts/records'
import { ConfigError } from '../../src/errors'
import { createThreadDumpHandler, safePathSegment } from '../../src/actions/handlers/thread-dump'
import type { HandlerContext } from '../../src/actions/handlers/types'
import {
  handlerContext,
  handlerRequest,
  isGone,
  useRecordingServer,
  useTempDir,
  waitFor,
} from '../support/handler-fixtures'

/** A jstack-like dump with three thread headers (the actuator's text/plain format). */
const DUMP = [
  '2026-11-25 03:15:00',
  'Full thread dump OpenJDK 64-Bit Server VM (21.0.5+11 mixed mode, sharing):',
  '',
  '"main" - Thread t@1',
  '   java.lang.Thread.State: RUNNABLE',
  '\tat java.base/java.lang.Thread.sleep(Native Method)',
  '',
  '"http-nio-8080-exec-1" - Thread t@42',
  '   java.lang.Thread.State: WAITING',
  '',
  '"Reference Handler" - Thread t@2',
  '   java.lang.Thread.State: RUNNABLE',
  '',
].join('\n')

const tmp = useTempDir('ns-thread-dump-')
/** What the fake actuator answers next. */
let answer: { status: number; body: string }
const actuator = useRecordingServer((_request, res) => {
  res.writeHead(answer.status, { 'content-type': 'text/plain;charset=UTF-8' })
  res.end(answer.body)
})
const seen = actuator.received
let artifacts: string

/** A fake jcmd: a node script run directly by its shebang, as the handler runs jcmd. */
function fakeJcmd(name: string, body: string): string {
  return tmp.write(name, `#!${process.execPath}\n${body}\n`)
}

beforeEach(() => {
  answer = { status: 200, body: DUMP }
  artifacts = fs.mkdtempSync(path.join(tmp.path, 'artifacts-'))
})

function request(
  params: Record<string, string>,
  alert: { service?: string | null; fingerprint?: string; labels?: Record<string, string> } = {},
): ActionRequestRecord {
  return handlerRequest('thread-dump', params, {
    alert: {
      ...(alert.fingerprint !== undefined ? { fingerprint: alert.fingerprint } : {}),
      labels: { alertname: 'HighLatency', ...alert.labels },
    },
    ...(alert.service !== undefined ? { service: alert.service } : {}),
  })
}

function context(over: Partial<HandlerContext> = {}): HandlerContext {
  return handlerContext({ timeoutMs: 20_000, artifactsDir: artifacts, ...over })
}

/** Every file under `folder`, relative, `/`-separated. */
function filesUnder(folder: string): string[] {
  if (!fs.existsSync(folder)) return []
  return fs
    .readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(folder, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort()
}

const ARTIFACT = /^thread-dumps\/checkout\/\d{8}T\d{6}Z-16ddbf5dcf57-[0-9a-f]{6}\.txt$/

describe('thread-dump over HTTP (Spring Boot actuator)', () => {
  it('stores the body as a file under the artifacts folder and references it', async () => {
    const started = new Date()
    const result = await createThreadDumpHandler({}).run(
      request({ url: `${actuator.base}/actuator/threaddump` }),
      context(),
    )
    expect(result).toMatchObject({
      ok: true,
      retriable: false,
      output: { source: 'http', httpStatus: '200', threads: '3', bytes: String(Buffer.byteLength(DUMP)) },
    })
    expect(result.artifact).toMatch(ARTIFACT)
    expect(result.output.artifact).toBe(result.artifact)
    expect(result.output.truncated).toBeUndefined()
    expect(result.detail).toBe(
      `GET ${actuator.base}/actuator/threaddump: 3 threads stored in ${result.artifact} (${Buffer.byteLength(DUMP)} bytes)`,
    )
    expect(fs.readFileSync(path.join(artifacts, result.artifact!), 'utf8')).toBe(DUMP)
    expect(filesUnder(artifacts)).toEqual([result.artifact])
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({ url: '/actuator/threaddump', headers: { accept: 'text/plain' } })
    // The name carries the UTC time of the attempt.
    const stamp = /(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(result.artifact!)!
    const at = Date.UTC(
      Number(stamp[1]),
      Number(stamp[2]) - 1,
      Number(stamp[3]),
      Number(stamp[4]),
      Number(stamp[5]),
      Number(stamp[6]),
    )
    expect(at).toBeGreaterThanOrEqual(Math.floor(started.getTime() / 1000) * 1000)
    expect(at).toBeLessThanOrEqual(Date.now())
  })

  it('a body over maxBytes keeps what fits and says it was truncated', async () => {
    answer = { status: 200, body: `"t1"\n${'x'.repeat(995)}` }
    const result = await createThreadDumpHandler({ maxBytes: 100 }).run(
      request({ url: `${actuator.base}/actuator/threaddump` }),
      context(),
    )
    expect(result).toMatchObject({ ok: true, output: { truncated: 'true', droppedBytes: '900', threads: '1' } })
    const stored = fs.readFileSync(path.join(artifacts, result.artifact!), 'utf8')
    expect(stored).toBe(`${answer.body.slice(0, 100)}…[truncated 900 bytes]`)
    expect(result.output.bytes).toBe(String(Buffer.byteLength(stored)))
  })

  it.each<[number, boolean]>([
    [503, true],
    [500, true],
    [404, false],
    [401, false],
  ])('an answer %d fails (retriable %s) and stores nothing', async (status, retriable) => {
    answer = { status, body: 'e'.repeat(10_000) }
    const result = await createThreadDumpHandler({}).run(
      request({ url: `${actuator.base}/actuator/threaddump` }),
      context(),
    )
    expect(result).toMatchObject({ ok: false, retriable, output: { source: 'http', httpStatus: String(status) } })
    expect(result.artifact).toBeUndefined()
    expect(result.output.responseBody!.length).toBeLessThan(5000)
    expect(filesUnder(artifacts)).toEqual([])
  })

  it('header secrets are filled from the context env and appear nowhere else', async () => {
    const token = 'hunter2-token'
    const handler = createThreadDumpHandler({ headers: { Authorization: 'Bearer ${env:NS_DUMP_TOKEN}' } })
    const req = request({ url: `${actuator.base}/actuator/threaddump?key=abc` })
    const result = await handler.run(req, context({ env: { NS_DUMP_TOKEN: token } }))
    expect(result.ok).toBe(true)
    expect(seen[0]?.headers.authorization).toBe(`Bearer ${token}`)
    expect(JSON.stringify([result, handler.describe(req)])).not.toContain(token)
    expect(JSON.stringify([result, handler.describe(req)])).not.toContain('key=abc')
  })

  it('an unset secret is final and nothing is sent', async () => {
    const handler = createThreadDumpHandler({ headers: { Authorization: 'Bearer ${env:NS_DUMP_TOKEN}' } })
    const result = await handler.run(request({ url: `${actuator.base}/actuator/threaddump` }), context())
    expect(result).toMatchObject({
      ok: false,
      retriable: false,
      detail: 'thread-dump: the environment lacks NS_DUMP_TOKEN (named in thread-dump.config.headers)',
    })
    expect(seen).toEqual([])
  })

  it('an aborted attempt stores nothing and is retriable', async () => {
    const result = await createThreadDumpHandler({}).run(
      request({ url: `${actuator.base}/actuator/threaddump` }),
      context({ signal: AbortSignal.abort() }),
    )
    expect(result).toMatchObject({ ok: false, retriable: true, output: { error: 'aborted' } })
    expect(filesUnder(artifacts)).toEqual([])
  })

  it('an artifacts folder that cannot hold the dump is a failure, and no partial file is left', async () => {
    const notAFolder = path.join(artifacts, 'file')
    fs.writeFileSync(notAFolder, '')
    const result = await createThreadDumpHandler({}).run(
      request({ url: `${actuator.base}/actuator/threaddump` }),
      context({ artifactsDir: notAFolder }),
    )
    expect(result).toMatchObject({ ok: false, retriable: false, output: { error: 'ENOTDIR', source: 'http' } })
    expect(filesUnder(artifacts)).toEqual(['file'])
  })
})

describe('thread-dump with jcmd (params.pid)', () => {
  it('runs <jcmd> <pid> Thread.print (no shell) and stores its stdout', async () => {
    const argvFile = path.join(tmp.path, 'jcmd.argv')
    const jcmd = fakeJcmd(
      'jcmd-ok.js',
      `require('fs').writeFileSync(${JSON.stringify(argvFile)}, JSON.stringify(process.argv.slice(2)))
process.stdout.write(process.argv[2] + ':\\n' + ${JSON.stringify(DUMP)})`,
    )
    const result = await createThreadDumpHandler({ jcmd }).run(request({ pid: '4242' }), context())
    expect(result).toMatchObject({ ok: true, output: { source: 'jcmd', pid: '4242', exitCode: '0', threads: '3' } })
    expect(result.artifact).toMatch(ARTIFACT)
    expect(result.detail).toMatch(/^jcmd 4242 Thread\.print: 3 threads stored in thread-dumps\/checkout\//)
    expect(fs.readFileSync(path.join(artifacts, result.artifact!), 'utf8')).toBe(`4242:\n${DUMP}`)
    expect(JSON.parse(fs.readFileSync(argvFile, 'utf8'))).toEqual(['4242', 'Thread.print'])
    expect(filesUnder(artifacts)).toEqual([result.artifact])
  })

  it('stdout over maxBytes is cut with a marker', async () => {
    const jcmd = fakeJcmd('jcmd-big.js', "process.stdout.write('\"t\"\\n' + 'y'.repeat(5000))")
    const result = await createThreadDumpHandler({ jcmd, maxBytes: 1000 }).run(request({ pid: '1' }), context())
    expect(result).toMatchObject({ ok: true, output: { truncated: 'true', droppedBytes: '4004', threads: '1' } })
    expect(fs.readFileSync(path.join(artifacts, result.artifact!), 'utf8')).toMatch(/y…\[truncated 4004 bytes\]$/)
  })

  it('a non-zero exit is a retriable failure with stderr and the head of stdout, and stores nothing', async () => {
    const jcmd = fakeJcmd(
      'jcmd-fail.js',
      "process.stdout.write('com.sun.tools.attach.AttachNotSupportedException: Unable to open socket file'); process.stderr.write('attach failed'); process.exit(1)",
    )
    const result = await createThreadDumpHandler({ jcmd }).run(request({ pid: '4242' }), context())
    expect(result).toMatchObject({
      ok: false,
      retriable: true,
      detail: 'jcmd 4242 Thread.print exited with code 1',
      output: {
        source: 'jcmd',
        pid: '4242',
        exitCode: '1',
        stderr: 'attach failed',
        stdout: 'com.sun.tools.attach.AttachNotSupportedException: Unable to open socket file',
      },
    })
    expect(result.artifact).toBeUndefined()
    expect(filesUnder(artifacts)).toEqual([])
  })

  it('the attempt timeout kills jcmd (its pid is gone afterwards) and stores nothing', async () => {
    const pidFile = path.join(tmp.path, 'jcmd-hang.pid')
    const jcmd = fakeJcmd(
      'jcmd-hang.js',
      `process.stdout.write('partial'); require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000)`,
    )
    const started = Date.now()
    const result = await createThreadDumpHandler({ jcmd }).run(request({ pid: '4242' }), context({ timeoutMs: 1500 }))
    expect(result).toMatchObject({
      ok: false,
      retriable: true,
      detail: 'jcmd 4242 Thread.print timed out after 1500 ms',
      output: { timedOut: 'true', signal: 'SIGTERM' },
    })
    expect(Date.now() - started).toBeLessThan(15_000)
    const pid = Number(fs.readFileSync(pidFile, 'utf8'))
    await waitFor('the fake jcmd to be gone', () => isGone(pid))
    expect(filesUnder(artifacts)).toEqual([])
  })

  it('aborting the context kills jcmd', async () => {
    const pidFile = path.join(tmp.path, 'jcmd-abort.pid')
    const jcmd = fakeJcmd(
      'jcmd-abort.js',
      `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000)`,
    )
    const controller = new AbortController()
    const running = createThreadDumpHandler({ jcmd }).run(
      request({ pid: '4242' }),
      context({ signal: controller.signal }),
    )
    await waitFor('the fake jcmd to start', () => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8') !== '')
    controller.abort(new Error('worker stopping'))
    const result = await running
    expect(result).toMatchObject({ ok: false, retriable: true, output: { timedOut: 'true' } })
    expect(result.detail).toMatch(/^jcmd 4242 Thread\.print aborted \(worker stopping\) after \d+ ms$/)
    await waitFor('the fake jcmd to be gone', () => isGone(Number(fs.readFileSync(pidFile, 'utf8'))))
    expect(filesUnder(artifacts)).toEqual([])
  })

  it('the default jcmd is $JAVA_HOME/bin/jcmd, resolved when the handler is built; a missing one is final', async () => {
    const handler = createThreadDumpHandler(undefined, { JAVA_HOME: '/nonexistent-jdk' })
    const result = await handler.run(request({ pid: '4242' }), context())
    expect(result).toMatchObject({
      ok: false,
      retriable: false,
      detail: 'jcmd 4242 Thread.print: could not start /nonexistent-jdk/bin/jcmd: ENOENT',
      output: { error: 'ENOENT' },
    })
  })

  it.each(['abc', '0', '007', '-1', '12 34', '1;id', '$(id)', '12345678901', '4242\n'])(
    'pid %j is refused, final, and nothing runs',
    async (pid) => {
      const marker = path.join(tmp.path, 'jcmd-ran')
      const jcmd = fakeJcmd('jcmd-marker.js', `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`)
      const result = await createThreadDumpHandler({ jcmd }).run(request({ pid }), context())
      expect(result).toMatchObject({ ok: false, retriable: false })
      expect(result.detail).toMatch(/params\.pid must be a process id/)
      expect(fs.existsSync(marker)).toBe(false)
    },
  )
})

describe('thread-dump: which source', () => {
  it.each<[string, Record<string, string>, RegExp]>([
    ['neither', { instance: 'checkout-1:8080', service: 'checkout' }, /has neither params\.url .* nor params\.pid/],
    ['both', { url: 'http://x/actuator/threaddump', pid: '42' }, /params\.url and params\.pid are both set/],
    ['empty values', { url: '', pid: '' }, /has neither/],
    [
      'a url that is not http',
      { url: 'file:///etc/passwd' },
      /params\.url: "file:\/\/\/etc\/passwd" is not an http\(s\) URL/,
    ],
  ])('%s is a final failure', async (_name, params, detail) => {
    const handler = createThreadDumpHandler({})
    const result = await handler.run(request(params), context())
    expect(result).toMatchObject({ ok: false, retriable: false })
    expect(result.detail).toMatch(detail)
    expect(handler.describe(request(params))).toMatch(/^thread-dump: .* \(would fail\)$/)
    expect(seen).toEqual([])
  })
})

describe('thread-dump: hostile service and fingerprint stay inside the artifacts folder', () => {
  it.each<[string, string | null, string, Record<string, string>, string]>([
    ['a climbing service', '../../../etc', '16ddbf5dcf57d972', {}, '.._.._.._etc'],
    ['service ..', '..', '16ddbf5dcf57d972', {}, '__'],
    ['service .', '.', '16ddbf5dcf57d972', {}, '_'],
    ['an empty service', '', '16ddbf5dcf57d972', {}, '_'],
    ['an absolute service', '/etc/cron.d', '16ddbf5dcf57d972', {}, '_etc_cron.d'],
    ['a service with NUL and newline', 'a\0b\nc', '16ddbf5dcf57d972', {}, 'a_b_c'],
    ['a long service', 'x'.repeat(500), '16ddbf5dcf57d972', {}, 'x'.repeat(64)],
    ['no catalog service: the service label', null, '16ddbf5dcf57d972', { service: '../up' }, '.._up'],
    ['no service at all', null, '16ddbf5dcf57d972', {}, 'unknown'],
    ['a climbing fingerprint', 'checkout', '../../../../x', {}, 'checkout'],
    ['fingerprint ..', 'checkout', '..', {}, 'checkout'],
  ])('%s', async (_name, service, fingerprint, labels, folder) => {
    const result = await createThreadDumpHandler({}).run(
      request({ url: `${actuator.base}/actuator/threaddump` }, { service, fingerprint, labels }),
      context(),
    )
    expect(result.ok).toBe(true)
    const artifact = result.artifact!
    const segments = artifact.split('/')
    expect(segments).toHaveLength(3)
    expect(segments.slice(0, 2)).toEqual(['thread-dumps', folder])
    expect(segments[2]).toMatch(/^\d{8}T\d{6}Z-[A-Za-z0-9._-]{1,12}-[0-9a-f]{6}\.txt$/)
    expect(segments.every((s) => s !== '.' && s !== '..')).toBe(true)
    const file = path.resolve(artifacts, artifact)
    expect(file.startsWith(`${artifacts}${path.sep}`)).toBe(true)
    expect(filesUnder(artifacts)).toEqual([artifact])
    expect(fs.readFileSync(file, 'utf8')).toBe(DUMP)
  })

  it('two dumps of one alert in the same second get different files', async () => {
    const handler = createThreadDumpHandler({})
    const [a, b] = await Promise.all(
      [0, 1].map(() => handler.run(request({ url: `${actuator.base}/actuator/threaddump` }), context())),
    )
    expect(a?.artifact).not.toBe(b?.artifact)
    expect(filesUnder(artifacts)).toHaveLength(2)
  })

  it.each<[string, number, string]>([
    ['checkout', 64, 'checkout'],
    ['a/b\\c', 64, 'a_b_c'],
    ['..', 64, '__'],
    ['...', 64, '___'],
    ['.', 64, '_'],
    ['', 64, '_'],
    ['.hidden', 64, '.hidden'],
    ['ünï', 64, '_n_'],
    ['abcdef', 3, 'abc'],
  ])('safePathSegment(%j, %d) → %j', (value, max, expected) => {
    expect(safePathSegment(value, max)).toBe(expected)
  })
})

describe('thread-dump: describe (no I/O)', () => {
  it.each<[string, Record<string, string>, { service?: string | null }, string]>([
    [
      'http, query hidden',
      { url: 'http://u:pw@checkout:8081/actuator/threaddump?token=abc' },
      {},
      'GET http://checkout:8081/actuator/threaddump?… → thread-dumps/checkout/…',
    ],
    ['jcmd', { pid: '4242' }, {}, 'jcmd 4242 Thread.print → thread-dumps/checkout/…'],
    [
      'a hostile service shown sanitised',
      { pid: '4242' },
      { service: '../x' },
      'jcmd 4242 Thread.print → thread-dumps/.._x/…',
    ],
  ])('%s', (_name, params, alert, expected) => {
    expect(createThreadDumpHandler({}).describe(request(params, alert))).toBe(expected)
    expect(filesUnder(artifacts)).toEqual([])
  })
})

describe('thread-dump: config validation', () => {
  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['everything', { maxBytes: 1024, jcmd: process.execPath, headers: { Authorization: 'Bearer ${env:T}' } }],
  ])('%s is valid', (_name, config) => {
    expect(createThreadDumpHandler(config).name).toBe('thread-dump')
  })

  it.each<[string, () => unknown, string]>([
    ['not an object', () => [], 'thread-dump.config: must be an object'],
    [
      'an unknown key',
      () => ({ timeout: 5 }),
      'thread-dump.config.timeout: is not allowed; expected one of: maxBytes, jcmd, headers',
    ],
    ['a zero maxBytes', () => ({ maxBytes: 0 }), 'thread-dump.config.maxBytes: must be a positive integer'],
    ['a fractional maxBytes', () => ({ maxBytes: 1.5 }), 'thread-dump.config.maxBytes: must be a positive integer'],
    ['a string maxBytes', () => ({ maxBytes: '32MiB' }), 'thread-dump.config.maxBytes: must be a positive integer'],
    [
      'a huge maxBytes',
      () => ({ maxBytes: 2 ** 40 }),
      'thread-dump.config.maxBytes: must be a positive integer of at most',
    ],
    ['a relative jcmd', () => ({ jcmd: 'jcmd' }), 'thread-dump.config.jcmd: must be an absolute path'],
    [
      'a missing jcmd',
      () => ({ jcmd: '/nonexistent/jcmd' }),
      'thread-dump.config.jcmd: /nonexistent/jcmd does not exist',
    ],
    ['a non-executable jcmd', () => ({ jcmd: tmp.write('plain.txt', 'x', 0o644) }), 'is not executable'],
    ['a non-string header', () => ({ headers: { A: true } }), 'thread-dump.config.headers.A must be a string'],
    [
      'an Accept header',
      () => ({ headers: { accept: 'application/json' } }),
      'thread-dump.config.headers.accept: "accept" is set by the handler',
    ],
    [
      'a header the HTTP client sets',
      () => ({ headers: { Host: 'x' } }),
      'thread-dump.config.headers.Host: "Host" is set by the HTTP client',
    ],
  ])('%s is a ConfigError naming the path', (_name, config, message) => {
    const build = (): unknown => createThreadDumpHandler(config())
    expect(build).toThrow(ConfigError)
    expect(build).toThrow(message)
  })

  it('reports every problem at once', () => {
    const build = (): unknown => createThreadDumpHandler({ maxBytes: -1, jcmd: 'rel', headers: 'x', other: 1 })
    expect(build).toThrow(/thread-dump\.config\.other[\s\S]*\.maxBytes[\s\S]*\.jcmd[\s\S]*\.headers/)
  })
})
