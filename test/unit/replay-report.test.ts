import { replayDiff } from '../../src/replay/diff'
import { formatReplayReport, replayReportJson, type ReplayReport } from '../../src/replay/report'

const T = Date.parse('2026-05-01T10:00:00.000Z')
const STARTS = '2026-05-01T09:59:00.000Z'
const alert = (fingerprint: string, alertname: string) => ({
  fingerprint,
  status: 'firing' as const,
  startsAt: STARTS,
  receivedAt: T,
  labels: { alertname },
})
const request = (fingerprint: string, action: string) => ({
  fingerprint,
  startsAt: STARTS,
  status: 'firing',
  receivedAt: T,
  action,
  route: 'r',
  dryRun: false,
})

const diff = replayDiff({
  alerts: [alert('aaa', 'Slow'), alert('bbb', 'Slow'), alert('ccc', 'TargetUp')],
  before: { decisions: [], requests: [request('aaa', 'log-level'), request('bbb', 'log-level')] },
  after: {
    decisions: [
      {
        fingerprint: 'bbb',
        startsAt: STARTS,
        status: 'firing',
        stage: 'ratelimit',
        kind: 'throttled',
        reason: 'r',
        detail: { limit: 'alert:payments/checkout/Slow' },
        source: { topic: 't', partition: 0, offset: '1' },
        decidedAt: T,
      },
    ],
    requests: [request('aaa', 'log-level'), request('ccc', 'page')],
  },
  services: new Map([
    ['aaa', 'checkout'],
    ['bbb', 'checkout'],
  ]),
  windowStart: T - 3_600_000,
})

const report = (over: Partial<ReplayReport> = {}): ReplayReport => ({
  prefix: 'p.',
  topic: 'p.alerts.raw',
  window: { from: T - 3_600_000, to: T + 3_600_000 },
  configDir: '/etc/nightshift',
  replayed: 3,
  undecodable: 0,
  replayPrefix: 'p.replay-20260501110000-abc.',
  kept: false,
  cleanupProblems: [],
  diff,
  ...over,
})

describe('formatReplayReport', () => {
  it('prints the window, the fates before → after and the changed alerts', () => {
    expect(formatReplayReport(report(), 50).split('\n')).toEqual([
      'replayed 3 notifications (3 alerts) of p.alerts.raw from 2026-05-01T09:00:00.000Z to 2026-05-01T11:00:00.000Z through /etc/nightshift; dry run: no action ran',
      '',
      'fate                 before → after',
      'requested an action       2 → 2',
      'throttled                 0 → 1 (+1)',
      'no outcome                1 → 0 (-1)',
      '',
      '2 of 3 alerts changed fate (fingerprint alertname service: before → after):',
      '  bbb Slow checkout: requested log-level → throttled (alert:payments/checkout/Slow)  (firing, startsAt 2026-05-01T09:59:00.000Z)',
      '  ccc TargetUp -: no outcome → requested page  (firing, startsAt 2026-05-01T09:59:00.000Z)',
      '',
      'replay topics under prefix p.replay-20260501110000-abc. deleted',
    ])
  })

  it('caps the list at --limit and says how many more', () => {
    const lines = formatReplayReport(report(), 1).split('\n')
    expect(lines).toContain('  … and 1 more (--limit 0 lists all)')
    expect(lines.filter((l) => l.startsWith('  bbb') || l.startsWith('  ccc'))).toHaveLength(1)
  })

  it('says how to read kept topics, and what could not be cleaned up', () => {
    expect(formatReplayReport(report({ kept: true }), 50)).toMatch(
      /replay topics kept under prefix p\.replay-20260501110000-abc\.: read them with `nightshift tail --prefix p\.replay-20260501110000-abc\. alerts\.throttled --from-beginning`/,
    )
    expect(formatReplayReport(report({ cleanupProblems: ['could not delete subject x'] }), 50)).toMatch(
      /\nwarning: could not delete subject x$/,
    )
  })

  it('says when nothing changed', () => {
    const same = replayDiff({
      alerts: [alert('aaa', 'Slow')],
      before: { decisions: [], requests: [request('aaa', 'page')] },
      after: { decisions: [], requests: [request('aaa', 'page')] },
    })
    expect(formatReplayReport(report({ diff: same, replayed: 1 }), 50)).toContain(
      '\nno alert changed fate (1 alert compared)\n',
    )
  })

  it('marks episodes that began before the window', () => {
    const early = replayDiff({
      alerts: [alert('aaa', 'Slow')],
      before: { decisions: [], requests: [] },
      after: { decisions: [], requests: [request('aaa', 'page')] },
      windowStart: T,
    })
    const text = formatReplayReport(report({ diff: early, replayed: 1 }), 50)
    expect(text).toMatch(/no outcome → requested page {2}\(firing, startsAt 2026-05-01T09:59:00\.000Z\) \*$/m)
    expect(text).toContain(
      "  * the episode began before --from: the original run's dedup and rate limits knew its earlier notifications, the replay's started empty",
    )
  })

  it('an empty window: one line naming it', () => {
    const { diff: _diff, replayPrefix: _prefix, ...rest } = report()
    expect(formatReplayReport({ ...rest, replayed: 0 }, 50)).toBe(
      'no records on p.alerts.raw from 2026-05-01T09:00:00.000Z to 2026-05-01T11:00:00.000Z: nothing to replay',
    )
  })
})

describe('replayReportJson', () => {
  it('has the summary, the capped changes and their total', () => {
    const json = replayReportJson(report(), 1) as {
      changedTotal: number
      changed: Array<{ fingerprint: string }>
      summary: unknown[]
      from: string
      replayPrefix: string
    }
    expect(json.changedTotal).toBe(2)
    expect(json.changed.map((c) => c.fingerprint)).toEqual(['bbb'])
    expect(json.summary).toHaveLength(6)
    expect(json.from).toBe('2026-05-01T09:00:00.000Z')
    expect(json.replayPrefix).toBe('p.replay-20260501110000-abc.')
  })
})
