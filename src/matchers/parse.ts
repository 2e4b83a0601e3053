/**
 * Alertmanager's classic matcher syntax (pkg/labels/parse.go), as amtool and the
 * `matchers:` of alertmanager.yml accept it:
 * - one matcher: `name<op>value`, spaces allowed around the operator; the value is
 *   quoted (`"…"`, with `\"`, `\\` and `\n` escapes; any other `\x` stays literally
 *   `\x`) or unquoted (the same escapes, no bare `"`); trailing spaces are trimmed;
 * - a set: `{a="b", c!~"d"}` or the same without braces; commas inside quotes belong to
 *   the value; an empty set (`{}`) is no matchers; a trailing comma is allowed.
 */
import { ConfigError } from '../errors'
import { InvalidMatcherError, newMatcher, type Matcher, type MatchType } from './matcher'

// Go's \s is [\t\n\f\r ]; the value may span lines ((?s) in Alertmanager's regex).
const MATCHER = /^[\t\n\f\r ]*([a-zA-Z_:][a-zA-Z0-9_:]*)[\t\n\f\r ]*(=~|=|!=|!~)[\t\n\f\r ]*([\s\S]*?)[\t\n\f\r ]*$/
// A lone surrogate: what a JS string holds where Go would see invalid UTF-8.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u

function bad(text: string, why: string): ConfigError {
  return new ConfigError(`bad matcher ${JSON.stringify(text)}: ${why}`)
}

/**
 * Parses one matcher, e.g. `severity="critical"`, `service=~"checkout|payments"`,
 * `env!=prod`.
 * @throws ConfigError naming the text and why: no operator or bad label name, an
 * unescaped or missing double quote, invalid UTF-8, an invalid regex.
 */
export function parseMatcher(text: string): Matcher {
  const m = MATCHER.exec(text)
  if (!m) {
    throw bad(
      text,
      'expected <label name><operator><value> with operator =, !=, =~ or !~ and a label name matching [a-zA-Z_:][a-zA-Z0-9_:]*',
    )
  }
  const name = m[1]!
  const type = m[2]! as MatchType
  const raw = m[3]!
  if (LONE_SURROGATE.test(raw)) throw bad(text, 'the value is not valid UTF-8')

  const quoted = raw.startsWith('"')
  const chars = Array.from(quoted ? raw.slice(1) : raw)
  let expectClosingQuote = quoted
  let value = ''
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!
    if (c === '\\') {
      const next = chars[i + 1]
      if (next === undefined) {
        value += '\\' // a backslash as the last character is literal
        continue
      }
      i += 1
      if (next === 'n') value += '\n'
      else if (next === '"' || next === '\\') value += next
      else value += `\\${next}` // a spurious escape keeps its backslash
      continue
    }
    if (c === '"') {
      if (!expectClosingQuote || i < chars.length - 1)
        throw bad(text, 'the value contains an unescaped double quote (write \\" inside quotes)')
      expectClosingQuote = false
      continue
    }
    value += c
  }
  if (expectClosingQuote) throw bad(text, 'the value has no closing double quote')

  try {
    return newMatcher(type, name, value)
  } catch (err) {
    if (err instanceof InvalidMatcherError) throw bad(text, err.reason)
    throw err
  }
}

/** Splits a matcher set into matcher texts at the commas outside double quotes. */
function splitSet(input: string): string[] {
  let s = input
  if (s.startsWith('{')) s = s.slice(1)
  if (s.endsWith('}')) s = s.slice(0, -1)
  const tokens: string[] = []
  let token = ''
  let insideQuotes = false
  let escaped = false
  for (const c of s) {
    if (c === ',' && !insideQuotes) {
      tokens.push(token)
      token = ''
      continue
    }
    if (c === '"') {
      if (!escaped) insideQuotes = !insideQuotes
      else escaped = false
    } else if (c === '\\') {
      escaped = !escaped
    } else {
      escaped = false
    }
    token += c
  }
  // Only the last token may be empty (a trailing comma, or `{}`); an empty one in the
  // middle (`a=b,,c=d`) is a bad matcher, as in Alertmanager.
  if (token.trim() !== '') tokens.push(token.trim())
  return tokens
}

/**
 * Parses matchers: a set `{a="b", c!~"d"}`, a comma list `a=b, c!~d`, or a list of
 * such strings (the `matchers:` of a route), all concatenated in order.
 * @throws ConfigError naming the first bad matcher.
 */
export function parseMatchers(input: string | readonly string[]): Matcher[] {
  const texts = typeof input === 'string' ? [input] : input
  return texts.flatMap((text) => splitSet(text).map(parseMatcher))
}
