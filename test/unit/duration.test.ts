import { parseDuration } from '../../src/config/duration'
import { ConfigError } from '../../src/errors'

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['48h', 172_800_000],
    ['2d', 172_800_000],
    ['1w', 604_800_000],
    [' 10s ', 10_000],
  ])('%j → %d ms', (text, ms) => {
    expect(parseDuration(text, 'x')).toBe(ms)
  })

  it.each([[''], ['10'], ['ten minutes'], ['5 m'], ['1h 30m'], ['-5m'], ['0s'], ['5y'], ['1.5h']])(
    'rejects %j naming the setting',
    (text) => {
      expect(() => parseDuration(text, '--dedup-ttl')).toThrow(ConfigError)
      expect(() => parseDuration(text, '--dedup-ttl')).toThrow(/--dedup-ttl must be/)
    },
  )
})
