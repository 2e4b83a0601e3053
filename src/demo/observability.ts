/**
 * Debian's `prometheus` and `prometheus-alertmanager` on loopback, with configs generated
 * into a folder: Prometheus scrapes the demo service and Nightshift, evaluates the demo's
 * rule and Nightshift's own alerting rules (topology/monitoring/nightshift-rules.yaml,
 * so they are known to load), and sends to an Alertmanager whose only receiver is
 * Nightshift's webhook, configured the way the README shows users (`webhook_configs`).
 *
 * {@link startObservability} starts one of each, as `nightshift demo` runs them; tests
 * start the pieces themselves: an Alertmanager alone ({@link startAlertmanager}, alerts
 * posted to its API or added with `amtool`), an HA pair of Prometheus
 * ({@link startPrometheus} twice, with a replica external label dropped from alerts), or
 * an HA pair of Alertmanager ({@link startAlertmanager} twice, each with `cluster`).
 *
 * Ports are free ones picked at start unless given, so nothing collides with a
 * Prometheus already on 9090 or with the stack. Alertmanager's cluster listener is off
 * unless `cluster` is given.
 */
import path from 'node:path'
import type { Logger } from '../log'
import { startAlertmanager } from './alertmanager'
import { checkObservabilityBinaries, freePort } from './programs'
import { startPrometheus, type PrometheusAlert, type PrometheusRule } from './prometheus'

export { checkObservabilityBinaries, freePort, observabilityBinaries } from './programs'
export {
  DEMO_ALERT,
  DEMO_SERVICE,
  DEMO_TEAM,
  NIGHTSHIFT_RULES,
  demoRules,
  prometheusConfig,
  startPrometheus,
  type PrometheusAlert,
  type PrometheusOptions,
  type PrometheusRule,
  type RunningPrometheus,
} from './prometheus'
export {
  alertmanagerConfig,
  startAlertmanager,
  type AlertmanagerAlert,
  type AlertmanagerCluster,
  type AlertmanagerClusterStatus,
  type AlertmanagerOptions,
  type AlertmanagerTimings,
  type PostableAlert,
  type RunningAlertmanager,
} from './alertmanager'

export interface ObservabilityOptions {
  /** Folder for configs, data and the two programs' logs (created). */
  dir: string
  /** `host:port` Prometheus scrapes as the demo service (job demo-checkout). */
  demoTarget: string
  /** `host:port` of Nightshift's /metrics (job nightshift). */
  nightshiftTarget: string
  /** Where Alertmanager posts: Nightshift's `…/webhook/alertmanager`. */
  webhookUrl: string
  /** Bearer token Alertmanager sends, when the webhook requires one. */
  webhookToken?: string
  logger: Logger
  prometheusPort?: number
  alertmanagerPort?: number
  /** Scrape and rule evaluation interval (default 1s). */
  interval?: string
  /** Alertmanager's repeat_interval: how often a still-firing group is sent again (default 10s). */
  repeatInterval?: string
  /** How long to wait for both to be ready (default 30 s). */
  readyTimeoutMs?: number
}

export interface Observability {
  readonly prometheusUrl: string
  readonly alertmanagerUrl: string
  readonly dir: string
  /** Alerts Prometheus has pending or firing. */
  alerts(): Promise<PrometheusAlert[]>
  /** Rule groups loaded, by file. */
  rules(): Promise<Array<{ name: string; file: string; rules: PrometheusRule[] }>>
  /** Scrape targets: job → health (`up`, `down`, `unknown`). */
  targets(): Promise<Record<string, string>>
  stop(): Promise<void>
}

/**
 * Starts Alertmanager and one Prometheus sending to it, configs, data and logs in
 * `options.dir`; resolves once both answer `/-/ready`. Both are stopped again when
 * starting fails.
 * @throws ConfigError when a binary is missing; NightshiftError with the program's log when it does not come up.
 */
export async function startObservability(options: ObservabilityOptions): Promise<Observability> {
  checkObservabilityBinaries()
  const log = options.logger.child({ module: 'observability' })
  const dir = path.resolve(options.dir)
  const amPort = options.alertmanagerPort ?? (await freePort())
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000
  const [am, prom] = await Promise.allSettled([
    startAlertmanager({
      dir,
      webhookUrl: options.webhookUrl,
      ...(options.webhookToken ? { webhookToken: options.webhookToken } : {}),
      ...(options.repeatInterval ? { repeatInterval: options.repeatInterval } : {}),
      logger: options.logger,
      port: amPort,
      readyTimeoutMs,
    }),
    startPrometheus({
      dir,
      alertmanager: `127.0.0.1:${amPort}`,
      demoTarget: options.demoTarget,
      nightshiftTarget: options.nightshiftTarget,
      ...(options.interval ? { interval: options.interval } : {}),
      ...(options.prometheusPort ? { port: options.prometheusPort } : {}),
      logger: options.logger,
      readyTimeoutMs,
    }),
  ])
  if (am.status === 'rejected' || prom.status === 'rejected') {
    if (am.status === 'fulfilled') await am.value.stop()
    if (prom.status === 'fulfilled') await prom.value.stop()
    throw am.status === 'rejected' ? am.reason : (prom as PromiseRejectedResult).reason
  }
  const alertmanager = am.value
  const prometheus = prom.value
  log.info({ prometheus: prometheus.url, alertmanager: alertmanager.url, dir }, 'Prometheus and Alertmanager ready')
  return {
    prometheusUrl: prometheus.url,
    alertmanagerUrl: alertmanager.url,
    dir,
    alerts: () => prometheus.alerts(),
    rules: () => prometheus.rules(),
    targets: () => prometheus.targets(),
    async stop() {
      await Promise.all([prometheus.stop(), alertmanager.stop()])
    },
  }
}
