import { createHmac } from 'node:crypto'
import {
  SLACK_MAX_SKEW_MS,
  approvalBlocks,
  parseButtonValue,
  parseInteraction,
  slackSignature,
  verifySlackSignature,
  type SlackSignedRequest,
} from '../../src/http/slack'

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5'
const NOW = Date.parse('2026-12-06T03:00:00.000Z')
const TS = String(NOW / 1000)
const BODY = Buffer.from('payload=%7B%22type%22%3A%22block_actions%22%7D', 'utf8')

/** Slack's own recipe, written out independently of slackSignature. */
const sign = (secret: string, ts: string, body: Buffer): string =>
  `v0=${createHmac('sha256', secret)
    .update(`v0:${ts}:${body.toString('utf8')}`)
    .digest('hex')}`

const request = (overrides: Partial<SlackSignedRequest> = {}): SlackSignedRequest => ({
  signingSecret: SECRET,
  timestamp: TS,
  signature: sign(SECRET, TS, BODY),
  body: BODY,
  now: NOW,
  ...overrides,
})

describe('verifySlackSignature', () => {
  test('signs as Slack documents it', () => {
    expect(slackSignature(SECRET, TS, BODY)).toBe(sign(SECRET, TS, BODY))
  })

  const oldTs = String((NOW - SLACK_MAX_SKEW_MS - 1000) / 1000)
  const futureTs = String((NOW + SLACK_MAX_SKEW_MS + 1000) / 1000)
  const edgeTs = String((NOW - SLACK_MAX_SKEW_MS) / 1000)
  test.each<[string, Partial<SlackSignedRequest>, RegExp | null]>([
    ['a good signature', {}, null],
    ['a timestamp exactly 5 minutes old', { timestamp: edgeTs, signature: sign(SECRET, edgeTs, BODY) }, null],
    ['a bad signature', { signature: `v0=${'0'.repeat(64)}` }, /does not match/],
    ['a signature without v0=', { signature: sign(SECRET, TS, BODY).slice(3) }, /does not match/],
    ['a signature of another secret', { signature: sign('another-secret', TS, BODY) }, /does not match/],
    ['a tampered body', { body: Buffer.from(`${BODY.toString('utf8')}x`, 'utf8') }, /does not match/],
    ['another timestamp than the one signed', { timestamp: String(NOW / 1000 - 1) }, /does not match/],
    ['an old timestamp, even well signed', { timestamp: oldTs, signature: sign(SECRET, oldTs, BODY) }, /301 s old/],
    [
      'a future timestamp, even well signed',
      { timestamp: futureTs, signature: sign(SECRET, futureTs, BODY) },
      /301 s in the future/,
    ],
    ['no timestamp header', { timestamp: undefined }, /no X-Slack-Request-Timestamp/],
    ['no signature header', { signature: undefined }, /no X-Slack-Signature/],
    ['an empty signature header', { signature: '' }, /no X-Slack-Signature/],
    ['a timestamp that is not a number', { timestamp: '1e9' }, /not a number/],
  ])('%s', (_name, overrides, refused) => {
    const check = verifySlackSignature(request(overrides))
    if (refused === null) expect(check).toEqual({ ok: true })
    else expect(check).toEqual({ ok: false, reason: expect.stringMatching(refused) })
  })
})

const form = (payload: unknown): Buffer =>
  Buffer.from(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), 'utf8')

const interaction = (value: string, user: Record<string, string> = { id: 'U1', username: 'alice', name: 'al' }) => ({
  type: 'block_actions',
  user,
  team: { id: 'T1', domain: 'acme' },
  channel: { id: 'C1', name: 'oncall' },
  actions: [{ action_id: 'nightshift_approve', value }],
})

describe('parseInteraction', () => {
  test.each<[string, Buffer, unknown]>([
    [
      'an approve button',
      form(interaction('approve:3f9a2c81d04e')),
      { ok: true, answer: { decision: 'approve', id: '3f9a2c81d04e', by: 'alice', from: 'slack:acme/oncall' } },
    ],
    [
      'a deny button, user without username',
      form(interaction('deny:3f9a2c81d04e', { id: 'U1', name: 'al' })),
      { ok: true, answer: { decision: 'deny', id: '3f9a2c81d04e', by: 'al', from: 'slack:acme/oncall' } },
    ],
    [
      'a user with an id only',
      form(interaction('deny:3f9a2c81d04e', { id: 'U1' })),
      { ok: true, answer: expect.objectContaining({ by: 'U1' }) },
    ],
    ['no payload field', Buffer.from('foo=bar'), { ok: false, reason: 'the body has no payload field' }],
    ['a payload that is not JSON', Buffer.from('payload=%7B'), { ok: false, reason: 'payload is not JSON' }],
    [
      'another interaction type',
      form({ ...interaction('approve:3f9a2c81d04e'), type: 'view_submission' }),
      { ok: false, reason: expect.stringMatching(/not block_actions/) },
    ],
    [
      'a button of something else',
      form(interaction('restart:3f9a2c81d04e')),
      { ok: false, reason: expect.stringMatching(/not an approve/) },
    ],
    [
      'an id that is not one',
      form(interaction('approve:3F9A2C81D04E')),
      { ok: false, reason: expect.stringMatching(/not an approve/) },
    ],
    [
      'no user',
      form({ ...interaction('approve:3f9a2c81d04e'), user: undefined }),
      { ok: false, reason: 'payload has no user' },
    ],
  ])('%s', (_name, body, expected) => {
    expect(parseInteraction(body)).toEqual(expected)
  })

  test('parseButtonValue', () => {
    expect(parseButtonValue('approve:0123456789ab')).toEqual({ decision: 'approve', id: '0123456789ab' })
    expect(parseButtonValue('approve:0123456789ab ')).toBeUndefined()
  })
})

describe('approvalBlocks', () => {
  test('a text section, Approve and Deny buttons carrying the id, and the CLI commands', () => {
    const blocks = approvalBlocks('3f9a2c81d04e', '*restart* checkout?') as Array<Record<string, unknown>>
    expect(blocks[0]).toEqual({ type: 'section', text: { type: 'mrkdwn', text: '*restart* checkout?' } })
    expect(blocks[1]).toMatchObject({
      type: 'actions',
      elements: [
        { type: 'button', value: 'approve:3f9a2c81d04e', style: 'primary', text: { text: 'Approve' } },
        { type: 'button', value: 'deny:3f9a2c81d04e', style: 'danger', text: { text: 'Deny' } },
      ],
    })
    // What a button sends back is what the callback parses.
    const values = (blocks[1]!.elements as Array<{ value: string }>).map((e) => parseButtonValue(e.value))
    expect(values).toEqual([
      { decision: 'approve', id: '3f9a2c81d04e' },
      { decision: 'deny', id: '3f9a2c81d04e' },
    ])
    expect(JSON.stringify(blocks[2])).toContain('nightshift approve 3f9a2c81d04e')
  })

  test("keeps the text within Slack's 3000 characters, and refuses an id that is not one", () => {
    const blocks = approvalBlocks('3f9a2c81d04e', 'x'.repeat(5000)) as Array<{ text?: { text: string } }>
    expect(blocks[0]!.text!.text).toHaveLength(3000)
    expect(() => approvalBlocks('nope', 'x')).toThrow(RangeError)
  })
})
