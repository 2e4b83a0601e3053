/**
 * Running a handler call: each attempt under its own time limit, retried through the one
 * retry helper (src/retry.ts) with exponential backoff and jitter while the handler says
 * its failure is retriable. Used for requests and for reverts alike. Never rejects for a
 * handler's sake: a throw, a late answer or a refusal becomes a failed result.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { describeError } from '../../errors'
import { retry, type RetryEvent } from '../../retry'
import type { HandlerContext, HandlerResult } from '../handlers/types'

/** How long a handler that ignores its aborted signal is waited for after its time limit. */
export const TIMEOUT_GRACE_MS = 5000

/** One handler call: what the handler is given for one attempt. */
export type HandlerCall = (context: HandlerContext) => Promise<HandlerResult>

/** The result of one attempt, and whether its time limit passed. */
export interface Attempted {
  result: HandlerResult
  timedOut: boolean
}

/** The last attempt's result (with the first undo step planned), and how many attempts ran. */
export interface Attempts extends Attempted {
  attempts: number
}

/** An action's time limit and retry settings (ActionSettings of actions.yaml). */
export interface AttemptSettings {
  readonly timeoutMs: number
  readonly maxAttempts: number
  readonly backoff: { readonly initialMs: number; readonly maxMs: number }
}

export interface AttemptsOptions {
  settings: AttemptSettings
  /** What the handler is given besides its signal and time limit; asked before each attempt. */
  context: () => Omit<HandlerContext, 'signal' | 'timeoutMs'>
  /** Aborted when the worker stops: no further attempt starts, a backoff delay ends at once. */
  stopping: AbortSignal
  /** In [0, 1), for the jitter. */
  random: () => number
  /** After each attempt (its metric). */
  onAttempt?: (attempted: Attempted, attempt: number) => void
  /** Before each backoff delay (its log line). */
  onRetry?: (event: RetryEvent<Attempted>) => void
}

/**
 * Runs `call` until it succeeds, fails for good, runs out of attempts or the worker
 * stops. A call started while the worker is already stopping still gets its one attempt
 * (its `started` mark is committed: the request must end with an outcome), but no retry.
 */
export async function runAttempts(call: HandlerCall, options: AttemptsOptions): Promise<Attempts> {
  const { settings, stopping } = options
  let attempts = 0
  // The first undo step planned is the one that restores the state before any attempt.
  let revert: HandlerResult['revert']
  const last = await retry(
    async (attempt): Promise<Attempted> => {
      attempts = attempt
      const one = await attemptOnce(settings.timeoutMs, call, options.context())
      const result = revert ? { ...one.result, revert } : one.result
      revert = result.revert
      const attempted = { result, timedOut: one.timedOut }
      options.onAttempt?.(attempted, attempt)
      return attempted
    },
    {
      initialMs: settings.backoff.initialMs,
      maxMs: settings.backoff.maxMs,
      // retry() settles at once under an aborted signal, before the first attempt.
      ...(stopping.aborted ? { maxAttempts: 1 } : { maxAttempts: settings.maxAttempts, signal: stopping }),
      retryValue: ({ result }) => !result.ok && result.retriable,
      // Handler failures are values; a throw here is a bug of the worker's own.
      retriable: () => false,
      random: options.random,
      ...(options.onRetry ? { onRetry: options.onRetry } : {}),
    },
  )
  return { ...last, attempts }
}

/** One handler call with its own time limit; a throw or a late answer becomes a failed result. */
export async function attemptOnce(
  timeoutMs: number,
  call: HandlerCall,
  base: Omit<HandlerContext, 'signal' | 'timeoutMs'>,
): Promise<Attempted> {
  const controller = new AbortController()
  // Ends both timers once the attempt is over, whoever won the race.
  const over = new AbortController()
  let timedOut = false
  const late: HandlerResult = { ok: false, retriable: true, detail: `timed out after ${timeoutMs} ms`, output: {} }
  const deadline = sleep(timeoutMs, undefined, { signal: over.signal }).then(() => {
    timedOut = true
    controller.abort(new Error(`attempt timed out after ${timeoutMs} ms`))
    // A handler that ignores the signal is not waited for beyond a grace period.
    return sleep(TIMEOUT_GRACE_MS, late, { signal: over.signal, ref: false })
  })
  // Rejects (AbortError) once `over` aborts, also when the call threw before the race.
  deadline.catch(() => undefined)
  const context: HandlerContext = { ...base, signal: controller.signal, timeoutMs }
  try {
    const result = await Promise.race([
      call(context).catch((err: unknown): HandlerResult => ({
        ok: false,
        retriable: false,
        detail: `handler threw: ${describeError(err)}`,
        output: {},
      })),
      deadline,
    ])
    if (timedOut && !result.ok)
      return { result: { ...result, detail: `timed out after ${timeoutMs} ms: ${result.detail}` }, timedOut }
    return { result, timedOut: false }
  } finally {
    over.abort()
  }
}
