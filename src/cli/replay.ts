/**
 * `nightshift replay --from <time> [--to <time>]`: sends alerts.raw history again
 * through the current files (or those of --config-dir) in a throwaway namespace, dry
 * run, and prints what would change: which alerts would request which actions, be
 * throttled, be unrouted. The work is src/replay/run.ts; this file parses options and
 * prints. Progress goes to stderr, the report to stdout. Errors are thrown, not printed:
 * main turns a NightshiftError into `nightshift: <message> [<code>]` and exit code 1.
 */
import path from 'node:path'
import type { Command } from 'commander'
import { DEFAULT_CONFIG_DIR } from '../app'
import { parseDuration } from '../config/duration'
import { endpointsFromEnv } from '../config/endpoints'
import { ConfigError } from '../errors'
import { createLogger, type Logger } from '../log'
import { runReplay } from '../replay/run'
import { formatReplayReport, replayReportJson, type ReplayReport } from '../replay/report'
import { parseReplayWindow } from '../replay/window'
import { DEFAULT_DEDUP } from '../stages/dedup/stage'
import { createProgress, type ProgressOptions } from '../progress'

/** What the command uses besides Kafka; tests replace them. */
export interface ReplayCommandDeps {
  /** Endpoints, NIGHTSHIFT_TOPIC_PREFIX and NIGHTSHIFT_CONFIG_DIR come from here (default: process.env). */
  env?: NodeJS.ProcessEnv
  /** Where the report goes (default: stdout). */
  print?: (text: string) => void
  /** The logger (default: one at --log-level on stderr). */
  logger?: Logger
  /** Where progress goes (default: stderr). */
  progressStream?: ProgressOptions['stream']
  /** Clock (tests). */
  now?: () => number
  /** Called with the report before it is printed (tests). */
  onReport?: (report: ReplayReport) => void
  /** Consumer group session timeout of the replay stages (tests: shorter). */
  sessionTimeoutMs?: number
}

interface ReplayCliOptions {
  from: string
  to?: string
  prefix: string
  configDir?: string
  limit: string
  json?: boolean
  keep?: boolean
  quiet?: boolean
  dedupTtl: string
  timeout: string
  logLevel: string
}

/** `--limit`: a whole number ≥ 0 (0: no cap). */
function parseLimit(raw: string): number {
  const n = Number(raw)
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n))
    throw new ConfigError(`--limit must be a whole number ≥ 0 (0: list all), got "${raw}"`)
  return n
}

const HELP = `
What it does, in steps shown on stderr:
  1. reads <prefix>alerts.raw records whose Kafka timestamp is in [--from, --to)
     (ListOffsets by timestamp: the history before --from is not read);
  2. creates a throwaway namespace <prefix>replay-<yyyymmddhhmmss>-<random>. with the
     topics of --config-dir/topics.yaml that the stages need (alerts.raw and
     alerts.deduped with one partition: the records go in in record-time order, a burst
     in the order the original rate limit saw it on alerts.enriched);
  3. writes the records there (key, value, headers and timestamp as they were, plus a
     nightshift-replay-of header naming the original);
  4. runs dedup, enrich, ratelimit and route in-process with the files of --config-dir
     (catalog.yaml, limits.yaml, routes.yaml, topics.yaml) until each has consumed
     everything; never the action workers: nothing is called, paged or restarted;
  5. compares each alert's fate with what the original run recorded on
     <prefix>nightshift.decisions and <prefix>actions.*;
  6. deletes the replay's topics, consumer groups and schema subjects (unless --keep).

An alert is one fingerprint, episode (startsAt) and status; its fate is the furthest
its notifications got: "requested <actions>" (routed; "(dry run)" for a dry-run route),
"throttled (<limit>)", "unrouted", "dropped by dedup (<kind>)", "error (template error
…)", or "no outcome" (no record of it). The report is a table of fates before → after
and the alerts whose fate changed:
  <fingerprint> <alertname> <service>: <before> → <after>  (<status>, startsAt <time>)

Decisions depend on the records only (record time, not the wall clock), so unchanged
files give an empty diff. What a replay cannot know is the state from before --from:
its dedup and rate limits start empty; alerts whose episode began before --from are
marked with *. Start the window a little before the storm you are testing.

Examples:
  nightshift replay --from 7d --config-dir ./my-branch/topology
  nightshift replay --from 2026-05-01T00:00:00Z --to 2026-05-02T00:00:00Z --json
  nightshift replay --from 2h --keep      # then: nightshift tail --prefix <printed prefix> alerts.throttled --from-beginning

An empty window prints so and exits 0.`

/** Adds `replay` to `program`. */
export function addReplayCommands(program: Command, deps: ReplayCommandDeps = {}): void {
  const env = deps.env ?? process.env
  const print = deps.print ?? ((text: string) => process.stdout.write(`${text}\n`))
  program
    .command('replay')
    .summary('dry-run alerts.raw history through the current files and show what would change')
    .description(
      're-run <prefix>alerts.raw history between --from and --to through the files of --config-dir, in separate topics and dry run ' +
        '(no action runs), and print what would change: actions that would be requested, alerts that would be throttled or unrouted. ' +
        'Against KAFKA_BROKERS / SCHEMA_REGISTRY_URL (default: the local stack).',
    )
    .requiredOption(
      '--from <time>',
      'start of the window: an RFC 3339 time (2026-05-01T00:00:00Z) or a duration ago (7d, 2h, 90m)',
    )
    .option('--to <time>', 'end of the window, exclusive, in the same forms (default: now)')
    .option('--prefix <prefix>', 'topic prefix of the run to replay (tests)', env.NIGHTSHIFT_TOPIC_PREFIX ?? '')
    .option(
      '--config-dir <dir>',
      'folder of topics.yaml, catalog.yaml, limits.yaml, routes.yaml to replay through (default: NIGHTSHIFT_CONFIG_DIR, else the shipped topology/)',
      env.NIGHTSHIFT_CONFIG_DIR,
    )
    .option('--limit <n>', 'list at most this many changed alerts (0: all)', '50')
    .option('--json', 'print the report as JSON (and no progress)')
    .option(
      '--keep',
      'keep the replay topics and print their prefix, for `nightshift tail --prefix` and `nightshift trace --prefix`',
    )
    .option(
      '--dedup-ttl <duration>',
      "the replay's dedup TTL (as `nightshift run --dedup-ttl`)",
      env.NIGHTSHIFT_DEDUP_TTL ?? '48h',
    )
    .option('--timeout <duration>', 'give up when the replay stages make no progress for this long', '2m')
    .option('--quiet', 'no progress on stderr')
    .option('--log-level <level>', 'pino log level (stderr)', 'warn')
    .addHelpText('after', HELP)
    .action(async (opts: ReplayCliOptions) => {
      const now = deps.now ?? Date.now
      const window = parseReplayWindow(opts.from, opts.to, now())
      const limit = parseLimit(opts.limit)
      const dedupTtl = parseDuration(opts.dedupTtl, '--dedup-ttl')
      const stallTimeoutMs = parseDuration(opts.timeout, '--timeout')
      const endpoints = endpointsFromEnv(env)
      const logger = deps.logger ?? createLogger({ level: opts.logLevel, destination: 'stderr' })
      const progress = createProgress({
        quiet: opts.quiet === true || opts.json === true,
        ...(deps.progressStream ? { stream: deps.progressStream } : {}),
      })
      const report = await runReplay({
        endpoints,
        logger,
        prefix: opts.prefix,
        window,
        openEnded: opts.to === undefined,
        configDir: opts.configDir === undefined ? DEFAULT_CONFIG_DIR : path.resolve(opts.configDir),
        keep: opts.keep === true,
        dedup: { ...DEFAULT_DEDUP, ttlMs: dedupTtl },
        progress,
        stallTimeoutMs,
        now,
        ...(deps.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: deps.sessionTimeoutMs }),
      })
      deps.onReport?.(report)
      print(opts.json ? JSON.stringify(replayReportJson(report, limit), null, 2) : formatReplayReport(report, limit))
    })
}
