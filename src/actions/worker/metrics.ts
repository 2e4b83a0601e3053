import { Counter, Gauge, Histogram, type Registry as MetricsRegistry } from 'prom-client'

/** Metrics of every action worker of a process. */
export interface ActionMetrics {
  outcomes: Counter<'action' | 'status'>
  attempts: Counter<'action' | 'result'>
  runSeconds: Histogram<'action'>
  inFlight: Gauge<'action'>
  escalations: Counter<'action' | 'to'>
  notEffective: Counter<'action'>
  circuitOpen: Gauge<'action' | 'service'>
  reverts: Counter<'action' | 'result'>
  held: Gauge<'action' | 'hold'>
}

/** Registers the action workers' metrics in `registry` (once per process: every worker shares them). */
export function createActionMetrics(registry: MetricsRegistry): ActionMetrics {
  const registers = [registry]
  return {
    outcomes: new Counter({
      name: 'nightshift_action_outcomes_total',
      help: 'Action outcomes by status.',
      labelNames: ['action', 'status'],
      registers,
    }),
    attempts: new Counter({
      name: 'nightshift_action_attempts_total',
      help: 'Handler attempts by result (ok, failed, timed_out).',
      labelNames: ['action', 'result'],
      registers,
    }),
    runSeconds: new Histogram({
      name: 'nightshift_action_run_seconds',
      help: 'Time from a request taking its slot to its outcome, for requests that ran.',
      labelNames: ['action'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers,
    }),
    inFlight: new Gauge({
      name: 'nightshift_action_in_flight',
      help: 'Requests running now.',
      labelNames: ['action'],
      registers,
    }),
    escalations: new Counter({
      name: 'nightshift_action_escalations_total',
      help: 'Requests handed to another action (page).',
      labelNames: ['action', 'to'],
      registers,
    }),
    notEffective: new Counter({
      name: 'nightshift_action_not_effective_total',
      help: 'Fixes that did not hold: the alert fired again within the window after a success.',
      labelNames: ['action'],
      registers,
    }),
    circuitOpen: new Gauge({
      name: 'nightshift_action_circuit_open',
      help: '1 while the circuit of (action, service) refuses requests.',
      labelNames: ['action', 'service'],
      registers,
    }),
    reverts: new Counter({
      name: 'nightshift_action_reverts_total',
      help: 'Scheduled undo steps run (log level back), by result.',
      labelNames: ['action', 'result'],
      registers,
    }),
    held: new Gauge({
      name: 'nightshift_action_held',
      help: 'Requests held now on the partitions this process owns: waiting (hold=wait) or awaiting an approval (hold=approval).',
      labelNames: ['action', 'hold'],
      registers,
    }),
  }
}
