/**
 * The budget gate, pure: an action (or a route) may say "not while the service's SLO is
 * past this" — too little error budget left, or burning too fast. A gated request is not
 * run; the worker records `gated` and pages, so when the budget burns a human looks.
 *
 * The figures are recomputed at `now` from the SLO's stored bad intervals and open alerts
 * (not taken as stored, which are as of the SLO's last event), with the SLO's definition
 * from slos.yaml. No budget known for the SLO (no SLO, or nothing charged yet): not gated.
 */
import type { ActionRequestRecord, SloBudgetRecord } from '../../contracts/records'
import { budgetStatus, type BurnWindowName } from '../../slo/budget'
import { BURN_WINDOW_NAMES, type GateSettings } from '../../slo/gate-settings'
import { sloMath, type SloDefinition, type SlosConfig } from '../../slo/slos'

/**
 * Why a budget gate stops `request` at `now`: the action's own (actions.yaml) or its
 * route's (routes.yaml, carried on the request); the SLO is its service's (catalog).
 */
export function requestGateReason(
  request: ActionRequestRecord,
  actionGate: GateSettings | null,
  slos: SlosConfig | undefined,
  budgets: { get(slo: string): SloBudgetRecord | undefined } | undefined,
  now: number,
): string | undefined {
  const slo = request.alert.slo
  if (slo === null) return undefined
  const definition = slos?.byName.get(slo)
  const budget = budgets?.get(slo)
  const reasons = [actionGate ?? undefined, routeGate(request)]
    .map((gate) => gateReason(gate, definition, budget, now))
    .filter((r): r is string => r !== undefined)
  return reasons.length > 0 ? [...new Set(reasons)].join(' / ') : undefined
}

/** The gate a route put on the request, as GateSettings (a burn window it does not know: the default). */
function routeGate(request: ActionRequestRecord): GateSettings | undefined {
  const g = request.gate
  if (!g) return undefined
  const gate: { minBudgetRemaining?: number; maxBurnRate?: number; burnWindow?: BurnWindowName } = {}
  if (g.minBudgetRemaining !== null) gate.minBudgetRemaining = g.minBudgetRemaining
  if (g.maxBurnRate !== null) gate.maxBurnRate = g.maxBurnRate
  if (g.burnWindow !== null && (BURN_WINDOW_NAMES as readonly string[]).includes(g.burnWindow))
    gate.burnWindow = g.burnWindow as BurnWindowName
  return gate
}

/** Why `gate` stops a request of the SLO at `now`, or undefined when it may run. */
export function gateReason(
  gate: GateSettings | undefined,
  slo: SloDefinition | undefined,
  budget: SloBudgetRecord | undefined,
  now: number,
): string | undefined {
  if (!gate || !slo || !budget) return undefined
  if (gate.minBudgetRemaining === undefined && gate.maxBurnRate === undefined) return undefined
  const intervals = [
    ...budget.intervals.map((i) => ({ start: i.start, end: i.end })),
    ...Object.values(budget.open).map((start) => ({ start, end: null })),
  ]
  const status = budgetStatus(intervals, sloMath(slo), Math.max(now, budget.asOf))
  const reasons: string[] = []
  if (gate.minBudgetRemaining !== undefined && status.remainingRatio < gate.minBudgetRemaining) {
    reasons.push(
      `error budget of SLO ${slo.name} is at ${percent(status.remainingRatio)} (gate: at least ${percent(gate.minBudgetRemaining)})`,
    )
  }
  const window = gate.burnWindow ?? '1h'
  const burn = status.burnRates[window]
  if (gate.maxBurnRate !== undefined && burn > gate.maxBurnRate) {
    reasons.push(`SLO ${slo.name} burns its budget ${round(burn)}× over ${window} (gate: at most ${gate.maxBurnRate}×)`)
  }
  return reasons.length > 0 ? `gated: ${reasons.join('; ')}; automation stops and a human looks` : undefined
}

function percent(ratio: number): string {
  return `${round(ratio * 100)}%`
}

function round(n: number): string {
  return Number.isFinite(n) ? String(Math.round(n * 10) / 10) : String(n)
}
