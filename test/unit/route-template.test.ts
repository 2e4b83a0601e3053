import { SchemaSet } from '../../src/contracts/schemas'
import type { EnrichedAlertRecord } from '../../src/contracts/records'
import { TemplateSyntaxError, fillTemplate, parseTemplate, type FillResult } from '../../src/stages/route/template'
import { enrichedAlertRecord } from '../support/records'

function enriched(over: Partial<EnrichedAlertRecord> = {}, labels: Record<string, string> = {}): EnrichedAlertRecord {
  return enrichedAlertRecord({
    alert: {
      labels: { alertname: 'HighLatency', instance: 'web-1', ...labels },
      annotations: { summary: 'p99 over 2s' },
      startsAt: '2026-11-25T00:52:34.568123456Z',
    },
    tier: 'tier-1',
    runbookUrl: 'https://runbooks/checkout',
    slo: 'checkout-availability',
    endpoints: { admin: 'http://checkout:8081' },
    ...over,
  })
}

describe('fillTemplate', () => {
  it('the test record is a valid EnrichedAlert', () => {
    expect(SchemaSet.load().type('EnrichedAlert').isValid(enriched())).toBe(true)
  })

  it.each<[string, string]>([
    ['plain text', 'plain text'],
    ['', ''],
    ['{{ labels.alertname }}', 'HighLatency'],
    ['{{labels.instance}}', 'web-1'],
    ['{{ annotations.summary }}', 'p99 over 2s'],
    ['{{ endpoints.admin }}/loggers', 'http://checkout:8081/loggers'],
    ['{{ team }}/{{ service }}/{{ tier }}', 'payments/checkout/tier-1'],
    ['{{ slo }} {{ runbookUrl }}', 'checkout-availability https://runbooks/checkout'],
    ['{{ fingerprint }}@{{ startsAt }} {{ status }}', '16ddbf5dcf57d972@2026-11-25T00:52:34.568123456Z firing'],
    ['a { b } c', 'a { b } c'],
    ['{{ labels.alertname }}{{ labels.alertname }}', 'HighLatencyHighLatency'],
  ])('%j → %j', (source, value) => {
    expect(fillTemplate(parseTemplate(source), enriched())).toEqual({ ok: true, value })
  })

  it('substitutes values verbatim: a value that looks like a placeholder is not expanded again', () => {
    const record = enriched({}, { job: '{{ team }}' })
    expect(fillTemplate(parseTemplate('{{ labels.job }}'), record)).toEqual({ ok: true, value: '{{ team }}' })
  })

  it.each<[string, Partial<EnrichedAlertRecord>, string[]]>([
    ['{{ labels.pod }}', {}, ['labels.pod']],
    ['{{ annotations.description }}', {}, ['annotations.description']],
    ['{{ endpoints.metrics }}', {}, ['endpoints.metrics']],
    [
      '{{ service }} {{ tier }} {{ slo }} {{ runbookUrl }}',
      { service: null, tier: null, slo: null, runbookUrl: null },
      ['service', 'tier', 'slo', 'runbookUrl'],
    ],
    ['{{ labels.pod }} {{ labels.pod }}', {}, ['labels.pod']],
    // own properties only: nothing comes from a prototype
    ['{{ labels.__proto__ }}', {}, ['labels.__proto__']],
    ['{{ labels.constructor }}', {}, ['labels.constructor']],
    ['{{ annotations.toString }}', {}, ['annotations.toString']],
    ['{{ endpoints.hasOwnProperty }}', {}, ['endpoints.hasOwnProperty']],
  ])('%j with missing fields → %j', (source, over, missing) => {
    const result: FillResult = fillTemplate(parseTemplate(source), enriched(over))
    expect(result).toEqual({ ok: false, missing })
  })

  it('an empty label value is a value, not a missing field', () => {
    expect(fillTemplate(parseTemplate('[{{ labels.x }}]'), enriched({}, { x: '' }))).toEqual({ ok: true, value: '[]' })
  })
})

describe('parseTemplate rejects', () => {
  it.each<[string, string]>([
    ['{{ constructor }}', 'unknown field "constructor"'],
    ['{{ __proto__ }}', 'unknown field "__proto__"'],
    ['{{ alert.labels.x }}', 'unknown field "alert.labels.x"'],
    ['{{ labels }}', 'needs a key: labels.<name>'],
    ['{{ labels.a.b }}', 'is not a labels name'],
    ['{{ labels["x"] }}', 'unknown field'],
    ['{{ team + 1 }}', 'unknown field "team + 1"'],
    ['{{ process.exit() }}', 'unknown field'],
    ['{{ `${1}` }}', 'unclosed'],
    ['{{ }}', 'unknown field ""'],
    ['{{ {{ team }} }}', 'unclosed "{{"'],
    ['{{ team', 'unclosed "{{"'],
    ['team }}', '"}}" without an opening "{{"'],
  ])('%j (%s)', (source, fragment) => {
    expect(() => parseTemplate(source)).toThrow(TemplateSyntaxError)
    expect(() => parseTemplate(source)).toThrow(fragment)
  })
})
