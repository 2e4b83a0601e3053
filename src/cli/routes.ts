/**
 * `nightshift routes …`: check `topology/routes.yaml` without a broker, like
 * `amtool config routes test`. Errors are thrown, not printed: main turns a
 * NightshiftError into `nightshift: <message> [<code>]` and exit code 1.
 */
import { formatDurationShort } from '../config/duration'
import path from 'node:path'
import { Command } from 'commander'
import { SchemaSet } from '../contracts/schemas'
import { ConfigError } from '../errors'
import { fingerprint } from '../ingest/fingerprint'
import { LABEL_NAME, quoteValue } from '../matchers'
import type { EnrichedAlertRecord } from '../contracts/records'
import { CATALOG_FILE, loadCatalog, type Catalog } from '../stages/enrich/catalog'
import { enrich, findService } from '../stages/enrich/decide'
import { ROUTES_FILE, allRoutes, loadRoutesFile, type RouteTree } from '../stages/route/config'
import { planRoute, type RoutePlan } from '../stages/route/decide'
import { actionTopic, TOPICS } from '../topology/names'
import { TOPICS_FILE, loadTopicsFile } from '../topology/topics-file'

/** What the commands read and write; tests replace them. */
export interface RoutesCommandDeps {
  /** Where the output goes (default: stdout). */
  print?: (text: string) => void
  /** The folder of the `.avsc` contracts (default: schemas/), read for the topics file. */
  schemasDir?: string
  /** The clock, for the test alert's startsAt and receivedAt (default: Date.now). */
  now?: () => number
}

/** Parses `name=value` arguments into labels. */
export function parseLabelArgs(args: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const arg of args) {
    const eq = arg.indexOf('=')
    const name = eq < 0 ? arg : arg.slice(0, eq)
    if (eq < 0 || !LABEL_NAME.test(name))
      throw new ConfigError(`label argument "${arg}": expected <label name>=<value>, e.g. severity=critical`)
    labels[name] = arg.slice(eq + 1)
  }
  return labels
}

/**
 * The alert `routes test` routes: the given labels, enriched from the catalog as the
 * enrich stage would (service, team, tier, SLO, runbook, endpoints). When no catalog
 * service matches, team/service/tier labels stand in for the catalog fields.
 */
export function testAlert(labels: Record<string, string>, now: number, catalog?: Catalog): EnrichedAlertRecord {
  const startsAt = new Date(now).toISOString()
  const alert = {
    fingerprint: fingerprint(labels),
    status: 'firing' as const,
    labels,
    annotations: {},
    startsAt,
    endsAt: null,
    generatorURL: null,
    receiver: null,
    groupKey: null,
    externalURL: null,
    receivedAt: now,
  }
  const enriched = catalog ? enrich(alert, catalog) : undefined
  if (enriched && enriched.service !== null) return enriched
  return {
    alert,
    team: labels.team ?? 'unowned',
    service: labels.service ?? null,
    tier: labels.tier ?? null,
    runbookUrl: null,
    slo: null,
    endpoints: {},
    enrichedAt: now,
    throttledBy: null,
  }
}

/** What `routes test` prints for a plan. */
export function formatRoutePlan(
  tree: RouteTree,
  labels: Readonly<Record<string, string>>,
  plan: RoutePlan,
  context: { alert?: EnrichedAlertRecord; catalog?: Catalog } = {},
): string {
  const { alert, catalog } = context
  const set = `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${quoteValue(v)}`)
    .join(', ')}}`
  const lines = [`${tree.file}: ${set}`]
  if (catalog && alert) {
    const { service, team, tier, slo } = alert
    lines.push(
      findService(labels, catalog) === undefined
        ? `catalog: no service of ${catalog.file} matches; team ${team}`
        : `catalog: service ${service} of team ${team}${tier === null ? '' : `, ${tier}`}${slo === null ? '' : `, SLO ${slo}`} (${catalog.file})`,
    )
  }
  lines.push(`matched: ${plan.matched.map((r) => r.id).join(', ')}`)
  if (plan.actions.length === 0) {
    lines.push(`no action: the alert would go to ${TOPICS.unrouted}`)
    return lines.join('\n')
  }
  for (const a of plan.actions) {
    const notes = [
      ...(a.route.dryRun ? ['dry run'] : []),
      ...(a.route.hold && a.route.hold.waitMs > 0 ? [`wait ${formatDurationShort(a.route.hold.waitMs)}`] : []),
      ...(a.route.hold?.approval
        ? [
            `asks first: approval within ${formatDurationShort(a.route.hold.approval.timeoutMs)}, else ${a.route.hold.approval.onTimeout}`,
          ]
        : []),
    ]
    lines.push(`${a.route.id} → ${actionTopic(a.action)}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`)
    if (a.ok) {
      for (const [name, value] of Object.entries(a.params)) lines.push(`    ${name}: ${value}`)
    } else {
      lines.push(`    error: no ${a.missing.join(', ')} for the params: an error outcome instead of a request`)
    }
  }
  return lines.join('\n')
}

/** Adds the `routes` command group (`test`, `validate`) to `program`. */
export function addRoutesCommands(program: Command, deps: RoutesCommandDeps = {}): Command {
  const print = deps.print ?? ((text: string) => process.stdout.write(`${text}\n`))
  const now = deps.now ?? Date.now
  const load = (file: string | undefined, topicsFile: string | undefined): RouteTree => {
    const topics = loadTopicsFile(
      SchemaSet.load(deps.schemasDir),
      topicsFile === undefined ? TOPICS_FILE : path.resolve(topicsFile),
    )
    return loadRoutesFile(topics.actions, file === undefined ? ROUTES_FILE : path.resolve(file))
  }
  const routes = program.command('routes').description('check topology/routes.yaml without a broker')

  routes
    .command('test')
    .summary('show which routes an alert with the given labels matches')
    .description(
      'show the routes an alert with the given labels matches and the action requests they would make (like amtool config routes test). ' +
        'The alert is enriched from the catalog as the enrich stage would, so the params show what the worker will get (the URL it calls); ' +
        'when no catalog service matches, team, service and tier labels stand in for the catalog fields. Placeholders nothing can fill are shown as errors.',
    )
    .argument('[labels...]', 'labels of the alert, as name=value')
    .option('--file <path>', 'routes file (default: topology/routes.yaml)')
    .option('--topics-file <path>', 'topics file declaring the action names (default: topology/topics.yaml)')
    .option('--catalog-file <path>', 'service catalog the alert is enriched from (default: topology/catalog.yaml)')
    .action((args: string[], opts: { file?: string; topicsFile?: string; catalogFile?: string }) => {
      const tree = load(opts.file, opts.topicsFile)
      const catalog = loadCatalog(opts.catalogFile === undefined ? CATALOG_FILE : path.resolve(opts.catalogFile))
      const labels = parseLabelArgs(args)
      const alert = testAlert(labels, now(), catalog)
      print(formatRoutePlan(tree, labels, planRoute(tree, alert), { alert, catalog }))
    })

  routes
    .command('validate')
    .summary('check the routes file')
    .option('--file <path>', 'routes file (default: topology/routes.yaml)')
    .option('--topics-file <path>', 'topics file declaring the action names (default: topology/topics.yaml)')
    .action((opts: { file?: string; topicsFile?: string }) => {
      const tree = load(opts.file, opts.topicsFile)
      const all = allRoutes(tree)
      print(`${tree.file}: valid (${all.length} routes, ${all.filter((r) => r.action !== null).length} with an action)`)
    })

  return routes
}
