/**
 * A budget gate's thresholds: "not while the service's SLO is past this". Written by
 * users in two files (actions.yaml per action, routes.yaml per route) and checked by the
 * action worker (actions/worker/gate.ts), so it lives with the budget math both read.
 */
import { BURN_WINDOWS, type BurnWindowName } from './budget'

/** What a gate stops a request on; neither threshold set: it stops nothing. */
export interface GateSettings {
  /** Gated when the budget remaining (ratio, 0–1) is below this. */
  readonly minBudgetRemaining?: number
  /** Gated when the burn rate over `burnWindow` is above this. */
  readonly maxBurnRate?: number
  /** Window of `maxBurnRate` (default 1h). */
  readonly burnWindow?: BurnWindowName
}

/** The burn windows a gate may name, shortest first. */
export const BURN_WINDOW_NAMES: readonly BurnWindowName[] = BURN_WINDOWS.map((w) => w.name)
