import {
  decideDedup,
  episodeKey,
  foldLegacyEntry,
  isExpired,
  stateKey,
  type DedupAlert,
  type DedupEntry,
  type DedupKind,
} from '../../src/stages/dedup/decide'

const settings = { ttlMs: 60_000 }
const FP = '16ddbf5dcf57d972'
const S1 = '2026-11-25T00:52:34.568Z'
const S2 = '2026-11-25T01:10:00.000Z'

const alert = (status: DedupAlert['status'], startsAt = S1): DedupAlert => ({ fingerprint: FP, status, startsAt })
const entry = (firingSeen: boolean, resolvedSeen: boolean, lastSeenAt = 1_000): DedupEntry => ({
  fingerprint: FP,
  startsAt: S1,
  firingSeen,
  resolvedSeen,
  lastSeenAt,
})

describe('decideDedup', () => {
  it.each<[string, DedupAlert, DedupEntry | undefined, number, DedupKind, boolean, Partial<DedupEntry>]>([
    [
      'first firing is forwarded',
      alert('firing'),
      undefined,
      1_000,
      'forwarded',
      true,
      { firingSeen: true, resolvedSeen: false, lastSeenAt: 1_000 },
    ],
    [
      're-sent firing is dropped',
      alert('firing'),
      entry(true, false),
      5_000,
      'duplicate_firing',
      false,
      { firingSeen: true, lastSeenAt: 5_000 },
    ],
    [
      'first resolved after firing is forwarded',
      alert('resolved'),
      entry(true, false),
      9_000,
      'forwarded',
      true,
      { firingSeen: true, resolvedSeen: true, lastSeenAt: 9_000 },
    ],
    [
      're-sent resolved is dropped',
      alert('resolved'),
      entry(true, true),
      9_500,
      'duplicate_resolved',
      false,
      { resolvedSeen: true, lastSeenAt: 9_500 },
    ],
    [
      'resolved never seen firing is forwarded',
      alert('resolved'),
      undefined,
      2_000,
      'forwarded',
      true,
      { firingSeen: false, resolvedSeen: true },
    ],
    [
      'late firing after resolve is dropped',
      alert('firing'),
      entry(false, true),
      3_000,
      'firing_after_resolved',
      false,
      { firingSeen: false, resolvedSeen: true },
    ],
    [
      'late re-send of a resolved episode is dropped',
      alert('firing'),
      entry(true, true),
      3_000,
      'firing_after_resolved',
      false,
      { resolvedSeen: true },
    ],
    [
      'an expired episode counts as new',
      alert('firing'),
      entry(true, true, 1_000),
      1_000 + 60_001,
      'forwarded',
      true,
      { firingSeen: true, resolvedSeen: false, lastSeenAt: 61_001 },
    ],
    [
      'exactly at the TTL it is still known',
      alert('firing'),
      entry(true, false, 1_000),
      1_000 + 60_000,
      'duplicate_firing',
      false,
      { lastSeenAt: 61_000 },
    ],
    [
      'a record older than the last one does not move lastSeenAt back',
      alert('firing'),
      entry(true, false, 10_000),
      4_000,
      'duplicate_firing',
      false,
      { lastSeenAt: 10_000 },
    ],
  ])('%s', (_name, input, stored, now, kind, forward, expected) => {
    const verdict = decideDedup(input, stored, now, settings)
    expect(verdict.kind).toBe(kind)
    expect(verdict.forward).toBe(forward)
    expect(verdict.entry).toMatchObject({ fingerprint: FP, startsAt: input.startsAt, ...expected })
    if (!forward) expect(verdict.reason).toEqual(expect.any(String))
  })

  it('treats a re-fire (new startsAt) as its own episode', () => {
    expect(episodeKey(alert('firing', S1))).not.toBe(episodeKey(alert('firing', S2)))
    expect(decideDedup(alert('firing', S2), undefined, 1, settings).forward).toBe(true)
  })

  it('keeps nanosecond startsAt verbatim in the key', () => {
    expect(episodeKey({ fingerprint: FP, startsAt: '2026-11-25T00:52:34.568123456Z' })).toBe(
      `${FP}|2026-11-25T00:52:34.568123456Z`,
    )
  })

  it('replays a notification sequence to the same verdicts (pure)', () => {
    const sequence: Array<[DedupAlert, number]> = [
      [alert('firing'), 0],
      [alert('firing'), 4_000],
      [alert('firing'), 8_000],
      [alert('resolved'), 12_000],
      [alert('resolved'), 16_000],
      [alert('firing', S2), 20_000],
    ]
    const run = () => {
      const states = new Map<string, DedupEntry>()
      return sequence.map(([a, now]) => {
        const v = decideDedup(a, states.get(stateKey(a)), now, settings)
        states.set(stateKey(a), v.entry)
        return v.kind
      })
    }
    const kinds = run()
    expect(kinds).toEqual([
      'forwarded',
      'duplicate_firing',
      'duplicate_firing',
      'forwarded',
      'duplicate_resolved',
      'forwarded',
    ])
    expect(run()).toEqual(kinds)
  })

  it.each([
    [1_000, 61_000, false],
    [1_000, 61_001, true],
  ])('isExpired(lastSeenAt %d, now %d) = %s', (lastSeenAt, now, expired) => {
    expect(isExpired(entry(true, false, lastSeenAt), now, settings)).toBe(expired)
  })

  describe('episodes that close (one state per fingerprint)', () => {
    const NS = '2026-11-25T00:52:34.568919002Z'
    const MS = '2026-11-25T00:52:34.568Z'
    const open = (startsAt = NS, lastSeenAt = 1_000): DedupEntry => ({
      fingerprint: FP,
      startsAt,
      firingSeen: true,
      resolvedSeen: false,
      lastSeenAt,
      alertname: 'TargetDown',
    })
    const big = { ttlMs: 48 * 3600_000 }

    it("forwards a millisecond resolve with the episode's canonical start, and closes it", () => {
      const v = decideDedup(
        { fingerprint: FP, status: 'resolved', startsAt: MS, endsAt: '2026-11-25T01:00:00Z' },
        open(),
        9_000,
        big,
      )
      expect(v).toMatchObject({ kind: 'forwarded', match: 'closes', forward: true, episode: NS })
      expect(v.entry).toMatchObject({ startsAt: NS, resolvedSeen: true, lastSeenAt: 9_000, alertname: 'TargetDown' })
    })

    it('drops a firing whose start Alertmanager moved earlier as a re-send of the open episode', () => {
      const v = decideDedup({ fingerprint: FP, status: 'firing', startsAt: '2026-11-25T00:52:04Z' }, open(), 5_000, big)
      expect(v).toMatchObject({ kind: 'duplicate_firing', match: 'resend', forward: false, episode: NS })
      expect(v.entry).toMatchObject({ startsAt: NS, lastSeenAt: 5_000 })
    })

    it('drops a late resolve of an older episode, leaving the newer open and its last-seen time alone', () => {
      const v = decideDedup(
        { fingerprint: FP, status: 'resolved', startsAt: S1, endsAt: '2026-11-25T00:59:00Z' },
        open(S2, 20_000),
        30_000,
        big,
      )
      expect(v).toMatchObject({ kind: 'late_resolve', forward: false, episode: S2 })
      expect(v.entry).toMatchObject({ startsAt: S2, resolvedSeen: false, lastSeenAt: 20_000 })
      expect(v.reason).toMatch(/older episode/)
    })

    it('supersedes an open episode with a later firing, and says when the old one is taken to have ended', () => {
      const v = decideDedup(
        { fingerprint: FP, status: 'firing', startsAt: S2, labels: { alertname: 'TargetDown' } },
        open(S1, Date.parse(S1) + 60_000),
        Date.parse(S2) + 5_000,
        big,
      )
      expect(v).toMatchObject({ kind: 'forwarded', match: 'superseded', episode: S2 })
      expect(v.superseded).toEqual({ startsAt: S1, endedAt: Date.parse(S1) + 60_000 })
      expect(v.entry).toMatchObject({ startsAt: S2, firingSeen: true, resolvedSeen: false })
    })

    it('keeps the alertname of the labels', () => {
      const v = decideDedup(
        { fingerprint: FP, status: 'firing', startsAt: S1, labels: { alertname: 'X' } },
        undefined,
        1,
        big,
      )
      expect(v.entry.alertname).toBe('X')
    })

    it.each<[string, DedupEntry | undefined, DedupEntry, string | undefined]>([
      ['nothing held: the legacy episode', undefined, open(S1), S1],
      ['a later legacy episode wins', open(S1), open(S2), S2],
      ['an earlier legacy episode does not', open(S2), open(S1), undefined],
      ['the same start keeps what is held', open(NS), open(MS), undefined],
    ])('folds legacy state: %s', (_name, held, legacy, wins) => {
      expect(foldLegacyEntry(held, legacy)?.startsAt).toBe(wins)
    })
  })
})
