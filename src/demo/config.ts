/**
 * The Nightshift config folder the demo runs with: the shipped topics.yaml and
 * limits.yaml (plus a generous limit for the demo team, so running the demo again and
 * again is never throttled), and a catalog, SLO, route and actions file of its own for
 * `demo-checkout`, whose admin endpoint is the demo service's actuator.
 */
import fs from 'node:fs'
import path from 'node:path'
import { parse, stringify } from 'yaml'
import { DEMO_ALERT, DEMO_SERVICE, DEMO_TEAM } from './observability'
import { DEMO_LOGGER } from './service'

export const DEMO_SLO = 'demo-checkout-availability'
export const DEMO_ROUTE = 'demo-checkout-log-level'
const SHIPPED = path.resolve(__dirname, '..', '..', 'topology')

export interface DemoConfigOptions {
  /** Base URL of the demo service (`http://127.0.0.1:<port>`). */
  serviceUrl: string
  /** How long the log level stays raised before the worker puts it back (e.g. `20s`). */
  raiseFor: string
  /** Where the workers keep artifacts. */
  artifactsDir: string
}

/** Writes the demo's config files into `dir` (created); returns `dir`. */
export function writeDemoConfig(dir: string, o: DemoConfigOptions): string {
  fs.mkdirSync(dir, { recursive: true })
  fs.copyFileSync(path.join(SHIPPED, 'topics.yaml'), path.join(dir, 'topics.yaml'))

  const limits = parse(fs.readFileSync(path.join(SHIPPED, 'limits.yaml'), 'utf8')) as {
    teams?: Record<string, unknown>
  }
  limits.teams = { ...(limits.teams ?? {}), [DEMO_TEAM]: { alert: { rate: '600/1h', burst: 100 } } }
  fs.writeFileSync(
    path.join(dir, 'limits.yaml'),
    `# The shipped limits, and room for the demo team.\n${stringify(limits)}`,
  )

  const files: Record<string, unknown> = {
    'catalog.yaml': {
      services: [
        {
          name: DEMO_SERVICE,
          team: DEMO_TEAM,
          tier: 'tier-1',
          runbook: 'https://runbooks.example.com/demo/checkout',
          slo: DEMO_SLO,
          matchers: [`service="${DEMO_SERVICE}"`],
          endpoints: { admin: `${o.serviceUrl}/actuator` },
        },
      ],
    },
    'slos.yaml': {
      slos: [
        {
          name: DEMO_SLO,
          service: DEMO_SERVICE,
          team: DEMO_TEAM,
          objective: 0.99,
          window: '1d',
          budgeting: 'Occurrences',
          indicator: { matchers: [`service="${DEMO_SERVICE}"`, 'severity=~"warning|critical"'] },
          description: 'The demo checkout serves its requests (1% of a day: 14m24s of budget).',
        },
      ],
    },
    'routes.yaml': {
      route: {
        name: 'root',
        routes: [
          {
            name: DEMO_ROUTE,
            matchers: [`service="${DEMO_SERVICE}"`, `alertname="${DEMO_ALERT}"`],
            action: 'log-level',
            params: {
              url: '{{ endpoints.admin }}/loggers',
              logger: DEMO_LOGGER,
              level: 'DEBUG',
              duration: o.raiseFor,
              alert: '{{ labels.alertname }}',
            },
          },
        ],
      },
    },
    'actions.yaml': {
      dryRun: false,
      artifactsDir: o.artifactsDir,
      notEffectiveWindow: '30m',
      defaults: {
        timeout: '10s',
        maxAttempts: 3,
        backoff: { initial: '500ms', max: '5s' },
        concurrency: 4,
        perServiceConcurrency: 2,
        escalateTo: null,
      },
      actions: { 'log-level': { config: { flavour: 'spring', defaultDuration: o.raiseFor, maxDuration: '1h' } } },
    },
  }
  for (const [file, content] of Object.entries(files)) {
    fs.writeFileSync(
      path.join(dir, file),
      `# Written by the Nightshift demo (src/demo/config.ts).\n${stringify(content)}`,
    )
  }
  return dir
}
