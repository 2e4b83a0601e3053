import type { AlertRecord } from '../../src/contracts/records'
import { parseCatalog, type Catalog } from '../../src/stages/enrich/catalog'
import { enrich, findService } from '../../src/stages/enrich/decide'

const CATALOG = parseCatalog(
  `
services:
  - name: checkout
    team: payments
    tier: tier-1
    runbook: https://runbooks.example.com/checkout
    slo: checkout-availability
    matchers: ['service="checkout"']
    endpoints: { admin: "http://127.0.0.1:18080" }
  - name: payments-api
    team: payments
    matchers: ['namespace="payments"', 'job=~"payments-api|payments-gateway"']
  - name: payments-other
    team: payments
    matchers: ['namespace="payments"']
  - name: api
    team: web
    matchers: ['job=~"api.*"', 'env!="staging"']
  - name: no-env
    team: web
    matchers: ['job="batch"', 'env=""']
`,
  'catalog.yaml',
)

function alert(labels: Record<string, string>, annotations: Record<string, string> = {}): AlertRecord {
  return {
    fingerprint: '16ddbf5dcf57d972',
    status: 'firing',
    labels: { alertname: 'HighLatency', ...labels },
    annotations,
    startsAt: '2026-11-25T00:52:34.568Z',
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus:9090/graph',
    receiver: 'nightshift',
    groupKey: '{}:{alertname="HighLatency"}',
    externalURL: 'http://alertmanager:9093',
    receivedAt: 1795567977123,
  }
}

describe('findService', () => {
  it.each<[string, Record<string, string>, string | undefined]>([
    ['an exact label match', { service: 'checkout' }, 'checkout'],
    [
      'every matcher must match: both namespace and job',
      { namespace: 'payments', job: 'payments-gateway' },
      'payments-api',
    ],
    [
      'the first match in file order wins over a later broader one',
      { namespace: 'payments', job: 'payments-api' },
      'payments-api',
    ],
    ['a later entry when the earlier one fails a matcher', { namespace: 'payments', job: 'ledger' }, 'payments-other'],
    [
      'the first entry wins even when a later one matches too',
      { service: 'checkout', namespace: 'payments', job: 'payments-api' },
      'checkout',
    ],
    ['regexes are anchored: api.* matches api-v2', { job: 'api-v2' }, 'api'],
    ['regexes are anchored: api.* does not match old-api', { job: 'old-api' }, undefined],
    ['alternation is anchored as a whole', { namespace: 'payments', job: 'payments-api-canary' }, 'payments-other'],
    ['!= excludes the value', { job: 'api', env: 'staging' }, undefined],
    ['!= on a missing label matches (missing is "")', { job: 'api' }, 'api'],
    ['= "" matches a missing label', { job: 'batch' }, 'no-env'],
    ['= "" does not match a set label', { job: 'batch', env: 'prod' }, undefined],
    ['label values are case sensitive', { service: 'Checkout' }, undefined],
    ['no match', { service: 'ledger' }, undefined],
  ])('%s', (_name, labels, expected) => {
    expect(findService({ alertname: 'X', ...labels }, CATALOG)?.name).toBe(expected)
  })

  it('finds nothing in an empty catalog', () => {
    expect(findService({ service: 'checkout' }, parseCatalog('services: []', 'c.yaml'))).toBeUndefined()
  })
})

describe('enrich', () => {
  it('adds team, service, tier, runbook, SLO and endpoints of the matched service', () => {
    const input = alert({ service: 'checkout' })
    expect(enrich(input, CATALOG)).toEqual({
      alert: input,
      team: 'payments',
      service: 'checkout',
      tier: 'tier-1',
      runbookUrl: 'https://runbooks.example.com/checkout',
      slo: 'checkout-availability',
      endpoints: { admin: 'http://127.0.0.1:18080' },
      enrichedAt: 1795567977123,
      throttledBy: null,
    })
  })

  it('leaves what the catalog does not say null or empty', () => {
    expect(enrich(alert({ namespace: 'payments' }), CATALOG)).toMatchObject({
      team: 'payments',
      service: 'payments-other',
      tier: null,
      runbookUrl: null,
      slo: null,
      endpoints: {},
    })
  })

  it('forwards an alert no service matched as unowned, with everything else null', () => {
    const input = alert({ service: 'ledger' })
    expect(enrich(input, CATALOG)).toEqual({
      alert: input,
      team: 'unowned',
      service: null,
      tier: null,
      runbookUrl: null,
      slo: null,
      endpoints: {},
      enrichedAt: input.receivedAt,
      throttledBy: null,
    })
  })

  it.each<[string, Record<string, string>, Record<string, string>, string | null]>([
    [
      'the alert annotation wins over the catalog',
      { service: 'checkout' },
      { runbook_url: 'https://wiki.example.com/HighLatency' },
      'https://wiki.example.com/HighLatency',
    ],
    [
      'the catalog runbook when the alert has none',
      { service: 'checkout' },
      { summary: 'slow' },
      'https://runbooks.example.com/checkout',
    ],
    [
      'the catalog runbook when the annotation is empty',
      { service: 'checkout' },
      { runbook_url: '' },
      'https://runbooks.example.com/checkout',
    ],
    [
      'the annotation for a service without a catalog runbook',
      { namespace: 'payments' },
      { runbook_url: 'https://wiki.example.com/x' },
      'https://wiki.example.com/x',
    ],
    [
      'the annotation for an unowned alert',
      { service: 'ledger' },
      { runbook_url: 'https://wiki.example.com/y' },
      'https://wiki.example.com/y',
    ],
    ['none at all', { service: 'ledger' }, {}, null],
    [
      'a runbook_url label is not an annotation',
      { service: 'ledger', runbook_url: 'https://label.example.com' },
      {},
      null,
    ],
  ])('runbook: %s', (_name, labels, annotations, expected) => {
    expect(enrich(alert(labels, annotations), CATALOG).runbookUrl).toBe(expected)
  })

  it('never changes or loses the alert: labels, annotations and every field are carried as they came', () => {
    const input = alert(
      { service: 'checkout', team: 'someone-else', tier: 'tier-9' },
      { runbook_url: 'https://wiki.example.com/a', summary: 's', description: 'd' },
    )
    const snapshot = structuredClone(input)
    const out = enrich(input, CATALOG)
    expect(out.alert).toEqual(snapshot)
    expect(input).toEqual(snapshot)
    // A team label on the alert does not override the catalog.
    expect(out.team).toBe('payments')
  })

  it('gives each record its own endpoints map, not the frozen catalog one', () => {
    const out = enrich(alert({ service: 'checkout' }), CATALOG)
    expect(Object.isFrozen(out.endpoints)).toBe(false)
    expect(out.endpoints).not.toBe(CATALOG.services[0]!.endpoints)
  })

  it('is pure: the same alert and catalog give the same record', () => {
    const catalog: Catalog = CATALOG
    const input = alert({ job: 'api-v2' })
    expect(enrich(input, catalog)).toEqual(enrich(input, catalog))
  })
})
