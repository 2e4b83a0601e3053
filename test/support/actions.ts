import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { ActionOutcomeRecord, ActionRequestRecord } from '../../src/contracts/records'
import type { RecordProducer } from '../../src/kafka'
import { valueSubject } from '../../src/topology/names'
import type { Collector } from './kafka'
import { enrichedAlertRecord } from './records'
import { schemas, type TestTopology } from './topology'

const ROOT = path.resolve(__dirname, '..', '..')

/** A config folder for action workers: the shipped topics.yaml and the given actions.yaml lines. */
export function actionsConfigDir(prefix: string, actionsYaml: (dir: string) => string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ns-${prefix}-`))
  fs.copyFileSync(path.join(ROOT, 'topology', 'topics.yaml'), path.join(dir, 'topics.yaml'))
  fs.writeFileSync(path.join(dir, 'actions.yaml'), actionsYaml(dir).join('\n'))
  return dir
}

/**
 * An actions.yaml that runs for real, one attempt of at most 2 s, escalating to a page
 * sent to PagerDuty at `<targetUrl>/pd` (which escalates to nobody), with every built-in
 * action declared and no holds.
 */
export function runningActionsYaml(targetUrl: string): string[] {
  return [
    'dryRun: false',
    'defaults:',
    '  timeout: 2s',
    '  maxAttempts: 1',
    '  escalateTo: page',
    'actions:',
    '  page:',
    '    onResolved: run',
    '    escalateTo: null',
    `    config: { kind: pagerduty, url: "${targetUrl}/pd", routingKey: "pd-key" }`,
    '  webhook: {}',
    '  exec: { config: { commands: {} } }',
    '  log-level: {}',
    '  thread-dump: {}',
  ]
}

export interface RequestSpec {
  action: string
  fingerprint: string
  service?: string | null
  labels?: Record<string, string>
  params?: Record<string, string>
  status?: 'firing' | 'resolved'
  startsAt?: string
  dryRun?: boolean
  /** The catalog SLO of the alert's service. */
  slo?: string
}

/** An ActionRequest as route makes them (idempotency key `fingerprint|startsAt|action|test`). */
export function actionRequest(spec: RequestSpec): ActionRequestRecord {
  const startsAt = spec.startsAt ?? '2026-11-25T01:00:00.000Z'
  return {
    idempotencyKey: `${spec.fingerprint}|${startsAt}|${spec.action}|test`,
    action: spec.action,
    route: 'test',
    params: spec.params ?? {},
    dryRun: spec.dryRun ?? false,
    requestedAt: Date.now(),
    alert: enrichedAlertRecord({
      alert: {
        fingerprint: spec.fingerprint,
        status: spec.status ?? 'firing',
        startsAt,
        labels: { alertname: 'HighLatency', severity: 'critical', ...spec.labels },
      },
      service: spec.service === undefined ? 'checkout' : spec.service,
      slo: spec.slo ?? null,
    }),
  }
}

/** Produces requests to their `actions.<action>` topics, keyed by fingerprint like route does. */
export async function sendActionRequests(
  t: TestTopology,
  producer: RecordProducer,
  requests: ActionRequestRecord[],
): Promise<void> {
  const records = await Promise.all(
    requests.map(async (r) => {
      const topic = `${t.prefix}actions.${r.action}`
      const id = await t.registry.idOf(valueSubject(topic), schemas.resolve('ActionRequest'))
      return { topic, key: r.alert.alert.fingerprint, value: await t.registry.encode(id, r) }
    }),
  )
  await producer.send(records)
}

/** The outcomes a collector of actions.outcomes has read so far, decoded. */
export async function decodedOutcomes(t: TestTopology, outcomes: Collector): Promise<ActionOutcomeRecord[]> {
  return Promise.all(outcomes.records.map(async (r) => (await t.registry.decode(r.value!)) as ActionOutcomeRecord))
}
