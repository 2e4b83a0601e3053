import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Command } from 'commander'
import { addRoutesCommands, parseLabelArgs } from '../../src/cli/routes'
import { ConfigError } from '../../src/errors'

const NOW = Date.parse('2026-11-25T01:00:00Z')

function run(out: string[], ...args: string[]): Promise<Command> {
  const program = new Command('nightshift').exitOverride()
  addRoutesCommands(program, { print: (text) => out.push(text), now: () => NOW })
  return program.parseAsync(['node', 'nightshift', 'routes', ...args])
}

describe('nightshift routes (no broker needed)', () => {
  let dir: string
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nightshift-routes-cli-'))
  })
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  const write = (name: string, text: string): string => {
    const file = path.join(dir, name)
    fs.writeFileSync(file, text)
    return file
  }

  it('test: enriches the alert from the catalog and prints the params the worker will get', async () => {
    const out: string[] = []
    await run(out, 'test', 'alertname=HighLatency', 'severity=critical', 'service=checkout', 'instance=web-1')
    const lines = out.join('\n').split('\n')
    expect(lines.slice(0, 2)).toEqual([
      'topology/routes.yaml: {alertname="HighLatency", severity="critical", service="checkout", instance="web-1"}',
      expect.stringMatching(/^catalog: service checkout of team \S+.* \(topology\/catalog\.yaml\)$/),
    ])
    // The worker's URL comes from the catalog's endpoint, whatever its value.
    expect(lines.filter((l) => l.includes('error:'))).toEqual([])
    expect(lines).toContainEqual(expect.stringMatching(/^ {4}url: https?:\/\/\S+\/loggers$/))
  })

  it('test --catalog-file: a service no catalog entry matches leaves placeholders it cannot fill as errors', async () => {
    const catalog = write(
      'catalog.yaml',
      'services:\n  - name: other\n    team: t\n    matchers: [\'service="other"\']\n',
    )
    const routes = write(
      'routes-endpoint.yaml',
      'route:\n  routes:\n    - name: w\n      action: webhook\n      params: { url: "{{ endpoints.admin }}/x", who: "{{ team }}" }\n',
    )
    const out: string[] = []
    await run(out, 'test', '--file', routes, '--catalog-file', catalog, 'service=checkout', 'team=payments')
    expect(out[0]!.split('\n')).toEqual([
      `${routes}: {service="checkout", team="payments"}`,
      `catalog: no service of ${catalog} matches; team payments`,
      'matched: w',
      'w → actions.webhook',
      '    error: no endpoints.admin for the params: an error outcome instead of a request',
    ])
    const fromCatalog: string[] = []
    await run(fromCatalog, 'test', '--file', routes, '--catalog-file', catalog, 'service=other')
    expect(fromCatalog[0]).toContain('catalog: service other of team t')
  })

  it('test: an alert no route with an action matches goes to alerts.unrouted', async () => {
    const out: string[] = []
    await run(out, 'test', 'severity=warning')
    expect(out).toEqual([
      'topology/routes.yaml: {severity="warning"}\ncatalog: no service of topology/catalog.yaml matches; team unowned\nmatched: root\nno action: the alert would go to alerts.unrouted',
    ])
  })

  it('test --file: uses the given file; label values may contain "="', async () => {
    const file = write(
      'ok.yaml',
      'route:\n  routes:\n    - name: q\n      matchers: [\'query=~"a=.*"\']\n      action: webhook\n      params: { q: "{{ labels.query }}" }\n',
    )
    const out: string[] = []
    await run(out, 'test', '--file', file, 'query=a=b')
    expect(out[0]!.split('\n')).toEqual([
      `${file}: {query="a=b"}`,
      'catalog: no service of topology/catalog.yaml matches; team unowned',
      'matched: q',
      'q → actions.webhook',
      '    q: a=b',
    ])
  })

  it('validate: checks the shipped file (its content is free to change: `check` covers it)', async () => {
    const out: string[] = []
    await run(out, 'validate')
    expect(out).toEqual([expect.stringMatching(/^topology\/routes\.yaml: valid \(\d+ routes, \d+ with an action\)$/)])
  })

  it.each<[string, string]>([
    ['route:\n  routes:\n    - action: pager\n', '/route/routes/0/action "pager" is not a declared action'],
    ['route:\n  bogus: 1\n', '/route/bogus is not allowed'],
  ])('test --file: a bad routes file is a ConfigError naming file and path (%#)', async (text, fragment) => {
    const file = write('bad.yaml', text)
    await expect(run([], 'test', '--file', file, 'a=b')).rejects.toBeInstanceOf(ConfigError)
    await expect(run([], 'test', '--file', file, 'a=b')).rejects.toThrow(`${file}: ${fragment}`)
  })

  it('test --topics-file: the declared actions come from the topics file', async () => {
    const topics = write(
      'topics.yaml',
      'defaults: { partitions: 1, replicationFactor: 1 }\ntopics: {}\nactions:\n  schema: ActionRequest\n  names: [exec]\n',
    )
    await expect(run([], 'validate', '--topics-file', topics)).rejects.toThrow(
      '"log-level" is not a declared action; expected one of: exec',
    )
  })

  it.each(['severity', '=x', 'bad-name=x'])('rejects the label argument %j', async (arg) => {
    await expect(run([], 'test', arg)).rejects.toThrow(`label argument "${arg}"`)
  })

  it('parseLabelArgs splits at the first "=" and allows empty values', () => {
    expect(parseLabelArgs(['a=b=c', 'e='])).toEqual({ a: 'b=c', e: '' })
  })
})
