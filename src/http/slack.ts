/**
 * Slack's side of approvals, pure: the request signature Slack puts on every interactive
 * callback, the callback's payload, and the message blocks whose buttons send it.
 *
 * Slack signs `v0:<X-Slack-Request-Timestamp>:<raw body>` with the app's signing secret
 * (HMAC-SHA256, hex) and sends `X-Slack-Signature: v0=<hex>`. A request is taken only if
 * the signature matches and the timestamp is within {@link SLACK_MAX_SKEW_MS} of now
 * either way, so a captured request cannot be replayed later.
 * https://api.slack.com/authentication/verifying-requests-from-slack
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { ApprovalDecision } from '../actions/worker/approvals'
import { isApprovalId } from '../actions/worker/approvals'

/** How far a request's timestamp may be from now, either way (Slack's own advice: 5 minutes). */
export const SLACK_MAX_SKEW_MS = 5 * 60_000

/** What the signature check needs: the secret, the two headers as received, the raw body, the clock. */
export interface SlackSignedRequest {
  signingSecret: string
  /** X-Slack-Request-Timestamp: seconds since the epoch. */
  timestamp: string | undefined
  /** X-Slack-Signature: `v0=<hex>`. */
  signature: string | undefined
  /** The body exactly as received. */
  body: Buffer
  /** ms since the epoch. */
  now: number
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string }

/** The `v0=<hex>` signature of `body` sent at `timestamp` (seconds, as text). */
export function slackSignature(signingSecret: string, timestamp: string, body: Buffer): string {
  const hmac = createHmac('sha256', signingSecret)
  hmac.update(`v0:${timestamp}:`, 'utf8')
  hmac.update(body)
  return `v0=${hmac.digest('hex')}`
}

/** Checks a callback's signature and timestamp; the reason is for the log, not the caller. */
export function verifySlackSignature(request: SlackSignedRequest): SignatureCheck {
  const { timestamp, signature } = request
  if (timestamp === undefined || timestamp === '') return { ok: false, reason: 'no X-Slack-Request-Timestamp header' }
  if (signature === undefined || signature === '') return { ok: false, reason: 'no X-Slack-Signature header' }
  if (!/^\d{1,15}$/.test(timestamp)) return { ok: false, reason: 'X-Slack-Request-Timestamp is not a number' }
  const skew = request.now - Number(timestamp) * 1000
  if (Math.abs(skew) > SLACK_MAX_SKEW_MS)
    return {
      ok: false,
      reason: `X-Slack-Request-Timestamp is ${Math.round(Math.abs(skew) / 1000)} s ${skew > 0 ? 'old' : 'in the future'} (at most ${SLACK_MAX_SKEW_MS / 1000} s either way)`,
    }
  const expected = Buffer.from(slackSignature(request.signingSecret, timestamp, request.body), 'utf8')
  const given = Buffer.from(signature, 'utf8')
  // The expected length is public (v0= and 64 hex digits); only the content is compared in constant time.
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'X-Slack-Signature does not match' }
  return { ok: true }
}

/** An answer a Slack button asks for, with who pressed it and where. */
export interface SlackAnswer {
  decision: ApprovalDecision
  id: string
  by: string
  /** `slack:<team domain>/<channel name>`. */
  from: string
}

export type ParsedInteraction = { ok: true; answer: SlackAnswer } | { ok: false; reason: string }

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)
const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)

/** The decision and id of a button value, `approve:<id>` or `deny:<id>`. */
export function parseButtonValue(value: string): { decision: ApprovalDecision; id: string } | undefined {
  const match = /^(approve|deny):([0-9a-f]{12})$/.exec(value)
  if (!match || !isApprovalId(match[2]!)) return undefined
  return { decision: match[1] as ApprovalDecision, id: match[2]! }
}

/**
 * The answer of an interactive callback: a form-encoded body whose `payload` field is
 * the JSON of a `block_actions` interaction, its first action one of our buttons.
 */
export function parseInteraction(body: Buffer): ParsedInteraction {
  const raw = new URLSearchParams(body.toString('utf8')).get('payload')
  if (raw === null) return { ok: false, reason: 'the body has no payload field' }
  let payload: unknown
  try {
    payload = JSON.parse(raw)
  } catch {
    return { ok: false, reason: 'payload is not JSON' }
  }
  if (!isObject(payload)) return { ok: false, reason: 'payload is not an object' }
  if (payload.type !== 'block_actions')
    return { ok: false, reason: `payload type ${JSON.stringify(payload.type)} is not block_actions` }
  const actions = Array.isArray(payload.actions) ? payload.actions : []
  const value = isObject(actions[0]) ? text(actions[0].value) : undefined
  const button = value === undefined ? undefined : parseButtonValue(value)
  if (!button) return { ok: false, reason: 'the action is not an approve:<id> or deny:<id> button' }
  const user = isObject(payload.user) ? payload.user : {}
  const by = text(user.username) ?? text(user.name) ?? text(user.id)
  if (by === undefined) return { ok: false, reason: 'payload has no user' }
  const team = isObject(payload.team) ? (text(payload.team.domain) ?? text(payload.team.id)) : undefined
  const channel = isObject(payload.channel) ? (text(payload.channel.name) ?? text(payload.channel.id)) : undefined
  const from = `slack:${team ?? 'unknown'}${channel === undefined ? '' : `/${channel}`}`
  return { ok: true, answer: { ...button, by, from } }
}

/** Slack's limit on a section's text. */
const SECTION_TEXT_MAX = 3000

/**
 * The blocks of an approval request's Slack message: `text` (mrkdwn: what would run, on
 * what, why), Approve and Deny buttons whose values are `approve:<id>` and `deny:<id>`,
 * and the CLI commands for those not in Slack.
 */
export function approvalBlocks(id: string, text: string): unknown[] {
  if (!isApprovalId(id)) throw new RangeError(`"${id}" is not an approval id (12 hex digits)`)
  const shown = text.length > SECTION_TEXT_MAX ? `${text.slice(0, SECTION_TEXT_MAX - 1)}…` : text
  return [
    { type: 'section', text: { type: 'mrkdwn', text: shown } },
    {
      type: 'actions',
      block_id: `approval/${id}`,
      elements: [
        {
          type: 'button',
          action_id: 'nightshift_approve',
          text: { type: 'plain_text', text: 'Approve' },
          style: 'primary',
          value: `approve:${id}`,
        },
        {
          type: 'button',
          action_id: 'nightshift_deny',
          text: { type: 'plain_text', text: 'Deny' },
          style: 'danger',
          value: `deny:${id}`,
        },
      ],
    },
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `or: \`nightshift approve ${id}\` / \`nightshift deny ${id}\`` }],
    },
  ]
}
