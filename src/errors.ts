/**
 * The one error family of Nightshift. Every error carries a stable `code` from
 * {@link ERROR_CODES}, whether retrying can help (`retriable`), and the `cause`.
 * How an error is handled is decided by its class, in one place (the runner or the CLI):
 * - {@link ConfigError}: stop at start, name the file or setting that is wrong;
 * - {@link RetriableError}: back off and try again;
 * - {@link PoisonRecordError}: the record goes to the DLQ, the stage goes on.
 */

/** Every code Nightshift errors may carry; a unit test checks they are unique. */
export const ERROR_CODES = {
  CONFIG: 'NS_CONFIG',
  STACK: 'NS_STACK',
  STACK_PORT_IN_USE: 'NS_STACK_PORT_IN_USE',
  STACK_FETCH: 'NS_STACK_FETCH',
  STACK_NOT_READY: 'NS_STACK_NOT_READY',
  KAFKA: 'NS_KAFKA',
  KAFKA_UNAVAILABLE: 'NS_KAFKA_UNAVAILABLE',
  REGISTRY: 'NS_REGISTRY',
  REGISTRY_UNAVAILABLE: 'NS_REGISTRY_UNAVAILABLE',
  SCHEMA_INCOMPATIBLE: 'NS_SCHEMA_INCOMPATIBLE',
  SCHEMA_INVALID: 'NS_SCHEMA_INVALID',
  POISON_RECORD: 'NS_POISON_RECORD',
  /** A webhook body that is not a valid Alertmanager payload: the client's to fix. */
  BAD_PAYLOAD: 'NS_BAD_PAYLOAD',
  METHOD_NOT_ALLOWED: 'NS_METHOD_NOT_ALLOWED',
  UNAUTHORIZED: 'NS_UNAUTHORIZED',
  FORBIDDEN: 'NS_FORBIDDEN',
  TOO_MANY_REQUESTS: 'NS_TOO_MANY_REQUESTS',
  PAYLOAD_TOO_LARGE: 'NS_PAYLOAD_TOO_LARGE',
  BAD_REQUEST: 'NS_BAD_REQUEST',
  NOT_FOUND: 'NS_NOT_FOUND',
  INTERNAL: 'NS_INTERNAL',
  DEMO: 'NS_DEMO',
} as const

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES]

export interface NightshiftErrorOptions {
  retriable?: boolean
  cause?: unknown
}

/** Base class: never thrown bare by callers that can pick a subclass. */
export class NightshiftError extends Error {
  readonly code: ErrorCode
  readonly retriable: boolean

  constructor(code: ErrorCode, message: string, options: NightshiftErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.retriable = options.retriable ?? false
  }
}

/** Wrong configuration or environment: retrying cannot help; stop and say what to fix. */
export class ConfigError extends NightshiftError {
  constructor(message: string, options: { code?: ErrorCode; cause?: unknown } = {}) {
    super(options.code ?? ERROR_CODES.CONFIG, message, { retriable: false, cause: options.cause })
  }
}

/** A dependency is briefly unavailable (broker, registry): back off and try again. */
export class RetriableError extends NightshiftError {
  constructor(code: ErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { retriable: true, cause: options.cause })
  }
}

/** The local stack could not be fetched, started or reached. */
export class StackError extends NightshiftError {
  constructor(code: ErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { retriable: false, cause: options.cause })
  }
}

/** A schema change the registry refused under the subject's compatibility rule. */
export class SchemaIncompatibleError extends ConfigError {
  readonly subject: string
  readonly schemaName: string
  readonly reason: string

  constructor(schemaName: string, subject: string, reason: string, cause?: unknown) {
    super(`schema ${schemaName} is incompatible with subject ${subject}: ${reason}`, {
      code: ERROR_CODES.SCHEMA_INCOMPATIBLE,
      cause,
    })
    this.subject = subject
    this.schemaName = schemaName
    this.reason = reason
  }
}

/**
 * A record that can never be processed (undecodable, invalid): DLQ it and go on. The
 * webhook's refusals carry {@link ERROR_CODES.BAD_PAYLOAD}, a code that tells the client
 * its body is at fault.
 */
export class PoisonRecordError extends NightshiftError {
  constructor(message: string, options: { cause?: unknown; code?: ErrorCode } = {}) {
    super(options.code ?? ERROR_CODES.POISON_RECORD, message, { retriable: false, cause: options.cause })
  }
}

/** A short, single-line description of any thrown value, for logs and error headers. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}

/**
 * Whether trying again can help: kafkajs errors carry `retriable`, and so do ours.
 * Programmer errors (TypeError, RangeError) never are.
 */
export function isRetriable(err: unknown): boolean {
  if (err instanceof TypeError || err instanceof RangeError) return false
  return typeof err === 'object' && err !== null && (err as { retriable?: unknown }).retriable === true
}

/** The code a metric or a log line names an error by: ours, else the error's class name. */
export function errorCode(err: unknown): string {
  return err instanceof NightshiftError ? err.code : err instanceof Error ? err.name : 'unknown'
}
