import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Command } from 'commander'
import { Registry as MetricsRegistry } from 'prom-client'
import { buildApp } from '../../src/app'
import { addCheckCommand } from '../../src/cli/check'
import { SHIPPED_CONFIG_DIR, assertConfig, checkConfig, type ConfigFileName } from '../../src/config/check'
import { writeDemoConfig } from '../../src/demo/config'
import { ConfigError } from '../../src/errors'
import { testLogger } from '../support/kafka'

/** A copy of the shipped folder with some files edited; custom actions still load from topology/. */
function folder(edits: Partial<Record<ConfigFileName, (text: string) => string>> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nightshift-check-'))
  for (const name of fs.readdirSync(SHIPPED_CONFIG_DIR).filter((f) => f.endsWith('.yaml'))) {
    let text = fs.readFileSync(path.join(SHIPPED_CONFIG_DIR, name), 'utf8')
    if (name === 'actions.yaml')
      text = text.replace(
        /^customActionsDir: custom-actions$/m,
        `customActionsDir: ${JSON.stringify(path.join(SHIPPED_CONFIG_DIR, 'custom-actions'))}`,
      )
    const edit = edits[name as ConfigFileName]
    fs.writeFileSync(path.join(dir, name), edit ? edit(text) : text)
  }
  return dir
}

function replaced(from: string | RegExp, to: string): (text: string) => string {
  return (text) => {
    const out = text.replace(from, to)
    if (out === text) throw new Error(`test setup: ${String(from)} not found`)
    return out
  }
}

const dirs: string[] = []
const tmp = (dir: string): string => {
  dirs.push(dir)
  return dir
}
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })))

const messages = (dir: string): string[] =>
  checkConfig(dir).problems.map((p) => `${path.basename(p.file)}: ${p.message}`)

describe('checkConfig', () => {
  it('passes the shipped topology/ (a legitimate edit of it keeps this green)', () => {
    const result = checkConfig(SHIPPED_CONFIG_DIR)
    expect(result.problems).toEqual([])
    expect(result.warnings).toEqual([])
    expect(Object.keys(result.loaded).sort()).toEqual(['actions', 'catalog', 'limits', 'routes', 'slos', 'topics'])
  })

  it("passes the demo's folder (nightshift demo starts on it)", () => {
    const dir = tmp(fs.mkdtempSync(path.join(os.tmpdir(), 'nightshift-check-demo-')))
    writeDemoConfig(dir, { serviceUrl: 'http://127.0.0.1:1', raiseFor: '20s', artifactsDir: dir })
    expect(
      checkConfig(dir, { required: ['topics.yaml', 'catalog.yaml', 'limits.yaml', 'routes.yaml'] }).problems,
    ).toEqual([])
  })

  it('reports three independent errors in three files at once, each with file and path', () => {
    const dir = tmp(
      folder({
        'catalog.yaml': (text) => `${text}\nowner: me\n`,
        'limits.yaml': (text) => `${text}\nburst: many\n`,
        'routes.yaml': (text) => `${text}\nreceiver: default\n`,
      }),
    )
    const problems = checkConfig(dir).problems
    expect(problems.map((p) => p.file)).toEqual([
      path.join(dir, 'catalog.yaml'),
      path.join(dir, 'limits.yaml'),
      path.join(dir, 'routes.yaml'),
    ])
    expect(problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/^\/owner is not allowed/),
      expect.stringMatching(/^\/burst is not allowed/),
      expect.stringMatching(/^\/receiver is not allowed/),
    ])
  })

  it.each<[string, Partial<Record<ConfigFileName, (text: string) => string>>, string]>([
    [
      'a catalog SLO that slos.yaml does not define',
      { 'catalog.yaml': replaced('slo: checkout-availability', 'slo: checkout-avail') },
      'catalog.yaml: /services/0/slo "checkout-avail" is not an SLO of',
    ],
    [
      'an SLO of a service the catalog does not have',
      { 'slos.yaml': replaced('service: checkout\n', 'service: checkuot\n') },
      'slos.yaml: /slos/0/service "checkuot" is not a service of',
    ],
    [
      'a route param naming an endpoint no catalog service has',
      { 'routes.yaml': replaced('{{ endpoints.admin }}/loggers', '{{ endpoints.actuator }}/loggers') },
      'routes.yaml: /route/routes/0/params/url uses {{ endpoints.actuator }}, but no service of',
    ],
    [
      'a route to an action actions.yaml does not configure',
      { 'actions.yaml': replaced(/^ {2}thread-dump:\n(?: {4}.*\n)+/m, '') },
      'routes.yaml: /route/routes/1/action "thread-dump" is not configured in',
    ],
    ['a file that is missing', { 'slos.yaml': () => '' }, 'slos.yaml: the file is empty'],
  ])('reports %s', (_name, edits, expected) => {
    expect(messages(tmp(folder(edits)))).toEqual([expect.stringContaining(expected)])
  })

  it('checks routes.yaml against the actions a broken topics.yaml declares', () => {
    const dir = tmp(
      folder({
        'topics.yaml': replaced('  partitions: 6\n', '  partitions: six\n'),
        'routes.yaml': replaced('action: log-level', 'action: log-levle'),
      }),
    )
    expect(messages(dir)).toEqual([
      expect.stringMatching(/^topics\.yaml: \/defaults\/partitions must be integer/),
      expect.stringMatching(/^routes\.yaml: \/route\/routes\/0\/action "log-levle" is not a declared action/),
    ])
  })

  it('names the missing files it requires and ignores the ones it does not', () => {
    const dir = tmp(folder())
    fs.rmSync(path.join(dir, 'slos.yaml'))
    expect(messages(dir)).toEqual(['slos.yaml: is missing'])
    expect(checkConfig(dir, { required: ['topics.yaml'] }).problems).toEqual([])
  })

  it('warns, without failing, of a limits override the catalog never produces', () => {
    const dir = tmp(folder({ 'limits.yaml': replaced('  checkout:\n', '  checkuot:\n') }))
    const result = checkConfig(dir)
    expect(result.problems).toEqual([])
    expect(result.warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(/^\/services\/checkuot is not a service of .*: the override never applies$/),
    ])
  })
})

describe('assertConfig (what nightshift run does before it connects)', () => {
  const broken = () =>
    tmp(
      folder({
        'catalog.yaml': (text) => `${text}\nowner: me\n`,
        'limits.yaml': (text) => `${text}\nburst: many\n`,
        'routes.yaml': (text) => `${text}\nreceiver: default\n`,
      }),
    )

  it("throws one ConfigError listing every problem of the stages' files", () => {
    const dir = broken()
    expect(() => assertConfig(dir, ['enrich', 'ratelimit', 'route'])).toThrow(ConfigError)
    expect(() => assertConfig(dir, ['enrich', 'ratelimit', 'route'])).toThrow(
      new RegExp(`^${dir}: 3 problems in the config:\\n.*catalog\\.yaml: .*\\n.*limits\\.yaml: .*\\n.*routes\\.yaml: `),
    )
  })

  it('checks only the files the selected stages read', () => {
    const dir = broken()
    expect(() => assertConfig(dir, ['ingest', 'dedup', 'slo'])).not.toThrow()
    expect(() => assertConfig(dir, ['enrich'])).toThrow(
      /1 problem in the config:\n.*catalog\.yaml: \/owner is not allowed/,
    )
  })

  it('makes App.start refuse with the whole list before connecting anywhere', async () => {
    const app = buildApp({
      endpoints: { brokers: ['127.0.0.1:1'], registryUrl: 'http://127.0.0.1:1' },
      logger: testLogger,
      metrics: new MetricsRegistry(),
      configDir: broken(),
      readyTimeoutMs: 1,
    })
    await expect(app.start()).rejects.toThrow(/3 problems in the config/)
  })
})

describe('nightshift check', () => {
  const run = async (...args: string[]): Promise<string[]> => {
    const out: string[] = []
    const program = new Command('nightshift').exitOverride()
    addCheckCommand(program, { print: (text) => out.push(text) })
    await program.parseAsync(['node', 'nightshift', 'check', ...args])
    return out.join('\n').split('\n')
  }

  it('prints a short summary of a clean folder', async () => {
    const out = await run('--config-dir', 'topology')
    expect(out[0]).toBe('topology: OK')
    expect(out.slice(1).map((l) => l.trim().split(/\s+/)[0])).toEqual([
      'topology/topics.yaml',
      'topology/catalog.yaml',
      'topology/limits.yaml',
      'topology/routes.yaml',
      'topology/actions.yaml',
      'topology/slos.yaml',
    ])
  })

  it('fails with every problem of a broken folder', async () => {
    const dir = tmp(
      folder({
        'catalog.yaml': replaced('slo: checkout-availability', 'slo: nope'),
        'routes.yaml': replaced('action: log-level', 'action: log-levle'),
      }),
    )
    const failure = run('--config-dir', dir)
    await expect(failure).rejects.toBeInstanceOf(ConfigError)
    await expect(failure).rejects.toThrow(
      `${dir}: 2 problems:\n${path.join(dir, 'routes.yaml')}: /route/routes/0/action`,
    )
  })
})
