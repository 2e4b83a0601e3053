/**
 * `topology/slos.yaml`: the SLO definitions (OpenSLO-inspired) whose error budgets the
 * slo stage charges. Each SLO selects, by Alertmanager label matchers, the alerts that
 * mean "this SLO is broken"; the time they fire is bad time. Validated once at load
 * (unknown keys rejected, bad matchers, durations and duplicate names reported with
 * their path, every problem at once), then frozen, so the stage never re-checks it.
 */
import path from 'node:path'
import { parseDuration } from '../config/duration'
import { displayName, readConfigFile, yamlFormat } from '../config/yaml-file'
import { ConfigError, describeError } from '../errors'
import { matchesAll, parseMatchers, type Matcher } from '../matchers'
import type { SloMath } from './budget'

/** The shipped SLO file, relative to the project root. */
export const SLOS_FILE = path.resolve(__dirname, '..', '..', 'topology', 'slos.yaml')

/** Rolling: the last `lengthMs` before now. Calendar: the current month, from 00:00 UTC on the 1st. */
export type SloWindow =
  { readonly kind: 'rolling'; readonly lengthMs: number } | { readonly kind: 'calendar'; readonly unit: 'month' }

/**
 * Timeslices: time is cut into slices of `sliceMs`, and a slice with any bad time is bad
 * as a whole. Occurrences: every millisecond is an occurrence; the bad time counts exactly.
 * (The same shape as budget.ts's, which does the arithmetic.)
 */
export type Budgeting = 'timeslices' | 'occurrences'

/** One validated, frozen SLO. */
export interface SloDefinition {
  /** Unique; letters, digits, `.`, `_`, `-`: safe as a Kafka key and a metric label. */
  readonly name: string
  /** The catalog service (topology/catalog.yaml) the SLO belongs to. */
  readonly service: string
  readonly team: string
  /** The good fraction promised, strictly between 0 and 1: 0.999 = 99.9%. */
  readonly objective: number
  readonly window: SloWindow
  readonly budgeting: Budgeting
  /**
   * The slice length of Timeslices budgeting; 0 for Occurrences, which has none (the
   * budget arithmetic counts a slice ≤ 0 exactly, as Occurrences does).
   */
  readonly sliceMs: number
  /** All must match an alert's labels for its firing time to be bad time of this SLO. */
  readonly matchers: readonly Matcher[]
  readonly description?: string
}

/** The validated, frozen contents of an SLO file. */
export interface SlosConfig {
  /** The file as named in error messages. */
  readonly file: string
  /** In file order. */
  readonly slos: readonly SloDefinition[]
  readonly byName: ReadonlyMap<string, SloDefinition>
}

/** The window when none is given: 30 days, rolling. */
export const DEFAULT_WINDOW_MS = 30 * 86_400_000
/** The slice of Timeslices budgeting when none is given: one minute. */
export const DEFAULT_SLICE_MS = 60_000
/** No slice shorter than a second: alert times are not more precise than that. */
export const MIN_SLICE_MS = 1_000
// A slice must fit in every calendar month, February included.
const SHORTEST_MONTH_MS = 28 * 86_400_000

const SLO_NAME = '^[A-Za-z0-9][A-Za-z0-9._-]*$'
// The catalog's own name pattern: service and team refer to catalog entries.
const CATALOG_NAME = '^[a-z0-9][a-z0-9._-]*$'
const DURATION = /^([0-9]+(ms|s|m|h|d|w))+$/

const PATTERN_MEANS: Record<string, string> = {
  [SLO_NAME]: 'an SLO name: letters, digits, ".", "_" and "-", starting with a letter or digit',
  [CATALOG_NAME]: 'a catalog name of lower-case letters, digits, ".", "_" and "-", starting with a letter or digit',
}

/** The JSON schema of an SLO file (after YAML parsing). */
export const SLOS_FILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['slos'],
  properties: {
    slos: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'service', 'team', 'objective', 'indicator'],
        properties: {
          name: { type: 'string', pattern: SLO_NAME },
          service: { type: 'string', pattern: CATALOG_NAME },
          team: { type: 'string', pattern: CATALOG_NAME },
          // Range, windows, slices and the budgeting method are checked in code, to say
          // what was meant (a percentage, a missing unit, the exact spellings).
          objective: { type: 'number' },
          window: { type: ['string', 'number'] },
          budgeting: { type: 'string' },
          slice: { type: ['string', 'number'] },
          indicator: {
            type: 'object',
            additionalProperties: false,
            required: ['matchers'],
            properties: { matchers: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } } },
          },
          description: { type: 'string' },
        },
      },
    },
  },
} as const

interface RawSlo {
  name: string
  service: string
  team: string
  objective: number
  window?: string | number
  budgeting?: string
  slice?: string | number
  indicator: { matchers: string[] }
  description?: string
}

const FORMAT = yamlFormat<{ slos: RawSlo[] }>(SLOS_FILE_SCHEMA, {
  emptyMeans: 'the key slos',
  patternMeans: PATTERN_MEANS,
})

const BUDGETING: Readonly<Record<string, Budgeting>> = { Timeslices: 'timeslices', Occurrences: 'occurrences' }

/** Parses a duration setting; `expected` says what it may be. Problems are pushed, not thrown. */
function parseLength(raw: string | number, at: string, expected: string, problems: string[]): number | null {
  if (typeof raw === 'number') {
    problems.push(`${at} must be ${expected}, got ${raw} (a length needs its unit, e.g. ${raw}d or ${raw}m)`)
    return null
  }
  if (!DURATION.test(raw)) {
    problems.push(`${at} must be ${expected}, got "${raw}"`)
    return null
  }
  try {
    return parseDuration(raw, at)
  } catch (err) {
    problems.push(describeError(err))
    return null
  }
}

function parseObjective(raw: number, at: string, problems: string[]): void {
  if (raw > 0 && raw < 1) return
  // 99.9 is a percentage meant as 0.999; toPrecision drops float noise (0.9990000000000001).
  const hint = raw > 1 && raw < 100 ? ` (write ${Number((raw / 100).toPrecision(12))} for ${raw}%)` : ''
  problems.push(`${at} must be a fraction strictly between 0 and 1 (0.999 promises 99.9% good time), got ${raw}${hint}`)
}

function parseWindow(raw: string | number | undefined, at: string, problems: string[]): SloWindow | null {
  if (raw === undefined) return Object.freeze({ kind: 'rolling', lengthMs: DEFAULT_WINDOW_MS })
  if (raw === 'month') return Object.freeze({ kind: 'calendar', unit: 'month' })
  const lengthMs = parseLength(
    raw,
    at,
    'a rolling duration like 30d or 4w, or the word month (a calendar month, UTC)',
    problems,
  )
  return lengthMs === null ? null : Object.freeze({ kind: 'rolling', lengthMs })
}

/** The slice of Timeslices budgeting, 0 for Occurrences; problems are pushed, not thrown. */
function parseSlice(
  raw: RawSlo,
  budgeting: Budgeting | null,
  window: SloWindow | null,
  at: string,
  problems: string[],
): number {
  if (budgeting === 'occurrences') {
    if (raw.slice !== undefined)
      problems.push(`${at}/slice applies to Timeslices budgeting only; remove it, or set budgeting: Timeslices`)
    return 0
  }
  if (raw.slice === undefined) return DEFAULT_SLICE_MS
  const sliceMs = parseLength(raw.slice, `${at}/slice`, 'a duration like 1m or 30s', problems)
  if (sliceMs === null) return DEFAULT_SLICE_MS // a placeholder: the problem fails the file
  if (sliceMs < MIN_SLICE_MS) problems.push(`${at}/slice must be at least 1s, got "${String(raw.slice)}"`)
  else if (window?.kind === 'rolling' && sliceMs >= window.lengthMs)
    problems.push(
      `${at}/slice must be shorter than the window (${String(raw.window ?? '30d')}), got "${String(raw.slice)}"`,
    )
  else if (window?.kind === 'calendar' && sliceMs >= SHORTEST_MONTH_MS)
    problems.push(`${at}/slice must be shorter than the shortest month (28d), got "${String(raw.slice)}"`)
  return sliceMs
}

function parseIndicator(raw: string[], at: string, problems: string[]): Matcher[] {
  let unparsed = 0
  const matchers = raw.flatMap((m, j) => {
    try {
      return parseMatchers(m)
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      unparsed += 1
      problems.push(`${at}/${j} must be a label matcher like slo="checkout-availability": ${describeError(err)}`)
      return []
    }
  })
  // `{}` parses to no matchers: an indicator selecting nothing would match every alert.
  if (matchers.length === 0 && unparsed === 0)
    problems.push(`${at} must hold at least one matcher, or every alert would break the SLO`)
  return matchers
}

/**
 * Validates the text of an SLO file; `file` names it in messages.
 * @throws ConfigError listing every problem, one per line: `<file>: <JSON path> <expected>`.
 */
export function parseSlos(text: string, file: string): SlosConfig {
  const data = FORMAT.parse(text, file)
  const problems: string[] = []
  const firstAt = new Map<string, number>()
  const slos = data.slos.map((raw, i): SloDefinition => {
    const at = `/slos/${i}`
    const seen = firstAt.get(raw.name)
    if (seen === undefined) firstAt.set(raw.name, i)
    else problems.push(`${at}/name "${raw.name}" is already the name of /slos/${seen}; SLO names must be unique`)
    parseObjective(raw.objective, `${at}/objective`, problems)
    const window = parseWindow(raw.window, `${at}/window`, problems)
    let budgeting: Budgeting | null = 'timeslices'
    if (raw.budgeting !== undefined) {
      budgeting = Object.hasOwn(BUDGETING, raw.budgeting) ? BUDGETING[raw.budgeting]! : null
      if (budgeting === null)
        problems.push(`${at}/budgeting must be Timeslices or Occurrences (OpenSLO's spelling), got "${raw.budgeting}"`)
    }
    const sliceMs = parseSlice(raw, budgeting, window, at, problems)
    const matchers = parseIndicator(raw.indicator.matchers, `${at}/indicator/matchers`, problems)
    // Placeholders stand in for what failed: the result is thrown away with the problems.
    const slo: SloDefinition = {
      name: raw.name,
      service: raw.service,
      team: raw.team,
      objective: raw.objective,
      window: window ?? { kind: 'rolling', lengthMs: DEFAULT_WINDOW_MS },
      budgeting: budgeting ?? 'timeslices',
      sliceMs,
      matchers: Object.freeze(matchers),
      ...(raw.description === undefined ? {} : { description: raw.description }),
    }
    return Object.freeze(slo)
  })
  const name = displayName(file)
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `${name}: ${p}`).join('\n'))
  return Object.freeze({
    file: name,
    slos: Object.freeze(slos),
    byName: new Map(slos.map((s) => [s.name, s] as const)),
  })
}

/**
 * Loads and validates an SLO file (default: the shipped `topology/slos.yaml`).
 * @throws ConfigError naming the file when it cannot be read or does not validate.
 */
export function loadSlosFile(file: string = SLOS_FILE): SlosConfig {
  return parseSlos(readConfigFile(file, 'SLO file'), file)
}

/**
 * The SLOs an alert breaks: those whose indicator matchers all match its labels (a
 * missing label is the empty string, as in Alertmanager), in file order.
 */
export function slosFor(config: SlosConfig, labels: Readonly<Record<string, string>>): SloDefinition[] {
  return config.slos.filter((slo) => matchesAll(slo.matchers, labels))
}

/** The budget arithmetic's view of an SLO definition (budget.ts takes no more than this). */
export function sloMath(slo: SloDefinition): SloMath {
  return { objective: slo.objective, window: slo.window, budgeting: slo.budgeting, sliceMs: slo.sliceMs }
}
