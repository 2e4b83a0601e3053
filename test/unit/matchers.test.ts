import { ConfigError } from '../../src/errors'
import { matchesAll, newMatcher, parseMatcher, parseMatchers, type MatchType } from '../../src/matchers'

describe('parseMatcher: syntax (Alertmanager pkg/labels/parse.go)', () => {
  it.each<[string, string, MatchType, string]>([
    ['severity="critical"', 'severity', '=', 'critical'],
    ['service=~"checkout|payments"', 'service', '=~', 'checkout|payments'],
    ['env!=prod', 'env', '!=', 'prod'],
    ['env!~"dev|test"', 'env', '!~', 'dev|test'],
    ['  foo  =  bar  ', 'foo', '=', 'bar'],
    ['foo = "bar baz"  ', 'foo', '=', 'bar baz'],
    ['foo="  padded "', 'foo', '=', '  padded '],
    ['foo=', 'foo', '=', ''],
    ['foo=""', 'foo', '=', ''],
    ['foo!=""', 'foo', '!=', ''],
    ['foo="quoted \\"value\\""', 'foo', '=', 'quoted "value"'],
    ['foo="back\\\\slash"', 'foo', '=', 'back\\slash'],
    ['foo="new\\nline"', 'foo', '=', 'new\nline'],
    ['foo="spurious \\x escape"', 'foo', '=', 'spurious \\x escape'],
    ['foo=~"\\d+"', 'foo', '=~', '\\d+'],
    ['foo=trailing\\', 'foo', '=', 'trailing\\'],
    ['foo=unquoted\\"quote', 'foo', '=', 'unquoted"quote'],
    ['foo="a,b"', 'foo', '=', 'a,b'],
    ['foo="=~"', 'foo', '=', '=~'],
    ['foo=~=', 'foo', '=~', '='],
    ['_under:score="x"', '_under:score', '=', 'x'],
    ['foo="日本語 😀"', 'foo', '=', '日本語 😀'],
    ['foo="multi\nline"', 'foo', '=', 'multi\nline'],
  ])('%j', (text, name, type, value) => {
    const m = parseMatcher(text)
    expect({ name: m.name, type: m.type, value: m.value }).toEqual({ name, type, value })
  })

  it.each<[string, string]>([
    ['foo', 'expected <label name><operator><value>'],
    ['', 'expected <label name><operator><value>'],
    ['=bar', 'expected <label name><operator><value>'],
    ['1foo="bar"', 'expected <label name><operator><value>'],
    ['foo-bar="x"', 'expected <label name><operator><value>'],
    ['fóo="x"', 'expected <label name><operator><value>'],
    ['"foo"="bar"', 'expected <label name><operator><value>'],
    ['foo=="bar"', 'unescaped double quote'],
    ['foo!=~"bar"', 'unescaped double quote'],
    ['foo="bar', 'no closing double quote'],
    ['foo="bar\\"', 'no closing double quote'],
    ['foo="ba"r"', 'unescaped double quote'],
    ['foo=bar"', 'unescaped double quote'],
    ['foo="bar"baz', 'unescaped double quote'],
    ['foo=~"(unclosed"', 'invalid regular expression'],
    ['foo=~"a**"', 'invalid regular expression'],
    ['foo=~"a: ("', 'bad matcher "foo=~\\"a: (\\"": invalid regular expression'],
    ['foo=~"(a)\\1"', 'backreference'],
    ['foo=~"a(?=b)"', 'lookaround'],
    ['foo=~"a(?i)b"', 'flag groups'],
    ['foo="\uD800"', 'not valid UTF-8'],
  ])('rejects %j (%s)', (text, fragment) => {
    expect(() => parseMatcher(text)).toThrow(ConfigError)
    expect(() => parseMatcher(text)).toThrow(fragment)
    expect(() => parseMatcher(text)).toThrow(`bad matcher ${JSON.stringify(text)}`)
  })
})

describe('parseMatchers: sets and lists', () => {
  const texts = (input: string | string[]) => parseMatchers(input).map(String)

  it.each<[string | string[], string[]]>([
    ['{a="b", c!~"d"}', ['a="b"', 'c!~"d"']],
    ['a=b,c=~d', ['a="b"', 'c=~"d"']],
    ['{a="b,c", d="e}"}', ['a="b,c"', 'd="e}"']],
    ['{a="x\\",y"}', ['a="x\\",y"']],
    ['{}', []],
    ['', []],
    ['{a="b",}', ['a="b"']],
    // braces are trimmed independently, as Alertmanager's TrimPrefix/TrimSuffix do
    ['{a="b"', ['a="b"']],
    [
      ['severity="critical"', 'service=~"checkout|payments", env!=dev'],
      ['severity="critical"', 'service=~"checkout|payments"', 'env!="dev"'],
    ],
    [[], []],
  ])('%j', (input, expected) => {
    expect(texts(input)).toEqual(expected)
  })

  it.each<[string, string]>([
    ['a=b,,c=d', 'bad matcher ""'],
    ['{a=b, foo}', 'bad matcher "foo"'],
    ['{a=b, "c"=d}', 'expected <label name><operator><value>'],
  ])('rejects %j', (input, fragment) => {
    expect(() => parseMatchers(input)).toThrow(ConfigError)
    expect(() => parseMatchers(input)).toThrow(fragment)
  })
})

describe('Matcher.matches (Alertmanager pkg/labels/matcher.go)', () => {
  it.each<[string, Record<string, string>, boolean]>([
    ['foo="bar"', { foo: 'bar' }, true],
    ['foo="bar"', { foo: 'baz' }, false],
    ['foo="bar"', {}, false],
    ['foo!="bar"', { foo: 'baz' }, true],
    ['foo!="bar"', {}, true],
    ['foo!="bar"', { foo: 'bar' }, false],
    // empty values: a missing label is the empty string
    ['foo=""', {}, true],
    ['foo=""', { foo: 'x' }, false],
    ['foo!=""', {}, false],
    ['foo!=""', { foo: 'x' }, true],
    ['foo=~""', {}, true],
    ['foo=~".*"', {}, true],
    ['foo=~".+"', {}, false],
    ['foo!~".+"', {}, true],
    // anchoring
    ['foo=~"bar"', { foo: 'foobar' }, false],
    ['foo=~"bar"', { foo: 'barfoo' }, false],
    ['foo=~"bar"', { foo: 'bar' }, true],
    ['foo=~".*bar.*"', { foo: 'foobarbaz' }, true],
    ['foo!~"bar"', { foo: 'foobar' }, true],
    // alternation is anchored as a whole: ^(?:a|b)$, not ^a|b$
    ['service=~"checkout|payments"', { service: 'payments' }, true],
    ['service=~"checkout|payments"', { service: 'checkout-v2' }, false],
    ['service=~"checkout|payments"', { service: 'mypayments' }, false],
    ['service!~"checkout|payments"', { service: 'search' }, true],
    // regex details in RE2 semantics
    ['foo=~"(?i)BAR"', { foo: 'bar' }, true],
    ['foo=~"BAR"', { foo: 'bar' }, false],
    ['foo=~"a.b"', { foo: 'a\nb' }, false],
    ['foo=~"(?s)a.b"', { foo: 'a\nb' }, true],
    ['foo=~"."', { foo: '😀' }, true],
    ['foo=~"[😀x]"', { foo: '😀' }, true],
    ['foo=~"\\\\d{2,3}"', { foo: '123' }, true],
    ['foo=~"\\\\-\\\\!"', { foo: '-!' }, true],
    ['foo=~"a{"', { foo: 'a{' }, true],
    ['foo=~"[]a]+"', { foo: ']a]' }, true],
    ['foo=~"[[:digit:]]+"', { foo: '42' }, true],
    ['foo=~"[[:digit:]]+"', { foo: '4x' }, false],
    ['foo=~"\\\\pL+"', { foo: 'héllo' }, true],
    ['foo=~"\\\\p{Greek}+"', { foo: 'αβγ' }, true],
    ['foo=~"\\\\s"', { foo: '\u00a0' }, false],
    ['foo=~"\\\\Qa.b\\\\E"', { foo: 'a.b' }, true],
    ['foo=~"\\\\Qa.b\\\\E"', { foo: 'axb' }, false],
    ['foo=~"\\\\x{1F600}"', { foo: '😀' }, true],
    ['foo=~"(?P<x>a)b"', { foo: 'ab' }, true],
    ['foo=~"\\\\Aab\\\\z"', { foo: 'ab' }, true],
    // unicode values compare exactly
    ['foo="日本語"', { foo: '日本語' }, true],
    ['foo="é"', { foo: 'e\u0301' }, false],
  ])('%s with %j → %s', (text, labels, expected) => {
    expect(matchesAll([parseMatcher(text)], labels)).toBe(expected)
  })

  it('compiles a regex once and reuses it for every value', () => {
    const spy = jest.spyOn(global, 'RegExp')
    const m = newMatcher('=~', 'foo', 'a+')
    const made = spy.mock.calls.length
    for (const v of ['a', 'aa', 'b']) m.matches(v)
    expect(spy.mock.calls.length).toBe(made)
    spy.mockRestore()
  })

  it('matchesAll: every matcher must match; none always matches', () => {
    const ms = parseMatchers('{severity="critical", service=~"checkout|payments"}')
    expect(matchesAll(ms, { severity: 'critical', service: 'checkout' })).toBe(true)
    expect(matchesAll(ms, { severity: 'warning', service: 'checkout' })).toBe(false)
    expect(matchesAll([], {})).toBe(true)
  })

  it('matchesAll: labels come only from own properties, never the prototype', () => {
    expect(matchesAll(parseMatchers('constructor=""'), {})).toBe(true)
    expect(matchesAll(parseMatchers('constructor!=""'), {})).toBe(false)
    expect(matchesAll(parseMatchers('toString=~".+"'), {})).toBe(false)
    expect(matchesAll(parseMatchers('__proto__=""'), {})).toBe(true)
  })
})

describe('newMatcher and toString', () => {
  it.each<[MatchType, string, string, string]>([
    ['=', 'foo', 'bar', 'foo="bar"'],
    ['!=', 'foo', '', 'foo!=""'],
    ['=~', 'foo', 'a|b', 'foo=~"a|b"'],
    ['!~', 'foo', 'x"y\\z\nw', 'foo!~"x\\"y\\\\z\\nw"'],
    ['=', 'foo', '日本 😀', 'foo="日本 😀"'],
  ])('%s %s %j prints as %s and parses back', (type, name, value, text) => {
    const m = newMatcher(type, name, value)
    expect(m.toString()).toBe(text)
    expect(`${m}`).toBe(text)
    const back = parseMatcher(m.toString())
    expect({ name: back.name, type: back.type, value: back.value }).toEqual({ name, type, value })
  })

  it.each<[MatchType, string, string, string]>([
    ['=~', 'foo', '(', 'invalid regular expression'],
    ['!~', 'foo', '[z-a]', 'invalid regular expression'],
    ['=', 'foo-bar', 'x', 'not a valid label name'],
    ['=', '', 'x', 'not a valid label name'],
    ['=', 'ñ', 'x', 'not a valid label name'],
    ['==' as MatchType, 'foo', 'x', 'unknown match type'],
  ])('rejects %s %j %j', (type, name, value, fragment) => {
    expect(() => newMatcher(type, name, value)).toThrow(ConfigError)
    expect(() => newMatcher(type, name, value)).toThrow(fragment)
  })

  it('is immutable', () => {
    const m = newMatcher('=', 'a', 'b') as { value: string }
    expect(() => {
      m.value = 'c'
    }).toThrow(TypeError)
  })
})
