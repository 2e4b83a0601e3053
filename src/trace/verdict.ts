/**
 * The verdict of an episode of an alert's story: did it fire, and if not, how far it got
 * and what stopped it there. Pure.
 */
import { actionTopic } from '../topology/names'
import { TRACE_STAGE_RANK, type TraceEvent, type TraceStage } from './story'

/** The answer to "why didn't it fire?" for one episode. */
export interface TraceVerdict {
  startsAt: string
  /** True when an action (any action) succeeded for the episode. */
  fired: boolean
  /** The furthest stage the episode reached. */
  furthest: TraceStage | 'none'
  /** One paragraph. */
  text: string
}

/** What an outcome status means for "why didn't it fire?". */
function whyOutcome(e: TraceEvent): string {
  const tail = e.reason ? ` — ${e.reason}` : ''
  switch (e.outcome) {
    case 'dry_run':
      return `it was a dry run, nothing ran${tail}`
    case 'skipped_paused':
      return `it was paused${tail}`
    case 'gated':
      return `it was gated by the SLO error budget${tail}`
    case 'circuit_open':
      return `the circuit breaker was open${tail}`
    case 'cancelled_resolved':
      return `it was cancelled: the alert resolved before it started${tail}`
    case 'skipped_duplicate':
      return `it was skipped as a duplicate of a request already run${tail}`
    case 'timed_out':
      return `it timed out${tail}`
    case 'not_effective':
      return `it ran, but the alert fired again soon after${tail}`
    case 'held':
      return `it is held: waiting before it runs (a resolve meanwhile cancels it)${tail}`
    case 'awaiting_approval':
      return `it is waiting for a person's approval (nightshift approvals)${tail}`
    case 'denied':
      return `a person denied it${tail}`
    case 'approval_expired':
      return `nobody answered its approval in time${tail}`
    default:
      return `it ended ${e.outcome ?? 'without an outcome'}${tail}`
  }
}

/**
 * Why an episode did (or did not) fire: the furthest stage its firing notification
 * reached, and what stopped it there. Only firing events count when there are any: a
 * resolved notification going further says nothing about why the alert did not fire.
 */
export function traceVerdict(startsAt: string, episodeEvents: readonly TraceEvent[]): TraceVerdict {
  const firing = episodeEvents.filter((e) => e.status === 'firing')
  const events = firing.length > 0 ? firing : episodeEvents
  const of = (kind: string) => events.filter((e) => e.kind === kind)
  const outcomes = of('outcome')
  const succeeded = outcomes.filter((e) => e.outcome === 'succeeded')
  // slo and dlq are side roads, not further along the pipeline.
  const furthest = events
    .map((e) => e.stage)
    .filter((s) => s !== 'slo' && s !== 'dlq')
    .reduce<TraceStage | 'none'>(
      (best, s) => (best === 'none' || TRACE_STAGE_RANK.get(s)! > TRACE_STAGE_RANK.get(best)! ? s : best),
      'none',
    )
  const verdict = (fired: boolean, text: string): TraceVerdict => ({ startsAt, fired, furthest, text })
  const only = firing.length === 0 ? ' Only resolved notifications of this episode were found.' : ''
  const dead = of('dead_letter')
    .map((e) => ` A record of it was dead-lettered: ${e.reason ?? 'see nightshift.dlq'}.`)
    .join('')

  if (succeeded.length > 0) {
    const others = outcomes.filter((e) => e.outcome !== 'succeeded').map((e) => `${e.action} ${e.outcome}`)
    return verdict(
      true,
      `It fired: ${succeeded.map((e) => `action ${e.action} succeeded`).join(', ')}${others.length > 0 ? ` (also: ${others.join(', ')})` : ''}.${dead}`,
    )
  }
  const no = `No action succeeded for episode ${startsAt}.`
  // A resolve-only episode: received, but as a resolve; there was never anything to act on.
  const receivedResolves = episodeEvents.filter((e) => e.kind === 'received' && e.status === 'resolved')
  if (firing.length === 0 && receivedResolves.length > 0) {
    const closedBy = episodeEvents.find((e) => e.kind === 'forwarded' && e.text.includes('closed by'))
    return verdict(
      false,
      `${no} It was received on alerts.raw as a resolve only: no firing notification of it was seen, so there was nothing to act on.` +
        (closedBy ? ` ${closedBy.text.replace(/^deduped: /, 'Dedup ')}.` : '') +
        (of('forwarded').length === 0 ? ' Dedup did not forward it (see its decision above).' : '') +
        dead,
    )
  }
  const stopped = (where: string, why: string) =>
    verdict(false, `${no} Furthest stage: ${where}. Why: ${why}.${only}${dead}`)

  if (outcomes.length > 0) {
    const byAction = new Map<string, TraceEvent>()
    for (const e of outcomes) byAction.set(e.action ?? '?', e)
    const whys = [...byAction].map(([action, e]) => `action ${action}: ${whyOutcome(e)}`)
    return stopped(`action workers (${[...byAction.keys()].map((a) => actionTopic(a)).join(', ')})`, whys.join('; '))
  }
  const requests = [...of('routed'), ...of('escalated')]
  if (requests.length > 0) {
    return stopped(
      `routed to ${[...new Set(requests.map((e) => actionTopic(e.action ?? '?')))].join(', ')}`,
      'no action outcome yet: the action worker is not running, is behind, or the outcome is still in an open transaction',
    )
  }
  const routeProblem = events.find((e) => e.stage === 'route' && e.kind !== 'routed')
  const unowned = of('unowned')[0]
  const ownerNote = unowned
    ? ` The alert was unowned (${unowned.reason ?? 'no catalog service matched'}), which routes matching team or service labels do not see.`
    : ''
  if (routeProblem) {
    const why =
      routeProblem.kind === 'unrouted'
        ? `unrouted — ${routeProblem.reason ?? 'no route with an action matched'}`
        : `${routeProblem.kind} — ${routeProblem.reason ?? ''}`
    return verdict(false, `${no} Furthest stage: route. Why: ${why}.${ownerNote}${only}${dead}`)
  }
  const throttled = of('throttled')[0]
  if (throttled) return stopped('rate limit', throttled.reason ?? 'throttled')
  if (of('admitted').length > 0)
    return stopped(
      'rate limit (admitted)',
      `not routed yet: the route stage is not running or is behind${ownerNote ? `;${ownerNote.slice(0, -1)}` : ''}`,
    )
  if (of('enriched').length > 0 || unowned) {
    return stopped(
      `enrich${unowned ? ' (unowned)' : ''}`,
      'not through the rate limit yet: the ratelimit stage is not running or is behind',
    )
  }
  const dropped = events.find((e) => e.stage === 'dedup' && e.kind !== 'forwarded')
  if (of('forwarded').length > 0)
    return stopped('dedup (forwarded)', 'not enriched yet: the enrich stage is not running or is behind')
  if (dropped) return stopped('dedup', `dropped by dedup as ${dropped.kind} — ${dropped.reason ?? ''}`)
  if (of('received').length > 0)
    return stopped('ingest (alerts.raw)', 'not through dedup yet: the dedup stage is not running or is behind')
  return verdict(false, `${no} It was never received on alerts.raw in the topics read.${dead}`)
}
