import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Command } from 'commander'
import { addTopologyCommands, formatApplyReport } from '../../src/cli/topology'
import { ConfigError } from '../../src/errors'
import { createLogger } from '../../src/log'

/** A `nightshift` program with only the topology commands, printing into `out`. */
function cli(out: string[]): Command {
  const program = new Command('nightshift').exitOverride()
  addTopologyCommands(program, { print: (text) => out.push(text), logger: createLogger({ level: 'silent' }) })
  return program
}

function run(out: string[], ...args: string[]): Promise<Command> {
  return cli(out).parseAsync(['node', 'nightshift', 'topology', ...args])
}

describe('nightshift topology (no broker needed)', () => {
  let dir: string
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nightshift-topology-cli-'))
  })
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  it('validate: checks the shipped file', async () => {
    const out: string[] = []
    await run(out, 'validate')
    expect(out).toEqual([
      expect.stringMatching(/^topology\/topics\.yaml: valid \(\d+ topics, \d+ with a schema, \d+ actions\)$/),
    ])
  })

  it.each([
    [
      'validate',
      'defaults: { partitions: 0, replicationFactor: 1 }\ntopics: {}\n',
      '/defaults/partitions must be >= 1',
    ],
    [
      'apply',
      'defaults: { partitions: 1, replicationFactor: 1 }\ntopics:\n  alerts.rwa: {}\n',
      '/topics/alerts.rwa is not a topic Nightshift knows',
    ],
  ])('%s --file: rejects an invalid file before connecting to anything', async (command, text, fragment) => {
    const file = path.join(dir, `${command}.yaml`)
    fs.writeFileSync(file, text)
    const attempt = run([], command, '--file', file)
    await expect(attempt).rejects.toBeInstanceOf(ConfigError)
    await expect(run([], command, '--file', file)).rejects.toThrow(`${file}: ${fragment}`)
  })

  it('apply: rejects a prefix that would make illegal topic names before connecting', async () => {
    await expect(run([], 'apply', '--prefix', 'a b.')).rejects.toThrow(/topic prefix "a b\." may only contain/)
  })

  it('formats the summary of a run and of a dry run', () => {
    const drift = [{ topic: 'p.alerts.raw', differences: ['2 partitions, declared 6'] }]
    expect(
      formatApplyReport(
        {
          dryRun: false,
          created: ['p.a'],
          existing: ['p.alerts.raw'],
          registered: [{ subject: 'p.a-value', schema: 'io.x.A', id: 7 }],
          wouldRegister: [],
          drift,
        },
        'topology/topics.yaml',
        'p.',
      ),
    ).toBe(
      [
        'topology/topics.yaml with prefix "p."',
        '  created 1 topic(s): p.a',
        '  existing 1 topic(s): p.alerts.raw',
        '  registered 1 subject(s) with BACKWARD compatibility:',
        '    p.a-value  io.x.A  id 7',
        '  warning: existing topic p.alerts.raw left unchanged: 2 partitions, declared 6',
      ].join('\n'),
    )
    expect(
      formatApplyReport(
        {
          dryRun: true,
          created: [],
          existing: [],
          registered: [],
          wouldRegister: [{ topic: 'a', subject: 'a-value', schema: 'io.x.A' }],
          drift: [],
        },
        'f.yaml',
        '',
      ),
    ).toBe(
      [
        'dry run of f.yaml',
        '  would create 0 topic(s)',
        '  existing 0 topic(s)',
        '  would register 1 subject(s) with BACKWARD compatibility:',
        '    a-value  io.x.A',
      ].join('\n'),
    )
  })
})
