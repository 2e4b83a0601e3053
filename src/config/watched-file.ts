import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { Counter, Gauge, type Registry } from 'prom-client'
import { ConfigError, describeError } from '../errors'
import type { Logger } from '../log'
import { displayName } from './yaml-file'

/** Metrics of every watched file; created once per process. */
export interface ConfigMetrics {
  reloads: Counter<'file' | 'result'>
  valid: Gauge<'file'>
  loadedAt: Gauge<'file'>
}

export function createConfigMetrics(registry: Registry): ConfigMetrics {
  const registers = [registry]
  return {
    reloads: new Counter({
      name: 'nightshift_config_reloads_total',
      help: 'Reloads of a watched config file, by result (ok, rejected).',
      labelNames: ['file', 'result'],
      registers,
    }),
    valid: new Gauge({
      name: 'nightshift_config_last_reload_ok',
      help: '1 when the last edit of the file was accepted, 0 when it was rejected (the last good version runs).',
      labelNames: ['file'],
      registers,
    }),
    loadedAt: new Gauge({
      name: 'nightshift_config_loaded_timestamp_seconds',
      help: 'When the running version of the file was loaded.',
      labelNames: ['file'],
      registers,
    }),
  }
}

/** A config file kept current: the last version that validated. */
export interface WatchedConfig<T> {
  current(): T
  /** Re-reads the file now; returns whether a new version was taken. */
  reload(): boolean
  close(): void
}

export interface WatchOptions<T> {
  file: string
  /** Parses and validates the text; throws a ConfigError naming the file and path. */
  parse(text: string, file: string): T
  logger: Logger
  metrics?: ConfigMetrics
  /**
   * How often the file is re-read and its content hash compared. Polling content, not
   * mtimes or inotify, survives editors that replace files by rename and edits within
   * one timestamp tick; the files are small.
   */
  intervalMs?: number
  /** Called with each newly accepted version. */
  onChange?(value: T): void
}

/**
 * Loads `file` now (a bad file is a ConfigError: the process must not start on it) and
 * then watches it. An edit that validates replaces the running version; one that does
 * not is rejected with its errors logged and counted, and the last good version keeps
 * running.
 */
export function watchConfig<T>(options: WatchOptions<T>): WatchedConfig<T> {
  const name = displayName(options.file)
  const log = options.logger.child({ module: 'config', file: name })
  let hash = ''
  let value: T

  const read = (): { text: string; digest: string } => {
    const text = fs.readFileSync(options.file, 'utf8')
    return { text, digest: createHash('sha256').update(text).digest('hex') }
  }

  try {
    const first = read()
    value = options.parse(first.text, options.file)
    hash = first.digest
  } catch (err) {
    if (err instanceof ConfigError) throw err
    throw new ConfigError(`${name}: cannot be read: ${describeError(err)}`, { cause: err })
  }
  options.metrics?.valid.set({ file: name }, 1)
  options.metrics?.loadedAt.set({ file: name }, Date.now() / 1000)

  const reload = (): boolean => {
    let next: { text: string; digest: string }
    try {
      next = read()
    } catch (err) {
      log.error({ err }, 'config file unreadable; keeping the last good version')
      options.metrics?.reloads.inc({ file: name, result: 'rejected' })
      options.metrics?.valid.set({ file: name }, 0)
      return false
    }
    if (next.digest === hash) return false
    try {
      value = options.parse(next.text, options.file)
    } catch (err) {
      hash = next.digest // report a bad version once, not at every poll
      log.error({ err }, 'config edit rejected; keeping the last good version')
      options.metrics?.reloads.inc({ file: name, result: 'rejected' })
      options.metrics?.valid.set({ file: name }, 0)
      return false
    }
    hash = next.digest
    log.info({}, 'config reloaded')
    options.metrics?.reloads.inc({ file: name, result: 'ok' })
    options.metrics?.valid.set({ file: name }, 1)
    options.metrics?.loadedAt.set({ file: name }, Date.now() / 1000)
    options.onChange?.(value)
    return true
  }

  const timer = setInterval(reload, options.intervalMs ?? 1000)
  timer.unref()
  return {
    current: () => value,
    reload,
    close: () => clearInterval(timer),
  }
}
