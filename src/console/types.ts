/**
 * The operator console's parts and what they agree on (issue 18). Three parts, each in
 * its own files:
 *
 * - views (src/console/views/): what the process keeps by consuming `actions.outcomes`,
 *   `nightshift.decisions`, `nightshift.control` and `slo.budget` from the beginning, in
 *   bounded memory, rebuilt at start with progress; queried by the API, never by reading
 *   a topic per request;
 * - access (src/console/access.ts): who may look (viewer) and who may act (operator),
 *   from hashed credentials; cross-site request forgery refused;
 * - the API and the page (src/console/api.ts, src/console/page/): JSON under
 *   `/api/console/…`, server-sent events, and the page at `/`.
 *
 * This file holds only types: the contract between the parts.
 */
import type { ActionOutcomeRecord, SloBudgetRecord } from '../contracts/records'
import type { ApprovalAnswer } from '../actions/worker/approvals'
import type { Pause } from '../actions/worker/pause'
import type { TraceEvent } from '../trace/story'
import type { TraceVerdict } from '../trace/verdict'

// ---------------------------------------------------------------- views

/** One row of the Actions view: a request's latest outcome (final or event). */
export interface ActionRow {
  /** The outcome's idempotency key: the request's (or `<key>#resolved`, `<key>/revert`). */
  key: string
  outcome: ActionOutcomeRecord
  /** Earlier records of the same key, oldest first (held, awaiting_approval events; a not_effective follow-up is its own row). */
  history: ActionOutcomeRecord[]
  /** Where the latest outcome was read: `<partition>:<offset>` of actions.outcomes. */
  position: string
  /** What was asked: the request's params and its alert's labels, when the views kept its request. */
  request?: RequestFacts
}

/** What the views keep of an action request (from `actions.<name>`), by idempotency key. */
export interface RequestFacts {
  route: string
  params: Record<string, string>
  labels: Record<string, string>
  requestedAt: number
}

/** Filters of the Actions view; every given field must match. Times are ms since the epoch. */
export interface ActionQuery {
  team?: string
  service?: string
  action?: string
  /** An outcome status (`succeeded`, `held`, …). */
  status?: string
  /** finishedAt ≥ since. */
  since?: number
  /** finishedAt < until. */
  until?: number
  /** Page size (default 50, at most 500). */
  limit?: number
  /** The `next` cursor of the previous page. */
  cursor?: string
}

/** A page of the Actions view, newest first. */
export interface ActionPage {
  rows: ActionRow[]
  /** Cursor of the next (older) page; absent on the last page. */
  next?: string
  /** Rows matching the filters (before paging). */
  total: number
}

/** A request waiting for a person: its `awaiting_approval` event and no final outcome yet. */
export interface PendingApprovalView {
  id: string
  key: string
  outcome: ActionOutcomeRecord
  /** When it was asked (the event's finishedAt) and when it times out (output.approvalTimeoutAt). */
  askedAt: number
  timeoutAt: number | null
  /** An answer given but not yet acted on by a worker. */
  answer?: ApprovalAnswer
}

/** A request held by a wait: its `held` event and no final outcome yet. */
export interface HeldView {
  key: string
  outcome: ActionOutcomeRecord
  /** output.holdUntil, ms since the epoch. */
  until: number | null
}

/** The alert view: one fingerprint's story from the records the views keep. */
export interface AlertStory {
  fingerprint: string
  /** Its events in time order (the trace command's event builder, src/trace/story.ts). */
  events: TraceEvent[]
  /** One verdict per episode, newest first (src/trace/verdict.ts). */
  episodes: Array<{ startsAt: string; verdict: TraceVerdict }>
  /** False when the views dropped part of this alert's records (bounded memory). */
  complete: boolean
}

/** How far the views are in reading their topics (shown while they rebuild at start). */
export interface ViewProgress {
  topic: string
  /** Records read so far, and the end offsets sum at start (what "caught up" means). */
  read: number
  target: number
  caughtUp: boolean
}

/** Something new for the live page (server-sent events). */
export type ConsoleEvent =
  | { kind: 'outcome'; row: ActionRow }
  | { kind: 'approval'; answer: ApprovalAnswer }
  | { kind: 'pause'; pause: Pause }
  | { kind: 'lift'; id: string }
  | { kind: 'budget'; budget: SloBudgetRecord }

/** What the views answer. Implemented by src/console/views/. */
export interface ConsoleViews {
  actions(query: ActionQuery): ActionPage
  /** A row by key, with its history; undefined when not (or no longer) kept. */
  action(key: string): ActionRow | undefined
  pendingApprovals(): PendingApprovalView[]
  held(): HeldView[]
  /** Pauses in force at `now` (and all with `all`). */
  pauses(now: number, all?: boolean): Pause[]
  budgets(): SloBudgetRecord[]
  /** The story of one fingerprint; of every fingerprint whose alert labels match `matchers` (Alertmanager syntax) when given instead. */
  alert(fingerprint: string): AlertStory | undefined
  findAlerts(matchers: string, limit?: number): string[]
  progress(): ViewProgress[]
  /** Calls `listener` for each new thing after the views caught up; returns the unsubscribe. */
  subscribe(listener: (event: ConsoleEvent) => void): () => void
  /** Entries kept, by view, for /metrics and the README's memory figures. */
  sizes(): Record<string, number>
}

// ---------------------------------------------------------------- access

export type ConsoleRole = 'viewer' | 'operator'

/** Who made a request, once access let it in. */
export interface ConsoleUser {
  name: string
  role: ConsoleRole
  /** true when no credentials are configured: localhost only, everyone is an operator (the page says so). */
  open: boolean
}

/** The request header the page sends on every state-changing request (with a same-origin check). */
export const CSRF_HEADER = 'x-nightshift-console'
