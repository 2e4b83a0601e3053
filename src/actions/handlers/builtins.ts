/** The built-in actions by name: what builds each one's handler from its `config` in topology/actions.yaml. */
import type { HandlerFactory } from './types'
import { createExecHandler, type ExecConfig } from './exec'
import { createLogLevelHandler } from './log-level'
import { createPageHandler } from './page'
import { createThreadDumpHandler } from './thread-dump'
import { createWebhookHandler } from './webhook'

export const BUILTIN_ACTIONS: Readonly<Record<string, HandlerFactory>> = Object.freeze({
  webhook: createWebhookHandler,
  page: createPageHandler,
  exec: (config: unknown) => createExecHandler((config ?? { commands: {} }) as ExecConfig),
  'log-level': createLogLevelHandler,
  'thread-dump': createThreadDumpHandler,
})
