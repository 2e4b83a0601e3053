import { fingerprint } from '../../src/ingest/fingerprint'
import { createPayloadValidator } from '../../src/ingest/payload'
import { parseCatalog } from '../../src/stages/enrich/catalog'
import { planStorm, stormCatalog, type StormOptions } from '../reliability/storm'

/**
 * The reliability suite's verdicts rest on its storm plan: these are the properties the
 * suite assumes (test/reliability/storm.ts) checked on the plans it sends.
 */
const DEFAULT: StormOptions = {
  seed: 7,
  episodes: 30_000,
  waves: 40,
  resendsPerEpisode: 2,
  resolvesPerEpisode: 0.4,
  refireShare: 0.1,
  baseTime: Date.parse('2026-12-01T00:00:00Z'),
  stepMs: 100,
}

describe.each([
  ['the default storm', DEFAULT],
  ['another seed', { ...DEFAULT, seed: 12345 }],
  ['a small storm', { ...DEFAULT, episodes: 500, waves: 8 }],
  ['many resolves and re-fires', { ...DEFAULT, episodes: 3000, waves: 10, resolvesPerEpisode: 0.9, refireShare: 0.5 }],
])('%s', (_name, options) => {
  const plan = planStorm(options)
  const sent = plan.waves.flatMap((w, wave) => w.alerts.flatMap((body) => body.map((a) => ({ ...a, wave }))))

  it('counts what it sends', () => {
    expect(sent).toHaveLength(plan.alerts)
    expect(plan.waves.reduce((n, w) => n + w.bodies.length, 0)).toBe(plan.bodies)
    expect(plan.episodes.size).toBe(options.episodes)
    expect(new Set(sent.filter((a) => a.status === 'firing').map((a) => a.episode))).toEqual(plan.episodes)
    expect(new Set(sent.filter((a) => a.status === 'resolved').map((a) => a.episode))).toEqual(plan.resolved)
  })

  it('resolves an episode once, in a wave after all its firing ones, and sends nothing of it afterwards', () => {
    const resolvedIn = new Map<string, number>()
    const twice: string[] = []
    for (const a of sent)
      if (a.status === 'resolved') {
        if (resolvedIn.has(a.episode)) twice.push(a.episode)
        resolvedIn.set(a.episode, a.wave)
      }
    const late = sent.filter(
      (a) => a.status === 'firing' && resolvedIn.has(a.episode) && a.wave >= resolvedIn.get(a.episode)!,
    )
    expect({ twice, late }).toEqual({ twice: [], late: [] })
  })

  it('re-fires some resolved alerts as new episodes of the same fingerprint', () => {
    const byFingerprint = new Map<string, Set<string>>()
    for (const e of plan.episodes) {
      const fp = e.split('|')[0]!
      byFingerprint.set(fp, (byFingerprint.get(fp) ?? new Set()).add(e))
    }
    expect([...byFingerprint.values()].some((episodes) => episodes.size > 1)).toBe(true)
  })

  it('sends bodies the webhook accepts, with Alertmanager fingerprints and group sizes', () => {
    const validator = createPayloadValidator()
    const problems: string[] = []
    for (const [w, wave] of plan.waves.entries()) {
      for (const [i, body] of wave.bodies.entries()) {
        try {
          validator.parse(Buffer.from(JSON.stringify(body)))
        } catch (err) {
          problems.push(`wave ${w} body ${i}: ${(err as Error).message}`)
        }
        if (body.alerts.length > 29) problems.push(`wave ${w} body ${i}: ${body.alerts.length} alerts`)
        for (const [k, a] of body.alerts.entries()) {
          if (a.fingerprint !== fingerprint(a.labels))
            problems.push(`wave ${w} body ${i} alert ${k}: fingerprint ${a.fingerprint}`)
          if (`${a.fingerprint}|${a.startsAt}` !== wave.alerts[i]![k]!.episode)
            problems.push(`wave ${w} body ${i} alert ${k}: not its episode`)
        }
      }
    }
    expect(problems.slice(0, 5)).toEqual([])
  })
})

it('the default storm is at least 100,000 alerts', () => {
  expect(planStorm(DEFAULT).alerts).toBeGreaterThanOrEqual(100_000)
})

it('the same seed plans the same storm', () => {
  const a = planStorm({ ...DEFAULT, episodes: 2000, waves: 5 })
  const b = planStorm({ ...DEFAULT, episodes: 2000, waves: 5 })
  expect(JSON.stringify(a.waves)).toBe(JSON.stringify(b.waves))
})

it('the catalog parses and gives every team its services', () => {
  const catalog = parseCatalog(stormCatalog(), 'catalog.yaml')
  expect(JSON.stringify(catalog)).toContain('svc-11-c')
  expect(JSON.stringify(catalog)).toContain('team-00')
})
