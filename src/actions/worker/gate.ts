/**
 * The budget gate, pure: an action (or a route) may say "not while the service's SLO is
 * past this" — too little error budget left, or burning too fast. A gated request is not
 * run; the worker records `gated` and pages, so when the budget burns a human looks.
 *
 * The figures are recomputed at `now` from the SLO's stored bad intervals and open alerts
 * (not taken as stored, which are as of the SLO's last event), with the SLO's definition
 * from slos.yaml. No budget known for the SLO (no SLO, or nothing charged yet): not gated.
 */
import type { SloBudgetRecord } from '../contracts/records'
import { BURN_WINDOWS, budgetStatus, type BurnWindowName } from '../stages/slo/budget'
import { sloMath } from '../stages/slo/decide'
import type { SloDefinition } from '../stages/slo/slos'

export interface GateSettings {
  /** Gated when the budget remaining (ratio, 0–1) is below this. */
  readonly minBudgetRemaining?: number
  /** Gated when the burn rate over `burnWindow` is above this. */
  readonly maxBurnRate?: number
  /** Window of `maxBurnRate` (default 1h). */
  readonly burnWindow?: BurnWindowName
}

export const BURN_WINDOW_NAMES = BURN_WINDOWS.map((w) => w.name)

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
