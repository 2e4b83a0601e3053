import { asDeadLetter } from '../../src/contracts/dead-letter'
import { ConfigError, NightshiftError } from '../../src/errors'
import {
  REPLAYED_FROM_HEADER,
  formatDeadLetterLine,
  formatReplay,
  listSummary,
  parseDeadLetterId,
  planReplay,
  selectForList,
  type DeadLetterEntry,
  type DeadLetterValue,
} from '../../src/cli/dlq'
import {
  compactJson,
  escapeControl,
  formatKey,
  formatRawValue,
  formatRecordLine,
  formatTimestamp,
  parsePositiveInt,
  timestampFieldNames,
} from '../../src/cli/tail'
import { SchemaSet } from '../../src/contracts/schemas'

const T = Date.parse('2026-11-25T00:52:34.568Z')
const b = (s: string) => Buffer.from(s)

function record(
  key: Buffer | null,
  value: Buffer | null,
  overrides: { partition?: number; offset?: string; timestamp?: string } = {},
) {
  return { partition: 0, offset: '7', timestamp: String(T), key, value, ...overrides }
}

describe('formatRecordLine', () => {
  it.each<[string, ReturnType<typeof record>, { value: unknown } | undefined, string]>([
    [
      'an Avro value as compact JSON',
      record(b('fp1'), b('\0x'), { partition: 2, offset: '41' }),
      { value: { fingerprint: 'fp1', status: 'firing', n: null } },
      `2:41 2026-11-25T00:52:34.568Z fp1 {"fingerprint":"fp1","status":"firing","n":null}`,
    ],
    [
      'a raw (non-Avro) JSON value as is',
      record(b('pause/team=a'), b('{"on":true}')),
      undefined,
      '0:7 2026-11-25T00:52:34.568Z pause/team=a {"on":true}',
    ],
    ['a tombstone as ∅', record(b('k'), null), undefined, '0:7 2026-11-25T00:52:34.568Z k ∅'],
    ['a null key as ∅', record(null, b('v')), undefined, '0:7 2026-11-25T00:52:34.568Z ∅ v'],
    [
      'a key with a space, quoted',
      record(b('service=a action=b'), b('v')),
      undefined,
      '0:7 2026-11-25T00:52:34.568Z "service=a action=b" v',
    ],
    ['a key that is ∅ itself, quoted', record(b('∅'), b('v')), undefined, '0:7 2026-11-25T00:52:34.568Z "∅" v'],
    ['an empty key, quoted', record(b(''), b('v')), undefined, '0:7 2026-11-25T00:52:34.568Z "" v'],
    [
      'a hostile key with a newline',
      record(b('evil\n0:8 2026-01-01T00:00:00.000Z fake line'), b('v')),
      undefined,
      '0:7 2026-11-25T00:52:34.568Z "evil\\n0:8 2026-01-01T00:00:00.000Z fake line" v',
    ],
    [
      'a raw value with CR, ESC and a bidi override',
      record(b('k'), b('a\r\u001b[2Jb\u202ec')),
      undefined,
      '0:7 2026-11-25T00:52:34.568Z k "a\\r\\u001b[2Jb\\u202ec"',
    ],
    [
      'a raw value with a line separator',
      record(b('k'), b('a\u2028b')),
      undefined,
      '0:7 2026-11-25T00:52:34.568Z k "a\\u2028b"',
    ],
    [
      'a raw value that is not UTF-8, as base64',
      record(b('k'), Buffer.from([0xff, 0xfe, 0x00])),
      undefined,
      '0:7 2026-11-25T00:52:34.568Z k base64://4A',
    ],
    [
      'an Avro string with newlines and DEL, escaped',
      record(b('k'), b('\0x')),
      { value: { msg: 'line1\nline2\u007f\u0085' } },
      '0:7 2026-11-25T00:52:34.568Z k {"msg":"line1\\nline2\\u007f\\u0085"}',
    ],
    [
      'Avro bytes as base64',
      record(b('k'), b('\0x')),
      { value: { key: null, value: Buffer.from('{"this":"is json"}') } },
      '0:7 2026-11-25T00:52:34.568Z k {"key":null,"value":"base64:eyJ0aGlzIjoiaXMganNvbiJ9"}',
    ],
    [
      'long Avro bytes as a size',
      record(b('k'), b('\0x')),
      { value: { value: Buffer.alloc(1000) } },
      '0:7 2026-11-25T00:52:34.568Z k {"value":"<1000 bytes>"}',
    ],
    [
      'a bigint as a decimal string',
      record(b('k'), b('\0x')),
      { value: { n: 9007199254740993n } },
      '0:7 2026-11-25T00:52:34.568Z k {"n":"9007199254740993"}',
    ],
    ['a timestamp that is no time, as given', record(b('k'), b('v'), { timestamp: '-1' }), undefined, '0:7 -1 k v'],
  ])('%s', (_name, rec, decoded, line) => {
    const out = formatRecordLine(rec, decoded)
    expect(out).toBe(line)
    expect(out).not.toMatch(/[\n\r\u2028\u2029]/)
  })

  it('never breaks a line, whatever the bytes', () => {
    for (let c = 0; c < 0x3000; c++) {
      const s = `x${String.fromCharCode(c)}y`
      for (const out of [
        formatRecordLine(record(b(s), b(s)), undefined),
        formatRecordLine(record(b(s), b('\0x')), { value: { s, b: Buffer.from(s) } }),
      ]) {
        expect(out.split(/[\n\r\u000b\u000c\u0085\u2028\u2029]/)).toHaveLength(1)
        expect(out).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/)
      }
    }
  })
})

describe('small formatters', () => {
  it.each<[string, string]>([
    ['plain', 'plain'],
    ['a\nb', 'a\\nb'],
    ['tab\there', 'tab\\there'],
    ['\u0000\u0007\u009b', '\\u0000\\u0007\\u009b'],
    ['ünïcödé 🙂 stays', 'ünïcödé 🙂 stays'],
  ])('escapeControl(%j)', (input, expected) => expect(escapeControl(input)).toBe(expected))

  it.each<[Buffer | null, string]>([
    [null, '∅'],
    [b('fp-1'), 'fp-1'],
    [b('"quoted'), '"\\"quoted"'],
    [b('a b'), '"a b"'],
    [Buffer.from([0xc3]), 'base64:ww=='],
  ])('formatKey(%j)', (key, expected) => expect(formatKey(key)).toBe(expected))

  it.each<[string, string]>([
    ['', '""'],
    ['"a string"', '"\\"a string\\""'],
    ['{"a":"b c"}', '{"a":"b c"}'],
  ])('formatRawValue(%j)', (value, expected) => expect(formatRawValue(b(value))).toBe(expected))

  it.each<[string, string]>([
    ['0', '1970-01-01T00:00:00.000Z'],
    [String(T), '2026-11-25T00:52:34.568Z'],
    ['abc', 'abc'],
    ['9'.repeat(30), '9'.repeat(30)],
  ])('formatTimestamp(%j)', (ts, expected) => expect(formatTimestamp(ts)).toBe(expected))

  it("timestampFieldNames: the contracts' timestamp-millis fields, not the plain longs", () => {
    const names = timestampFieldNames(SchemaSet.load())
    for (const n of ['receivedAt', 'finishedAt', 'startedAt', 'requestedAt', 'failedAt', 'decidedAt'])
      expect(names.has(n)).toBe(true)
    for (const n of ['durationMs', 'allowedBadMs', 'badMs', 'start', 'end', 'startsAt'])
      expect(names.has(n)).toBe(false)
  })

  it('compactJson: timestamp fields as RFC 3339, like the string times beside them', () => {
    const outcome = { alert: { startsAt: '2026-11-25T00:52:34.568Z', receivedAt: T }, finishedAt: T + 1, durationMs: 5 }
    expect(compactJson(outcome, new Set(['receivedAt', 'finishedAt']))).toBe(
      '{"alert":{"startsAt":"2026-11-25T00:52:34.568Z","receivedAt":"2026-11-25T00:52:34.568Z"},' +
        '"finishedAt":"2026-11-25T00:52:34.569Z","durationMs":5}',
    )
    expect(compactJson({ finishedAt: null, at: 1e20 }, new Set(['finishedAt', 'at']))).toBe(
      '{"finishedAt":null,"at":100000000000000000000}',
    )
  })

  it('compactJson: top-level Buffer and nested arrays', () => {
    expect(compactJson(Buffer.from('hi'))).toBe('"base64:aGk="')
    expect(compactJson([1, [Buffer.from('a')], { d: undefined }])).toBe('[1,["base64:YQ=="],{}]')
  })

  it.each<[string, number | RegExp]>([
    ['1', 1],
    ['25', 25],
    ['0', /--max must be a whole number ≥ 1, got "0"/],
    ['-3', /got "-3"/],
    ['1.5', /got "1.5"/],
    ['ten', /got "ten"/],
    ['', /got ""/],
  ])('parsePositiveInt(%j)', (raw, expected) => {
    if (typeof expected === 'number') expect(parsePositiveInt(raw, '--max')).toBe(expected)
    else expect(() => parsePositiveInt(raw, '--max')).toThrow(expected)
  })
})

describe('parseDeadLetterId', () => {
  it.each<[string, string]>([
    ['0:42', '0:42'],
    ['3:0', '3:0'],
    [' 1:007 ', '1:7'],
    ['0:9223372036854775807', '0:9223372036854775807'],
  ])('%j → %s', (raw, id) => expect(parseDeadLetterId(raw)).toBe(id))

  it.each([
    '',
    '42',
    '0:',
    ':4',
    '0:4:1',
    'a:1',
    '-1:3',
    '0:-3',
    '0:1.5',
    '0:9223372036854775808',
    '2147483648:1',
    '0:4\n'.repeat(2),
  ])('rejects %j with a ConfigError', (raw) => {
    expect(() => parseDeadLetterId(raw)).toThrow(ConfigError)
    expect(() => parseDeadLetterId(raw)).toThrow(/expected <partition>:<offset>/)
  })

  it('keeps the message on one line when the id is hostile', () => {
    expect(() => parseDeadLetterId('x\ny')).toThrow('--id "x\\ny" is not a dead letter id')
  })
})

const RAW = 'test.x.alerts.raw'
const DLQ = 'test.x.nightshift.dlq'

function letter(overrides: Partial<DeadLetterValue> = {}): DeadLetterValue {
  return {
    stage: 'dedup',
    errorCode: 'NS_POISON_RECORD',
    errorMessage: 'value is not in the Confluent wire format (magic byte 0 + schema id)',
    source: { topic: RAW, partition: 0, offset: '3' },
    key: b('poison-0'),
    value: b('{"this":"is json, not avro"}'),
    headers: { trace: 't1' },
    failedAt: T,
    ...overrides,
  }
}

function entry(id: string, l: DeadLetterValue | undefined, unreadable?: string): DeadLetterEntry {
  const [p, o] = id.split(':')
  return {
    id,
    partition: Number(p),
    offset: o!,
    timestamp: T,
    ...(l ? { letter: l } : {}),
    ...(unreadable ? { unreadable } : {}),
  }
}

describe('dlq list formatting', () => {
  it.each<[string, DeadLetterEntry, string]>([
    [
      'a dead letter with a source',
      entry('0:5', letter()),
      `0:5 2026-11-25T00:52:34.568Z stage=dedup code=NS_POISON_RECORD source=${RAW}/0@3 value is not in the Confluent wire format (magic byte 0 + schema id)`,
    ],
    [
      'a webhook body (no source)',
      entry('1:0', letter({ stage: 'ingest', source: null, errorMessage: 'bad json' })),
      '1:0 2026-11-25T00:52:34.568Z stage=ingest code=NS_POISON_RECORD source=none bad json',
    ],
    [
      'a hostile message stays on one line',
      entry('0:6', letter({ errorMessage: 'a\nb\u001b[31m' })),
      `0:6 2026-11-25T00:52:34.568Z stage=dedup code=NS_POISON_RECORD source=${RAW}/0@3 a\\nb\\u001b[31m`,
    ],
    [
      'an unreadable record',
      entry('0:7', undefined, 'value is not in the Confluent wire format'),
      '0:7 2026-11-25T00:52:34.568Z unreadable: value is not in the Confluent wire format',
    ],
  ])('%s', (_name, e, line) => expect(formatDeadLetterLine(e)).toBe(line))

  it('sorts newest last, filters by stage, keeps the newest n', () => {
    const entries = [
      entry('1:0', letter({ failedAt: T + 2, stage: 'ingest' })),
      entry('0:1', letter({ failedAt: T + 1 })),
      entry('0:0', letter({ failedAt: T + 3 })),
    ]
    expect(selectForList(entries, {}).shown.map((e) => e.id)).toEqual(['0:1', '1:0', '0:0'])
    expect(selectForList(entries, { stage: 'dedup' })).toMatchObject({
      shown: [{ id: '0:1' }, { id: '0:0' }],
      matching: 2,
    })
    expect(selectForList(entries, { limit: 2 })).toMatchObject({ shown: [{ id: '1:0' }, { id: '0:0' }], matching: 3 })
  })

  it.each<[number, number, number, string | undefined, string]>([
    [1, 1, 1, undefined, `1 dead letter in ${DLQ}`],
    [0, 0, 0, undefined, `no dead letters in ${DLQ}`],
    [0, 0, 4, 'dedup', `no dead letters of stage dedup in ${DLQ} (4 of other stages or unreadable)`],
    [2, 5, 5, undefined, `showing the newest 2 of 5 dead letters in ${DLQ}`],
    [3, 3, 9, 'ingest', `3 dead letters of stage ingest in ${DLQ} (9 in all)`],
  ])('listSummary(shown %d, matching %d, total %d, stage %s)', (shown, matching, total, stage, text) => {
    expect(listSummary(DLQ, shown, matching, total, stage)).toBe(text)
  })

  it('asDeadLetter rejects other shapes', () => {
    expect(asDeadLetter(letter())).toBeDefined()
    expect(asDeadLetter({ fingerprint: 'x' })).toBeUndefined()
    expect(asDeadLetter(null)).toBeUndefined()
    expect(asDeadLetter({ ...letter(), key: 'not bytes' })).toBeUndefined()
  })
})

describe('planReplay', () => {
  const topics = new Set([RAW, DLQ])
  const poison = entry('0:5', letter())
  const webhook = entry('0:6', letter({ stage: 'ingest', source: null, key: null, value: b('{not json') }))
  const gone = entry('0:7', letter({ source: { topic: 'test.gone.alerts.raw', partition: 0, offset: '0' } }))
  const again = entry('0:8', letter({ failedAt: T + 10, headers: { trace: 't1', [REPLAYED_FROM_HEADER]: '0:5' } }))

  it('sends the original key, value and headers to the source partition, with the replay header', () => {
    const plan = planReplay([poison, webhook], { ids: ['0:5'] }, topics, DLQ)
    expect(plan.send).toEqual([
      {
        entry: poison,
        replayedAs: [],
        record: {
          topic: RAW,
          partition: 0,
          key: b('poison-0'),
          value: b('{"this":"is json, not avro"}'),
          headers: { trace: 't1', [REPLAYED_FROM_HEADER]: '0:5' },
        },
      },
    ])
    expect(formatReplay(plan, false)).toEqual([
      `sent 0:5 → ${RAW}/0 key=poison-0 value=28 bytes headers=2`,
      `replayed 1 dead letter to ${RAW}; 0 not replayable`,
    ])
    expect(formatReplay(plan, true)).toEqual([
      `would send 0:5 → ${RAW}/0 key=poison-0 value=28 bytes headers=2`,
      `dry run: would replay 1 dead letter to ${RAW}; 0 not replayable; nothing sent`,
    ])
  })

  it('reports letters without a source or whose topic is gone; the others still go', () => {
    const plan = planReplay([poison, webhook, gone], { ids: ['0:6', '0:5', '0:7', '0:5'] }, topics, DLQ)
    expect(plan.send.map((p) => p.entry.id)).toEqual(['0:5'])
    expect(formatReplay(plan, false)).toEqual([
      `sent 0:5 → ${RAW}/0 key=poison-0 value=28 bytes headers=2`,
      'not replayable 0:6: no source record (stage ingest: a webhook body, 9 bytes); POST the body again, it is in `nightshift dlq list --json`',
      'not replayable 0:7: its source topic test.gone.alerts.raw does not exist',
      `replayed 1 dead letter to ${RAW}; 2 not replayable`,
    ])
  })

  it('unknown ids: a NOT_FOUND error listing every one of them, nothing planned', () => {
    const attempt = () => planReplay([poison], { ids: ['0:5', '0:99', '3:1'] }, topics, DLQ)
    expect(attempt).toThrow(NightshiftError)
    expect(attempt).toThrow(
      `no dead letter 0:99, 3:1 in ${DLQ} (it holds 1 dead letter; see \`nightshift dlq list\`); nothing sent`,
    )
  })

  it('--all: by stage; skips a letter whose replay failed again, which --id still sends', () => {
    const all = planReplay([again, poison, webhook], { all: true }, topics, DLQ)
    expect(all.send.map((p) => p.entry.id)).toEqual(['0:8'])
    expect(all.skipped).toEqual([{ entry: poison, replayedAs: ['0:8'] }])
    expect(formatReplay(all, true)).toEqual([
      `would send 0:8 → ${RAW}/0 key=poison-0 value=28 bytes headers=2`,
      expect.stringMatching(/^not replayable 0:6: no source record/),
      'skipped 0:5: replayed before, failed again as 0:8 (replay that one, or name 0:5 with --id)',
      `dry run: would replay 1 dead letter to ${RAW}; 1 not replayable; 1 skipped; nothing sent`,
    ])
    expect(planReplay([again, poison, webhook], { all: true, stage: 'ingest' }, topics, DLQ)).toMatchObject({
      send: [],
      notReplayable: [{ entry: webhook }],
    })
    const named = planReplay([again, poison], { ids: ['0:5'] }, topics, DLQ)
    expect(formatReplay(named, false)[0]).toBe(
      `sent 0:5 → ${RAW}/0 key=poison-0 value=28 bytes headers=2 (replayed before, failed again as 0:8)`,
    )
    // The new letter's header is replaced, not kept: it names the letter it was replayed from now.
    expect(all.send[0]!.record.headers[REPLAYED_FROM_HEADER]).toBe('0:8')
  })

  it('an empty --all sends nothing and says so', () => {
    expect(formatReplay(planReplay([], { all: true }, topics, DLQ), false)).toEqual([
      'replayed 0 dead letters; 0 not replayable',
    ])
  })
})
