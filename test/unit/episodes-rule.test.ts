import {
  compareStarts,
  isStale,
  matchEpisode,
  staleFrom,
  supersededEnd,
  timeMs,
  type EpisodeMatch,
  type EpisodeNotification,
  type EpisodeSnapshot,
} from '../../src/episodes/rule'

const NS = '2026-01-01T00:00:50.764919002Z'
const MS = '2026-01-01T00:00:50.764Z'
const EARLIER = '2026-01-01T00:00:20.100Z'
const LATER = '2026-01-01T01:00:00.000Z'
const ZERO = '0001-01-01T00:00:00Z'

const firing = (startsAt: string): EpisodeNotification => ({ status: 'firing', startsAt, endsAt: ZERO })
const resolved = (startsAt: string, endsAt: string | null): EpisodeNotification => ({
  status: 'resolved',
  startsAt,
  endsAt,
})
const open = (startsAt: string): EpisodeSnapshot => ({ startsAt, firingSeen: true, resolvedSeen: false })
const closed = (startsAt: string, firingSeen = true): EpisodeSnapshot => ({ startsAt, firingSeen, resolvedSeen: true })

describe('the episode rule', () => {
  it('reads nanosecond fractions to the millisecond', () => {
    expect(timeMs(NS)).toBe(Date.UTC(2026, 0, 1, 0, 0, 50, 764))
    expect(timeMs(NS)).toBe(timeMs(MS))
    expect(timeMs(ZERO)).toBeNaN()
    expect(timeMs(null)).toBeNaN()
    expect(timeMs('yesterday')).toBeNaN()
    expect(compareStarts(NS, MS)).toBe(0)
    expect(compareStarts('junk', 'junk')).toBe(0)
    expect(compareStarts('junk', MS)).toBe(1)
  })

  it.each<[string, EpisodeNotification, EpisodeSnapshot | undefined, EpisodeMatch, string, Partial<EpisodeSnapshot>]>([
    ['a first firing begins an episode', firing(NS), undefined, 'new', NS, { startsAt: NS, firingSeen: true }],
    ['a re-send is the open episode', firing(NS), open(NS), 'resend', NS, { startsAt: NS }],
    ['a re-send in millisecond precision is the same episode', firing(MS), open(NS), 'resend', NS, { startsAt: NS }],
    [
      'a start moved earlier (HA pair merged) is the same episode, keyed as first seen',
      firing(EARLIER),
      open(NS),
      'resend',
      NS,
      { startsAt: NS, resolvedSeen: false },
    ],
    [
      'a later start while open supersedes the open episode',
      firing(LATER),
      open(NS),
      'superseded',
      LATER,
      { startsAt: LATER, firingSeen: true, resolvedSeen: false },
    ],
    [
      'a millisecond resolve closes the nanosecond episode',
      resolved(MS, '2026-01-01T00:10:00.000Z'),
      open(NS),
      'closes',
      NS,
      { startsAt: NS, resolvedSeen: true },
    ],
    [
      'a resolve with its start moved earlier closes the episode',
      resolved(EARLIER, '2026-01-01T00:10:00Z'),
      open(NS),
      'closes',
      NS,
      { startsAt: NS, resolvedSeen: true },
    ],
    [
      'a late resolve of an older episode never closes the newer one',
      resolved(EARLIER, '2026-01-01T00:00:40Z'),
      open(NS),
      'late_resolve',
      NS,
      { startsAt: NS, resolvedSeen: false },
    ],
    [
      'a resolve ending exactly at the start closes it',
      resolved(EARLIER, MS),
      open(NS),
      'closes',
      NS,
      { resolvedSeen: true },
    ],
    ['a resolve without endsAt goes by its start', resolved(MS, null), open(NS), 'closes', NS, { resolvedSeen: true }],
    [
      'a resolve without endsAt and an older start is an older episode',
      resolved(EARLIER, ZERO),
      open(NS),
      'late_resolve',
      NS,
      { resolvedSeen: false },
    ],
    ['a re-sent resolve is a duplicate', resolved(MS, LATER), closed(NS), 'duplicate_resolve', NS, {}],
    [
      'a resolve of an episode older than the resolved one is late',
      resolved(EARLIER, '2026-01-01T00:00:30Z'),
      closed(NS),
      'late_resolve',
      NS,
      {},
    ],
    ['a firing after the resolve, same start, is late', firing(MS), closed(NS), 'late_firing', NS, {}],
    [
      'a firing after the resolve with a later start is a new episode',
      firing(LATER),
      closed(NS),
      'new',
      LATER,
      { startsAt: LATER, firingSeen: true, resolvedSeen: false },
    ],
    [
      'a resolve with no episode known is resolve-only',
      resolved(MS, LATER),
      undefined,
      'resolve_only',
      MS,
      { startsAt: MS, firingSeen: false, resolvedSeen: true },
    ],
    [
      'a resolve newer than the resolved episode is resolve-only',
      resolved(LATER, '2026-01-01T02:00:00Z'),
      closed(NS),
      'resolve_only',
      LATER,
      { startsAt: LATER, firingSeen: false, resolvedSeen: true },
    ],
  ])('%s', (_name, n, latest, match, episode, next) => {
    const d = matchEpisode(n, latest)
    expect(d.match).toBe(match)
    expect(d.episode).toBe(episode)
    expect(d.next).toMatchObject(next)
  })

  it('keeps a newer episode open through a late resolve, then closes it with its own', () => {
    let latest: EpisodeSnapshot | undefined
    const seen: EpisodeMatch[] = []
    for (const n of [
      firing(EARLIER),
      firing(LATER), // the first one's resolve was lost
      resolved(EARLIER, '2026-01-01T00:30:00Z'), // ... and arrives late
      firing(LATER),
      resolved(LATER, '2026-01-01T01:30:00Z'),
    ]) {
      const d = matchEpisode(n, latest)
      seen.push(d.match)
      latest = d.next
    }
    expect(seen).toEqual(['new', 'superseded', 'late_resolve', 'resend', 'closes'])
    expect(latest).toEqual(closed(LATER))
  })

  it('ends a superseded episode when it was last heard of, within its start and the new start', () => {
    const start = timeMs(NS)
    const next = timeMs(LATER)
    expect(supersededEnd(NS, start + 60_000, LATER)).toBe(start + 60_000)
    expect(supersededEnd(NS, start - 5_000, LATER)).toBe(start)
    expect(supersededEnd(NS, next + 60_000, LATER)).toBe(next)
  })

  describe('staleness (fake clock)', () => {
    const settings = { staleAfterMs: 12 * 3600_000 }
    const lastSeen = Date.UTC(2026, 0, 1)
    it.each([
      [0, false],
      [4 * 3600_000, false],
      [12 * 3600_000, false],
      [12 * 3600_000 + 1, true],
      [3 * 24 * 3600_000, true],
    ])('last heard of %d ms ago: stale %s', (ago, stale) => {
      expect(isStale(lastSeen, lastSeen + ago, settings)).toBe(stale)
    })
    it('is never stale when nothing was heard', () => {
      expect(isStale(undefined, lastSeen, settings)).toBe(false)
      expect(staleFrom(lastSeen, settings)).toBe(lastSeen + settings.staleAfterMs)
    })
  })
})
