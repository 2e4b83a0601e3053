import { pauseKey } from '../../src/actions/worker/control'
import {
  decodeHistoryRecord,
  describeHistoryEntry,
  historyRecord,
  liftedEvent,
  pauseHistory,
  pausedEvent,
  type HistoryEvent,
  type RanEvent,
} from '../../src/actions/worker/history'
import { newPause, type Pause, type PauseScope } from '../../src/actions/worker/pause'
import { parseMatchers } from '../../src/matchers'

const TOPIC = 'test.nightshift.control-history'
const M = 60_000
const H = 60 * M
const T0 = Date.parse('2026-01-05T10:00:00.000Z')

const pause = (scope: PauseScope, at: number, forMs: number, by = 'alice', matchers = ''): Pause =>
  newPause({
    id: pauseKey(scope, parseMatchers(matchers)),
    scope,
    matchers: parseMatchers(matchers),
    reason: 'deploy freeze',
    forMs,
    now: at,
    createdBy: by,
  })

const ran = (p: Pause, at: number): RanEvent => ({
  event: 'ran',
  at,
  by: 'bob',
  reason: 'cleanup was skipped',
  action: 'webhook',
  fingerprint: 'f1',
  idempotencyKey: 'k#run',
  skipped: 'k',
  pause: p.id,
})

/** Through the record and back, as `pauses --all` reads it. */
const roundTrip = (events: HistoryEvent[]): HistoryEvent[] =>
  events.map((e) => {
    const decoded = decodeHistoryRecord(historyRecord(e, TOPIC))
    if (!decoded.ok) throw new Error(decoded.reason)
    return decoded.event
  })

describe('pauseHistory', () => {
  const team = pause({ team: 'search' }, T0, 2 * H)
  const later = pause({ team: 'search' }, T0 + 3 * H, H, 'carol')

  it.each<[string, HistoryEvent[], Pause[], number, string[]]>([
    ['nothing', [], [], T0, []],
    ['in force', [pausedEvent(team)], [team], T0 + H, ['in force, 1h left']],
    [
      'lifted early, with who and why',
      [pausedEvent(team), liftedEvent(team, T0 + H + 30 * M + 22_000, 'bob', 'fixed')],
      [],
      T0 + 4 * H,
      ['lifted by bob at 2026-01-05T11:30:22.000Z, 29m38s before its end: fixed'],
    ],
    ['ran out, never lifted', [pausedEvent(team)], [team], T0 + 4 * H, ['ended at 2026-01-05T12:00:00.000Z']],
    [
      'lifted after it had ended',
      [pausedEvent(team), liftedEvent(team, T0 + 3 * H, 'bob', null)],
      [],
      T0 + 4 * H,
      ['lifted by bob at 2026-01-05T13:00:00.000Z, after it had ended at 2026-01-05T12:00:00.000Z'],
    ],
    [
      'replaced by a new pause on the same scope while in force',
      [pausedEvent(team), pausedEvent(pause({ team: 'search' }, T0 + H, H, 'carol'))],
      [],
      T0 + H + 1,
      ['replaced at 2026-01-05T11:00:00.000Z by a new pause on the same scope (by carol)', 'in force'],
    ],
    [
      'a pause after an ended one is its own entry',
      [pausedEvent(team), pausedEvent(later)],
      [later],
      T0 + 3 * H + 1,
      ['ended at 2026-01-05T12:00:00.000Z', 'in force'],
    ],
    ['set before the history existed: known from the control topic', [], [team], T0 + H, ['in force, 1h left']],
    [
      'set before the history existed, lifted since',
      [liftedEvent(team, T0 + H, 'bob', 'done')],
      [],
      T0 + 2 * H,
      ['lifted by bob'],
    ],
    [
      'events in any order',
      [liftedEvent(team, T0 + H, 'bob', 'done'), pausedEvent(team)],
      [],
      T0 + 2 * H,
      ['lifted by bob'],
    ],
    [
      'a run by hand after the lift',
      [pausedEvent(team), liftedEvent(team, T0 + H, 'bob', 'done'), ran(team, T0 + H + M)],
      [],
      T0 + 2 * H,
      [
        'lifted by bob at 2026-01-05T11:00:00.000Z, 1h before its end: done\n  run by hand: webhook for f1 by bob at 2026-01-05T11:01:00.000Z: cleanup was skipped (key k#run)',
      ],
    ],
  ])('%s', (_name, events, current, now, expected) => {
    const entries = pauseHistory(roundTrip(events), current, now)
    const lines = entries.map((e) => describeHistoryEntry(e, now).join('\n'))
    expect(lines).toHaveLength(expected.length)
    expected.forEach((text, i) => expect(lines[i]).toContain(text))
  })

  it('prints who set a pause, when, for how long, and its matchers', () => {
    const p = pause({ team: 'search' }, T0, 2 * H, 'alice', 'alertname="DiskFull"')
    const [entry] = pauseHistory(roundTrip([pausedEvent(p)]), [], T0)
    expect(describeHistoryEntry(entry!, T0)).toEqual([
      'team=search {alertname="DiskFull"}: deploy freeze',
      '  paused by alice at 2026-01-05T10:00:00.000Z for 2h (until 2026-01-05T12:00:00.000Z)',
      '  in force, 2h left',
    ])
  })
})

describe('decodeHistoryRecord', () => {
  it.each<[string, string | null, RegExp]>([
    ['no value', null, /no value/],
    ['not JSON', '{', /not JSON/],
    ['no time', '{"event":"paused"}', /with a time/],
    ['an unknown event', '{"event":"archived","at":1}', /unknown event "archived"/],
    ['a bad pause', '{"event":"paused","at":1,"pause":{"id":"x"}}', /^pause: /],
    ['a run without who', '{"event":"ran","at":1,"reason":"r"}', /ran: /],
    ['an answer without its decision', '{"event":"answered","at":1,"answer":{"id":"0123456789ab"}}', /^answered: /],
    ['an answered event without an answer', '{"event":"answered","at":1}', /^answered: /],
  ])('refuses %s', (_name, value, reason) => {
    const decoded = decodeHistoryRecord({ value: value === null ? null : Buffer.from(value) })
    expect(decoded.ok ? 'ok' : decoded.reason).toMatch(reason)
  })

  it('keys a pause event by the pause id, a run without a pause by fingerprint', () => {
    const p = pause({ team: 'search' }, T0, H)
    expect(historyRecord(pausedEvent(p), TOPIC)).toMatchObject({ key: 'pause/team=search', timestamp: String(T0) })
    expect(historyRecord({ ...ran(p, T0), pause: null }, TOPIC).key).toBe('run/f1')
  })

  it('keeps an approval answer, keyed like the answer, and pauseHistory passes it by', () => {
    const answered: HistoryEvent = {
      event: 'answered',
      at: T0,
      answer: {
        id: '0123456789ab',
        decision: 'deny',
        by: 'bob',
        reason: 'not now',
        at: T0,
        via: 'slack',
        from: 'slack:acme/ops',
      },
    }
    expect(historyRecord(answered, TOPIC).key).toBe('approval/0123456789ab')
    expect(roundTrip([answered])).toEqual([answered])
    const p = pause({ team: 'search' }, T0, H)
    expect(pauseHistory([pausedEvent(p), answered], [], T0 + M).map((e) => e.pause.id)).toEqual([p.id])
  })
})
