import { setTimeout as delay } from 'node:timers/promises'
import { isRetriable } from './errors'

/**
 * The one retry helper of Nightshift: every loop that tries something again (a batch, a
 * commit, a handler, a connection) goes through {@link retry}, as kafkajs' callers go
 * through its `retry/` module.
 */

/** Exponential backoff with full jitter, capped. */
export interface BackoffSettings {
  /** Ceiling of the first delay. */
  initialMs: number
  /** Ceiling of any delay. */
  maxMs: number
}

/** How long to keep trying; with neither bound, until it succeeds or the signal aborts. */
export interface RetryLimits {
  /** Attempts in all, the first included (default: no cap). */
  maxAttempts?: number
  /** No delay is started that would end later than this many ms after the first attempt. */
  deadlineMs?: number
}

/** The clock a retry sleeps on; tests pass a fake one. */
export interface RetryClock {
  now(): number
  /** Waits `ms`; rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

/** What {@link RetryOptions.onRetry} is told before each delay. */
export interface RetryEvent<T> {
  /** The attempt that just failed (1-based). */
  attempt: number
  /** The delay about to be waited. */
  delayMs: number
  /** Present when the attempt threw. */
  err?: unknown
  /** Present when the attempt answered a value that {@link RetryOptions.retryValue} refused. */
  value?: T
}

export interface RetryOptions<T> extends BackoffSettings, RetryLimits {
  /** Whether a thrown error is worth another attempt (default: {@link isRetriable}). */
  retriable?: (err: unknown, attempt: number) => boolean
  /**
   * Whether an answered value is worth another attempt, for operations that report
   * failure as a result (an action handler). After the last attempt it is returned as is.
   */
  retryValue?: (value: T, attempt: number) => boolean
  /** Stops retrying: the last outcome is settled at once (a value returned, an error thrown). */
  signal?: AbortSignal
  /** Called before each delay: the place for the log line, a metric or a heartbeat. */
  onRetry?: (event: RetryEvent<T>) => void | Promise<void>
  /** In [0, 1); injected so tests are exact (default Math.random). */
  random?: () => number
  clock?: RetryClock
}

/** The real clock: `node:timers/promises` under an AbortSignal. */
export const systemClock: RetryClock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    await delay(ms, undefined, signal === undefined ? undefined : { signal })
  },
}

/**
 * Delay before retry number `attempt` (1-based): a random point in
 * [0, min(maxMs, initialMs·2^(attempt-1))]. `random` is in [0, 1].
 */
export function backoffDelay(attempt: number, settings: BackoffSettings, random: number): number {
  const ceiling = Math.min(settings.maxMs, settings.initialMs * 2 ** Math.max(0, attempt - 1))
  return Math.floor(ceiling * Math.min(Math.max(random, 0), 1))
}

/**
 * Runs `operation` until it answers a value `retryValue` accepts, throws an error
 * `retriable` refuses, or the attempts, the deadline or the signal run out; then settles
 * with the last attempt's outcome. An abort during a delay ends the delay at once.
 */
export async function retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions<T>): Promise<T> {
  const clock = options.clock ?? systemClock
  const random = options.random ?? Math.random
  const retriable = options.retriable ?? ((err: unknown) => isRetriable(err))
  const maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY
  const { signal } = options
  const began = clock.now()
  if (signal?.aborted) throw signal.reason
  for (let attempt = 1; ; attempt += 1) {
    let outcome: { value: T } | { err: unknown }
    try {
      const value = await operation(attempt)
      if (!options.retryValue?.(value, attempt)) return value
      outcome = { value }
    } catch (err) {
      if (!retriable(err, attempt)) throw err
      outcome = { err }
    }
    const settle = (): T => {
      if ('err' in outcome) throw outcome.err
      return outcome.value
    }
    if (attempt >= maxAttempts || signal?.aborted) return settle()
    const delayMs = backoffDelay(attempt, options, random())
    if (options.deadlineMs !== undefined && clock.now() + delayMs - began > options.deadlineMs) return settle()
    await options.onRetry?.({ attempt, delayMs, ...outcome })
    try {
      await clock.sleep(delayMs, signal)
    } catch (err) {
      if (signal?.aborted) return settle()
      throw err
    }
  }
}

/**
 * A pause that `signal` cuts short (resolving, not rejecting): for loops that poll or
 * wait between rounds and must stop promptly on shutdown.
 */
export async function pause(ms: number, signal?: AbortSignal, clock: RetryClock = systemClock): Promise<void> {
  try {
    await clock.sleep(ms, signal)
  } catch (err) {
    if (!signal?.aborted) throw err
  }
}

/** How {@link poll} asks. */
export interface PollOptions {
  intervalMs: number
  /** Gives up (answering false) once this much time has passed. */
  timeoutMs: number
  /** Gives up (answering false) at once. */
  signal?: AbortSignal
  clock?: RetryClock
}

/**
 * Asks `check` every `intervalMs` until it answers true (→ true), or the time runs out or
 * the signal aborts (→ false). A throw from `check` ends the wait with that error: a
 * check that sees the wait cannot succeed (a process that died) says so by throwing.
 */
export async function poll(check: () => boolean | Promise<boolean>, options: PollOptions): Promise<boolean> {
  const clock = options.clock ?? systemClock
  const deadline = clock.now() + options.timeoutMs
  for (;;) {
    if (options.signal?.aborted) return false
    if (await check()) return true
    const left = deadline - clock.now()
    if (left <= 0) return false
    await pause(Math.min(options.intervalMs, left), options.signal, clock)
  }
}
