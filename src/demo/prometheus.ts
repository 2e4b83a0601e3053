/**
 * Debian's `prometheus` for the demo: the demo's alerting rule (and Nightshift's own
 * rules, so they are known to load and evaluate), a config scraping the demo service and
 * Nightshift, sending to one Alertmanager, optionally as one replica of an HA pair
 * (an external `replica` label, dropped from alerts by alert_relabel_configs).
 */
import fs from 'node:fs'
import path from 'node:path'
import { stringify } from 'yaml'
import type { Logger } from '../log'
import { checkObservabilityBinaries, freePort, getJson, startChild, stopChild, waitReady, type Child } from './programs'

/** The rules file Nightshift ships for monitoring itself. */
export const NIGHTSHIFT_RULES = path.resolve(__dirname, '..', '..', 'topology', 'monitoring', 'nightshift-rules.yaml')

/** The demo's alerting rule: more than 10% of demo-checkout's requests fail. */
export const DEMO_ALERT = 'DemoCheckoutErrors'
export const DEMO_SERVICE = 'demo-checkout'
export const DEMO_TEAM = 'demo'

/** A rule as Prometheus' /api/v1/rules reports it. */
export interface PrometheusRule {
  name: string
  type: string
  health: string
  lastError?: string
  state?: string
}

/** An alert as Prometheus' /api/v1/alerts reports it. */
export interface PrometheusAlert {
  labels: Record<string, string>
  state: 'pending' | 'firing' | string
  activeAt: string
}

/** The demo's rule file: the error ratio of demo-checkout over 5 s above 10%. */
export function demoRules(): string {
  return stringify({
    groups: [
      {
        name: 'demo-checkout',
        rules: [
          {
            alert: DEMO_ALERT,
            expr:
              'sum by (service) (rate(demo_checkout_requests_total{outcome="error"}[5s]))\n' +
              '  / sum by (service) (rate(demo_checkout_requests_total[5s])) > 0.1',
            labels: { severity: 'critical', team: DEMO_TEAM },
            annotations: {
              summary: 'demo-checkout fails {{ $value | humanizePercentage }} of its requests',
              runbook_url: 'https://runbooks.example.com/demo/checkout-errors',
            },
          },
        ],
      },
    ],
  })
}

const DEMO_RULES_FILE = 'demo-rules.yaml'
const NIGHTSHIFT_RULES_FILE = 'nightshift-rules.yaml'

/** Writes `content` unless the file already holds it; by rename, so a Prometheus reading it never sees half. */
function writeIfChanged(file: string, content: string): void {
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === content) return
  const tmp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(tmp, content)
  fs.renameSync(tmp, file)
}

/** prometheus.yml for the demo (rule files relative to the config's folder unless given as paths). */
export function prometheusConfig(o: {
  interval: string
  alertmanager: string
  demoTarget: string
  nightshiftTarget?: string
  ruleFiles?: string[]
  externalLabels?: Record<string, string>
  dropAlertLabels?: readonly string[]
}): string {
  const drop = o.dropAlertLabels ?? []
  return stringify({
    global: {
      scrape_interval: o.interval,
      evaluation_interval: o.interval,
      ...(o.externalLabels ? { external_labels: o.externalLabels } : {}),
    },
    rule_files: o.ruleFiles ?? [DEMO_RULES_FILE, NIGHTSHIFT_RULES_FILE],
    alerting: {
      ...(drop.length > 0
        ? { alert_relabel_configs: [{ action: 'labeldrop', regex: drop.map(escapeRegex).join('|') }] }
        : {}),
      alertmanagers: [{ static_configs: [{ targets: [o.alertmanager] }] }],
    },
    scrape_configs: [
      { job_name: DEMO_SERVICE, static_configs: [{ targets: [o.demoTarget], labels: { service: DEMO_SERVICE } }] },
      ...(o.nightshiftTarget ? [{ job_name: 'nightshift', static_configs: [{ targets: [o.nightshiftTarget] }] }] : []),
    ],
  })
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

export interface PrometheusOptions {
  /** Folder for prometheus.yml, its data and its log (created). */
  dir: string
  /** Folder of the rule files, written there if missing (default `dir`); an HA pair shares one. */
  rulesDir?: string
  /** Name in logs and errors, and of the log file (default `prometheus`). */
  name?: string
  /** `host:port` of the Alertmanager it sends to (it need not be up yet). */
  alertmanager: string
  /** `host:port` it scrapes as the demo service (job demo-checkout). */
  demoTarget: string
  /** `host:port` of Nightshift's /metrics (job nightshift); none: not scraped. */
  nightshiftTarget?: string
  /** Scrape and rule evaluation interval (default 1s). */
  interval?: string
  /** global.external_labels, e.g. `{ replica: 'a' }` for one of an HA pair. */
  externalLabels?: Record<string, string>
  /** Labels dropped from alerts before they are sent (alert_relabel_configs labeldrop), e.g. `['replica']`. */
  dropAlertLabels?: string[]
  /** `--rules.alert.resend-delay`: how often a firing alert is sent again (Prometheus' default 1m). */
  resendDelay?: string
  /** Default: a free one. */
  port?: number
  logger: Logger
  /** How long to wait for it to be ready (default 30 s). */
  readyTimeoutMs?: number
}

export interface RunningPrometheus {
  readonly url: string
  readonly dir: string
  /** Alerts it has pending or firing. */
  alerts(): Promise<PrometheusAlert[]>
  /** Rule groups loaded, by file. */
  rules(): Promise<Array<{ name: string; file: string; rules: PrometheusRule[] }>>
  /** Scrape targets: job → health (`up`, `down`, `unknown`). */
  targets(): Promise<Record<string, string>>
  stop(): Promise<void>
}

/**
 * Writes the rule files and prometheus.yml and starts Prometheus; resolves once it
 * answers `/-/ready` (it is stopped again when it does not).
 * @throws ConfigError when the binary is missing; NightshiftError with its log when it does not come up.
 */
export async function startPrometheus(o: PrometheusOptions): Promise<RunningPrometheus> {
  const bins = checkObservabilityBinaries()
  const name = o.name ?? 'prometheus'
  const log = o.logger.child({ module: 'observability' })
  const dir = path.resolve(o.dir)
  const rulesDir = path.resolve(o.rulesDir ?? o.dir)
  fs.mkdirSync(path.join(dir, 'prometheus-data'), { recursive: true })
  fs.mkdirSync(rulesDir, { recursive: true })
  const port = o.port ?? (await freePort())
  const url = `http://127.0.0.1:${port}`
  writeIfChanged(path.join(rulesDir, DEMO_RULES_FILE), demoRules())
  writeIfChanged(path.join(rulesDir, NIGHTSHIFT_RULES_FILE), fs.readFileSync(NIGHTSHIFT_RULES, 'utf8'))
  const config = path.join(dir, 'prometheus.yml')
  fs.writeFileSync(
    config,
    prometheusConfig({
      interval: o.interval ?? '1s',
      alertmanager: o.alertmanager,
      demoTarget: o.demoTarget,
      ...(o.nightshiftTarget ? { nightshiftTarget: o.nightshiftTarget } : {}),
      ...(rulesDir === dir
        ? {}
        : { ruleFiles: [path.join(rulesDir, DEMO_RULES_FILE), path.join(rulesDir, NIGHTSHIFT_RULES_FILE)] }),
      ...(o.externalLabels ? { externalLabels: o.externalLabels } : {}),
      ...(o.dropAlertLabels ? { dropAlertLabels: o.dropAlertLabels } : {}),
    }),
  )
  const child: Child = startChild(
    name,
    bins.prometheus,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'prometheus-data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...(o.resendDelay ? [`--rules.alert.resend-delay=${o.resendDelay}`] : []),
      '--log.level=warn',
    ],
    path.join(dir, `${name}.log`),
    log,
  )
  await waitReady(child, url, Date.now() + (o.readyTimeoutMs ?? 30_000))
  return {
    url,
    dir,
    async alerts() {
      return (await getJson<{ alerts: PrometheusAlert[] }>(`${url}/api/v1/alerts`)).alerts
    },
    async rules() {
      return (
        await getJson<{ groups: Array<{ name: string; file: string; rules: PrometheusRule[] }> }>(`${url}/api/v1/rules`)
      ).groups
    },
    async targets() {
      const data = await getJson<{ activeTargets: Array<{ labels: Record<string, string>; health: string }> }>(
        `${url}/api/v1/targets`,
      )
      return Object.fromEntries(data.activeTargets.map((t) => [t.labels.job ?? '?', t.health]))
    },
    stop: () => stopChild(child),
  }
}
