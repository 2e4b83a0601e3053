import type { ActionOutcomeRecord, AlertRecord, SloBudgetRecord, SloEventRecord } from '../../contracts/records'
import type { StageDefinition, StateChange } from '../../runner/types'
import type { TopicNames } from '../../topology/names'
import { account, indexAlert, indexOutcome } from './decide'
import type { SlosConfig } from '../../slo/slos'

/**
 * The slo stage on the shared runner: two stateless indexers (alerts.deduped and
 * actions.outcomes → slo.events, keyed by SLO), and the accounting (slo.events →
 * slo.budget), whose state is slo.budget itself: one SloBudget per SLO, restored from it
 * on start and rebalance. `slos` is read per record, so an edited slos.yaml applies from
 * the next record on.
 */
export function sloStages(
  topics: TopicNames,
  prefix: string,
  slos: () => SlosConfig,
  onBudgets?: (budgets: ReadonlyArray<SloBudgetRecord>) => void,
): [
  StageDefinition<AlertRecord>,
  StageDefinition<ActionOutcomeRecord>,
  StageDefinition<SloEventRecord, SloBudgetRecord>,
] {
  const publish = (changes: ReadonlyArray<StateChange<SloBudgetRecord>>) => {
    if (!onBudgets) return
    onBudgets(changes.flatMap((c) => (c.value === null ? [] : [c.value])))
  }
  // The names tell the three runners apart (metrics, client ids). The group ids are older
  // than the names and stay as they are: existing deployments' offsets are committed there.
  return [
    {
      name: 'slo-alerts',
      groupId: `${prefix}nightshift-slo-index-alerts`,
      inputTopics: [topics.deduped],
      inputSchema: 'Alert',
      process: (alert) => indexAlert(alert, slos(), topics.sloEvents),
    },
    {
      name: 'slo-outcomes',
      groupId: `${prefix}nightshift-slo-index-outcomes`,
      inputTopics: [topics.outcomes],
      inputSchema: 'ActionOutcome',
      process: (outcome) => indexOutcome(outcome, slos(), topics.sloEvents),
    },
    {
      name: 'slo-events',
      groupId: `${prefix}nightshift-slo`,
      inputTopics: [topics.sloEvents],
      inputSchema: 'SloEvent',
      // Compacted, never deleted: a budget is small and an SLO lives long.
      state: { changelogTopic: topics.budget, schema: 'SloBudget', maxEntries: 10_000, ttlMs: 400 * 24 * 3600_000 },
      hooks: {
        restored: (_partition, changes) => publish(changes),
        committed: (_partition, changes) => publish(changes),
      },
      process(e, { state }) {
        const slo = slos().byName.get(e.slo)
        // An SLO removed from slos.yaml: its last budget stays as it was.
        if (!slo) return { emits: [], kind: 'unknown_slo' }
        return { emits: [], state: [{ key: slo.name, value: account(state.get(slo.name), e, slo) }], kind: e.kind }
      },
    },
  ]
}
