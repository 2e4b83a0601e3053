/**
 * Custom actions: a team's module in the custom actions folder (actions.yaml
 * `customActionsDir`) default-exports `defineAction({ name, run })`; the actions file
 * loader (worker/actions-file.ts) takes only exports made here.
 */
import { ConfigError } from '../../errors'
import type { ActionHandler } from './types'

/** A custom action: what a team's module exports (by default) through {@link defineAction}. */
export interface CustomAction {
  name: string
  /** One attempt; same contract as a built-in handler's run. */
  run: ActionHandler['run']
  /** One line saying what run would do, for dry runs (default: `custom action <name>`). */
  describe?: ActionHandler['describe']
}

// A registered symbol, not a module-local one: a custom module may load its own copy of
// this file (another path, another require cache), and its mark must still be recognised.
const CUSTOM_MARK = Symbol.for('nightshift.customAction')

/** Declares a custom action; the default export of a module in the custom actions folder. */
export function defineAction(action: CustomAction): ActionHandler {
  if (typeof action?.name !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(action.name)) {
    throw new ConfigError(
      `defineAction: name must be lower-case letters, digits and dashes, got ${JSON.stringify(action?.name)}`,
    )
  }
  if (typeof action.run !== 'function') throw new ConfigError(`defineAction ${action.name}: run must be a function`)
  const describe = action.describe ?? (() => `custom action ${action.name}`)
  return Object.freeze({ name: action.name, run: action.run, describe, [CUSTOM_MARK]: true })
}

/** Whether `value` was made by {@link defineAction} (a module's default export, unchecked). */
export function isCustomAction(value: unknown): value is ActionHandler {
  return typeof value === 'object' && value !== null && CUSTOM_MARK in value
}
