import pino, { type Logger, type LoggerOptions } from 'pino'

export type { Logger }

export interface LoggerSettings {
  level?: string
  /** Human-readable output (pino-pretty), for people at a terminal; JSON otherwise. */
  pretty?: boolean
  /**
   * Where log lines go. Commands that print a result on stdout (topology apply, tail,
   * reports) log to stderr, so the two never interleave.
   */
  destination?: 'stdout' | 'stderr'
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
  if (settings.pretty) {
    return pino({
      ...options,
      transport: {
        target: 'pino-pretty',
        options: { ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l', destination: fd },
      },
    })
  }
  return pino(options, pino.destination({ fd, sync: fd === 2 }))
}
