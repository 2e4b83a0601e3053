import { ConfigError } from '../errors'

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

/**
 * Parses a Prometheus-style duration (`90s`, `5m`, `1h30m`, `2d`, `250ms`) into
 * milliseconds. `what` names the setting in the error.
 */
export function parseDuration(text: string, what: string): number {
  const trimmed = text.trim()
  const parts = [...trimmed.matchAll(/(\d+)(ms|s|m|h|d|w)/g)]
  if (trimmed === '' || parts.map((p) => p[0]).join('') !== trimmed) {
    throw new ConfigError(`${what} must be a duration like 90s, 5m, 1h30m or 2d, got "${text}"`)
  }
  const ms = parts.reduce((sum, [, n, unit]) => sum + Number(n) * UNITS[unit!]!, 0)
  if (ms <= 0) throw new ConfigError(`${what} must be longer than zero, got "${text}"`)
  return ms
}

/**
 * A duration in its two largest units (`2d3h`, `1h23m`, `4m5s`, `45s`), partial seconds
 * rounded up so a pause with 300ms left does not read "0s". Lower units are truncated.
 * The output parses with parseDuration.
 */
export function formatDurationShort(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000))
  const units: Array<[string, number]> = [
    ['d', Math.floor(total / 86_400)],
    ['h', Math.floor(total / 3_600) % 24],
    ['m', Math.floor(total / 60) % 60],
    ['s', total % 60],
  ]
  const first = units.findIndex(([, n]) => n > 0)
  if (first === -1) return '0s'
  return units
    .slice(first, first + 2)
    .filter(([, n]) => n > 0)
    .map(([unit, n]) => `${n}${unit}`)
    .join('')
}
