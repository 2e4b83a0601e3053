/**
 * The `nightshift` command. Thin on purpose: parse arguments and environment, build the
 * app (src/app.ts), run it, stop it on SIGINT/SIGTERM.
 */
import path from 'node:path'
import { Command } from 'commander'
import { buildApp } from './app'
import { addApprovalCommands } from './cli/approvals'
import { addCheckCommand } from './cli/check'
import { addConsoleCommands } from './cli/console'
import { addDlqCommands } from './cli/dlq'
import { addEpisodesCommands } from './cli/episodes'
import { addPauseCommands } from './cli/pause'
import { runSkippedRequest } from './cli/run'
import { FINGERPRINT_PATTERN } from './ingest/fingerprint'
import { addReplayCommands } from './cli/replay'
import { addRoutesCommands } from './cli/routes'
import { addSloCommands } from './cli/slo'
import { addTailCommands } from './cli/tail'
import { addTopologyCommands } from './cli/topology'
import { addTraceCommands } from './cli/trace'
import { endpointsFromEnv } from './config/endpoints'
import { ConfigError, NightshiftError, describeError } from './errors'
import { parseDuration } from './config/duration'
import { DEFAULT_HTTP_LISTEN, type WebhookAuth } from './http'
import { DEFAULT_DEDUP } from './stages/dedup/stage'
import { createLogger } from './log'
import { STAGES } from './topology/names'
import { runUntilSignal } from './cli/run-until-signal'
import { addDemoCommands, runDemoCommand } from './cli/demo'

/** NIGHTSHIFT_SESSION_TIMEOUT_MS, when set: how fast a dead instance's partitions move. */
function sessionTimeout(): { sessionTimeoutMs?: number } {
  const raw = process.env.NIGHTSHIFT_SESSION_TIMEOUT_MS
  return raw ? { sessionTimeoutMs: Number(raw) } : {}
}

function parseCount(raw: string, name: string): number {
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${name} must be a whole number ≥ 1, got "${raw}"`)
  return n
}

function parsePort(raw: string, name = '--http-port'): number {
  const port = Number(raw)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`${name} must be a port number, got "${raw}"`)
  return port
}

/**
 * Webhook credentials, from the environment only (never flags: they would show in ps).
 * With both a token and a username/password, either is accepted.
 */
function webhookAuth(): { auth?: WebhookAuth } {
  const token = process.env.NIGHTSHIFT_WEBHOOK_TOKEN
  const username = process.env.NIGHTSHIFT_WEBHOOK_USERNAME
  const password = process.env.NIGHTSHIFT_WEBHOOK_PASSWORD
  if ((username === undefined) !== (password === undefined) || username === '' || password === '') {
    throw new ConfigError(
      'set both NIGHTSHIFT_WEBHOOK_USERNAME and NIGHTSHIFT_WEBHOOK_PASSWORD (non-empty), or neither',
    )
  }
  const auth: WebhookAuth = {
    ...(token ? { bearerToken: token } : {}),
    ...(username && password ? { basic: { username, password } } : {}),
  }
  return Object.keys(auth).length > 0 ? { auth } : {}
}

function program(): Command {
  const cli = new Command('nightshift').description(
    'Turns Prometheus alerts into safe, automated operations over Kafka.',
  )
  cli
    .command('run [fingerprint]', { isDefault: true })
    .description(
      'run the Nightshift process against KAFKA_BROKERS / SCHEMA_REGISTRY_URL (default: the local stack); with <fingerprint> --action <name> --by <who> --reason <why>: run by hand a request a pause skipped, once the pause is lifted (src/cli/run.ts)',
    )
    .option('--stage <name...>', `stages to run (default: all; known: ${STAGES.join(', ')})`)
    .option(
      '--prefix <prefix>',
      'prefix of every topic and consumer group (tests, replays)',
      process.env.NIGHTSHIFT_TOPIC_PREFIX ?? '',
    )
    .option(
      '--http-host <host>',
      'webhook listen address',
      process.env.NIGHTSHIFT_HTTP_HOST ?? DEFAULT_HTTP_LISTEN.host,
    )
    .option(
      '--http-port <port>',
      'webhook listen port',
      process.env.NIGHTSHIFT_HTTP_PORT ?? String(DEFAULT_HTTP_LISTEN.port),
    )
    .option(
      '--dedup-ttl <duration>',
      'forget an alert episode not heard of for this long (record time), e.g. 48h',
      process.env.NIGHTSHIFT_DEDUP_TTL ?? '48h',
    )
    .option(
      '--dedup-max-entries <n>',
      'episodes kept in memory per partition',
      process.env.NIGHTSHIFT_DEDUP_MAX_ENTRIES ?? String(DEFAULT_DEDUP.maxEntries),
    )
    .option(
      '--action <name...>',
      'with the actions stage: run only these action workers (default: every action of actions.yaml)',
    )
    .option(
      '--config-dir <dir>',
      'folder of topics.yaml, catalog.yaml, limits.yaml, routes.yaml, actions.yaml, slos.yaml (default: topology/)',
      process.env.NIGHTSHIFT_CONFIG_DIR,
    )
    .option(
      '--metrics-port <port>',
      'without the webhook (--stage without ingest): serve /metrics, /healthz, /readyz, /api/slo, /slo on this port (on --http-host)',
      process.env.NIGHTSHIFT_METRICS_PORT,
    )
    .option('--log-level <level>', 'pino log level', process.env.LOG_LEVEL ?? 'info')
    .option('--by <name>', 'with <fingerprint>: who runs the skipped request (default: $USER)')
    .option('--reason <text>', 'with <fingerprint>: why, for the outcome and the history')
    .option(
      '--demo',
      'run the demo instead (`nightshift demo`): the whole loop with Prometheus, Alertmanager and a demo service',
    )
    .addHelpText(
      'after',
      '\nWebhook credentials come from the environment only: NIGHTSHIFT_WEBHOOK_TOKEN (bearer)\nor NIGHTSHIFT_WEBHOOK_USERNAME + NIGHTSHIFT_WEBHOOK_PASSWORD (basic); with both set, either is accepted.',
    )
    .action(
      async (
        fingerprint: string | undefined,
        opts: {
          demo?: boolean
          logLevel: string
          stage?: string[]
          action?: string[]
          configDir?: string
          metricsPort?: string
          prefix: string
          httpHost: string
          httpPort: string
          dedupTtl: string
          dedupMaxEntries: string
        },
      ) => {
        if (fingerprint !== undefined) {
          // `run` is the default command: a mistyped command name arrives here as a "fingerprint".
          if (!FINGERPRINT_PATTERN.test(fingerprint))
            throw new ConfigError(
              `"${fingerprint}" is neither a command nor an alert fingerprint (16 hex digits); see nightshift --help`,
            )
          return runSkippedRequest(fingerprint, opts)
        }
        if (opts.demo) {
          // `npm start -- --demo`: the steps are the output; logs only when something is wrong.
          const logLevel = process.argv.includes('--log-level') ? opts.logLevel : 'warn'
          await runDemoCommand({
            prefix: opts.prefix,
            httpHost: opts.httpHost,
            httpPort: parsePort(opts.httpPort),
            raiseFor: '30s',
            exit: false,
            logLevel,
          })
          return
        }
        const logger = createLogger({ level: opts.logLevel })
        const readyTimeoutMs = Number(process.env.NIGHTSHIFT_READY_TIMEOUT_MS ?? 30000)
        const app = buildApp({
          endpoints: endpointsFromEnv(),
          logger,
          readyTimeoutMs,
          stages: opts.stage,
          prefix: opts.prefix,
          http: { host: opts.httpHost, port: parsePort(opts.httpPort), ...webhookAuth() },
          dedup: {
            ttlMs: parseDuration(opts.dedupTtl, '--dedup-ttl'),
            maxEntries: parseCount(opts.dedupMaxEntries, '--dedup-max-entries'),
          },
          ...sessionTimeout(),
          ...(opts.action ? { actions: opts.action } : {}),
          ...(opts.configDir ? { configDir: path.resolve(opts.configDir) } : {}),
          ...(opts.metricsPort
            ? { opsHttp: { host: opts.httpHost, port: parsePort(opts.metricsPort, '--metrics-port') } }
            : {}),
        })
        await runUntilSignal(
          logger,
          () => app.start(),
          () => app.stop(),
          app.failure,
        )
      },
    )
  addCheckCommand(cli)
  addTopologyCommands(cli)
  addRoutesCommands(cli)
  addSloCommands(cli)
  addPauseCommands(cli)
  addApprovalCommands(cli)
  addConsoleCommands(cli)
  addTailCommands(cli)
  addDlqCommands(cli)
  addTraceCommands(cli)
  addEpisodesCommands(cli)
  addReplayCommands(cli)
  addDemoCommands(cli)
  return cli
}

program()
  .parseAsync(process.argv)
  .then(() => process.exit(0))
  .catch((err: unknown) => {
    const code = err instanceof NightshiftError ? ` [${err.code}]` : ''
    console.error(`nightshift: ${describeError(err)}${code}`)
    process.exit(1)
  })
