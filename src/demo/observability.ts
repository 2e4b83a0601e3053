/**
 * Debian's `prometheus` and `prometheus-alertmanager` on loopback, with configs generated
 * into a folder: Prometheus scrapes the demo service and Nightshift, evaluates the demo's
 * rule and Nightshift's own alerting rules (topology/monitoring/nightshift-rules.yaml,
 * so they are known to load), and sends to an Alertmanager whose only receiver is
 * Nightshift's webhook, configured the way the README shows users (`webhook_configs`).
 *
 * Ports are free ones picked at start unless given, so nothing collides with a
 * Prometheus already on 9090 or with the stack. Alertmanager's cluster listener is off.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { stringify } from 'yaml'
import { ConfigError, ERROR_CODES, NightshiftError } from '../errors'
import type { Logger } from '../log'
import { pause } from '../retry'

/** The rules file Nightshift ships for monitoring itself. */
export const NIGHTSHIFT_RULES = path.resolve(__dirname, '..', '..', 'topology', 'monitoring', 'nightshift-rules.yaml')

/** The demo's alerting rule: more than 10% of demo-checkout's requests fail. */
export const DEMO_ALERT = 'DemoCheckoutErrors'
export const DEMO_SERVICE = 'demo-checkout'
export const DEMO_TEAM = 'demo'

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

/** Binaries, from PATH unless PROMETHEUS_BIN / ALERTMANAGER_BIN say otherwise. */
export function observabilityBinaries(env: NodeJS.ProcessEnv = process.env): {
  prometheus: string
  alertmanager: string
} {
  return {
    prometheus: env.PROMETHEUS_BIN ?? 'prometheus',
    alertmanager: env.ALERTMANAGER_BIN ?? 'prometheus-alertmanager',
  }
}

function onPath(program: string): boolean {
  if (program.includes('/')) return fs.existsSync(program)
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, program)))
}

/**
 * @throws ConfigError naming the apt packages when a binary is missing.
 */
export function checkObservabilityBinaries(env: NodeJS.ProcessEnv = process.env): {
  prometheus: string
  alertmanager: string
} {
  const bins = observabilityBinaries(env)
  const missing = Object.entries(bins)
    .filter(([, bin]) => !onPath(bin))
    .map(([, bin]) => bin)
  if (missing.length > 0) {
    throw new ConfigError(
      `${missing.join(' and ')} not found: install them with \`apt-get install prometheus prometheus-alertmanager\` (or set PROMETHEUS_BIN / ALERTMANAGER_BIN)`,
    )
  }
  return bins
}

/** A free TCP port on 127.0.0.1 (the OS picks; closed again before it is returned). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
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

/** prometheus.yml for the demo (rule files relative to the config's folder). */
export function prometheusConfig(o: {
  interval: string
  alertmanager: string
  demoTarget: string
  nightshiftTarget: string
}): string {
  return stringify({
    global: { scrape_interval: o.interval, evaluation_interval: o.interval },
    rule_files: ['demo-rules.yaml', 'nightshift-rules.yaml'],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [o.alertmanager] }] }] },
    scrape_configs: [
      { job_name: DEMO_SERVICE, static_configs: [{ targets: [o.demoTarget], labels: { service: DEMO_SERVICE } }] },
      { job_name: 'nightshift', static_configs: [{ targets: [o.nightshiftTarget] }] },
    ],
  })
}

/** alertmanager.yml: one route, one receiver, Nightshift's webhook — what the README shows. */
export function alertmanagerConfig(o: { webhookUrl: string; webhookToken?: string; repeatInterval: string }): string {
  return stringify({
    route: {
      receiver: 'nightshift',
      group_by: ['alertname', 'service'],
      group_wait: '1s',
      group_interval: '2s',
      repeat_interval: o.repeatInterval,
    },
    receivers: [
      {
        name: 'nightshift',
        webhook_configs: [
          {
            url: o.webhookUrl,
            send_resolved: true,
            ...(o.webhookToken
              ? { http_config: { authorization: { type: 'Bearer', credentials: o.webhookToken } } }
              : {}),
          },
        ],
      },
    ],
  })
}

interface Child {
  name: string
  process: ChildProcess
  exited: Promise<void>
  logFile: string
}

function startChild(name: string, bin: string, args: string[], logFile: string, log: Logger): Child {
  const out = fs.openSync(logFile, 'a')
  const child = spawn(bin, args, { stdio: ['ignore', out, out] })
  fs.closeSync(out)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.once('error', (err) => log.error({ program: name, err }, 'could not start'))
  return { name, process: child, exited, logFile }
}

async function stopChild(child: Child): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return
  child.process.kill('SIGTERM')
  const killed = setTimeout(() => child.process.kill('SIGKILL'), 10_000)
  await child.exited
  clearTimeout(killed)
}

function tailOf(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
  if (!res.ok) throw new NightshiftError(ERROR_CODES.DEMO, `GET ${url}: HTTP ${res.status}`)
  const body = (await res.json()) as { status?: string; data?: T }
  if (body.status !== 'success' || body.data === undefined)
    throw new NightshiftError(ERROR_CODES.DEMO, `GET ${url}: ${JSON.stringify(body).slice(0, 200)}`)
  return body.data
}

async function waitReady(child: Child, url: string, deadline: number): Promise<void> {
  for (;;) {
    if (child.process.exitCode !== null) {
      throw new NightshiftError(
        ERROR_CODES.DEMO,
        `${child.name} exited with code ${child.process.exitCode}; its log (${child.logFile}):\n${tailOf(child.logFile)}`,
      )
    }
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })
      if (res.ok) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new NightshiftError(
        ERROR_CODES.DEMO,
        `${child.name} at ${url} not ready in time; its log (${child.logFile}):\n${tailOf(child.logFile)}`,
      )
    await pause(200)
  }
}

/**
 * Writes the configs, starts Alertmanager and Prometheus, and resolves once both answer
 * `/-/ready`. Both are stopped again when starting fails.
 * @throws ConfigError when a binary is missing; NightshiftError with the program's log when it does not come up.
 */
export async function startObservability(options: ObservabilityOptions): Promise<Observability> {
  const bins = checkObservabilityBinaries()
  const log = options.logger.child({ module: 'observability' })
  const dir = path.resolve(options.dir)
  fs.mkdirSync(path.join(dir, 'prometheus-data'), { recursive: true })
  fs.mkdirSync(path.join(dir, 'alertmanager-data'), { recursive: true })
  const promPort = options.prometheusPort ?? (await freePort())
  const amPort = options.alertmanagerPort ?? (await freePort())
  const prometheusUrl = `http://127.0.0.1:${promPort}`
  const alertmanagerUrl = `http://127.0.0.1:${amPort}`

  fs.writeFileSync(path.join(dir, 'demo-rules.yaml'), demoRules())
  fs.copyFileSync(NIGHTSHIFT_RULES, path.join(dir, 'nightshift-rules.yaml'))
  fs.writeFileSync(
    path.join(dir, 'prometheus.yml'),
    prometheusConfig({
      interval: options.interval ?? '1s',
      alertmanager: `127.0.0.1:${amPort}`,
      demoTarget: options.demoTarget,
      nightshiftTarget: options.nightshiftTarget,
    }),
  )
  fs.writeFileSync(
    path.join(dir, 'alertmanager.yml'),
    alertmanagerConfig({
      webhookUrl: options.webhookUrl,
      repeatInterval: options.repeatInterval ?? '10s',
      ...(options.webhookToken ? { webhookToken: options.webhookToken } : {}),
    }),
  )

  const children: Child[] = []
  const stop = async () => {
    await Promise.all(children.map(stopChild))
  }
  try {
    const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000)
    const am = startChild(
      'alertmanager',
      bins.alertmanager,
      [
        `--config.file=${path.join(dir, 'alertmanager.yml')}`,
        `--storage.path=${path.join(dir, 'alertmanager-data')}`,
        `--web.listen-address=127.0.0.1:${amPort}`,
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
      path.join(dir, 'alertmanager.log'),
      log,
    )
    children.push(am)
    const prom = startChild(
      'prometheus',
      bins.prometheus,
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'prometheus-data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--log.level=warn',
      ],
      path.join(dir, 'prometheus.log'),
      log,
    )
    children.push(prom)
    await Promise.all([waitReady(am, alertmanagerUrl, deadline), waitReady(prom, prometheusUrl, deadline)])
    log.info({ prometheus: prometheusUrl, alertmanager: alertmanagerUrl, dir }, 'Prometheus and Alertmanager ready')
  } catch (err) {
    await stop()
    throw err
  }

  return {
    prometheusUrl,
    alertmanagerUrl,
    dir,
    async alerts() {
      return (await getJson<{ alerts: PrometheusAlert[] }>(`${prometheusUrl}/api/v1/alerts`)).alerts
    },
    async rules() {
      return (
        await getJson<{ groups: Array<{ name: string; file: string; rules: PrometheusRule[] }> }>(
          `${prometheusUrl}/api/v1/rules`,
        )
      ).groups
    },
    async targets() {
      const data = await getJson<{ activeTargets: Array<{ labels: Record<string, string>; health: string }> }>(
        `${prometheusUrl}/api/v1/targets`,
      )
      return Object.fromEntries(data.activeTargets.map((t) => [t.labels.job ?? '?', t.health]))
    },
    stop,
  }
}
