import type { Logger } from '../log'

/**
 * Runs `start`, then waits for SIGINT/SIGTERM and runs `stop`; a second signal exits at
 * once. When `failure` resolves first (a part of the process stopped for good), it
 * stops and throws that error, so the process exits non-zero saying why.
 */
export async function runUntilSignal(
  log: Logger,
  start: () => Promise<void>,
  stop: () => Promise<void>,
  failure?: Promise<Error>,
): Promise<void> {
  let stopping = false
  // A pending promise does not keep Node alive; this timer does, until the stop.
  const keepAlive = setInterval(() => undefined, 1 << 30)
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined
  const stopped = new Promise<void>((resolve, reject) => {
    onSignal = (signal: NodeJS.Signals) => {
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
    void failure?.then((err) => {
      if (stopping) return
      stopping = true
      log.error({ err }, 'stopping: a stage cannot go on')
      stop()
        .catch((stopErr: unknown) => log.warn({ err: stopErr }, 'stop after the failure did not finish cleanly'))
        .finally(() => clearInterval(keepAlive))
        .then(() => reject(err), reject)
    })
  })
  // Handled here too: a failure during start must not be an unhandled rejection.
  stopped.catch(() => undefined)
  try {
    await start()
    await stopped
  } finally {
    clearInterval(keepAlive)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
