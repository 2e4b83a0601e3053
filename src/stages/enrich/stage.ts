import type { AlertRecord } from '../../contracts/records'
import type { Emit, StageDefinition } from '../../runner/types'
import type { TopicNames } from '../../topology/names'
import type { Catalog } from './catalog'
import { enrich } from './decide'
import { decisionEmit } from '../decision'

/** Decision kinds, counted in metrics. */
export type EnrichKind = 'enriched' | 'unowned'

/**
 * Binds enrich's decision to topics: alerts.deduped in, alerts.enriched out, keyed by
 * TEAM so all of a team's alerts share a partition downstream (ratelimit's alert,
 * service and team buckets are then exact). An unowned alert is forwarded too, and a
 * Decision on nightshift.decisions says no service matched. Stateless; `catalog` is
 * read per record, so a reloaded catalog applies from the next record.
 */
export function enrichStage(topics: TopicNames, prefix: string, catalog: () => Catalog): StageDefinition<AlertRecord> {
  return {
    name: 'enrich',
    groupId: `${prefix}nightshift-enrich`,
    inputTopics: [topics.deduped],
    inputSchema: 'Alert',
    process(alert, { source }) {
      const current = catalog()
      const enriched = enrich(alert, current)
      const forward: Emit = { topic: topics.enriched, key: enriched.team, schema: 'EnrichedAlert', value: enriched }
      if (enriched.service !== null) return { kind: 'enriched', emits: [forward] }
      return {
        kind: 'unowned',
        emits: [
          forward,
          decisionEmit({
            topic: topics.decisions,
            stage: 'enrich',
            alert,
            source,
            kind: 'unowned',
            reason: `no service of ${current.file} matched the alert's labels; forwarded as team ${enriched.team}`,
            detail: {
              catalog: current.file,
              services: String(current.services.length),
              labels: JSON.stringify(alert.labels),
            },
          }),
        ],
      }
    },
  }
}
