/**
 * `nightshift demo` (also `nightshift run --demo`, so `npm start -- --demo`): the whole
 * loop on the local stack in one command, with the harness of the end-to-end test
 * (src/demo/). Prints each step as it happens, then keeps everything running for a look
 * around until Ctrl-C (or stops at once with --exit).
 */
import { Command } from 'commander'
import { endpointsFromEnv } from '../config/endpoints'
import { ConfigError } from '../errors'
import { createLogger } from '../log'
import { runDemoScenario, startDemo, type RunningDemo } from '../demo'
import { createProgress } from '../progress'
import { runUntilSignal } from './run-until-signal'

export interface DemoCommandOptions {
  prefix: string
  httpHost: string
  httpPort: number
  raiseFor: string
  exit: boolean
  logLevel: string
}

/** What to look at once the loop has run. */
function lookAround(demo: RunningDemo): string {
  const nightshift = demo.app.httpAddress()!
  return [
    '',
    'Everything keeps running; have a look:',
    `  Prometheus      ${demo.observability.prometheusUrl}/alerts`,
    `  Alertmanager    ${demo.observability.alertmanagerUrl}`,
    `  SLO budgets     ${nightshift}/slo`,
    `  Nightshift      ${nightshift}/metrics`,
    `  demo-checkout   ${demo.service.url}/metrics`,
    `Break it again:   curl -X POST ${demo.service.url}/demo/break   (and /demo/fix)`,
    `Follow a topic:   npm run nightshift -- tail ${demo.prefix}actions.outcomes${demo.prefix ? ` --prefix ${demo.prefix}` : ''}`,
    'Ctrl-C stops the demo (the local stack keeps running: npm run stack:down).',
    '',
  ].join('\n')
}

/** Runs the demo against KAFKA_BROKERS / SCHEMA_REGISTRY_URL (default: the local stack). */
export async function runDemoCommand(opts: DemoCommandOptions): Promise<void> {
  const logger = createLogger({ level: opts.logLevel, destination: 'stderr' })
  const progress = createProgress()
  const token = process.env.NIGHTSHIFT_WEBHOOK_TOKEN
  if (process.env.NIGHTSHIFT_WEBHOOK_USERNAME)
    throw new ConfigError(
      'the demo configures Alertmanager with a bearer token only: unset NIGHTSHIFT_WEBHOOK_USERNAME/PASSWORD or use NIGHTSHIFT_WEBHOOK_TOKEN',
    )
  let demo: RunningDemo | undefined
  const start = async () => {
    demo = await startDemo({
      endpoints: endpointsFromEnv(),
      logger,
      progress,
      prefix: opts.prefix,
      http: { host: opts.httpHost, port: opts.httpPort },
      raiseFor: opts.raiseFor,
      ...(token ? { webhookToken: token } : {}),
    })
    await runDemoScenario({ ...demo, progress })
  }
  const stop = async () => {
    await demo?.stop()
  }
  try {
    if (opts.exit) {
      await start()
      await stop()
      return
    }
    await runUntilSignal(
      logger,
      async () => {
        await start()
        process.stdout.write(lookAround(demo!))
      },
      stop,
    )
  } catch (err) {
    await stop()
    throw err
  }
}

/** Adds `demo` to `program`. */
export function addDemoCommands(program: Command): Command {
  return program
    .command('demo')
    .summary('see the whole loop: Prometheus → Alertmanager → Nightshift → a demo service, and back')
    .description(
      "start a demo service, Nightshift (every stage) and Debian's Prometheus and Alertmanager on loopback, break the " +
        'service, and show each step: the rule fires, Alertmanager posts to the webhook, the alert is routed, the log-level ' +
        "action raises the service's logger, the SLO budget is charged, the service is fixed, the alert resolves, the level " +
        'goes back. Needs `apt-get install prometheus prometheus-alertmanager` and the local stack (npm run stack:up).',
    )
    .option('--prefix <prefix>', 'prefix of every topic and consumer group', process.env.NIGHTSHIFT_TOPIC_PREFIX ?? '')
    .option('--http-host <host>', 'webhook listen address', process.env.NIGHTSHIFT_HTTP_HOST ?? '127.0.0.1')
    .option('--http-port <port>', 'webhook listen port (0: any free port)', process.env.NIGHTSHIFT_HTTP_PORT ?? '9180')
    .option('--raise-for <duration>', 'how long the log level stays raised before it goes back', '30s')
    .option('--exit', 'stop everything once the loop has run (default: keep running until Ctrl-C)')
    .option(
      '--log-level <level>',
      'pino log level (the steps are printed whatever it is)',
      process.env.LOG_LEVEL ?? 'warn',
    )
    .action(
      async (opts: {
        prefix: string
        httpHost: string
        httpPort: string
        raiseFor: string
        exit?: boolean
        logLevel: string
      }) => {
        const port = Number(opts.httpPort)
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new ConfigError(`--http-port must be a port number, got "${opts.httpPort}"`)
        await runDemoCommand({
          prefix: opts.prefix,
          httpHost: opts.httpHost,
          httpPort: port,
          raiseFor: opts.raiseFor,
          exit: opts.exit === true,
          logLevel: opts.logLevel,
        })
      },
    )
}
