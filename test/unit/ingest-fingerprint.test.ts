import fs from 'node:fs'
import path from 'node:path'
import { fingerprint } from '../../src/ingest'
import { ALERTMANAGER_FIXTURES } from '../support/fixtures'

const FIXTURES = ALERTMANAGER_FIXTURES

interface FixtureAlert {
  labels: Record<string, string>
  fingerprint: string
}

const fixtureAlerts: Array<[string, number, FixtureAlert]> = fs
  .readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .flatMap((file) => {
    const body = JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8')) as { alerts: FixtureAlert[] }
    return body.alerts.map((alert, i): [string, number, FixtureAlert] => [file, i, alert])
  })

/** Straight from the definition, with BigInt: the reference the fast version is checked against. */
function referenceFingerprint(labels: Record<string, string>): string {
  const prime = 1099511628211n
  let hash = 14695981039346656037n
  const add = (bytes: Uint8Array) => {
    for (const b of bytes) hash = BigInt.asUintN(64, (hash ^ BigInt(b)) * prime)
  }
  const names = Object.keys(labels).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  for (const name of names) {
    add(Buffer.from(name))
    add(Uint8Array.of(0xff))
    add(Buffer.from(labels[name]!))
    add(Uint8Array.of(0xff))
  }
  return hash.toString(16).padStart(16, '0')
}

describe('fingerprint', () => {
  it('covers every fixture alert', () => {
    expect(fixtureAlerts.length).toBeGreaterThanOrEqual(20)
  })

  it.each(fixtureAlerts)('%s alert %i matches the fingerprint Alertmanager sent', (_file, _i, alert) => {
    expect(fingerprint(alert.labels)).toBe(alert.fingerprint)
  })

  it.each<[string, Record<string, string>, string]>([
    // prometheus/common model: the empty label set is the FNV-1a offset basis.
    ['the empty label set', {}, 'cbf29ce484222325'],
    // prometheus/common model/signature_test.go: 5799056148416392346.
    [
      'the Prometheus test vector',
      { name: 'garland, briggs', fear: 'love is not enough' },
      5799056148416392346n.toString(16).padStart(16, '0'),
    ],
  ])('%s', (_name, labels, expected) => {
    expect(fingerprint(labels)).toBe(expected)
  })

  it.each<[string, Record<string, string>]>([
    ['one label', { alertname: 'Up' }],
    ['an empty value', { alertname: 'Up', job: '' }],
    ['unicode values', { alertname: 'Überlast', summary: '日本語 🚒 ñ' }],
    ['a name above the BMP (byte order differs from UTF-16 order)', { '\u{ff61}a': '1', '\u{1f600}b': '2', z: '3' }],
    ['a label named __proto__', { ['__proto__']: 'x', alertname: 'A' }],
    ['a long value', { alertname: 'A', v: 'x'.repeat(10000) }],
    ['separator-like content', { a: 'b\u00ffc', ab: '' }],
  ])('%s: matches the reference implementation', (_name, labels) => {
    const copy = Object.fromEntries(Object.entries(labels))
    const fp = fingerprint(copy)
    expect(fp).toMatch(/^[0-9a-f]{16}$/)
    expect(fp).toBe(referenceFingerprint(copy))
  })

  it('does not depend on the order of the labels', () => {
    const labels = fixtureAlerts[0]![2].labels
    const reversed = Object.fromEntries(Object.entries(labels).reverse())
    expect(Object.keys(reversed)).not.toEqual(Object.keys(labels))
    expect(fingerprint(reversed)).toBe(fingerprint(labels))
  })

  it('tells apart label sets that concatenate to the same bytes', () => {
    expect(fingerprint({ a: 'bc' })).not.toBe(fingerprint({ ab: 'c' }))
    expect(fingerprint({ a: '' })).not.toBe(fingerprint({}))
  })
})
