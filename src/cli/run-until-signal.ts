import type { Logger } from '../log'

/** Runs `start`, then waits for SIGINT/SIGTERM and runs `stop`; a second signal exits at once. */
export async function runUntilSignal(
  log: Logger,
  start: () => Promise<void>,
  stop: () => Promise<void>,
): Promise<void> {
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
