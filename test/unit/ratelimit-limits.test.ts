import path from 'node:path'
import { ConfigError } from '../../src/errors'
import { DEFAULT_KEY, loadLimits, parseLimits } from '../../src/stages/ratelimit/limits'

// Inside the working directory, so messages name it `topology/test.yaml`.
const FILE = path.resolve('topology', 'test.yaml')
const parse = (text: string) => parseLimits(text, FILE)

describe('parseLimits', () => {
  it('reads rates as tokens per period, levels left out or unlimited as no limit, overrides as maps', () => {
    const config = parse(`
defaults:
  alert: { rate: 10/1m, burst: 20 }
  team: { rate: 1.5/1h30m, burst: 2 }
  global: unlimited
teams:
  payments: { team: { rate: 100/1d, burst: 5 }, alert: unlimited }
services:
  checkout: { service: { rate: 1/250ms, burst: 1 } }
`)
    expect(config.file).toBe('topology/test.yaml')
    expect(config.defaults).toEqual({
      alert: { rate: { tokens: 10, periodMs: 60_000 }, burst: 20, text: '10/1m' },
      service: null,
      team: { rate: { tokens: 1.5, periodMs: 5_400_000 }, burst: 2, text: '1.5/1h30m' },
      global: null,
    })
    expect(config.teams.get('payments')).toEqual({
      alert: null,
      team: { rate: { tokens: 100, periodMs: 86_400_000 }, burst: 5, text: '100/1d' },
    })
    expect(config.services.get('checkout')).toEqual({
      service: { rate: { tokens: 1, periodMs: 250 }, burst: 1, text: '1/250ms' },
    })
    expect(config.teams.get('core')).toBeUndefined()
    expect(config.key).toEqual([
      { field: 'team' },
      { literal: '/' },
      { field: 'service' },
      { literal: '/' },
      { field: 'alertname' },
    ])
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.defaults)).toBe(true)
  })

  it('parses a key template with labels and literals', () => {
    expect(parse('key: "x-{labels.instance}:{alertname}"\ndefaults: {}').key).toEqual([
      { literal: 'x-' },
      { label: 'instance' },
      { literal: ':' },
      { field: 'alertname' },
    ])
  })

  it.each([
    ['an empty file', '', 'the file is empty; expected the key defaults'],
    ['invalid YAML', 'defaults: {', 'line 1, column 12: invalid YAML'],
    ['no defaults', 'teams: {}', '/defaults is required'],
    [
      'an unknown top-level key',
      'defaults: {}\nlimitz: {}',
      '/limitz is not allowed; expected one of: key, defaults, teams, services',
    ],
    [
      'an unknown level',
      'defaults: { tenant: unlimited }',
      '/defaults/tenant is not allowed; expected one of: alert, service, team, global',
    ],
    [
      'an unknown key in a limit',
      'defaults: { alert: { rate: 1/1m, burst: 1, per: team } }',
      '/defaults/alert/per is not allowed; expected one of: rate, burst',
    ],
    [
      'a rate without a period',
      'defaults: { alert: { rate: 10, burst: 1 } }',
      '/defaults/alert/rate must be a rate like 10/1m: tokens per duration (units ms, s, m, h, d, w), got 10 (a count needs its period, e.g. 10/1m)',
    ],
    [
      'a rate in words',
      'defaults: { alert: { rate: 10 per minute, burst: 1 } }',
      '/defaults/alert/rate must be a rate like 10/1m',
    ],
    ['a bad unit', 'defaults: { alert: { rate: 10/1y, burst: 1 } }', '/defaults/alert/rate must be a rate like 10/1m'],
    [
      'a zero rate',
      'defaults: { alert: { rate: 0/1m, burst: 1 } }',
      '/defaults/alert/rate must refill at least some tokens, got "0/1m"',
    ],
    [
      'a zero period',
      'defaults: { alert: { rate: 1/0s, burst: 1 } }',
      "/defaults/alert/rate's period must be longer than zero",
    ],
    ['a missing burst', 'defaults: { team: { rate: 1/1m } }', '/defaults/team/burst is required'],
    ['a zero burst', 'defaults: { team: { rate: 1/1m, burst: 0 } }', '/defaults/team/burst must be >= 1'],
    ['a fractional burst', 'defaults: { team: { rate: 1/1m, burst: 1.5 } }', '/defaults/team/burst must be integer'],
    [
      'a misspelt unlimited',
      'defaults: { team: unlimted }',
      '/defaults/team must be the word unlimited or a mapping with rate and burst',
    ],
    [
      'a global level in a team',
      'defaults: {}\nteams: { payments: { global: unlimited } }',
      '/teams/payments/global is not allowed; expected one of: alert, service, team',
    ],
    [
      'a team level in a service',
      'defaults: {}\nservices: { checkout: { team: unlimited } }',
      '/services/checkout/team is not allowed; expected one of: alert, service',
    ],
    ['an empty override', 'defaults: {}\nservices: { checkout: }', '/services/checkout must be object'],
    [
      'an unknown key field',
      'key: "{team}/{svc}"\ndefaults: {}',
      '/key has an unknown field {svc}; expected {team}, {service}, {alertname} or {labels.<label name>}',
    ],
    ['a bad label name', 'key: "{labels.a-b}"\ndefaults: {}', '/key has an unknown field {labels.a-b}'],
    ['an unclosed brace', 'key: "{team"\ndefaults: {}', '/key has an unclosed "{" in "{team"'],
    ['a stray closing brace', 'key: "team}"\ndefaults: {}', '/key has a "}" without its "{" in "team}"'],
  ])('rejects %s, naming the file and path', (_name, text, fragment) => {
    expect(() => parse(text)).toThrow(ConfigError)
    expect(() => parse(text)).toThrow(`topology/test.yaml: ${fragment}`)
  })

  it('reads the escalation limits: per alert key and per team, left out = no limit', () => {
    const config = parse(`
defaults: {}
escalation:
  alert: { rate: 12/1h, burst: 6 }
`)
    expect(config.escalation).toEqual({
      alert: { rate: { tokens: 12, periodMs: 3_600_000 }, burst: 6, text: '12/1h' },
      team: null,
    })
    expect(parse('defaults: {}').escalation).toEqual({ alert: null, team: null })
    expect(parse('defaults: {}\nescalation: { team: unlimited }').escalation.team).toBeNull()
  })

  it.each([
    ['an escalation level that does not exist', 'defaults: {}\nescalation: { service: unlimited }', '/escalation'],
    [
      'a bad escalation rate',
      'defaults: {}\nescalation: { team: { rate: 0/1h, burst: 1 } }',
      '/escalation/team/rate must refill at least some tokens',
    ],
  ])('rejects %s, naming the path', (_name, text, fragment) => {
    expect(() => parse(text)).toThrow(`topology/test.yaml: ${fragment}`)
  })

  it('lists every problem at once, one line each', () => {
    const text = `
key: "{svc}"
defaults:
  alert: { rate: 0/1m, burst: 1 }
  team: { rate: 1/1m, burst: 0 }
teams:
  payments: { alert: { rate: fast, burst: 1 } }
`
    let message = ''
    try {
      parse(text)
    } catch (err) {
      message = (err as Error).message
    }
    // Schema problems first; the rest are found only once the schema holds.
    expect(message.split('\n')).toEqual([
      'topology/test.yaml: /defaults/team/burst must be >= 1',
      'topology/test.yaml: /teams/payments/alert/rate must be a rate like 10/1m: tokens per duration (units ms, s, m, h, d, w)',
    ])
    const fixed = text.replace('burst: 0', 'burst: 1').replace('rate: fast', 'rate: 1/1m')
    expect(() => parse(fixed)).toThrow(
      [
        'topology/test.yaml: /key has an unknown field {svc}; expected {team}, {service}, {alertname} or {labels.<label name>}',
        'topology/test.yaml: /defaults/alert/rate must refill at least some tokens, got "0/1m" (leave the level out or write unlimited for no limit)',
      ].join('\n'),
    )
  })
})

describe('the shipped topology/limits.yaml', () => {
  const shipped = loadLimits()

  it('loads with the default key and every level limited', () => {
    expect(shipped.file).toBe(path.join('topology', 'limits.yaml'))
    expect(parse(`key: "${DEFAULT_KEY}"\ndefaults: {}`).key).toEqual(shipped.key)
    expect(Object.values(shipped.defaults).every((l) => l !== null)).toBe(true)
  })

  it('has escalation limits at least as generous as the automation defaults', () => {
    const perHour = (l: { rate: { tokens: number; periodMs: number } } | null) =>
      l === null ? Infinity : (l.rate.tokens * 3_600_000) / l.rate.periodMs
    expect(perHour(shipped.escalation.alert)).toBeGreaterThanOrEqual(perHour(shipped.defaults.alert))
    expect(perHour(shipped.escalation.team)).toBeGreaterThanOrEqual(perHour(shipped.defaults.team))
    expect(shipped.escalation.alert).not.toBeNull()
  })

  it('names the file it cannot read', () => {
    expect(() => loadLimits(path.resolve('topology', 'missing.yaml'))).toThrow(
      /^topology\/missing\.yaml: cannot read the limits file: .*ENOENT/,
    )
  })
})
