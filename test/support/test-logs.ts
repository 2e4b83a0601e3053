import type { DestinationStream } from 'pino'

/**
 * Where the test environment (test/support/log-environment.js) keeps the current test's
 * log lines, shown only if it fails; undefined under another environment (the
 * reliability project's).
 */
export function testLogSink(): DestinationStream | undefined {
  return (globalThis as { __nightshiftTestLogs?: DestinationStream }).__nightshiftTestLogs
}
