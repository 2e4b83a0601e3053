import { outcomeFor } from '../../src/contracts/outcome'
import { formatTrace } from '../../src/cli/trace'
import type {
  ActionOutcomeRecord,
  ActionRequestRecord,
  AlertRecord,
  DecisionRecord,
  EnrichedAlertRecord,
  OutcomeStatus,
  SloEventRecord,
} from '../../src/contracts/records'
import type { TraceRecord } from '../../src/trace/records'
import { traceEpisodes, traceEvents, type TraceEvent } from '../../src/trace/story'
import { traceVerdict } from '../../src/trace/verdict'
import { alertRecord, enrichedAlertRecord } from '../support/records'

const FP = '16ddbf5dcf57d972'
const STARTS = '2026-11-25T00:52:34.568Z'
const T = 1_764_000_000_000

let offset = 0
const pos = (topic: string, timestamp: number) => ({
  topic: `p.${topic}`,
  partition: 0,
  offset: String(offset++),
  timestamp,
})

const alert = (over: Partial<AlertRecord> = {}) =>
  alertRecord({ fingerprint: FP, startsAt: STARTS, receivedAt: T, ...over })
const enriched = (over: Partial<Omit<EnrichedAlertRecord, 'alert'>> & { alert?: Partial<AlertRecord> } = {}) =>
  enrichedAlertRecord({ ...over, alert: { fingerprint: FP, startsAt: STARTS, receivedAt: T, ...over.alert } })

const raw = (at: number, over: Partial<AlertRecord> = {}): TraceRecord => ({
  ...pos('alerts.raw', at),
  role: 'raw',
  value: alert(over),
})
const deduped = (at: number, over: Partial<AlertRecord> = {}): TraceRecord => ({
  ...pos('alerts.deduped', at),
  role: 'deduped',
  value: alert(over),
})
const enrichedRec = (at: number, over: Parameters<typeof enriched>[0] = {}): TraceRecord => ({
  ...pos('alerts.enriched', at),
  role: 'enriched',
  value: enriched(over),
})
const admitted = (at: number, over: Parameters<typeof enriched>[0] = {}): TraceRecord => ({
  ...pos('alerts.admitted', at),
  role: 'admitted',
  value: enriched(over),
})
const throttled = (at: number, by: string): TraceRecord => ({
  ...pos('alerts.throttled', at),
  role: 'throttled',
  value: enriched({ throttledBy: by }),
})
const unrouted = (at: number, over: Parameters<typeof enriched>[0] = {}): TraceRecord => ({
  ...pos('alerts.unrouted', at),
  role: 'unrouted',
  value: enriched(over),
})

function decision(
  at: number,
  stage: string,
  kind: string,
  reason: string,
  over: Partial<DecisionRecord> = {},
): TraceRecord {
  const value: DecisionRecord = {
    fingerprint: FP,
    startsAt: STARTS,
    status: 'firing',
    stage,
    kind,
    reason,
    detail: {},
    source: { topic: 'x', partition: 0, offset: '0' },
    decidedAt: T,
    ...over,
  }
  return { ...pos('nightshift.decisions', at), role: 'decisions', value }
}

function request(at: number, action: string, over: Partial<ActionRequestRecord> = {}): TraceRecord {
  const value: ActionRequestRecord = {
    idempotencyKey: `${FP}|${STARTS}|${action}|page-critical`,
    action,
    route: 'page-critical',
    params: {},
    dryRun: false,
    requestedAt: T,
    alert: enriched(),
    ...over,
  }
  return { ...pos(`actions.${action}`, at), role: 'action', value }
}

function outcome(
  at: number,
  action: string,
  status: OutcomeStatus,
  fields: { detail?: string | null; attempts?: number; escalatedTo?: string | null; key?: string } = {},
): TraceRecord {
  const value: ActionOutcomeRecord = outcomeFor(
    {
      idempotencyKey: fields.key ?? `${FP}|${STARTS}|${action}|page-critical`,
      action,
      route: 'page-critical',
      dryRun: status === 'dry_run',
      alert: enriched(),
    },
    {
      status,
      finishedAt: at,
      detail: fields.detail ?? null,
      attempts: fields.attempts ?? 0,
      escalatedTo: fields.escalatedTo ?? null,
    },
  )
  return { ...pos('actions.outcomes', at), role: 'outcomes', value }
}

function sloEvent(at: number, kind: 'alert' | 'outcome', over: Partial<SloEventRecord> = {}): TraceRecord {
  const value: SloEventRecord = {
    slo: 'checkout-availability',
    kind,
    fingerprint: FP,
    startsAt: STARTS,
    status: 'firing',
    startedAtMs: T,
    endedAtMs: null,
    at,
    action: null,
    idempotencyKey: null,
    ...over,
  }
  return { ...pos('slo.events', at), role: 'sloEvents', value }
}

const texts = (events: TraceEvent[]) => events.map((e) => e.text)

/** The path every routed alert takes, before its action's outcome. */
const routedPath = (): TraceRecord[] => [
  raw(T),
  deduped(T + 10),
  enrichedRec(T + 20, { slo: 'checkout-availability', tier: 'tier-1' }),
  admitted(T + 30),
  request(T + 40, 'page'),
]

describe('traceEvents', () => {
  it('explains each record in one line, in time order', () => {
    const events = traceEvents([
      outcome(T + 50, 'page', 'dry_run', { detail: 'dry run (global); would run: page payments' }),
      ...routedPath(),
      raw(T + 5),
      decision(T + 15, 'dedup', 'duplicate_firing', 'Alertmanager re-sent a firing alert already forwarded'),
      sloEvent(T + 60, 'alert'),
      sloEvent(T + 70, 'outcome', { action: 'page', status: 'dry_run' }),
    ])
    expect(texts(events)).toEqual([
      `received (firing, startsAt ${STARTS}) on alerts.raw`,
      `received (firing, startsAt ${STARTS}) on alerts.raw`,
      'deduped: forwarded (firing) to alerts.deduped',
      'dropped by dedup: duplicate_firing (firing) — Alertmanager re-sent a firing alert already forwarded',
      'enriched: team payments, service checkout, tier tier-1, slo checkout-availability',
      'admitted (firing) to alerts.admitted',
      `routed (firing) by page-critical → actions.page (idempotency key ${FP}|${STARTS}|page|page-critical)`,
      'action page: dry_run — dry run (global); would run: page payments',
      'charged to SLO checkout-availability (firing)',
      'remediation recorded against SLO checkout-availability: page dry_run',
    ])
    expect(events.map((e) => e.stage)).toEqual([
      'ingest',
      'ingest',
      'dedup',
      'dedup',
      'enrich',
      'ratelimit',
      'route',
      'action',
      'slo',
      'slo',
    ])
    expect(events[0]).toMatchObject({
      topic: 'p.alerts.raw',
      partition: 0,
      at: T,
      startsAt: STARTS,
      status: 'firing',
      kind: 'received',
    })
  })

  it('orders records of the same timestamp by stage, whatever order they were read in', () => {
    const events = traceEvents([request(T, 'page'), admitted(T), enrichedRec(T), deduped(T), raw(T)])
    expect(events.map((e) => e.stage)).toEqual(['ingest', 'dedup', 'enrich', 'ratelimit', 'route'])
  })

  it.each<[string, TraceRecord[], string[]]>([
    [
      "an unowned alert takes the Decision's reason, once",
      [
        enrichedRec(T, { team: 'unowned', service: null }),
        decision(
          T + 1,
          'enrich',
          'unowned',
          "no service of catalog.yaml matched the alert's labels; forwarded as team unowned",
        ),
      ],
      [
        "enriched: unowned (team unowned) — no service of catalog.yaml matched the alert's labels; forwarded as team unowned",
      ],
    ],
    [
      "a throttled alert names the limit and the Decision's reason",
      [
        throttled(T, 'team:payments'),
        decision(
          T,
          'ratelimit',
          'throttled',
          'over the team limit team:payments (60/1h, burst 20); kept on alerts.throttled',
        ),
      ],
      ['throttled by team:payments — over the team limit team:payments (60/1h, burst 20); kept on alerts.throttled'],
    ],
    [
      'a throttled alert without its Decision still says by what',
      [throttled(T, 'alert:payments/checkout/HighLatency')],
      ['throttled by alert:payments/checkout/HighLatency — over the limit alert:payments/checkout/HighLatency'],
    ],
    [
      'an unrouted alert',
      [unrouted(T), decision(T, 'route', 'unrouted', 'no route with an action matched the alert')],
      ['unrouted — no route with an action matched the alert'],
    ],
    [
      'a template error: the Decision and the error outcome',
      [
        decision(
          T,
          'route',
          'template_error',
          'route r1: the alert has no endpoints.admin for the params of action log-level',
        ),
        outcome(T, 'log-level', 'error', { detail: 'route r1: the alert has no endpoints.admin' }),
      ],
      [
        'route: template_error — route r1: the alert has no endpoints.admin for the params of action log-level',
        'action log-level: error — route r1: the alert has no endpoints.admin',
      ],
    ],
    [
      'a failure after retries, escalated to page',
      [
        outcome(T, 'webhook', 'failed', { attempts: 3, detail: 'HTTP 503', escalatedTo: 'page' }),
        request(T + 1, 'page', { idempotencyKey: 'k>page', params: { escalatedFrom: 'webhook', reason: 'HTTP 503' } }),
      ],
      [
        'action webhook: failed after 3 attempts — HTTP 503; escalated to page',
        'escalated from webhook → actions.page: HTTP 503 (idempotency key k>page)',
      ],
    ],
    [
      'one attempt',
      [outcome(T, 'exec', 'succeeded', { attempts: 1, detail: 'exit 0' })],
      ['action exec: succeeded after 1 attempt — exit 0'],
    ],
    [
      'a dry-run route',
      [request(T, 'thread-dump', { dryRun: true, route: 'tds', idempotencyKey: 'k' })],
      ['routed (firing) by tds → actions.thread-dump (idempotency key k, dry run)'],
    ],
    [
      'a dead letter of one of its records',
      [
        {
          ...pos('nightshift.dlq', T),
          role: 'dlq',
          value: {
            stage: 'route',
            errorCode: 'NS_POISON_RECORD',
            errorMessage: 'bad',
            source: { topic: 'p.alerts.admitted', partition: 1, offset: '7' },
            key: null,
            value: null,
            headers: {},
            failedAt: T,
          },
          original: { role: 'admitted', fingerprint: FP, startsAt: STARTS, status: 'firing' },
        },
      ],
      ['dead-lettered by route (from p.alerts.admitted 1:7): NS_POISON_RECORD — bad'],
    ],
  ])('%s', (_name, records, expected) => {
    expect(texts(traceEvents(records))).toEqual(expected)
  })

  it('groups by episode (startsAt), in the order episodes first appear', () => {
    const later = '2026-11-26T00:00:00.000Z'
    const events = traceEvents([
      raw(T + 100, { startsAt: later }),
      raw(T),
      deduped(T + 1),
      deduped(T + 101, { startsAt: later }),
    ])
    expect(traceEpisodes(events).map((e) => [e.startsAt, e.events.length])).toEqual([
      [STARTS, 2],
      [later, 2],
    ])
  })
})

describe('traceVerdict: why did it not fire?', () => {
  it.each<[string, TraceRecord[], { fired: boolean; furthest: string; says: RegExp[] }]>([
    [
      'never received',
      [sloEvent(T, 'alert')],
      { fired: false, furthest: 'none', says: [/never received on alerts\.raw/] },
    ],
    [
      'received, dedup not run',
      [raw(T)],
      { fired: false, furthest: 'ingest', says: [/Furthest stage: ingest/, /dedup stage is not running or is behind/] },
    ],
    [
      'dropped by dedup',
      [
        raw(T),
        decision(T, 'dedup', 'firing_after_resolved', 'a firing notification arrived after this episode had resolved'),
      ],
      {
        fired: false,
        furthest: 'dedup',
        says: [/dropped by dedup as firing_after_resolved — a firing notification arrived after/],
      },
    ],
    [
      'a forwarded alert with its dropped re-send is not "dropped"',
      [raw(T), raw(T + 1), deduped(T + 1), decision(T + 2, 'dedup', 'duplicate_firing', 're-sent')],
      { fired: false, furthest: 'dedup', says: [/not enriched yet/] },
    ],
    [
      'enriched, not rate-limited yet',
      [raw(T), deduped(T), enrichedRec(T)],
      { fired: false, furthest: 'enrich', says: [/ratelimit stage is not running/] },
    ],
    [
      'throttled',
      [
        raw(T),
        deduped(T),
        enrichedRec(T),
        throttled(T, 'team:payments'),
        decision(T, 'ratelimit', 'throttled', 'over the team limit team:payments'),
      ],
      {
        fired: false,
        furthest: 'ratelimit',
        says: [/Furthest stage: rate limit/, /throttled by team:payments — over the team limit team:payments/],
      },
    ],
    [
      'unowned and unrouted',
      [
        raw(T),
        deduped(T),
        enrichedRec(T, { team: 'unowned', service: null }),
        decision(T, 'enrich', 'unowned', 'no service matched'),
        admitted(T, { team: 'unowned', service: null }),
        unrouted(T, { team: 'unowned', service: null }),
        decision(T, 'route', 'unrouted', 'no route with an action matched the alert'),
      ],
      {
        fired: false,
        furthest: 'route',
        says: [
          /Furthest stage: route/,
          /unrouted — no route with an action matched the alert/,
          /unowned \(no service matched\)/,
        ],
      },
    ],
    [
      'admitted, not routed yet',
      [raw(T), deduped(T), enrichedRec(T), admitted(T)],
      { fired: false, furthest: 'ratelimit', says: [/route stage is not running/] },
    ],
    [
      'routed, no outcome yet',
      routedPath(),
      { fired: false, furthest: 'route', says: [/routed to actions\.page/, /no action outcome yet/] },
    ],
    [
      'dry run',
      [...routedPath(), outcome(T + 50, 'page', 'dry_run', { detail: 'dry run (global dryRun)' })],
      {
        fired: false,
        furthest: 'action',
        says: [/action page: it was a dry run, nothing ran — dry run \(global dryRun\)/],
      },
    ],
    [
      'paused',
      [...routedPath(), outcome(T + 50, 'page', 'skipped_paused', { detail: 'paused team=payments' })],
      { fired: false, furthest: 'action', says: [/it was paused — paused team=payments/] },
    ],
    [
      'gated',
      [...routedPath(), outcome(T + 50, 'page', 'gated', { detail: 'budget 5% < 20%' })],
      { fired: false, furthest: 'action', says: [/gated by the SLO error budget/] },
    ],
    [
      'circuit open',
      [...routedPath(), outcome(T + 50, 'page', 'circuit_open', { detail: '5 failures' })],
      { fired: false, furthest: 'action', says: [/circuit breaker was open/] },
    ],
    [
      'failed',
      [...routedPath(), outcome(T + 50, 'page', 'failed', { attempts: 5, detail: 'HTTP 500' })],
      { fired: false, furthest: 'action', says: [/action page: it ended failed — HTTP 500\./] },
    ],
    [
      'cancelled',
      [...routedPath(), outcome(T + 50, 'page', 'cancelled_resolved')],
      { fired: false, furthest: 'action', says: [/resolved before it started/] },
    ],
    [
      'held: why has it not run yet?',
      [...routedPath(), outcome(T + 50, 'page', 'held', { detail: 'waiting 5m (until …)' })],
      { fired: false, furthest: 'action', says: [/action page: it is held: waiting before it runs .* — waiting 5m/] },
    ],
    [
      'awaiting approval',
      [...routedPath(), outcome(T + 50, 'page', 'awaiting_approval', { detail: 'awaiting approval 3f9a2c81d04e' })],
      {
        fired: false,
        furthest: 'action',
        says: [/waiting for a person's approval .* — awaiting approval 3f9a2c81d04e/],
      },
    ],
    [
      'held, then denied: the final outcome is the answer',
      [
        ...routedPath(),
        outcome(T + 50, 'page', 'awaiting_approval'),
        outcome(T + 60, 'page', 'denied', { detail: 'denied by bob' }),
      ],
      { fired: false, furthest: 'action', says: [/action page: a person denied it — denied by bob/] },
    ],
    [
      'approval expired',
      [...routedPath(), outcome(T + 50, 'page', 'approval_expired')],
      { fired: false, furthest: 'action', says: [/nobody answered its approval in time/] },
    ],
    [
      'succeeded',
      [
        ...routedPath(),
        outcome(T + 50, 'page', 'succeeded', { attempts: 1 }),
        outcome(T + 50, 'log-level', 'failed', { attempts: 1 }),
      ],
      { fired: true, furthest: 'action', says: [/^It fired: action page succeeded \(also: log-level failed\)\.$/] },
    ],
    [
      'a resolved notification that ran does not hide a firing one that did not',
      [
        ...routedPath(),
        outcome(T + 50, 'page', 'dry_run'),
        outcome(T + 60, 'page', 'succeeded', { key: `${FP}|${STARTS}|page|page-critical#resolved` }),
      ],
      { fired: false, furthest: 'action', says: [/dry run/] },
    ],
    [
      'only resolved notifications',
      [raw(T, { status: 'resolved' })],
      {
        fired: false,
        furthest: 'ingest',
        says: [
          /received on alerts\.raw as a resolve only: no firing notification of it was seen/,
          /Dedup did not forward it/,
        ],
      },
    ],
    [
      'a resolve-only episode that dedup forwarded',
      [raw(T, { status: 'resolved' }), deduped(T + 10, { status: 'resolved' })],
      { fired: false, furthest: 'dedup', says: [/as a resolve only/, /nothing to act on\.$/] },
    ],
  ])('%s', (_name, records, { fired, furthest, says }) => {
    const verdict = traceVerdict(STARTS, traceEvents(records))
    expect({ fired: verdict.fired, furthest: verdict.furthest }).toEqual({ fired, furthest })
    for (const re of says) expect(verdict.text).toMatch(re)
    if (!fired) expect(verdict.text).toMatch(new RegExp(`^No action succeeded for episode ${STARTS}\\.`))
  })
})

describe('formatTrace', () => {
  it('prints a header, the events and the verdict; episodes get a heading when there are several', () => {
    const one = formatTrace(
      FP,
      'p.',
      traceEvents([...routedPath(), outcome(T + 50, 'page', 'dry_run', { detail: 'dry run' })]),
    )
    expect(one.split('\n')).toEqual([
      `trace of ${FP} (prefix p.): 6 records, 1 episode`,
      '',
      `  2025-11-24T16:00:00.000Z  ingest     received (firing, startsAt ${STARTS}) on alerts.raw`,
      '  2025-11-24T16:00:00.010Z  dedup      deduped: forwarded (firing) to alerts.deduped',
      '  2025-11-24T16:00:00.020Z  enrich     enriched: team payments, service checkout, tier tier-1, slo checkout-availability',
      '  2025-11-24T16:00:00.030Z  ratelimit  admitted (firing) to alerts.admitted',
      `  2025-11-24T16:00:00.040Z  route      routed (firing) by page-critical → actions.page (idempotency key ${FP}|${STARTS}|page|page-critical)`,
      '  2025-11-24T16:00:00.050Z  action     action page: dry_run — dry run',
      '',
      `verdict: No action succeeded for episode ${STARTS}. Furthest stage: action workers (actions.page). Why: action page: it was a dry run, nothing ran — dry run.`,
    ])
    const two = formatTrace(FP, '', traceEvents([raw(T), raw(T + 1000, { startsAt: '2026-11-26T00:00:00.000Z' })]))
    expect(
      two.split('\n').filter((l) => l.startsWith('episode') || l.startsWith('verdict') || l.startsWith('trace')),
    ).toEqual([
      `trace of ${FP}: 2 records, 2 episodes`,
      `episode startsAt ${STARTS}`,
      expect.stringMatching(/^verdict: No action succeeded for episode 2026-11-25/),
      'episode startsAt 2026-11-26T00:00:00.000Z',
      expect.stringMatching(/^verdict: No action succeeded for episode 2026-11-26/),
    ])
  })
})

describe('episodes in the trace', () => {
  const NS = '2026-11-25T00:52:34.568919002Z'

  it('shows a resolve sent with another startsAt as closing the episode, in one episode', () => {
    const events = traceEvents([
      raw(T, { startsAt: NS }),
      deduped(T + 10, { startsAt: NS }),
      raw(T + 60_000, { status: 'resolved', startsAt: STARTS }),
      deduped(T + 60_010, { status: 'resolved', startsAt: NS, sentStartsAt: STARTS }),
    ])
    const episodes = traceEpisodes(events)
    expect(episodes.map((e) => e.startsAt)).toEqual([NS])
    expect(events[3]!.text).toBe(
      `deduped: forwarded (resolved) to alerts.deduped, closing episode ${NS} (the resolve was sent with startsAt ${STARTS})`,
    )
  })

  it('says who closed an episode by hand', () => {
    const closedBy = { by: 'alice', reason: 'resolve lost' }
    const events = traceEvents([
      raw(T, { status: 'resolved', closedBy }),
      deduped(T + 10, { status: 'resolved', closedBy }),
    ])
    expect(events[0]!.text).toContain('made by alice: resolve lost')
    expect(events[1]!.text).toContain(`closing episode ${STARTS} (closed by alice: resolve lost)`)
  })
})
