/**
 * The circuit breaker of one (action, service), pure: the stored circuit, the record time
 * and the settings in; whether the request may run, and the new circuit, out.
 *
 * closed    → every request runs; N consecutive failures open it.
 * open      → nothing runs (outcome `circuit_open`, escalated to `page`) until the
 *             cool-down has passed since it opened; then the next request is admitted as
 *             the one probe and the circuit becomes half_open.
 * half_open → the probe is in flight; nothing else runs. Its success closes the circuit,
 *             its failure re-opens it and the cool-down starts again.
 *
 * What must hold: time only comes in as `now` (record time, so replay gives the same
 * answers), and a record time older than the circuit's own never shortens a cool-down.
 */

export type CircuitState = 'closed' | 'open' | 'half_open'

/**
 * State of one circuit. Plain JSON (numbers and nulls, no undefined) so it can be
 * written as-is to a compacted changelog keyed by {@link circuitKey}.
 */
export interface Circuit {
  state: CircuitState
  /** Failures since the last success; kept while open, so the escalation can say how many. */
  consecutiveFailures: number
  /** When the circuit last opened (ms since the epoch); null while closed. */
  openedAt: number | null
  /** When the half-open probe was admitted; non-null exactly when state is half_open. */
  probeStartedAt: number | null
}

export interface CircuitSettings {
  /** Consecutive failures that open the circuit (≥ 1; validated with the config). */
  failureThreshold: number
  /**
   * How long an open circuit refuses requests before one probe may run. Also the time after
   * which a probe that never reported (worker crashed mid-probe) is given up on and a new
   * probe admitted, so it must exceed the worst-case run time of one request (all attempts).
   */
  coolDownMs: number
}

export interface Admission {
  allowed: boolean
  /** The circuit after this request (store it even when unchanged: it is cheap and idempotent). */
  circuit: Circuit
  /** True when this request is the half-open probe. */
  probe: boolean
  /** For refusals: a sentence for the `circuit_open` outcome's detail. */
  reason?: string
}

export type CircuitOutcome = 'success' | 'failure'

/** A circuit that has seen nothing yet. */
export const CLOSED_CIRCUIT: Readonly<Circuit> = Object.freeze({
  state: 'closed',
  consecutiveFailures: 0,
  openedAt: null,
  probeStartedAt: null,
})

/** The state key of the circuit of `action` against `service` (`<action>/-` when no service matched). */
export function circuitKey(action: string, service: string | null): string {
  return `${action}/${service ?? '-'}`
}

/** Decides whether a request may run through `stored` at record time `now`. */
export function admit(stored: Circuit | undefined, now: number, settings: CircuitSettings): Admission {
  const circuit: Circuit = stored ? { ...stored } : { ...CLOSED_CIRCUIT }
  switch (circuit.state) {
    case 'closed':
      return { allowed: true, circuit, probe: false }
    case 'open': {
      const openedAt = circuit.openedAt ?? now
      // A negative elapsed time (an older record) is simply "not over yet".
      if (now - openedAt < settings.coolDownMs) {
        return { allowed: false, circuit, probe: false, reason: refusal(circuit, openedAt + settings.coolDownMs) }
      }
      return { allowed: true, circuit: { ...circuit, state: 'half_open', probeStartedAt: now }, probe: true }
    }
    case 'half_open': {
      const probeStartedAt = circuit.probeStartedAt ?? now
      if (now - probeStartedAt < settings.coolDownMs) {
        return {
          allowed: false,
          circuit,
          probe: false,
          reason: `circuit half-open: a probe has been running since ${iso(probeStartedAt)}; other requests wait for its result`,
        }
      }
      // The probe never reported (its worker died): let this request be the new probe.
      return { allowed: true, circuit: { ...circuit, probeStartedAt: now }, probe: true }
    }
  }
}

/**
 * Folds the result of a request that was admitted into the circuit.
 *
 * In half_open any result is taken as the probe's: nothing else was admitted since it
 * half-opened. In open, results come from requests admitted before it opened: a failure
 * only counts, a success is ignored — only a probe may close an open circuit.
 */
export function record(
  stored: Circuit | undefined,
  outcome: CircuitOutcome,
  now: number,
  settings: CircuitSettings,
): Circuit {
  const circuit: Circuit = stored ? { ...stored } : { ...CLOSED_CIRCUIT }
  const failures = circuit.consecutiveFailures + 1
  switch (circuit.state) {
    case 'closed':
      if (outcome === 'success') return { ...CLOSED_CIRCUIT }
      if (failures >= settings.failureThreshold)
        return { state: 'open', consecutiveFailures: failures, openedAt: now, probeStartedAt: null }
      return { ...circuit, consecutiveFailures: failures }
    case 'open':
      return outcome === 'success' ? circuit : { ...circuit, consecutiveFailures: failures }
    case 'half_open': {
      if (outcome === 'success') return { ...CLOSED_CIRCUIT }
      // The fresh cool-down never starts before the previous opening or the probe.
      const openedAt = Math.max(now, circuit.openedAt ?? now, circuit.probeStartedAt ?? now)
      return { state: 'open', consecutiveFailures: failures, openedAt, probeStartedAt: null }
    }
  }
}

function refusal(circuit: Circuit, probeAt: number): string {
  return `circuit open after ${circuit.consecutiveFailures} consecutive failures; a probe may run from ${iso(probeAt)}`
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}
