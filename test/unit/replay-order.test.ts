import { notificationKey, type ReplayedAlert } from '../../src/replay/diff'
import { replayOrder, type RawNotification } from '../../src/replay/order'
import { replayTopology } from '../../src/replay/topology'
import { TOPICS, actionTopic } from '../../src/topology/names'
import { loadTopicsFile } from '../../src/topology/topics-file'
import { SchemaSet } from '../../src/contracts/schemas'

const T = 1_764_000_000_000

function item(
  name: string,
  receivedAt: number,
  partition: number,
  offset: number,
  timestamp = receivedAt + 5,
): RawNotification & { name: string } {
  const alert: ReplayedAlert = {
    fingerprint: name,
    status: 'firing',
    startsAt: '2026-11-25T00:00:00.000Z',
    receivedAt,
    labels: {},
  }
  return { name, alert, partition, offset: String(offset), timestamp }
}

describe('replayOrder', () => {
  it('sorts by receive time across partitions, whatever the partition order', () => {
    const items = [
      item('p0-late', T + 100, 0, 0),
      item('p0-later', T + 300, 0, 1),
      item('p1-early', T, 1, 0),
      item('p1-mid', T + 200, 1, 1),
    ]
    expect(replayOrder(items, new Map()).map((i) => i.name)).toEqual(['p1-early', 'p0-late', 'p1-mid', 'p0-later'])
  })

  it('puts one burst (same receivedAt) in the order of the original alerts.enriched, dropped ones last', () => {
    const burst = [item('a', T, 0, 7), item('b', T, 1, 3), item('c', T, 2, 1), item('dup', T, 1, 4)]
    const enriched = new Map<string, bigint>([
      [notificationKey(burst[2]!.alert, T), 10n],
      [notificationKey(burst[0]!.alert, T), 11n],
      [notificationKey(burst[1]!.alert, T), 12n],
    ])
    expect(replayOrder(burst, enriched).map((i) => i.name)).toEqual(['c', 'a', 'b', 'dup'])
  })

  it('without enriched offsets, falls back to Kafka timestamp, partition and offset', () => {
    const items = [
      item('p1', T, 1, 0, T + 1),
      item('p0b', T, 0, 10, T + 1),
      item('p0a', T, 0, 9, T + 1),
      item('first', T, 2, 0, T),
    ]
    expect(replayOrder(items, new Map()).map((i) => i.name)).toEqual(['first', 'p0a', 'p0b', 'p1'])
  })

  it('does not change its input', () => {
    const items = [item('b', T + 1, 0, 1), item('a', T, 0, 0)]
    replayOrder(items, new Map())
    expect(items.map((i) => i.name)).toEqual(['b', 'a'])
  })
})

describe('replayTopology', () => {
  const shipped = loadTopicsFile(SchemaSet.load())
  const DAY = 86_400_000

  it('keeps the topics the replay stages use, with alerts.raw and alerts.deduped in one partition', () => {
    const t = replayTopology(shipped, T - DAY, T)
    const names = t.topics.map((x) => x.name)
    expect(names).toEqual(
      expect.arrayContaining([
        TOPICS.raw,
        TOPICS.deduped,
        TOPICS.enriched,
        TOPICS.admitted,
        TOPICS.throttled,
        TOPICS.unrouted,
        TOPICS.decisions,
        TOPICS.dlq,
        TOPICS.outcomes,
        'nightshift.dedup-changelog',
        'nightshift.ratelimit-changelog',
        ...shipped.actions.map(actionTopic),
      ]),
    )
    for (const excluded of [TOPICS.sloEvents, TOPICS.budget, TOPICS.control, TOPICS.ledger])
      expect(names).not.toContain(excluded)
    const partitions = Object.fromEntries(t.topics.map((x) => [x.name, x.partitions]))
    expect(partitions[TOPICS.raw]).toBe(1)
    expect(partitions[TOPICS.deduped]).toBe(1)
    expect(partitions[TOPICS.enriched]).toBe(shipped.topics.find((x) => x.name === TOPICS.enriched)!.partitions)
    expect(t.actions).toEqual(shipped.actions)
  })

  it('stretches alerts.raw retention to cover the oldest record plus a day, never shortens it', () => {
    const raw = (oldest: number) =>
      replayTopology(shipped, oldest, T).topics.find((x) => x.name === TOPICS.raw)!.configs['retention.ms']
    expect(raw(T - DAY)).toBeUndefined()
    expect(raw(T - 30 * DAY)).toBe(String(31 * DAY))
    const longer = {
      ...shipped,
      topics: shipped.topics.map((x) =>
        x.name === TOPICS.raw ? { ...x, configs: { 'retention.ms': String(90 * DAY) } } : x,
      ),
    }
    expect(
      replayTopology(longer, T - 30 * DAY, T).topics.find((x) => x.name === TOPICS.raw)!.configs['retention.ms'],
    ).toBe(String(90 * DAY))
  })
})
