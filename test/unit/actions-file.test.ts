import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  ACTIONS_FILE,
  DEFAULT_SETTINGS,
  escalationActions,
  isEscalation,
  loadCustomActions,
  parseActionsFile,
  type ActionSettings,
  type ParseActionsOptions,
} from '../../src/actions/worker/actions-file'
import { BUILTIN_ACTIONS } from '../../src/actions/handlers/builtins'
import { defineAction } from '../../src/actions/handlers/define-action'
import type { ActionHandler, HandlerFactory } from '../../src/actions/handlers/types'
import { SchemaSet } from '../../src/contracts/schemas'
import { ConfigError } from '../../src/errors'
import { loadTopicsFile } from '../../src/topology/topics-file'
import type { ActionRequestRecord } from '../../src/contracts/records'
import { enrichedAlertRecord } from '../support/records'

const requestOf = (): ActionRequestRecord => ({
  idempotencyKey: 'k',
  action: 'note',
  route: 'r1',
  params: {},
  dryRun: false,
  requestedAt: 0,
  alert: enrichedAlertRecord(),
})

const S = 1000
const M = 60 * S
const H = 60 * M

/** Outside the working directory, so messages name it by its absolute path. */
const FILE = path.join(os.tmpdir(), 'nightshift-actions-file-test', 'actions.yaml')
const ACTIONS_MODULE = path.resolve(__dirname, '..', '..', 'src', 'actions', 'handlers', 'define-action')

/** A builtin whose handler remembers the config it was built from. */
const fake =
  (name: string): HandlerFactory =>
  (config) => ({
    name,
    describe: () => JSON.stringify(config ?? null),
    run: async () => ({ ok: true, retriable: false, detail: '', output: {} }),
  })

const BUILTINS: Record<string, HandlerFactory> = { page: fake('page'), webhook: fake('webhook'), exec: fake('exec') }
const TOPICS = ['page', 'webhook', 'exec', 'restart', 'note']

function parse(yaml: string, options: Partial<ParseActionsOptions> = {}) {
  return parseActionsFile(yaml, FILE, { actionTopics: TOPICS, builtins: BUILTINS, ...options })
}

/** The lines of the ConfigError parsing `yaml` throws. */
function problems(yaml: string, options: Partial<ParseActionsOptions> = {}): string[] {
  try {
    parse(yaml, options)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as Error).message.split('\n')
  }
  throw new Error('expected a ConfigError')
}

const settings = (yaml: string, action: string): ActionSettings => {
  const config = parse(yaml).actions.get(action)
  if (!config) throw new Error(`no action ${action}`)
  return config.settings
}

const tmpDirs: string[] = []
afterAll(() => {
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true })
})

/** A temp folder holding `files` (name → content). */
function folder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nightshift-custom-'))
  tmpDirs.push(dir)
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true })
    fs.writeFileSync(path.join(dir, name), content)
  }
  return dir
}

/** A CommonJS module whose default export is defineAction({ name, run }) from the source. */
const customModule = (name: string, detail = `${name} done`): string =>
  `module.exports.default = require(${JSON.stringify(ACTIONS_MODULE)}).defineAction({
  name: ${JSON.stringify(name)},
  run: async () => ({ ok: true, retriable: false, detail: ${JSON.stringify(detail)}, output: {} }),
})
`

describe('parseActionsFile: settings', () => {
  it('applies the built-in defaults to an action that says nothing', () => {
    const config = parse('actions:\n  page:\n')
    expect(config.actions.get('page')?.settings).toEqual(DEFAULT_SETTINGS)
    expect(config.dryRun).toBe(false)
    expect(config.notEffectiveWindowMs).toBe(30 * M)
    expect(config.file).toBe(FILE)
  })

  it("applies the file's defaults, parsing durations", () => {
    const yaml = `
defaults:
  timeout: 1m30s
  maxAttempts: 5
  backoff: { initial: 250ms, max: 1h }
  concurrency: 8
  perServiceConcurrency: 2
  circuit: { failures: 7, coolDown: 2h }
  escalateTo: null
  dryRun: true
  onResolved: run
actions:
  webhook:
`
    expect(settings(yaml, 'webhook')).toEqual({
      timeoutMs: 90 * S,
      maxAttempts: 5,
      backoff: { initialMs: 250, maxMs: H },
      concurrency: 8,
      perServiceConcurrency: 2,
      circuit: { failureThreshold: 7, coolDownMs: 2 * H },
      escalateTo: null,
      dryRun: true,
      onResolved: 'run',
      gate: null,
      hold: null,
    })
  })

  it('holds: wait and approval from the defaults, each overridden or dropped per action', () => {
    const yaml = [
      'defaults:',
      '  wait: 5m',
      '  approval: { timeout: 30m, onTimeout: skip }',
      'actions:',
      '  webhook:',
      '    approval: { timeout: 10m }',
      '  exec:',
      '    approval: null',
      '    config: { commands: {} }',
      '  page:',
      '    wait: null',
      '    approval: null',
      '',
    ].join('\n')
    expect(settings(yaml, 'exec').hold).toEqual({ waitMs: 5 * M, approval: null })
    expect(settings(yaml, 'page').hold).toBeNull()
    expect(settings(yaml, 'webhook').hold).toEqual({
      waitMs: 5 * M,
      approval: { timeoutMs: 10 * M, onTimeout: 'page' },
    })
    expect(problems('actions:\n  page:\n    wait: soon\n    approval: { onTimeout: later }\n').join('\n')).toMatch(
      /wait[\s\S]*approval/,
    )
  })

  it('a budget gate in the defaults applies to every action; an action may drop it with null', () => {
    const yaml =
      'defaults:\n  gate: { minBudgetRemaining: 0.2, maxBurnRate: 10, burnWindow: 6h }\nactions:\n  page:\n    gate: null\n  webhook:\n'
    expect(settings(yaml, 'webhook').gate).toEqual({ minBudgetRemaining: 0.2, maxBurnRate: 10, burnWindow: '6h' })
    expect(settings(yaml, 'page').gate).toBeNull()
    expect(problems('actions:\n  page:\n    gate: { minBudgetRemaining: 2, burnWindow: 2h }\n').join('\n')).toMatch(
      /gate.*minBudgetRemaining[\s\S]*burnWindow/,
    )
  })

  it('keeps the built-in value of a default the file leaves out, field by field', () => {
    const yaml = `
defaults:
  backoff: { initial: 2s }
  circuit: { coolDown: 1m }
actions:
  page:
`
    expect(settings(yaml, 'page')).toMatchObject({
      backoff: { initialMs: 2 * S, maxMs: 30 * S },
      circuit: { failureThreshold: 5, coolDownMs: M },
    })
  })

  it.each<[string, string, Partial<ActionSettings>]>([
    ['timeout', 'timeout: 2m', { timeoutMs: 2 * M }],
    ['maxAttempts', 'maxAttempts: 1', { maxAttempts: 1 }],
    ['backoff.max only', 'backoff: { max: 5m }', { backoff: { initialMs: 3 * S, maxMs: 5 * M } }],
    ['backoff both', 'backoff: { initial: 10ms, max: 1s }', { backoff: { initialMs: 10, maxMs: S } }],
    ['concurrency', 'concurrency: 16', { concurrency: 16 }],
    ['perServiceConcurrency', 'perServiceConcurrency: 4', { perServiceConcurrency: 4 }],
    ['circuit.failures only', 'circuit: { failures: 2 }', { circuit: { failureThreshold: 2, coolDownMs: 10 * M } }],
    ['circuit.coolDown only', 'circuit: { coolDown: 1d }', { circuit: { failureThreshold: 9, coolDownMs: 24 * H } }],
    ['escalateTo another action', 'escalateTo: exec', { escalateTo: 'exec' }],
    ['escalateTo null over a default', 'escalateTo: null', { escalateTo: null }],
    ['dryRun', 'dryRun: true', { dryRun: true }],
    ['onResolved', 'onResolved: run', { onResolved: 'run' }],
  ])('an action overrides the defaults: %s', (_name, line, expected) => {
    const yaml = `
defaults:
  timeout: 45s
  backoff: { initial: 3s }
  circuit: { failures: 9 }
actions:
  page:
  exec:
  webhook:
    ${line}
`
    const webhook = settings(yaml, 'webhook')
    expect(webhook).toMatchObject(expected)
    // Everything else still comes from the defaults.
    const page = settings(yaml, 'page')
    for (const [key, value] of Object.entries(page)) {
      if (!(key in expected)) expect({ [key]: webhook[key as keyof ActionSettings] }).toEqual({ [key]: value })
    }
  })

  it.each<[string, string, string[]]>([
    ['page by default', 'actions:\n  page:\n  webhook:\n', ['page']],
    ['page may say it is not', 'actions:\n  page:\n    escalation: false\n  webhook:\n', []],
    ['any action may say it is', 'actions:\n  page:\n  webhook:\n    escalation: true\n', ['page', 'webhook']],
  ])('escalation actions: %s', (_name, yaml, expected) => {
    expect([...escalationActions(parse(yaml))].sort()).toEqual(expected)
    for (const [name, config] of parse(yaml).actions) expect(config.escalation).toBe(expected.includes(name))
  })

  it.each<[{ name: string; escalation?: boolean | null }, boolean]>([
    [{ name: 'page' }, true],
    [{ name: 'page', escalation: null }, true],
    [{ name: 'page', escalation: false }, false],
    [{ name: 'webhook' }, false],
    [{ name: 'webhook', escalation: true }, true],
  ])('isEscalation(%j) is %s', (definition, expected) => {
    expect(isEscalation(definition)).toBe(expected)
  })

  it('escalation is not a default', () => {
    expect(problems('defaults:\n  escalation: true\nactions:\n  page:\n').join('\n')).toMatch(/escalation/)
  })

  it('reads the top-level keys', () => {
    const config = parse('dryRun: true\nnotEffectiveWindow: 1h\nartifactsDir: out/artifacts\nactions:\n  page:\n', {
      cwd: '/srv/nightshift',
    })
    expect(config.dryRun).toBe(true)
    expect(config.notEffectiveWindowMs).toBe(H)
    expect(config.artifactsDir).toBe('/srv/nightshift/out/artifacts')
  })

  it.each<[string, string, string]>([
    ['relative, against cwd', 'artifactsDir: a/b', '/srv/ns/a/b'],
    ['dot-dot, against cwd', 'artifactsDir: ../shared', '/srv/shared'],
    ['absolute, as is', 'artifactsDir: /var/lib/ns', '/var/lib/ns'],
    ['default, under cwd', '', '/srv/ns/.nightshift/artifacts'],
  ])('artifactsDir %s', (_name, line, dir) => {
    expect(parse(`${line}\nactions:\n  page:\n`, { cwd: '/srv/ns' }).artifactsDir).toBe(dir)
  })

  it('resolves artifactsDir against the working directory without cwd', () => {
    expect(parse('artifactsDir: x\nactions:\n  page:\n').artifactsDir).toBe(path.resolve(process.cwd(), 'x'))
  })

  it('passes each builtin its own config, and undefined when there is none', () => {
    const config = parse(
      'actions:\n  page:\n    config: { kind: slack, url: "http://x" }\n  webhook:\n    config: [1, 2]\n  exec:\n',
    )
    const describe = (name: string) => config.actions.get(name)?.handler.describe(requestOf())
    expect(describe('page')).toBe('{"kind":"slack","url":"http://x"}')
    expect(describe('webhook')).toBe('[1,2]')
    expect(describe('exec')).toBe('null')
  })

  it('keeps the actions in file order and freezes what it returns', () => {
    const config = parse('actions:\n  webhook:\n  page:\n  exec:\n')
    expect([...config.actions.keys()]).toEqual(['webhook', 'page', 'exec'])
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.actions.get('page'))).toBe(true)
    expect(Object.isFrozen(config.actions.get('page')?.settings)).toBe(true)
    expect(Object.isFrozen(config.actions.get('page')?.settings.backoff)).toBe(true)
  })

  it('accepts a file without actions', () => {
    expect(parse('dryRun: true\n').actions.size).toBe(0)
  })
})

describe('parseActionsFile: rejected', () => {
  it.each<[string, string, string[]]>([
    ['an unknown top-level key', 'retries: 3\nactions:\n  page:\n', ['/retries is not allowed']],
    ['an unknown default', 'defaults:\n  retries: 3\nactions:\n  page:\n', ['/defaults/retries is not allowed']],
    ['an unknown action setting', 'actions:\n  page:\n    retry: 3\n', ['/actions/page/retry is not allowed']],
    [
      'an unknown backoff key',
      'actions:\n  page:\n    backoff: { start: 1s }\n',
      ['/actions/page/backoff/start is not allowed'],
    ],
    [
      'an unknown circuit key',
      'defaults:\n  circuit: { threshold: 3 }\nactions:\n  page:\n',
      ['/defaults/circuit/threshold is not allowed'],
    ],
    [
      'a duration without unit',
      'actions:\n  page:\n    timeout: "30"\n',
      ['/actions/page/timeout must be a duration like 30s, 5m or 1h30m'],
    ],
    [
      'a duration with a bad unit',
      'defaults:\n  backoff: { max: 1y }\nactions:\n  page:\n',
      ['/defaults/backoff/max must be a duration like 30s, 5m or 1h30m'],
    ],
    [
      'a number for a duration',
      'actions:\n  page:\n    circuit: { coolDown: 60 }\n',
      ['/actions/page/circuit/coolDown must be string'],
    ],
    [
      'a bad notEffectiveWindow',
      'notEffectiveWindow: soon\nactions:\n  page:\n',
      ['/notEffectiveWindow must be a duration like 30s, 5m or 1h30m'],
    ],
    [
      'a zero timeout',
      'actions:\n  page:\n    timeout: 0s\n',
      ['/actions/page/timeout must be longer than zero, got "0s"'],
    ],
    [
      'a zero default backoff',
      'defaults:\n  backoff: { initial: 0ms }\nactions:\n  page:\n',
      ['/defaults/backoff/initial must be longer than zero, got "0ms"'],
    ],
    [
      'a zero coolDown',
      'actions:\n  page:\n    circuit: { coolDown: 0m }\n',
      ['/actions/page/circuit/coolDown must be longer than zero, got "0m"'],
    ],
    [
      'a string for an integer',
      'actions:\n  page:\n    maxAttempts: "3"\n',
      ['/actions/page/maxAttempts must be integer'],
    ],
    [
      'a fraction for an integer',
      'actions:\n  page:\n    concurrency: 1.5\n',
      ['/actions/page/concurrency must be integer'],
    ],
    ['zero concurrency', 'actions:\n  page:\n    concurrency: 0\n', ['/actions/page/concurrency must be >= 1']],
    ['too many attempts', 'defaults:\n  maxAttempts: 21\nactions:\n  page:\n', ['/defaults/maxAttempts must be <= 20']],
    ['a string for a boolean', 'dryRun: "yes"\nactions:\n  page:\n', ['/dryRun must be boolean']],
    [
      'an unknown onResolved',
      'actions:\n  page:\n    onResolved: ignore\n',
      ['/actions/page/onResolved must be equal to one of the allowed values'],
    ],
    [
      'an empty escalateTo',
      'actions:\n  page:\n    escalateTo: ""\n',
      ['/actions/page/escalateTo must NOT have fewer than 1 characters'],
    ],
    ['an action that is a list', 'actions:\n  page: [1]\n', ['/actions/page must be object,null']],
    ['a bad action name', 'actions:\n  Page_1:\n', ['/actions/Page_1 is not a valid key here']],
  ])('%s', (_name, yaml, expected) => {
    const lines = problems(yaml)
    for (const p of expected) expect(lines).toContainEqual(expect.stringContaining(`${FILE}: ${p}`))
  })

  it('lists every schema problem at once', () => {
    const lines = problems(`
color: blue
defaults:
  timeout: forever
  maxAttempts: 0
actions:
  page:
    retry: 1
    dryRun: maybe
`)
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^.*: \/color is not allowed/),
        `${FILE}: /defaults/timeout must be a duration like 30s, 5m or 1h30m`,
        `${FILE}: /defaults/maxAttempts must be >= 1`,
        expect.stringMatching(/^.*: \/actions\/page\/retry is not allowed/),
        `${FILE}: /actions/page/dryRun must be boolean`,
      ]),
    )
    expect(lines.every((l) => l.startsWith(`${FILE}: /`))).toBe(true)
  })

  it('lists every problem of a well-formed file at once, each naming its path', () => {
    const throwing: HandlerFactory = () => {
      throw new ConfigError('exec: commands must be a map')
    }
    const lines = problems(
      `
defaults:
  timeout: 0s
actions:
  page:
    escalateTo: null
  webhook:
    escalateTo: pager
  exec:
  restart:
  unknown-one:
    circuit: { coolDown: 0s }
`,
      { builtins: { ...BUILTINS, exec: throwing } },
    )
    expect(lines).toEqual([
      `${FILE}: /defaults/timeout must be longer than zero, got "0s"`,
      `${FILE}: /actions/exec/config: exec: commands must be a map`,
      `${FILE}: /actions/restart: no such action; built in: page, webhook, exec`,
      `${FILE}: /actions/unknown-one/circuit/coolDown must be longer than zero, got "0s"`,
      `${FILE}: /actions/unknown-one: no topic actions.unknown-one in topology/topics.yaml (/actions/names); add it there first`,
      `${FILE}: /actions/unknown-one: no such action; built in: page, webhook, exec`,
      `${FILE}: /actions/webhook/escalateTo: pager is not an action of this file`,
    ])
  })

  it('rejects an action without a topic, even a builtin', () => {
    expect(problems('actions:\n  page:\n', { actionTopics: ['webhook'] })).toEqual([
      `${FILE}: /actions/page: no topic actions.page in topology/topics.yaml (/actions/names); add it there first`,
    ])
  })

  it('rejects an action that is neither built in nor custom, naming both kinds', () => {
    const custom = new Map<string, ActionHandler>([
      [
        'note',
        defineAction({ name: 'note', run: async () => ({ ok: true, retriable: false, detail: '', output: {} }) }),
      ],
    ])
    expect(problems('customActionsDir: custom\nactions:\n  page:\n  restart:\n', { loadCustom: () => custom })).toEqual(
      [`${FILE}: /actions/restart: no such action; built in: page, webhook, exec; custom: note`],
    )
  })

  it('does not take a builtin from the prototype chain', () => {
    expect(problems('actions:\n  page:\n  constructor:\n', { actionTopics: [...TOPICS, 'constructor'] })).toEqual([
      `${FILE}: /actions/constructor: no such action; built in: page, webhook, exec`,
    ])
  })

  it('turns a throwing builtin factory into a problem at /actions/<name>/config', () => {
    const factory: HandlerFactory = (config) => {
      throw new ConfigError(`webhook: bad config ${JSON.stringify(config)}`)
    }
    expect(
      problems('actions:\n  page:\n  webhook:\n    config: { x: 1 }\n', {
        builtins: { ...BUILTINS, webhook: factory },
      }),
    ).toEqual([`${FILE}: /actions/webhook/config: webhook: bad config {"x":1}`])
  })

  it.each<[string, string, string[]]>([
    [
      'escalateTo naming an action not in the file',
      'actions:\n  page:\n    escalateTo: exec\n',
      [`${FILE}: /actions/page/escalateTo: exec is not an action of this file`],
    ],
    [
      'the default escalateTo (page) when page is not in the file',
      'actions:\n  webhook:\n  exec:\n',
      [
        `${FILE}: /actions/webhook/escalateTo: page is not an action of this file`,
        `${FILE}: /actions/exec/escalateTo: page is not an action of this file`,
      ],
    ],
    [
      'a file default naming an action not in the file',
      'defaults:\n  escalateTo: exec\nactions:\n  page:\n',
      [`${FILE}: /actions/page/escalateTo: exec is not an action of this file`],
    ],
  ])('rejects %s', (_name, yaml, expected) => {
    expect(problems(yaml)).toEqual(expected)
  })

  it.each<[string, string]>([
    ['escalateTo null', 'actions:\n  webhook:\n    escalateTo: null\n'],
    ['escalateTo null by default', 'defaults:\n  escalateTo: null\nactions:\n  webhook:\n  exec:\n'],
    ['escalateTo to itself', 'actions:\n  webhook:\n    escalateTo: webhook\n'],
    ['escalateTo another action of the file', 'defaults:\n  escalateTo: exec\nactions:\n  webhook:\n  exec:\n'],
  ])('accepts %s', (_name, yaml) => {
    expect(() => parse(yaml)).not.toThrow()
  })

  it.each<[string, string]>([
    ['an empty file', ''],
    ['a comment only', '# nothing yet\n'],
  ])('rejects %s, saying what is missing', (_name, yaml) => {
    expect(problems(yaml)).toEqual([`${FILE}: the file is empty; expected the key actions`])
  })

  it('rejects invalid YAML naming the line', () => {
    expect(problems('actions:\n  page: [\n')[0]).toMatch(
      new RegExp(`^${FILE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: line \\d+, column \\d+: invalid YAML`),
    )
  })
})

describe('parseActionsFile: custom actions', () => {
  it("loads customActionsDir relative to the file's folder", () => {
    const seen: string[] = []
    const loadCustom = (dir: string) => {
      seen.push(dir)
      return new Map<string, ActionHandler>()
    }
    parse('customActionsDir: custom\nactions:\n  page:\n', { loadCustom })
    parse('customActionsDir: ../elsewhere/custom\nactions:\n  page:\n', { loadCustom, cwd: '/srv/ns' })
    parse('customActionsDir: /opt/custom\nactions:\n  page:\n', { loadCustom })
    expect(seen).toEqual([
      path.join(path.dirname(FILE), 'custom'),
      path.resolve(path.dirname(FILE), '..', 'elsewhere', 'custom'),
      '/opt/custom',
    ])
  })

  it('does not look for custom actions without customActionsDir', () => {
    const loadCustom = jest.fn(() => new Map<string, ActionHandler>())
    parse('actions:\n  page:\n', { loadCustom })
    expect(loadCustom).not.toHaveBeenCalled()
  })

  it('reports a folder that cannot be loaded at /customActionsDir, with the other problems', () => {
    const lines = problems('customActionsDir: custom\nactions:\n  page:\n  note:\n', {
      loadCustom: () => {
        throw new ConfigError('x.js must export default defineAction({ name, run })')
      },
    })
    expect(lines).toEqual([
      `${FILE}: /customActionsDir: x.js must export default defineAction({ name, run })`,
      `${FILE}: /actions/note: no such action; built in: page, webhook, exec`,
    ])
  })

  it('runs a custom action from a real folder next to the file', async () => {
    const root = folder({ 'custom/note.js': customModule('note', 'note written') })
    const config = parseActionsFile(
      'customActionsDir: custom\nactions:\n  page:\n  note:\n    maxAttempts: 1\n',
      path.join(root, 'actions.yaml'),
      { actionTopics: TOPICS, builtins: BUILTINS },
    )
    const note = config.actions.get('note')
    expect(note?.settings.maxAttempts).toBe(1)
    expect(note?.handler.name).toBe('note')
    expect(note?.handler.describe(requestOf())).toBe('custom action note')
    await expect(
      note?.handler.run(requestOf(), {
        signal: new AbortController().signal,
        timeoutMs: 1000,
        artifactsDir: root,
        env: {},
      }),
    ).resolves.toEqual({ ok: true, retriable: false, detail: 'note written', output: {} })
  })

  it('rejects a config for a custom action', () => {
    const custom = new Map<string, ActionHandler>([
      [
        'note',
        defineAction({ name: 'note', run: async () => ({ ok: true, retriable: false, detail: '', output: {} }) }),
      ],
    ])
    expect(
      problems('customActionsDir: c\nactions:\n  page:\n  note:\n    config: { a: 1 }\n', { loadCustom: () => custom }),
    ).toEqual([`${FILE}: /actions/note/config: custom action note takes no config here; it reads its own settings`])
  })

  it('needs a topic for a custom action too', () => {
    const custom = new Map<string, ActionHandler>([
      [
        'tidy',
        defineAction({ name: 'tidy', run: async () => ({ ok: true, retriable: false, detail: '', output: {} }) }),
      ],
    ])
    expect(problems('customActionsDir: c\nactions:\n  page:\n  tidy:\n', { loadCustom: () => custom })).toEqual([
      `${FILE}: /actions/tidy: no topic actions.tidy in topology/topics.yaml (/actions/names); add it there first`,
    ])
  })

  it('a custom action defined in a folder but not in the file is not configured', () => {
    const root = folder({ 'custom/note.js': customModule('note') })
    const config = parseActionsFile('customActionsDir: custom\nactions:\n  page:\n', path.join(root, 'actions.yaml'), {
      actionTopics: TOPICS,
      builtins: BUILTINS,
    })
    expect([...config.actions.keys()]).toEqual(['page'])
  })
})

describe('loadCustomActions', () => {
  it('loads the default export of every .js/.ts module of the folder, by name', () => {
    const dir = folder({
      'b-note.js': customModule('note'),
      'a-restart.js': customModule('restart'),
      'typed.ts': `import { defineAction } from ${JSON.stringify(ACTIONS_MODULE)}\nexport default defineAction({ name: 'typed', run: async () => ({ ok: true, retriable: false, detail: '', output: {} }) })\n`,
      'types.d.ts': 'this is not a module',
      'note.test.js': 'throw new Error("tests are not loaded")',
      'README.md': '# not a module',
      'data.json': '{}',
      'sub/deeper.js': 'throw new Error("subfolders are not loaded")',
    })
    const found = loadCustomActions(dir)
    expect([...found.keys()]).toEqual(['restart', 'note', 'typed'])
    expect(found.get('note')?.describe(requestOf())).toBe('custom action note')
  })

  it('loads nothing from an empty folder', () => {
    expect(loadCustomActions(folder({})).size).toBe(0)
  })

  it.each<[string, Record<string, string>, RegExp]>([
    [
      'a module without a default export',
      { 'plain.js': 'module.exports.run = async () => ({})' },
      /^plain\.js must export default defineAction\(\{ name, run \}\)$/,
    ],
    [
      'a default export not made by defineAction',
      { 'fake.js': 'module.exports.default = { name: "fake", run: async () => ({}), describe: () => "" }' },
      /^fake\.js must export default defineAction/,
    ],
    ['a module exporting null', { 'null.js': 'module.exports = null' }, /^null\.js must export default defineAction/],
    [
      'a module exporting defineAction without default',
      {
        'named.js': `module.exports = require(${JSON.stringify(ACTIONS_MODULE)}).defineAction({ name: 'named', run: async () => ({}) })`,
      },
      /^named\.js must export default defineAction/,
    ],
    [
      'a module that throws when loaded',
      { 'broken.js': 'throw new Error("boom")' },
      /^broken\.js could not be loaded: boom$/,
    ],
    [
      'a module whose defineAction throws',
      {
        'bad-name.js': `module.exports.default = require(${JSON.stringify(ACTIONS_MODULE)}).defineAction({ name: 'Bad Name', run: async () => ({}) })`,
      },
      /^bad-name\.js could not be loaded: defineAction: name must be/,
    ],
    [
      'two modules defining the same name',
      { 'a.js': customModule('note'), 'b.js': customModule('note') },
      /^b\.js defines action note a second time$/,
    ],
  ])('rejects %s', (_name, files, message) => {
    const dir = folder(files)
    expect(() => loadCustomActions(dir)).toThrow(ConfigError)
    expect(() => loadCustomActions(dir)).toThrow(message)
  })

  it.each<[string, () => string]>([
    ['a missing folder', () => path.join(os.tmpdir(), 'nightshift-no-such-folder-for-tests')],
    ['a file', () => path.join(folder({ 'x.js': customModule('x') }), 'x.js')],
  ])('rejects %s, naming it', (_name, dir) => {
    const d = dir()
    expect(() => loadCustomActions(d)).toThrow(new ConfigError(`${d} is not a folder`))
  })

  it('two modules with the same name fail the whole file at /customActionsDir', () => {
    const root = folder({ 'custom/one.js': customModule('note'), 'custom/two.js': customModule('note') })
    const file = path.join(root, 'actions.yaml')
    expect(() =>
      parseActionsFile('customActionsDir: custom\nactions:\n  page:\n', file, {
        actionTopics: TOPICS,
        builtins: BUILTINS,
      }),
    ).toThrow(`${file}: /customActionsDir: two.js defines action note a second time`)
  })
})

describe('defineAction', () => {
  const run = async () => ({ ok: true, retriable: false, detail: '', output: {} })

  it('makes a frozen handler with a default describe', () => {
    const handler = defineAction({ name: 'note-2', run })
    expect(handler.name).toBe('note-2')
    expect(handler.run).toBe(run)
    expect(handler.describe(requestOf())).toBe('custom action note-2')
    expect(Object.isFrozen(handler)).toBe(true)
  })

  it("keeps the action's own describe", () => {
    expect(
      defineAction({ name: 'x', run, describe: (r) => `note ${r.alert.alert.fingerprint}` }).describe(requestOf()),
    ).toBe('note 16ddbf5dcf57d972')
  })

  it.each<[string, unknown, RegExp]>([
    ['an upper-case name', { name: 'Note', run }, /name must be lower-case letters, digits and dashes, got "Note"/],
    ['a name starting with a dash', { name: '-note', run }, /got "-note"/],
    ['an empty name', { name: '', run }, /got ""/],
    ['no name', { run }, /got undefined/],
    ['a numeric name', { name: 7, run }, /got 7/],
    ['no run', { name: 'note' }, /^defineAction note: run must be a function$/],
    ['a run that is not a function', { name: 'note', run: 'go' }, /^defineAction note: run must be a function$/],
  ])('rejects %s', (_name, action, message) => {
    expect(() => defineAction(action as Parameters<typeof defineAction>[0])).toThrow(ConfigError)
    expect(() => defineAction(action as Parameters<typeof defineAction>[0])).toThrow(message)
  })
})

describe('the shipped topology/actions.yaml', () => {
  const topics = loadTopicsFile(SchemaSet.load())
  const config = parseActionsFile(fs.readFileSync(ACTIONS_FILE, 'utf8'), ACTIONS_FILE, {
    actionTopics: topics.actions,
    builtins: BUILTIN_ACTIONS,
    cwd: '/srv/ns',
  })

  it('configures every action topic of topics.yaml with the real builtins and the example custom action', () => {
    expect([...config.actions.keys()].sort()).toEqual([...topics.actions].sort())
    for (const [name, action] of config.actions) expect(action.handler.name).toBe(name)
  })

  // Its settings are the team's to edit: `nightshift check` (test/unit/config-check.test.ts)
  // is what must keep passing, not the values shipped today.
  it('reads its top-level keys', () => {
    expect(typeof config.dryRun).toBe('boolean')
    expect(config.artifactsDir.startsWith('/srv/ns/')).toBe(true)
  })
})

describe('parseActionsFile: notEffectiveWindow', () => {
  it('a zero window is rejected like any other zero duration', () => {
    expect(problems('notEffectiveWindow: 0s\nactions:\n  page:\n').join('\n')).toContain('/notEffectiveWindow')
  })
})
