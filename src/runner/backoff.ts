import type { BackoffSettings, RetryLimits } from '../retry'

/** How the runner retries a batch or a commit that failed with a retriable error. */
export interface BatchRetrySettings extends BackoffSettings, Required<Pick<RetryLimits, 'maxAttempts'>> {}

/** Attempts of one batch before the runner gives up and kafkajs restarts the consumer. */
export const DEFAULT_BACKOFF: BatchRetrySettings = { initialMs: 200, maxMs: 10000, maxAttempts: 8 }
