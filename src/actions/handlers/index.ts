/**
 * What a custom action module needs (topology/custom-actions/): {@link defineAction} and
 * the handler contract. The worker and the built-in handlers import the files themselves.
 */
export { defineAction, type CustomAction } from './define-action'
export type { ActionHandler, HandlerContext, HandlerResult, RevertPlan } from './types'
