/**
 * `topology/actions.yaml`: how the action workers run each action — time limit, retries,
 * concurrency, circuit breaker, escalation, dry run, what a resolved notification means —
 * and each handler's own settings (`config`, validated by the handler's factory). Also
 * where custom actions live (`customActionsDir`: modules whose default export is
 * `defineAction({ name, run })`).
 *
 * Validated once per load: unknown keys rejected, every problem listed with its path, an
 * action that is not an action topic in topology/topics.yaml rejected (its requests would
 * have nowhere to come from). The workers reload the file on change and keep the last good
 * version when an edit does not validate.
 */
import fs from 'node:fs'
import path from 'node:path'
import { parseDuration } from '../../config/duration'
import { displayName, yamlFormat } from '../../config/yaml-file'
import { ConfigError, describeError } from '../../errors'
import type { CircuitSettings } from './circuit'
import type { OnResolved } from './ledger'
import type { GateSettings } from '../../slo/gate-settings'
import type { ApprovalTimeout, HoldRecord } from '../../contracts/records'
import { isCustomAction } from '../handlers/define-action'
import type { ActionHandler, HandlerFactory } from '../handlers/types'

/** The shipped actions file, relative to the project root. */
export const ACTIONS_FILE = path.resolve(__dirname, '..', '..', '..', 'topology', 'actions.yaml')

const DURATION = '^([0-9]+(ms|s|m|h|d|w))+$'
const PATTERN_MEANS = { [DURATION]: 'a duration like 30s, 5m or 1h30m' }

const SETTINGS_PROPERTIES = {
  timeout: { type: 'string', pattern: DURATION },
  maxAttempts: { type: 'integer', minimum: 1, maximum: 20 },
  backoff: {
    type: 'object',
    additionalProperties: false,
    properties: { initial: { type: 'string', pattern: DURATION }, max: { type: 'string', pattern: DURATION } },
  },
  concurrency: { type: 'integer', minimum: 1, maximum: 1000 },
  perServiceConcurrency: { type: 'integer', minimum: 1, maximum: 1000 },
  circuit: {
    type: 'object',
    additionalProperties: false,
    properties: { failures: { type: 'integer', minimum: 1 }, coolDown: { type: 'string', pattern: DURATION } },
  },
  escalateTo: { type: ['string', 'null'], minLength: 1 },
  dryRun: { type: 'boolean' },
  onResolved: { enum: ['cancel', 'run'] },
  gate: {
    type: ['object', 'null'],
    additionalProperties: false,
    properties: {
      minBudgetRemaining: { type: 'number', minimum: 0, maximum: 1 },
      maxBurnRate: { type: 'number', exclusiveMinimum: 0 },
      burnWindow: { enum: ['5m', '30m', '1h', '6h', '1d', '3d'] },
    },
  },
  wait: { type: ['string', 'null'], pattern: DURATION },
  approval: {
    type: ['object', 'null'],
    additionalProperties: false,
    required: ['timeout'],
    properties: { timeout: { type: 'string', pattern: DURATION }, onTimeout: { enum: ['page', 'skip', 'run'] } },
  },
} as const

/** The JSON schema of an actions file (after YAML parsing). */
export const ACTIONS_FILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    dryRun: { type: 'boolean' },
    artifactsDir: { type: 'string', minLength: 1 },
    notEffectiveWindow: { type: 'string', pattern: DURATION },
    customActionsDir: { type: 'string', minLength: 1 },
    defaults: { type: 'object', additionalProperties: false, properties: SETTINGS_PROPERTIES },
    actions: {
      type: 'object',
      propertyNames: { pattern: '^[a-z0-9][a-z0-9-]*$' },
      additionalProperties: {
        type: ['object', 'null'],
        additionalProperties: false,
        properties: { ...SETTINGS_PROPERTIES, escalation: { type: 'boolean' }, config: {} },
      },
    },
  },
} as const

type RawSettings = {
  timeout?: string
  maxAttempts?: number
  backoff?: { initial?: string; max?: string }
  concurrency?: number
  perServiceConcurrency?: number
  circuit?: { failures?: number; coolDown?: string }
  escalateTo?: string | null
  dryRun?: boolean
  onResolved?: OnResolved
  gate?: GateSettings | null
  wait?: string | null
  approval?: { timeout: string; onTimeout?: ApprovalTimeout } | null
}
interface RawFile {
  dryRun?: boolean
  artifactsDir?: string
  notEffectiveWindow?: string
  customActionsDir?: string
  defaults?: RawSettings
  actions?: Record<string, (RawSettings & { escalation?: boolean; config?: unknown }) | null>
}

const FORMAT = yamlFormat<RawFile>(ACTIONS_FILE_SCHEMA, { emptyMeans: 'the key actions', patternMeans: PATTERN_MEANS })

/** How the worker runs one action. */
export interface ActionSettings {
  readonly timeoutMs: number
  readonly maxAttempts: number
  readonly backoff: { readonly initialMs: number; readonly maxMs: number }
  /** Requests of this action running at once in one worker process. */
  readonly concurrency: number
  /** Requests of this action against one service running at once in one worker process. */
  readonly perServiceConcurrency: number
  readonly circuit: CircuitSettings
  readonly escalateTo: string | null
  readonly dryRun: boolean
  readonly onResolved: OnResolved
  /** Budget gate on the SLO of the request's service (catalog `slo`); null: none. */
  readonly gate: GateSettings | null
  /** Wait and approval before a request runs, unless its route sets its own (null: none). */
  readonly hold: Readonly<HoldRecord> | null
}

export interface ActionConfig {
  readonly name: string
  readonly settings: ActionSettings
  /**
   * The action brings a human in (see {@link isEscalation}): team and service pauses do not
   * stop it unless they name it, and automation rate limits do not hold it back.
   */
  readonly escalation: boolean
  readonly handler: ActionHandler
}

/** Actions that are escalations unless actions.yaml says `escalation: false`. */
export const ESCALATION_BY_DEFAULT: ReadonlySet<string> = new Set(['page'])

/**
 * True when the action brings a human in rather than acting on a system: its
 * `escalation` as written in actions.yaml (`/actions/<name>/escalation`), else true for
 * the built-in `page` ({@link ESCALATION_BY_DEFAULT}). Takes a parsed {@link ActionConfig}
 * (whose `escalation` is already resolved) or a raw entry of the file
 * (`{ name, escalation: entry?.escalation }`). Pure.
 */
export function isEscalation(definition: { readonly name: string; readonly escalation?: boolean | null }): boolean {
  return definition.escalation ?? ESCALATION_BY_DEFAULT.has(definition.name)
}

/** The names of the escalation actions of a parsed actions file. */
export function escalationActions(config: Pick<ActionsConfig, 'actions'>): Set<string> {
  return new Set([...config.actions.values()].filter(isEscalation).map((a) => a.name))
}

/** The validated, frozen contents of an actions file. */
export interface ActionsConfig {
  readonly file: string
  readonly dryRun: boolean
  /** Absolute folder where handlers store artifacts. */
  readonly artifactsDir: string
  readonly notEffectiveWindowMs: number
  readonly actions: ReadonlyMap<string, ActionConfig>
}

export const DEFAULT_SETTINGS: ActionSettings = Object.freeze({
  timeoutMs: 30_000,
  maxAttempts: 3,
  backoff: Object.freeze({ initialMs: 1000, maxMs: 30_000 }),
  concurrency: 4,
  perServiceConcurrency: 1,
  circuit: Object.freeze({ failureThreshold: 5, coolDownMs: 10 * 60_000 }),
  escalateTo: 'page',
  dryRun: false,
  onResolved: 'cancel' as OnResolved,
  gate: null,
  hold: null,
})

export interface ParseActionsOptions {
  /** Action names with a topic (topics.yaml /actions/names). */
  actionTopics: readonly string[]
  builtins: Readonly<Record<string, HandlerFactory>>
  /** Loads the custom actions of a folder (absolute path); default {@link loadCustomActions}. */
  loadCustom?: (dir: string) => Map<string, ActionHandler>
  /** Base of a relative artifactsDir (default: the working directory). */
  cwd?: string
}

/** Parses and validates an actions file; throws one ConfigError listing every problem. */
export function parseActionsFile(text: string, file: string, options: ParseActionsOptions): ActionsConfig {
  const name = displayName(file)
  const raw = FORMAT.parse(text, file)
  const problems: string[] = []
  const duration = (value: string | undefined, at: string, fallback: number): number => {
    if (value === undefined) return fallback
    try {
      return parseDuration(value, at)
    } catch (err) {
      problems.push(describeError(err))
      return fallback
    }
  }
  const settingsOf = (r: RawSettings, base: ActionSettings, at: string): ActionSettings =>
    Object.freeze({
      timeoutMs: duration(r.timeout, `${at}/timeout`, base.timeoutMs),
      maxAttempts: r.maxAttempts ?? base.maxAttempts,
      backoff: Object.freeze({
        initialMs: duration(r.backoff?.initial, `${at}/backoff/initial`, base.backoff.initialMs),
        maxMs: duration(r.backoff?.max, `${at}/backoff/max`, base.backoff.maxMs),
      }),
      concurrency: r.concurrency ?? base.concurrency,
      perServiceConcurrency: r.perServiceConcurrency ?? base.perServiceConcurrency,
      circuit: Object.freeze({
        failureThreshold: r.circuit?.failures ?? base.circuit.failureThreshold,
        coolDownMs: duration(r.circuit?.coolDown, `${at}/circuit/coolDown`, base.circuit.coolDownMs),
      }),
      escalateTo: r.escalateTo === undefined ? base.escalateTo : r.escalateTo,
      dryRun: r.dryRun ?? base.dryRun,
      onResolved: r.onResolved ?? base.onResolved,
      gate: r.gate === undefined ? base.gate : r.gate === null ? null : Object.freeze({ ...r.gate }),
      hold: holdOf(r, base.hold, at),
    })
  // `wait` and `approval` each inherit from the defaults unless set (null: none).
  const holdOf = (r: RawSettings, base: Readonly<HoldRecord> | null, at: string): Readonly<HoldRecord> | null => {
    if (r.wait === undefined && r.approval === undefined) return base
    const waitMs = r.wait === undefined ? (base?.waitMs ?? 0) : r.wait === null ? 0 : duration(r.wait, `${at}/wait`, 0)
    const approval =
      r.approval === undefined
        ? (base?.approval ?? null)
        : r.approval === null
          ? null
          : Object.freeze({
              timeoutMs: duration(r.approval.timeout, `${at}/approval/timeout`, 0),
              onTimeout: r.approval.onTimeout ?? 'page',
            })
    return waitMs === 0 && approval === null ? null : Object.freeze({ waitMs, approval })
  }

  const defaults = settingsOf(raw.defaults ?? {}, DEFAULT_SETTINGS, '/defaults')
  let custom = new Map<string, ActionHandler>()
  if (raw.customActionsDir !== undefined) {
    const dir = path.resolve(path.dirname(file), raw.customActionsDir)
    try {
      custom = (options.loadCustom ?? loadCustomActions)(dir)
    } catch (err) {
      problems.push(`/customActionsDir: ${describeError(err)}`)
    }
  }
  const topics = new Set(options.actionTopics)
  const actions = new Map<string, ActionConfig>()
  for (const [action, entry] of Object.entries(raw.actions ?? {})) {
    const at = `/actions/${action}`
    const settings = settingsOf(entry ?? {}, defaults, at)
    if (!topics.has(action))
      problems.push(`${at}: no topic actions.${action} in topology/topics.yaml (/actions/names); add it there first`)
    let handler: ActionHandler | undefined = custom.get(action)
    const factory = Object.hasOwn(options.builtins, action) ? options.builtins[action] : undefined
    if (handler && entry?.config !== undefined)
      problems.push(`${at}/config: custom action ${action} takes no config here; it reads its own settings`)
    if (!handler && factory) {
      try {
        handler = factory(entry?.config)
      } catch (err) {
        problems.push(`${at}/config: ${describeError(err)}`)
        continue
      }
    }
    if (!handler) {
      problems.push(
        `${at}: no such action; built in: ${Object.keys(options.builtins).join(', ')}${custom.size > 0 ? `; custom: ${[...custom.keys()].join(', ')}` : ''}`,
      )
      continue
    }
    const escalation = isEscalation({ name: action, escalation: entry?.escalation ?? null })
    actions.set(action, Object.freeze({ name: action, settings, escalation, handler }))
  }
  for (const [action, config] of actions) {
    const target = config.settings.escalateTo
    if (target !== null && target !== action && !actions.has(target)) {
      problems.push(`/actions/${action}/escalateTo: ${target} is not an action of this file`)
    }
  }
  const notEffectiveWindowMs = duration(raw.notEffectiveWindow, '/notEffectiveWindow', 30 * 60_000)
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `${name}: ${p}`).join('\n'))
  return Object.freeze({
    file: name,
    dryRun: raw.dryRun ?? false,
    artifactsDir: path.resolve(options.cwd ?? process.cwd(), raw.artifactsDir ?? path.join('.nightshift', 'artifacts')),
    notEffectiveWindowMs,
    actions,
  })
}

/**
 * Loads every `.ts`/`.js` module of `dir` (not its subfolders, not `.d.ts` or `.test.` files)
 * and takes its default export, which must come from `defineAction` (handlers/define-action.ts).
 */
export function loadCustomActions(dir: string): Map<string, ActionHandler> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new ConfigError(`${dir} is not a folder`)
  const found = new Map<string, ActionHandler>()
  const files = fs
    .readdirSync(dir)
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts') && !f.includes('.test.'))
    .sort()
  for (const file of files) {
    const full = path.join(dir, file)
    let loaded: unknown
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded = require(full) as unknown
    } catch (err) {
      throw new ConfigError(`${file} could not be loaded: ${describeError(err)}`, { cause: err })
    }
    const exported = (loaded as { default?: unknown } | null)?.default
    if (!isCustomAction(exported)) {
      throw new ConfigError(`${file} must export default defineAction({ name, run })`)
    }
    const handler = exported
    if (found.has(handler.name)) throw new ConfigError(`${file} defines action ${handler.name} a second time`)
    found.set(handler.name, handler)
  }
  return found
}
