/**
 * Topic and stage names, defined once. A prefix (empty in production) lets tests and
 * replays run a whole topology on their own topics.
 */
/** The stages of the pipeline, in order: what `--stage` selects and a process runs. */
export const STAGES = ['ingest', 'dedup', 'enrich', 'ratelimit', 'route', 'actions', 'slo'] as const
/** A stage of {@link STAGES}. */
export type Stage = (typeof STAGES)[number]

/**
 * The slo stage's three consumers, each named for what it consumes: alerts.deduped and
 * actions.outcomes (indexed into slo.events) and slo.events (folded into slo.budget).
 * Distinct names keep their metrics labels and Kafka client ids apart; `--stage slo`
 * runs all three.
 */
export const SLO_STAGE_NAMES = ['slo-alerts', 'slo-outcomes', 'slo-events'] as const

/**
 * The name of one runner: a stage of {@link STAGES}, or one of the slo stage's
 * consumers. It labels the runner's metrics and logs, names its Kafka client
 * (`nightshift-<name>`), and is the stage of the Decisions and dead letters it writes.
 */
export type StageName = Stage | (typeof SLO_STAGE_NAMES)[number]

/** Default topic names of the topology (before the prefix). */
export const TOPICS = {
  raw: 'alerts.raw',
  deduped: 'alerts.deduped',
  enriched: 'alerts.enriched',
  admitted: 'alerts.admitted',
  throttled: 'alerts.throttled',
  unrouted: 'alerts.unrouted',
  outcomes: 'actions.outcomes',
  sloEvents: 'slo.events',
  budget: 'slo.budget',
  decisions: 'nightshift.decisions',
  dlq: 'nightshift.dlq',
  control: 'nightshift.control',
  /** Every pause, lift and manual run, kept (not compacted): what `pauses --all` reads. */
  controlHistory: 'nightshift.control-history',
  ledger: 'nightshift.action-ledger',
} as const

export type TopicRole = keyof typeof TOPICS

/** `actions.<name>`: the topic an action's requests go to. */
export function actionTopic(action: string): string {
  return `actions.${action}`
}

/** `nightshift.<stage>-changelog`: a stateful stage's compacted state topic. */
export function changelogTopic(stage: StageName): string {
  return `nightshift.${stage}-changelog`
}

/** The subject a topic's value schema is registered under (TopicNameStrategy). */
export function valueSubject(topic: string): string {
  return `${topic}-value`
}

/** The topic names with a prefix applied (e.g. `test.abc.` for an isolated test run). */
export type TopicNames = { [R in TopicRole]: string }

export function topicNames(prefix = ''): TopicNames {
  const names = {} as TopicNames
  for (const [role, name] of Object.entries(TOPICS) as Array<[TopicRole, string]>) names[role] = `${prefix}${name}`
  return names
}
