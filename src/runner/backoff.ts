/** Exponential backoff with full jitter, capped. */
export interface BackoffSettings {
  initialMs: number
  maxMs: number
  /** Attempts of one batch before the runner gives up and restarts the consumer. */
  maxAttempts: number
}

export const DEFAULT_BACKOFF: BackoffSettings = { initialMs: 200, maxMs: 10000, maxAttempts: 8 }

/**
 * Delay before retry number `attempt` (1-based): a random point in
 * [0, min(maxMs, initialMs·2^(attempt-1))]. `random` is injected so tests are exact.
 */
export function backoffDelay(attempt: number, settings: BackoffSettings, random: number): number {
  const ceiling = Math.min(settings.maxMs, settings.initialMs * 2 ** Math.max(0, attempt - 1))
  return Math.floor(ceiling * Math.min(Math.max(random, 0), 1))
}
