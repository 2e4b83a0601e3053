import pino from 'pino'
import {
  PauseBoard,
  decodeControlRecord,
  pauseKey,
  pauseRecord,
  resumeRecord,
  type BoardChange,
  type ControlCommand,
} from '../../src/actions/worker/control'
import { newPause, type Pause, type PauseScope } from '../../src/actions/worker/pause'
import { ConfigError } from '../../src/errors'
import { parseMatchers } from '../../src/matchers'
import type { InRecord, OutRecord } from '../../src/kafka'

const TOPIC = 'test.control.nightshift.control'
const H = 3_600_000
const NOW = 1_000_000

/** A pause on `scope` from `createdAt` for `forMs`, with the id the topic wants. */
const pause = (
  scope: PauseScope,
  extra: { createdAt?: number; forMs?: number; reason?: string; createdBy?: string; escalate?: boolean } = {},
): Pause =>
  newPause({
    id: pauseKey(scope),
    scope,
    reason: extra.reason ?? 'deploy freeze',
    forMs: extra.forMs ?? 2 * H,
    now: extra.createdAt ?? NOW,
    ...(extra.createdBy === undefined ? {} : { createdBy: extra.createdBy }),
    ...(extra.escalate === undefined ? {} : { escalate: extra.escalate }),
  })

let offset = 0
/** What a consumer would hand out for `record`. */
function consumed(record: OutRecord): InRecord {
  return {
    topic: record.topic,
    partition: 0,
    offset: String(offset++),
    key: record.key === null ? null : Buffer.from(record.key),
    value: record.value,
    headers: {},
    timestamp: record.timestamp ?? '0',
  }
}

/** A raw record: a key and a JSON value (objects are stringified, strings sent as they are). */
function raw(key: string | null, value: unknown): InRecord {
  const bytes = value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value))
  return consumed({ topic: TOPIC, key, value: bytes })
}

/** A board whose log lines are kept, parsed, in `lines`. */
function board(): { board: PauseBoard; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  )
  return { board: new PauseBoard(logger), lines }
}

const payments = pause({ team: 'payments' })
const checkout = pause({ team: 'payments', service: 'checkout' }, { forMs: H, createdBy: 'alice', escalate: true })
const validJson = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  ...JSON.parse(JSON.stringify(payments)),
  ...overrides,
})

describe('pauseKey', () => {
  it.each<[string, PauseScope, string]>([
    ['team', { team: 'payments' }, 'pause/team=payments'],
    ['service', { service: 'checkout' }, 'pause/service=checkout'],
    ['action', { action: 'restart' }, 'pause/action=restart'],
    [
      'fields in a fixed order, whatever the object order',
      { action: 'exec', service: 'checkout', team: 'payments' },
      'pause/team=payments service=checkout action=exec',
    ],
    ['undefined fields left out', { team: 'payments', service: undefined }, 'pause/team=payments'],
    ['"=" inside a value is fine (fields split on spaces)', { service: 'a=b' }, 'pause/service=a=b'],
  ])('%s', (_name, scope, key) => {
    expect(pauseKey(scope)).toBe(key)
  })

  it.each<[string, PauseScope, RegExp]>([
    ['blank value', { team: ' ' }, /--team must not be empty/],
    [
      'a space in a value (two scopes could share a key)',
      { team: 'a service=b' },
      /--team must be a single word without spaces, got "a service=b"/,
    ],
    ['a tab', { action: 'x\ty' }, /--action must be a single word/],
  ])('rejects %s', (_name, scope, message) => {
    expect(() => pauseKey(scope)).toThrow(ConfigError)
    expect(() => pauseKey(scope)).toThrow(message)
  })
})

describe('pauseKey with matchers', () => {
  it.each<[string, PauseScope, string, string]>([
    ['matchers only', {}, 'alertname="DiskFull"', 'pause/{alertname="DiskFull"}'],
    ['after the scope', { team: 'search' }, 'alertname=DiskFull', 'pause/team=search {alertname="DiskFull"}'],
    [
      'sorted, whatever the order typed',
      { team: 'search' },
      'severity=~"crit.*", alertname="DiskFull"',
      'pause/team=search {alertname="DiskFull", severity=~"crit.*"}',
    ],
    ['duplicates once', {}, 'a="1", a="1"', 'pause/{a="1"}'],
  ])('%s', (_name, scope, matchers, key) => {
    expect(pauseKey(scope, parseMatchers(matchers))).toBe(key)
  })

  it('round trip of a matcher pause: matchers written as text, parsed back', () => {
    const matchers = parseMatchers('severity="critical", alertname=~"Disk.*"')
    const p = newPause({
      id: pauseKey({ team: 'search' }, matchers),
      scope: { team: 'search' },
      matchers,
      reason: 'r',
      forMs: H,
      now: NOW,
    })
    const record = pauseRecord(p, TOPIC)
    expect(JSON.parse(record.value!.toString('utf8'))).toMatchObject({
      matchers: ['alertname=~"Disk.*"', 'severity="critical"'],
    })
    const decoded = decodeControlRecord(consumed(record))
    if (decoded.kind !== 'pause') throw new Error(`not a pause: ${JSON.stringify(decoded)}`)
    expect(decoded.pause.matchers?.map(String)).toEqual(['alertname=~"Disk.*"', 'severity="critical"'])
    expect({ ...decoded.pause, matchers: undefined }).toEqual({ ...p, matchers: undefined })
  })

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a matcher that does not parse', { matchers: ['alertname~"x"'] }, /^matchers: bad matcher/],
    ["matchers that are not the key's", { matchers: ['alertname="Other"'] }, /does not belong to the key/],
    ['an empty matcher list', { matchers: [] }, /matchers must NOT have fewer than 1 items/],
  ])('malformed: %s', (_name, extra, reason) => {
    const value = {
      id: 'pause/team=search {alertname="DiskFull"}',
      scope: { team: 'search' },
      reason: 'r',
      createdAt: 1,
      until: 2,
      escalate: false,
      matchers: ['alertname="DiskFull"'],
      ...extra,
    }
    const decoded = decodeControlRecord(raw('pause/team=search {alertname="DiskFull"}', value))
    expect(decoded.kind === 'malformed' ? decoded.reason : decoded.kind).toMatch(reason)
  })
})

describe('record encoding', () => {
  it('pauseRecord: keyed by scope, the pause as JSON, timestamped at createdAt', () => {
    const record = pauseRecord(checkout, TOPIC)
    expect(record).toMatchObject({ topic: TOPIC, key: 'pause/team=payments service=checkout', timestamp: String(NOW) })
    expect(JSON.parse(record.value!.toString('utf8'))).toEqual(checkout)
  })

  it('resumeRecord: a tombstone on the same key', () => {
    expect(resumeRecord({ service: 'checkout', team: 'payments' }, TOPIC)).toEqual({
      topic: TOPIC,
      key: 'pause/team=payments service=checkout',
      value: null,
    })
  })

  it.each<[string, Pause]>([
    ['minimal', payments],
    ['with createdBy and escalate', checkout],
    ['all three scope fields', pause({ team: 't', service: 's', action: 'a' })],
  ])('round trip: %s', (_name, p) => {
    expect(decodeControlRecord(consumed(pauseRecord(p, TOPIC)))).toEqual({ kind: 'pause', key: p.id, pause: p })
    expect(decodeControlRecord(consumed(resumeRecord(p.scope, TOPIC)))).toEqual({ kind: 'lift', key: p.id })
  })

  it('writes only the known fields, so its own records always pass the strict decode', () => {
    const extra = { ...payments, scope: { team: 'payments', service: undefined }, note: 'x' } as Pause
    const record = consumed(pauseRecord(extra, TOPIC))
    expect(decodeControlRecord(record)).toEqual({ kind: 'pause', key: payments.id, pause: payments })
  })

  it('refuses a pause whose id is not its key', () => {
    expect(() => pauseRecord({ ...payments, id: 'p-1' }, TOPIC)).toThrow(RangeError)
    expect(() => pauseRecord({ ...payments, id: 'p-1' }, TOPIC)).toThrow(
      'pause id "p-1" must be its control key "pause/team=payments"',
    )
  })
})

describe('decodeControlRecord: strict', () => {
  it.each<[string, ControlCommand['kind'], string | null, unknown]>([
    ['a null key', 'unknown', null, validJson()],
    ['another command', 'unknown', 'dryrun/route=page-critical', { on: true }],
    ['another command, tombstone', 'unknown', 'dryrun/route=page-critical', null],
    ['a key that merely contains pause/', 'unknown', 'xpause/team=payments', validJson()],
    ['a tombstone', 'lift', 'pause/team=payments', null],
    ['a valid pause', 'pause', 'pause/team=payments', validJson()],
  ])('%s → %s', (_name, kind, key, value) => {
    expect(decodeControlRecord(raw(key, value)).kind).toBe(kind)
  })

  it.each<[string, unknown, RegExp]>([
    ['not JSON', '{"id":', /^value is not JSON: /],
    ['JSON null', 'null', /^value must be object/],
    ['a JSON array', [validJson()], /^value must be object/],
    [
      'a missing field',
      (({ reason: _r, ...rest }) => rest)(validJson()),
      /^value must have required property 'reason'/,
    ],
    ['an unknown field', validJson({ priority: 1 }), /^value must NOT have additional properties \(priority\)/],
    [
      'an unknown scope field',
      validJson({ scope: { team: 'payments', instance: 'web-1' } }),
      /^\/scope must NOT have additional properties \(instance\)/,
    ],
    ['an empty scope', validJson({ scope: {} }), /^scope: a pause needs a scope or matchers/],
    ['an empty reason', validJson({ reason: '' }), /^\/reason must NOT have fewer than 1 characters/],
    ['an empty createdBy', validJson({ createdBy: '' }), /^\/createdBy must NOT have fewer than 1 characters/],
    ['a string until', validJson({ until: '7200000' }), /^\/until must be integer/],
    ['a fractional createdAt', validJson({ createdAt: 1.5 }), /^\/createdAt must be integer/],
    ['escalate as a string', validJson({ escalate: 'yes' }), /^\/escalate must be boolean/],
    ['an id that is not the key', validJson({ id: 'p-1' }), /^id "p-1" is not the record's key/],
    [
      'a scope of another key',
      validJson({ scope: { team: 'search' } }),
      /^scope team=search does not belong to the key/,
    ],
    ['a scope value with a space', validJson({ scope: { team: 'pay ments' } }), /^scope: --team must be a single word/],
    ['until = createdAt', validJson({ until: NOW }), /^until \(1000000\) is not after createdAt \(1000000\)/],
    ['until before createdAt', validJson({ until: NOW - 1 }), /is not after createdAt/],
  ])('malformed: %s', (_name, value, reason) => {
    const decoded = decodeControlRecord(raw('pause/team=payments', value))
    expect(decoded.kind).toBe('malformed')
    expect(decoded.kind === 'malformed' ? decoded.reason : '').toMatch(reason)
  })
})

describe('PauseBoard', () => {
  type Step = [record: () => InRecord, change: BoardChange['kind']]
  const put = (p: Pause) => () => consumed(pauseRecord(p, TOPIC))
  const lift = (scope: PauseScope) => () => consumed(resumeRecord(scope, TOPIC))
  const junk = (key: string | null, value: unknown) => () => raw(key, value)
  const paymentsLater = pause({ team: 'payments' }, { createdAt: NOW + H, reason: 'db migration' })

  it.each<[string, Step[], Pause[]]>([
    ['a pause is applied', [[put(payments), 'paused']], [payments]],
    [
      'pauses on different scopes coexist, sorted by end',
      [
        [put(payments), 'paused'],
        [put(checkout), 'paused'],
      ],
      [checkout, payments],
    ],
    [
      'a new pause on the same scope replaces the old one',
      [
        [put(payments), 'paused'],
        [put(paymentsLater), 'paused'],
      ],
      [paymentsLater],
    ],
    [
      'a tombstone lifts it',
      [
        [put(payments), 'paused'],
        [put(checkout), 'paused'],
        [lift({ team: 'payments' }), 'lifted'],
      ],
      [checkout],
    ],
    [
      'a tombstone lifts only its exact scope',
      [
        [put(payments), 'paused'],
        [lift({ team: 'payments', service: 'checkout' }), 'lifted'],
      ],
      [payments],
    ],
    [
      'a pause after a tombstone counts again',
      [
        [put(payments), 'paused'],
        [lift({ team: 'payments' }), 'lifted'],
        [put(paymentsLater), 'paused'],
      ],
      [paymentsLater],
    ],
    ['a tombstone of an unknown key changes nothing', [[lift({ action: 'exec' }), 'lifted']], []],
    [
      'malformed JSON on a new key is ignored',
      [
        [put(payments), 'paused'],
        [junk('pause/action=exec', '{oops'), 'malformed'],
      ],
      [payments],
    ],
    [
      'malformed JSON on a paused key drops that pause (compaction would too)',
      [
        [put(payments), 'paused'],
        [put(checkout), 'paused'],
        [junk('pause/team=payments', '{oops'), 'malformed'],
      ],
      [checkout],
    ],
    [
      'a valid pause after a malformed record counts',
      [
        [junk('pause/team=payments', '{oops'), 'malformed'],
        [put(payments), 'paused'],
      ],
      [payments],
    ],
    [
      'unknown keys are ignored',
      [
        [put(payments), 'paused'],
        [junk('dryrun/route=page', { on: true }), 'ignored'],
        [junk(null, 'x'), 'ignored'],
        [junk('dryrun/route=page', null), 'ignored'],
      ],
      [payments],
    ],
  ])('%s', (_name, steps, expected) => {
    const { board: b } = board()
    expect(steps.map(([record]) => b.apply(record()).kind)).toEqual(steps.map(([, change]) => change))
    expect(b.all()).toEqual(expected)
  })

  it('reports what a record replaced, lifted or dropped', () => {
    const { board: b } = board()
    expect(b.apply(put(payments)())).toEqual({ kind: 'paused', pause: payments })
    expect(b.apply(put(paymentsLater)())).toEqual({ kind: 'paused', pause: paymentsLater, replaced: payments })
    expect(b.apply(lift({ team: 'payments' })())).toEqual({
      kind: 'lifted',
      key: 'pause/team=payments',
      pause: paymentsLater,
    })
    expect(b.apply(lift({ team: 'payments' })())).toEqual({ kind: 'lifted', key: 'pause/team=payments' })
    b.apply(put(payments)())
    expect(b.apply(junk('pause/team=payments', '[]')())).toMatchObject({
      kind: 'malformed',
      key: 'pause/team=payments',
      dropped: payments,
    })
  })

  it('logs a malformed record at error with its position and reason; unknown keys only at debug', () => {
    const { board: b, lines } = board()
    b.apply(junk('dryrun/route=page', { on: true })())
    const bad = junk('pause/team=payments', validJson({ priority: 1 }))()
    b.apply(bad)
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [20, 'ignoring control record of an unknown command'],
      [50, 'ignoring malformed control record'],
    ])
    expect(lines[1]).toMatchObject({
      module: 'pause-board',
      topic: TOPIC,
      partition: 0,
      offset: bad.offset,
      key: 'pause/team=payments',
      reason: expect.stringMatching(/priority/) as unknown,
    })
  })

  describe('active vs expired', () => {
    // payments: [NOW, NOW+2h); checkout: [NOW, NOW+1h); search: starts in an hour.
    const search = pause({ team: 'search' }, { createdAt: NOW + H, forMs: 3 * H })
    const { board: b } = board()
    for (const p of [payments, checkout, search]) b.apply(consumed(pauseRecord(p, TOPIC)))
    const request = { team: 'payments', service: 'checkout', action: 'restart', labels: {}, escalation: false }

    it.each<[string, number, string[], string | undefined]>([
      ['before any starts', NOW - 1, [], undefined],
      ['at the start (inclusive)', NOW, [checkout.id, payments.id], payments.id],
      [
        'while both payments pauses run: the one ending last applies',
        NOW + 30 * 60_000,
        [checkout.id, payments.id],
        payments.id,
      ],
      ['checkout ended (until is exclusive)', NOW + H, [payments.id, search.id], payments.id],
      ['all payments pauses ended', NOW + 2 * H, [search.id], undefined],
      ['everything ended', NOW + 4 * H, [], undefined],
    ])('%s', (_name, now, active, applies) => {
      expect(b.active(now).map((p) => p.id)).toEqual(active)
      expect(b.pauseFor(request, now)?.id).toBe(applies)
      expect(b.all().map((p) => p.id)).toEqual([checkout.id, payments.id, search.id])
    })

    it('matches on scope: a request of another team is not paused by payments', () => {
      expect(
        b.pauseFor({ team: 'search', service: null, action: 'page', labels: {}, escalation: false }, NOW + H)?.id,
      ).toBe(search.id)
      expect(
        b.pauseFor({ team: 'ledger', service: 'checkout', action: 'page', labels: {}, escalation: false }, NOW),
      ).toBeUndefined()
    })
  })
})
