import { ConfigError } from '../../src/errors'
import { parseReplayTime, parseReplayWindow, replayPrefix } from '../../src/replay/window'

const NOW = Date.parse('2026-05-08T12:00:00.000Z')

describe('parseReplayTime', () => {
  it.each<[string, string]>([
    ['2026-05-01T00:00:00Z', '2026-05-01T00:00:00.000Z'],
    ['2026-05-01T02:00:00+02:00', '2026-05-01T00:00:00.000Z'],
    ['2026-05-01t00:00:00.123456789z', '2026-05-01T00:00:00.123Z'],
    ['7d', '2026-05-01T12:00:00.000Z'],
    ['2h', '2026-05-08T10:00:00.000Z'],
    ['1h30m', '2026-05-08T10:30:00.000Z'],
    [' 90s ', '2026-05-08T11:58:30.000Z'],
  ])('%s', (text, iso) => {
    expect(new Date(parseReplayTime(text, '--from', NOW)).toISOString()).toBe(iso)
  })

  it.each(['yesterday', '2026-05-01', '2026-13-01T00:00:00Z', '7', '-2h', '0s', '2026-05-01 00:00:00Z', ''])(
    'rejects %p with a ConfigError naming the option',
    (text) => {
      expect(() => parseReplayTime(text, '--from', NOW)).toThrow(ConfigError)
      expect(() => parseReplayTime(text, '--from', NOW)).toThrow(
        /^--from must be an RFC 3339 time .* or a duration ago .*; got "/,
      )
    },
  )
})

describe('parseReplayWindow', () => {
  it('defaults --to to now', () => {
    expect(parseReplayWindow('1h', undefined, NOW)).toEqual({ from: NOW - 3_600_000, to: NOW })
  })

  it('takes both bounds', () => {
    expect(parseReplayWindow('2026-05-01T00:00:00Z', '2026-05-02T00:00:00Z', NOW)).toEqual({
      from: Date.parse('2026-05-01T00:00:00Z'),
      to: Date.parse('2026-05-02T00:00:00Z'),
    })
  })

  it.each<[string, string | undefined, RegExp]>([
    ['2026-05-09T00:00:00Z', undefined, /^--from 2026-05-09T00:00:00.000Z is not in the past/],
    ['1h', '2h', /^--from .* must be before --to /],
    ['2026-05-01T00:00:00Z', '2026-05-01T00:00:00Z', /must be before --to/],
    ['1h', 'soon', /^--to must be an RFC 3339 time/],
  ])('rejects --from %s --to %s', (from, to, message) => {
    expect(() => parseReplayWindow(from, to, NOW)).toThrow(message)
  })
})

describe('replayPrefix', () => {
  it('is <prefix>replay-<UTC yyyymmddhhmmss>-<random>.', () => {
    expect(replayPrefix('', Date.parse('2026-05-08T09:03:07.999Z'), 'a1b2c3')).toBe('replay-20260508090307-a1b2c3.')
    expect(replayPrefix('test.x.', Date.parse('2026-05-08T09:03:07Z'), 'ff')).toBe('test.x.replay-20260508090307-ff.')
  })
})
