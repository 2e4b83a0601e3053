/**
 * `nightshift tail` and `nightshift dlq list | replay` against the real broker and
 * registry: a dedup stage dead-letters a poison record, the operator lists it, replays it
 * (it is still poison, so it comes back as a second dead letter), and tails the topics.
 */
import { Command } from 'commander'
import { addDlqCommands, REPLAYED_FROM_HEADER } from '../../src/cli/dlq'
import { addTailCommands } from '../../src/cli/tail'
import type { AlertRecord } from '../../src/contracts/records'
import { ConfigError, NightshiftError } from '../../src/errors'
import { RecordProducer, isBarrier, type InRecord, type OutRecord } from '../../src/kafka'
import { DLQ_HEADERS } from '../../src/runner/dead-letter'
import { StageRunner } from '../../src/runner/runner'
import { valueSubject } from '../../src/topology/names'
import { collect, kafkaSettings, testLogger, uniqueName, waitFor, type Collector } from '../support/kafka'
import { startNightshift } from '../support/nightshift-process'
import { alertRecord } from '../support/records'
import { provisionTopology, schemas, startDedupRunner, type TestTopology } from '../support/topology'

const ISO = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z'
const POISON = Buffer.from('{"this":"is json, not avro"}')
const GOOD = alertRecord({ fingerprint: '00000000000000aa', labels: { alertname: 'TargetUp' }, receivedAt: 1 })

let t: TestTopology
let runner: StageRunner<AlertRecord, object>
let raw: Collector
let dlq: Collector

/** Runs `nightshift <args…>` in-process through commander; returns the printed lines. */
async function nightshift(args: string[]): Promise<string[]> {
  const out: string[] = []
  const cli = new Command('nightshift').exitOverride()
  const deps = { print: (text: string) => out.push(...text.split('\n')), logger: testLogger, env: process.env }
  addTailCommands(cli, deps)
  addDlqCommands(cli, deps)
  await cli.parseAsync([...args, '--prefix', t.prefix], { from: 'user' })
  return out
}

async function produce(records: OutRecord[]): Promise<void> {
  const producer = await RecordProducer.connect(kafkaSettings(uniqueName('cli-feed')))
  try {
    await producer.send(records)
  } finally {
    await producer.disconnect()
  }
}

const letters = (): InRecord[] => dlq.records.filter((r) => !isBarrier(r))

beforeAll(async () => {
  t = await provisionTopology(`${uniqueName('cli')}.`, 1)
  runner = await startDedupRunner(t, 'test-cli-dedup')
  raw = await collect(t.topics.raw)
  dlq = await collect(t.topics.dlq)
  const id = await t.registry.idOf(valueSubject(t.topics.raw), schemas.resolve('Alert'))
  await produce([
    { topic: t.topics.raw, key: 'poison-0', value: POISON, headers: { trace: 't-1' } },
    { topic: t.topics.raw, key: GOOD.fingerprint, value: await t.registry.encode(id, GOOD) },
  ])
  await waitFor('the poison record on the DLQ', () => (letters().length === 1 ? true : undefined), 30000)
}, 120000)

afterAll(async () => {
  await raw?.stop()
  await dlq?.stop()
  await runner?.stop()
  await t?.cleanup()
})

describe('nightshift dlq', () => {
  let firstId: string

  it('list: exactly the poison record, with its source, then the count; --json has the original bytes', async () => {
    const out = await nightshift(['dlq', 'list'])
    expect(out).toEqual([
      expect.stringMatching(
        new RegExp(
          `^0:\\d+ ${ISO} stage=dedup code=NS_POISON_RECORD source=${t.topics.raw.replace(/\./g, '\\.')}/0@0 value is not in the Confluent wire format`,
        ),
      ),
      `1 dead letter in ${t.topics.dlq}`,
    ])
    firstId = out[0]!.split(' ')[0]!
    expect(firstId).toBe(`0:${letters()[0]!.offset}`)

    const json = JSON.parse((await nightshift(['dlq', 'list', '--json'])).join('\n')) as Array<Record<string, unknown>>
    expect(json).toEqual([
      expect.objectContaining({
        id: firstId,
        stage: 'dedup',
        code: 'NS_POISON_RECORD',
        source: { topic: t.topics.raw, partition: 0, offset: '0' },
        key: { bytes: 8, utf8: 'poison-0', base64: Buffer.from('poison-0').toString('base64') },
        value: { bytes: POISON.length, utf8: POISON.toString(), base64: POISON.toString('base64') },
        headers: { trace: 't-1' },
      }),
    ])
    expect(await nightshift(['dlq', 'list', '--stage', 'ingest'])).toEqual([
      `no dead letters of stage ingest in ${t.topics.dlq} (1 of other stages or unreadable)`,
    ])
  })

  it('replay of an unknown id fails naming it, and sends nothing', async () => {
    const before = raw.records.length
    const attempt = nightshift(['dlq', 'replay', '--id', firstId, '--id', '0:9999'])
    await expect(attempt).rejects.toBeInstanceOf(NightshiftError)
    await expect(attempt).rejects.toMatchObject({ code: 'NS_NOT_FOUND' })
    await expect(attempt).rejects.toThrow(`no dead letter 0:9999 in ${t.topics.dlq}`)
    await expect(nightshift(['dlq', 'replay', '--id', 'zero'])).rejects.toThrow(ConfigError)
    await expect(nightshift(['dlq', 'replay'])).rejects.toThrow(
      'dlq replay needs either --id <partition:offset> (repeatable) or --all',
    )
    expect(await nightshift(['dlq', 'replay', '--id', firstId, '--dry-run'])).toEqual([
      `would send ${firstId} → ${t.topics.raw}/0 key=poison-0 value=${POISON.length} bytes headers=2`,
      `dry run: would replay 1 dead letter to ${t.topics.raw}; 0 not replayable; nothing sent`,
    ])
    expect(raw.records.length).toBe(before)
  })

  it('replay --id: the same bytes and headers go back to alerts.raw with the replay header; still poison, they come back as a second dead letter', async () => {
    expect(await nightshift(['dlq', 'replay', '--id', firstId])).toEqual([
      `sent ${firstId} → ${t.topics.raw}/0 key=poison-0 value=${POISON.length} bytes headers=2`,
      `replayed 1 dead letter to ${t.topics.raw}; 0 not replayable`,
    ])
    const replayed = await waitFor('the replayed record on alerts.raw', () =>
      raw.records.find((r) => r.headers[REPLAYED_FROM_HEADER] === firstId),
    )
    expect(replayed.key).toEqual(Buffer.from('poison-0'))
    expect(replayed.value).toEqual(POISON)
    expect(replayed.headers).toEqual({ trace: 't-1', [REPLAYED_FROM_HEADER]: firstId })
    expect(raw.records.filter((r) => r.headers[REPLAYED_FROM_HEADER] !== undefined)).toHaveLength(1)

    const second = await waitFor(
      'the second dead letter',
      () => (letters().length === 2 ? letters()[1] : undefined),
      30000,
    )
    expect(second.headers).toMatchObject({ [DLQ_HEADERS.topic]: t.topics.raw, [DLQ_HEADERS.offset]: replayed.offset })

    const out = await nightshift(['dlq', 'list'])
    expect(out).toHaveLength(3)
    expect(out[1]).toMatch(
      new RegExp(`^0:${second.offset} ${ISO} stage=dedup code=NS_POISON_RECORD source=.*/0@${replayed.offset} `),
    )
    expect(out[2]).toBe(`2 dead letters in ${t.topics.dlq}`)
    expect(await nightshift(['dlq', 'list', '--limit', '1'])).toEqual([
      out[1],
      `showing the newest 1 of 2 dead letters in ${t.topics.dlq}`,
    ])

    // --all would not send the first again: its replay failed and is on the DLQ itself.
    expect(await nightshift(['dlq', 'replay', '--all', '--dry-run'])).toEqual([
      `would send 0:${second.offset} → ${t.topics.raw}/0 key=poison-0 value=${POISON.length} bytes headers=2`,
      `skipped ${firstId}: replayed before, failed again as 0:${second.offset} (replay that one, or name ${firstId} with --id)`,
      `dry run: would replay 1 dead letter to ${t.topics.raw}; 0 not replayable; 1 skipped; nothing sent`,
    ])
  })
})

describe('nightshift tail', () => {
  it('--from-beginning --max 1 prints the good alert of alerts.deduped as one line, and returns', async () => {
    const out = await nightshift(['tail', 'alerts.deduped', '--from-beginning', '--max', '1'])
    expect(out).toHaveLength(1)
    expect(out[0]).toMatch(
      new RegExp(
        `^0:0 ${ISO} 00000000000000aa \\{"fingerprint":"00000000000000aa","status":"firing","labels":\\{"alertname":"TargetUp"\\},`,
      ),
    )
    const json = out[0]!.split(' ').slice(3).join(' ')
    // One time format: receivedAt (timestamp-millis in the contract) is RFC 3339, like startsAt.
    expect(JSON.parse(json)).toEqual({ ...GOOD, receivedAt: new Date(GOOD.receivedAt).toISOString() })
  })

  it('--from-beginning shows the dead letter on nightshift.dlq with its bytes in base64', async () => {
    const out = await nightshift(['tail', 'nightshift.dlq', '--from-beginning', '--max', '1'])
    expect(out).toEqual([
      expect.stringMatching(
        new RegExp(
          `^0:0 ${ISO} poison-0 \\{"stage":"dedup",.*"value":"base64:${POISON.toString('base64')}",.*"headers":\\{"trace":"t-1"\\}`,
        ),
      ),
    ])
  })

  it('without --from-beginning prints only new records; raw (non-Avro) values as text, hostile ones on one line', async () => {
    await produce([{ topic: t.topics.control, key: 'old', value: Buffer.from('{"before":true}') }])
    const out: string[] = []
    const cli = new Command('nightshift').exitOverride()
    addTailCommands(cli, { print: (text) => out.push(text), logger: testLogger })
    const tailing = cli.parseAsync(['tail', 'nightshift.control', '--max', '1', '--prefix', t.prefix], { from: 'user' })
    let finished = false
    void tailing.finally(() => (finished = true)).catch(() => undefined)
    // The tail takes the end offsets when it starts; new records are sent until it prints one.
    await waitFor('the tail to print a new record', async () => {
      if (finished) return true
      await produce([
        { topic: t.topics.control, key: 'new key\nfake', value: Buffer.from('line1\nline2 \u001b[31mred') },
      ])
      await new Promise((resolve) => setTimeout(resolve, 300))
      return finished ? true : undefined
    })
    await tailing
    expect(out).toEqual([
      expect.stringMatching(new RegExp(`^0:[1-9]\\d* ${ISO} "new key\\\\nfake" "line1\\\\nline2 \\\\u001b\\[31mred"$`)),
    ])
  })

  it('a topic that does not exist: a ConfigError naming the topics there are', async () => {
    const attempt = nightshift(['tail', 'alerts.dedupd'])
    await expect(attempt).rejects.toBeInstanceOf(ConfigError)
    await expect(attempt).rejects.toThrow(
      new RegExp(
        `^topic ${t.prefix.replace(/\./g, '\\.')}alerts\\.dedupd does not exist; topics under prefix "${t.prefix.replace(/\./g, '\\.')}": .*alerts\\.deduped`,
      ),
    )
  })

  it('stops cleanly on SIGINT as a real process (exit 0)', async () => {
    const proc = startNightshift(['tail', 'alerts.deduped', '--from-beginning', '--prefix', t.prefix])
    try {
      await waitFor(
        'the tail to print the alert',
        () => (proc.lines.some((l) => l.startsWith('0:0 ')) ? true : undefined),
        30000,
      )
      proc.child.kill('SIGINT')
      expect(await proc.exited).toBe(0)
      expect(proc.lines.filter((l) => /^\d+:\d+ /.test(l))).toHaveLength(1)
    } finally {
      proc.child.kill('SIGKILL')
    }
  })
})
