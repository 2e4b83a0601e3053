/**
 * `nightshift slo …`: `validate` checks topology/slos.yaml without a broker; `report`
 * prints each SLO's objective, budget left, burn rates, bad minutes and remediations
 * (a table, or `--json`), read from slo.budget. Errors are thrown: main prints them.
 */
import path from 'node:path'
import type { Command } from 'commander'
import { endpointsFromEnv, kafkaSettings } from '../config/endpoints'
import { staleAfterFromEnv } from '../episodes/rule'
import { Registry } from '../kafka'
import { createLogger, type Logger } from '../log'
import { readBudgets } from '../stages/slo/read-budgets'
import { formatSloReport, sloReport } from '../stages/slo/report'
import { SLOS_FILE, loadSlosFile } from '../slo/slos'
import { topicNames } from '../topology/names'

/** What the commands read besides Kafka; tests replace them. */
export interface SloCommandDeps {
  env?: NodeJS.ProcessEnv
  print?: (text: string) => void
  logger?: Logger
  now?: () => number
}

export function addSloCommands(cli: Command, deps: SloCommandDeps = {}): void {
  const print = deps.print ?? ((text: string) => process.stdout.write(`${text}\n`))
  const slo = cli.command('slo').description('SLO error budgets: check the definitions, report the budgets')
  slo
    .command('validate')
    .description('check topology/slos.yaml (or --file) without a broker')
    .option('--file <file>', 'the SLO file', SLOS_FILE)
    .action((opts: { file: string }) => {
      const config = loadSlosFile(path.resolve(opts.file))
      print(`${config.file}: valid (${config.slos.length} SLO${config.slos.length === 1 ? '' : 's'})`)
    })
  slo
    .command('report')
    .description(
      'each SLO: objective, budget left, burn rates (5m…3d), bad minutes, remediations and how many did not hold',
    )
    .option('--file <file>', 'the SLO file', SLOS_FILE)
    .option('--prefix <prefix>', 'topic prefix of the run to report on', process.env.NIGHTSHIFT_TOPIC_PREFIX ?? '')
    .option('--json', 'print JSON (one object per SLO) instead of a table')
    .option('--log-level <level>', 'pino log level (stderr)', 'warn')
    .action(async (opts: { file: string; prefix: string; json?: boolean; logLevel: string }) => {
      const config = loadSlosFile(path.resolve(opts.file))
      const endpoints = endpointsFromEnv(deps.env ?? process.env)
      const logger = deps.logger ?? createLogger({ level: opts.logLevel, destination: 'stderr' })
      const budgets = await readBudgets(
        kafkaSettings(endpoints, 'nightshift-cli', logger),
        new Registry(endpoints.registryUrl, endpoints.registryAccess),
        topicNames(opts.prefix).budget,
      )
      const rows = sloReport(config, budgets, (deps.now ?? Date.now)(), staleAfterFromEnv(deps.env ?? process.env))
      print(opts.json ? JSON.stringify(rows, null, 2) : formatSloReport(rows))
    })
}
