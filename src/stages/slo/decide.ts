/**
 * The slo stage's decisions, pure. Two steps, because an SLO's alerts come from many
 * fingerprints (many partitions of alerts.deduped) while its budget must be folded in
 * one place:
 * - index: an alert on alerts.deduped whose labels match an SLO's indicator matchers, and
 *   an action outcome for an SLO's service, become SloEvents on slo.events keyed by the
 *   SLO's name;
 * - account: one SLO's events, in order, fold into its SloBudget (slo.budget).
 *
 * What must hold: bad time is the union of the times any indicator alert fired (from the
 * alert's own startsAt to its endsAt), charged whether or not an action fixed it; only
 * event times are used, so a replay gives the same budget. Episodes follow the episode
 * rule (src/episodes/rule.ts): a resolve closes every open episode of its fingerprint
 * that began at or before its endsAt, whatever its startsAt says, and never a newer one.
 */
import type { ActionOutcomeRecord, AlertRecord, SloBudgetRecord, SloEventRecord } from '../../contracts/records'
import { isFinalOutcome } from '../../contracts/outcome'
import type { Emit } from '../../runner/types'
import { resolveReaches, timeMs } from '../../episodes/rule'
import { BURN_WINDOWS, budgetStatus, mergeIntervals, pruneIntervals, type BadInterval } from '../../slo/budget'
import { sloMath, slosFor, type SloDefinition, type SlosConfig } from '../../slo/slos'

/** Outcome statuses of actions that ran (automation, whatever its result). */
const RAN = new Set(['succeeded', 'failed', 'timed_out'])

function parseTime(text: string | null | undefined): number | null {
  const ms = timeMs(text)
  return Number.isNaN(ms) ? null : ms
}

/** The earlier of the episode's canonical start and the start Alertmanager sent (moved earlier when it merged an HA pair). */
function startedAt(alert: Pick<AlertRecord, 'startsAt' | 'sentStartsAt'>): number | null {
  const starts = [parseTime(alert.startsAt), parseTime(alert.sentStartsAt)].filter((t): t is number => t !== null)
  return starts.length > 0 ? Math.min(...starts) : null
}

function event(topic: string, value: SloEventRecord): Emit {
  return { topic, key: value.slo, schema: 'SloEvent', value }
}

/** The SloEvents of an alert: one per SLO whose indicator matches its labels. */
export function indexAlert(alert: AlertRecord, slos: SlosConfig, eventsTopic: string): { emits: Emit[]; kind: string } {
  const matched = slosFor(slos, alert.labels)
  const emits = matched.map((slo) =>
    event(eventsTopic, {
      slo: slo.name,
      kind: 'alert',
      fingerprint: alert.fingerprint,
      startsAt: alert.startsAt,
      status: alert.status,
      startedAtMs: startedAt(alert),
      endedAtMs: alert.status === 'resolved' ? parseTime(alert.endsAt) : null,
      at: alert.receivedAt,
      action: null,
      idempotencyKey: null,
    }),
  )
  return { emits, kind: emits.length > 0 ? 'indicator' : 'not_an_indicator' }
}

/**
 * The SloEvents of an action outcome: for the SLO the catalog names for the service
 * (`slo` on the outcome) when it is defined, else for every SLO of the outcome's service.
 */
export function indexOutcome(
  outcome: ActionOutcomeRecord,
  slos: SlosConfig,
  eventsTopic: string,
): { emits: Emit[]; kind: string } {
  // A held request is not a remediation (yet): its final outcome counts.
  if (!isFinalOutcome(outcome.status)) return { emits: [], kind: 'event' }
  const named = outcome.slo === null ? undefined : slos.byName.get(outcome.slo)
  const targets = named
    ? [named]
    : outcome.service === null
      ? []
      : slos.slos.filter((s) => s.service === outcome.service)
  const emits = targets.map((slo) =>
    event(eventsTopic, {
      slo: slo.name,
      kind: 'outcome',
      fingerprint: outcome.fingerprint,
      startsAt: outcome.startsAt,
      status: outcome.status,
      startedAtMs: null,
      endedAtMs: null,
      at: outcome.finishedAt,
      action: outcome.action,
      idempotencyKey: outcome.idempotencyKey,
    }),
  )
  return { emits, kind: emits.length > 0 ? 'remediation' : 'no_slo' }
}

/** An SLO's budget before any event. */
export function emptyBudget(slo: SloDefinition): SloBudgetRecord {
  return {
    slo: slo.name,
    service: slo.service,
    team: slo.team,
    objective: slo.objective,
    asOf: 0,
    windowStart: 0,
    allowedBadMs: 0,
    badMs: 0,
    remainingRatio: 1,
    burnRates: {},
    state: 'ok',
    open: {},
    intervals: [],
    remediations: {},
    automated: 0,
    notEffective: 0,
    actedAt: {},
    lastSeen: {},
    resolvedAfterActionCount: 0,
    resolvedAfterActionMs: 0,
    recent: [],
  }
}

/** Outcomes kept in a budget's `recent` list. */
export const RECENT_REMEDIATIONS = 20

/** Folds one event into the SLO's budget; the figures are recomputed as of the latest event time. */
export function account(previous: SloBudgetRecord | undefined, e: SloEventRecord, slo: SloDefinition): SloBudgetRecord {
  const b: SloBudgetRecord = previous
    ? {
        ...previous,
        open: { ...previous.open },
        intervals: [...previous.intervals],
        remediations: { ...previous.remediations },
        actedAt: { ...previous.actedAt },
        lastSeen: { ...(previous.lastSeen ?? {}) },
        recent: [...(previous.recent ?? [])],
      }
    : emptyBudget(slo)
  // The definition may have changed (a reload): the record says what it was computed with.
  b.service = slo.service
  b.team = slo.team
  b.objective = slo.objective
  const episode = `${e.fingerprint}|${e.startsAt}`
  b.asOf = Math.max(b.asOf, e.at, e.endedAtMs ?? 0)

  const lastSeen = (b.lastSeen ??= {})
  if (e.kind === 'alert' && e.status === 'firing') {
    if (b.open[episode] === undefined) b.open[episode] = e.startedAtMs ?? e.at
    // A firing of an open episode (dedup's word that it is still re-sent) only says it is alive.
    else if (e.startedAtMs !== null) b.open[episode] = Math.min(b.open[episode], e.startedAtMs)
    lastSeen[episode] = Math.max(lastSeen[episode] ?? 0, e.at)
  } else if (e.kind === 'alert') {
    // The open episodes of the fingerprint this resolve ends: its own, and any older one
    // whose resolve was lost (a fingerprint fires once at a time); never a newer one.
    const ended = Object.keys(b.open).filter(
      (key) =>
        key === episode ||
        (key.startsWith(`${e.fingerprint}|`) &&
          resolveReaches(
            { startsAt: e.startsAt, endsAt: e.endedAtMs === null ? null : new Date(e.endedAtMs).toISOString() },
            key.slice(e.fingerprint.length + 1),
          )),
    )
    if (ended.length === 0) ended.push(episode)
    for (const key of ended) {
      const opened = b.open[key]
      const start = Math.min(opened ?? Infinity, key === episode ? (e.startedAtMs ?? Infinity) : Infinity)
      const from = Number.isFinite(start) ? start : e.at
      const end = Math.max(from, e.endedAtMs ?? e.at)
      delete b.open[key]
      delete lastSeen[key]
      b.intervals.push({ start: from, end })
      const acted = b.actedAt[key]
      // Only a resolve after the action counts as one (an alert that had ended first did not need it).
      if (acted !== undefined && end >= acted) {
        b.resolvedAfterActionCount += 1
        b.resolvedAfterActionMs += end - acted
      }
      delete b.actedAt[key]
    }
  } else {
    b.remediations[e.status] = (b.remediations[e.status] ?? 0) + 1
    if (RAN.has(e.status)) b.automated += 1
    if (e.status === 'not_effective') b.notEffective += 1
    if (e.status === 'succeeded' && b.open[episode] !== undefined && b.actedAt[episode] === undefined)
      b.actedAt[episode] = e.at
    b.recent = [
      ...b.recent,
      {
        at: e.at,
        action: e.action ?? '',
        status: e.status,
        fingerprint: e.fingerprint,
        idempotencyKey: e.idempotencyKey ?? '',
      },
    ].slice(-RECENT_REMEDIATIONS)
  }

  const math = sloMath(slo)
  const closed = mergeIntervals(b.intervals)
  const all: BadInterval[] = [...closed, ...Object.values(b.open).map((start) => ({ start, end: null }))]
  const status = budgetStatus(all, math, b.asOf)
  b.intervals = pruneIntervals(closed, math, b.asOf).map((i) => ({ start: i.start, end: i.end ?? i.start }))
  b.windowStart = status.windowStart
  b.allowedBadMs = Math.round(status.allowedMs)
  b.badMs = Math.round(status.badMs)
  b.remainingRatio = status.remainingRatio
  b.burnRates = Object.fromEntries(BURN_WINDOWS.map((w) => [w.name, finite(status.burnRates[w.name])]))
  b.state = status.state
  return b
}

/** Avro doubles can hold Infinity, JSON cannot: an objective of 1 burns "infinitely" — capped for readers. */
function finite(n: number): number {
  return Number.isFinite(n) ? n : Number.MAX_VALUE
}
