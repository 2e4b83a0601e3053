/** Alertmanager-compatible label matchers: types, construction, parsing, matching. */
export {
  InvalidMatcherError,
  LABEL_NAME,
  MATCH_TYPES,
  matchesAll,
  newMatcher,
  quoteValue,
  type MatchType,
  type Matcher,
} from './matcher'
export { parseMatcher, parseMatchers } from './parse'
