/**
 * `nightshift trace <fingerprint>`: one alert's whole story, in time order, from every
 * topic of the topology (alerts.*, nightshift.decisions, actions.*, slo.events,
 * nightshift.dlq), with a verdict answering "why didn't it fire?". The reading, the story
 * and the verdict live in src/trace/; this file wires the command and prints. Errors are
 * thrown, not printed: main turns a NightshiftError into `nightshift: <message> [<code>]`
 * and exit code 1.
 */
import type { Command } from 'commander'
import { endpointsFromEnv, kafkaSettings } from '../config/endpoints'
import { ConfigError, ERROR_CODES, NightshiftError } from '../errors'
import { Registry, type KafkaSettings } from '../kafka'
import { createLogger, type Logger } from '../log'
import { plural } from '../text'
import { readTrace } from '../trace/read'
import { TRACE_STAGES, traceEpisodes, traceEvents, type TraceEvent } from '../trace/story'
import { traceVerdict } from '../trace/verdict'

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms)
}

/** The text `nightshift trace` prints: a header, events by episode, a verdict per episode. */
export function formatTrace(fingerprint: string, prefix: string, events: readonly TraceEvent[]): string {
  const episodes = traceEpisodes(events)
  const width = Math.max(...TRACE_STAGES.map((s) => s.length))
  const lines = [
    `trace of ${fingerprint}${prefix ? ` (prefix ${prefix})` : ''}: ${plural(events.length, 'record')}, ${plural(episodes.length, 'episode')}`,
  ]
  for (const { startsAt, events: list } of episodes) {
    lines.push('')
    if (episodes.length > 1) lines.push(`episode startsAt ${startsAt}`)
    for (const e of list) lines.push(`  ${iso(e.at)}  ${e.stage.padEnd(width)}  ${e.text}`)
    lines.push('', `verdict: ${traceVerdict(startsAt, list).text}`)
  }
  return lines.join('\n')
}

/** What the command reads besides Kafka; tests replace them. */
export interface TraceCommandDeps {
  env?: NodeJS.ProcessEnv
  print?: (text: string) => void
  logger?: Logger
  /** How long each topic may take to read (default: readTopicToBarrier's). */
  readTimeoutMs?: number
}

/** Adds `nightshift trace <fingerprint>` to `cli`. */
export function addTraceCommands(cli: Command, deps: TraceCommandDeps = {}): void {
  const print = deps.print ?? ((text: string) => process.stdout.write(`${text}\n`))
  cli
    .command('trace')
    .description("one alert's story across every topic, in time order, and why it did not fire")
    .argument('<fingerprint>', "the alert's fingerprint (Alertmanager's, as on alerts.raw)")
    .option('--prefix <prefix>', 'topic prefix of the run to trace', process.env.NIGHTSHIFT_TOPIC_PREFIX ?? '')
    .option('--json', 'print the events and verdicts as JSON')
    .option('--log-level <level>', 'pino log level (stderr)', 'warn')
    .action(async (fingerprint: string, opts: { prefix: string; json?: boolean; logLevel: string }) => {
      if (fingerprint.trim() === '') throw new ConfigError('trace: the fingerprint is empty')
      const endpoints = endpointsFromEnv(deps.env ?? process.env)
      const logger = (deps.logger ?? createLogger({ level: opts.logLevel, destination: 'stderr' })).child({
        module: 'trace',
      })
      const settings: KafkaSettings = kafkaSettings(endpoints, 'nightshift-cli', logger)
      const registry = new Registry(endpoints.registryUrl, endpoints.registryAccess)
      const read = { ...(deps.readTimeoutMs === undefined ? {} : { timeoutMs: deps.readTimeoutMs }) }
      const { topics, records, undecodable } = await readTrace(settings, registry, opts.prefix, fingerprint, read)
      for (const r of undecodable)
        logger.warn(
          { topic: r.topic, partition: r.partition, offset: r.offset },
          'record does not decode; left out of the trace',
        )
      if (records.length === 0) {
        throw new NightshiftError(
          ERROR_CODES.NOT_FOUND,
          `no record of fingerprint ${fingerprint} in the ${topics.length} topics read${opts.prefix ? ` under prefix ${opts.prefix}` : ''} (${topics.map((t) => t.topic).join(', ')})`,
        )
      }
      const events = traceEvents(records)
      if (opts.json) {
        const verdicts = traceEpisodes(events).map(({ startsAt, events: list }) => traceVerdict(startsAt, list))
        print(JSON.stringify({ fingerprint, prefix: opts.prefix, events, verdicts }, null, 2))
        return
      }
      print(formatTrace(fingerprint, opts.prefix, events))
      if (undecodable.length > 0)
        print(`(${plural(undecodable.length, 'record')} did not decode and were left out; see the log)`)
    })
}
