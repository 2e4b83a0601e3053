/**
 * The Alert view, pure: per fingerprint, the decisions (`nightshift.decisions`) and
 * outcomes (`actions.outcomes`) read, as trace records, so that an alert's story and its
 * "why didn't it fire?" come from the trace command's own functions (traceEvents,
 * traceEpisodes, traceVerdict), not a copy of them.
 *
 * Bounded: an LRU of at most `maxFingerprints` fingerprints (least recently written
 * evicted first; reading does not count as use), at most `maxPerFingerprint` records
 * each (oldest dropped, and the story says `complete: false`), and at most `maxRecords`
 * records in all (least recently written fingerprints evicted until under it).
 *
 * The views read decisions, outcomes and the action topics' requests, so a story holds
 * every drop and throttle (with its reason), every request routed or escalated (and a
 * held one woken), and every outcome; the records of alerts.* before them ("received",
 * "enriched") are not in it, and the verdict is drawn from what is.
 *
 * Labels for {@link AlertsView.find}: a request carries the alert's labels (and its team
 * and service); an outcome carries alertname, team and service; a decision only the
 * fingerprint. Matchers are matched against the latest of those (a fingerprint with
 * decisions only has just `fingerprint`).
 */
import type { ActionOutcomeRecord, ActionRequestRecord, DecisionRecord } from '../../contracts/records'
import { matchesAll, parseMatchers } from '../../matchers'
import { traceEpisodes, traceEvents } from '../../trace/story'
import type { TraceRecord } from '../../trace/records'
import { traceVerdict } from '../../trace/verdict'
import type { AlertStory } from '../types'

/** Where a record was read, for its trace record. */
export interface TraceAt {
  topic: string
  partition: number
  offset: string
  timestamp: number
  /** A held request written back by its worker: why (see holds.ts). */
  wake?: string
}

export interface AlertsLimits {
  maxFingerprints: number
  maxPerFingerprint: number
  maxRecords: number
}

interface AlertEntry {
  fingerprint: string
  records: TraceRecord[]
  /** The alert's labels, from its latest request; undefined until one is read. */
  labels: Record<string, string> | undefined
  /** From the latest outcome or request; undefined until one is read. */
  alertname: string | undefined
  team: string | undefined
  service: string | undefined
  complete: boolean
  /** Neighbours in write recency: `older` toward the least recently written. */
  older: AlertEntry | undefined
  newer: AlertEntry | undefined
}

export const DEFAULT_FIND_LIMIT = 50

export class AlertsView {
  /**
   * The entries, and a list of them by write recency. Not a Map's insertion order: V8
   * walks over deleted slots from the front of a Map, so taking its oldest entry after
   * many deletions costs more with each one.
   */
  private readonly lru = new Map<string, AlertEntry>()
  private oldest: AlertEntry | undefined
  private newest: AlertEntry | undefined
  private records = 0

  constructor(private readonly limits: AlertsLimits) {
    for (const [name, value] of Object.entries(limits))
      if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be ≥ 1, got ${value}`)
  }

  decision(value: DecisionRecord, at: TraceAt): void {
    this.add(value.fingerprint, { ...at, role: 'decisions', value })
  }

  request(value: ActionRequestRecord, at: TraceAt): void {
    const entry = this.add(value.alert.alert.fingerprint, { ...at, role: 'action', value })
    entry.labels = value.alert.alert.labels
    if (value.alert.alert.labels.alertname) entry.alertname = value.alert.alert.labels.alertname
    entry.team = value.alert.team
    entry.service = value.alert.service ?? undefined
  }

  outcome(value: ActionOutcomeRecord, at: TraceAt): void {
    const entry = this.add(value.fingerprint, { ...at, role: 'outcomes', value })
    if (value.alertname !== '') entry.alertname = value.alertname
    entry.team = value.team
    entry.service = value.service ?? undefined
  }

  /** The story of `fingerprint` from the records kept; undefined when none are. */
  story(fingerprint: string): AlertStory | undefined {
    const entry = this.lru.get(fingerprint)
    if (!entry) return undefined
    const events = traceEvents(entry.records)
    const episodes = traceEpisodes(events)
      .map(({ startsAt, events: list }) => ({ startsAt, verdict: traceVerdict(startsAt, list) }))
      .reverse()
    return { fingerprint, events, episodes, complete: entry.complete }
  }

  /**
   * Fingerprints whose labels (see the module comment) match every matcher of
   * `matchers` (Alertmanager syntax: `{alertname="DiskFull", team=~"pay.*"}` or without
   * braces), most recently written first, at most `limit`.
   * @throws InvalidMatcherError (a ConfigError) naming what does not parse.
   */
  find(matchers: string, limit = DEFAULT_FIND_LIMIT): string[] {
    const parsed = parseMatchers(matchers)
    const found: string[] = []
    for (let entry = this.newest; entry !== undefined && found.length < limit; entry = entry.older)
      if (matchesAll(parsed, labelsOf(entry))) found.push(entry.fingerprint)
    return found
  }

  sizes(): { fingerprints: number; records: number } {
    return { fingerprints: this.lru.size, records: this.records }
  }

  private add(fingerprint: string, record: TraceRecord): AlertEntry {
    let entry = this.lru.get(fingerprint)
    if (entry) this.unlink(entry)
    else {
      entry = {
        fingerprint,
        records: [],
        labels: undefined,
        alertname: undefined,
        team: undefined,
        service: undefined,
        complete: true,
        older: undefined,
        newer: undefined,
      }
      this.lru.set(fingerprint, entry)
    }
    this.pushNewest(entry)
    entry.records.push(record)
    this.records += 1
    if (entry.records.length > this.limits.maxPerFingerprint) {
      const dropped = entry.records.length - this.limits.maxPerFingerprint
      entry.records.splice(0, dropped)
      this.records -= dropped
      entry.complete = false
    }
    while (this.lru.size > this.limits.maxFingerprints || this.records > this.limits.maxRecords) {
      const evicted = this.oldest!
      if (evicted === entry) break
      this.unlink(evicted)
      this.lru.delete(evicted.fingerprint)
      this.records -= evicted.records.length
    }
    return entry
  }

  private unlink(entry: AlertEntry): void {
    if (entry.older) entry.older.newer = entry.newer
    else this.oldest = entry.newer
    if (entry.newer) entry.newer.older = entry.older
    else this.newest = entry.older
    entry.older = undefined
    entry.newer = undefined
  }

  private pushNewest(entry: AlertEntry): void {
    entry.older = this.newest
    if (this.newest) this.newest.newer = entry
    else this.oldest = entry
    this.newest = entry
  }
}

function labelsOf(entry: AlertEntry): Record<string, string> {
  const labels: Record<string, string> = { ...entry.labels, fingerprint: entry.fingerprint }
  if (entry.alertname !== undefined) labels.alertname = entry.alertname
  if (entry.team !== undefined) labels.team = entry.team
  if (entry.service !== undefined) labels.service = entry.service
  return labels
}
