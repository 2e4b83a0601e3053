/**
 * Debian's `prometheus-alertmanager` for the demo: one route, one receiver, Nightshift's
 * webhook through a plain `webhook_configs` (what the README shows users), short timings
 * so the demo and the tests are fast; its API v2 and `amtool` to post alerts by hand.
 * Alone by default (cluster listener off); with {@link AlertmanagerCluster} one member of
 * an HA cluster on loopback, as people run a pair.
 */
import fs from 'node:fs'
import path from 'node:path'
import { stringify } from 'yaml'
import { ERROR_CODES, NightshiftError } from '../errors'
import type { Logger } from '../log'
import {
  amtoolBinary,
  checkObservabilityBinaries,
  freePort,
  runProgram,
  startChild,
  stopChild,
  waitReady,
} from './programs'

/** Alertmanager's timings and grouping; defaults keep the demo and the tests fast. */
export interface AlertmanagerTimings {
  /** group_by of the one route (default alertname, service; `['...']`: each alert a group of its own). */
  groupBy?: string[]
  /** Default 1s. */
  groupWait?: string
  /** Default 2s. */
  groupInterval?: string
  /** How often a still-firing group is sent again (default 10s). */
  repeatInterval?: string
  /** How long an alert posted without endsAt stays firing unless posted again (default 5m, Alertmanager's). */
  resolveTimeout?: string
}

/** alertmanager.yml: one route, one receiver, Nightshift's webhook — what the README shows. */
export function alertmanagerConfig(o: AlertmanagerTimings & { webhookUrl: string; webhookToken?: string }): string {
  return stringify({
    global: { resolve_timeout: o.resolveTimeout ?? '5m' },
    route: {
      receiver: 'nightshift',
      group_by: o.groupBy ?? ['alertname', 'service'],
      group_wait: o.groupWait ?? '1s',
      group_interval: o.groupInterval ?? '2s',
      repeat_interval: o.repeatInterval ?? '10s',
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

/**
 * Membership of an HA cluster on loopback. The members gossip what they notified, and
 * the one at position n in the cluster waits n × peerTimeout before sending, so a pair
 * usually sends each notification once; not always (prometheus/alertmanager #1005, #4108).
 */
export interface AlertmanagerCluster {
  /** Port of its cluster listener on 127.0.0.1, advertised as such. */
  port: number
  /** `host:port` of the other members' cluster listeners (`--cluster.peer`, each). */
  peers: string[]
  /** `--cluster.peer-timeout`: how long each position waits before sending (Alertmanager's default 15s). */
  peerTimeout?: string
  /** `--cluster.gossip-interval` (default 200ms); notifications wait until membership settled, about ten of these. */
  gossipInterval?: string
}

/** What Alertmanager says of its cluster (`GET /api/v2/status`). */
export interface AlertmanagerClusterStatus {
  /** `ready`, `settling` or `disabled`. */
  status: string
  /** This member's name. */
  name?: string
  peers: Array<{ name: string; address: string }>
}

export interface AlertmanagerOptions extends AlertmanagerTimings {
  /** Folder for alertmanager.yml, its data and alertmanager.log (created). */
  dir: string
  /** Where Alertmanager posts: Nightshift's `…/webhook/alertmanager`. */
  webhookUrl: string
  /** Bearer token Alertmanager sends, when the webhook requires one. */
  webhookToken?: string
  logger: Logger
  /** Default: a free one. */
  port?: number
  /** How long to wait for it to be ready (default 30 s). */
  readyTimeoutMs?: number
  /** Join an HA cluster; default: none (`--cluster.listen-address=`, the listener off). */
  cluster?: AlertmanagerCluster
}

/** An alert as Alertmanager's API v2 takes it (`POST /api/v2/alerts`, what Prometheus sends). */
export interface PostableAlert {
  labels: Record<string, string>
  annotations?: Record<string, string>
  /** RFC 3339, up to nanoseconds. */
  startsAt?: string
  endsAt?: string
  generatorURL?: string
}

/** An alert as Alertmanager's API v2 lists it (`GET /api/v2/alerts`). */
export interface AlertmanagerAlert {
  fingerprint: string
  labels: Record<string, string>
  startsAt: string
  endsAt: string
  status: { state: string }
}

export interface RunningAlertmanager {
  readonly url: string
  readonly port: number
  readonly dir: string
  /** Posts alerts to its API v2, as Prometheus does. */
  post(alerts: PostableAlert[]): Promise<void>
  /** The alerts it holds. */
  alerts(): Promise<AlertmanagerAlert[]>
  /** Runs `amtool --alertmanager.url=<its url> <args…>`; resolves with what it printed. */
  amtool(args: string[]): Promise<string>
  /** Its cluster as it sees it (status `disabled` when alone). */
  cluster(): Promise<AlertmanagerClusterStatus>
  /** SIGKILL, as a crash: it neither leaves its cluster nor flushes anything; resolves once it exited. */
  kill(): Promise<void>
  stop(): Promise<void>
}

/** The command line flags of `cluster`: the listener off when there is none. */
function clusterFlags(cluster: AlertmanagerCluster | undefined): string[] {
  if (!cluster) return ['--cluster.listen-address=']
  const address = `127.0.0.1:${cluster.port}`
  return [
    `--cluster.listen-address=${address}`,
    // Said explicitly rather than left to Alertmanager's guess: the members reach each other on loopback only.
    `--cluster.advertise-address=${address}`,
    ...cluster.peers.map((peer) => `--cluster.peer=${peer}`),
    ...(cluster.peerTimeout ? [`--cluster.peer-timeout=${cluster.peerTimeout}`] : []),
    ...(cluster.gossipInterval ? [`--cluster.gossip-interval=${cluster.gossipInterval}`] : []),
  ]
}

/**
 * Writes alertmanager.yml into `o.dir` and starts Alertmanager; resolves once it answers
 * `/-/ready` (it is stopped again when it does not).
 * @throws ConfigError when the binary is missing; NightshiftError with its log when it does not come up.
 */
export async function startAlertmanager(o: AlertmanagerOptions): Promise<RunningAlertmanager> {
  const bins = checkObservabilityBinaries()
  const log = o.logger.child({ module: 'observability' })
  const dir = path.resolve(o.dir)
  fs.mkdirSync(path.join(dir, 'alertmanager-data'), { recursive: true })
  const port = o.port ?? (await freePort())
  const url = `http://127.0.0.1:${port}`
  const config = path.join(dir, 'alertmanager.yml')
  fs.writeFileSync(config, alertmanagerConfig(o))
  const child = startChild(
    'alertmanager',
    bins.alertmanager,
    [
      `--config.file=${config}`,
      `--storage.path=${path.join(dir, 'alertmanager-data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...clusterFlags(o.cluster),
      '--log.level=warn',
    ],
    path.join(dir, 'alertmanager.log'),
    log,
  )
  await waitReady(child, url, Date.now() + (o.readyTimeoutMs ?? 30_000))
  return {
    url,
    port,
    dir,
    async post(alerts) {
      const res = await fetch(`${url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
        signal: AbortSignal.timeout(5000),
      })
      if (!res.ok)
        throw new NightshiftError(ERROR_CODES.DEMO, `POST ${url}/api/v2/alerts: HTTP ${res.status} ${await res.text()}`)
    },
    async alerts() {
      const res = await fetch(`${url}/api/v2/alerts`, { signal: AbortSignal.timeout(5000) })
      if (!res.ok) throw new NightshiftError(ERROR_CODES.DEMO, `GET ${url}/api/v2/alerts: HTTP ${res.status}`)
      return (await res.json()) as AlertmanagerAlert[]
    },
    amtool: (args) => runProgram(amtoolBinary(), [`--alertmanager.url=${url}`, ...args]),
    async cluster() {
      const res = await fetch(`${url}/api/v2/status`, { signal: AbortSignal.timeout(5000) })
      if (!res.ok) throw new NightshiftError(ERROR_CODES.DEMO, `GET ${url}/api/v2/status: HTTP ${res.status}`)
      const body = (await res.json()) as { cluster: Partial<AlertmanagerClusterStatus> }
      return { status: body.cluster.status ?? 'unknown', name: body.cluster.name, peers: body.cluster.peers ?? [] }
    },
    async kill() {
      if (child.process.exitCode !== null || child.process.signalCode !== null) return
      child.process.kill('SIGKILL')
      await child.exited
    },
    stop: () => stopChild(child),
  }
}
