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
