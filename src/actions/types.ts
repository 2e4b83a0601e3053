import type { ActionRequestRecord } from '../contracts/records'

/**
 * What a handler reports for one attempt. `ok` false with `retriable` true lets the
 * worker retry with backoff; `retriable` false makes the failure final at once (a bad
 * parameter, a 4xx): retrying cannot help.
 */
export interface HandlerResult {
  ok: boolean
  retriable: boolean
  /** One sentence for the outcome's `detail` (never a secret). */
  detail: string
  /** Facts for the outcome's `output` map: exit code, HTTP status, truncated output, artifact path. */
  output: Record<string, string>
}

/** What a handler is given besides the request. */
export interface HandlerContext {
  /** Aborted when the attempt's timeout passes or the worker stops: stop the work. */
  signal: AbortSignal
  /** The attempt's time limit, for handlers that pass it on (a child's kill timer). */
  timeoutMs: number
  /** Folder where handlers store artifacts (thread dumps); created by the worker. */
  artifactsDir: string
  /** Environment to read secrets from (never logged, never in outputs). */
  env: Readonly<Record<string, string | undefined>>
}

/**
 * A built-in action (webhook, exec, log-level, thread-dump, page). The worker owns
 * idempotency, retries, timeouts, concurrency, circuit breaking, pauses and dry-run;
 * a handler only performs one attempt.
 */
export interface ActionHandler {
  readonly name: string
  run(request: ActionRequestRecord, context: HandlerContext): Promise<HandlerResult>
}
