/**
 * The offline check of a whole config folder (`nightshift check`, like `amtool
 * check-config`): every file loaded with the loader its stage uses, then every reference
 * from one file to another checked, and every problem returned at once, each naming its
 * file and JSON path. `nightshift run` refuses to start on the same list.
 *
 * The loaders stay the one place a file's own rules live; this module only adds the
 * rules that span two files (routes → actions → topics, catalog SLOs → slos.yaml, route
 * params → catalog endpoints, limits overrides → catalog services).
 */
import fs from 'node:fs'
import path from 'node:path'
import { parseActionsFile, type ActionsConfig } from '../actions/worker/actions-file'
import { BUILTIN_ACTIONS } from '../actions/handlers/builtins'
import { SchemaSet } from '../contracts/schemas'
import { ConfigError, describeError } from '../errors'
import { parseSlos, type SlosConfig } from '../slo/slos'
import { parseCatalog, type Catalog } from '../stages/enrich/catalog'
import { UNOWNED } from '../stages/enrich/record'
import { parseLimits, type LimitsConfig } from '../stages/ratelimit/limits'
import { allRoutes, parseRoutesFile, type RouteTree } from '../stages/route/config'
import { parseTopicsFile, type TopicsFile } from '../topology/topics-file'
import type { Stage } from '../topology/names'
import { displayName, parseYaml } from './yaml-file'

/** The shipped config folder (topology/), the default of `check` and `run`. */
export const SHIPPED_CONFIG_DIR = path.resolve(__dirname, '..', '..', 'topology')

/** The files of a config folder, in the order they are checked. */
export const CONFIG_FILES = [
  'topics.yaml',
  'catalog.yaml',
  'limits.yaml',
  'routes.yaml',
  'actions.yaml',
  'slos.yaml',
] as const
export type ConfigFileName = (typeof CONFIG_FILES)[number]

/**
 * The files each stage reads (`reads`: must exist) and those it uses when they are
 * there (`mayRead`: slos.yaml for budget gates and staleness, actions.yaml for which
 * actions are escalations), as src/app.ts builds the stages.
 */
export const STAGE_FILES: Readonly<
  Record<Stage, { reads: readonly ConfigFileName[]; mayRead?: readonly ConfigFileName[] }>
> = {
  ingest: { reads: [] },
  dedup: { reads: [], mayRead: ['slos.yaml'] },
  enrich: { reads: ['catalog.yaml'] },
  ratelimit: { reads: ['limits.yaml', 'topics.yaml', 'routes.yaml'], mayRead: ['actions.yaml'] },
  route: { reads: ['topics.yaml', 'routes.yaml'], mayRead: ['actions.yaml'] },
  actions: { reads: ['topics.yaml', 'actions.yaml'], mayRead: ['slos.yaml'] },
  slo: { reads: ['slos.yaml'] },
}

/** One thing wrong with the folder. */
export interface ConfigProblem {
  /** The file, as named in messages (relative to the working directory when inside it). */
  readonly file: string
  /** What is wrong, starting with the JSON path when there is one (`/route/routes/0/action …`). */
  readonly message: string
}

/** What a clean folder holds, for the summary. */
export interface CheckedConfig {
  topics?: TopicsFile
  catalog?: Catalog
  limits?: LimitsConfig
  routes?: RouteTree
  actions?: ActionsConfig
  slos?: SlosConfig
}

export interface CheckResult {
  readonly dir: string
  readonly problems: readonly ConfigProblem[]
  /** Dead but harmless references: reported, never a failure. */
  readonly warnings: readonly ConfigProblem[]
  /** The files that loaded; a file with problems is absent. */
  readonly loaded: CheckedConfig
}

export interface CheckOptions {
  /** Files that must exist (default: all of {@link CONFIG_FILES}); the others are checked when present. */
  required?: readonly ConfigFileName[]
  /** Check only these files (default: every file of the folder). */
  only?: readonly ConfigFileName[]
  /** The Avro contracts (default: schemas/). */
  schemas?: SchemaSet
  /** Base of a relative artifactsDir of actions.yaml (default: the working directory). */
  cwd?: string
}

/** Splits a loader's ConfigError (one `<file>: <problem>` per line) into problems. */
function problemsOf(err: unknown, file: string): ConfigProblem[] {
  const name = displayName(file)
  if (!(err instanceof ConfigError)) return [{ file: name, message: `cannot be checked: ${describeError(err)}` }]
  const problems: Array<{ file: string; message: string }> = []
  // One problem per `<file>: ` line; other lines continue the one before (a module's
  // load error), except Node's require stack, which says nothing about the config.
  const text = err.message.replace(/\nRequire stack:(\n- [^\n]*)*/g, '')
  for (const line of text.split('\n').filter((l) => l.trim().length > 0)) {
    const last = problems.at(-1)
    if (line.startsWith(`${name}: `)) problems.push({ file: name, message: line.slice(name.length + 2) })
    else if (last) last.message = `${last.message}\n    ${line}`
    else problems.push({ file: name, message: line })
  }
  return problems
}

/**
 * The action names of a topics file that does not load, read as leniently as possible,
 * so routes.yaml and actions.yaml are still checked against what it declares.
 */
function declaredActions(text: string, file: string): string[] | undefined {
  try {
    const data = parseYaml(text, displayName(file)) as { actions?: { names?: unknown } } | null
    const names = data?.actions?.names
    return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : undefined
  } catch {
    return undefined
  }
}

/** Every `{{ endpoints.<name> }}` of a route's params, with the param's JSON path. */
function endpointPlaceholders(tree: RouteTree): Array<{ at: string; endpoint: string }> {
  return allRoutes(tree).flatMap((r) =>
    r.params.flatMap((p) =>
      p.template.parts.flatMap((part) =>
        'map' in part && part.map === 'endpoints'
          ? [{ at: `${routeAt(r.path)}/params/${p.name}`, endpoint: part.key }]
          : [],
      ),
    ),
  )
}

/**
 * Checks the config folder `dir`: each file with its own loader, then the references
 * between files. Never throws for a bad file: every problem is in the result.
 */
export function checkConfig(dir: string, options: CheckOptions = {}): CheckResult {
  const problems: ConfigProblem[] = []
  const loaded: CheckedConfig = {}
  const required = new Set<ConfigFileName>(options.required ?? CONFIG_FILES)
  const only = new Set<ConfigFileName>(options.only ?? CONFIG_FILES)
  const fileOf = (name: ConfigFileName): string => path.join(dir, name)
  const texts = new Map<ConfigFileName, string>()
  for (const name of CONFIG_FILES) {
    if (!only.has(name)) continue
    const file = fileOf(name)
    if (!fs.existsSync(file)) {
      if (required.has(name)) problems.push({ file: displayName(file), message: 'is missing' })
      continue
    }
    try {
      texts.set(name, fs.readFileSync(file, 'utf8'))
    } catch (err) {
      problems.push({ file: displayName(file), message: `cannot be read: ${describeError(err)}` })
    }
  }
  const load = <T>(name: ConfigFileName, parse: (text: string, file: string) => T): T | undefined => {
    const text = texts.get(name)
    if (text === undefined) return undefined
    try {
      return parse(text, fileOf(name))
    } catch (err) {
      problems.push(...problemsOf(err, fileOf(name)))
      return undefined
    }
  }

  // Files that stand alone.
  let schemas: SchemaSet | undefined
  if (texts.has('topics.yaml')) {
    try {
      schemas = options.schemas ?? SchemaSet.load()
    } catch (err) {
      problems.push(...problemsOf(err, 'schemas'))
    }
  }
  loaded.topics = schemas ? load('topics.yaml', (text, file) => parseTopicsFile(text, file, schemas)) : undefined
  loaded.catalog = load('catalog.yaml', parseCatalog)
  loaded.limits = load('limits.yaml', parseLimits)
  loaded.slos = load('slos.yaml', parseSlos)

  // Files that name the actions of topics.yaml; checked against what it declares even when it is broken.
  const topicsText = texts.get('topics.yaml')
  const actionNames =
    loaded.topics?.actions ??
    (topicsText === undefined ? undefined : declaredActions(topicsText, fileOf('topics.yaml')))
  if (actionNames === undefined && (texts.has('routes.yaml') || texts.has('actions.yaml')) && !texts.has('topics.yaml'))
    problems.push({
      file: displayName(fileOf('topics.yaml')),
      message: 'is missing: routes.yaml and actions.yaml name the actions it declares (/actions/names)',
    })
  if (actionNames !== undefined) {
    loaded.routes = load('routes.yaml', (text, file) => parseRoutesFile(text, file, actionNames))
    loaded.actions = load('actions.yaml', (text, file) =>
      parseActionsFile(text, file, {
        actionTopics: actionNames,
        builtins: BUILTIN_ACTIONS,
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      }),
    )
  }

  problems.push(...crossReferences(loaded))
  return { dir: displayName(dir), problems, warnings: deadReferences(loaded), loaded }
}

/** The rules between two files, each checked when both loaded. */
function crossReferences(c: CheckedConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  const at = (file: string) => (message: string) => problems.push({ file, message })
  const { catalog, routes, actions, slos } = c
  const services = new Set(catalog?.services.map((s) => s.name))

  if (routes && actions) {
    // A route whose action has no worker configured would fill a topic nobody reads.
    for (const r of allRoutes(routes)) {
      if (r.action !== null && !actions.actions.has(r.action))
        at(routes.file)(
          `${routeAt(r.path)}/action "${r.action}" is not configured in ${actions.file} (/actions/${r.action}): no worker would run its requests`,
        )
    }
  }
  if (routes && catalog) {
    const endpoints = new Set(catalog.services.flatMap((s) => Object.keys(s.endpoints)))
    for (const { at: where, endpoint } of endpointPlaceholders(routes)) {
      if (!endpoints.has(endpoint))
        at(routes.file)(
          `${where} uses {{ endpoints.${endpoint} }}, but no service of ${catalog.file} has an endpoint "${endpoint}"${endpoints.size > 0 ? `; endpoints: ${[...endpoints].sort().join(', ')}` : ''}`,
        )
    }
  }
  if (catalog && slos) {
    catalog.services.forEach((s, i) => {
      if (s.slo !== null && !slos.byName.has(s.slo))
        at(catalog.file)(
          `/services/${i}/slo "${s.slo}" is not an SLO of ${slos.file}; expected one of: ${[...slos.byName.keys()].join(', ')}`,
        )
    })
    slos.slos.forEach((s, i) => {
      if (!services.has(s.service))
        at(slos.file)(`/slos/${i}/service "${s.service}" is not a service of ${catalog.file}`)
    })
  }
  return problems
}

/**
 * References that are dead but harmless: a limits override of a service or team the
 * catalog does not have never applies (the catalog may simply not have it yet).
 */
function deadReferences(c: CheckedConfig): ConfigProblem[] {
  const { catalog, limits } = c
  if (!limits || !catalog) return []
  const warnings: ConfigProblem[] = []
  const services = new Set(catalog.services.map((s) => s.name))
  const teams = new Set([...catalog.services.map((s) => s.team), UNOWNED])
  for (const service of limits.services.keys())
    if (!services.has(service))
      warnings.push({
        file: limits.file,
        message: `/services/${service} is not a service of ${catalog.file}: the override never applies`,
      })
  for (const team of limits.teams.keys())
    if (!teams.has(team))
      warnings.push({
        file: limits.file,
        message: `/teams/${team} owns no service of ${catalog.file}: the override never applies`,
      })
  return warnings
}

/** The JSON path of a route of the tree from its position (`root/1/0` → `/route/routes/1/routes/0`). */
function routeAt(routePath: string): string {
  return `/route${routePath
    .split('/')
    .slice(1)
    .map((i) => `/routes/${i}`)
    .join('')}`
}

/** One line per problem: `<file>: <problem>`. */
export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems.map((p) => `${p.file}: ${p.message}`).join('\n')
}

/**
 * Checks the files the given stages read (and the references between them) and throws
 * one ConfigError listing every problem: what `nightshift run` does before it connects.
 */
export function assertConfig(dir: string, stages: readonly Stage[]): void {
  const needed = [...new Set(stages.flatMap((s) => STAGE_FILES[s].reads))]
  const only = [...new Set([...needed, ...stages.flatMap((s) => STAGE_FILES[s].mayRead ?? [])])]
  if (only.length === 0) return
  const result = checkConfig(dir, { required: needed, only })
  if (result.problems.length > 0) {
    const n = result.problems.length
    throw new ConfigError(
      `${result.dir}: ${n} problem${n === 1 ? '' : 's'} in the config:\n${formatProblems(result.problems)}`,
    )
  }
}
