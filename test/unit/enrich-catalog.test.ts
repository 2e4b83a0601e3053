import path from 'node:path'
import { ConfigError } from '../../src/errors'
import { loadCatalog, parseCatalog } from '../../src/stages/enrich/catalog'

// Inside the working directory, so messages name it `topology/test.yaml`.
const FILE = path.resolve('topology', 'test.yaml')
const parse = (text: string) => parseCatalog(text, FILE)

const service = (extra: string) => `
services:
  - name: checkout
    team: payments
    matchers: ['service="checkout"']
${extra}`

describe('parseCatalog', () => {
  it('reads services in file order, with matchers parsed and optional fields null', () => {
    const catalog = parse(`
services:
  - name: checkout
    team: payments
    tier: tier-1
    runbook: https://runbooks.example.com/checkout
    slo: checkout-availability
    matchers: ['service="checkout"', 'job=~"api|web", env!="dev"']
    endpoints: { admin: "http://127.0.0.1:18080" }
  - name: prometheus
    team: core
    matchers: ['{service="prometheus"}']
`)
    expect(catalog.file).toBe('topology/test.yaml')
    expect(catalog.services.map((s) => s.name)).toEqual(['checkout', 'prometheus'])
    expect(catalog.services[0]).toMatchObject({
      team: 'payments',
      tier: 'tier-1',
      runbook: 'https://runbooks.example.com/checkout',
      slo: 'checkout-availability',
      endpoints: { admin: 'http://127.0.0.1:18080' },
    })
    expect(catalog.services[0]!.matchers.map((m) => m.toString())).toEqual([
      'service="checkout"',
      'job=~"api|web"',
      'env!="dev"',
    ])
    expect(catalog.services[1]).toMatchObject({ team: 'core', tier: null, runbook: null, slo: null, endpoints: {} })
    expect(Object.isFrozen(catalog.services)).toBe(true)
    expect(Object.isFrozen(catalog.services[0])).toBe(true)
  })

  it.each([
    ['an empty file', '', 'the file is empty; expected the key services'],
    ['no services key', 'service: []', '/service is not allowed; expected one of: services'],
    [
      'an unknown key in a service',
      service('    owner: bob'),
      '/services/0/owner is not allowed; expected one of: name, team, tier, runbook, slo, matchers, endpoints',
    ],
    ['a missing team', 'services: [{ name: a, matchers: ["a=b"] }]', '/services/0/team is required'],
    ['missing matchers', 'services: [{ name: a, team: t }]', '/services/0/matchers is required'],
    [
      'an empty matcher list',
      'services: [{ name: a, team: t, matchers: [] }]',
      '/services/0/matchers must NOT have fewer than 1 items',
    ],
    [
      'a matcher set with no matcher',
      'services: [{ name: a, team: t, matchers: ["{}"] }]',
      '/services/0/matchers must hold at least one matcher, or the service would take every alert',
    ],
    [
      'a matcher without an operator',
      service('  - { name: b, team: t, matchers: ["service"] }'),
      '/services/1/matchers/0 must be a label matcher like service="checkout": bad matcher "service"',
    ],
    [
      'a bad regex',
      service('  - { name: b, team: t, matchers: [\'job=~"(api"\'] }'),
      '/services/1/matchers/0 must be a label matcher like service="checkout": bad matcher',
    ],
    [
      'an unclosed quote',
      service("  - { name: b, team: t, matchers: ['a=\"b'] }"),
      '/services/1/matchers/0 must be a label matcher like service="checkout": bad matcher "a=\\"b": the value has no closing double quote',
    ],
    [
      'a duplicate service name',
      service('  - { name: checkout, team: core, matchers: ["a=b"] }'),
      '/services/1/name "checkout" is already the name of /services/0; service names must be unique',
    ],
    [
      'the reserved team',
      'services: [{ name: a, team: unowned, matchers: ["a=b"] }]',
      '/services/0/team must not be "unowned"',
    ],
    [
      'an upper-case name',
      'services: [{ name: Checkout, team: t, matchers: ["a=b"] }]',
      '/services/0/name must be a name of lower-case letters, digits',
    ],
    ['a numeric tier', service('    tier: 1'), '/services/0/tier must be string (quote it: "1")'],
    [
      'a relative runbook',
      service('    runbook: /wiki/checkout'),
      '/services/0/runbook must be an absolute http(s) URL, got "/wiki/checkout"',
    ],
    [
      'a non-http endpoint',
      service('    endpoints: { admin: "ftp://host" }'),
      '/services/0/endpoints/admin must be an absolute http(s) URL, got "ftp://host"',
    ],
    [
      'a bad endpoint name',
      service('    endpoints: { Admin: "http://host" }'),
      '/services/0/endpoints/Admin is not an endpoint name',
    ],
    [
      'a list of matchers given as one string',
      'services: [{ name: a, team: t, matchers: "a=b" }]',
      '/services/0/matchers must be array',
    ],
  ])('rejects %s, naming the file and path', (_name, text, fragment) => {
    expect(() => parse(text)).toThrow(ConfigError)
    expect(() => parse(text)).toThrow(`topology/test.yaml: ${fragment}`)
  })

  it('lists every problem at once, one line each', () => {
    const text = `
services:
  - { name: a, team: t, matchers: ['x=~"("'], runbook: nope }
  - { name: a, team: unowned, matchers: ['y'] }
`
    let message = ''
    try {
      parse(text)
    } catch (err) {
      message = (err as Error).message
    }
    const lines = message.split('\n')
    expect(lines).toHaveLength(5)
    expect(lines.every((l) => l.startsWith('topology/test.yaml: /services/'))).toBe(true)
    expect(lines.map((l) => l.replace(/^topology\/test\.yaml: (\S+) .*$/, '$1'))).toEqual([
      '/services/0/matchers/0',
      '/services/0/runbook',
      '/services/1/name',
      '/services/1/team',
      '/services/1/matchers/0',
    ])
  })
})

describe('the shipped topology/catalog.yaml', () => {
  const shipped = loadCatalog()

  // Its services are the teams' to edit: `nightshift check` (config-check.test.ts) is
  // what must keep passing, not the entries shipped today.
  it('loads, and names it relative to the project', () => {
    expect(shipped.file).toBe(path.join('topology', 'catalog.yaml'))
    expect(shipped.services.length).toBeGreaterThan(0)
  })

  it('names the file it cannot read', () => {
    expect(() => loadCatalog(path.resolve('topology', 'missing.yaml'))).toThrow(
      /^topology\/missing\.yaml: cannot read the catalog file: .*ENOENT/,
    )
  })
})
