/**
 * The reliability suite's alert storm: a seeded, deterministic plan of Alertmanager
 * webhook bodies, sent wave after wave. What must hold for the suite's counts to mean
 * anything is built in here and checked by test/unit/reliability-storm.test.ts:
 *
 * - an episode is (fingerprint, startsAt); its firing notification is sent once or more
 *   (Alertmanager re-sends it with every notification of its group), in several waves;
 * - a resolve is sent only in a wave after every wave that carried the episode firing,
 *   and nothing of that episode is sent after it (a wave is sent only once the one before
 *   it was accepted whole, so that order holds at the webhook whatever is retried);
 * - some new episodes re-fire a resolved alert: same labels and fingerprint, new startsAt;
 * - alerts belong to many teams' services of the suite's catalog, and some to no service.
 */
import { fingerprint } from '../../src/ingest/fingerprint'
import type { WebhookAlert, WebhookPayload } from '../../src/ingest/payload'
// The benchmarks' seeded PRNG: the same seed gives the same storm on every run.
import { seeded } from '../../bench/lib/alerts'

export { seeded }

/** Teams of the suite's catalog, each owning {@link SERVICES_PER_TEAM} services. */
export const TEAMS = 12
export const SERVICES_PER_TEAM = 3
const ALERTNAMES = ['HighLatency', 'HighErrorRate', 'TargetDown', 'PodCrashLooping', 'DiskWillFillIn4Hours']
/** Share of alerts whose service no catalog entry matches (team "unowned"). */
const UNOWNED_SHARE = 0.05
const NO_END = '0001-01-01T00:00:00Z'
const SIZES = [1, 2, 4, 8, 16, 29]

export function serviceName(team: number, service: number): string {
  return `svc-${String(team).padStart(2, '0')}-${String.fromCharCode(97 + service)}`
}

export function teamName(team: number): string {
  return `team-${String(team).padStart(2, '0')}`
}

/** The suite's catalog.yaml: every service of every team, matched by its `service` label. */
export function stormCatalog(): string {
  const lines = ['services:']
  for (let t = 0; t < TEAMS; t++) {
    for (let s = 0; s < SERVICES_PER_TEAM; s++) {
      lines.push(
        `  - name: ${serviceName(t, s)}`,
        `    team: ${teamName(t)}`,
        '    matchers:',
        `      - service="${serviceName(t, s)}"`,
      )
    }
  }
  return lines.join('\n') + '\n'
}

export interface StormOptions {
  seed: number
  /** Distinct episodes (fingerprint, startsAt) that fire. */
  episodes: number
  waves: number
  /** Firing re-sends per new episode, on average (re-sends of episodes still open). */
  resendsPerEpisode: number
  /** Resolves per new episode, on average (of episodes still open). */
  resolvesPerEpisode: number
  /** Share of new episodes that re-fire an alert resolved earlier (same fingerprint, new startsAt). */
  refireShare: number
  /** startsAt of the first episode (ms since the epoch). */
  baseTime: number
  /** Between the startsAt of one new episode and the next. */
  stepMs: number
}

/** One notification of an episode as sent. */
export interface SentAlert {
  episode: string
  fingerprint: string
  startsAt: string
  status: 'firing' | 'resolved'
}

export interface Wave {
  bodies: WebhookPayload[]
  /** Per body, the alerts it carries, in order. */
  alerts: SentAlert[][]
}

export interface StormPlan {
  waves: Wave[]
  /** Every episode that fires, by key `fingerprint|startsAt`. */
  episodes: Set<string>
  /** Episodes that are resolved in the storm. */
  resolved: Set<string>
  alerts: number
  bodies: number
}

interface Episode {
  key: string
  labels: Record<string, string>
  fingerprint: string
  startsAt: string
}

export function episodeKey(fp: string, startsAt: string): string {
  return `${fp}|${startsAt}`
}

/** Removes and returns a random element (order is not kept). */
function takeRandom<T>(list: T[], random: () => number): T | undefined {
  if (list.length === 0) return undefined
  const i = Math.floor(random() * list.length)
  const item = list[i]!
  list[i] = list[list.length - 1]!
  list.pop()
  return item
}

/** How many of `perEpisode × n` to do this wave: the whole part, plus one with the fraction's chance. */
function howMany(perEpisode: number, n: number, random: () => number): number {
  const exact = perEpisode * n
  return Math.floor(exact) + (random() < exact - Math.floor(exact) ? 1 : 0)
}

function webhookAlert(e: Episode, status: 'firing' | 'resolved', endsAt: string): WebhookAlert {
  return {
    status,
    labels: e.labels,
    annotations: {
      summary: `${e.labels.alertname} on ${e.labels.instance}`,
      description: `storm alert of ${e.labels.service}`,
    },
    startsAt: e.startsAt,
    endsAt,
    generatorURL: `http://prometheus.example.internal:9090/graph?g0.expr=${encodeURIComponent(`${e.labels.alertname}{service="${e.labels.service}"}`)}`,
    fingerprint: e.fingerprint,
  }
}

/** The whole storm, wave by wave. */
export function planStorm(o: StormOptions): StormPlan {
  const random = seeded(o.seed)
  const iso = (ms: number) => new Date(ms).toISOString()
  const open: Episode[] = []
  const closed: Episode[] = []
  const episodes = new Set<string>()
  const resolved = new Set<string>()
  const waves: Wave[] = []
  let made = 0
  let alerts = 0
  let bodies = 0
  for (let w = 0; w < o.waves; w++) {
    const fresh = Math.floor(((w + 1) * o.episodes) / o.waves) - Math.floor((w * o.episodes) / o.waves)
    const sent: Array<{ alert: WebhookAlert; sent: SentAlert }> = []
    const send = (e: Episode, status: 'firing' | 'resolved', endsAt: string) =>
      sent.push({
        alert: webhookAlert(e, status, endsAt),
        sent: { episode: e.key, fingerprint: e.fingerprint, startsAt: e.startsAt, status },
      })
    // Resolves and re-sends only touch episodes of earlier waves (already accepted whole).
    const earlier = open.splice(0)
    for (let n = howMany(o.resolvesPerEpisode, fresh, random); n > 0; n--) {
      const e = takeRandom(earlier, random)
      if (!e) break
      // It ended before any episode of this wave starts (re-fires included): Alertmanager
      // never re-fires an alert with a startsAt before its previous resolve's endsAt.
      send(e, 'resolved', iso(o.baseTime + made * o.stepMs - 1))
      resolved.add(e.key)
      closed.push(e)
    }
    for (let n = howMany(o.resendsPerEpisode, fresh, random); n > 0 && earlier.length > 0; n--) {
      send(earlier[Math.floor(random() * earlier.length)]!, 'firing', NO_END)
    }
    open.push(...earlier)
    for (let k = 0; k < fresh; k++, made++) {
      const startsAt = iso(o.baseTime + made * o.stepMs)
      const refire = closed.length > 0 && random() < o.refireShare ? takeRandom(closed, random) : undefined
      let labels: Record<string, string>
      if (refire) {
        labels = refire.labels
      } else {
        const team = Math.floor(random() * TEAMS)
        const unowned = random() < UNOWNED_SHARE
        labels = {
          alertname: ALERTNAMES[Math.floor(random() * ALERTNAMES.length)]!,
          severity: random() < 0.7 ? 'critical' : 'warning',
          service: unowned ? `unknown-${made % 7}` : serviceName(team, Math.floor(random() * SERVICES_PER_TEAM)),
          namespace: unowned ? 'misc' : teamName(team),
          instance: `10.${(made >>> 16) & 255}.${(made >>> 8) & 255}.${made & 255}:9100`,
        }
      }
      const fp = fingerprint(labels)
      const e: Episode = { key: episodeKey(fp, startsAt), labels, fingerprint: fp, startsAt }
      episodes.add(e.key)
      open.push(e)
      send(e, 'firing', NO_END)
    }
    // Shuffle (Fisher-Yates), then cut into Alertmanager-sized groups.
    for (let i = sent.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      ;[sent[i], sent[j]] = [sent[j]!, sent[i]!]
    }
    const wave: Wave = { bodies: [], alerts: [] }
    for (let i = 0, g = 0; i < sent.length; g++) {
      const group = sent.slice(i, i + SIZES[g % SIZES.length]!)
      i += group.length
      const firing = group.some((s) => s.sent.status === 'firing')
      wave.bodies.push({
        version: '4',
        groupKey: `{}:{storm="${w}-${g}"}`,
        truncatedAlerts: 0,
        status: firing ? 'firing' : 'resolved',
        receiver: 'nightshift',
        groupLabels: { storm: `${w}-${g}` },
        commonLabels: {},
        commonAnnotations: {},
        externalURL: 'http://alertmanager.example.internal:9093',
        alerts: group.map((s) => s.alert),
      })
      wave.alerts.push(group.map((s) => s.sent))
    }
    alerts += sent.length
    bodies += wave.bodies.length
    waves.push(wave)
  }
  return { waves, episodes, resolved, alerts, bodies }
}
