import type { ActionRequestRecord } from '../../contracts/records'

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
  /** Path of a file the attempt stored under the artifacts folder (a thread dump), for the outcome. */
  artifact?: string
  /**
   * A step the worker must run later to undo this one (log-level: put the old level
   * back). The worker stores it durably in the action ledger and calls the handler's
   * `revert` with `params` once `afterMs` has passed, also after a restart.
   */
  revert?: RevertPlan
}

/** An undo step scheduled by a successful attempt. */
export interface RevertPlan {
  /** Delay from the attempt's success. */
  afterMs: number
  /** Everything `revert` needs (plain strings: it is stored in the ledger); never a secret. */
  params: Record<string, string>
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
 * A built-in or custom action (webhook, exec, log-level, thread-dump, page). The worker
 * owns idempotency, retries, timeouts, concurrency, circuit breaking, pauses and dry-run;
 * a handler only performs one attempt.
 */
export interface ActionHandler {
  readonly name: string
  /**
   * What `run` would do for this request, in one line, for dry-run outcomes: e.g.
   * `POST http://checkout:8081/actuator/loggers/ROOT {"configuredLevel":"DEBUG"}`.
   * No I/O; secrets shown as `${env:NAME}`, never their values.
   */
  describe(request: ActionRequestRecord): string
  run(request: ActionRequestRecord, context: HandlerContext): Promise<HandlerResult>
  /** Runs a {@link RevertPlan}'s step (only handlers whose results carry one). */
  revert?(params: Record<string, string>, context: HandlerContext): Promise<HandlerResult>
}

/** What builds the handler of a built-in action from its `config` in topology/actions.yaml. */
export type HandlerFactory = (config: unknown) => ActionHandler
