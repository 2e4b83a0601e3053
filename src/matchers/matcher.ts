/**
 * Alertmanager's label matchers (pkg/labels/matcher.go): `=`, `!=`, `=~`, `!~`. A regex
 * is anchored as `^(?:value)$` and compiled once, when the matcher is made; a label the
 * alert does not have matches as the empty string.
 */
import { ConfigError } from '../errors'
import { RegexSyntaxError, translateRe2 } from './regex'

export type MatchType = '=' | '!=' | '=~' | '!~'

/** The four types, in the order the parser tries them (`=~` before `=`). */
export const MATCH_TYPES: readonly MatchType[] = ['=~', '=', '!=', '!~']

/** A label name as Prometheus and Alertmanager's classic matcher syntax allow it. */
export const LABEL_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/

/** One matcher; immutable. */
export interface Matcher {
  readonly name: string
  readonly type: MatchType
  readonly value: string
  /** Whether a label's value (`''` when the label is absent) satisfies the matcher. */
  matches(labelValue: string): boolean
  /** Alertmanager's text form, `name="value"` with `\\`, `\n`, `\"` escaped; parses back to an equal matcher. */
  toString(): string
}

/** Escapes a value for the quoted text form (Alertmanager's openMetricsEscape). */
export function quoteValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`
}

/** A matcher that cannot be made; `reason` is the why without the matcher's text. */
export class InvalidMatcherError extends ConfigError {
  readonly reason: string
  constructor(text: string, reason: string, cause?: unknown) {
    super(`matcher ${text}: ${reason}`, { cause })
    this.reason = reason
  }
}

function compile(name: string, type: MatchType, value: string): RegExp {
  try {
    const { source, flags } = translateRe2(value)
    return new RegExp(`^(?:${source})$`, flags)
  } catch (cause) {
    const why =
      cause instanceof Error
        ? cause.message.replace(/^Invalid regular expression: (\/.*\/[a-z]*: )?/s, '')
        : String(cause)
    throw new InvalidMatcherError(
      `${name}${type}${quoteValue(value)}`,
      `invalid regular expression: ${why}`,
      cause instanceof RegexSyntaxError ? undefined : cause,
    )
  }
}

/**
 * Makes a matcher. The label name must be a valid label name (Alertmanager's parser
 * enforces it; here the constructor does too, so no route can hold a matcher that could
 * never see its label).
 * @throws ConfigError for an unknown type, a bad label name or an invalid regex (RE2 syntax).
 */
export function newMatcher(type: MatchType, name: string, value: string): Matcher {
  if (!MATCH_TYPES.includes(type))
    throw new InvalidMatcherError(name, `unknown match type "${String(type)}"; expected one of =, !=, =~, !~`)
  if (!LABEL_NAME.test(name)) {
    throw new InvalidMatcherError(
      `${name}${type}${quoteValue(value)}`,
      `"${name}" is not a valid label name (expected [a-zA-Z_:][a-zA-Z0-9_:]*)`,
    )
  }
  let test: (s: string) => boolean
  switch (type) {
    case '=':
      test = (s) => s === value
      break
    case '!=':
      test = (s) => s !== value
      break
    case '=~': {
      const re = compile(name, type, value)
      test = (s) => re.test(s)
      break
    }
    case '!~': {
      const re = compile(name, type, value)
      test = (s) => !re.test(s)
      break
    }
  }
  const text = `${name}${type}${quoteValue(value)}`
  return Object.freeze({ name, type, value, matches: test, toString: () => text })
}

/**
 * Whether every matcher matches `labels`; a missing label is the empty string, as in
 * Alertmanager (so `foo=""` matches an alert without `foo`, and `foo!=""` requires it).
 * Only own properties count: `constructor` or `__proto__` never come from the prototype.
 */
export function matchesAll(matchers: readonly Matcher[], labels: Readonly<Record<string, string>>): boolean {
  for (const m of matchers) {
    const value = Object.hasOwn(labels, m.name) ? labels[m.name] : undefined
    if (!m.matches(typeof value === 'string' ? value : '')) return false
  }
  return true
}
