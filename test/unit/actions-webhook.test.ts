import http from 'node:http'
import type { ActionRequestRecord, AlertRecord } from '../../src/contracts/records'
import { ConfigError } from '../../src/errors'
import { createWebhookHandler, validateWebhookConfig } from '../../src/actions/handlers/webhook'
import {
  closedPort,
  handlerContext as context,
  handlerRequest,
  useRecordingServer,
  waitFor,
  type RecordedRequest,
} from '../support/handler-fixtures'

/**
 * Paths: `/status/<code>` answers that status (a 3xx points at /elsewhere), `/big` 10000
 * bytes, `/echo` the request headers as JSON, `/hang` never answers; anything else 200.
 */
function handle(req: RecordedRequest, res: http.ServerResponse): void {
  const path = req.url
  if (path.startsWith('/hang')) return
  if (path === '/big') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('z'.repeat(10_000))
  if (path === '/echo')
    return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(req.headers))
  const status = /^\/status\/(\d{3})$/.exec(path)
  const code = status ? Number(status[1]) : 200
  res.writeHead(code, {
    'content-type': 'text/plain',
    ...(code >= 300 && code < 400 ? { location: '/elsewhere' } : {}),
  })
  res.end(code === 204 ? undefined : `answer ${code}`)
}

const server = useRecordingServer(handle)
const { received } = server

function request(params: Record<string, string>, alert: Partial<AlertRecord> = {}): ActionRequestRecord {
  return handlerRequest('webhook', params, { alert: { labels: { alertname: 'HighLatency' }, ...alert } })
}

describe('webhook: requests', () => {
  it('POST by default with a JSON summary of the alert and an Idempotency-Key', async () => {
    const handler = createWebhookHandler(undefined)
    const result = await handler.run(
      request({ url: `${server.base}/cache/flush` }, { annotations: { summary: 'slow' } }),
      context(),
    )
    expect(result).toEqual({
      ok: true,
      retriable: false,
      detail: `webhook POST ${server.base}/cache/flush answered 200`,
      output: { method: 'POST', url: `${server.base}/cache/flush`, httpStatus: '200', responseBody: 'answer 200' },
    })
    expect(received).toHaveLength(1)
    const got = received[0]!
    expect(got).toMatchObject({ method: 'POST', url: '/cache/flush' })
    expect(got.headers['content-type']).toBe('application/json')
    expect(got.headers['idempotency-key']).toBe('key-1')
    expect(JSON.parse(got.body)).toEqual({
      fingerprint: '16ddbf5dcf57d972',
      status: 'firing',
      alertname: 'HighLatency',
      labels: { alertname: 'HighLatency' },
      annotations: { summary: 'slow' },
      startsAt: '2026-11-25T00:52:34.568Z',
      service: 'checkout',
      team: 'payments',
      idempotencyKey: 'key-1',
    })
  })

  it.each<[string, Record<string, string>, string, string | undefined]>([
    ['GET sends no body', { method: 'GET' }, 'GET', ''],
    ['DELETE sends no body', { method: 'DELETE' }, 'DELETE', ''],
    ['a lower-case method is accepted', { method: 'put' }, 'PUT', undefined],
    ['PATCH sends the summary', { method: 'PATCH' }, 'PATCH', undefined],
    ['a given body is sent as is', { method: 'PUT', body: 'level=DEBUG' }, 'PUT', 'level=DEBUG'],
    ['DELETE may carry a given body', { method: 'DELETE', body: '{"all":true}' }, 'DELETE', '{"all":true}'],
  ])('%s', async (_name, params, method, body) => {
    const result = await createWebhookHandler({}).run(request({ url: `${server.base}/m`, ...params }), context())
    expect(result).toMatchObject({ ok: true, output: { method } })
    const got = received[0]!
    expect(got.method).toBe(method)
    if (body === undefined) expect(JSON.parse(got.body)).toMatchObject({ fingerprint: '16ddbf5dcf57d972' })
    else expect(got.body).toBe(body)
    if (body === '') expect(got.headers['content-type']).toBeUndefined()
    expect(got.headers['idempotency-key']).toBe('key-1')
  })

  it('config headers are sent; header.<Name> params override them whatever the case', async () => {
    const handler = createWebhookHandler({ headers: { 'X-Team': 'default', 'X-Source': 'nightshift' } })
    await handler.run(
      request({ url: `${server.base}/h`, 'header.x-team': 'payments', 'header.X-Extra': 'yes' }),
      context(),
    )
    expect(received[0]!.headers).toMatchObject({ 'x-team': 'payments', 'x-source': 'nightshift', 'x-extra': 'yes' })
  })

  it('Idempotency-Key is always the request key, even when a param sets one', async () => {
    await createWebhookHandler({}).run(
      request({ url: `${server.base}/k`, 'header.Idempotency-Key': 'forged' }),
      context(),
    )
    expect(received[0]!.headers['idempotency-key']).toBe('key-1')
  })

  it('hostile label values arrive intact as JSON strings in the default body', async () => {
    const labels = {
      alertname: 'HighLatency',
      quote: '"}, "injected": true, {"',
      markup: '</script><img src=x onerror=alert(1)>',
      control: 'line1\nline2\r\n\t\u0000end',
      secret: '${env:WEBHOOK_TOKEN}',
      unicode: 'ünïcødé ☃ \u202e 𝄞',
      template: '{{ labels.alertname }}',
    }
    const result = await createWebhookHandler({}).run(
      request({ url: `${server.base}/hostile` }, { labels }),
      context({ env: { WEBHOOK_TOKEN: 'must-not-leak' } }),
    )
    expect(result.ok).toBe(true)
    const got = received[0]!
    const body = JSON.parse(got.body) as { labels: Record<string, string>; injected?: unknown }
    expect(body.labels).toEqual(labels)
    expect(body.injected).toBeUndefined()
    expect(got.body).not.toContain('must-not-leak')
  })

  it('a redirect is not followed: 3xx is a final failure', async () => {
    const result = await createWebhookHandler({}).run(request({ url: `${server.base}/status/302` }), context())
    expect(result).toMatchObject({ ok: false, retriable: false, output: { httpStatus: '302' } })
    expect(received.map((r) => r.url)).toEqual(['/status/302'])
  })
})

describe('webhook: results', () => {
  it.each<[number, boolean, boolean]>([
    [200, true, false],
    [201, true, false],
    [202, true, false],
    [204, true, false],
    [400, false, false],
    [401, false, false],
    [403, false, false],
    [404, false, false],
    [409, false, false],
    [422, false, false],
    [408, false, true],
    [425, false, true],
    [429, false, true],
    [500, false, true],
    [502, false, true],
    [503, false, true],
  ])('HTTP %i → ok %s, retriable %s', async (status, ok, retriable) => {
    const result = await createWebhookHandler({}).run(request({ url: `${server.base}/status/${status}` }), context())
    expect(result).toMatchObject({
      ok,
      retriable,
      output: { method: 'POST', url: `${server.base}/status/${status}`, httpStatus: String(status) },
    })
    expect(result.detail).toMatch(new RegExp(`^webhook POST ${server.base}/status/${status} answered ${status}`))
  })

  it('a 404 is final and says so', async () => {
    const result = await createWebhookHandler({}).run(request({ url: `${server.base}/status/404` }), context())
    expect(result).toEqual({
      ok: false,
      retriable: false,
      detail: `webhook POST ${server.base}/status/404 answered 404 (not retried: the same request would fail again)`,
      output: { method: 'POST', url: `${server.base}/status/404`, httpStatus: '404', responseBody: 'answer 404' },
    })
  })

  it('connection refused is retriable', async () => {
    const port = await closedPort()
    const result = await createWebhookHandler({}).run(request({ url: `http://127.0.0.1:${port}/x` }), context())
    expect(result).toMatchObject({
      ok: false,
      retriable: true,
      output: { method: 'POST', url: `http://127.0.0.1:${port}/x`, error: 'network' },
    })
    // Outside Jest the detail ends with the cause (ECONNREFUSED); Jest's separate realm
    // makes undici's errors fail http.ts's instanceof checks, so only the shape is checked.
    expect(result.detail).toMatch(new RegExp(`^POST http://127\\.0\\.0\\.1:${port}/x failed: `))
  })

  it('aborting the signal stops the attempt: failed, retriable', async () => {
    const controller = new AbortController()
    const running = createWebhookHandler({}).run(
      request({ url: `${server.base}/hang` }),
      context({ signal: controller.signal }),
    )
    await waitFor('the server to get the request', () => received.some((r) => r.url === '/hang'))
    controller.abort(new Error('attempt timed out'))
    const result = await running
    expect(result).toMatchObject({ ok: false, retriable: true, output: { error: 'aborted' } })
    expect(result.detail).toBe(`POST ${server.base}/hang was stopped: attempt timed out`)
  })

  it('the response body is bounded by maxResponseBytes', async () => {
    const result = await createWebhookHandler({ maxResponseBytes: 100 }).run(
      request({ url: `${server.base}/big` }),
      context(),
    )
    expect(result.output.responseBody).toBe(`${'z'.repeat(100)}…[truncated 9900 bytes]`)
  })

  it('the response body is bounded to 4 KiB by default', async () => {
    const result = await createWebhookHandler({}).run(request({ url: `${server.base}/big` }), context())
    expect(result.output.responseBody).toBe(`${'z'.repeat(4096)}…[truncated 5904 bytes]`)
  })

  it.each<[string, Record<string, string>, RegExp]>([
    ['no url', { url: '' }, /^webhook request has no params\.url$/],
    ['a url that is not one', { url: 'not a url' }, /^webhook params\.url: "not a url" is not a URL$/],
    ['a non-http url', { url: 'file:///etc/passwd' }, /is not an http\(s\) URL/],
    [
      'a method outside the list',
      { method: 'TRACE' },
      /params\.method "TRACE" is not allowed; expected one of: GET, POST, PUT, PATCH, DELETE/,
    ],
    ['a body with GET', { method: 'GET', body: 'x' }, /params\.body cannot be sent with GET/],
    [
      'a header the client manages',
      { 'header.Host': 'evil.example' },
      /params\.header\.Host: "Host" is set by the HTTP client/,
    ],
    ['an invalid header name', { 'header.': 'x' }, /"" is not a valid HTTP header name/],
    [
      'a header value with CR/LF',
      { 'header.X-Note': 'a\r\nX-Injected: yes' },
      /^webhook header X-Note: the value contains CR or LF, which would start a new header line; not sent$/,
    ],
    ['a header value with LF only', { 'header.X-Note': 'a\nb' }, /contains CR or LF/],
    ['a header value outside Latin-1', { 'header.X-Note': 'snow ☃' }, /outside Latin-1/],
  ])('%s is a final failure and nothing is sent', async (_name, params, detail) => {
    const result = await createWebhookHandler({}).run(request({ url: `${server.base}/refused`, ...params }), context())
    expect(result).toMatchObject({ ok: false, retriable: false })
    expect(result.detail).toMatch(detail)
    expect(received).toEqual([])
  })
})

describe('webhook: secrets', () => {
  const env = { WEBHOOK_TOKEN: 's3cr3t-t0ken-value', OTHER: 'other-secret' }

  it('a header secret is filled from context.env and never shown', async () => {
    const handler = createWebhookHandler({
      headers: { 'X-Other': '${env:OTHER}', Authorization: 'Bearer ${env:WEBHOOK_TOKEN}' },
    })
    const req = request({ url: `${server.base}/echo` })
    const result = await handler.run(req, context({ env }))
    expect(result.ok).toBe(true)
    expect(received[0]!.headers).toMatchObject({
      authorization: 'Bearer s3cr3t-t0ken-value',
      'x-other': 'other-secret',
    })
    // The server echoed the headers: the outcome shows the placeholders instead.
    expect(JSON.parse(result.output.responseBody ?? '')).toMatchObject({
      authorization: 'Bearer ${env:WEBHOOK_TOKEN}',
      'x-other': '${env:OTHER}',
    })
    const described = handler.describe(req)
    expect(described).toContain('Authorization: Bearer ${env:WEBHOOK_TOKEN}')
    for (const shown of [JSON.stringify(result), described]) {
      expect(shown).not.toContain('s3cr3t-t0ken-value')
      expect(shown).not.toContain('other-secret')
    }
  })

  it('a missing secret is a final failure naming the variable, and nothing is sent', async () => {
    const handler = createWebhookHandler({
      headers: { 'X-Other': '${env:OTHER}', Authorization: 'Bearer ${env:MISSING_TOKEN}' },
    })
    const result = await handler.run(request({ url: `${server.base}/s` }), context({ env: { OTHER: '' } }))
    expect(result).toEqual({
      ok: false,
      retriable: false,
      detail: 'webhook: environment variables OTHER, MISSING_TOKEN named in a header value are not set',
      output: { method: 'POST', url: `${server.base}/s`, missing: 'OTHER,MISSING_TOKEN' },
    })
    expect(received).toEqual([])
  })

  it('a request param (filled from alert labels) naming a secret is refused and nothing is sent', async () => {
    const handler = createWebhookHandler({ headers: { Authorization: 'Bearer ${env:WEBHOOK_TOKEN}' } })
    for (const params of [
      { 'header.X-Leak': '${env:WEBHOOK_TOKEN}' },
      { 'header.Authorization': 'Basic ${env:WEBHOOK_TOKEN}' },
    ] as Array<Record<string, string>>) {
      const result = await handler.run(request({ url: `${server.base}/s`, ...params }), context({ env }))
      expect(result).toMatchObject({ ok: false, retriable: false })
      expect(result.detail).toContain('request params may not name secrets')
      expect(JSON.stringify(result)).not.toContain('s3cr3t-t0ken-value')
    }
    expect(received).toEqual([])
  })

  it('a secret whose value holds a line break is refused without showing it', async () => {
    const result = await createWebhookHandler({ headers: { 'X-Token': '${env:BAD}' } }).run(
      request({ url: `${server.base}/s` }),
      context({ env: { BAD: 'abc\r\nX-Injected: 1' } }),
    )
    expect(result).toMatchObject({
      ok: false,
      retriable: false,
      detail:
        'webhook header X-Token: the value with its secrets filled in contains CR or LF, which would start a new header line; not sent',
    })
    expect(JSON.stringify(result)).not.toContain('Injected')
    expect(received).toEqual([])
  })

  it('${env:...} in the URL or body is not filled (label values end up there)', async () => {
    await createWebhookHandler({}).run(
      request({ url: `${server.base}/p?q=\${env:WEBHOOK_TOKEN}`, body: 'token=${env:WEBHOOK_TOKEN}' }),
      context({ env }),
    )
    expect(received[0]!.body).toBe('token=${env:WEBHOOK_TOKEN}')
    expect(received[0]!.url).not.toContain('s3cr3t')
  })
})

describe('webhook: urlPrefixes', () => {
  const handler = (): ReturnType<typeof createWebhookHandler> =>
    createWebhookHandler({ urlPrefixes: [`${server.base}/api/`, `${server.base}/hooks`] })

  it.each<[string, () => string]>([
    ['a path under a prefix ending in /', () => `${server.base}/api/cache/flush`],
    ['the prefix itself', () => `${server.base}/hooks`],
    ['a sub-path of a prefix without /', () => `${server.base}/hooks/deploy`],
    ['a query after a prefix without /', () => `${server.base}/hooks?x=1`],
    ['an explicit default-looking path that normalizes inside', () => `${server.base}/api/./x`],
  ])('allows %s', async (_name, url) => {
    const result = await handler().run(request({ url: url() }), context())
    expect(result.ok).toBe(true)
    expect(received).toHaveLength(1)
  })

  it.each<[string, () => string]>([
    ['another path', () => `${server.base}/admin`],
    ['a longer path segment', () => `${server.base}/hooksevil`],
    ['a dot-dot escape', () => `${server.base}/api/../admin`],
    ['an encoded dot-dot escape', () => `${server.base}/api/%2e%2e/admin`],
    ['a longer host name', () => `http://127.0.0.1.nip.io:${new URL(server.base).port}/api/x`],
    ['a userinfo trick', () => `${server.base}@evil.example/api/x`],
    [
      'another port',
      () =>
        `http://127.0.0.1:${Number(new URL(server.base).port) === 65535 ? 65534 : Number(new URL(server.base).port) + 1}/api/x`,
    ],
    ['another scheme', () => `https://${new URL(server.base).host}/api/x`],
  ])('refuses %s: final failure, nothing sent', async (_name, url) => {
    const result = await handler().run(request({ url: url() }), context())
    expect(result).toMatchObject({ ok: false, retriable: false })
    expect(result.detail).toMatch(/^webhook URL \S+ is not allowed: it starts with none of the configured urlPrefixes/)
    expect(received).toEqual([])
  })

  it('the refusal shows the URL redacted', async () => {
    const result = await handler().run(request({ url: 'http://user:pw@evil.example/steal?token=abc123' }), context())
    expect(result.detail).toBe(
      `webhook URL http://evil.example/steal?… is not allowed: it starts with none of the configured urlPrefixes (${server.base}/api/, ${server.base}/hooks)`,
    )
    expect(JSON.stringify(result)).not.toMatch(/abc123|pw@/)
  })

  it('an origin-only prefix allows its whole origin and nothing else', async () => {
    const origin = createWebhookHandler({ urlPrefixes: [server.base] })
    expect((await origin.run(request({ url: `${server.base}/any/path` }), context())).ok).toBe(true)
    const short = createWebhookHandler({ urlPrefixes: ['http://127.0.0.1:1000'] })
    const result = await short.run(request({ url: 'http://127.0.0.1:10001/x' }), context())
    expect(result).toMatchObject({ ok: false, retriable: false })
    expect(result.detail).toMatch(/is not allowed/)
    expect(received).toHaveLength(1)
  })
})

describe('webhook: describe', () => {
  it('shows method, URL, headers and body without I/O', () => {
    const handler = createWebhookHandler({ headers: { 'X-Source': 'nightshift' } })
    const described = handler.describe(
      request({
        url: `${server.base}/d?token=abc`,
        method: 'PUT',
        body: 'level=DEBUG',
        'header.Authorization': 'Bearer ${env:T}',
      }),
    )
    expect(described).toBe(
      `webhook PUT ${server.base}/d?… level=DEBUG [headers: X-Source: nightshift, Authorization: Bearer \${env:T}, Idempotency-Key: key-1]`,
    )
    expect(received).toEqual([])
  })

  it('shows the default body cut at 200 characters', () => {
    const described = createWebhookHandler(undefined).describe(request({ url: `${server.base}/d` }))
    expect(described).toMatch(
      new RegExp(
        `^webhook POST ${server.base}/d \\{"fingerprint":"16ddbf5dcf57d972",.{100,}… \\[headers: content-type: application/json, Idempotency-Key: key-1\\]$`,
      ),
    )
  })

  it('says when the request would fail', () => {
    const handler = createWebhookHandler({ urlPrefixes: [`${server.base}/api/`] })
    expect(handler.describe(request({ url: `${server.base}/other` }))).toMatch(
      /^webhook: would fail: webhook URL .* is not allowed/,
    )
    expect(handler.describe(request({}))).toBe('webhook: would fail: webhook request has no params.url')
  })
})

describe('webhook: config validation', () => {
  it.each<[string, unknown, string]>([
    ['not a map', 'nope', 'webhook.config must be a map'],
    ['a list', [], 'webhook.config must be a map'],
    [
      'an unknown key',
      { timeout: 5 },
      'webhook.config.timeout is not allowed; expected one of: urlPrefixes, headers, maxResponseBytes',
    ],
    [
      'urlPrefixes not a list',
      { urlPrefixes: 'http://x/' },
      'webhook.config.urlPrefixes must be a list of http(s) URLs',
    ],
    ['an empty urlPrefixes', { urlPrefixes: [] }, 'webhook.config.urlPrefixes must list at least one URL'],
    [
      'a non-http prefix',
      { urlPrefixes: ['http://ok/', 'ftp://x'] },
      'webhook.config.urlPrefixes[1]: "ftp://x" is not an http(s) URL',
    ],
    ['a non-URL prefix', { urlPrefixes: ['ok'] }, 'webhook.config.urlPrefixes[0]: "ok" is not a URL'],
    ['a non-string prefix', { urlPrefixes: [3] }, 'webhook.config.urlPrefixes[0] must be a string'],
    [
      'a prefix with a query',
      { urlPrefixes: ['http://x/a?b=1'] },
      'webhook.config.urlPrefixes[0]: "http://x/a?b=1" must not have a query or fragment',
    ],
    ['headers not a map', { headers: ['a'] }, 'webhook.config.headers must be a map'],
    [
      'a bad header name',
      { headers: { 'Bad Name': 'x' } },
      'webhook.config.headers["Bad Name"]: "Bad Name" is not a valid HTTP header name',
    ],
    [
      'a managed header',
      { headers: { 'Content-Length': '1' } },
      'webhook.config.headers.Content-Length: "Content-Length" is set by the HTTP client',
    ],
    ['a non-string header value', { headers: { 'X-A': 1 } }, 'webhook.config.headers.X-A must be a string'],
    [
      'a header value with LF',
      { headers: { 'X-A': 'a\nb' } },
      'webhook.config.headers.X-A: the value contains CR or LF',
    ],
    [
      'a header repeated in another case',
      { headers: { 'x-a': '1', 'X-A': '2' } },
      'webhook.config.headers.X-A repeats x-a',
    ],
    [
      'a zero maxResponseBytes',
      { maxResponseBytes: 0 },
      'webhook.config.maxResponseBytes must be an integer >= 1 (bytes), got 0',
    ],
    ['a fractional maxResponseBytes', { maxResponseBytes: 1.5 }, 'maxResponseBytes must be an integer >= 1'],
    [
      'a string maxResponseBytes',
      { maxResponseBytes: '10' },
      'maxResponseBytes must be an integer >= 1 (bytes), got "10"',
    ],
  ])('%s is a ConfigError', (_name, config, message) => {
    const build = (): unknown => createWebhookHandler(config)
    expect(build).toThrow(ConfigError)
    expect(build).toThrow(message)
  })

  it('lists every problem at once, each with its path', () => {
    let error: unknown
    try {
      createWebhookHandler({
        urlPrefixes: ['http://ok/', 'ftp://x', 7],
        headers: { 'a b': 'x', 'X-Ok': 'y\r\n' },
        maxResponseBytes: -1,
        extra: true,
      })
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message.split('\n')).toEqual([
      'invalid webhook action config:',
      '  webhook.config.extra is not allowed; expected one of: urlPrefixes, headers, maxResponseBytes',
      '  webhook.config.urlPrefixes[1]: "ftp://x" is not an http(s) URL',
      '  webhook.config.urlPrefixes[2] must be a string (an http(s) URL)',
      '  webhook.config.headers["a b"]: "a b" is not a valid HTTP header name (letters, digits and !#$%&\'*+-.^_`|~)',
      '  webhook.config.headers.X-Ok: the value contains CR or LF, which would start a new header line',
      '  webhook.config.maxResponseBytes must be an integer >= 1 (bytes), got -1',
    ])
  })

  it.each<[string, unknown]>([
    ['undefined', undefined],
    ['null (an empty YAML config:)', null],
    ['an empty map', {}],
  ])('%s means the defaults', (_name, config) => {
    expect(createWebhookHandler(config).name).toBe('webhook')
    expect(validateWebhookConfig(config)).toEqual({ urlPrefixes: undefined, headers: {}, maxResponseBytes: 4096 })
  })

  it('the validated config is frozen and its prefixes normalized', () => {
    const valid = validateWebhookConfig({
      urlPrefixes: ['HTTP://Example.COM:80/api/../hooks'],
      headers: { 'X-A': 'b' },
      maxResponseBytes: 10,
    })
    expect(valid).toEqual({ urlPrefixes: ['http://example.com/hooks'], headers: { 'X-A': 'b' }, maxResponseBytes: 10 })
    expect(Object.isFrozen(valid)).toBe(true)
    expect(Object.isFrozen(valid.urlPrefixes)).toBe(true)
    expect(Object.isFrozen(valid.headers)).toBe(true)
  })
})
