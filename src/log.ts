import pino, { type Logger, type LoggerOptions } from 'pino'

export type { Logger }

export interface LoggerSettings {
  level?: string
  /** Human-readable output (pino-pretty), for people at a terminal; JSON otherwise. */
  pretty?: boolean
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
  if (settings.pretty) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' } },
    })
  }
  return pino(options)
}
