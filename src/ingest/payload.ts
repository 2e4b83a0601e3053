import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv'
import { ConfigError, PoisonRecordError } from '../errors'
import { isRfc3339 } from './rfc3339'

/** One alert of an Alertmanager webhook notification (version 4), as validated. */
export interface WebhookAlert {
  status: 'firing' | 'resolved'
  labels: Record<string, string>
  annotations?: Record<string, string>
  startsAt: string
  endsAt?: string
  generatorURL?: string
  fingerprint?: string
}

/**
 * An Alertmanager webhook body (version 4), as validated. Alertmanager always sends
 * every field; only `version`, `status` and `alerts` are required so that other
 * senders of the format (amtool-like scripts, tests) are accepted, but every field is
 * type-checked when present. Unknown fields are allowed and ignored: Alertmanager may
 * add fields in later releases, and this is its format, not our config.
 */
export interface WebhookPayload {
  version: '4'
  status: 'firing' | 'resolved'
  receiver?: string
  groupKey?: string
  externalURL?: string
  truncatedAlerts?: number
  groupLabels?: Record<string, string>
  commonLabels?: Record<string, string>
  commonAnnotations?: Record<string, string>
  alerts: WebhookAlert[]
}

/** Bounds on hostile or broken input; a body beyond them is refused (400) with a clear message. */
export interface WebhookLimits {
  /** Alerts in one body. Alertmanager's `max_alerts` (0 = unlimited by default) may send more. */
  maxAlerts: number
  /** Labels of an alert (and of groupLabels / commonLabels). */
  maxLabels: number
  /** Annotations of an alert (and of commonAnnotations). */
  maxAnnotations: number
  /** Characters of a label or annotation name. */
  maxNameLength: number
  /**
   * Characters of any string value: label and annotation values, generatorURL,
   * receiver, groupKey, externalURL. The group fields are copied into every alert
   * record, so this also bounds how much a small body can amplify into Kafka.
   */
  maxValueLength: number
}

export const DEFAULT_WEBHOOK_LIMITS: Readonly<WebhookLimits> = Object.freeze({
  maxAlerts: 1000,
  maxLabels: 128,
  maxAnnotations: 128,
  maxNameLength: 1024,
  maxValueLength: 16 * 1024,
})

/**
 * A UTF-16 surrogate without its pair: only a JSON escape (`"\ud800"`) can put one in a
 * parsed string, as the raw body is strict UTF-8. In Unicode mode a well-formed pair is
 * one code point, so only unpaired halves match.
 */
const LONE_SURROGATE = /\p{Cs}/u

/** `text` with every lone surrogate replaced by U+FFFD, as UTF-8 encoding would do. */
function wellFormed(text: string): string {
  return text.replace(/\p{Cs}/gu, '\uFFFD')
}

/**
 * The format of every string that is copied into a record. Records are Avro (UTF-8),
 * where a lone surrogate silently becomes U+FFFD: the record would not say what was
 * sent, and two different label values would get one fingerprint. Such a string is
 * refused instead, like a body that is not UTF-8.
 */
const UNICODE_FORMAT = 'unicode'

function stringMap(maxProperties: number, limits: WebhookLimits, minProperties = 0): Record<string, unknown> {
  return {
    type: 'object',
    minProperties,
    maxProperties,
    propertyNames: { type: 'string', minLength: 1, maxLength: limits.maxNameLength, format: UNICODE_FORMAT },
    additionalProperties: { type: 'string', maxLength: limits.maxValueLength, format: UNICODE_FORMAT },
  }
}

/** The JSON schema of the webhook body under `limits` (see {@link WebhookPayload}). */
export function webhookSchema(limits: WebhookLimits): Record<string, unknown> {
  const text = { type: 'string', maxLength: limits.maxValueLength, format: UNICODE_FORMAT }
  const status = { type: 'string', enum: ['firing', 'resolved'] }
  return {
    type: 'object',
    required: ['version', 'status', 'alerts'],
    properties: {
      version: { type: 'string', const: '4' },
      status,
      receiver: text,
      groupKey: text,
      externalURL: text,
      truncatedAlerts: { type: 'integer', minimum: 0 },
      groupLabels: stringMap(limits.maxLabels, limits),
      commonLabels: stringMap(limits.maxLabels, limits),
      commonAnnotations: stringMap(limits.maxAnnotations, limits),
      alerts: {
        type: 'array',
        maxItems: limits.maxAlerts,
        items: {
          type: 'object',
          required: ['status', 'labels', 'startsAt'],
          properties: {
            status,
            // Alertmanager refuses alerts without labels, so a webhook alert has at least one.
            labels: stringMap(limits.maxLabels, limits, 1),
            annotations: stringMap(limits.maxAnnotations, limits),
            startsAt: { type: 'string', maxLength: 64, format: 'rfc3339' },
            endsAt: { type: 'string', maxLength: 64, format: 'rfc3339' },
            generatorURL: text,
            // Any string is tolerated; toAlerts recomputes one that is not 16 hex digits.
            fingerprint: { type: 'string', maxLength: 64 },
          },
        },
      },
    },
  }
}

const LONE_SURROGATE_PROBLEM = 'is not well-formed Unicode: it has an unpaired surrogate (\\ud800-\\udfff escape)'

/** Up to `max` characters of a JSON rendering of `value`, for error messages. */
function preview(value: unknown, max = 64): string {
  let text: string
  try {
    text = JSON.stringify(value) ?? String(value)
  } catch {
    text = String(value)
  }
  return text.length > max ? `${text.slice(0, max)}…` : text
}

/** One line naming the JSON path (a JSON pointer; "body" for the top level) and what is wrong. */
export function describeValidationError(error: ErrorObject): string {
  const where = error.instancePath === '' ? 'body' : error.instancePath
  const params = error.params as Record<string, unknown>
  switch (error.keyword) {
    case 'enum':
      return `${where} must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${preview(error.data)}`
    case 'const':
      return `${where} must be ${JSON.stringify(params.allowedValue)}, got ${preview(error.data)}`
    case 'format':
      if (params.format === UNICODE_FORMAT) return `${where} ${LONE_SURROGATE_PROBLEM}`
      return `${where} must be an RFC 3339 date-time, got ${preview(error.data)}`
    case 'type':
      return `${where} must be ${String(params.type)}, got ${error.data === null ? 'null' : Array.isArray(error.data) ? 'array' : typeof error.data}`
    case 'propertyNames':
      return `${where} has an invalid name ${preview(params.propertyName)}`
    case 'maxItems':
      return `${where} has more than ${String(params.limit)} items`
    case 'maxProperties':
      return `${where} has more than ${String(params.limit)} entries`
    case 'minProperties':
      return `${where} must not be empty`
    case 'maxLength':
      return `${where} is longer than ${String(params.limit)} characters`
    default:
      return `${where} ${error.message ?? 'is invalid'}`
  }
}

/** Checks parsed webhook bodies against {@link webhookSchema}; compiled once, reused per request. */
export interface PayloadValidator {
  readonly limits: Readonly<WebhookLimits>
  /** The body as a {@link WebhookPayload}; a PoisonRecordError naming the path otherwise. */
  validate(body: unknown): WebhookPayload
  /** Decodes (strict UTF-8), parses and validates a raw request body. */
  parse(raw: Buffer): WebhookPayload
}

function checkLimits(limits: WebhookLimits): void {
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || (value as number) < 1) {
      throw new ConfigError(`webhook limit ${name} must be a positive integer, got ${String(value)}`)
    }
  }
}

/** Builds the validator for `limits` (defaults: {@link DEFAULT_WEBHOOK_LIMITS}). */
export function createPayloadValidator(overrides: Partial<WebhookLimits> = {}): PayloadValidator {
  const limits: Readonly<WebhookLimits> = Object.freeze({ ...DEFAULT_WEBHOOK_LIMITS, ...overrides })
  checkLimits(limits)
  // allErrors stays off: the first error is reported, and a hostile body with
  // thousands of errors costs no more than one. `verbose` keeps the offending value.
  const ajv = new Ajv({ allErrors: false, verbose: true, strict: true })
  ajv.addFormat('rfc3339', { type: 'string', validate: isRfc3339 })
  ajv.addFormat(UNICODE_FORMAT, { type: 'string', validate: (value: string) => !LONE_SURROGATE.test(value) })
  const check: ValidateFunction<WebhookPayload> = ajv.compile<WebhookPayload>(webhookSchema(limits))
  const decoder = new TextDecoder('utf-8', { fatal: true })

  const validate = (body: unknown): WebhookPayload => {
    if (check(body)) return body
    const errors = check.errors ?? []
    // A bad property name reports the name check first, then propertyNames (which has the name).
    const names = errors.find((e) => e.keyword === 'propertyNames')
    const first = errors[0]
    const nameProblem = first?.keyword === 'format' ? LONE_SURROGATE_PROBLEM : (first?.message ?? 'invalid')
    const reason = names
      ? `${describeValidationError(names)} (${nameProblem})`
      : first
        ? describeValidationError(first)
        : 'rejected by the schema'
    // A preview cut at 64 UTF-16 units may split a surrogate pair; the answer and the
    // dead letter (UTF-8) must say the same thing.
    throw new PoisonRecordError(`invalid Alertmanager webhook payload: ${wellFormed(reason)}`)
  }

  return {
    limits,
    validate,
    parse(raw: Buffer): WebhookPayload {
      let text: string
      try {
        text = decoder.decode(raw)
      } catch (cause) {
        throw new PoisonRecordError('malformed JSON: the body is not valid UTF-8', { cause })
      }
      if (text.trim() === '') throw new PoisonRecordError('malformed JSON: the body is empty')
      let body: unknown
      try {
        body = JSON.parse(text)
      } catch (cause) {
        // V8 quotes the body around the error, and may cut a surrogate pair in half there.
        throw new PoisonRecordError(`malformed JSON: ${wellFormed((cause as Error).message)}`, { cause })
      }
      return validate(body)
    },
  }
}
