import tty from 'node:tty'
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino'
import { ConfigError } from './errors'

export type { Logger }

/** `json`: one pino object a line, for machines; `pretty`: a short line for people. */
export type LogFormat = 'json' | 'pretty'

export interface LoggerSettings {
  level?: string
  /**
   * Default: `LOG_FORMAT` (`json` | `pretty`), else `pretty` when the destination is a
   * terminal and `json` when it is a pipe or a file (production).
   */
  format?: LogFormat
  /**
   * Where log lines go. Commands that print a result on stdout (topology apply, tail,
   * reports) log to stderr, so the two never interleave.
   */
  destination?: 'stdout' | 'stderr'
  /** Written to instead of `destination` (tests keep each test's lines this way). */
  stream?: DestinationStream
  /** ANSI colours in pretty lines. Default: when writing to a terminal and `NO_COLOR` is unset. */
  colors?: boolean
}

/**
 * The process logger. Modules take a `child({ module })` of it; they never create
 * their own. Log a data object first and a fixed message second.
 */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
  }
  const fd = settings.destination === 'stderr' ? 2 : 1
  const terminal = settings.stream === undefined && tty.isatty(fd)
  const format = settings.format ?? formatFromEnv(process.env.LOG_FORMAT) ?? (terminal ? 'pretty' : 'json')
  if (format === 'pretty') {
    const colors = settings.colors ?? (terminal && !process.env.NO_COLOR)
    // Synchronous at a terminal: a person reads it, and nothing is lost on process.exit.
    return pino(options, prettyStream(settings.stream ?? pino.destination({ fd, sync: true }), { colors }))
  }
  return pino(options, settings.stream ?? pino.destination({ fd, sync: fd === 2 }))
}

function formatFromEnv(value: string | undefined): LogFormat | undefined {
  if (value === undefined || value === '') return undefined
  if (value === 'json' || value === 'pretty') return value
  throw new ConfigError(`LOG_FORMAT must be json or pretty, not ${JSON.stringify(value)}`)
}

/**
 * A pino destination that turns each JSON line into a {@link formatLogLine} line before
 * `target` gets it. `flush` is passed on, so `logger.flush(cb)` still means "written".
 */
export function prettyStream(target: DestinationStream, options: FormatOptions = {}): DestinationStream {
  const flushable = target as DestinationStream & { flush?: (cb?: (err?: Error) => void) => void }
  return {
    write(line: string) {
      target.write(formatLogLine(line, options))
    },
    flush(cb?: (err?: Error) => void) {
      if (typeof flushable.flush === 'function') flushable.flush(cb)
      else cb?.()
    },
  } as DestinationStream
}

export interface FormatOptions {
  colors?: boolean
}

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: 'TRACE', color: '90' },
  20: { name: 'DEBUG', color: '90' },
  30: { name: 'INFO', color: '32' },
  40: { name: 'WARN', color: '33' },
  50: { name: 'ERROR', color: '31' },
  60: { name: 'FATAL', color: '41;97' },
}

/** Keys shown in the line's fixed columns, or not at all (the pid is the same on every line). */
const FIXED = new Set(['level', 'time', 'pid', 'hostname', 'module', 'msg', 'err'])
/** A field value longer than this is cut: the line stays one line; LOG_FORMAT=json has it whole. */
const MAX_VALUE = 80

/**
 * One pino JSON line as `12:03:04.123 INFO  module  message  key=value …\n`. An `err`
 * (pino's serializer: type, message, stack with its causes) follows as its stack,
 * indented, so a terminal still shows where it came from. A line that is not JSON is
 * returned as it is.
 */
export function formatLogLine(line: string, options: FormatOptions = {}): string {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(line) as Record<string, unknown>
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`
  }
  if (entry === null || typeof entry !== 'object') return line.endsWith('\n') ? line : `${line}\n`
  const paint = (code: string, text: string) => (options.colors ? `\x1b[${code}m${text}\x1b[0m` : text)
  const level = LEVELS[Number(entry.level)] ?? { name: String(entry.level ?? '?'), color: '0' }
  const parts = [paint('2', clock(entry.time)), paint(level.color, level.name.padEnd(5))]
  if (typeof entry.module === 'string') parts.push(paint('36', entry.module))
  if (entry.msg !== undefined) parts.push(String(entry.msg))
  const fields: string[] = []
  for (const [key, value] of Object.entries(entry)) {
    if (FIXED.has(key) || value === undefined) continue
    fields.push(`${key}=${show(value)}`)
  }
  const err = entry.err
  let stack = ''
  if (err !== null && typeof err === 'object') {
    const e = err as Record<string, unknown>
    for (const [key, value] of Object.entries(e)) {
      if (['type', 'message', 'stack', 'name', 'aggregateErrors'].includes(key) || value === undefined) continue
      fields.push(`err.${key}=${show(value)}`)
    }
    const text = typeof e.stack === 'string' ? e.stack : `${String(e.type ?? 'Error')}: ${String(e.message ?? '')}`
    stack = `\n${indent(text, '  ')}`
    if (Array.isArray(e.aggregateErrors)) {
      for (const inner of e.aggregateErrors as Array<Record<string, unknown>>) {
        stack += `\n${indent(String(inner.stack ?? inner.message), '    ')}`
      }
    }
  } else if (err !== undefined) {
    fields.push(`err=${show(err)}`)
  }
  if (fields.length > 0) parts.push(paint('2', fields.join(' ')))
  return `${parts.join(' ')}${stack}\n`
}

function clock(time: unknown): string {
  const d = new Date(typeof time === 'number' || typeof time === 'string' ? time : Date.now())
  if (Number.isNaN(d.getTime())) return String(time)
  const two = (n: number) => String(n).padStart(2, '0')
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`
}

function show(value: unknown): string {
  const text = typeof value === 'string' && /^[\w.:/@+,-]+$/.test(value) ? value : JSON.stringify(value)
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text
}

/** Stack frames keep their own indent ("    at …") under the indented first line. */
function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((l) => by + l)
    .join('\n')
}
