/**
 * The `nightshift` command. Thin on purpose: parse arguments and environment, build the
 * app (src/app.ts), run it, stop it on SIGINT/SIGTERM.
 */
import { Command } from 'commander'
import { buildApp } from './app'
import { endpointsFromEnv } from './config/endpoints'
import { NightshiftError, describeError } from './errors'
import { createLogger, type Logger } from './log'

/** Runs `start`, then waits for SIGINT/SIGTERM and runs `stop`; a second signal exits at once. */
async function runUntilSignal(log: Logger, start: () => Promise<void>, stop: () => Promise<void>): Promise<void> {
  let stopping = false
  // A pending promise does not keep Node alive; this timer does, until the stop.
  const keepAlive = setInterval(() => undefined, 1 << 30)
  const stopped = new Promise<void>((resolve, reject) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting without a clean stop')
        process.exit(130)
      }
      stopping = true
      log.info({ signal }, 'stopping')
      stop()
        .finally(() => clearInterval(keepAlive))
        .then(resolve, reject)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
  try {
    await start()
  } catch (err) {
    clearInterval(keepAlive)
    throw err
  }
  await stopped
}

function program(): Command {
  const cli = new Command('nightshift').description('Turns Prometheus alerts into safe, automated operations over Kafka.')
  cli
    .command('run', { isDefault: true })
    .description('run the Nightshift process against KAFKA_BROKERS / SCHEMA_REGISTRY_URL (default: the local stack)')
    .option('--log-level <level>', 'pino log level', process.env.LOG_LEVEL ?? 'info')
    .action(async (opts: { logLevel: string }) => {
      const logger = createLogger({ level: opts.logLevel })
      const readyTimeoutMs = Number(process.env.NIGHTSHIFT_READY_TIMEOUT_MS ?? 30000)
      const app = buildApp({ endpoints: endpointsFromEnv(), logger, readyTimeoutMs })
      await runUntilSignal(logger, () => app.start(), () => app.stop())
    })
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
