import http from 'node:http'
import type { ActionRequestRecord } from '../../src/contracts/records'
import { ConfigError } from '../../src/errors'
import {
  PAGERDUTY_EVENTS_URL,
  createPageHandler,
  pagerDutySeverity,
  slackEscape,
  validatePageConfig,
} from '../../src/actions/handlers/page'
import type { HandlerContext } from '../../src/actions/handlers/types'
import {
  closedPort,
  handlerContext,
  handlerRequest,
  useRecordingServer,
  type AlertOverrides,
  type RecordedRequest,
} from '../support/handler-fixtures'

/**
 * Paths: `/status/<code>` answers that status; `/echo` the request headers and body;
 * anything else 202 like PagerDuty, or `ok` for `/hooks/…` like Slack.
 */
function handle(req: RecordedRequest, res: http.ServerResponse): void {
  const path = req.url
  const status = /^\/status\/(\d{3})$/.exec(path)
  if (status)
    return void res
      .writeHead(Number(status[1]), { 'content-type': 'application/json' })
      .end('{"status":"invalid event"}')
  if (path === '/echo')
    return void res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ headers: req.headers, body: req.body }))
  if (path.startsWith('/hooks/')) return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
  res
    .writeHead(202, { 'content-type': 'application/json' })
    .end('{"status":"success","message":"Event processed","dedup_key":"x"}')
}

const server = useRecordingServer(handle)
const { received } = server

const ROUTING_KEY = 'R0UT1NGKEY0123456789abcdefabcdef'
const env = { PAGERDUTY_ROUTING_KEY: ROUTING_KEY }

function request(params: Record<string, string> = {}, alert: AlertOverrides = {}): ActionRequestRecord {
  return handlerRequest(
    'page',
    params,
    { ...alert, alert: { labels: { alertname: 'HighLatency', severity: 'critical' }, ...alert.alert } },
    { idempotencyKey: 'root/page/16ddbf5dcf57d972/2026-11-25T00:52:34.568Z' },
  )
}

function context(over: Partial<HandlerContext> = {}): HandlerContext {
  return handlerContext({ env, ...over })
}

function pagerduty(over: Record<string, unknown> = {}): ReturnType<typeof createPageHandler> {
  return createPageHandler({
    kind: 'pagerduty',
    url: `${server.base}/v2/enqueue`,
    routingKey: '${env:PAGERDUTY_ROUTING_KEY}',
    ...over,
  })
}

function bodyOf(i = 0): Record<string, unknown> {
  return JSON.parse(received[i]?.body ?? 'null') as Record<string, unknown>
}

const DEDUP_KEY = 'nightshift/16ddbf5dcf57d972/2026-11-25T00:52:34.568Z'

describe('page via pagerduty', () => {
  it('a firing alert posts an Events API v2 trigger', async () => {
    const req = request(
      { team: 'payments-oncall', summary: 'HighLatency is firing (fingerprint 16ddbf5dcf57d972)' },
      {
        alert: {
          labels: { alertname: 'HighLatency', severity: 'critical', instance: 'checkout-1' },
          annotations: { description: 'p99 > 2s' },
          generatorURL: 'http://prometheus/graph?g0.expr=x',
        },
        runbookUrl: 'https://runbooks.example/checkout/latency',
        slo: 'checkout-latency',
        tier: 'tier-1',
      },
    )
    const result = await pagerduty({ source: 'nightshift-test' }).run(req, context())
    expect(result).toEqual({
      ok: true,
      retriable: false,
      detail: `page via pagerduty POST ${server.base}/v2/enqueue answered 202`,
      output: {
        kind: 'pagerduty',
        dedupKey: DEDUP_KEY,
        httpStatus: '202',
        responseBody: '{"status":"success","message":"Event processed","dedup_key":"x"}',
      },
    })
    expect(received).toHaveLength(1)
    expect(received[0]).toMatchObject({ method: 'POST', url: '/v2/enqueue' })
    expect(received[0]!.headers['content-type']).toBe('application/json')
    expect(bodyOf()).toEqual({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: DEDUP_KEY,
      payload: {
        summary: 'HighLatency is firing (fingerprint 16ddbf5dcf57d972)',
        source: 'nightshift-test',
        severity: 'critical',
        timestamp: '2026-11-25T00:52:34.568Z',
        component: 'checkout',
        group: 'payments-oncall',
        class: 'HighLatency',
        custom_details: {
          labels: { alertname: 'HighLatency', severity: 'critical', instance: 'checkout-1' },
          annotations: { description: 'p99 > 2s' },
          params: { team: 'payments-oncall', summary: 'HighLatency is firing (fingerprint 16ddbf5dcf57d972)' },
          slo: 'checkout-latency',
          tier: 'tier-1',
          idempotencyKey: 'root/page/16ddbf5dcf57d972/2026-11-25T00:52:34.568Z',
        },
      },
      links: [
        { href: 'https://runbooks.example/checkout/latency', text: 'runbook' },
        { href: 'http://prometheus/graph?g0.expr=x', text: 'source' },
      ],
    })
    expect(JSON.stringify(result)).not.toContain(ROUTING_KEY)
  })

  it('a resolved alert posts a resolve with only routing_key, event_action and dedup_key', async () => {
    const result = await pagerduty().run(
      request({ summary: 'x' }, { alert: { status: 'resolved' }, runbookUrl: 'https://runbooks.example/r' }),
      context(),
    )
    expect(result).toMatchObject({ ok: true, output: { dedupKey: DEDUP_KEY, httpStatus: '202' } })
    expect(bodyOf()).toEqual({ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: DEDUP_KEY })
  })

  it('without params: a default summary, the alert team, source nightshift, no links', async () => {
    await pagerduty().run(request({}, { service: null }), context())
    const body = bodyOf() as { payload: Record<string, unknown>; links?: unknown }
    expect(body.payload).toMatchObject({
      summary: 'HighLatency firing on unknown service',
      source: 'nightshift',
      group: 'payments',
      class: 'HighLatency',
    })
    expect(body.payload.component).toBeUndefined()
    expect(body.links).toBeUndefined()
  })

  it('an escalation appends the reason to the summary', async () => {
    const params = { reason: 'circuit open for exec', escalatedFrom: 'exec', escalatedKey: 'root/exec/k' }
    await pagerduty().run(request(params), context())
    const body = bodyOf() as { payload: { summary: string; custom_details: { params: unknown } } }
    expect(body.payload.summary).toBe('HighLatency firing on checkout — circuit open for exec')
    expect(body.payload.custom_details.params).toEqual(params)
  })

  it('only the links present are sent', async () => {
    await pagerduty().run(request({}, { alert: { generatorURL: 'http://prometheus/g' } }), context())
    expect(bodyOf().links).toEqual([{ href: 'http://prometheus/g', text: 'source' }])
  })

  it('the summary is cut to 1024 characters', async () => {
    await pagerduty().run(request({ summary: 'x'.repeat(2000), reason: 'failed after 3 attempts' }), context())
    const summary = (bodyOf() as { payload: { summary: string } }).payload.summary
    expect(summary).toHaveLength(1024)
    expect(summary).toBe(`${'x'.repeat(1023)}…`)
  })

  it.each<[string, string | undefined, string]>([
    ['critical', 'critical', 'critical'],
    ['error', 'error', 'error'],
    ['warning', 'warning', 'warning'],
    ['info', 'info', 'info'],
    ['upper-case Critical', 'Critical', 'critical'],
    ['page', 'page', 'error'],
    ['high', 'high', 'error'],
    ['empty', '', 'error'],
    ['no severity label', undefined, 'error'],
  ])('severity %s → %s', async (_name, label, severity) => {
    expect(pagerDutySeverity(label)).toBe(severity)
    const labels: Record<string, string> = {
      alertname: 'HighLatency',
      ...(label === undefined ? {} : { severity: label }),
    }
    await pagerduty().run(request({}, { alert: { labels } }), context())
    expect((bodyOf() as { payload: { severity: string } }).payload.severity).toBe(severity)
  })

  it.each<[number, boolean, boolean]>([
    [202, true, false],
    [200, true, false],
    [400, false, false],
    [403, false, false],
    [404, false, false],
    [429, false, true],
    [500, false, true],
    [503, false, true],
  ])('HTTP %i → ok %s, retriable %s', async (status, ok, retriable) => {
    const handler = pagerduty({ url: `${server.base}/status/${status}` })
    const result = await handler.run(request(), context())
    expect(result).toMatchObject({
      ok,
      retriable,
      output: { kind: 'pagerduty', httpStatus: String(status), dedupKey: DEDUP_KEY },
    })
  })

  it('an unset routing key variable is a final failure naming it, and nothing is sent', async () => {
    const result = await pagerduty({ headers: { 'X-Token': '${env:PD_TOKEN}' } }).run(request(), context({ env: {} }))
    expect(result).toEqual({
      ok: false,
      retriable: false,
      detail: 'page via pagerduty: environment variables PAGERDUTY_ROUTING_KEY, PD_TOKEN are not set',
      output: { kind: 'pagerduty', dedupKey: DEDUP_KEY, missing: 'PAGERDUTY_ROUTING_KEY,PD_TOKEN' },
    })
    expect(received).toEqual([])
  })

  it('header secrets are filled, and a receiver echoing them or the routing key shows placeholders', async () => {
    const handler = pagerduty({
      url: `${server.base}/echo`,
      headers: { Authorization: 'Token token=${env:PD_TOKEN}', 'Content-Type': 'text/plain' },
    })
    const result = await handler.run(request(), context({ env: { ...env, PD_TOKEN: 'pd-api-token-value' } }))
    expect(result.ok).toBe(true)
    expect(received[0]!.headers).toMatchObject({
      authorization: 'Token token=pd-api-token-value',
      'content-type': 'application/json',
    })
    const echoed = JSON.stringify(result)
    expect(echoed).toContain('Token token=${env:PD_TOKEN}')
    expect(echoed).toContain('${env:PAGERDUTY_ROUTING_KEY}')
    expect(echoed).not.toContain('pd-api-token-value')
    expect(echoed).not.toContain(ROUTING_KEY)
  })

  it('a literal routing key is hidden too', async () => {
    const result = await pagerduty({ url: `${server.base}/echo`, routingKey: 'literal-routing-key-1234' }).run(
      request(),
      context({ env: {} }),
    )
    expect(result.ok).toBe(true)
    expect(JSON.stringify(result)).not.toContain('literal-routing-key-1234')
    expect(result.output.responseBody).toContain('[routing key]')
  })

  it('an aborted signal is a retriable failure', async () => {
    const result = await pagerduty().run(
      request(),
      context({ signal: AbortSignal.abort(new Error('worker stopping')) }),
    )
    expect(result).toMatchObject({ ok: false, retriable: true, output: { kind: 'pagerduty', error: 'aborted' } })
    expect(result.detail).toContain('worker stopping')
  })

  it('describe names the action, dedup key and summary, never the routing key', () => {
    const handler = pagerduty()
    expect(handler.describe(request({ summary: 'HighLatency is firing', team: 'payments' }))).toBe(
      `page via pagerduty (${server.base}/v2/enqueue): trigger ${DEDUP_KEY} "HighLatency is firing" for team payments`,
    )
    expect(handler.describe(request({}, { alert: { status: 'resolved' } }))).toBe(
      `page via pagerduty (${server.base}/v2/enqueue): resolve ${DEDUP_KEY} for team payments`,
    )
    const literal = pagerduty({ routingKey: 'literal-routing-key-1234' })
    expect(literal.describe(request())).not.toContain('literal-routing-key-1234')
    expect(received).toEqual([])
  })

  it('the URL defaults to PagerDuty Events API v2', () => {
    const handler = createPageHandler({ kind: 'pagerduty', routingKey: '${env:PAGERDUTY_ROUTING_KEY}' })
    expect(handler.describe(request())).toMatch(
      new RegExp(`^page via pagerduty \\(${PAGERDUTY_EVENTS_URL}\\): trigger `),
    )
    expect(validatePageConfig({ kind: 'pagerduty', routingKey: 'k' }).url).toBe(
      'https://events.pagerduty.com/v2/enqueue',
    )
  })
})

describe('page via slack', () => {
  const hookPath = '/hooks/T000/B000/secretpath123'
  const slackEnv = (): Record<string, string> => ({ SLACK_WEBHOOK_URL: `${server.base}${hookPath}` })

  it('posts { text } with a headline and team, service, runbook, reason and escalation lines', async () => {
    const handler = createPageHandler({ kind: 'slack', url: '${env:SLACK_WEBHOOK_URL}' })
    const req = request(
      {
        summary: 'HighLatency is firing',
        reason: 'failed after 3 attempts',
        escalatedFrom: 'exec',
        escalatedKey: 'root/exec/k1',
      },
      { runbookUrl: 'https://runbooks.example/checkout' },
    )
    const result = await handler.run(req, context({ env: slackEnv() }))
    expect(result).toEqual({
      ok: true,
      retriable: false,
      detail: 'page via slack POST ${env:SLACK_WEBHOOK_URL} answered 200',
      output: { kind: 'slack', httpStatus: '200', responseBody: 'ok' },
    })
    expect(received[0]).toMatchObject({ method: 'POST', url: hookPath })
    expect(bodyOf()).toEqual({
      text: [
        ':rotating_light: HighLatency is firing',
        'team: payments',
        'service: checkout',
        'runbook: https://runbooks.example/checkout',
        'reason: failed after 3 attempts',
        'escalated from: exec (idempotency key root/exec/k1)',
      ].join('\n'),
    })
    expect(JSON.stringify(result)).not.toContain('secretpath123')
    expect(handler.describe(req)).toBe(
      'page via slack (${env:SLACK_WEBHOOK_URL}): firing "HighLatency is firing" for team payments (failed after 3 attempts)',
    )
  })

  it('an approval announcement carries Approve / Deny buttons for the interactive callback', async () => {
    const handler = createPageHandler({ kind: 'slack', url: '${env:SLACK_WEBHOOK_URL}' })
    const req = request({
      summary: 'HighLatency on checkout: approve webhook? (3f9a2c81d04e)',
      reason: 'Approval needed (3f9a2c81d04e): webhook on checkout',
      escalatedFrom: 'webhook',
      escalatedKey: 'k1',
      approvalId: '3f9a2c81d04e',
    })
    await handler.run(req, context({ env: slackEnv() }))
    const body = bodyOf() as { text: string; blocks: Array<{ type: string; elements?: Array<{ value?: string }> }> }
    expect(body.text).toContain('reason: Approval needed (3f9a2c81d04e)')
    const buttons = body.blocks.find((b) => b.type === 'actions')?.elements?.map((e) => e.value)
    expect(buttons).toEqual(['approve:3f9a2c81d04e', 'deny:3f9a2c81d04e'])
    // Anything else is a plain message: a bad id, or no id.
    await handler.run(request({ approvalId: 'x<@U1>' }), context({ env: slackEnv() }))
    expect(bodyOf(1)).not.toHaveProperty('blocks')
  })

  it('a resolved alert gets a check mark and the default summary', async () => {
    await createPageHandler({ kind: 'slack', url: `${server.base}${hookPath}` }).run(
      request({}, { alert: { status: 'resolved' } }),
      context(),
    )
    expect(bodyOf()).toEqual({
      text: ':white_check_mark: HighLatency resolved on checkout\nteam: payments\nservice: checkout',
    })
  })

  it('label-derived text cannot inject mentions, links or lines', async () => {
    const hostile = {
      summary: 'Disk full <!channel> & <https://evil.example|click here> @here',
      team: '<@U123> @all',
      reason: 'x\nrunbook: https://evil.example',
    }
    await createPageHandler({ kind: 'slack', url: `${server.base}${hookPath}` }).run(
      request(hostile, { service: 'a>b&c' }),
      context(),
    )
    const text = (bodyOf() as { text: string }).text
    expect(text.split('\n')).toEqual([
      ':rotating_light: Disk full &lt;!channel&gt; &amp; &lt;https://evil.example|click here&gt; @\u200bhere',
      'team: &lt;@\u200bU123&gt; @\u200ball',
      'service: a&gt;b&amp;c',
      'reason: x runbook: https://evil.example',
    ])
    expect(text).not.toMatch(/<|>|@here|@all/)
  })

  it.each<[string, string]>([
    ['&', '&amp;'],
    ['<', '&lt;'],
    ['>', '&gt;'],
    ['&lt;', '&amp;lt;'],
    ['@channel', '@\u200bchannel'],
    ['a\r\nb', 'a b'],
    ['plain text', 'plain text'],
  ])('slackEscape(%j) is %j', (input, output) => {
    expect(slackEscape(input)).toBe(output)
  })

  it('a literal webhook URL is shown as its origin only, also when the connection fails', async () => {
    const port = await closedPort()
    const handler = createPageHandler({ kind: 'slack', url: `http://127.0.0.1:${port}/hooks/secretpath123` })
    const result = await handler.run(request(), context())
    expect(result).toMatchObject({ ok: false, retriable: true, output: { kind: 'slack', error: 'network' } })
    expect(result.detail).toMatch(new RegExp(`^POST http://127\\.0\\.0\\.1:${port}/… failed: `))
    expect(JSON.stringify(result)).not.toContain('secretpath123')
    expect(handler.describe(request())).toBe(
      `page via slack (http://127.0.0.1:${port}/…): firing "HighLatency firing on checkout" for team payments`,
    )
  })

  it('an unset URL variable is a final failure naming it', async () => {
    const result = await createPageHandler({ kind: 'slack', url: '${env:SLACK_WEBHOOK_URL}' }).run(
      request(),
      context({ env: {} }),
    )
    expect(result).toEqual({
      ok: false,
      retriable: false,
      detail: 'page via slack: environment variable SLACK_WEBHOOK_URL is not set',
      output: { kind: 'slack', missing: 'SLACK_WEBHOOK_URL' },
    })
  })

  it('a URL variable that is not an http(s) URL is a final failure without showing it', async () => {
    const result = await createPageHandler({ kind: 'slack', url: '${env:SLACK_WEBHOOK_URL}' }).run(
      request(),
      context({ env: { SLACK_WEBHOOK_URL: 'ftp://secret-host/x' } }),
    )
    expect(result).toMatchObject({
      ok: false,
      retriable: false,
      detail: 'page via slack: the URL ${env:SLACK_WEBHOOK_URL} is not an http(s) URL once its secrets are filled in',
    })
    expect(JSON.stringify(result)).not.toContain('secret-host')
  })

  it('HTTP 404 (a removed webhook) is final, 503 retriable', async () => {
    const gone = await createPageHandler({ kind: 'slack', url: `${server.base}/status/404` }).run(request(), context())
    expect(gone).toMatchObject({ ok: false, retriable: false, output: { kind: 'slack', httpStatus: '404' } })
    const busy = await createPageHandler({ kind: 'slack', url: `${server.base}/status/503` }).run(request(), context())
    expect(busy).toMatchObject({ ok: false, retriable: true, output: { kind: 'slack', httpStatus: '503' } })
  })
})

describe('page: config validation', () => {
  it.each<[string, unknown, string]>([
    ['no config', undefined, 'page.config is required'],
    ['null', null, 'page.config is required'],
    ['not a map', 'pagerduty', 'page.config must be a map'],
    ['no kind', { url: 'http://x/' }, 'page.config.kind is required; expected one of: pagerduty, slack'],
    ['an unknown kind', { kind: 'opsgenie' }, 'page.config.kind: "opsgenie" is not one of: pagerduty, slack'],
    [
      'an unknown key',
      { kind: 'slack', url: 'http://x/', channel: '#ops' },
      'page.config.channel is not allowed; expected one of: kind, url, routingKey, headers, source',
    ],
    ['slack without url', { kind: 'slack' }, 'page.config.url is required for kind slack'],
    ['pagerduty without routingKey', { kind: 'pagerduty' }, 'page.config.routingKey is required for kind pagerduty'],
    [
      'an empty routingKey',
      { kind: 'pagerduty', routingKey: ' ' },
      'page.config.routingKey must be a non-empty string',
    ],
    [
      'a routingKey for slack',
      { kind: 'slack', url: 'http://x/', routingKey: 'k' },
      'page.config.routingKey is only used with kind pagerduty',
    ],
    ['a non-http url', { kind: 'slack', url: 'ftp://x' }, 'page.config.url: "ftp://x" is not an http(s) URL'],
    ['a non-string url', { kind: 'slack', url: 5 }, 'page.config.url must be a non-empty string'],
    [
      'a url template with whitespace',
      { kind: 'slack', url: '${env:A} x' },
      'page.config.url must not contain whitespace',
    ],
    [
      'a bad header',
      { kind: 'slack', url: 'http://x/', headers: { 'X-A': 'a\r\nb' } },
      'page.config.headers.X-A: the value contains CR or LF',
    ],
    [
      'an empty source',
      { kind: 'pagerduty', routingKey: 'k', source: '' },
      'page.config.source must be a non-empty string',
    ],
  ])('%s is a ConfigError', (_name, config, message) => {
    const build = (): unknown => createPageHandler(config)
    expect(build).toThrow(ConfigError)
    expect(build).toThrow(message)
  })

  it('lists every problem at once, each with its path', () => {
    let error: unknown
    try {
      createPageHandler({
        kind: 'opsgenie',
        url: 'ftp://x',
        routingKey: 5,
        headers: { 'a b': 'x' },
        source: '',
        extra: true,
      })
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message.split('\n')).toEqual([
      'invalid page action config:',
      '  page.config.extra is not allowed; expected one of: kind, url, routingKey, headers, source',
      '  page.config.kind: "opsgenie" is not one of: pagerduty, slack',
      '  page.config.url: "ftp://x" is not an http(s) URL',
      '  page.config.routingKey must be a non-empty string (normally ${env:PAGERDUTY_ROUTING_KEY})',
      '  page.config.headers["a b"]: "a b" is not a valid HTTP header name (letters, digits and !#$%&\'*+-.^_`|~)',
      '  page.config.source must be a non-empty string',
    ])
  })

  it('the validated config is frozen', () => {
    const valid = validatePageConfig({
      kind: 'slack',
      url: 'https://hooks.slack.com/services/T/B/X',
      headers: { 'X-A': 'b' },
    })
    expect(valid).toEqual({
      kind: 'slack',
      url: 'https://hooks.slack.com/services/T/B/X',
      shownUrl: 'https://hooks.slack.com/…',
      routingKey: undefined,
      headers: { 'X-A': 'b' },
      source: 'nightshift',
    })
    expect(Object.isFrozen(valid)).toBe(true)
    expect(Object.isFrozen(valid.headers)).toBe(true)
    expect(createPageHandler({ kind: 'slack', url: 'https://hooks.slack.com/services/T/B/X' }).name).toBe('page')
  })
})
