import { spawn } from 'node:child_process'
import path from 'node:path'
import { Command } from 'commander'
import { PauseBoard, pauseKey } from '../../src/actions/worker/control'
import { addPauseCommands } from '../../src/cli/pause'
import { ConfigError, NightshiftError, RetriableError } from '../../src/errors'
import { KafkaAdmin, RecordProducer, TopicTail, TransactionalProducer, readTopic } from '../../src/kafka'
import { kafkaSettings, testLogger, uniqueName, waitFor } from '../support/kafka'
import { provisionTopology, type TestTopology } from '../support/topology'

const root = path.resolve(__dirname, '..', '..')
const H = 3_600_000
const checkoutRestart = { team: 'payments', service: 'checkout', action: 'restart', labels: {}, escalation: false }

/** Runs `nightshift <args…> --prefix <prefix>` in-process; returns what it printed. */
async function nightshift(prefix: string, args: string[], now: () => number = Date.now): Promise<string[]> {
  const out: string[] = []
  const program = new Command('nightshift').exitOverride()
  addPauseCommands(program, {
    print: (text) => out.push(...text.split('\n')),
    logger: testLogger,
    env: { ...process.env, USER: 'alice' },
    now,
  })
  await program.parseAsync(['node', 'nightshift', ...args, '--prefix', prefix])
  return out
}

describe('nightshift pause / resume / pauses (real broker)', () => {
  let topology: TestTopology
  let prefix: string
  let control: string
  let board: PauseBoard
  let tail: TopicTail

  beforeAll(async () => {
    topology = await provisionTopology(`${uniqueName('pause')}.`)
    prefix = topology.prefix
    control = topology.topics.control
  })

  afterAll(async () => {
    await tail?.stop()
    await topology.cleanup()
  })

  it('readTopic of an empty topic returns [] at once, and a tail of it is caught up at once', async () => {
    const started = Date.now()
    expect(await readTopic(kafkaSettings(uniqueName('read')), control)).toEqual([])
    expect(Date.now() - started).toBeLessThan(2000)

    board = new PauseBoard(testLogger)
    tail = await TopicTail.start(kafkaSettings(uniqueName('tail')), control, (r) => board.apply(r))
    await tail.caughtUp(1000)
    expect(board.all()).toEqual([])
  })

  it('pause: writes the pause, and a following tail sees it within seconds', async () => {
    const started = Date.now()
    const out = await nightshift(prefix, ['pause', '--team', 'payments', '--for', '2h', '--reason', 'deploy freeze'])
    const written = Date.now()
    expect(out).toEqual([
      'paused team=payments for 2h more: deploy freeze (by alice)',
      'pages and other escalation actions are not paused (name one with --action page to pause it)',
      `written to ${control} (key pause/team=payments)`,
    ])

    const seen = await waitFor('the tail to see the pause', () => board.pauseFor(checkoutRestart, Date.now()), 5000)
    const delays = { fromCommand: Date.now() - started, fromAck: Date.now() - written }
    expect(delays.fromAck).toBeLessThan(5000)
    expect(seen).toMatchObject({
      id: 'pause/team=payments',
      scope: { team: 'payments' },
      reason: 'deploy freeze',
      createdBy: 'alice',
      escalate: false,
    })
    expect(seen.until - seen.createdAt).toBe(2 * H)
    if (process.env.PAUSE_TIMINGS)
      process.stderr.write(
        `pause seen by tail ${delays.fromAck} ms after the ack, ${delays.fromCommand} ms after the command started\n`,
      )
  })

  it('pause on the same scope replaces the old one; other scopes add up; pauses lists them by end', async () => {
    await nightshift(prefix, [
      'pause',
      '--team',
      'payments',
      '--for',
      '3h',
      '--reason',
      'db migration',
      '--escalate',
      '--by',
      'bob',
    ])
    await nightshift(prefix, [
      'pause',
      '--service',
      'checkout',
      '--action',
      'restart',
      '--for',
      '30m',
      '--reason',
      'flapping',
    ])
    await waitFor(
      'the tail to see both',
      () => (board.all().length === 2 && board.all()[1]?.reason === 'db migration' ? true : undefined),
      5000,
    )
    expect(board.pauseFor(checkoutRestart, Date.now())).toMatchObject({
      id: 'pause/team=payments',
      escalate: true,
      createdBy: 'bob',
    })

    expect(await nightshift(prefix, ['pauses'])).toEqual([
      expect.stringMatching(/^service=checkout action=restart for (30m|29m\d+s) more: flapping \(by alice\)$/),
      expect.stringMatching(/^team=payments for (3h|2h59m) more: db migration \(by bob, pages on skip\)$/),
    ])
  })

  it('resume: lifts exactly that scope with a tombstone the tail sees', async () => {
    const out = await nightshift(prefix, ['resume', '--team', 'payments', '--by', 'carol', '--reason', 'migrated'])
    expect(out).toEqual([
      expect.stringMatching(/^lifted pause team=payments \(db migration, by bob\), which had (3h|2h59m) left$/),
      `tombstone written to ${control} (key pause/team=payments)`,
    ])
    await waitFor(
      'the tail to see the tombstone',
      () => (board.all().some((p) => p.id === 'pause/team=payments') ? undefined : true),
      5000,
    )
    expect(board.all().map((p) => p.id)).toEqual(['pause/service=checkout action=restart'])
    // The narrower pause still stops a restart of checkout.
    expect(board.pauseFor(checkoutRestart, Date.now())?.id).toBe('pause/service=checkout action=restart')
  })

  it('resume of a scope without a pause fails naming the scope and the active pauses', async () => {
    const attempt = nightshift(prefix, ['resume', '--team', 'ledger'])
    await expect(attempt).rejects.toBeInstanceOf(NightshiftError)
    await expect(attempt).rejects.toMatchObject({ code: 'NS_NOT_FOUND' })
    await expect(attempt).rejects.toThrow(
      /^no pause on team=ledger; active: service=checkout action=restart for .* more: flapping \(by alice\)$/,
    )
    // Not a broader or narrower scope either: `--service checkout` is not `--service checkout --action restart`.
    await expect(nightshift(prefix, ['resume', '--service', 'checkout'])).rejects.toThrow(
      /^no pause on service=checkout; active: /,
    )
  })

  it('pauses --all shows an expired pause; resume lifts it too, and the history keeps all of it', async () => {
    const threeHoursAgo = () => Date.now() - 3 * H
    await nightshift(prefix, ['pause', '--team', 'search', '--for', '1h', '--reason', 'old freeze'], threeHoursAgo)
    expect(await nightshift(prefix, ['pauses'])).toEqual([expect.stringMatching(/^service=checkout action=restart /)])
    expect(await nightshift(prefix, ['resume', '--team', 'search'])).toEqual([
      'lifted pause team=search (old freeze, by alice), which had already ended 2h ago',
      `tombstone written to ${control} (key pause/team=search)`,
    ])
    expect(await nightshift(prefix, ['pauses'])).toEqual([expect.stringMatching(/^service=checkout action=restart /)])
    const all = (await nightshift(prefix, ['pauses', '--all'])).join('\n')
    // Oldest first: search (3h ago), then payments (replaced by bob, lifted by carol), then checkout.
    expect(all).toMatch(
      new RegExp(
        [
          'team=search: old freeze',
          '  paused by alice at \\S+Z for 1h \\(until \\S+Z\\)',
          '  lifted by alice at \\S+Z, after it had ended at \\S+Z',
          'team=payments: deploy freeze',
          '  paused by alice at \\S+Z for 2h \\(until \\S+Z\\)',
          '  replaced at \\S+Z by a new pause on the same scope \\(by bob\\)',
          'team=payments: db migration \\(pages on skip\\)',
          '  paused by bob at \\S+Z for 3h \\(until \\S+Z\\)',
          '  lifted by carol at \\S+Z, (3h|2h59m) before its end: migrated',
          'service=checkout action=restart: flapping',
          '  paused by alice at \\S+Z for 30m \\(until \\S+Z\\)',
          '  in force, (30m|29m\\d+s) left',
        ].join('\n'),
      ),
    )
  })

  it('a matcher pause: its own key, matched like a silence, lifted with the same matchers', async () => {
    const out = await nightshift(prefix, [
      'pause',
      '--team',
      'payments',
      '--matcher',
      'severity=~"warn.*"',
      '--matcher',
      'alertname="DiskFull"',
      '--for',
      '1h',
      '--reason',
      'disk cleanup',
    ])
    const key = 'pause/team=payments {alertname="DiskFull", severity=~"warn.*"}'
    expect(out[0]).toBe(
      'paused team=payments {alertname="DiskFull", severity=~"warn.*"} for 1h more: disk cleanup (by alice)',
    )
    expect(out[2]).toBe(`written to ${control} (key ${key})`)
    await waitFor('the tail to see it', () => board.all().find((p) => p.id === key), 5000)
    const disk = { ...checkoutRestart, labels: { alertname: 'DiskFull', severity: 'warning' } }
    expect(board.pauseFor(disk, Date.now())?.id).toBe(key)
    expect(board.pauseFor({ ...disk, labels: { alertname: 'DiskFull', severity: 'critical' } }, Date.now())?.id).toBe(
      'pause/service=checkout action=restart',
    )
    expect(board.pauseFor({ ...disk, action: 'page', escalation: true }, Date.now())).toBeUndefined()
    await expect(nightshift(prefix, ['resume', '--team', 'payments'])).rejects.toThrow(/^no pause on team=payments;/)
    expect(
      await nightshift(prefix, ['resume', '--team', 'payments', '--matcher', 'alertname=DiskFull, severity=~"warn.*"']),
    ).toEqual([
      expect.stringMatching(
        /^lifted pause team=payments \{alertname="DiskFull", severity=~"warn.\*"\} \(disk cleanup, by alice\), which had (1h|59m\d*s?) left$/,
      ),
      `tombstone written to ${control} (key ${key})`,
    ])
    await waitFor('the tail to see the lift', () => (board.all().some((p) => p.id === key) ? undefined : true), 5000)
  })

  it('a malformed record on the topic is logged and skipped; the tail goes on', async () => {
    const producer = await RecordProducer.connect(kafkaSettings(uniqueName('junk')))
    try {
      await producer.send([
        { topic: control, key: 'pause/team=junk', value: Buffer.from('{not json') },
        { topic: control, key: 'dryrun/route=page-critical', value: Buffer.from('{"on":true}') },
      ])
    } finally {
      await producer.disconnect()
    }
    await nightshift(prefix, ['pause', '--team', 'junk', '--for', '10m', '--reason', 'after the junk'])
    await waitFor(
      'the tail to see the pause after the junk',
      () => board.all().find((p) => p.id === 'pause/team=junk'),
      5000,
    )
    expect(await nightshift(prefix, ['pauses'])).toEqual([
      expect.stringMatching(/^team=junk for (10m|9m\d+s) more/),
      expect.stringMatching(/^service=checkout action=restart /),
    ])
  })

  it('readTopic returns every record up to the end, in log order per partition; a new tail catches up', async () => {
    const records = await readTopic(kafkaSettings(uniqueName('read')), control, { timeoutMs: 10000 })
    const keys = records.map((r) => r.key?.toString())
    expect(keys.filter((k) => k === 'pause/team=payments')).toHaveLength(3) // pause, replacement, tombstone
    expect(records.filter((r) => r.key?.toString() === 'pause/team=payments').map((r) => r.value === null)).toEqual([
      false,
      false,
      true,
    ])
    expect(keys).toEqual(
      expect.arrayContaining([
        'pause/team=search',
        'pause/team=junk',
        'dryrun/route=page-critical',
        pauseKey({ service: 'checkout', action: 'restart' }),
      ]),
    )

    const fresh = new PauseBoard(testLogger)
    const started = Date.now()
    const second = await TopicTail.start(kafkaSettings(uniqueName('tail')), control, (r) => fresh.apply(r))
    try {
      await second.caughtUp(10000)
      if (process.env.PAUSE_TIMINGS) process.stderr.write(`a new tail caught up in ${Date.now() - started} ms\n`)
      expect(fresh.all()).toEqual(board.all())
    } finally {
      await second.stop()
    }
  })

  it('readTopic times out with a clear RetriableError when the end is a transaction marker it is never handed', async () => {
    const topic = uniqueName('read-tx')
    const admin = await KafkaAdmin.connect(kafkaSettings('it-pause-tx'))
    try {
      await admin.ensureTopics([{ name: topic, partitions: 1 }])
      const producer = await TransactionalProducer.connect(kafkaSettings(uniqueName('tx')), uniqueName('tx'))
      try {
        await producer.run((tx) => tx.send([{ topic, key: 'k', value: Buffer.from('v') }]))
      } finally {
        await producer.disconnect()
      }
      // The broker writes the commit marker after the commit returns: the premise is a
      // partition that ends with it (offset 1 of 2).
      await waitFor('the commit marker', async () =>
        (await admin.endOffsets(topic)).get(0) === '2' ? true : undefined,
      )
      const attempt = readTopic(kafkaSettings(uniqueName('read')), topic, { timeoutMs: 1500 })
      await expect(attempt).rejects.toBeInstanceOf(RetriableError)
      await expect(attempt).rejects.toThrow(`reading ${topic} did not reach its end offsets within`)
      await expect(attempt).rejects.toThrow('partition 0 at offset 1 of 2')
    } finally {
      await admin.deleteTopics([topic])
      await admin.disconnect()
    }
  })

  it('refuses a topology that was not applied, before writing anything', async () => {
    const missing = `${uniqueName('pause-missing')}.`
    await expect(nightshift(missing, ['pause', '--team', 'payments', '--for', '1h', '--reason', 'x'])).rejects.toThrow(
      ConfigError,
    )
    await expect(nightshift(missing, ['pauses'])).rejects.toThrow(
      `topic ${missing}nightshift.control does not exist; run \`nightshift topology apply\``,
    )
    const admin = await KafkaAdmin.connect(kafkaSettings('it-pause-missing'))
    try {
      expect(await admin.listTopics()).not.toContain(`${missing}nightshift.control`)
    } finally {
      await admin.disconnect()
    }
  })

  it('exits 1 with `nightshift: no pause on … [NS_NOT_FOUND]` from the real process', async () => {
    const child = spawn(
      process.execPath,
      [
        path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
        'src/main.ts',
        'resume',
        '--action',
        'exec',
        '--prefix',
        prefix,
      ],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
    expect(code).toBe(1)
    expect(stderr).toMatch(
      /nightshift: no pause on action=exec; active: team=junk for .*; service=checkout action=restart for .* \[NS_NOT_FOUND\]/,
    )
  })

  it('takes a mistyped command for what it is, not for the fingerprint of `run`', async () => {
    const child = spawn(
      process.execPath,
      [path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'src/main.ts', 'pauze'],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
    expect(code).toBe(1)
    expect(stderr).toContain('nightshift: "pauze" is neither a command nor an alert fingerprint (16 hex digits)')
  })
})
