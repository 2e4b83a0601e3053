/**
 * npm run stack:up | stack:down | stack:status [-- --json] — the local Kafka (KRaft) and
 * Apicurio Registry, fetched from Maven Central and kept in .stack/ (see src/stack/).
 * `tsx scripts/stack.ts secure [--prefix p]` adds a SASL_SSL broker with ACLs beside it,
 * in the foreground until Ctrl-C (see docs/development.md).
 */
import path from 'node:path'
import { describeError } from '../src/errors'
import { createLogger } from '../src/log'
import { formatStackStatus, stackDown, stackStatusReport, stackUp } from '../src/stack/local-stack'
import { startSecureStack } from '../src/stack/secure-stack'
import { stackSettingsFromEnv } from '../src/stack/settings'

async function main(command: string | undefined): Promise<void> {
  const log = createLogger().child({ module: 'stack' })
  const settings = stackSettingsFromEnv(path.resolve(__dirname, '..'))
  switch (command) {
    case 'up': {
      const endpoints = await stackUp(settings, log)
      log.info(endpoints, 'stack ready')
      break
    }
    case 'down':
      await stackDown(settings, log)
      break
    case 'status': {
      const rows = stackStatusReport(settings)
      console.log(process.argv.includes('--json') ? JSON.stringify(rows, null, 2) : formatStackStatus(rows))
      break
    }
    case 'secure': {
      const { registryUrl } = await stackUp(settings, log)
      const at = process.argv.indexOf('--prefix')
      const prefix = at > 0 ? (process.argv[at + 1] ?? '') : ''
      const { broker, envFile } = await startSecureStack(settings, log, { prefix, registryUrl })
      log.info(
        { brokers: broker.brokers, envFile, prefix },
        'secured broker ready; `source` the env file to use it; Ctrl-C stops it',
      )
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve)
        process.once('SIGTERM', resolve)
      })
      await broker.stop()
      break
    }
    default:
      console.error('usage: tsx scripts/stack.ts up|down|status [--json] | secure [--prefix p]')
      process.exitCode = 2
  }
}

main(process.argv[2]).catch((err: unknown) => {
  console.error(`stack ${process.argv[2] ?? ''}: ${describeError(err)}`)
  process.exit(1)
})
