import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { SchemaSet } from '../../src/contracts/schemas'
import { ConfigError } from '../../src/errors'
import { alertRecord } from '../support/records'

const schemas = SchemaSet.load()

describe('schemas/', () => {
  it.each(schemas.names())('%s is namespaced, documented, and every optional field has a default', (name) => {
    const resolved = schemas.resolve(name) as {
      namespace?: string
      doc?: string
      fields?: Array<{ name: string; doc?: string; type: unknown; default?: unknown }>
    }
    expect(resolved.namespace).toMatch(/^io\.nightshift\./)
    expect(resolved.doc).toEqual(expect.any(String))
    for (const field of resolved.fields ?? []) {
      expect({ field: field.name, doc: typeof field.doc }).toEqual({ field: field.name, doc: 'string' })
      if (Array.isArray(field.type) && field.type.includes('null'))
        expect({ field: field.name, default: field.default }).toEqual({ field: field.name, default: null })
    }
  })

  it('inlines referenced types so a registered schema is self-contained', () => {
    const text = JSON.stringify(schemas.resolve('ActionRequest'))
    expect(text).toContain('"name":"EnrichedAlert"')
    expect(text).toContain('"name":"Alert"')
    // Each named type is defined once; later uses are by name.
    expect(text.match(/"name":"AlertStatus"/g)).toHaveLength(1)
  })

  it.each([
    ['Alert', 'io.nightshift.alerts.Alert'],
    ['io.nightshift.dlq.DeadLetter', 'io.nightshift.dlq.DeadLetter'],
  ])('finds %s as %s', (name, full) => {
    expect(schemas.fullName(name)).toBe(full)
  })

  it('round-trips an alert through its avsc type', () => {
    const type = schemas.type('Alert')
    const alert = alertRecord({ fingerprint: 'f', labels: { a: 'b' }, startsAt: '2026-11-25T00:00:00Z', receivedAt: 1 })
    expect(type.fromBuffer(type.toBuffer(alert))).toEqual(alert)
  })

  it.each([
    [
      'duplicate type',
      {
        'a.avsc': '{"type":"record","name":"A","namespace":"x","fields":[]}',
        'b.avsc': '{"type":"record","name":"A","namespace":"x","fields":[]}',
      },
      /type x\.A is already defined/,
    ],
    ['broken JSON', { 'a.avsc': '{"type":' }, /a\.avsc: not valid JSON/],
    ['unnamed top level', { 'a.avsc': '"string"' }, /must be a named type/],
    [
      'invalid Avro',
      { 'a.avsc': '{"type":"record","name":"A","fields":[{"name":"f","type":"nosuch"}]}' },
      /a\.avsc: invalid Avro schema/,
    ],
  ])('rejects a folder with a %s, naming the file', (_name, files, message) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'schemas-'))
    for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text)
    expect(() => SchemaSet.load(dir)).toThrow(ConfigError)
    expect(() => SchemaSet.load(dir)).toThrow(message)
    fs.rmSync(dir, { recursive: true })
  })
})
