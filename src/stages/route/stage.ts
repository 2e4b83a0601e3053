import type { StageDefinition } from '../../runner/types'
import type { TopicNames } from '../../topology/names'
import type { RouteTree } from './config'
import { decideRoute } from './decide'
import type { EnrichedAlertRecord } from '../../contracts/records'

/**
 * Binds route's decision to topics: alerts.admitted in; ActionRequests on
 * `<prefix>actions.<name>`, or the alert on alerts.unrouted, out, with Decisions and
 * template-error outcomes. Stateless. `routes` is read for every record, so a reloaded
 * routes file applies from the next record on.
 */
export function routeStage(
  topics: TopicNames,
  prefix: string,
  routes: () => RouteTree,
): StageDefinition<EnrichedAlertRecord> {
  return {
    name: 'route',
    groupId: `${prefix}nightshift-route`,
    inputTopics: [topics.admitted],
    inputSchema: 'EnrichedAlert',
    process(record, { source }) {
      return decideRoute(routes(), record, { topics, prefix, source })
    },
  }
}
