/**
 * `nightshift check [--config-dir <dir>]`: the offline check of every file teams own,
 * like `amtool check-config`. Every problem of every file, and of the references between
 * them, is reported at once; any problem is a ConfigError (main prints it and exits 1).
 */
import path from 'node:path'
import { Command } from 'commander'
import { SchemaSet } from '../contracts/schemas'
import { ConfigError } from '../errors'
import { SHIPPED_CONFIG_DIR, checkConfig, formatProblems, type CheckedConfig } from '../config/check'
import { allRoutes } from '../stages/route/config'

/** What the command reads and writes; tests replace them. */
export interface CheckCommandDeps {
  /** Where the summary goes (default: stdout). */
  print?: (text: string) => void
  /** The folder of the `.avsc` contracts (default: schemas/). */
  schemasDir?: string
  /** The folder checked when --config-dir and NIGHTSHIFT_CONFIG_DIR are not given (default: topology/). */
  defaultConfigDir?: string
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

/** The summary of a clean folder: one line per file with what it holds. */
export function formatCheckSummary(dir: string, c: CheckedConfig): string {
  const lines: Array<[string, string]> = []
  if (c.topics)
    lines.push([
      c.topics.file,
      `${plural(c.topics.topics.length, 'topic')}, ${plural(c.topics.actions.length, 'action')}`,
    ])
  if (c.catalog) {
    const teams = new Set(c.catalog.services.map((s) => s.team))
    lines.push([c.catalog.file, `${plural(c.catalog.services.length, 'service')} of ${plural(teams.size, 'team')}`])
  }
  if (c.limits)
    lines.push([
      c.limits.file,
      `${plural(c.limits.teams.size, 'team override')}, ${plural(c.limits.services.size, 'service override')}`,
    ])
  if (c.routes) {
    const all = allRoutes(c.routes)
    lines.push([
      c.routes.file,
      `${plural(all.length, 'route')}, ${all.filter((r) => r.action !== null).length} with an action`,
    ])
  }
  if (c.actions)
    lines.push([
      c.actions.file,
      `${plural(c.actions.actions.size, 'action')}${c.actions.dryRun ? ', dry run on (nothing runs)' : ''}`,
    ])
  if (c.slos) lines.push([c.slos.file, plural(c.slos.slos.length, 'SLO')])
  const width = Math.max(...lines.map(([f]) => f.length))
  return [`${dir}: OK`, ...lines.map(([file, what]) => `  ${file.padEnd(width)}  ${what}`)].join('\n')
}

/** Adds `check` to `program`. */
export function addCheckCommand(program: Command, deps: CheckCommandDeps = {}): Command {
  const print = deps.print ?? ((text: string) => process.stdout.write(`${text}\n`))
  return program
    .command('check')
    .summary('check every config file and the references between them, without a broker')
    .description(
      'check topics.yaml, catalog.yaml, limits.yaml, routes.yaml, actions.yaml (with its custom actions) and slos.yaml ' +
        'of the config folder, and every reference between them (routes → actions → topics, catalog SLOs → slos.yaml, ' +
        'route params → catalog endpoints, limits overrides → catalog). Every problem is reported at once; exit status 1 on any ' +
        '(like amtool check-config). `nightshift run` refuses to start on the same problems.',
    )
    .option('--config-dir <dir>', 'the config folder (default: topology/)', process.env.NIGHTSHIFT_CONFIG_DIR)
    .action((opts: { configDir?: string }) => {
      const dir =
        opts.configDir === undefined ? (deps.defaultConfigDir ?? SHIPPED_CONFIG_DIR) : path.resolve(opts.configDir)
      const result = checkConfig(dir, { schemas: SchemaSet.load(deps.schemasDir) })
      const n = result.problems.length
      if (n > 0) throw new ConfigError(`${result.dir}: ${plural(n, 'problem')}:\n${formatProblems(result.problems)}`)
      print(formatCheckSummary(result.dir, result.loaded))
      for (const w of result.warnings) print(`warning: ${w.file}: ${w.message}`)
    })
}
