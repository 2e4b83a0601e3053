import { formatEpisodes } from '../../src/cli/episodes'
import { closingResolve, latestEpisodes, openEpisodes } from '../../src/episodes/open'
import type { DedupEntry } from '../../src/stages/dedup/decide'
import { alertRecord } from '../support/records'

const H = 3600_000
const NOW = Date.UTC(2026, 10, 25, 12)
const entry = (fingerprint: string, startsAt: string, over: Partial<DedupEntry> = {}): DedupEntry => ({
  fingerprint,
  startsAt,
  firingSeen: true,
  resolvedSeen: false,
  lastSeenAt: NOW - H,
  alertname: 'Down',
  ...over,
})

describe('open episodes', () => {
  const records = [
    // Written by an older version: one record per episode, folded into the fingerprint's.
    { key: 'aaaaaaaaaaaaaaaa|2026-11-25T00:00:00Z', value: entry('aaaaaaaaaaaaaaaa', '2026-11-25T00:00:00Z') },
    { key: 'aaaaaaaaaaaaaaaa|2026-11-25T01:00:00Z', value: entry('aaaaaaaaaaaaaaaa', '2026-11-25T01:00:00Z') },
    { key: 'bbbbbbbbbbbbbbbb', value: entry('bbbbbbbbbbbbbbbb', '2026-11-24T20:00:00Z', { lastSeenAt: NOW - 13 * H }) },
    { key: 'cccccccccccccccc', value: entry('cccccccccccccccc', '2026-11-25T02:00:00Z', { resolvedSeen: true }) },
    { key: 'dddddddddddddddd', value: entry('dddddddddddddddd', '2026-11-25T03:00:00Z') },
    { key: 'dddddddddddddddd', value: null },
  ]

  it("lists each fingerprint's open episode, oldest first, stale after the staleness", () => {
    const open = openEpisodes(latestEpisodes(records), NOW, { staleAfterMs: 12 * H })
    expect(open.map((e) => [e.fingerprint, e.startsAt, e.stale])).toEqual([
      ['bbbbbbbbbbbbbbbb', '2026-11-24T20:00:00Z', true],
      ['aaaaaaaaaaaaaaaa', '2026-11-25T01:00:00Z', false],
    ])
    const text = formatEpisodes(open, 12 * H)
    expect(text.split('\n')[0]).toMatch(/^FINGERPRINT\s+ALERTNAME\s+STARTS AT\s+LAST SEEN\s+STALE$/)
    expect(text).toContain('2 open episodes, 1 stale (no notification for more than 12h)')
    expect(formatEpisodes([], 12 * H)).toBe('no open episodes')
  })

  it("closes an episode with a resolve of it at now, marked as the operator's, with its labels", () => {
    const last = alertRecord({ labels: { alertname: 'Down', slo: 'shop' }, startsAt: '2026-11-25T00:00:00.1Z' })
    const r = closingResolve(last, '2026-11-25T00:00:00.123456789Z', NOW, 'alice', 'resolve lost')
    expect(r).toMatchObject({
      status: 'resolved',
      startsAt: '2026-11-25T00:00:00.123456789Z',
      endsAt: new Date(NOW).toISOString(),
      receivedAt: NOW,
      labels: { alertname: 'Down', slo: 'shop' },
      closedBy: { by: 'alice', reason: 'resolve lost' },
    })
  })
})
