import path from 'node:path'
import { ConfigError } from '../../src/errors'
import {
  DEFAULT_SLICE_MS,
  DEFAULT_WINDOW_MS,
  SLOS_FILE,
  loadSlosFile,
  parseSlos,
  slosFor,
  type SlosConfig,
} from '../../src/slo/slos'

// Inside the working directory, so messages name it `topology/test.yaml`.
const FILE = path.resolve('topology', 'test.yaml')
const parse = (text: string) => parseSlos(text, FILE)

const DAY = 86_400_000

/** One SLO with the required keys, plus `extra` lines (indented as its keys). */
const slo = (extra = '', name = 'checkout-availability') => `
  - name: ${name}
    service: checkout
    team: payments
    objective: 0.999
    indicator:
      matchers: ['slo="checkout-availability"']
${extra}`

const file = (...items: string[]) => `slos:${items.join('')}`

function messageOf(text: string): string {
  try {
    parse(text)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as Error).message
  }
  throw new Error('expected a ConfigError')
}

describe('parseSlos', () => {
  it('reads a minimal SLO with the defaults: rolling 30d, Timeslices of 1m, no description', () => {
    const config = parse(file(slo()))
    expect(config.file).toBe('topology/test.yaml')
    expect(config.slos).toHaveLength(1)
    const [only] = config.slos
    expect(only).toEqual({
      name: 'checkout-availability',
      service: 'checkout',
      team: 'payments',
      objective: 0.999,
      window: { kind: 'rolling', lengthMs: 30 * DAY },
      budgeting: 'timeslices',
      sliceMs: 60_000,
      matchers: [expect.objectContaining({ name: 'slo', type: '=', value: 'checkout-availability' })],
    })
    expect(only).not.toHaveProperty('description')
    expect(DEFAULT_WINDOW_MS).toBe(30 * DAY)
    expect(DEFAULT_SLICE_MS).toBe(60_000)
    expect(config.byName.get('checkout-availability')).toBe(only)
  })

  it('reads every key of a full file, in file order, frozen', () => {
    const config = parse(`
slos:
  - name: checkout-availability
    service: checkout
    team: payments
    objective: 0.999
    window: 4w
    budgeting: Timeslices
    slice: 30s
    indicator:
      matchers:
        - slo="checkout-availability"
        - severity=~"critical|page"
        - '{env!="dev", cluster!~"test-.*"}'
    description: Customers can complete a checkout.
  - name: Payments_API.latency-p99
    service: payments-api
    team: payments
    objective: 0.99
    window: month
    slice: 1h
    indicator: { matchers: ['job=~"payments-api|payments-gateway"'] }
  - name: kafka-produce
    service: kafka
    team: core
    objective: 0.9999999
    window: 1h30m
    budgeting: Occurrences
    indicator: { matchers: ['namespace="kafka"'] }
`)
    expect(config.slos.map((s) => s.name)).toEqual([
      'checkout-availability',
      'Payments_API.latency-p99',
      'kafka-produce',
    ])
    const [checkout, payments, kafka] = config.slos
    expect(checkout).toMatchObject({
      window: { kind: 'rolling', lengthMs: 28 * DAY },
      budgeting: 'timeslices',
      sliceMs: 30_000,
      description: 'Customers can complete a checkout.',
    })
    expect(checkout!.matchers.map(String)).toEqual([
      'slo="checkout-availability"',
      'severity=~"critical|page"',
      'env!="dev"',
      'cluster!~"test-.*"',
    ])
    expect(payments).toMatchObject({
      objective: 0.99,
      window: { kind: 'calendar', unit: 'month' },
      budgeting: 'timeslices',
      sliceMs: 3_600_000,
    })
    expect(kafka).toMatchObject({
      objective: 0.9999999,
      window: { kind: 'rolling', lengthMs: 5_400_000 },
      budgeting: 'occurrences',
      sliceMs: 0,
    })
    expect([...config.byName.keys()]).toEqual(['checkout-availability', 'Payments_API.latency-p99', 'kafka-produce'])
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.slos)).toBe(true)
    expect(Object.isFrozen(checkout)).toBe(true)
    expect(Object.isFrozen(checkout!.window)).toBe(true)
    expect(Object.isFrozen(checkout!.matchers)).toBe(true)
  })

  it('accepts an empty list: no SLO, nothing charged', () => {
    expect(parse('slos: []').slos).toEqual([])
  })

  it.each([
    [
      'a default window with a calendar month',
      'window: month',
      { window: { kind: 'calendar', unit: 'month' }, sliceMs: 60_000 },
    ],
    ['Occurrences without a slice', 'budgeting: Occurrences', { budgeting: 'occurrences', sliceMs: 0 }],
    [
      'Timeslices spelt out with the default slice',
      'budgeting: Timeslices',
      { budgeting: 'timeslices', sliceMs: 60_000 },
    ],
    ['a slice one second long', 'slice: 1s', { sliceMs: 1_000 }],
    [
      'a slice just shorter than the window',
      'window: 1h\n    slice: 59m59s',
      { window: { kind: 'rolling', lengthMs: 3_600_000 }, sliceMs: 3_599_000 },
    ],
    ['a day-long slice of a calendar month', 'window: month\n    slice: 1d', { sliceMs: DAY }],
    ['an objective just above 0', 'objective: 0.0001', { objective: 0.0001 }],
  ])('accepts %s', (_name, extra, expected) => {
    // A later duplicate key would be a YAML error: replace the objective line instead.
    const text = extra.startsWith('objective')
      ? file(slo()).replace('objective: 0.999', extra)
      : file(slo(`    ${extra}`))
    expect(parse(text).slos[0]).toMatchObject(expected)
  })

  it.each([
    ['an empty file', '', 'the file is empty; expected the key slos'],
    ['invalid YAML', 'slos: [', 'line 1, column 8: invalid YAML'],
    ['no slos key', 'slo: []', '/slo is not allowed; expected one of: slos'],
    ['slos given as a mapping', 'slos: { checkout: {} }', '/slos must be array'],
    [
      'an unknown key in an SLO',
      file(slo('    target: 0.999')),
      '/slos/0/target is not allowed; expected one of: name, service, team, objective, window, budgeting, slice, indicator, description',
    ],
    [
      'an unknown key in the indicator',
      file(slo().replace('matchers: [\'slo="checkout-availability"\']', "matchers: ['a=b']\n      query: up == 0")),
      '/slos/0/indicator/query is not allowed; expected one of: matchers',
    ],
    [
      'a missing name',
      'slos: [{ service: s, team: t, objective: 0.9, indicator: { matchers: [a=b] } }]',
      '/slos/0/name is required',
    ],
    [
      'a missing service',
      'slos: [{ name: n, team: t, objective: 0.9, indicator: { matchers: [a=b] } }]',
      '/slos/0/service is required',
    ],
    [
      'a missing team',
      'slos: [{ name: n, service: s, objective: 0.9, indicator: { matchers: [a=b] } }]',
      '/slos/0/team is required',
    ],
    [
      'a missing objective',
      'slos: [{ name: n, service: s, team: t, indicator: { matchers: [a=b] } }]',
      '/slos/0/objective is required',
    ],
    [
      'a missing indicator',
      'slos: [{ name: n, service: s, team: t, objective: 0.9 }]',
      '/slos/0/indicator is required',
    ],
    [
      'an indicator without matchers',
      'slos: [{ name: n, service: s, team: t, objective: 0.9, indicator: {} }]',
      '/slos/0/indicator/matchers is required',
    ],
    [
      'a name with a space',
      file(slo('', '"checkout availability"')),
      '/slos/0/name must be an SLO name: letters, digits, ".", "_" and "-", starting with a letter or digit',
    ],
    ['a name starting with "-"', file(slo('', '-checkout')), '/slos/0/name must be an SLO name'],
    [
      'an upper-case service',
      file(slo().replace('service: checkout', 'service: Checkout')),
      '/slos/0/service must be a catalog name of lower-case letters',
    ],
    [
      'a numeric team',
      file(slo().replace('team: payments', 'team: 42')),
      '/slos/0/team must be string (quote it: "42")',
    ],
    [
      'an objective of 1',
      file(slo().replace('objective: 0.999', 'objective: 1')),
      '/slos/0/objective must be a fraction strictly between 0 and 1 (0.999 promises 99.9% good time), got 1',
    ],
    [
      'an objective of 0',
      file(slo().replace('objective: 0.999', 'objective: 0')),
      '/slos/0/objective must be a fraction strictly between 0 and 1 (0.999 promises 99.9% good time), got 0',
    ],
    [
      'a negative objective',
      file(slo().replace('objective: 0.999', 'objective: -0.5')),
      '/slos/0/objective must be a fraction strictly between 0 and 1 (0.999 promises 99.9% good time), got -0.5',
    ],
    [
      'an objective as a percentage',
      file(slo().replace('objective: 0.999', 'objective: 99.9')),
      '/slos/0/objective must be a fraction strictly between 0 and 1 (0.999 promises 99.9% good time), got 99.9 (write 0.999 for 99.9%)',
    ],
    [
      'an objective as text',
      file(slo().replace('objective: 0.999', 'objective: "99.9%"')),
      '/slos/0/objective must be number',
    ],
    [
      'an infinite objective',
      file(slo().replace('objective: 0.999', 'objective: .inf')),
      '/slos/0/objective must be number',
    ],
    ['a NaN objective', file(slo().replace('objective: 0.999', 'objective: .nan')), '/slos/0/objective must be number'],
    [
      'a window in words',
      file(slo('    window: monthly')),
      '/slos/0/window must be a rolling duration like 30d or 4w, or the word month (a calendar month, UTC), got "monthly"',
    ],
    [
      'a capitalised month',
      file(slo('    window: Month')),
      '/slos/0/window must be a rolling duration like 30d or 4w, or the word month (a calendar month, UTC), got "Month"',
    ],
    [
      'a window without a unit',
      file(slo('    window: 30')),
      '/slos/0/window must be a rolling duration like 30d or 4w, or the word month (a calendar month, UTC), got 30 (a length needs its unit, e.g. 30d or 30m)',
    ],
    ['a zero window', file(slo('    window: 0d')), '/slos/0/window must be longer than zero, got "0d"'],
    [
      'a budgeting method in lower case',
      file(slo('    budgeting: timeslices')),
      '/slos/0/budgeting must be Timeslices or Occurrences (OpenSLO\'s spelling), got "timeslices"',
    ],
    [
      'an unknown budgeting method',
      file(slo('    budgeting: RatioTimeslices')),
      '/slos/0/budgeting must be Timeslices or Occurrences (OpenSLO\'s spelling), got "RatioTimeslices"',
    ],
    [
      'a prototype key as budgeting method',
      file(slo('    budgeting: constructor')),
      '/slos/0/budgeting must be Timeslices or Occurrences',
    ],
    [
      'a slice with Occurrences',
      file(slo('    budgeting: Occurrences\n    slice: 1m')),
      '/slos/0/slice applies to Timeslices budgeting only; remove it, or set budgeting: Timeslices',
    ],
    ['a slice shorter than a second', file(slo('    slice: 500ms')), '/slos/0/slice must be at least 1s, got "500ms"'],
    [
      'a slice as long as the window',
      file(slo('    window: 1d\n    slice: 24h')),
      '/slos/0/slice must be shorter than the window (1d), got "24h"',
    ],
    [
      'a slice longer than the default window',
      file(slo('    slice: 5w')),
      '/slos/0/slice must be shorter than the window (30d), got "5w"',
    ],
    [
      'a slice as long as February',
      file(slo('    window: month\n    slice: 4w')),
      '/slos/0/slice must be shorter than the shortest month (28d), got "4w"',
    ],
    [
      'a slice without a unit',
      file(slo('    slice: 60')),
      '/slos/0/slice must be a duration like 1m or 30s, got 60 (a length needs its unit, e.g. 60d or 60m)',
    ],
    [
      'a slice in words',
      file(slo('    slice: one minute')),
      '/slos/0/slice must be a duration like 1m or 30s, got "one minute"',
    ],
    ['a zero slice', file(slo('    slice: 0s')), '/slos/0/slice must be longer than zero, got "0s"'],
    [
      'an empty matcher list',
      'slos: [{ name: n, service: s, team: t, objective: 0.9, indicator: { matchers: [] } }]',
      '/slos/0/indicator/matchers must NOT have fewer than 1 items',
    ],
    [
      'matchers given as one string',
      'slos: [{ name: n, service: s, team: t, objective: 0.9, indicator: { matchers: "a=b" } }]',
      '/slos/0/indicator/matchers must be array',
    ],
    [
      'an empty matcher',
      'slos: [{ name: n, service: s, team: t, objective: 0.9, indicator: { matchers: [""] } }]',
      '/slos/0/indicator/matchers/0 must NOT have fewer than 1 characters',
    ],
    [
      'a matcher set with no matcher',
      'slos: [{ name: n, service: s, team: t, objective: 0.9, indicator: { matchers: ["{}"] } }]',
      '/slos/0/indicator/matchers must hold at least one matcher, or every alert would break the SLO',
    ],
    [
      'a matcher without an operator',
      'slos: [{ name: n, service: s, team: t, objective: 0.9, indicator: { matchers: ["a=b", "severity"] } }]',
      '/slos/0/indicator/matchers/1 must be a label matcher like slo="checkout-availability": bad matcher "severity": expected <label name><operator>',
    ],
    [
      'a bad regex',
      'slos: [{ name: n, service: s, team: t, objective: 0.9, indicator: { matchers: [\'severity=~"(critical"\'] } }]',
      '/slos/0/indicator/matchers/0 must be a label matcher like slo="checkout-availability": bad matcher "severity=~\\"(critical\\"": invalid regular expression',
    ],
    [
      'an unclosed quote',
      "slos: [{ name: n, service: s, team: t, objective: 0.9, indicator: { matchers: ['slo=\"x'] } }]",
      '/slos/0/indicator/matchers/0 must be a label matcher like slo="checkout-availability": bad matcher "slo=\\"x": the value has no closing double quote',
    ],
    [
      'a bad label name',
      'slos: [{ name: n, service: s, team: t, objective: 0.9, indicator: { matchers: [\'1slo="x"\'] } }]',
      '/slos/0/indicator/matchers/0 must be a label matcher like slo="checkout-availability": bad matcher',
    ],
    ['a numeric description', file(slo('    description: 42')), '/slos/0/description must be string (quote it: "42")'],
    [
      'a duplicate name',
      file(slo(), slo('', 'payments'), slo('', 'checkout-availability')),
      '/slos/2/name "checkout-availability" is already the name of /slos/0; SLO names must be unique',
    ],
  ])('rejects %s, naming the file and path', (_name, text, fragment) => {
    expect(() => parse(text)).toThrow(ConfigError)
    expect(messageOf(text)).toContain(`topology/test.yaml: ${fragment}`)
  })

  it('lists every problem at once, one line each, in file order', () => {
    const text = `
slos:
  - name: a
    service: s
    team: t
    objective: 99.9
    window: monthly
    budgeting: timeslices
    indicator: { matchers: ['x=~"("', 'ok="yes"', 'y'] }
  - name: a
    service: s
    team: t
    objective: 0.5
    budgeting: Occurrences
    slice: 1m
    indicator: { matchers: ['{}'] }
`
    const lines = messageOf(text).split('\n')
    expect(lines.every((l) => l.startsWith('topology/test.yaml: /slos/'))).toBe(true)
    expect(lines.map((l) => l.replace(/^topology\/test\.yaml: (\S+) .*$/s, '$1'))).toEqual([
      '/slos/0/objective',
      '/slos/0/window',
      '/slos/0/budgeting',
      '/slos/0/indicator/matchers/0',
      '/slos/0/indicator/matchers/2',
      '/slos/1/name',
      '/slos/1/slice',
      '/slos/1/indicator/matchers',
    ])
  })

  it('lists every schema problem at once, before any other check runs', () => {
    const lines = messageOf(
      'slos: [{ name: "a b", service: s, team: t, objective: 2, colour: red, indicator: { matchers: [] } }, { name: c }]',
    ).split('\n')
    expect(lines).toEqual([
      'topology/test.yaml: /slos/0/colour is not allowed; expected one of: name, service, team, objective, window, budgeting, slice, indicator, description',
      'topology/test.yaml: /slos/0/name must be an SLO name: letters, digits, ".", "_" and "-", starting with a letter or digit',
      'topology/test.yaml: /slos/0/indicator/matchers must NOT have fewer than 1 items',
      'topology/test.yaml: /slos/1/service is required',
      'topology/test.yaml: /slos/1/team is required',
      'topology/test.yaml: /slos/1/objective is required',
      'topology/test.yaml: /slos/1/indicator is required',
    ])
  })
})

describe('slosFor', () => {
  const config = parse(`
slos:
  - name: checkout-availability
    service: checkout
    team: payments
    objective: 0.999
    indicator: { matchers: ['slo="checkout-availability"', 'severity=~"critical|page"'] }
  - name: checkout-not-dev
    service: checkout
    team: payments
    objective: 0.99
    indicator: { matchers: ['service="checkout"', 'env!="dev"', 'alertname!~"Watchdog|Info.*"'] }
  - name: needs-no-region
    service: edge
    team: core
    objective: 0.9
    indicator: { matchers: ['service="edge"', 'region=""'] }
  - name: needs-a-region
    service: edge
    team: core
    objective: 0.9
    indicator: { matchers: ['service="edge"', 'region!=""'] }
`)
  const names = (labels: Record<string, string>, c: SlosConfig = config) => slosFor(c, labels).map((s) => s.name)

  it.each<[string, Record<string, string>, string[]]>([
    ['= and =~ both matching', { slo: 'checkout-availability', severity: 'page' }, ['checkout-availability']],
    [
      '=~ anchored: a value only containing an alternative',
      { slo: 'checkout-availability', severity: 'critical-ish' },
      [],
    ],
    ['= not matching', { slo: 'checkout', severity: 'critical' }, []],
    ['a missing label against =~', { slo: 'checkout-availability' }, []],
    [
      'several SLOs at once, in file order',
      { slo: 'checkout-availability', severity: 'critical', service: 'checkout', alertname: 'HighErrorRate' },
      ['checkout-availability', 'checkout-not-dev'],
    ],
    ['!= excluding its value', { service: 'checkout', env: 'dev', alertname: 'HighErrorRate' }, []],
    ['!= matching a missing label', { service: 'checkout', alertname: 'HighErrorRate' }, ['checkout-not-dev']],
    ['!~ excluding its regex', { service: 'checkout', alertname: 'InfoInhibitor' }, []],
    [
      '!~ anchored: a value only starting like an excluded one',
      { service: 'checkout', alertname: 'WatchdogMissing' },
      ['checkout-not-dev'],
    ],
    ['="" matching a missing label', { service: 'edge' }, ['needs-no-region']],
    ['="" and !="" with the label set', { service: 'edge', region: 'eu' }, ['needs-a-region']],
    ['!="" with the label empty', { service: 'edge', region: '' }, ['needs-no-region']],
    ['no labels', {}, []],
  ])('%s', (_name, labels, expected) => {
    expect(names(labels)).toEqual(expected)
  })

  it('never takes a label from the prototype', () => {
    const proto = parse(file(slo().replace(`['slo="checkout-availability"']`, `['constructor!=""']`)))
    expect(names({}, proto)).toEqual([])
    expect(names({ constructor: 'x' }, proto)).toEqual(['checkout-availability'])
  })
})

describe('the shipped topology/slos.yaml', () => {
  const shipped = loadSlosFile()

  // Which SLOs there are is the teams' to edit; `nightshift check` (config-check.test.ts)
  // checks that every SLO the catalog names is defined here.
  it('loads, and names it relative to the project', () => {
    expect(SLOS_FILE).toBe(path.resolve(__dirname, '..', '..', 'topology', 'slos.yaml'))
    expect(shipped.file).toBe(path.join('topology', 'slos.yaml'))
    expect(shipped.slos.length).toBeGreaterThan(0)
  })

  // The labels of the captured Alertmanager payloads (shared fixtures, rules.yml).
  it.each<[string, Record<string, string>, string[]]>([
    [
      'TargetUp (checkout, warning)',
      {
        alertname: 'TargetUp',
        instance: '127.0.0.1:19090',
        job: 'prometheus',
        service: 'checkout',
        severity: 'warning',
        team: 'payments',
      },
      ['checkout-availability'],
    ],
    [
      'HandlerSeen (prometheus, critical): no SLO',
      { alertname: 'HandlerSeen', handler: '/-/ready', service: 'prometheus', severity: 'critical', team: 'core' },
      [],
    ],
    ['a checkout alert at info', { alertname: 'CheckoutDeploy', service: 'checkout', severity: 'info' }, []],
    [
      'a paging payments-api latency alert',
      { alertname: 'PaymentsApiLatencyBurn', slo: 'payments-api-latency', severity: 'page', namespace: 'payments' },
      ['payments-api-latency'],
    ],
    [
      'a payments-api latency warning',
      { alertname: 'PaymentsApiLatencyBurn', slo: 'payments-api-latency', severity: 'warning' },
      [],
    ],
    [
      'offline Kafka partitions',
      { alertname: 'KafkaOfflinePartitions', namespace: 'kafka', job: 'kafka-exporter' },
      ['kafka-produce-availability'],
    ],
    [
      "the Kafka exporter's test job",
      { alertname: 'KafkaOfflinePartitions', namespace: 'kafka', job: 'kafka-exporter-test-1' },
      [],
    ],
  ])('charges %s to the expected SLOs', (_name, labels, expected) => {
    expect(slosFor(shipped, labels).map((s) => s.name)).toEqual(expected)
  })

  it('names the file it cannot read', () => {
    expect(() => loadSlosFile(path.resolve('topology', 'missing.yaml'))).toThrow(
      /^topology\/missing\.yaml: cannot read the SLO file: .*ENOENT/,
    )
  })
})
