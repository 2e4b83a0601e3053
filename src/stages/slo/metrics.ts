import { Gauge, type Registry } from 'prom-client'
import type { SloBudgetRecord } from '../../contracts/records'
import { DEFAULT_STALE_AFTER_MS, staleFrom } from '../../episodes/rule'

/**
 * The SLO gauges on /metrics, labelled by slo, service and team so Prometheus, Grafana,
 * Sloth or Pyrra can use them. Set from each budget the slo stage commits or restores,
 * i.e. as of the SLO's latest event; the stale-episode gauges are computed at scrape time
 * (staleness is the absence of events, which no event would ever update).
 */
export interface SloMetrics {
  update(budgets: ReadonlyArray<SloBudgetRecord>): void
}

export function createSloMetrics(
  registry: Registry,
  options: { staleAfterMs?: number; now?: () => number } = {},
): SloMetrics {
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS
  const clock = options.now ?? Date.now
  const latest = new Map<string, SloBudgetRecord>()
  const registers = [registry]
  const labelNames = ['slo', 'service', 'team'] as const
  const remaining = new Gauge({
    name: 'nightshift_slo_error_budget_remaining_ratio',
    help: 'Error budget left in the SLO window (1 = untouched, < 0 = overspent).',
    labelNames,
    registers,
  })
  const badSeconds = new Gauge({
    name: 'nightshift_slo_bad_seconds',
    help: 'Bad time in the SLO window (union of indicator alerts firing).',
    labelNames,
    registers,
  })
  const burn = new Gauge({
    name: 'nightshift_slo_burn_rate',
    help: 'Error budget burn rate per window (1 = the budget lasts exactly the SLO window).',
    labelNames: [...labelNames, 'window'],
    registers,
  })
  const state = new Gauge({
    name: 'nightshift_slo_alert_state',
    help: '0 ok, 1 ticket, 2 page (SRE workbook multi-window burn rates).',
    labelNames,
    registers,
  })
  const remediations = new Gauge({
    name: 'nightshift_slo_remediations',
    help: 'Action outcomes recorded against the SLO, by status.',
    labelNames: [...labelNames, 'status'],
    registers,
  })
  const notEffective = new Gauge({
    name: 'nightshift_slo_remediations_not_effective',
    help: 'Fixes for the SLO that did not hold.',
    labelNames,
    registers,
  })
  /** Each SLO's stale open episodes at `now`, and the seconds since each went stale, summed. */
  const stale = (now: number) =>
    [...latest.values()].map((b) => {
      const froms = Object.entries(b.open)
        .map(([episode, start]) => staleFrom(b.lastSeen?.[episode] ?? start, { staleAfterMs }))
        .filter((from): from is number => from !== null && now > from)
      return {
        labels: { slo: b.slo, service: b.service, team: b.team },
        count: froms.length,
        seconds: froms.reduce((sum, from) => sum + (now - from) / 1000, 0),
      }
    })
  new Gauge({
    name: 'nightshift_slo_stale_episodes',
    help: 'Indicator episodes open with no notification for longer than the staleness (NIGHTSHIFT_EPISODE_STALE_AFTER): likely a lost resolve; close with `nightshift episodes close`.',
    labelNames,
    registers,
    collect() {
      this.reset()
      for (const s of stale(clock())) this.set(s.labels, s.count)
    },
  })
  new Gauge({
    name: 'nightshift_slo_stale_open_seconds',
    help: 'Time charged to the SLO by stale episodes since they went stale, summed over them (shown apart from the bad time, still part of it).',
    labelNames,
    registers,
    collect() {
      this.reset()
      for (const s of stale(clock())) this.set(s.labels, s.seconds)
    },
  })
  const STATES: Record<string, number> = { ok: 0, ticket: 1, page: 2 }
  return {
    update(budgets) {
      for (const b of budgets) {
        latest.set(b.slo, b)
        const labels = { slo: b.slo, service: b.service, team: b.team }
        remaining.set(labels, b.remainingRatio)
        badSeconds.set(labels, b.badMs / 1000)
        state.set(labels, STATES[b.state] ?? 0)
        notEffective.set(labels, b.notEffective)
        for (const [window, rate] of Object.entries(b.burnRates)) burn.set({ ...labels, window }, rate)
        for (const [status, n] of Object.entries(b.remediations)) remediations.set({ ...labels, status }, n)
      }
    },
  }
}
