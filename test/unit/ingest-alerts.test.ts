import fs from 'node:fs'
import path from 'node:path'
import { SchemaSet } from '../../src/contracts/schemas'
import { createPayloadValidator, fingerprint, toAlerts, type WebhookPayload } from '../../src/ingest'
import { ALERTMANAGER_FIXTURES } from '../support/fixtures'

const FIXTURES = ALERTMANAGER_FIXTURES
const validator = createPayloadValidator()
const load = (file: string): WebhookPayload => validator.parse(fs.readFileSync(path.join(FIXTURES, file)))
const alertType = SchemaSet.load().type('Alert')
const RECEIVED_AT = 1795567977123

describe('toAlerts', () => {
  it('splits fixture 02 (a group of five) into one Alert record per alert with the group context', () => {
    const payload = load('02-firing-handlerseen.json')
    const alerts = toAlerts(payload, RECEIVED_AT)
    expect(alerts).toHaveLength(5)
    expect(alerts.map((a) => a.fingerprint)).toEqual([
      '28190aeb414c9e90',
      '11e3b98555881ed2',
      '070bfe0a0714736d',
      '6e6b4fb10be8f237',
      '519bc862085565e2',
    ])
    expect(alerts[4]).toEqual({
      fingerprint: '519bc862085565e2',
      status: 'firing',
      labels: {
        alertname: 'HandlerSeen',
        handler: '/metrics',
        service: 'prometheus',
        severity: 'critical',
        team: 'core',
      },
      annotations: { description: 'handler /metrics served 1 requests' },
      startsAt: '2026-11-25T00:52:36.568Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: payload.alerts[4]!.generatorURL,
      receiver: 'nightshift',
      groupKey: '{}:{alertname="HandlerSeen", team="core"}',
      externalURL: 'http://alertmanager.example:9093',
      receivedAt: RECEIVED_AT,
    })
    for (const [i, alert] of alerts.entries()) {
      const sent = payload.alerts[i]!
      expect(alert).toMatchObject({
        status: sent.status,
        labels: sent.labels,
        annotations: sent.annotations,
        startsAt: sent.startsAt,
        endsAt: sent.endsAt,
        receivedAt: RECEIVED_AT,
      })
      expect(alertType.isValid(alert)).toBe(true)
    }
  })

  it.each(
    fs
      .readdirSync(FIXTURES)
      .filter((f) => f.endsWith('.json'))
      .sort(),
  )('every record of %s is a valid Alert', (file) => {
    const payload = load(file)
    const alerts = toAlerts(payload, RECEIVED_AT)
    expect(alerts).toHaveLength(payload.alerts.length)
    for (const alert of alerts) {
      expect(
        alertType.isValid(alert, {
          errorHook: (p) => {
            throw new Error(`invalid at ${p.join('.')}`)
          },
        }),
      ).toBe(true)
      expect(alert.status).toBe(file.includes('resolved') ? 'resolved' : 'firing')
    }
  })

  it('copies startsAt verbatim (nanoseconds and offsets are part of the dedup key)', () => {
    const payload = load('01-firing-targetup.json')
    payload.alerts[0]!.startsAt = '2026-11-25T01:52:34.568123456+01:00'
    expect(toAlerts(payload, 0)[0]!.startsAt).toBe('2026-11-25T01:52:34.568123456+01:00')
  })

  it.each<[string, string | undefined, (labels: Record<string, string>) => string]>([
    ['missing', undefined, (labels) => fingerprint(labels)],
    ['not 16 hex digits', 'abc', (labels) => fingerprint(labels)],
    ['upper case', '16DDBF5DCF57D972', (labels) => fingerprint(labels)],
    [
      'well-formed but not matching the labels (kept: Alertmanager is authoritative)',
      '0123456789abcdef',
      () => '0123456789abcdef',
    ],
  ])('a sent fingerprint that is %s', (_name, sent, expected) => {
    const payload = load('01-firing-targetup.json')
    const alert = payload.alerts[0]!
    if (sent === undefined) delete alert.fingerprint
    else alert.fingerprint = sent
    expect(toAlerts(payload, 0)[0]!.fingerprint).toBe(expected(alert.labels))
  })

  it('fills what a minimal sender leaves out with null / {}', () => {
    const payload = validator.validate({
      version: '4',
      status: 'firing',
      alerts: [{ status: 'firing', labels: { alertname: 'Minimal' }, startsAt: '2026-11-25T00:00:00Z' }],
    })
    const [alert] = toAlerts(payload, 42)
    expect(alert).toEqual({
      fingerprint: fingerprint({ alertname: 'Minimal' }),
      status: 'firing',
      labels: { alertname: 'Minimal' },
      annotations: {},
      startsAt: '2026-11-25T00:00:00Z',
      endsAt: null,
      generatorURL: null,
      receiver: null,
      groupKey: null,
      externalURL: null,
      receivedAt: 42,
    })
    expect(alertType.isValid(alert)).toBe(true)
  })

  it('copies the maps, so the records do not share objects with the payload', () => {
    const payload = load('01-firing-targetup.json')
    const [alert] = toAlerts(payload, 0)
    expect(alert!.labels).not.toBe(payload.alerts[0]!.labels)
    expect(alert!.labels).toEqual(payload.alerts[0]!.labels)
  })

  it('keeps a label named __proto__ as a label', () => {
    const payload = validator.parse(
      Buffer.from(
        '{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"__proto__":"x","alertname":"A"},"startsAt":"2026-11-25T00:00:00Z"}]}',
      ),
    )
    const [alert] = toAlerts(payload, 0)
    expect(Object.keys(alert!.labels).sort()).toEqual(['__proto__', 'alertname'])
    expect(Object.getPrototypeOf(alert!.labels)).toBe(Object.prototype)
    expect(alertType.isValid(alert)).toBe(true)
  })
})
