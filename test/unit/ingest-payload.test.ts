import fs from 'node:fs'
import path from 'node:path'
import { ConfigError, PoisonRecordError } from '../../src/errors'
import { DEFAULT_WEBHOOK_LIMITS, createPayloadValidator, isRfc3339 } from '../../src/ingest'
import { ALERTMANAGER_FIXTURES } from '../support/fixtures'

const FIXTURES = ALERTMANAGER_FIXTURES
const fixtureFiles = fs
  .readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .sort()
const readFixture = (file: string): Buffer => fs.readFileSync(path.join(FIXTURES, file))

type Json = Record<string, unknown>
/** A fresh copy of fixture 01 (one firing alert), to break one field at a time. */
const good = (): Json => JSON.parse(readFixture('01-firing-targetup.json').toString()) as Json
const alert0 = (body: Json): Json => (body.alerts as Json[])[0]!

const validator = createPayloadValidator()

function expectRejection(body: unknown, message: RegExp): void {
  let error: unknown
  try {
    validator.validate(body)
  } catch (err) {
    error = err
  }
  expect(error).toBeInstanceOf(PoisonRecordError)
  expect((error as Error).message).toMatch(/^invalid Alertmanager webhook payload: /)
  expect((error as Error).message).toMatch(message)
}

describe('webhook payload validation', () => {
  it.each(fixtureFiles)('accepts the real Alertmanager body %s', (file) => {
    const payload = validator.parse(readFixture(file))
    expect(payload.version).toBe('4')
    expect(payload.alerts.length).toBeGreaterThan(0)
  })

  it.each<[string, (b: Json) => void]>([
    ['unknown top-level fields (later Alertmanager versions)', (b) => (b.someNewField = { nested: [1, 2] })],
    ['unknown alert fields', (b) => (alert0(b).silencedBy = [])],
    ['no annotations', (b) => delete alert0(b).annotations],
    [
      'no fingerprint, endsAt, generatorURL',
      (b) => ['fingerprint', 'endsAt', 'generatorURL'].forEach((k) => delete alert0(b)[k]),
    ],
    [
      'only version, status and alerts at the top',
      (b) =>
        [
          'receiver',
          'groupKey',
          'externalURL',
          'truncatedAlerts',
          'groupLabels',
          'commonLabels',
          'commonAnnotations',
        ].forEach((k) => delete b[k]),
    ],
    ['an empty alerts list', (b) => (b.alerts = [])],
    ['nanosecond startsAt', (b) => (alert0(b).startsAt = '2026-11-25T00:52:34.568123456Z')],
    ['startsAt with an offset', (b) => (alert0(b).startsAt = '2026-11-25T01:52:34+01:00')],
    ['a malformed fingerprint (recomputed later)', (b) => (alert0(b).fingerprint = 'not-hex')],
    [
      'exactly the maximum number of alerts',
      (b) => (b.alerts = Array.from({ length: DEFAULT_WEBHOOK_LIMITS.maxAlerts }, () => alert0(b))),
    ],
    [
      'a label value of exactly the maximum length',
      (b) => ((alert0(b).labels as Json).big = 'x'.repeat(DEFAULT_WEBHOOK_LIMITS.maxValueLength)),
    ],
  ])('accepts %s', (_name, mutate) => {
    const body = good()
    mutate(body)
    expect(() => validator.validate(body)).not.toThrow()
  })

  it.each<[string, (b: Json) => void, RegExp]>([
    [
      'missing alerts',
      (b) => {
        delete b.alerts
      },
      /body must have required property 'alerts'/,
    ],
    [
      'alerts not an array',
      (b) => {
        b.alerts = {}
      },
      /\/alerts must be array, got object/,
    ],
    [
      'missing version',
      (b) => {
        delete b.version
      },
      /body must have required property 'version'/,
    ],
    [
      'wrong version',
      (b) => {
        b.version = '3'
      },
      /\/version must be "4", got "3"/,
    ],
    [
      'version as a number',
      (b) => {
        b.version = 4
      },
      /\/version must be string, got number/,
    ],
    [
      'group status pending',
      (b) => {
        b.status = 'pending'
      },
      /\/status must be one of "firing", "resolved", got "pending"/,
    ],
    [
      'alert status pending',
      (b) => {
        alert0(b).status = 'pending'
      },
      /\/alerts\/0\/status must be one of "firing", "resolved", got "pending"/,
    ],
    [
      'missing labels',
      (b) => {
        delete alert0(b).labels
      },
      /\/alerts\/0 must have required property 'labels'/,
    ],
    [
      'empty labels',
      (b) => {
        alert0(b).labels = {}
      },
      /\/alerts\/0\/labels must not be empty/,
    ],
    [
      'a label that is a number',
      (b) => {
        ;(alert0(b).labels as Json).severity = 3
      },
      /\/alerts\/0\/labels\/severity must be string, got number/,
    ],
    [
      'a label that is a nested object',
      (b) => {
        ;(alert0(b).labels as Json).severity = { level: 'high' }
      },
      /\/alerts\/0\/labels\/severity must be string, got object/,
    ],
    [
      'an annotation that is null',
      (b) => {
        ;(alert0(b).annotations as Json).summary = null
      },
      /\/alerts\/0\/annotations\/summary must be string, got null/,
    ],
    [
      'labels as an array',
      (b) => {
        alert0(b).labels = ['a']
      },
      /\/alerts\/0\/labels must be object, got array/,
    ],
    [
      'a commonLabels value that is an array',
      (b) => {
        ;(b.commonLabels as Json).team = ['x']
      },
      /\/commonLabels\/team must be string, got array/,
    ],
    [
      'receiver as an object',
      (b) => {
        b.receiver = { name: 'x' }
      },
      /\/receiver must be string, got object/,
    ],
    [
      'negative truncatedAlerts',
      (b) => {
        b.truncatedAlerts = -1
      },
      /\/truncatedAlerts must be >= 0/,
    ],
    [
      'missing startsAt',
      (b) => {
        delete alert0(b).startsAt
      },
      /\/alerts\/0 must have required property 'startsAt'/,
    ],
    [
      'startsAt not RFC 3339',
      (b) => {
        alert0(b).startsAt = 'yesterday'
      },
      /\/alerts\/0\/startsAt must be an RFC 3339 date-time, got "yesterday"/,
    ],
    [
      'startsAt as epoch seconds',
      (b) => {
        alert0(b).startsAt = 1795567954
      },
      /\/alerts\/0\/startsAt must be string, got number/,
    ],
    [
      'startsAt on Feb 30',
      (b) => {
        alert0(b).startsAt = '2026-02-30T00:00:00Z'
      },
      /startsAt must be an RFC 3339 date-time/,
    ],
    [
      'endsAt without a zone',
      (b) => {
        alert0(b).endsAt = '2026-11-25T00:52:34'
      },
      /\/alerts\/0\/endsAt must be an RFC 3339 date-time/,
    ],
    [
      'an alert that is a string',
      (b) => {
        b.alerts = ['firing']
      },
      /\/alerts\/0 must be object, got string/,
    ],
    [
      'too many alerts',
      (b) => {
        b.alerts = Array.from({ length: DEFAULT_WEBHOOK_LIMITS.maxAlerts + 1 }, () => alert0(b))
      },
      /\/alerts has more than 1000 items/,
    ],
    [
      'too many labels',
      (b) => {
        alert0(b).labels = Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`l${i}`, 'v']))
      },
      /\/alerts\/0\/labels has more than 128 entries/,
    ],
    [
      'too many annotations',
      (b) => {
        alert0(b).annotations = Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`a${i}`, 'v']))
      },
      /\/alerts\/0\/annotations has more than 128 entries/,
    ],
    [
      'a huge label value',
      (b) => {
        ;(alert0(b).labels as Json).big = 'x'.repeat(16 * 1024 + 1)
      },
      /\/alerts\/0\/labels\/big is longer than 16384 characters/,
    ],
    [
      'a huge annotation value',
      (b) => {
        ;(alert0(b).annotations as Json).summary = 'x'.repeat(100000)
      },
      /\/alerts\/0\/annotations\/summary is longer than 16384 characters/,
    ],
    [
      'a huge groupKey (copied into every record)',
      (b) => {
        b.groupKey = 'k'.repeat(20000)
      },
      /\/groupKey is longer than 16384 characters/,
    ],
    [
      'an empty label name',
      (b) => {
        ;(alert0(b).labels as Json)[''] = 'v'
      },
      /\/alerts\/0\/labels has an invalid name ""/,
    ],
  ])('rejects %s', (_name, mutate, message) => {
    const body = good()
    mutate(body)
    expectRejection(body, message)
  })

  it.each<[string, unknown, RegExp]>([
    ['a body that is an array', [], /body must be object, got array/],
    ['a body that is a string', 'hello', /body must be object, got string/],
    ['a body that is null', null, /body must be object, got null/],
  ])('rejects %s', (_name, body, message) => {
    expectRejection(body, message)
  })

  it.each<[string, Buffer, RegExp]>([
    ['a truncated body', Buffer.from('{"version":"4","alerts":['), /^malformed JSON: /],
    ['plain text', Buffer.from('hello'), /^malformed JSON: .*hello|^malformed JSON: /],
    ['an empty body', Buffer.alloc(0), /^malformed JSON: the body is empty$/],
    [
      'invalid UTF-8',
      Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
      /^malformed JSON: the body is not valid UTF-8$/,
    ],
  ])('parse: rejects %s as malformed JSON', (_name, raw, message) => {
    expect(() => validator.parse(raw)).toThrow(PoisonRecordError)
    expect(() => validator.parse(raw)).toThrow(message)
  })

  it('honours configured limits', () => {
    const strict = createPayloadValidator({ maxAlerts: 1, maxValueLength: 10 })
    const body = good()
    expect(() => strict.validate(body)).toThrow(/is longer than 10 characters/)
    expect(strict.limits).toEqual({ ...DEFAULT_WEBHOOK_LIMITS, maxAlerts: 1, maxValueLength: 10 })
    expect(Object.isFrozen(strict.limits)).toBe(true)
  })

  it.each([[{ maxAlerts: 0 }], [{ maxLabels: 1.5 }], [{ maxValueLength: Number.NaN }]])(
    'refuses the limits %j',
    (limits) => {
      expect(() => createPayloadValidator(limits)).toThrow(ConfigError)
    },
  )

  it('keeps a label named __proto__ as data', () => {
    const raw = Buffer.from(JSON.stringify(good()).replace('"alertname":', '"__proto__":"x","alertname":'))
    const payload = validator.parse(raw)
    expect(Object.keys(payload.alerts[0]!.labels)).toContain('__proto__')
    expect(({} as Json).x).toBeUndefined()
  })
})

describe('well-formed Unicode (a record must hold exactly what was sent)', () => {
  const UNPAIRED = 'is not well-formed Unicode: it has an unpaired surrogate (\\ud800-\\udfff escape)'
  /** Fixture 01 with `fragment` (raw JSON text, escapes included) in place of the first label value. */
  const withValue = (fragment: string) =>
    Buffer.from(readFixture('01-firing-targetup.json').toString().replace('"TargetUp",', `"${fragment}",`))

  it.each<[string, Buffer, string]>([
    ['a lone high surrogate in a label value', withValue('a\\ud800b'), `/alerts/0/labels/alertname ${UNPAIRED}`],
    ['a lone low surrogate in a label value', withValue('\\udc00'), `/alerts/0/labels/alertname ${UNPAIRED}`],
    ['a reversed pair', withValue('\\ude00\\ud83d'), `/alerts/0/labels/alertname ${UNPAIRED}`],
    ['two high surrogates', withValue('\\ud83d\\ud83d'), `/alerts/0/labels/alertname ${UNPAIRED}`],
    [
      'a lone surrogate in an annotation',
      Buffer.from(JSON.stringify(good()).replace('"summary":"', '"summary":"\\udfff')),
      `/alerts/0/annotations/summary ${UNPAIRED}`,
    ],
    [
      'a lone surrogate in the receiver',
      Buffer.from(JSON.stringify(good()).replace('"receiver":"', '"receiver":"\\ud800')),
      `/receiver ${UNPAIRED}`,
    ],
    [
      'a lone surrogate in generatorURL',
      Buffer.from(JSON.stringify(good()).replace('"generatorURL":"', '"generatorURL":"\\ud800')),
      `/alerts/0/generatorURL ${UNPAIRED}`,
    ],
    [
      'a lone surrogate in a label name',
      Buffer.from(JSON.stringify(good()).replace('"alertname":', '"alert\\ud800name":')),
      `/alerts/0/labels has an invalid name "alert\\ud800name" (${UNPAIRED})`,
    ],
    [
      'a lone surrogate in a commonLabels name',
      Buffer.from(JSON.stringify(good()).replace('"commonLabels":{', '"commonLabels":{"\\udc00":"x",')),
      `/commonLabels has an invalid name "\\udc00" (${UNPAIRED})`,
    ],
  ])('refuses %s, naming the path', (_name, raw, reason) => {
    expect(() => validator.parse(raw)).toThrow(PoisonRecordError)
    expect(() => validator.parse(raw)).toThrow(`invalid Alertmanager webhook payload: ${reason}`)
  })

  it.each<[string, Buffer]>([
    ['an escaped surrogate pair', withValue('\\ud83d\\ude00')],
    ['a raw emoji', withValue('😀')],
    ['NUL and control characters', withValue('\\u0000\\u001b[31m\\r\\n')],
    ['a right-to-left override', withValue('\\u202eevil')],
    ['U+FFFD itself', withValue('\\ufffd')],
  ])('accepts %s', (_name, raw) => {
    expect(() => validator.parse(raw)).not.toThrow()
  })

  // JSON.parse quotes the body around the error and may cut a surrogate pair there; a
  // preview of a bad value is cut at 64 UTF-16 units, which may split a pair too. The
  // answer and the dead letter must say the same, so no message has an unpaired half.
  it.each<[string, Buffer, RegExp]>([
    ['a syntax error right before an emoji', Buffer.from(`x${'😀'.repeat(40)}`), /^malformed JSON: Unexpected token/],
    ['an unexpected emoji', Buffer.from(`{"a":1}${'😀'.repeat(40)}`), /^malformed JSON: /],
    // '"xx' + 30.5 emoji = 64 units: the preview ends in half an emoji.
    [
      'a long bad status of emoji',
      Buffer.from(JSON.stringify({ ...good(), status: `xx${'😀'.repeat(40)}` })),
      /^invalid Alertmanager webhook payload: \/status must be one of "firing", "resolved", got "xx(?:😀){30}\uFFFD…$/,
    ],
  ])('keeps the message well-formed for %s', (_name, raw, message) => {
    let error: unknown
    try {
      validator.parse(raw)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(PoisonRecordError)
    expect((error as Error).message).toMatch(message)
    expect((error as Error).message).not.toMatch(/\p{Cs}/u)
  })
})

describe('isRfc3339', () => {
  it.each([
    '2026-11-25T00:52:34.568Z',
    '2026-11-25T00:52:34.568123456Z',
    '2026-11-25T00:52:34Z',
    '0001-01-01T00:00:00Z',
    '2026-11-25T00:52:34.5+05:30',
    '2026-11-25T00:52:34-08:00',
    '2024-02-29T23:59:59Z',
    '2026-11-25t00:52:34z',
  ])('accepts %s', (value) => {
    expect(isRfc3339(value)).toBe(true)
  })

  it.each([
    '',
    '2026-11-25',
    '2026-11-25 00:52:34Z',
    '2026-11-25T00:52:34',
    '2026-11-25T00:52:34.Z',
    '2026-11-25T00:52:34.1234567890Z',
    '2026-13-01T00:00:00Z',
    '2026-00-01T00:00:00Z',
    '2025-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-11-25T24:00:00Z',
    '2026-11-25T00:60:00Z',
    '2026-11-25T00:00:60Z',
    '2026-11-25T00:00:00+24:00',
    '2026-11-25T00:00:00+0100',
    ' 2026-11-25T00:00:00Z',
    '2026-11-25T00:00:00Z\n',
  ])('rejects %j', (value) => {
    expect(isRfc3339(value)).toBe(false)
  })
})
