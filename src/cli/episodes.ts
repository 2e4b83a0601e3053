/**
 * `nightshift episodes`: the open alert episodes (dedup's state), with when each was last
 * heard of and whether it is stale; `nightshift episodes close <fingerprint>` closes one
 * by hand. The rule and the records live in src/episodes/; this file reads the topics,
 * writes the close and prints. Errors are thrown: main prints them.
 */
import type { Command } from 'commander'
import { endpointsFromEnv, kafkaSettings } from '../config/endpoints'
import type { AlertRecord } from '../contracts/records'
import { SchemaSet } from '../contracts/schemas'
import { ConfigError, ERROR_CODES, NightshiftError } from '../errors'
import { RecordProducer, Registry, readTopicToBarrier, type KafkaSettings } from '../kafka'
import { createLogger, type Logger } from '../log'
import type { DedupEntry } from '../stages/dedup/decide'
import { changelogTopic, topicNames, valueSubject } from '../topology/names'
import { formatTable, plural } from '../text'
import {
  EPISODE_CLOSE_KEY_PREFIX,
  closingResolve,
  latestEpisodes,
  openEpisodes,
  type EpisodeCloseAudit,
  type OpenEpisode,
} from '../episodes/open'
import { staleAfterFromEnv } from '../episodes/rule'

/** What the commands read besides Kafka; tests replace them. */
export interface EpisodesCommandDeps {
  env?: NodeJS.ProcessEnv
  print?: (text: string) => void
  logger?: Logger
  now?: () => number
  readTimeoutMs?: number
}

const iso = (ms: number): string => new Date(ms).toISOString()

/** The table `nightshift episodes` prints. */
export function formatEpisodes(episodes: readonly OpenEpisode[], staleAfterMs: number): string {
  if (episodes.length === 0) return 'no open episodes'
  const head = ['FINGERPRINT', 'ALERTNAME', 'STARTS AT', 'LAST SEEN', 'STALE']
  const rows = episodes.map((e) => [
    e.fingerprint,
    e.alertname ?? '-',
    e.startsAt,
    iso(e.lastSeenAt),
    e.stale ? 'stale' : '',
  ])
  const stale = episodes.filter((e) => e.stale).length
  return [
    formatTable(head, rows),
    '',
    `${plural(episodes.length, 'open episode')}, ${stale} stale (no notification for more than ${staleAfterMs / 3_600_000}h); close one with: nightshift episodes close <fingerprint> --reason …`,
  ].join('\n')
}

/**
 * An option `episodes close` shares with `episodes`: commander hands a parent's options to
 * the parent wherever they are written (`episodes close <fp> --prefix p` sets the parent's
 * --prefix), so the value given on the command line is taken from whichever got it.
 */
function sharedOption(cmd: Command, key: 'prefix' | 'logLevel'): string {
  for (const c of [cmd, cmd.parent]) {
    if (c?.getOptionValueSource(key) === 'cli') return String(c.opts()[key])
  }
  return String(cmd.opts()[key])
}

/** Adds `episodes` and `episodes close` to `cli`. */
export function addEpisodesCommands(cli: Command, deps: EpisodesCommandDeps = {}): void {
  const env = deps.env ?? process.env
  const print = deps.print ?? ((text: string) => process.stdout.write(`${text}\n`))
  const clock = deps.now ?? Date.now
  const read = deps.readTimeoutMs === undefined ? {} : { timeoutMs: deps.readTimeoutMs }

  const connect = (opts: { logLevel: string }) => {
    const endpoints = endpointsFromEnv(env)
    const logger = (deps.logger ?? createLogger({ level: opts.logLevel, destination: 'stderr' })).child({
      module: 'episodes',
    })
    const settings: KafkaSettings = kafkaSettings(endpoints, 'nightshift-cli', logger)
    return { settings, registry: new Registry(endpoints.registryUrl, endpoints.registryAccess), logger }
  }

  /** Every fingerprint's latest episode, from the dedup changelog. */
  const readLatest = async (settings: KafkaSettings, registry: Registry, prefix: string) => {
    const records = await readTopicToBarrier(settings, `${prefix}${changelogTopic('dedup')}`, read)
    const decoded: Array<{ key: string; value: DedupEntry | null }> = []
    for (const r of records) {
      const key = r.key?.toString('utf8')
      if (key === undefined) continue
      decoded.push({ key, value: r.value === null ? null : ((await registry.decode(r.value)) as DedupEntry) })
    }
    return latestEpisodes(decoded)
  }

  const episodes = cli
    .command('episodes')
    .description('open alert episodes: when each started, was last heard of, and whether it is stale')
    .option('--prefix <prefix>', 'topic prefix of the run', env.NIGHTSHIFT_TOPIC_PREFIX ?? '')
    .option('--json', 'print the episodes as JSON')
    .option('--log-level <level>', 'pino log level (stderr)', 'warn')
    .addHelpText(
      'after',
      '\nStale: no notification for longer than NIGHTSHIFT_EPISODE_STALE_AFTER (default 12h). See docs/episodes.md.',
    )
    .action(async (opts: { prefix: string; json?: boolean; logLevel: string }) => {
      const stale = staleAfterFromEnv(env)
      const { settings, registry } = connect(opts)
      const open = openEpisodes(await readLatest(settings, registry, opts.prefix), clock(), stale)
      print(
        opts.json
          ? JSON.stringify({ staleAfterMs: stale.staleAfterMs, episodes: open }, null, 2)
          : formatEpisodes(open, stale.staleAfterMs),
      )
    })

  episodes
    .command('close')
    .description(
      'close an open episode by hand (its resolve was lost): a resolve of it, marked as yours, goes to alerts.raw and the close is recorded on nightshift.control',
    )
    .argument('<fingerprint>', "the alert's fingerprint (see `nightshift episodes`)")
    .requiredOption('--reason <text>', 'why it is closed (recorded)')
    .option('--by <name>', 'who closes it (default: $USER)')
    .option('--prefix <prefix>', 'topic prefix of the run', env.NIGHTSHIFT_TOPIC_PREFIX ?? '')
    .option('--log-level <level>', 'pino log level (stderr)', 'warn')
    .action(async (fingerprint: string, given: { reason: string; by?: string }, cmd: Command) => {
      const opts = { ...given, prefix: sharedOption(cmd, 'prefix'), logLevel: sharedOption(cmd, 'logLevel') }
      const by = opts.by ?? env.USER ?? env.LOGNAME ?? env.USERNAME
      if (!by) throw new ConfigError('episodes close: say who closes it with --by (no $USER)')
      if (opts.reason.trim() === '') throw new ConfigError('episodes close: --reason is empty')
      const { settings, registry } = connect(opts)
      const names = topicNames(opts.prefix)
      const episode = (await readLatest(settings, registry, opts.prefix)).get(fingerprint)
      if (!episode || !episode.firingSeen || episode.resolvedSeen) {
        throw new NightshiftError(
          ERROR_CODES.NOT_FOUND,
          `no open episode of fingerprint ${fingerprint}${opts.prefix ? ` under prefix ${opts.prefix}` : ''} (see nightshift episodes)`,
        )
      }
      // The labels of its last notification, so the SLO indicators and routes see the same alert.
      let last: AlertRecord | undefined
      for (const topic of [names.deduped, names.raw]) {
        for (const r of await readTopicToBarrier(settings, topic, read)) {
          if (r.value === null || r.key?.toString('utf8') !== fingerprint) continue
          const alert = (await registry.decode(r.value)) as AlertRecord
          if (alert.fingerprint === fingerprint) last = alert
        }
        if (last) break
      }
      if (!last) {
        throw new NightshiftError(
          ERROR_CODES.NOT_FOUND,
          `episode ${fingerprint} ${episode.startsAt} is open but no notification of it is left on ${names.deduped} or ${names.raw} to take its labels from`,
        )
      }
      const now = clock()
      const resolve = closingResolve(last, episode.startsAt, now, by, opts.reason)
      const audit: EpisodeCloseAudit = {
        fingerprint,
        alertname: episode.alertname ?? null,
        startsAt: episode.startsAt,
        endsAt: resolve.endsAt!,
        by,
        reason: opts.reason,
        at: now,
      }
      const id = await registry.idOf(valueSubject(names.raw), SchemaSet.load().resolve('Alert'))
      const producer = await RecordProducer.connect(settings)
      try {
        await producer.send([
          { topic: names.raw, key: fingerprint, value: await registry.encode(id, resolve) },
          {
            topic: names.control,
            key: `${EPISODE_CLOSE_KEY_PREFIX}${fingerprint}`,
            value: Buffer.from(JSON.stringify(audit)),
          },
        ])
      } finally {
        await producer.disconnect()
      }
      print(
        `closed episode ${fingerprint} (${episode.alertname ?? 'no alertname'}, started ${episode.startsAt}) at ${resolve.endsAt} by ${by}: ${opts.reason}`,
      )
    })
}
