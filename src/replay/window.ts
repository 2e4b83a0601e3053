/**
 * The replay's time window and its throwaway namespace. Pure: the clock and the random
 * part come in as arguments.
 */
import { parseDuration } from '../config/duration'
import { ConfigError } from '../errors'
import { isRfc3339 } from '../ingest/rfc3339'

/** A window of record time, ms since the epoch: [from, to). */
export interface ReplayWindow {
  from: number
  to: number
}

/**
 * A replay bound as given on the command line: an RFC 3339 date-time
 * (`2026-05-01T00:00:00Z`, any offset) or a duration before `now` (`7d`, `2h`, `1h30m`).
 * @throws ConfigError naming `what` (the option) and the text.
 */
export function parseReplayTime(text: string, what: string, now: number): number {
  const trimmed = text.trim()
  if (isRfc3339(trimmed)) return Date.parse(trimmed)
  if (/^\d+(ms|s|m|h|d|w)/.test(trimmed)) {
    try {
      return now - parseDuration(trimmed, what)
    } catch {
      // Reported below with both accepted forms.
    }
  }
  throw new ConfigError(
    `${what} must be an RFC 3339 time such as 2026-05-01T00:00:00Z, or a duration ago such as 7d, 2h or 1h30m; got "${text}"`,
  )
}

/**
 * The window of `--from` and `--to` (default: now).
 * @throws ConfigError when a bound does not parse, the window is empty or starts in the future.
 */
export function parseReplayWindow(from: string, to: string | undefined, now: number): ReplayWindow {
  const start = parseReplayTime(from, '--from', now)
  const end = to === undefined ? now : parseReplayTime(to, '--to', now)
  if (start >= now)
    throw new ConfigError(
      `--from ${new Date(start).toISOString()} is not in the past (now is ${new Date(now).toISOString()})`,
    )
  if (start >= end)
    throw new ConfigError(`--from ${new Date(start).toISOString()} must be before --to ${new Date(end).toISOString()}`)
  return { from: start, to: end }
}

/**
 * The topic and group prefix of one replay: `<prefix>replay-<yyyymmddhhmmss>-<random>.`
 * (UTC), so replays of one run sort by time and never share a topic. `random` should be
 * a few lowercase hex or alphanumeric characters.
 */
export function replayPrefix(prefix: string, now: number, random: string): string {
  const stamp = new Date(now).toISOString().replace(/\D/g, '').slice(0, 14)
  return `${prefix}replay-${stamp}-${random}.`
}
