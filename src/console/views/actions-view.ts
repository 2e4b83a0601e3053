/**
 * The Actions view, pure: the latest outcome of every request key read from
 * `actions.outcomes`, with its earlier records, queried newest first.
 *
 * Bounded: at most `maxRows` rows (oldest by finishedAt evicted first), each with at most
 * {@link MAX_HISTORY} earlier records. Pending approvals and held requests are kept
 * apart from the rows (a row evicted while it waits stays listed there until its final
 * outcome) and are bounded by `maxRows` too.
 *
 * Rows sit in one array sorted by their order key (finishedAt, partition, offset), so a
 * time range or a cursor is a binary search and a page is a scan from the newest with an
 * early stop; a row replaced by a newer outcome of its key is marked dead in place and
 * the array is compacted once half of it is dead. Outcomes arrive roughly in finishedAt
 * order, so an insertion is near the end and cheap.
 */
import type { ActionOutcomeRecord } from '../../contracts/records'
import { ERROR_CODES, NightshiftError } from '../../errors'
import type { ActionPage, ActionQuery, ActionRow, HeldView } from '../types'

/** Earlier records kept per row (held, awaiting_approval, repeated outcomes of a key). */
export const MAX_HISTORY = 20
export const DEFAULT_PAGE_SIZE = 50
export const MAX_PAGE_SIZE = 500

/** Where an outcome was read. */
export interface ReadAt {
  partition: number
  offset: string
  /** Kafka record timestamp, ms since the epoch. */
  timestamp: number
}

interface Entry {
  row: ActionRow
  finishedAt: number
  partition: number
  offset: number
  live: boolean
}

/** What an order key compares: newest is greatest. */
type OrderKey = Pick<Entry, 'finishedAt' | 'partition' | 'offset'>

function compare(a: OrderKey, b: OrderKey): number {
  return a.finishedAt - b.finishedAt || a.partition - b.partition || a.offset - b.offset
}

/** The cursor of a page ending at `key`: opaque to clients, stable while rows arrive. */
export function encodeCursor(key: OrderKey): string {
  return Buffer.from(`${key.finishedAt}:${key.partition}:${key.offset}`, 'utf8').toString('base64url')
}

/** @throws NightshiftError (BAD_REQUEST) when `cursor` is not one {@link encodeCursor} made. */
export function decodeCursor(cursor: string): OrderKey {
  const parts = Buffer.from(cursor, 'base64url').toString('utf8').split(':')
  const [finishedAt, partition, offset] = parts.map(Number)
  if (
    parts.length !== 3 ||
    !Number.isSafeInteger(finishedAt) ||
    !Number.isSafeInteger(partition) ||
    !Number.isSafeInteger(offset)
  )
    throw new NightshiftError(ERROR_CODES.BAD_REQUEST, `"${cursor}" is not a cursor of the Actions view`)
  return { finishedAt: finishedAt!, partition: partition!, offset: offset! }
}

/**
 * The row key of an outcome: its idempotency key, except a `not_effective` follow-up,
 * which is written under the key of the success it judges and is a row of its own
 * (`<key>#not_effective`) so that the success stays visible.
 */
export function rowKeyOf(outcome: ActionOutcomeRecord): string {
  return outcome.status === 'not_effective' ? `${outcome.idempotencyKey}#not_effective` : outcome.idempotencyKey
}

export class ActionsView {
  /** Every entry, sorted by order key; dead ones are skipped and compacted away. */
  private sorted: Entry[] = []
  /** Entries before this index are all dead. */
  private head = 0
  private dead = 0
  private readonly byKey = new Map<string, Entry>()
  private historyCount = 0
  /** Latest outcome awaiting_approval / held, by row key, in the order they were asked. */
  private readonly pending = new Map<string, ActionRow>()
  private readonly holding = new Map<string, ActionRow>()

  constructor(private readonly maxRows: number) {
    if (!Number.isSafeInteger(maxRows) || maxRows < 1) throw new RangeError(`maxRows must be ≥ 1, got ${maxRows}`)
  }

  /** Folds one outcome in; returns its row (the key's new latest). */
  apply(outcome: ActionOutcomeRecord, at: ReadAt): ActionRow {
    const key = rowKeyOf(outcome)
    const before = this.byKey.get(key)
    let history: ActionOutcomeRecord[] = []
    if (before) {
      history = [...before.row.history, before.row.outcome]
      if (history.length > MAX_HISTORY) history = history.slice(history.length - MAX_HISTORY)
      this.kill(before)
    }
    const row: ActionRow = { key, outcome, history, position: `${at.partition}:${at.offset}` }
    const entry: Entry = {
      row,
      finishedAt: outcome.finishedAt,
      partition: at.partition,
      offset: Number(at.offset),
      live: true,
    }
    this.insert(entry)
    this.byKey.set(key, entry)
    this.historyCount += history.length
    this.track(this.pending, key, row, outcome.status === 'awaiting_approval')
    this.track(this.holding, key, row, outcome.status === 'held')
    while (this.byKey.size > this.maxRows) this.evictOldest()
    if (this.dead > 1024 && this.dead * 2 > this.sorted.length) this.compact()
    return row
  }

  action(key: string): ActionRow | undefined {
    return this.byKey.get(key)?.row
  }

  /** Rows whose latest outcome is `awaiting_approval`, oldest asked first. */
  pendingRows(): ActionRow[] {
    return [...this.pending.values()].sort(byFinished)
  }

  /** Requests held by a wait, oldest first. */
  held(): HeldView[] {
    return [...this.holding.values()].sort(byFinished).map((row) => ({
      key: row.key,
      outcome: row.outcome,
      until: isoMs(row.outcome.output.holdUntil),
    }))
  }

  /**
   * A page of rows matching `query`, newest first. `total` counts every matching row:
   * without field filters it is known without a scan; with them the time range is
   * scanned once (a few ms for 200,000 rows).
   * @throws NightshiftError (BAD_REQUEST) for a cursor this view did not make.
   */
  query(query: ActionQuery): ActionPage {
    const limit = Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(query.limit ?? DEFAULT_PAGE_SIZE)))
    const lo = query.since === undefined ? 0 : this.firstAtOrAfter(query.since)
    const hi = query.until === undefined ? this.sorted.length : this.firstAtOrAfter(query.until)
    const start =
      query.cursor === undefined ? hi : Math.min(hi, this.lowerBound(decodeCursor(query.cursor), this.sorted.length))
    const filtered =
      query.team !== undefined ||
      query.service !== undefined ||
      query.action !== undefined ||
      query.status !== undefined
    const matches = (o: ActionOutcomeRecord): boolean =>
      (query.team === undefined || o.team === query.team) &&
      (query.service === undefined || o.service === query.service) &&
      (query.action === undefined || o.action === query.action) &&
      (query.status === undefined || o.status === query.status)
    const ranged = query.since !== undefined || query.until !== undefined

    const rows: ActionRow[] = []
    let more = false
    let total = 0
    // Without filters or a range the total is the row count and the scan stops early.
    const needTotal = filtered || ranged
    for (let i = (needTotal ? hi : start) - 1; i >= Math.max(lo, this.head); i--) {
      const entry = this.sorted[i]!
      if (!entry.live || (filtered && !matches(entry.row.outcome))) continue
      total += 1
      if (i >= start) continue
      if (rows.length < limit) rows.push(entry.row)
      else {
        more = true
        if (!needTotal) break
      }
    }
    if (!needTotal) total = this.byKey.size
    const last = rows[rows.length - 1]
    const page: ActionPage = { rows, total }
    if (more && last !== undefined) page.next = encodeCursor(this.byKey.get(last.key)!)
    return page
  }

  sizes(): { rows: number; history: number; pending: number; held: number } {
    return { rows: this.byKey.size, history: this.historyCount, pending: this.pending.size, held: this.holding.size }
  }

  private track(map: Map<string, ActionRow>, key: string, row: ActionRow, member: boolean): void {
    map.delete(key)
    if (!member) return
    map.set(key, row)
    if (map.size > this.maxRows) map.delete(map.keys().next().value!)
  }

  private kill(entry: Entry): void {
    entry.live = false
    this.dead += 1
    this.historyCount -= entry.row.history.length
  }

  private insert(entry: Entry): void {
    const n = this.sorted.length
    if (n === 0 || compare(this.sorted[n - 1]!, entry) <= 0) {
      this.sorted.push(entry)
      return
    }
    const at = this.upperBound(entry)
    this.sorted.splice(at, 0, entry)
    if (at < this.head) this.head = at
  }

  private evictOldest(): void {
    while (this.head < this.sorted.length && !this.sorted[this.head]!.live) this.head += 1
    const oldest = this.sorted[this.head]
    if (!oldest) return
    this.kill(oldest)
    this.byKey.delete(oldest.row.key)
    this.head += 1
  }

  private compact(): void {
    this.sorted = this.sorted.filter((e) => e.live)
    this.head = 0
    this.dead = 0
  }

  /** Index of the first entry whose order key is ≥ `key` (in [0, end)). */
  private lowerBound(key: OrderKey, end: number): number {
    let lo = 0
    let hi = end
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compare(this.sorted[mid]!, key) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Index of the first entry whose order key is > `key`. */
  private upperBound(key: OrderKey): number {
    let lo = 0
    let hi = this.sorted.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compare(this.sorted[mid]!, key) <= 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Index of the first entry finished at or after `ms`. */
  private firstAtOrAfter(ms: number): number {
    return this.lowerBound({ finishedAt: ms, partition: Number.NEGATIVE_INFINITY, offset: 0 }, this.sorted.length)
  }
}

function byFinished(a: ActionRow, b: ActionRow): number {
  return a.outcome.finishedAt - b.outcome.finishedAt || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
}

/** ms since the epoch of an ISO time in an outcome's output; null when absent or not a time. */
export function isoMs(text: string | undefined): number | null {
  if (text === undefined) return null
  const ms = Date.parse(text)
  return Number.isNaN(ms) ? null : ms
}
