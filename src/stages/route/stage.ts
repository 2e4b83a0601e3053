import type { StageDefinition } from '../../runner/types'
import type { TopicNames } from '../../topology/names'
import type { RouteTree } from './config'
import { decideRoute, decideThrottledRoute } from './decide'
import type { EnrichedAlertRecord } from '../../contracts/records'

/** What the route stage needs to route held-back alerts to the human. */
export interface RouteEscalation {
  /** Escalation actions (page, and actions.yaml `escalation: true`), read per record (hot reload). */
  escalations: () => ReadonlySet<string>
  /** The action throttle notices go to (`page`); null: none declared, no notice. */
  noticeAction: string | null
}

/**
 * Binds route's decision to topics: alerts.admitted and alerts.throttled in;
 * ActionRequests on `<prefix>actions.<name>`, or the alert on alerts.unrouted, out, with
 * Decisions and template-error outcomes. An alert from alerts.throttled goes only to
 * escalation actions, plus the team's notice of the throttle (decideThrottledRoute).
 * Stateless: whether a throttle is the first of its window is the ratelimit stage's
 * decision, carried on the record. `routes` is read for every record, so a reloaded
 * routes file applies from the next record on.
 */
export function routeStage(
  topics: TopicNames,
  prefix: string,
  routes: () => RouteTree,
  escalation: RouteEscalation = { escalations: () => new Set(['page']), noticeAction: 'page' },
): StageDefinition<EnrichedAlertRecord> {
  return {
    name: 'route',
    groupId: `${prefix}nightshift-route`,
    inputTopics: [topics.admitted, topics.throttled],
    inputSchema: 'EnrichedAlert',
    process(record, { source }) {
      if (source.topic !== topics.throttled) return decideRoute(routes(), record, { topics, prefix, source })
      return decideThrottledRoute(routes(), record, {
        topics,
        prefix,
        source,
        escalations: escalation.escalations(),
        noticeAction: escalation.noticeAction,
      })
    },
  }
}
