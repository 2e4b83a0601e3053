/** The shipped alerting rules parse with Prometheus' own checker (Debian's promtool, installed by .ci/run). */
import { execFileSync } from 'node:child_process'
import path from 'node:path'

const RULES = path.resolve(__dirname, '..', '..', 'topology', 'monitoring', 'nightshift-rules.yaml')

it('promtool check rules accepts topology/monitoring/nightshift-rules.yaml', () => {
  const out = execFileSync(process.env.PROMTOOL ?? 'promtool', ['check', 'rules', RULES], { encoding: 'utf8' })
  expect(out).toMatch(/SUCCESS: \d+ rules found/)
})
