import { ConfigError } from '../../src/errors'
import { allRoutes, loadRoutesFile, parseRoutesFile } from '../../src/stages/route/config'

const ACTIONS = ['page', 'webhook', 'exec', 'log-level', 'thread-dump']
const FILE = 'topology/routes.yaml'
const parse = (text: string) => parseRoutesFile(text, FILE, ACTIONS)

describe('parseRoutesFile', () => {
  it('builds a frozen tree with ids, compiled matchers and parsed templates', () => {
    const tree = parse(`
route:
  routes:
    - name: crit
      matchers: ['severity="critical"', '{service=~"checkout|payments", env!=dev}']
      continue: true
      action: page
      dry_run: true
      params: { who: "{{ team }}" }
    - matchers: [alertname=Foo]
      routes:
        - action: exec
`)
    expect(allRoutes(tree).map((r) => [r.id, r.path, r.action])).toEqual([
      ['root', 'root', null],
      ['crit', 'root/0', 'page'],
      ['root/1', 'root/1', null],
      ['root/1/0', 'root/1/0', 'exec'],
    ])
    const crit = tree.root.routes[0]!
    expect(crit.matchers.map(String)).toEqual(['severity="critical"', 'service=~"checkout|payments"', 'env!="dev"'])
    expect(crit).toMatchObject({ continue: true, dryRun: true })
    expect(crit.params.map((p) => [p.name, p.template.source])).toEqual([['who', '{{ team }}']])
    expect(Object.isFrozen(tree)).toBe(true)
    expect(Object.isFrozen(tree.root.routes)).toBe(true)
    expect(Object.isFrozen(crit.matchers)).toBe(true)
  })

  it('loads the shipped routes.yaml', () => {
    const tree = loadRoutesFile(ACTIONS)
    expect(tree.file).toBe('topology/routes.yaml')
    // Which routes there are is the teams' to edit; `nightshift check` covers the rest.
    expect(allRoutes(tree).length).toBeGreaterThan(0)
  })

  it.each<[string, string, string[]]>([
    [
      'unknown key',
      'route:\n  recevier: x\n',
      [
        '/route/recevier is not allowed; expected one of: name, matchers, continue, action, params, dry_run, gate, wait, approval, routes',
      ],
    ],
    [
      'unknown nested key',
      'route:\n  routes:\n    - action: page\n      group_by: [a]\n',
      ['/route/routes/0/group_by is not allowed'],
    ],
    ['unknown top-level key', 'route: {}\nreceivers: []\n', ['/receivers is not allowed']],
    ['no route', 'routes: []\n', ['/route is required']],
    [
      'unknown action',
      'route:\n  routes:\n    - action: pager\n',
      [
        '/route/routes/0/action "pager" is not a declared action; expected one of: page, webhook, exec, log-level, thread-dump',
      ],
    ],
    [
      'bad matcher',
      "route:\n  routes:\n    - matchers: ['severity=\"critical']\n",
      ['/route/routes/0/matchers/0 bad matcher "severity=\\"critical": the value has no closing double quote'],
    ],
    [
      'bad regex',
      'route:\n  routes:\n    - matchers: [\'a=~"(x"\']\n',
      ['/route/routes/0/matchers/0 bad matcher', 'invalid regular expression'],
    ],
    [
      'bad template',
      'route:\n  routes:\n    - action: page\n      params: { x: "{{ constructor }}" }\n',
      ['/route/routes/0/params/x placeholder {{ constructor }}: unknown field "constructor"'],
    ],
    [
      'params without action',
      'route:\n  routes:\n    - params: { x: y }\n',
      ['/route/routes/0/params: parameters need an action'],
    ],
    [
      'dry_run without action',
      'route:\n  routes:\n    - dry_run: true\n',
      ['/route/routes/0/dry_run: dry_run needs an action'],
    ],
    [
      'gate without action',
      'route:\n  routes:\n    - gate: { max_burn_rate: 2 }\n',
      ['/route/routes/0/gate: a budget gate needs an action'],
    ],
    [
      'gate out of range',
      'route:\n  routes:\n    - action: page\n      gate: { min_budget_remaining: 1.5, burn_window: 2h, maxBurnRate: 3 }\n',
      [
        '/route/routes/0/gate/min_budget_remaining',
        '/route/routes/0/gate/burn_window',
        '/route/routes/0/gate/maxBurnRate is not allowed',
      ],
    ],
    [
      'a hold without action',
      'route:\n  routes:\n    - wait: 5m\n',
      ['/route/routes/0/wait: a hold needs an action on the same route'],
    ],
    [
      'bad hold durations and onTimeout',
      'route:\n  routes:\n    - action: page\n      wait: soon\n      approval: { timeout: 0s, on_timeout: retry }\n',
      ['/route/routes/0/approval/on_timeout must be equal to one of the allowed values'],
    ],
    [
      'a hold duration that does not parse',
      'route:\n  routes:\n    - action: page\n      wait: 5 minutes\n      approval: { timeout: 0s }\n',
      ['/route/routes/0/wait must be a duration like 90s', '/route/routes/0/approval/timeout must be longer than zero'],
    ],
    [
      'an approval without a timeout',
      'route:\n  routes:\n    - action: page\n      approval: { on_timeout: skip }\n',
      ['/route/routes/0/approval/timeout is required'],
    ],
    [
      'non-string param',
      'route:\n  routes:\n    - action: page\n      params: { x: 5 }\n',
      ['/route/routes/0/params/x must be string (quote it: "5")'],
    ],
    ['bad route name', 'route:\n  routes:\n    - name: a/b\n', ['/route/routes/0/name must be a route name']],
    [
      'duplicate name',
      'route:\n  routes:\n    - name: x\n    - name: x\n',
      ['/route/routes/1/name "x" is already the id of the route at /route/routes/0'],
    ],
    [
      'a name taking the root id',
      'route:\n  routes:\n    - name: root\n',
      ['/route/routes/0/name "root" is already the id of the route at /route'],
    ],
    ['root matchers', 'route:\n  matchers: [a=b]\n', ['/route/matchers: the root route matches every alert']],
    ['root continue', 'route:\n  continue: true\n', ['/route/continue: the root route cannot have continue']],
    ['matchers not a list', 'route:\n  routes:\n    - matchers: a=b\n', ['/route/routes/0/matchers must be array']],
    ['empty file', '', ['the file is empty; expected the key route']],
    ['bad YAML', 'route: [\n', ['invalid YAML']],
  ])('%s', (_name, text, fragments) => {
    expect(() => parse(text)).toThrow(ConfigError)
    for (const fragment of fragments) expect(() => parse(text)).toThrow(fragment)
    expect(() => parse(text)).toThrow(`${FILE}:`)
  })

  it('a route may hold its requests: wait, then approval (on_timeout page by default)', () => {
    const tree = parse(
      'route:\n  routes:\n    - name: ask\n      action: exec\n      wait: 5m\n      approval: { timeout: 30m }\n    - name: wait\n      action: page\n      wait: 90s\n    - name: plain\n      action: page\n',
    )
    const [ask, wait, plain] = tree.root.routes
    expect(ask!.hold).toEqual({ waitMs: 5 * 60_000, approval: { timeoutMs: 30 * 60_000, onTimeout: 'page' } })
    expect(wait!.hold).toEqual({ waitMs: 90_000, approval: null })
    expect(plain!.hold).toBeNull()
    expect(Object.isFrozen(ask!.hold)).toBe(true)
  })

  it('reports every problem at once, one line each', () => {
    const text =
      'route:\n  routes:\n    - action: pager\n    - matchers: [\'a=="b"\']\n    - action: page\n      params: { x: "{{ nope }}" }\n'
    let message = ''
    try {
      parse(text)
    } catch (err) {
      message = (err as Error).message
    }
    expect(message.split('\n')).toEqual([
      expect.stringMatching(/^topology\/routes\.yaml: \/route\/routes\/0\/action "pager"/),
      expect.stringMatching(/^topology\/routes\.yaml: \/route\/routes\/1\/matchers\/0 bad matcher/),
      expect.stringMatching(/^topology\/routes\.yaml: \/route\/routes\/2\/params\/x placeholder/),
    ])
  })

  it('a missing file is a ConfigError naming it', () => {
    expect(() => loadRoutesFile(ACTIONS, '/nonexistent/routes.yaml')).toThrow(
      '/nonexistent/routes.yaml: cannot read the routes file',
    )
  })
})
