import { outcomeFor } from '../../src/contracts/outcome'
import type {
  ActionOutcomeRecord,
  AlertRecord,
  OutcomeStatus,
  SloBudgetRecord,
  SloEventRecord,
} from '../../src/contracts/records'
import { SchemaSet } from '../../src/contracts/schemas'
import type { Emit } from '../../src/runner/types'
import { RECENT_REMEDIATIONS, account, emptyBudget, indexAlert, indexOutcome } from '../../src/stages/slo/decide'
import { parseSlos, sloMath, type SloDefinition, type SlosConfig } from '../../src/slo/slos'
import { alertRecord, enrichedAlertRecord } from '../support/records'

const SEC = 1000
const MIN = 60 * SEC
const HOUR = 60 * MIN
const DAY = 24 * HOUR

/** The evaluation time of most scenarios, on a whole minute. */
const T = Date.UTC(2026, 10, 25, 12, 0, 0)
const TOPIC = 'p.slo.events'

const iso = (ms: number) => new Date(ms).toISOString()

const schemas = SchemaSet.load()
const SLO_EVENT = schemas.type('SloEvent')
const SLO_BUDGET = schemas.type('SloBudget')

/** Asserts `value` is valid against `type`, naming the first bad path. */
function expectValid(type: typeof SLO_EVENT, value: unknown): void {
  const bad: string[] = []
  const ok = type.isValid(value, { errorHook: (path) => bad.push(path.join('.')) })
  expect({ ok, bad }).toEqual({ ok: true, bad: [] })
}

const slos = (yaml: string): SlosConfig => parseSlos(yaml, 'slos.yaml')

const SLOS = slos(`
slos:
  - name: checkout-availability
    service: checkout
    team: payments
    objective: 0.999
    budgeting: Occurrences
    indicator:
      matchers: ['slo="checkout-availability"']
  - name: checkout-latency
    service: checkout
    team: payments
    objective: 0.99
    indicator:
      matchers: ['alertname="HighLatency"', 'service="checkout"']
  - name: search-availability
    service: search
    team: discovery
    objective: 0.995
    window: 1d
    indicator:
      matchers: ['slo=~"search-.*"']
`)

function slo(name: string, config: SlosConfig = SLOS): SloDefinition {
  const found = config.byName.get(name)
  if (!found) throw new Error(`no SLO ${name}`)
  return found
}

/** 99.9% over 30 d rolling, counted exactly: 43.2 min = 2_592_000 ms of budget. */
const AVAIL = slo('checkout-availability')
/** 99% over 30 d rolling, 1 m timeslices. */
const LATENCY = slo('checkout-latency')
/** 99.5% over 1 d rolling, 1 m timeslices: the 3 d burn window reaches further than the SLO window. */
const SEARCH = slo('search-availability')

// ---------------------------------------------------------------------------------------
// indexAlert

describe('indexAlert', () => {
  const alert = (labels: Record<string, string>, over: Partial<AlertRecord> = {}) => alertRecord({ labels, ...over })

  it.each<[string, Record<string, string>, string[]]>([
    [
      'an SLO whose one matcher matches',
      { alertname: 'CheckoutDown', slo: 'checkout-availability' },
      ['checkout-availability'],
    ],
    ['an SLO whose matchers all match', { alertname: 'HighLatency', service: 'checkout' }, ['checkout-latency']],
    [
      'every matching SLO, in file order',
      { alertname: 'HighLatency', service: 'checkout', slo: 'checkout-availability' },
      ['checkout-availability', 'checkout-latency'],
    ],
    ['a regex matcher (anchored)', { alertname: 'SearchDown', slo: 'search-api' }, ['search-availability']],
    ['a regex matcher is anchored: a label only containing the pattern does not match', { slo: 'my-search-api' }, []],
    ['one of two matchers is not enough', { alertname: 'HighLatency', service: 'search' }, []],
    ['no indicator labels at all', { alertname: 'DiskFull' }, []],
    ['a label value differing only in case', { slo: 'Checkout-Availability' }, []],
  ])('%s', (_name, labels, expected) => {
    const { emits, kind } = indexAlert(alert(labels), SLOS, TOPIC)
    expect(kind).toBe(expected.length > 0 ? 'indicator' : 'not_an_indicator')
    expect(emits.map((e) => [e.topic, e.key, e.schema, (e.value as SloEventRecord).slo])).toEqual(
      expected.map((name) => [TOPIC, name, 'SloEvent', name]),
    )
    for (const e of emits) expectValid(SLO_EVENT, e.value)
  })

  it('emits the whole SloEvent of a resolved alert: key = SLO name, the topic as given, at = receivedAt', () => {
    const resolved = alert(
      { alertname: 'HighLatency', service: 'checkout' },
      {
        fingerprint: 'fp-1',
        status: 'resolved',
        startsAt: iso(T - 10 * MIN),
        endsAt: iso(T - MIN),
        receivedAt: T + 5 * SEC,
      },
    )
    const expected: { emits: Emit[]; kind: string } = {
      kind: 'indicator',
      emits: [
        {
          topic: 'other.topic',
          key: 'checkout-latency',
          schema: 'SloEvent',
          value: {
            slo: 'checkout-latency',
            kind: 'alert',
            fingerprint: 'fp-1',
            startsAt: iso(T - 10 * MIN),
            status: 'resolved',
            startedAtMs: T - 10 * MIN,
            endedAtMs: T - MIN,
            at: T + 5 * SEC,
            action: null,
            idempotencyKey: null,
          },
        },
      ],
    }
    expect(indexAlert(resolved, SLOS, 'other.topic')).toEqual(expected)
  })

  it.each<[string, Partial<AlertRecord>, number | null, number | null]>([
    ['firing: startsAt parsed, no end', { status: 'firing', startsAt: iso(T), endsAt: null }, T, null],
    [
      "firing with Alertmanager's future endsAt: still no end",
      { status: 'firing', startsAt: iso(T), endsAt: iso(T + 5 * MIN) },
      T,
      null,
    ],
    ['resolved: both parsed', { status: 'resolved', startsAt: iso(T - HOUR), endsAt: iso(T) }, T - HOUR, T],
    [
      'a startsAt with an offset is parsed to the same instant',
      { status: 'resolved', startsAt: '2026-11-25T13:00:00+01:00', endsAt: '2026-11-25T13:30:00.250+01:00' },
      T,
      T + 30 * MIN + 250,
    ],
    ['resolved without endsAt: no end', { status: 'resolved', startsAt: iso(T), endsAt: null }, T, null],
    ['an unparsable endsAt: null', { status: 'resolved', startsAt: iso(T), endsAt: 'soon' }, T, null],
    ['an unparsable startsAt: null', { status: 'firing', startsAt: 'yesterday', endsAt: null }, null, null],
    ['an empty startsAt: null', { status: 'resolved', startsAt: '', endsAt: iso(T) }, null, T],
  ])('times: %s', (_name, over, startedAtMs, endedAtMs) => {
    const { emits } = indexAlert(alert({ slo: 'checkout-availability' }, over), SLOS, TOPIC)
    expect(emits).toHaveLength(1)
    const value = emits[0]!.value as SloEventRecord
    expect({
      startedAtMs: value.startedAtMs,
      endedAtMs: value.endedAtMs,
      startsAt: value.startsAt,
      status: value.status,
    }).toEqual({
      startedAtMs,
      endedAtMs,
      startsAt: over.startsAt,
      status: over.status,
    })
    expectValid(SLO_EVENT, value)
  })

  it('emits nothing when the file defines no SLO', () => {
    expect(indexAlert(alert({ slo: 'checkout-availability' }), slos('slos: []'), TOPIC)).toEqual({
      emits: [],
      kind: 'not_an_indicator',
    })
  })

  it('does not mutate the alert', () => {
    const a = deepFreeze(alert({ alertname: 'HighLatency', service: 'checkout', slo: 'checkout-availability' }))
    const before = JSON.stringify(a)
    expect(indexAlert(a, SLOS, TOPIC).emits).toHaveLength(2)
    expect(JSON.stringify(a)).toBe(before)
  })
})

// ---------------------------------------------------------------------------------------
// indexOutcome

function outcome(
  over: { service?: string | null; slo?: string | null; status?: OutcomeStatus; finishedAt?: number } = {},
): ActionOutcomeRecord {
  return outcomeFor(
    {
      idempotencyKey: 'fp-1|2026-11-25T11:00:00.000Z|restart|fix',
      action: 'restart',
      route: 'fix',
      dryRun: false,
      alert: enrichedAlertRecord({
        alert: { fingerprint: 'fp-1', startsAt: iso(T - HOUR) },
        service: over.service === undefined ? 'checkout' : over.service,
        slo: over.slo === undefined ? null : over.slo,
      }),
    },
    { status: over.status ?? 'succeeded', finishedAt: over.finishedAt ?? T, detail: null, startedAt: T - 5 * SEC },
  )
}

describe('indexOutcome', () => {
  it.each<[string, { service?: string | null; slo?: string | null }, string[]]>([
    [
      'the outcome names a defined SLO: that one only, not the service’s others',
      { service: 'checkout', slo: 'checkout-latency' },
      ['checkout-latency'],
    ],
    [
      'a named SLO wins even when it belongs to another service',
      { service: 'checkout', slo: 'search-availability' },
      ['search-availability'],
    ],
    ['a named SLO without a service', { service: null, slo: 'checkout-availability' }, ['checkout-availability']],
    [
      'an undefined SLO name: every SLO of the service, in file order',
      { service: 'checkout', slo: 'checkout-gone' },
      ['checkout-availability', 'checkout-latency'],
    ],
    [
      'no SLO name: every SLO of the service',
      { service: 'checkout', slo: null },
      ['checkout-availability', 'checkout-latency'],
    ],
    ['a service with one SLO', { service: 'search', slo: null }, ['search-availability']],
    ['a service with no SLO', { service: 'cart', slo: null }, []],
    ['no service and no SLO name', { service: null, slo: null }, []],
    ['no service and an undefined SLO name', { service: null, slo: 'checkout-gone' }, []],
  ])('%s', (_name, over, expected) => {
    const { emits, kind } = indexOutcome(outcome(over), SLOS, TOPIC)
    expect(kind).toBe(expected.length > 0 ? 'remediation' : 'no_slo')
    expect(emits.map((e) => [e.topic, e.key, e.schema, (e.value as SloEventRecord).slo])).toEqual(
      expected.map((name) => [TOPIC, name, 'SloEvent', name]),
    )
    for (const e of emits) expectValid(SLO_EVENT, e.value)
  })

  it('emits the whole SloEvent: status, action, idempotencyKey, the alert reference, at = finishedAt', () => {
    const o = outcome({ service: 'search', status: 'timed_out', finishedAt: T + 42 })
    const expected: { emits: Emit[]; kind: string } = {
      kind: 'remediation',
      emits: [
        {
          topic: TOPIC,
          key: 'search-availability',
          schema: 'SloEvent',
          value: {
            slo: 'search-availability',
            kind: 'outcome',
            fingerprint: 'fp-1',
            startsAt: iso(T - HOUR),
            status: 'timed_out',
            startedAtMs: null,
            endedAtMs: null,
            at: T + 42,
            action: 'restart',
            idempotencyKey: 'fp-1|2026-11-25T11:00:00.000Z|restart|fix',
          },
        },
      ],
    }
    expect(indexOutcome(o, SLOS, TOPIC)).toEqual(expected)
  })

  it.each<OutcomeStatus>([
    'succeeded',
    'failed',
    'timed_out',
    'skipped_duplicate',
    'circuit_open',
    'cancelled_resolved',
    'dry_run',
    'skipped_paused',
    'gated',
    'error',
    'not_effective',
  ])('passes status %s through, valid against SloEvent', (status) => {
    const { emits } = indexOutcome(outcome({ status }), SLOS, TOPIC)
    expect(emits.map((e) => (e.value as SloEventRecord).status)).toEqual([status, status])
    for (const e of emits) expectValid(SLO_EVENT, e.value)
  })

  it('does not mutate the outcome', () => {
    const o = deepFreeze(outcome())
    const before = JSON.stringify(o)
    expect(indexOutcome(o, SLOS, TOPIC).emits).toHaveLength(2)
    expect(JSON.stringify(o)).toBe(before)
  })
})

// ---------------------------------------------------------------------------------------
// sloMath, emptyBudget

describe('sloMath and emptyBudget', () => {
  it('sloMath is the arithmetic’s view of the definition', () => {
    expect(sloMath(AVAIL)).toEqual({
      objective: 0.999,
      window: { kind: 'rolling', lengthMs: 30 * DAY },
      budgeting: 'occurrences',
      sliceMs: 0,
    })
    expect(sloMath(SEARCH)).toEqual({
      objective: 0.995,
      window: { kind: 'rolling', lengthMs: DAY },
      budgeting: 'timeslices',
      sliceMs: MIN,
    })
  })

  it('an empty budget is full, says whose it is, and is a valid SloBudget', () => {
    const empty = emptyBudget(SEARCH)
    expect(empty).toEqual({
      slo: 'search-availability',
      service: 'search',
      team: 'discovery',
      objective: 0.995,
      asOf: 0,
      windowStart: 0,
      allowedBadMs: 0,
      badMs: 0,
      remainingRatio: 1,
      burnRates: {},
      state: 'ok',
      open: {},
      intervals: [],
      remediations: {},
      automated: 0,
      notEffective: 0,
      actedAt: {},
      lastSeen: {},
      resolvedAfterActionCount: 0,
      resolvedAfterActionMs: 0,
      recent: [],
    })
    expectValid(SLO_BUDGET, empty)
  })
})

// ---------------------------------------------------------------------------------------
// account: events are built as the indexers build them, for one SLO.

/** The open/actedAt key of an alert episode. */
const ep = (fp: string, start: number) => `${fp}|${iso(start)}`

function firing(fp: string, start: number, at = start, name = AVAIL.name): SloEventRecord {
  return {
    slo: name,
    kind: 'alert',
    fingerprint: fp,
    startsAt: iso(start),
    status: 'firing',
    startedAtMs: start,
    endedAtMs: null,
    at,
    action: null,
    idempotencyKey: null,
  }
}

/** A resolve of the alert that started at `start`, ending at `end`, received at `at`. */
function resolved(fp: string, start: number, end: number, at = end, name = AVAIL.name): SloEventRecord {
  return {
    slo: name,
    kind: 'alert',
    fingerprint: fp,
    startsAt: iso(start),
    status: 'resolved',
    startedAtMs: start,
    endedAtMs: end,
    at,
    action: null,
    idempotencyKey: null,
  }
}

/** An action outcome for the alert that started at `start`, decided at `at`. */
function acted(fp: string, start: number, status: OutcomeStatus, at: number, name = AVAIL.name): SloEventRecord {
  return {
    slo: name,
    kind: 'outcome',
    fingerprint: fp,
    startsAt: iso(start),
    status,
    startedAtMs: null,
    endedAtMs: null,
    at,
    action: 'restart',
    idempotencyKey: `${fp}|${iso(start)}|restart|fix`,
  }
}

/** An event that only moves asOf: a dry run for an alert never seen. */
const tick = (at: number, name = AVAIL.name) => acted('tick', 0, 'dry_run', at, name)

/** Every budget of a replay, as the stage would store them; each checked against SloBudget. */
function steps(
  events: readonly SloEventRecord[],
  def: SloDefinition = AVAIL,
  from?: SloBudgetRecord,
): SloBudgetRecord[] {
  const out: SloBudgetRecord[] = []
  events.reduce<SloBudgetRecord | undefined>((previous, e) => {
    const next = account(previous, e, def)
    expectValid(SLO_BUDGET, next)
    out.push(next)
    return next
  }, from)
  return out
}

/** The budget after folding every event (a replay from the empty budget, or from `from`). */
function replay(
  events: readonly SloEventRecord[],
  def: SloDefinition = AVAIL,
  from?: SloBudgetRecord,
): SloBudgetRecord {
  const all = steps(events, def, from)
  const last = all[all.length - 1]
  if (!last) throw new Error('replay needs at least one event')
  return last
}

function deepFreeze<V>(value: V): V {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}

const close = (n: number) => expect.closeTo(n, 9)

/** Burn rates from hand-worked fractions (bad ms of the window ÷ (window × error ratio)). */
function burns(rates: Record<'5m' | '30m' | '1h' | '6h' | '1d' | '3d', number>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, close(v)]))
}
const NO_BURN = burns({ '5m': 0, '30m': 0, '1h': 0, '6h': 0, '1d': 0, '3d': 0 })

describe('account: bad time from alerts (99.9%, 30 d rolling, occurrences: 43.2 min of budget)', () => {
  it.each<[string, SloEventRecord[], Partial<Record<keyof SloBudgetRecord, unknown>>]>([
    [
      'a firing then resolved alert: one interval [startsAt, endsAt), nothing left open',
      [firing('a', T - 10 * MIN), resolved('a', T - 10 * MIN, T)],
      {
        intervals: [{ start: T - 10 * MIN, end: T }],
        open: {},
        badMs: 10 * MIN,
        remainingRatio: close(1 - 10 / 43.2),
        // 5m: 5 min of 5 → 1/0.001; 30m: 10/30 → 333.3; 1h: 10/60 → 166.7; 6h 10/360; 1d 10/1440; 3d 10/4320.
        burnRates: burns({ '5m': 1000, '30m': 1000 / 3, '1h': 500 / 3, '6h': 250 / 9, '1d': 125 / 18, '3d': 125 / 54 }),
        state: 'page',
      },
    ],
    [
      'two overlapping alerts (0–10 m and 5–15 m): the union, 15 min, not the sum, 20',
      [
        firing('a', T - 15 * MIN),
        firing('b', T - 10 * MIN),
        resolved('a', T - 15 * MIN, T - 5 * MIN),
        resolved('b', T - 10 * MIN, T),
      ],
      {
        intervals: [{ start: T - 15 * MIN, end: T }],
        open: {},
        badMs: 15 * MIN,
        remainingRatio: close(1 - 15 / 43.2),
        burnRates: burns({ '5m': 1000, '30m': 500, '1h': 250, '6h': 125 / 3, '1d': 125 / 12, '3d': 125 / 36 }),
        state: 'page',
      },
    ],
    [
      'nested alerts (0–20 m around 5–10 m): the outer one only',
      [
        firing('a', T - 20 * MIN),
        firing('b', T - 15 * MIN),
        resolved('b', T - 15 * MIN, T - 10 * MIN),
        resolved('a', T - 20 * MIN, T),
      ],
      { intervals: [{ start: T - 20 * MIN, end: T }], badMs: 20 * MIN, remainingRatio: close(1 - 20 / 43.2) },
    ],
    [
      'disjoint alerts (0–5 m and 10–20 m): both, 15 min',
      [
        firing('a', T - 20 * MIN),
        resolved('a', T - 20 * MIN, T - 15 * MIN),
        firing('b', T - 10 * MIN),
        resolved('b', T - 10 * MIN, T),
      ],
      {
        intervals: [
          { start: T - 20 * MIN, end: T - 15 * MIN },
          { start: T - 10 * MIN, end: T },
        ],
        badMs: 15 * MIN,
        remainingRatio: close(1 - 15 / 43.2),
        burnRates: burns({ '5m': 1000, '30m': 500, '1h': 250, '6h': 125 / 3, '1d': 125 / 12, '3d': 125 / 36 }),
      },
    ],
    [
      'touching alerts merge into one interval',
      [
        firing('a', T - 20 * MIN),
        resolved('a', T - 20 * MIN, T - 10 * MIN),
        firing('b', T - 10 * MIN),
        resolved('b', T - 10 * MIN, T),
      ],
      { intervals: [{ start: T - 20 * MIN, end: T }], badMs: 20 * MIN },
    ],
    [
      'a resolve without a firing seen: from its startedAtMs',
      [resolved('a', T - 7 * MIN, T)],
      { intervals: [{ start: T - 7 * MIN, end: T }], open: {}, badMs: 7 * MIN },
    ],
    [
      'a resolve received late counts up to its endsAt, not its receipt',
      [firing('a', T - 30 * MIN), resolved('a', T - 30 * MIN, T - 20 * MIN, T)],
      { asOf: T, intervals: [{ start: T - 30 * MIN, end: T - 20 * MIN }], badMs: 10 * MIN },
    ],
    [
      'a duplicate resolve charges nothing more',
      [
        firing('a', T - 10 * MIN),
        resolved('a', T - 10 * MIN, T - 5 * MIN),
        resolved('a', T - 10 * MIN, T - 5 * MIN, T),
      ],
      { intervals: [{ start: T - 10 * MIN, end: T - 5 * MIN }], open: {}, badMs: 5 * MIN },
    ],
    [
      'endsAt before startsAt: clamped to zero length, nothing charged, nothing left open',
      [firing('a', T - 10 * MIN), resolved('a', T - 10 * MIN, T - 20 * MIN, T)],
      { asOf: T, intervals: [], open: {}, badMs: 0, remainingRatio: 1, burnRates: NO_BURN, state: 'ok' },
    ],
    [
      'an alert still firing counts up to asOf (open for the last 60 min: 1h burn 1000 → page)',
      [firing('a', T - HOUR), firing('a', T - HOUR, T)],
      {
        asOf: T,
        open: { [ep('a', T - HOUR)]: T - HOUR },
        intervals: [],
        badMs: HOUR,
        remainingRatio: close(1 - 60 / 43.2),
        burnRates: burns({ '5m': 1000, '30m': 1000, '1h': 1000, '6h': 1000 / 6, '1d': 1000 / 24, '3d': 1000 / 72 }),
        state: 'page',
      },
    ],
    [
      'a 30 min burst that ended 90 min ago: 6h burn high, 30m and 5m quiet → ticket',
      [firing('a', T - 2 * HOUR), resolved('a', T - 2 * HOUR, T - 90 * MIN, T)],
      {
        badMs: 30 * MIN,
        burnRates: burns({ '5m': 0, '30m': 0, '1h': 0, '6h': 250 / 3, '1d': 125 / 6, '3d': 125 / 18 }),
        state: 'ticket',
      },
    ],
    [
      'one minute ten days ago: charged to the window, no burn → ok',
      [firing('a', T - 10 * DAY), resolved('a', T - 10 * DAY, T - 10 * DAY + MIN), tick(T)],
      { badMs: MIN, remainingRatio: close(1 - 1 / 43.2), burnRates: NO_BURN, state: 'ok' },
    ],
    [
      'bad time is charged whether or not an action fixed it',
      [firing('a', T - 15 * MIN), acted('a', T - 15 * MIN, 'succeeded', T - 10 * MIN), resolved('a', T - 15 * MIN, T)],
      { intervals: [{ start: T - 15 * MIN, end: T }], badMs: 15 * MIN, remainingRatio: close(1 - 15 / 43.2) },
    ],
    [
      'outcomes alone charge nothing',
      [acted('a', T - HOUR, 'failed', T - 30 * MIN), acted('a', T - HOUR, 'not_effective', T)],
      { intervals: [], open: {}, badMs: 0, remainingRatio: 1, burnRates: NO_BURN, state: 'ok' },
    ],
  ])('%s', (_name, events, expected) => {
    const budget = replay(events)
    expect(budget).toMatchObject({ asOf: T, windowStart: T - 30 * DAY, allowedBadMs: 2_592_000, ...expected })
  })

  it('has the hand-worked budget: 99.9% over 30 d allows 2_592_000 ms; each figure of a 15 min outage', () => {
    const budget = replay([
      firing('a', T - 15 * MIN),
      firing('b', T - 10 * MIN),
      resolved('a', T - 15 * MIN, T - 5 * MIN),
      resolved('b', T - 10 * MIN, T),
    ])
    expect(budget).toEqual({
      slo: 'checkout-availability',
      service: 'checkout',
      team: 'payments',
      objective: 0.999,
      asOf: T,
      windowStart: T - 30 * DAY,
      allowedBadMs: 2_592_000,
      badMs: 900_000,
      remainingRatio: close(1 - 15 / 43.2),
      burnRates: burns({ '5m': 1000, '30m': 500, '1h': 250, '6h': 125 / 3, '1d': 125 / 12, '3d': 125 / 36 }),
      state: 'page',
      open: {},
      intervals: [{ start: T - 15 * MIN, end: T }],
      remediations: {},
      automated: 0,
      notEffective: 0,
      actedAt: {},
      lastSeen: {},
      resolvedAfterActionCount: 0,
      resolvedAfterActionMs: 0,
      recent: [],
    })
  })

  it('keeps an overlapping alert open while the other has resolved, and counts the union meanwhile', () => {
    const [, , afterA, afterB] = steps([
      firing('a', T - 15 * MIN),
      firing('b', T - 10 * MIN),
      resolved('a', T - 15 * MIN, T - 5 * MIN),
      resolved('b', T - 10 * MIN, T),
    ])
    expect(afterA).toMatchObject({
      asOf: T - 5 * MIN,
      open: { [ep('b', T - 10 * MIN)]: T - 10 * MIN },
      intervals: [{ start: T - 15 * MIN, end: T - 5 * MIN }],
      badMs: 10 * MIN,
    })
    expect(afterB).toMatchObject({ asOf: T, open: {}, badMs: 15 * MIN })
  })

  it('a duplicate firing does not reset the start (an unparsable startsAt starts at the first receipt)', () => {
    const first: SloEventRecord = { ...firing('a', 0, T - 10 * MIN), startsAt: 'not-a-time', startedAtMs: null }
    const again: SloEventRecord = { ...first, at: T - 5 * MIN }
    const done: SloEventRecord = { ...first, status: 'resolved', endedAtMs: T, at: T }
    const [afterFirst, afterAgain, afterDone] = steps([first, again, done])
    expect(afterFirst!.open).toEqual({ 'a|not-a-time': T - 10 * MIN })
    expect(afterAgain!.open).toEqual({ 'a|not-a-time': T - 10 * MIN })
    expect(afterDone).toMatchObject({ open: {}, intervals: [{ start: T - 10 * MIN, end: T }], badMs: 10 * MIN })
  })

  it('a duplicate firing with a different start keeps the first', () => {
    const b = replay([firing('a', T - 10 * MIN), { ...firing('a', T - 10 * MIN, T), startedAtMs: T - 2 * MIN }])
    expect(b.open).toEqual({ [ep('a', T - 10 * MIN)]: T - 10 * MIN })
    expect(b.badMs).toBe(10 * MIN)
  })

  it('a resolve with neither a firing seen nor a parsable startsAt starts at its receipt', () => {
    const e: SloEventRecord = { ...resolved('a', 0, T + MIN, T), startsAt: '??', startedAtMs: null }
    expect(replay([e])).toMatchObject({ asOf: T + MIN, intervals: [{ start: T, end: T + MIN }], badMs: MIN })
  })

  it('a resolve without endsAt ends at its receipt', () => {
    const e: SloEventRecord = { ...resolved('a', T - 10 * MIN, 0, T), endedAtMs: null }
    expect(replay([firing('a', T - 10 * MIN), e])).toMatchObject({
      intervals: [{ start: T - 10 * MIN, end: T }],
      badMs: 10 * MIN,
    })
  })

  it('charges whole slices with Timeslices (99%, 1 m): a 10 s alert costs a minute', () => {
    const start = T - 10 * MIN + 10 * SEC
    const b = replay(
      [firing('a', start, start, LATENCY.name), resolved('a', start, start + 10 * SEC, T, LATENCY.name)],
      LATENCY,
    )
    expect(b).toMatchObject({
      slo: 'checkout-latency',
      objective: 0.99,
      allowedBadMs: 25_920_000,
      badMs: MIN,
      intervals: [{ start, end: start + 10 * SEC }],
      remainingRatio: close(1 - 1 / 432),
    })
  })
})

describe('account: asOf is the latest event time', () => {
  it.each<[string, SloEventRecord[], number]>([
    ['the first event', [firing('a', T - HOUR, T - 59 * MIN)], T - 59 * MIN],
    ['a later outcome moves it on', [firing('a', T - HOUR), acted('a', T - HOUR, 'failed', T)], T],
    [
      'an out-of-order older event does not move it back',
      [firing('a', T - HOUR, T), acted('a', T - HOUR, 'failed', T - 30 * MIN), firing('b', T - 2 * HOUR, T - 2 * HOUR)],
      T,
    ],
    ['a resolve ending after its receipt: its end', [resolved('a', T - HOUR, T + MIN, T)], T + MIN],
  ])('%s', (_name, events, asOf) => {
    const b = replay(events)
    expect(b.asOf).toBe(asOf)
    expect(b.windowStart).toBe(asOf - 30 * DAY)
  })

  it('figures stay as of the latest time after an older event', () => {
    const b = replay([firing('a', T - HOUR), firing('a', T - HOUR, T), firing('b', T - 2 * HOUR, T - 2 * HOUR)])
    // a: the last hour; b: open since 2 h ago → the union is 2 h up to T, not up to T - 2 h.
    expect(b).toMatchObject({
      asOf: T,
      badMs: 2 * HOUR,
      open: { [ep('a', T - HOUR)]: T - HOUR, [ep('b', T - 2 * HOUR)]: T - 2 * HOUR },
    })
  })
})

describe('account: outcomes', () => {
  it.each<[OutcomeStatus, number, number]>([
    ['succeeded', 1, 0],
    ['failed', 1, 0],
    ['timed_out', 1, 0],
    ['not_effective', 0, 1],
    ['skipped_duplicate', 0, 0],
    ['circuit_open', 0, 0],
    ['cancelled_resolved', 0, 0],
    ['dry_run', 0, 0],
    ['skipped_paused', 0, 0],
    ['gated', 0, 0],
    ['error', 0, 0],
  ])('%s: automated %d, notEffective %d', (status, automated, notEffective) => {
    expect(replay([acted('a', T - HOUR, status, T)])).toMatchObject({
      remediations: { [status]: 1 },
      automated,
      notEffective,
    })
  })

  it('counts a sequence by status, all time', () => {
    const statuses: OutcomeStatus[] = [
      'succeeded',
      'failed',
      'dry_run',
      'succeeded',
      'timed_out',
      'not_effective',
      'gated',
      'not_effective',
      'succeeded',
    ]
    const b = replay(statuses.map((s, i) => acted(`f${i}`, T - DAY, s, T - DAY + i * HOUR)))
    expect(b).toMatchObject({
      remediations: { succeeded: 3, failed: 1, dry_run: 1, timed_out: 1, not_effective: 2, gated: 1 },
      automated: 5,
      notEffective: 2,
    })
    expect(Object.keys(b.remediations).sort()).toEqual([
      'dry_run',
      'failed',
      'gated',
      'not_effective',
      'succeeded',
      'timed_out',
    ])
  })
})

describe('account: recent outcomes', () => {
  const entry = (fp: string, status: OutcomeStatus, at: number) => ({
    at,
    action: 'restart',
    status,
    fingerprint: fp,
    idempotencyKey: `${fp}|${iso(T - HOUR)}|restart|fix`,
  })

  it('lists outcomes newest last, in the order folded; alerts add nothing', () => {
    const b = replay([
      firing('a', T - HOUR),
      acted('a', T - HOUR, 'failed', T - 50 * MIN),
      resolved('a', T - HOUR, T - 40 * MIN),
      acted('b', T - HOUR, 'dry_run', T - 30 * MIN),
      acted('c', T - HOUR, 'gated', T - 45 * MIN),
    ])
    expect(b.recent).toEqual([
      entry('a', 'failed', T - 50 * MIN),
      entry('b', 'dry_run', T - 30 * MIN),
      entry('c', 'gated', T - 45 * MIN),
    ])
  })

  it(`keeps the last ${RECENT_REMEDIATIONS}, while remediations counts them all`, () => {
    expect(RECENT_REMEDIATIONS).toBe(20)
    const events = Array.from({ length: 25 }, (_, i) => acted(`f${i}`, T - HOUR, 'succeeded', T + i * SEC))
    const b = replay(events)
    expect(b.recent).toEqual(Array.from({ length: 20 }, (_, k) => entry(`f${k + 5}`, 'succeeded', T + (k + 5) * SEC)))
    expect(b.remediations).toEqual({ succeeded: 25 })
  })

  it('an outcome without action or key is listed with empty strings (the Avro strings are not nullable)', () => {
    const b = replay([{ ...acted('a', T - HOUR, 'error', T), action: null, idempotencyKey: null }])
    expect(b.recent).toEqual([{ at: T, action: '', status: 'error', fingerprint: 'a', idempotencyKey: '' }])
  })

  it('takes a stored budget from before the list existed', () => {
    const { recent: _dropped, ...old } = replay([acted('a', T - HOUR, 'failed', T - MIN)])
    const b = account(old as SloBudgetRecord, acted('b', T - HOUR, 'succeeded', T), AVAIL)
    expect(b.recent).toEqual([entry('b', 'succeeded', T)])
    expect(b.remediations).toEqual({ failed: 1, succeeded: 1 })
  })
})

describe('account: time to resolve after a successful action', () => {
  const S = T - HOUR
  it.each<
    [string, SloEventRecord[], Pick<SloBudgetRecord, 'actedAt' | 'resolvedAfterActionCount' | 'resolvedAfterActionMs'>]
  >([
    [
      'while the alert is open, actedAt holds the action time',
      [firing('a', S), acted('a', S, 'succeeded', S + 10 * MIN)],
      { actedAt: { [ep('a', S)]: S + 10 * MIN }, resolvedAfterActionCount: 0, resolvedAfterActionMs: 0 },
    ],
    [
      'resolved later: counted, from the action to the endsAt',
      [firing('a', S), acted('a', S, 'succeeded', S + 10 * MIN), resolved('a', S, S + 25 * MIN, S + 26 * MIN)],
      { actedAt: {}, resolvedAfterActionCount: 1, resolvedAfterActionMs: 15 * MIN },
    ],
    [
      'a second success does not move the first',
      [
        firing('a', S),
        acted('a', S, 'succeeded', S + 10 * MIN),
        acted('a', S, 'succeeded', S + 20 * MIN),
        resolved('a', S, S + 30 * MIN),
      ],
      { actedAt: {}, resolvedAfterActionCount: 1, resolvedAfterActionMs: 20 * MIN },
    ],
    [
      'a failed, timed-out or not-effective action starts no clock',
      [
        firing('a', S),
        acted('a', S, 'failed', S + MIN),
        acted('a', S, 'timed_out', S + 2 * MIN),
        acted('a', S, 'not_effective', S + 3 * MIN),
        resolved('a', S, S + 30 * MIN),
      ],
      { actedAt: {}, resolvedAfterActionCount: 0, resolvedAfterActionMs: 0 },
    ],
    [
      'a dry run starts no clock',
      [firing('a', S), acted('a', S, 'dry_run', S + MIN), resolved('a', S, S + 30 * MIN)],
      { actedAt: {}, resolvedAfterActionCount: 0, resolvedAfterActionMs: 0 },
    ],
    [
      'an action on a closed alert does not count, nor does a later duplicate resolve',
      [
        firing('a', S),
        resolved('a', S, S + 10 * MIN),
        acted('a', S, 'succeeded', S + 11 * MIN),
        resolved('a', S, S + 10 * MIN, S + 12 * MIN),
      ],
      { actedAt: {}, resolvedAfterActionCount: 0, resolvedAfterActionMs: 0 },
    ],
    [
      'an action on an alert never seen firing does not count',
      [acted('a', S, 'succeeded', S + MIN), resolved('a', S, S + 10 * MIN)],
      { actedAt: {}, resolvedAfterActionCount: 0, resolvedAfterActionMs: 0 },
    ],
    [
      'an action on another episode of the same fingerprint does not count',
      [firing('a', S), acted('a', S - DAY, 'succeeded', S + MIN), resolved('a', S, S + 10 * MIN)],
      { actedAt: {}, resolvedAfterActionCount: 0, resolvedAfterActionMs: 0 },
    ],
    [
      'two alerts: counts and times add up',
      [
        firing('a', S),
        firing('b', S + MIN),
        acted('b', S + MIN, 'succeeded', S + 2 * MIN),
        acted('a', S, 'succeeded', S + 5 * MIN),
        resolved('b', S + MIN, S + 4 * MIN),
        resolved('a', S, S + 15 * MIN),
      ],
      { actedAt: {}, resolvedAfterActionCount: 2, resolvedAfterActionMs: 2 * MIN + 10 * MIN },
    ],
    [
      'one of two alerts acted on: only it counts; the other’s open entry stays',
      [
        firing('a', S),
        firing('b', S),
        acted('a', S, 'succeeded', S + 5 * MIN),
        resolved('a', S, S + 15 * MIN),
        acted('b', S, 'succeeded', S + 20 * MIN),
      ],
      { actedAt: { [ep('b', S)]: S + 20 * MIN }, resolvedAfterActionCount: 1, resolvedAfterActionMs: 10 * MIN },
    ],
  ])('%s', (_name, events, expected) => {
    expect(replay(events)).toMatchObject(expected)
  })

  it('an alert that ended before the action finished is not counted as resolved after it', () => {
    // The resolve notification arrives after the outcome, but its endsAt is earlier.
    const b = replay([
      firing('a', S),
      acted('a', S, 'succeeded', S + 20 * MIN),
      resolved('a', S, S + 10 * MIN, S + 21 * MIN),
    ])
    expect(b.resolvedAfterActionCount).toBe(0)
    expect(b.resolvedAfterActionMs).toBe(0)
    expect(b.actedAt).toEqual({})
  })
})

describe('account: pruning', () => {
  it.each<[string, SloDefinition, Array<[number, number]>, Array<[number, number]>]>([
    ['30 d: an interval ending exactly at windowStart goes', AVAIL, [[T - 31 * DAY, T - 30 * DAY]], []],
    [
      '30 d: one ending 1 ms after windowStart stays, unclipped',
      AVAIL,
      [[T - 31 * DAY, T - 30 * DAY + 1]],
      [[T - 31 * DAY, T - 30 * DAY + 1]],
    ],
    ['30 d: one inside the window stays', AVAIL, [[T - 29 * DAY, T - 28 * DAY]], [[T - 29 * DAY, T - 28 * DAY]]],
    ['1 d window: one that left the 3 d burn window goes', SEARCH, [[T - 4 * DAY, T - 3 * DAY]], []],
    [
      '1 d window: one outside the SLO window but inside the 3 d burn window stays',
      SEARCH,
      [[T - 3 * DAY - HOUR, T - 2 * DAY]],
      [[T - 3 * DAY - HOUR, T - 2 * DAY]],
    ],
  ])('%s', (_name, def, closed, kept) => {
    const events = [...closed.map(([s, e], i) => resolved(`f${i}`, s, e, e, def.name)), tick(T, def.name)]
    expect(replay(events, def).intervals).toEqual(kept.map(([start, end]) => ({ start, end })))
  })

  it('a kept interval outside the 1 d window still burns in the 3 d window', () => {
    const b = replay(
      [resolved('a', T - 3 * DAY - HOUR, T - 2 * DAY, T - 2 * DAY, SEARCH.name), tick(T, SEARCH.name)],
      SEARCH,
    )
    // 3d: [T-3d, T-2d) is bad = 1 d of 3 d, ÷ 0.005 → 66.7; the 1 d window holds none.
    expect(b).toMatchObject({
      windowStart: T - DAY,
      allowedBadMs: 432_000,
      badMs: 0,
      remainingRatio: 1,
      burnRates: burns({ '5m': 0, '30m': 0, '1h': 0, '6h': 0, '1d': 0, '3d': 200 / 3 }),
      state: 'ok',
    })
  })

  it('drops an interval once asOf has moved past both windows, not before', () => {
    const before = replay([resolved('a', T - HOUR, T - 30 * MIN)])
    expect(replay([tick(T - 30 * MIN + 30 * DAY - 1)], AVAIL, before).intervals).toEqual([
      { start: T - HOUR, end: T - 30 * MIN },
    ])
    expect(replay([tick(T - 30 * MIN + 30 * DAY)], AVAIL, before).intervals).toEqual([])
  })

  it('keeps open alerts however old, and charges the whole window for them', () => {
    const b = replay([firing('a', T - 40 * DAY), tick(T)])
    expect(b).toMatchObject({
      open: { [ep('a', T - 40 * DAY)]: T - 40 * DAY },
      intervals: [],
      badMs: 30 * DAY,
      remainingRatio: close(1 - (30 * DAY) / 2_592_000),
    })
  })
})

describe('account: the definition', () => {
  const EDITED = slo(
    'checkout-availability',
    slos(`
slos:
  - name: checkout-availability
    service: checkout-v2
    team: payments-core
    objective: 0.99
    budgeting: Occurrences
    indicator:
      matchers: ['slo="checkout-availability"']
`),
  )
  const OUTAGE = [
    firing('a', T - 15 * MIN),
    firing('b', T - 10 * MIN),
    resolved('a', T - 15 * MIN, T - 5 * MIN),
    resolved('b', T - 10 * MIN, T),
  ]

  it('copies service, team and objective from the definition, over what the previous budget said', () => {
    const previous: SloBudgetRecord = { ...replay(OUTAGE), service: 'stale', team: 'stale', objective: 0.5 }
    expect(account(previous, tick(T), AVAIL)).toMatchObject({
      slo: 'checkout-availability',
      service: 'checkout',
      team: 'payments',
      objective: 0.999,
    })
  })

  it('an objective changed in the file recomputes with the new one from the next event', () => {
    const before = replay(OUTAGE)
    // The duplicate resolve changes nothing but the definition it is folded with.
    const after = replay([resolved('b', T - 10 * MIN, T)], EDITED, before)
    expect(after).toMatchObject({
      service: 'checkout-v2',
      team: 'payments-core',
      objective: 0.99,
      allowedBadMs: 25_920_000,
      badMs: 15 * MIN,
      remainingRatio: close(1 - 15 / 432),
      burnRates: burns({ '5m': 100, '30m': 50, '1h': 25, '6h': 25 / 6, '1d': 25 / 24, '3d': 25 / 72 }),
      state: 'page',
    })
    // The same as if the file had always said so.
    expect(after).toEqual(replay([...OUTAGE, resolved('b', T - 10 * MIN, T)], EDITED))
  })

  it('a budgeting method changed in the file recomputes the bad time with it', () => {
    const start = T - 10 * MIN + 10 * SEC
    const before = replay([firing('a', start), resolved('a', start, start + 10 * SEC)])
    expect(before.badMs).toBe(10 * SEC)
    const sliced = { ...AVAIL, budgeting: 'timeslices', sliceMs: MIN } satisfies SloDefinition
    expect(replay([tick(T)], sliced, before).badMs).toBe(MIN)
  })
})

describe('account: purity and replay', () => {
  const S = T - 3 * HOUR
  // A busy afternoon: overlaps, an action that held, one that did not, a late resolve, an older event.
  const DAY_EVENTS: SloEventRecord[] = [
    firing('a', S),
    firing('b', S + 5 * MIN),
    acted('a', S, 'succeeded', S + 8 * MIN),
    acted('b', S + 5 * MIN, 'failed', S + 9 * MIN),
    resolved('a', S, S + 20 * MIN),
    acted('b', S + 5 * MIN, 'not_effective', S + 30 * MIN),
    firing('c', S + HOUR),
    resolved('b', S + 5 * MIN, S + 40 * MIN, S + HOUR + MIN),
    acted('c', S + HOUR, 'dry_run', S + HOUR + 2 * MIN),
    firing('d', S - HOUR, S + HOUR + 3 * MIN),
    resolved('d', S - HOUR, S - 50 * MIN, S + HOUR + 4 * MIN),
    firing('c', S + HOUR, T),
  ]

  it('works the afternoon out by hand', () => {
    const b = replay(DAY_EVENTS)
    expect(b).toMatchObject({
      asOf: T,
      // d 10 min, a∪b 40 min, c open for 2 h.
      intervals: [
        { start: S - HOUR, end: S - 50 * MIN },
        { start: S, end: S + 40 * MIN },
      ],
      open: { [ep('c', S + HOUR)]: S + HOUR },
      badMs: 10 * MIN + 40 * MIN + 2 * HOUR,
      remediations: { succeeded: 1, failed: 1, not_effective: 1, dry_run: 1 },
      automated: 2,
      notEffective: 1,
      actedAt: {},
      resolvedAfterActionCount: 1,
      resolvedAfterActionMs: 12 * MIN,
      state: 'page',
    })
  })

  it('replaying the same events gives identical budgets, step by step', () => {
    expect(steps(DAY_EVENTS)).toEqual(steps(DAY_EVENTS))
  })

  it('a replay resumed from a stored budget (Avro round trip) ends the same', () => {
    const whole = replay(DAY_EVENTS)
    for (const cut of [1, 4, 7, 11]) {
      const stored = SLO_BUDGET.fromBuffer(SLO_BUDGET.toBuffer(replay(DAY_EVENTS.slice(0, cut)))) as SloBudgetRecord
      expect(replay(DAY_EVENTS.slice(cut), AVAIL, stored)).toEqual(whole)
    }
  })

  it('never mutates the previous budget, the event or the definition', () => {
    const all = steps(DAY_EVENTS)
    for (let i = 1; i < DAY_EVENTS.length; i += 1) {
      const previous = deepFreeze(structuredClone(all[i - 1]!))
      const e = deepFreeze({ ...DAY_EVENTS[i]! })
      const before = JSON.stringify([previous, e, AVAIL])
      expect(account(previous, e, AVAIL)).toEqual(all[i])
      expect(JSON.stringify([previous, e, AVAIL])).toBe(before)
    }
  })

  it('returns a new budget that shares no mutable part with the previous one', () => {
    const previous = replay(DAY_EVENTS.slice(0, 4))
    const next = account(previous, DAY_EVENTS[4]!, AVAIL)
    expect(next).not.toBe(previous)
    for (const key of ['open', 'intervals', 'remediations', 'actedAt', 'burnRates', 'recent'] as const)
      expect(next[key]).not.toBe(previous[key])
  })
})

describe('index then account, as the stage does', () => {
  it('one alert on two SLOs charges both; an outcome of the service counts in both', () => {
    const budgets = new Map<string, SloBudgetRecord>()
    const fold = (emits: Emit[]) => {
      for (const emit of emits) {
        const e = emit.value as SloEventRecord
        expectValid(SLO_EVENT, e)
        budgets.set(emit.key!, account(budgets.get(emit.key!), e, slo(e.slo)))
      }
    }
    const labels = { alertname: 'HighLatency', service: 'checkout', slo: 'checkout-availability' }
    const start = iso(T - 30 * MIN)
    fold(
      indexAlert(alertRecord({ fingerprint: 'fp-1', labels, startsAt: start, receivedAt: T - 30 * MIN }), SLOS, TOPIC)
        .emits,
    )
    fold(
      indexOutcome(
        outcomeFor(
          {
            idempotencyKey: 'k',
            action: 'restart',
            route: 'fix',
            dryRun: false,
            alert: enrichedAlertRecord({ alert: { fingerprint: 'fp-1', startsAt: start, labels } }),
          },
          { status: 'succeeded', finishedAt: T - 20 * MIN, detail: null },
        ),
        SLOS,
        TOPIC,
      ).emits,
    )
    fold(
      indexAlert(
        alertRecord({
          fingerprint: 'fp-1',
          labels,
          status: 'resolved',
          startsAt: start,
          endsAt: iso(T - 10 * MIN),
          receivedAt: T,
        }),
        SLOS,
        TOPIC,
      ).emits,
    )

    expect([...budgets.keys()].sort()).toEqual(['checkout-availability', 'checkout-latency'])
    expect(budgets.get('checkout-availability')).toMatchObject({
      asOf: T,
      badMs: 20 * MIN,
      allowedBadMs: 2_592_000,
      automated: 1,
      resolvedAfterActionCount: 1,
      resolvedAfterActionMs: 10 * MIN,
      open: {},
      actedAt: {},
    })
    expect(budgets.get('checkout-latency')).toMatchObject({
      asOf: T,
      badMs: 20 * MIN,
      allowedBadMs: 25_920_000,
      automated: 1,
      resolvedAfterActionCount: 1,
      resolvedAfterActionMs: 10 * MIN,
    })
    for (const b of budgets.values()) expectValid(SLO_BUDGET, b)
  })
})
