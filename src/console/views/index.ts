/** The console's views (issue 18): see state.ts for what they keep and start.ts for how they read. */
export { ConsoleViewState, DEFAULT_VIEW_LIMITS, type ViewLimits, type ViewTopics } from './state'
export {
  startConsoleViews,
  DEFAULT_CATCH_UP,
  type CatchUpSettings,
  type ConsoleViewsOptions,
  type RunningConsoleViews,
} from './start'
export { decodeCursor, encodeCursor, rowKeyOf, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './actions-view'
