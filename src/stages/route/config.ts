/**
 * `topology/routes.yaml`: Alertmanager's route tree, with Nightshift actions as
 * receivers. Validated once at load (unknown keys rejected; every problem listed as
 * `<file>: <JSON path> <what was expected>`), matchers compiled and templates parsed,
 * then frozen, so the route stage never re-checks anything.
 *
 * A route: `name` (optional; its id, else its path such as `root/1/0`), `matchers`
 * (Alertmanager matcher strings, all must match), `continue` (keep trying the next
 * siblings after this one matched), `action` (a name of topics.yaml /actions/names),
 * `params` (string templates, see template.ts), `dry_run`, and child `routes`. The root
 * matches every alert: it may have neither matchers nor `continue`, as in Alertmanager.
 */
import path from 'node:path'
import { displayName, readConfigFile, yamlFormat } from '../../config/yaml-file'
import { ConfigError } from '../../errors'
import type { HoldRecord } from '../../contracts/records'
import { parseDuration } from '../../config/duration'
import type { GateSettings } from '../../slo/gate-settings'
import type { BurnWindowName } from '../../slo/budget'
import { parseMatchers, type Matcher } from '../../matchers'
import { TemplateSyntaxError, parseTemplate, type Template } from './template'

/** The shipped routes file, relative to the project root. */
export const ROUTES_FILE = path.resolve(__dirname, '..', '..', '..', 'topology', 'routes.yaml')

/** One parameter of an action request: its name and parsed template. */
export interface RouteParam {
  readonly name: string
  readonly template: Template
}

/** One validated, frozen route. */
export interface Route {
  /** The route's name, else its path (`root`, `root/1/0`); unique in the tree. */
  readonly id: string
  /** Position in the tree, always: `root`, `root/0`, `root/0/2`. */
  readonly path: string
  readonly matchers: readonly Matcher[]
  readonly continue: boolean
  /** The action requested when this route matches; none: the route only groups children. */
  readonly action: string | null
  readonly params: readonly RouteParam[]
  readonly dryRun: boolean
  /** Budget gate the action's workers check for requests of this route (null: none). */
  readonly gate: GateSettings | null
  /** Wait and approval before the action runs (null: the action's own, actions.yaml). */
  readonly hold: Readonly<HoldRecord> | null
  readonly routes: readonly Route[]
}

/** The validated, frozen contents of a routes file. */
export interface RouteTree {
  /** The file as named in error messages. */
  readonly file: string
  readonly root: Route
}

interface RawRoute {
  name?: string
  matchers?: string[]
  continue?: boolean
  action?: string
  params?: Record<string, string>
  dry_run?: boolean
  gate?: { min_budget_remaining?: number; max_burn_rate?: number; burn_window?: BurnWindowName }
  wait?: string
  approval?: { timeout: string; on_timeout?: 'page' | 'skip' | 'run' }
  routes?: RawRoute[]
}

const ROUTE_NAME = '^[A-Za-z0-9][A-Za-z0-9._-]*$'
const PARAM_NAME = '^[A-Za-z_][A-Za-z0-9_.-]*$'

/** The JSON schema of a routes file (after YAML parsing). */
export const ROUTES_FILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['route'],
  properties: { route: { $ref: '#/definitions/route' } },
  definitions: {
    route: {
      type: 'object',
      additionalProperties: false,
      properties: {
        name: { type: 'string', pattern: ROUTE_NAME },
        matchers: { type: 'array', items: { type: 'string', minLength: 1 } },
        continue: { type: 'boolean' },
        action: { type: 'string', minLength: 1 },
        params: { type: 'object', propertyNames: { pattern: PARAM_NAME }, additionalProperties: { type: 'string' } },
        dry_run: { type: 'boolean' },
        gate: {
          type: 'object',
          additionalProperties: false,
          properties: {
            min_budget_remaining: { type: 'number', minimum: 0, maximum: 1 },
            max_burn_rate: { type: 'number', exclusiveMinimum: 0 },
            burn_window: { enum: ['5m', '30m', '1h', '6h', '1d', '3d'] },
          },
        },
        wait: { type: 'string', minLength: 1 },
        approval: {
          type: 'object',
          additionalProperties: false,
          required: ['timeout'],
          properties: {
            timeout: { type: 'string', minLength: 1 },
            on_timeout: { enum: ['page', 'skip', 'run'] },
          },
        },
        routes: { type: 'array', items: { $ref: '#/definitions/route' } },
      },
    },
  },
} as const

const ROUTES_FORMAT = yamlFormat<{ route: RawRoute }>(ROUTES_FILE_SCHEMA, {
  emptyMeans: 'the key route',
  patternMeans: {
    [ROUTE_NAME]: 'a route name: letters, digits, ".", "_" and "-", starting with a letter or digit',
    propertyNames: 'a parameter name (letters, digits, "_", "." and "-", starting with a letter or "_")',
  },
})

/** A routes.yaml gate (snake_case, like dry_run) as the workers' GateSettings. */
function routeGate(raw: NonNullable<RawRoute['gate']>): GateSettings {
  const gate: { minBudgetRemaining?: number; maxBurnRate?: number; burnWindow?: BurnWindowName } = {}
  if (raw.min_budget_remaining !== undefined) gate.minBudgetRemaining = raw.min_budget_remaining
  if (raw.max_burn_rate !== undefined) gate.maxBurnRate = raw.max_burn_rate
  if (raw.burn_window !== undefined) gate.burnWindow = raw.burn_window
  return gate
}

/** A route's `wait` and `approval` as a request's hold; problems with the durations are listed. */
function routeHold(raw: RawRoute, at: string, problems: string[]): Readonly<HoldRecord> | null {
  if (raw.wait === undefined && raw.approval === undefined) return null
  const duration = (text: string, where: string): number => {
    try {
      return parseDuration(text, where)
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      problems.push(err.message)
      return 0
    }
  }
  const waitMs = raw.wait === undefined ? 0 : duration(raw.wait, `${at}/wait`)
  const approval =
    raw.approval === undefined
      ? null
      : Object.freeze({
          timeoutMs: duration(raw.approval.timeout, `${at}/approval/timeout`),
          onTimeout: raw.approval.on_timeout ?? 'page',
        })
  return Object.freeze({ waitMs, approval })
}

/**
 * Validates the text of a routes file. `knownActions` are the declared action names
 * (topology/topics.yaml /actions/names); a route naming any other is an error.
 * @throws ConfigError listing every problem, each as `<file>: <JSON path> <what is wrong>`.
 */
export function parseRoutesFile(text: string, file: string, knownActions: readonly string[]): RouteTree {
  const name = displayName(file)
  const data = ROUTES_FORMAT.parse(text, file)
  const problems: string[] = []
  const ids = new Map<string, string>()

  const build = (raw: RawRoute, at: string, routePath: string): Route => {
    if (routePath === 'root') {
      if (raw.matchers !== undefined && raw.matchers.length > 0)
        problems.push(`${at}/matchers: the root route matches every alert and must not have matchers`)
      if (raw.continue !== undefined) problems.push(`${at}/continue: the root route cannot have continue`)
    }
    let matchers: Matcher[] = []
    ;(raw.matchers ?? []).forEach((m, i) => {
      try {
        matchers = matchers.concat(parseMatchers(m))
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err
        problems.push(`${at}/matchers/${i} ${err.message}`)
      }
    })
    const action = raw.action ?? null
    if (action !== null && !knownActions.includes(action)) {
      problems.push(
        `${at}/action "${action}" is not a declared action; expected one of: ${knownActions.join(', ')} (topology/topics.yaml /actions/names)`,
      )
    }
    if (action === null && raw.params !== undefined)
      problems.push(`${at}/params: parameters need an action on the same route`)
    if (action === null && raw.dry_run !== undefined)
      problems.push(`${at}/dry_run: dry_run needs an action on the same route`)
    if (action === null && raw.gate !== undefined)
      problems.push(`${at}/gate: a budget gate needs an action on the same route`)
    if (action === null && (raw.wait !== undefined || raw.approval !== undefined))
      problems.push(`${at}/${raw.wait !== undefined ? 'wait' : 'approval'}: a hold needs an action on the same route`)
    const hold = routeHold(raw, at, problems)
    const params: RouteParam[] = []
    for (const [param, source] of Object.entries(raw.params ?? {})) {
      try {
        params.push(Object.freeze({ name: param, template: parseTemplate(source) }))
      } catch (err) {
        if (!(err instanceof TemplateSyntaxError)) throw err
        problems.push(`${at}/params/${param} ${err.message}`)
      }
    }
    const id = raw.name ?? routePath
    const seen = ids.get(id)
    if (seen !== undefined)
      problems.push(`${at}/name "${id}" is already the id of the route at ${seen}; route ids must be unique`)
    else ids.set(id, at)
    const routes = (raw.routes ?? []).map((child, i) => build(child, `${at}/routes/${i}`, `${routePath}/${i}`))
    return Object.freeze({
      id,
      path: routePath,
      matchers: Object.freeze(matchers),
      continue: raw.continue ?? false,
      action,
      params: Object.freeze(params),
      dryRun: raw.dry_run ?? false,
      gate: raw.gate === undefined ? null : Object.freeze(routeGate(raw.gate)),
      hold,
      routes: Object.freeze(routes),
    })
  }

  const root = build(data.route, '/route', 'root')
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `${name}: ${p}`).join('\n'))
  return Object.freeze({ file: name, root })
}

/**
 * Loads and validates a routes file (default: the shipped `topology/routes.yaml`).
 * @throws ConfigError naming the file when it cannot be read or does not validate.
 */
export function loadRoutesFile(knownActions: readonly string[], file: string = ROUTES_FILE): RouteTree {
  return parseRoutesFile(readConfigFile(file, 'routes file'), file, knownActions)
}

/** Every route of the tree, depth-first in file order. */
export function allRoutes(tree: RouteTree): Route[] {
  const out: Route[] = []
  const walk = (r: Route): void => {
    out.push(r)
    r.routes.forEach(walk)
  }
  walk(tree.root)
  return out
}
