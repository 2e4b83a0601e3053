/**
 * Alertmanager compiles `=~`/`!~` values with Go's RE2 syntax; Node has ECMAScript
 * regexes. This module translates the RE2 constructs people write in matchers into an
 * equivalent JS pattern for the `u` flag (so `.` is one code point, as a Go rune), and
 * rejects what RE2 itself rejects (backreferences, lookarounds) or what has no exact JS
 * equivalent here (flags anywhere but at the very start, `(?m)`, `(?U)`, `\C`), so a
 * matcher never silently means something else than it would in Alertmanager.
 *
 * Translated: a leading `(?i)`/`(?s)` (as JS flags: the outer `^(?:…)$` anchors are not
 * affected by either), `(?P<name>…)`, `\A`, `\z`, `\Q…\E`, `\x{…}`, octal `\0…`, `\a`,
 * `\s`/`\S` (RE2's ASCII whitespace), `\pL`, `\p{Greek}` (scripts), POSIX classes
 * `[[:alpha:]]`, escaped punctuation (`\-`, `\!`), a literal `]` first in a class, and a
 * `{` that is not a repetition (both literals in RE2, syntax errors under `u`).
 */

/** The translation of one RE2 pattern: JS source (without anchors) and flags. */
export interface TranslatedRegex {
  source: string
  flags: string
}

/** A pattern the translator refuses; the caller wraps it in a ConfigError. */
export class RegexSyntaxError extends Error {}

const RE2_SPACE = '\\t\\n\\f\\r '
// JS syntax characters: the only identity escapes allowed under `u` (plus `-` in classes).
const JS_SYNTAX = new Set('^$\\.*+?()[]{}|/'.split(''))
const ASCII_PUNCT = /^[!-/:-@[-`{-~]$/

const POSIX: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`\\{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
}

// Unicode general categories (one or two letters) are written the same in both; anything
// else RE2 accepts in \p{…} is a script.
const CATEGORY = /^[A-Z][a-z]?$/

function literal(ch: string): string {
  return JS_SYNTAX.has(ch) ? `\\${ch}` : ch
}

function hexCode(hex: string): string {
  return `\\u{${hex}}`
}

/** Translates RE2 `pattern` (a matcher value) for `new RegExp('^(?:' + source + ')$', flags)`. */
export function translateRe2(pattern: string): TranslatedRegex {
  const cps = Array.from(pattern)
  let i = 0
  let flags = 'u'
  let out = ''

  const leading = /^\(\?([a-zA-Z]+)\)/.exec(pattern)
  if (leading) {
    for (const f of leading[1]!) {
      if (f === 'i' || f === 's') {
        if (!flags.includes(f)) flags += f
      } else {
        throw new RegexSyntaxError(`flag (?${f}) is not supported (only a leading (?i) or (?s))`)
      }
    }
    i = Array.from(leading[0]).length
  }

  const peek = (k = 0): string | undefined => cps[i + k]

  /** Handles the escape at cps[i] (a backslash); returns the JS text. */
  const escape = (inClass: boolean): string => {
    const c = peek(1)
    if (c === undefined) throw new RegexSyntaxError('trailing backslash at the end of the pattern')
    i += 2
    switch (c) {
      case 'd':
      case 'D':
      case 'w':
      case 'W':
      case 't':
      case 'n':
      case 'f':
      case 'r':
      case 'v':
        return `\\${c}`
      case 'b':
      case 'B':
        if (inClass) throw new RegexSyntaxError(`\\${c} is not allowed in a character class`)
        return `\\${c}`
      case 'a':
        return '\\x07'
      case 's':
        return inClass ? RE2_SPACE : `[${RE2_SPACE}]`
      case 'S':
        if (inClass) throw new RegexSyntaxError('\\S inside a character class is not supported')
        return `[^${RE2_SPACE}]`
      case 'A':
        if (inClass) throw new RegexSyntaxError('\\A is not allowed in a character class')
        return '^'
      case 'z':
        if (inClass) throw new RegexSyntaxError('\\z is not allowed in a character class')
        return '$' // without the m flag, JS `$` is the end of the input, like RE2's \z
      case 'Q': {
        let text = ''
        while (i < cps.length && !(cps[i] === '\\' && cps[i + 1] === 'E')) text += literal(cps[i++]!)
        if (i < cps.length) i += 2
        if (inClass) throw new RegexSyntaxError('\\Q…\\E inside a character class is not supported')
        return text
      }
      case 'x': {
        if (peek() === '{') {
          const close = cps.indexOf('}', i)
          const hex = close < 0 ? '' : cps.slice(i + 1, close).join('')
          if (!/^[0-9A-Fa-f]{1,6}$/.test(hex) || parseInt(hex, 16) > 0x10ffff)
            throw new RegexSyntaxError('invalid escape \\x{…}')
          i = close + 1
          return hexCode(hex)
        }
        const hex = `${peek() ?? ''}${peek(1) ?? ''}`
        if (!/^[0-9A-Fa-f]{2}$/.test(hex))
          throw new RegexSyntaxError('invalid escape \\x: expected two hex digits or \\x{…}')
        i += 2
        return hexCode(hex)
      }
      case 'p':
      case 'P': {
        let name: string
        if (peek() === '{') {
          const close = cps.indexOf('}', i)
          if (close < 0) throw new RegexSyntaxError(`unterminated \\${c}{`)
          name = cps.slice(i + 1, close).join('')
          i = close + 1
        } else {
          name = peek() ?? ''
          i += 1
        }
        let negate = c === 'P'
        if (name.startsWith('^')) {
          negate = !negate
          name = name.slice(1)
        }
        if (!/^[A-Za-z_]+$/.test(name)) throw new RegexSyntaxError(`invalid character class \\${c}{${name}}`)
        const property = CATEGORY.test(name) || name === 'Any' ? name : `Script=${name}`
        return `\\${negate ? 'P' : 'p'}{${property}}`
      }
      case '0': {
        let oct = ''
        while (oct.length < 2 && /^[0-7]$/.test(peek() ?? '')) oct += cps[i++]!
        return hexCode(parseInt(oct || '0', 8).toString(16))
      }
      default:
        if (/^[1-7]$/.test(c) && /^[0-7]$/.test(peek() ?? '') && /^[0-7]$/.test(peek(1) ?? '')) {
          const oct = c + cps[i]! + cps[i + 1]!
          i += 2
          return hexCode(parseInt(oct, 8).toString(16))
        }
        if (/^[0-9]$/.test(c)) throw new RegexSyntaxError(`backreference \\${c} is not supported (RE2 has none)`)
        if (ASCII_PUNCT.test(c)) return inClass && c === '-' ? '\\-' : literal(c)
        throw new RegexSyntaxError(`invalid escape sequence \\${c}`)
    }
  }

  const charClass = (): string => {
    let text = '['
    i += 1
    if (peek() === '^') {
      text += '^'
      i += 1
    }
    let first = true
    for (;;) {
      const c = peek()
      if (c === undefined) throw new RegexSyntaxError('missing closing ] of a character class')
      if (c === ']' && !first) {
        i += 1
        return `${text}]`
      }
      first = false
      if (c === '[' && peek(1) === ':') {
        const rest = cps.slice(i).join('')
        const m = /^\[:(\^?)([a-z]+):\]/.exec(rest)
        const range = m ? POSIX[m[2]!] : undefined
        if (m && range !== undefined) {
          if (m[1]) throw new RegexSyntaxError(`negated POSIX class [:^${m[2]!}:] is not supported`)
          text += range
          i += Array.from(m[0]).length
          continue
        }
        if (m) throw new RegexSyntaxError(`invalid character class range [:${m[2]!}:]`)
      }
      if (c === '\\') {
        text += escape(true)
        continue
      }
      // Literal in RE2 classes; `[`, `]`, `/` need no escape in a JS `u` class but `]` does.
      text += c === ']' || c === '[' ? `\\${c}` : c
      i += 1
    }
  }

  while (i < cps.length) {
    const c = cps[i]!
    if (c === '\\') {
      out += escape(false)
    } else if (c === '[') {
      out += charClass()
    } else if (c === '(' && peek(1) === '?') {
      const rest = cps.slice(i).join('')
      if (rest.startsWith('(?:')) {
        out += '(?:'
        i += 3
      } else if (/^\(\?P?<[A-Za-z_][A-Za-z0-9_]*>/.test(rest)) {
        const m = /^\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest)!
        out += `(?<${m[1]!}>`
        i += Array.from(m[0]).length
      } else if (/^\(\?(=|!|<=|<!)/.test(rest)) {
        throw new RegexSyntaxError('lookaround assertions are not supported (RE2 has none)')
      } else if (/^\(\?[a-zA-Z-]+[:)]/.test(rest)) {
        throw new RegexSyntaxError('flag groups are supported only as a leading (?i) or (?s)')
      } else {
        throw new RegexSyntaxError('invalid group (?…')
      }
    } else if (c === '{') {
      const rest = cps.slice(i).join('')
      const m = /^\{(\d+)(,(\d*))?\}/.exec(rest)
      if (m) {
        // RE2 caps repetition counts at 1000.
        if (Number(m[1]) > 1000 || (m[3] !== undefined && m[3] !== '' && Number(m[3]) > 1000))
          throw new RegexSyntaxError(`invalid repeat count ${m[0]}`)
        out += m[0]
        i += m[0].length
      } else {
        out += '\\{'
        i += 1
      }
    } else if (c === '}' || c === ']') {
      out += `\\${c}`
      i += 1
    } else {
      out += c
      i += 1
    }
  }
  return { source: out, flags }
}
