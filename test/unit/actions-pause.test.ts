import { formatDurationShort } from '../../src/config/duration'
import { parseMatchers } from '../../src/matchers'
import {
  activePause,
  describeLift,
  describePause,
  liftPause,
  newPause,
  type NewPauseInput,
  type Pause,
  type PausableRequest,
  type PauseScope,
} from '../../src/actions/worker/pause'
import { ConfigError } from '../../src/errors'
import { parseDuration } from '../../src/config/duration'

const H = 3_600_000
const M = 60_000

const pause = (id: string, scope: PauseScope, createdAt = 0, until = 2 * H, extra: Partial<Pause> = {}): Pause => ({
  id,
  scope,
  reason: 'deploy freeze',
  createdAt,
  until,
  escalate: false,
  ...extra,
})
const req = (
  team: string,
  service: string | null,
  action: string,
  extra: Partial<Pick<PausableRequest, 'labels' | 'escalation'>> = {},
): PausableRequest => ({ team, service, action, labels: {}, escalation: false, ...extra })

const payments = req('payments', 'checkout', 'restart')

describe('activePause: scope matching', () => {
  it.each<[string, PauseScope, PausableRequest, boolean]>([
    ['team only', { team: 'payments' }, payments, true],
    ['service only', { service: 'checkout' }, payments, true],
    ['action only', { action: 'restart' }, payments, true],
    ['team and service', { team: 'payments', service: 'checkout' }, payments, true],
    ['team and action', { team: 'payments', action: 'restart' }, payments, true],
    ['all three', { team: 'payments', service: 'checkout', action: 'restart' }, payments, true],
    ['other team', { team: 'search' }, payments, false],
    ['right team, other service', { team: 'payments', service: 'ledger' }, payments, false],
    ['right service, other action', { service: 'checkout', action: 'exec' }, payments, false],
    [
      'service scope against a request without a service',
      { service: 'checkout' },
      req('payments', null, 'restart'),
      false,
    ],
    ['team scope against a request without a service', { team: 'payments' }, req('payments', null, 'restart'), true],
    ['case matters', { team: 'Payments' }, payments, false],
  ])('%s', (_name, scope, request, applies) => {
    expect(activePause([pause('p1', scope)], request, H)?.id).toBe(applies ? 'p1' : undefined)
  })
})

describe('activePause: pauses stop automation, not the human', () => {
  const disk = { alertname: 'DiskFull', severity: 'critical', instance: 'db-1' }
  const webhook = req('search', 'indexer', 'webhook', { labels: disk })
  const page = req('search', 'indexer', 'page', { labels: disk, escalation: true })
  const custom = req('search', 'indexer', 'call-oncall', { labels: disk, escalation: true })
  const m = (text: string) => ({ matchers: parseMatchers(text) })

  it.each<[string, PauseScope, Partial<Pause>, PausableRequest, boolean]>([
    ['a team pause stops the webhook', { team: 'search' }, {}, webhook, true],
    ['a team pause does not stop the page', { team: 'search' }, {}, page, false],
    ['a service pause does not stop the page', { service: 'indexer' }, {}, page, false],
    ['a team+service pause does not stop the page', { team: 'search', service: 'indexer' }, {}, page, false],
    ['nor an escalation action of its own', { team: 'search' }, {}, custom, false],
    ['a pause naming page stops the page', { action: 'page' }, {}, page, true],
    ['a team pause naming page stops that team’s pages', { team: 'search', action: 'page' }, {}, page, true],
    ['… and not another team’s', { team: 'payments', action: 'page' }, {}, page, false],
    ['a pause naming another action does not stop the page', { team: 'search', action: 'webhook' }, {}, page, false],
    ['a pause naming the custom escalation stops it', { action: 'call-oncall' }, {}, custom, true],
    ['a matcher pause does not stop the page', {}, m('alertname="DiskFull"'), page, false],
    ['a matcher pause naming page does', { action: 'page' }, m('alertname="DiskFull"'), page, true],
  ])('%s', (_name, scope, extra, request, applies) => {
    expect(activePause([pause('p1', scope, 0, 2 * H, extra)], request, H)?.id).toBe(applies ? 'p1' : undefined)
  })
})

describe('activePause: matchers, like a silence', () => {
  const labels = { alertname: 'DiskFull', severity: 'critical', instance: 'db-1' }
  const request = req('search', 'indexer', 'webhook', { labels })

  it.each<[string, PauseScope, string, boolean]>([
    ['equal', {}, 'alertname="DiskFull"', true],
    ['equal, other value', {}, 'alertname="CPUHigh"', false],
    ['not equal', {}, 'severity!="critical"', false],
    ['regex, anchored', {}, 'instance=~"db-.*"', true],
    ['regex does not match a part', {}, 'instance=~"db"', false],
    ['negative regex', {}, 'severity!~"warn|info"', true],
    ['all must match', {}, 'alertname="DiskFull", severity="warning"', false],
    ['all match', {}, '{alertname="DiskFull", severity="critical"}', true],
    ['a missing label is empty', {}, 'zone=""', true],
    ['a missing label does not equal a value', {}, 'zone="eu"', false],
    ['with a scope that matches', { team: 'search' }, 'alertname="DiskFull"', true],
    ['with a scope that does not', { team: 'payments' }, 'alertname="DiskFull"', false],
  ])('%s', (_name, scope, text, applies) => {
    const p = pause('p1', scope, 0, 2 * H, { matchers: parseMatchers(text) })
    expect(activePause([p], request, H)?.id).toBe(applies ? 'p1' : undefined)
  })
})

describe('activePause: time', () => {
  it.each<[string, number, boolean]>([
    ['before it starts', 999, false],
    ['at createdAt (inclusive)', 1_000, true],
    ['in the middle', 5_000, true],
    ['one ms before until', 9_999, true],
    ['at until (exclusive)', 10_000, false],
    ['after until', 20_000, false],
  ])('%s', (_name, now, applies) => {
    expect(activePause([pause('p1', { team: 'payments' }, 1_000, 10_000)], payments, now) !== undefined).toBe(applies)
  })
})

describe('activePause: several pauses', () => {
  it.each<[string, Pause[], string | undefined]>([
    ['none', [], undefined],
    [
      'the one that ends last wins',
      [
        pause('a', { team: 'payments' }, 0, H),
        pause('b', { service: 'checkout' }, 0, 3 * H),
        pause('c', { action: 'restart' }, 0, 2 * H),
      ],
      'b',
    ],
    [
      'an expired one is ignored even if it ended last',
      [pause('a', { team: 'payments' }, 0, 2 * H), pause('b', { team: 'payments' }, 0, 30 * M)],
      'a',
    ],
    [
      'a non-matching one is ignored',
      [pause('a', { team: 'search' }, 0, 9 * H), pause('b', { team: 'payments' }, 0, 2 * H)],
      'b',
    ],
    [
      'ties go to the smallest id, whatever the order',
      [pause('z', { team: 'payments' }), pause('m', { action: 'restart' }), pause('q', { service: 'checkout' })],
      'm',
    ],
  ])('%s', (_name, pauses, id) => {
    expect(activePause(pauses, payments, H)?.id).toBe(id)
    expect(activePause([...pauses].reverse(), payments, H)?.id).toBe(id)
  })
})

describe('newPause', () => {
  const input = (overrides: Partial<NewPauseInput> = {}): NewPauseInput => ({
    scope: { team: 'payments' },
    reason: 'deploy freeze',
    forMs: 2 * H,
    now: 1_000,
    id: 'p-1',
    ...overrides,
  })

  it('builds a pause from now for forMs', () => {
    expect(newPause(input({ createdBy: 'alice', escalate: true }))).toEqual({
      id: 'p-1',
      scope: { team: 'payments' },
      reason: 'deploy freeze',
      createdBy: 'alice',
      createdAt: 1_000,
      until: 1_000 + 2 * H,
      escalate: true,
    })
  })

  it('defaults escalate to false, leaves createdBy out and drops undefined scope keys', () => {
    const p = newPause(input({ scope: { team: 'payments', service: undefined } }))
    expect(p).toEqual({
      id: 'p-1',
      scope: { team: 'payments' },
      reason: 'deploy freeze',
      createdAt: 1_000,
      until: 1_000 + 2 * H,
      escalate: false,
    })
    expect(JSON.parse(JSON.stringify(p))).toEqual(p)
  })

  it.each<[string, Partial<NewPauseInput>, RegExp]>([
    ['empty scope', { scope: {} }, /at least one of --team, --service, --action or --matcher/],
    ['blank scope value', { scope: { team: ' ' } }, /--team must not be empty/],
    ['zero duration', { forMs: 0 }, /longer than zero/],
    ['negative duration', { forMs: -5 }, /longer than zero/],
    ['NaN duration', { forMs: Number.NaN }, /longer than zero/],
    ['empty reason', { reason: '' }, /needs a reason/],
    ['blank reason', { reason: '   ' }, /needs a reason/],
    ['empty id', { id: '' }, /non-empty id/],
  ])('rejects %s', (_name, overrides, message) => {
    expect(() => newPause(input(overrides))).toThrow(ConfigError)
    expect(() => newPause(input(overrides))).toThrow(message)
  })
})

describe('newPause with matchers', () => {
  it('keeps matchers sorted and without duplicates; needs no scope then', () => {
    const p = newPause({
      id: 'p',
      scope: {},
      matchers: parseMatchers(['severity="critical"', 'alertname="DiskFull"', 'severity="critical"']),
      reason: 'disk cleanup',
      forMs: H,
      now: 0,
    })
    expect(p.matchers?.map(String)).toEqual(['alertname="DiskFull"', 'severity="critical"'])
    expect(describePause(p, 0)).toBe('{alertname="DiskFull", severity="critical"} for 1h more: disk cleanup')
  })
})

describe('liftPause', () => {
  const pauses = [
    pause('team', { team: 'payments' }),
    pause('svc', { team: 'payments', service: 'checkout' }),
    pause('other', { team: 'search' }),
    pause('team2', { team: 'payments' }, 0, 1),
  ]

  it.each<[string, PauseScope, string[], string[]]>([
    ['lifts exact team scopes only, expired ones too', { team: 'payments' }, ['team', 'team2'], ['svc', 'other']],
    ['lifts a combined scope exactly', { team: 'payments', service: 'checkout' }, ['svc'], ['team', 'other', 'team2']],
    ['lifts nothing when nothing matches exactly', { service: 'checkout' }, [], ['team', 'svc', 'other', 'team2']],
  ])('%s', (_name, selector, lifted, remaining) => {
    const result = liftPause(pauses, selector)
    expect(result.lifted.map((p) => p.id)).toEqual(lifted)
    expect(result.remaining.map((p) => p.id)).toEqual(remaining)
  })

  it('lifts a matcher pause only with the same matchers, in any order', () => {
    const withMatchers = pause('m', { team: 'payments' }, 0, 2 * H, {
      matchers: parseMatchers('alertname="A", severity="critical"'),
    })
    const all = [...pauses, withMatchers]
    expect(liftPause(all, { team: 'payments' }).lifted.map((p) => p.id)).toEqual(['team', 'team2'])
    expect(
      liftPause(all, { team: 'payments' }, parseMatchers('severity="critical", alertname="A"')).lifted.map((p) => p.id),
    ).toEqual(['m'])
    expect(liftPause(all, { team: 'payments' }, parseMatchers('alertname="A"')).lifted).toEqual([])
  })

  it('refuses an empty selector rather than lifting everything or nothing', () => {
    expect(() => liftPause(pauses, {})).toThrow(ConfigError)
  })
})

describe('describePause', () => {
  it.each<[string, Pause, number, string]>([
    [
      'the example',
      pause('p', { team: 'payments' }, 0, 2 * H, { createdBy: 'alice' }),
      2 * H - (H + 23 * M),
      'team=payments for 1h23m more: deploy freeze (by alice)',
    ],
    ['no author', pause('p', { service: 'checkout' }, 0, 2 * H), H, 'service=checkout for 1h more: deploy freeze'],
    [
      'several fields in a fixed order',
      pause('p', { action: 'restart', team: 'payments', service: 'checkout' }, 0, 2 * H),
      2 * H - 90_000,
      'team=payments service=checkout action=restart for 1m30s more: deploy freeze',
    ],
    [
      'escalating',
      pause('p', { team: 'payments' }, 0, 2 * H, { createdBy: 'alice', escalate: true }),
      2 * H - 500,
      'team=payments for 1s more: deploy freeze (by alice, pages on skip)',
    ],
    ['ended', pause('p', { team: 'payments' }, 0, 2 * H), 2 * H + 5 * M, 'team=payments ended 5m ago: deploy freeze'],
    [
      'not started yet',
      pause('p', { team: 'payments' }, 10 * M, 2 * H),
      0,
      'team=payments from in 10m, for 1h50m: deploy freeze',
    ],
  ])('%s', (_name, p, now, line) => {
    expect(describePause(p, now)).toBe(line)
  })
})

describe('describeLift: what resume says, true whenever it lifts', () => {
  const p = pause('p', { team: 'search' }, 10 * M, 2 * H + 10 * M, { createdBy: 'alice' })
  it.each<[string, number, string]>([
    ['in force', 2 * H + 10 * M - (29 * M + 38_000), 'team=search (deploy freeze, by alice), which had 29m38s left'],
    ['ended', 2 * H + 20 * M, 'team=search (deploy freeze, by alice), which had already ended 10m ago'],
    ['not started', 0, 'team=search (deploy freeze, by alice), which had not started yet (it was to start in 10m)'],
  ])('%s', (_name, now, text) => {
    expect(describeLift(p, now)).toBe(text)
  })
})

describe('formatDurationShort', () => {
  it.each<[number, string]>([
    [0, '0s'],
    [1, '1s'],
    [45_000, '45s'],
    [4 * M + 5_000, '4m5s'],
    [2 * H, '2h'],
    [H + 23 * M + 59_000, '1h23m'],
    [2 * 24 * H + 3 * H + 7 * M, '2d3h'],
    [7 * 24 * H + 30 * M, '7d'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDurationShort(ms)).toBe(text)
    if (ms > 0) expect(parseDuration(text, 'x')).toBeLessThanOrEqual(Math.ceil(ms / 1000) * 1000)
  })
})
