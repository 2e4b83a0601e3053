/**
 * The shipped alerting rules and Grafana dashboard for Nightshift itself name only
 * metrics the code registers (a renamed metric would silently break them).
 */
import fs from 'node:fs'
import path from 'node:path'
import { Registry } from 'prom-client'
import YAML from 'yaml'
import { createActionMetrics } from '../../src/actions/worker/metrics'
import { createConfigMetrics } from '../../src/config/watched-file'
import { createIngestMetrics } from '../../src/http/metrics'
import { createStageMetrics } from '../../src/runner/metrics'
import { createSloMetrics } from '../../src/stages/slo/metrics'

const DIR = path.resolve(__dirname, '..', '..', 'topology', 'monitoring')

async function registered(): Promise<Map<string, string>> {
  const registry = new Registry()
  createStageMetrics(registry)
  createActionMetrics(registry)
  createConfigMetrics(registry)
  createIngestMetrics(registry)
  createSloMetrics(registry)
  return new Map((await registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type)]))
}

/** Metric names in a PromQL expression that are ours. */
function ours(expr: string): string[] {
  return [...expr.matchAll(/\bnightshift_[a-z_]+/g)].map((m) => m[0])
}

/** A histogram's series names resolve to the histogram. */
function base(name: string, known: Map<string, string>): string | undefined {
  if (known.has(name)) return name
  const stem = name.replace(/_(bucket|sum|count)$/, '')
  return known.get(stem) === 'histogram' ? stem : undefined
}

const rules = YAML.parse(fs.readFileSync(path.join(DIR, 'nightshift-rules.yaml'), 'utf8')) as {
  groups: Array<{ rules: Array<{ alert: string; expr: string }> }>
}
const dashboard = JSON.parse(fs.readFileSync(path.join(DIR, 'grafana-dashboard.json'), 'utf8')) as {
  uid: string
  panels: Array<{ id: number; title: string; targets: Array<{ expr: string }> }>
}

describe('Nightshift monitoring files', () => {
  it.each(rules.groups.flatMap((g) => g.rules.map((r) => [r.alert, r.expr] as const)))(
    'rule %s names registered metrics',
    async (_alert, expr) => {
      const known = await registered()
      expect(ours(expr).filter((name) => base(name, known) === undefined)).toEqual([])
    },
  )

  it.each(dashboard.panels.map((p) => [p.title, p.targets.map((t) => t.expr)] as const))(
    'dashboard panel %s names registered metrics',
    async (_title, exprs) => {
      const known = await registered()
      expect(exprs.length).toBeGreaterThan(0)
      for (const expr of exprs) {
        expect(ours(expr).length).toBeGreaterThan(0)
        expect(ours(expr).filter((name) => base(name, known) === undefined)).toEqual([])
      }
    },
  )

  it('the dashboard has unique panel ids and a stable uid', () => {
    expect(dashboard.uid).toBe('nightshift')
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length)
  })

  it('covers what an operator looks at first: lag, DLQ, circuits, reload failures', () => {
    const everything = [
      ...rules.groups.flatMap((g) => g.rules.map((r) => r.expr)),
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
    ].join('\n')
    for (const metric of [
      'nightshift_stage_consumer_lag',
      'nightshift_stage_dead_letters_total',
      'nightshift_action_circuit_open',
      'nightshift_config_last_reload_ok',
    ]) {
      expect(everything).toContain(metric)
    }
  })
})
