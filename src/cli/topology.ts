/**
 * `nightshift topology …`: validate and apply `topology/topics.yaml`. Errors are thrown,
 * not printed: main turns a NightshiftError into `nightshift: <message> [<code>]` and
 * exit code 1.
 */
import path from 'node:path'
import { Command } from 'commander'
import { endpointsFromEnv, kafkaSettings } from '../config/endpoints'
import { SchemaSet } from '../contracts/schemas'
import { KafkaAdmin, Registry } from '../kafka'
import { aclCommands } from '../kafka/acls'
import { createLogger, type Logger } from '../log'
import { createProgress } from '../progress'
import { SUBJECT_COMPATIBILITY, applyTopology, type ApplyReport } from '../topology/apply'
import { TOPICS_FILE, loadTopicsFile, planTopology, type TopicsFile } from '../topology/topics-file'

/** What the commands read and write besides the network; tests replace them. */
export interface TopologyCommandDeps {
  env?: NodeJS.ProcessEnv
  /** Where the human summary goes (default: stdout). */
  print?: (text: string) => void
  /** The logger (default: one at --log-level, pretty at a terminal). */
  logger?: Logger
  /** The folder of the `.avsc` contracts (default: schemas/). */
  schemasDir?: string
  /** Where progress goes (default: stderr). */
  progressStream?: { write(text: string): unknown; isTTY?: boolean }
}

function loadFiles(
  file: string | undefined,
  schemasDir: string | undefined,
): { schemas: SchemaSet; topology: TopicsFile } {
  const schemas = SchemaSet.load(schemasDir)
  return { schemas, topology: loadTopicsFile(schemas, file === undefined ? TOPICS_FILE : path.resolve(file)) }
}

function list(names: string[]): string {
  return names.length > 0 ? `: ${names.join(', ')}` : ''
}

/** The summary `topology apply` prints. */
export function formatApplyReport(report: ApplyReport, file: string, prefix: string): string {
  const verb = report.dryRun ? 'would create' : 'created'
  const lines = [
    `${report.dryRun ? 'dry run of ' : ''}${file}${prefix ? ` with prefix "${prefix}"` : ''}`,
    `  ${verb} ${report.created.length} topic(s)${list(report.created)}`,
    `  existing ${report.existing.length} topic(s)${list(report.existing)}`,
  ]
  if (report.dryRun) {
    lines.push(
      `  would register ${report.wouldRegister.length} subject(s) with ${SUBJECT_COMPATIBILITY} compatibility:`,
    )
    for (const s of report.wouldRegister) lines.push(`    ${s.subject}  ${s.schema}`)
  } else {
    lines.push(`  registered ${report.registered.length} subject(s) with ${SUBJECT_COMPATIBILITY} compatibility:`)
    for (const s of report.registered) lines.push(`    ${s.subject}  ${s.schema}  id ${s.id}`)
  }
  for (const d of report.drift)
    lines.push(`  warning: existing topic ${d.topic} left unchanged: ${d.differences.join('; ')}`)
  return lines.join('\n')
}

/** Adds the `topology` command group (`apply`, `validate`) to `program`. */
export function addTopologyCommands(program: Command, deps: TopologyCommandDeps = {}): Command {
  const print = deps.print ?? ((text: string) => process.stdout.write(`${text}\n`))
  const topology = program
    .command('topology')
    .description('create the topics of topology/topics.yaml and register their schemas')

  /** `topology apply` and its short form `apply`: the same command. */
  const withApply = (command: Command) =>
    command
      .summary('create the missing topics and register their schemas')
      .description(
        "create the missing topics and register each topic's schema under <prefix><topic>-value with BACKWARD compatibility, " +
          'against KAFKA_BROKERS / SCHEMA_REGISTRY_URL (default: the local stack). Safe to run again; existing topics are never changed, ' +
          'differences are reported.',
      )
      .option('--prefix <prefix>', 'prepend to every topic and subject name (e.g. test.abc.)', '')
      .option('--file <path>', 'topics file (default: topology/topics.yaml)')
      .option('--dry-run', 'report what would be created and registered; change nothing')
      .option('--log-level <level>', 'pino log level', process.env.LOG_LEVEL ?? 'info')
      .option(
        '--print-acls',
        'print the kafka-acls.sh commands that grant a Nightshift principal what it needs for --prefix; connect to nothing',
      )
      .option('--principal <principal>', 'the principal --print-acls grants to', 'User:nightshift')
      .action(
        async (opts: {
          prefix: string
          file?: string
          dryRun?: boolean
          logLevel: string
          printAcls?: boolean
          principal: string
        }) => {
          const { schemas, topology: topics } = loadFiles(opts.file, deps.schemasDir)
          const plan = planTopology(topics, opts.prefix) // rejects a bad prefix before any connection
          const endpoints = endpointsFromEnv(deps.env)
          if (opts.printAcls) {
            const lines = aclCommands({
              prefix: opts.prefix,
              principal: opts.principal,
              topics: plan.topics.map((t) => t.name),
              bootstrap: endpoints.brokers.join(','),
            })
            print(lines.join('\n'))
            return
          }
          const logger = deps.logger ?? createLogger({ level: opts.logLevel, destination: 'stderr' })
          const registry = new Registry(endpoints.registryUrl, endpoints.registryAccess)
          if (!opts.dryRun) await registry.ping()
          const admin = await KafkaAdmin.connect(kafkaSettings(endpoints, 'nightshift-topology', logger))
          try {
            const progress = createProgress(deps.progressStream ? { stream: deps.progressStream } : {})
            const report = await applyTopology({
              admin,
              registry,
              schemas,
              topology: topics,
              prefix: opts.prefix,
              logger,
              dryRun: opts.dryRun === true,
              progress,
            })
            // The summary comes after the last log line, not in the middle of them.
            await new Promise<void>((resolve) => logger.flush(() => resolve()))
            print(formatApplyReport(report, topics.file, opts.prefix))
          } finally {
            await admin.disconnect()
          }
        },
      )

  withApply(topology.command('apply'))
  withApply(program.command('apply')).summary('the same as `topology apply`')

  topology
    .command('validate')
    .summary('check the topics file without a broker or registry')
    .description('check the topics file and its schema names without a broker or registry (for CI on pull requests)')
    .option('--file <path>', 'topics file (default: topology/topics.yaml)')
    .action((opts: { file?: string }) => {
      const { topology: topics } = loadFiles(opts.file, deps.schemasDir)
      const subjects = topics.topics.filter((t) => t.schema !== undefined).length
      print(
        `${topics.file}: valid (${topics.topics.length} topics, ${subjects} with a schema, ${topics.actions.length} actions)`,
      )
    })

  return topology
}
