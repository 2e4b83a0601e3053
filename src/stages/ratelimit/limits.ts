/**
 * `topology/limits.yaml`: the token buckets of the rate-limit stage. Validated once at
 * load (unknown keys rejected, every problem listed as `<file>: <JSON path> <expected>`),
 * then frozen, so the stage never re-checks it.
 */
import path from 'node:path'
import { parseDuration } from '../../config/duration'
import { displayName, readConfigFile, yamlFormat } from '../../config/yaml-file'
import { ConfigError, describeError } from '../../errors'

/** The shipped limits file, relative to the project root. */
export const LIMITS_FILE = path.resolve(__dirname, '..', '..', '..', 'topology', 'limits.yaml')

/** The nested levels, most specific first: the order a throttle names its limit in. */
export const LEVELS = ['alert', 'service', 'team', 'global'] as const
export type Level = (typeof LEVELS)[number]

/** `tokens` tokens every `periodMs` milliseconds (kept as a ratio so 1/10s refills exactly 1 token in 10 s). */
export interface Rate {
  readonly tokens: number
  readonly periodMs: number
}

/** One token bucket's settings. */
export interface Limit {
  readonly rate: Rate
  /** Bucket size: records admitted back to back after a quiet time. */
  readonly burst: number
  /** The rate as written (`10/1m`), for decisions and logs. */
  readonly text: string
}

/** One field of the alert-level key template. */
export type KeyPart =
  { readonly literal: string } | { readonly field: 'team' | 'service' | 'alertname' } | { readonly label: string }

/** Per-level settings of an override: absent = inherit, null = unlimited at that level. */
export interface LevelOverrides {
  readonly alert?: Limit | null
  readonly service?: Limit | null
  readonly team?: Limit | null
}

/** The validated, frozen contents of a limits file. */
export interface LimitsConfig {
  /** The file as named in error messages. */
  readonly file: string
  /** The alert-level bucket key, e.g. `{team}/{service}/{alertname}`. */
  readonly key: readonly KeyPart[]
  /** The limit of each level unless overridden; null = no limit at that level. */
  readonly defaults: { readonly [L in Level]: Limit | null }
  /** Overrides by team name (alert, service, team levels). */
  readonly teams: ReadonlyMap<string, LevelOverrides>
  /** Overrides by catalog service name (alert, service levels); they win over a team's. */
  readonly services: ReadonlyMap<string, LevelOverrides>
  /**
   * The limits of escalations (page, and actions marked `escalation: true`) of alerts the
   * levels above held back: per alert key and per team; null = no limit at that level.
   */
  readonly escalation: { readonly [L in EscalationLevel]: Limit | null }
}

/** The levels of the escalation limits, most specific first. */
export const ESCALATION_LEVELS = ['alert', 'team'] as const
export type EscalationLevel = (typeof ESCALATION_LEVELS)[number]

export const DEFAULT_KEY = '{team}/{service}/{alertname}'

const RATE = '^[0-9]+(\\.[0-9]+)?/([0-9]+(ms|s|m|h|d|w))+$'
const UNLIMITED = '^unlimited$'
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

const PATTERN_MEANS: Record<string, string> = {
  [RATE]: 'a rate like 10/1m: tokens per duration (units ms, s, m, h, d, w)',
  [UNLIMITED]: 'the word unlimited or a mapping with rate and burst',
}

// A level is a `{ rate, burst }` mapping, or the string `unlimited` (pattern applies to
// strings only, required/properties to objects only).
const LIMIT = {
  type: ['object', 'string'],
  pattern: UNLIMITED,
  additionalProperties: false,
  required: ['rate', 'burst'],
  properties: {
    // A bare number is let through to be told what a rate looks like (not "quote it").
    rate: { type: ['string', 'number'], pattern: RATE },
    burst: { type: 'integer', minimum: 1 },
  },
} as const

/** The JSON schema of a limits file (after YAML parsing). */
export const LIMITS_FILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['defaults'],
  properties: {
    key: { type: 'string', minLength: 1 },
    defaults: {
      type: 'object',
      additionalProperties: false,
      properties: { alert: LIMIT, service: LIMIT, team: LIMIT, global: LIMIT },
    },
    teams: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: { alert: LIMIT, service: LIMIT, team: LIMIT },
      },
    },
    services: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: { alert: LIMIT, service: LIMIT },
      },
    },
    escalation: {
      type: 'object',
      additionalProperties: false,
      properties: { alert: LIMIT, team: LIMIT },
    },
  },
} as const

type RawLimit = 'unlimited' | { rate: string | number; burst: number }
type RawLevels = Partial<Record<Level, RawLimit>>
interface RawFile {
  key?: string
  defaults: RawLevels
  teams?: Record<string, RawLevels>
  services?: Record<string, RawLevels>
  escalation?: Partial<Record<EscalationLevel, RawLimit>>
}

const FORMAT = yamlFormat<RawFile>(LIMITS_FILE_SCHEMA, { emptyMeans: 'the key defaults', patternMeans: PATTERN_MEANS })

/** Parses `10/1m` (already matched by the schema's pattern); problems are pushed, not thrown. */
function parseLimit(raw: RawLimit, at: string, problems: string[]): Limit | null {
  if (raw === 'unlimited') return null
  if (typeof raw.rate === 'number') {
    problems.push(
      `${at}/rate must be ${PATTERN_MEANS[RATE]}, got ${raw.rate} (a count needs its period, e.g. ${raw.rate}/1m)`,
    )
    return null
  }
  const slash = raw.rate.indexOf('/')
  const tokens = Number(raw.rate.slice(0, slash))
  if (!(tokens > 0)) {
    problems.push(
      `${at}/rate must refill at least some tokens, got "${raw.rate}" (leave the level out or write unlimited for no limit)`,
    )
    return null
  }
  let periodMs: number
  try {
    periodMs = parseDuration(raw.rate.slice(slash + 1), `${at}/rate's period`)
  } catch (err) {
    problems.push(describeError(err))
    return null
  }
  return Object.freeze({ rate: Object.freeze({ tokens, periodMs }), burst: raw.burst, text: raw.rate })
}

/** Parses a key template: literal text and `{team}`, `{service}`, `{alertname}`, `{labels.<name>}`. */
function parseKey(template: string, at: string, problems: string[]): KeyPart[] {
  const parts: KeyPart[] = []
  const expected = 'expected {team}, {service}, {alertname} or {labels.<label name>}'
  let rest = template
  while (rest.length > 0) {
    const open = rest.indexOf('{')
    const close = rest.indexOf('}')
    if (close !== -1 && (open === -1 || close < open)) {
      problems.push(`${at} has a "}" without its "{" in "${template}"; ${expected}`)
      return parts
    }
    if (open === -1) {
      parts.push({ literal: rest })
      break
    }
    if (open > 0) parts.push({ literal: rest.slice(0, open) })
    if (close === -1) {
      problems.push(`${at} has an unclosed "{" in "${template}"; ${expected}`)
      return parts
    }
    const field = rest.slice(open + 1, close)
    if (field === 'team' || field === 'service' || field === 'alertname') parts.push({ field })
    else if (field.startsWith('labels.') && LABEL_NAME.test(field.slice('labels.'.length)))
      parts.push({ label: field.slice('labels.'.length) })
    else problems.push(`${at} has an unknown field {${field}}; ${expected}`)
    rest = rest.slice(close + 1)
  }
  return parts
}

function parseLevels(raw: RawLevels, at: string, problems: string[]): LevelOverrides {
  const out: { -readonly [L in keyof LevelOverrides]: Limit | null } = {}
  for (const level of ['alert', 'service', 'team'] as const) {
    const declared = raw[level]
    if (declared !== undefined) out[level] = parseLimit(declared, `${at}/${level}`, problems)
  }
  return Object.freeze(out)
}

/**
 * Validates the text of a limits file; `file` names it in messages.
 * @throws ConfigError listing every problem, one per line: `<file>: <JSON path> <expected>`.
 */
export function parseLimits(text: string, file: string): LimitsConfig {
  const data = FORMAT.parse(text, file)
  const problems: string[] = []
  const key = parseKey(data.key ?? DEFAULT_KEY, '/key', problems)
  const level = (l: Level): Limit | null => {
    const declared = data.defaults[l]
    return declared === undefined ? null : parseLimit(declared, `/defaults/${l}`, problems)
  }
  const defaults = Object.freeze({
    alert: level('alert'),
    service: level('service'),
    team: level('team'),
    global: level('global'),
  })
  // Maps, not objects: a team named "constructor" must not find Object.prototype's.
  const teams = new Map(
    Object.entries(data.teams ?? {}).map(
      ([name, raw]) => [name, parseLevels(raw, `/teams/${name}`, problems)] as const,
    ),
  )
  const services = new Map(
    Object.entries(data.services ?? {}).map(
      ([name, raw]) => [name, parseLevels(raw, `/services/${name}`, problems)] as const,
    ),
  )
  const escalationLevel = (l: EscalationLevel): Limit | null => {
    const declared = data.escalation?.[l]
    return declared === undefined ? null : parseLimit(declared, `/escalation/${l}`, problems)
  }
  const escalation = Object.freeze({ alert: escalationLevel('alert'), team: escalationLevel('team') })
  if (problems.length > 0) {
    const name = displayName(file)
    throw new ConfigError(problems.map((p) => `${name}: ${p}`).join('\n'))
  }
  return Object.freeze({ file: displayName(file), key: Object.freeze(key), defaults, teams, services, escalation })
}

/**
 * Loads and validates a limits file (default: the shipped `topology/limits.yaml`).
 * @throws ConfigError naming the file when it cannot be read or does not validate.
 */
export function loadLimits(file: string = LIMITS_FILE): LimitsConfig {
  return parseLimits(readConfigFile(file, 'limits file'), file)
}
