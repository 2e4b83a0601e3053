import fs from 'node:fs'
import path from 'node:path'
import type { AlertRecord } from '../../src/contracts/records'
import { SchemaSet } from '../../src/contracts/schemas'
import { createPayloadValidator, toAlerts } from '../../src/ingest'
import { loadCatalog, parseCatalog, type Catalog } from '../../src/stages/enrich/catalog'
import type { EnrichedAlertRecord } from '../../src/contracts/records'
import { enrichStage } from '../../src/stages/enrich/stage'
import { levelsFor } from '../../src/stages/ratelimit/decide'
import { loadLimits } from '../../src/stages/ratelimit/limits'
import { topicNames } from '../../src/topology/names'
import { ALERTMANAGER_FIXTURES } from '../support/fixtures'
import { alertRecord } from '../support/records'

const schemas = SchemaSet.load()
const topics = topicNames('p.')
const source = { topic: topics.deduped, partition: 4, offset: '7' }
const noState = { get: () => undefined }
const RECEIVED_AT = 1795567977123

const CATALOG = parseCatalog(
  `
services:
  - name: checkout
    team: payments
    tier: tier-1
    matchers: ['service="checkout"']
    endpoints: { admin: "http://127.0.0.1:18080" }
`,
  'topology/catalog.yaml',
)

function alert(labels: Record<string, string>, status: 'firing' | 'resolved' = 'firing'): AlertRecord {
  return alertRecord({
    status,
    labels,
    annotations: { summary: 'it is slow' },
    startsAt: '2026-11-25T00:52:34.568123456Z',
    receiver: 'nightshift',
    receivedAt: RECEIVED_AT,
  })
}

describe('enrichStage', () => {
  const stage = enrichStage(topics, 'p.', () => CATALOG)

  it('reads alerts.deduped as Alert in its own group, stateless', () => {
    expect(stage).toMatchObject({
      name: 'enrich',
      groupId: 'p.nightshift-enrich',
      inputTopics: ['p.alerts.deduped'],
      inputSchema: 'Alert',
    })
    expect(stage.state).toBeUndefined()
  })

  it('emits the enriched alert to alerts.enriched keyed by team', () => {
    const input = alert({ alertname: 'HighLatency', service: 'checkout' })
    const result = stage.process(input, { state: noState, source, timestamp: 0, now: 0, later: () => [] })
    expect(result.kind).toBe('enriched')
    expect(result.state).toBeUndefined()
    expect(result.emits).toHaveLength(1)
    expect(result.emits[0]).toMatchObject({
      topic: 'p.alerts.enriched',
      key: 'payments',
      schema: 'EnrichedAlert',
      value: { alert: input, team: 'payments', service: 'checkout' },
    })
    expect(schemas.type('EnrichedAlert').isValid(result.emits[0]!.value)).toBe(true)
  })

  it.each(['firing', 'resolved'] as const)(
    'forwards a %s alert no service matched as unowned, keyed unowned, and leaves a Decision',
    (status) => {
      const input = alert({ alertname: 'DiskFull', service: 'ledger' }, status)
      const result = stage.process(input, { state: noState, source, timestamp: 0, now: 0, later: () => [] })
      expect(result.kind).toBe('unowned')
      expect(result.emits).toEqual([
        {
          topic: 'p.alerts.enriched',
          key: 'unowned',
          schema: 'EnrichedAlert',
          value: {
            alert: input,
            team: 'unowned',
            service: null,
            tier: null,
            runbookUrl: null,
            slo: null,
            endpoints: {},
            enrichedAt: RECEIVED_AT,
            throttledBy: null,
          },
        },
        {
          topic: 'p.nightshift.decisions',
          key: '16ddbf5dcf57d972',
          schema: 'Decision',
          value: {
            fingerprint: '16ddbf5dcf57d972',
            startsAt: '2026-11-25T00:52:34.568123456Z',
            status,
            stage: 'enrich',
            kind: 'unowned',
            reason: "no service of topology/catalog.yaml matched the alert's labels; forwarded as team unowned",
            detail: {
              catalog: 'topology/catalog.yaml',
              services: '1',
              labels: '{"alertname":"DiskFull","service":"ledger"}',
            },
            source,
            decidedAt: RECEIVED_AT,
          },
        },
      ])
      expect(schemas.type('EnrichedAlert').isValid(result.emits[0]!.value)).toBe(true)
      expect(schemas.type('Decision').isValid(result.emits[1]!.value)).toBe(true)
    },
  )

  it('uses the current catalog for each record (hot reload)', () => {
    let current: Catalog = CATALOG
    const reloading = enrichStage(topics, '', () => current)
    const input = alert({ alertname: 'X', service: 'ledger' })
    expect(reloading.process(input, { state: noState, source, timestamp: 0, now: 0, later: () => [] }).kind).toBe(
      'unowned',
    )
    current = parseCatalog(
      'services: [{ name: ledger, team: finance, matchers: [\'service="ledger"\'] }]',
      'catalog.yaml',
    )
    expect(
      reloading.process(input, { state: noState, source, timestamp: 0, now: 0, later: () => [] }).emits,
    ).toMatchObject([{ topic: 'p.alerts.enriched', key: 'finance', value: { team: 'finance', service: 'ledger' } }])
  })
})

describe('the captured Alertmanager alerts through the shipped catalog and limits', () => {
  const validator = createPayloadValidator()
  const stage = enrichStage(topics, '', loadCatalog)
  const limits = loadLimits()
  const files = fs
    .readdirSync(ALERTMANAGER_FIXTURES)
    .filter((f) => f.endsWith('.json'))
    .sort()

  it.each(files)(
    '%s: every alert is owned, valid, and falls under the alert, service, team and global buckets',
    (file) => {
      const payload = validator.parse(fs.readFileSync(path.join(ALERTMANAGER_FIXTURES, file)))
      for (const a of toAlerts(payload, RECEIVED_AT)) {
        const result = stage.process(a, { state: noState, source, timestamp: 0, now: 0, later: () => [] })
        expect(result.kind).toBe('enriched')
        const value = result.emits[0]!.value as EnrichedAlertRecord
        expect({ service: value.service, team: value.team, key: result.emits[0]!.key }).toEqual(
          a.labels.service === 'checkout'
            ? { service: 'checkout', team: 'payments', key: 'payments' }
            : { service: 'prometheus', team: 'core', key: 'core' },
        )
        expect(schemas.type('EnrichedAlert').isValid(value)).toBe(true)
        expect(levelsFor(value, limits, 6).map((c) => c.level)).toEqual(['alert', 'service', 'team', 'global'])
      }
    },
  )
})
