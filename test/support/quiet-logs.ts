/**
 * Jest setupFilesAfterEnv of the unit and integration projects: every logger a test
 * file makes (`createLogger`, in the test or in the code it runs in-process) writes
 * short text lines to the test environment (test/support/log-environment.js), which
 * shows them only next to a failing test. So a green run prints jest's lines and nothing
 * else. `LOG_LEVEL=debug npm test` logs live instead (add `LOG_FORMAT=pretty` for short
 * lines: jest's workers write to a pipe, so the default there is JSON).
 */
import type * as Log from '../../src/log'
import { testLogSink } from './test-logs'

if (!process.env.LOG_LEVEL) {
  // doMock, not mock: registered now, before the test file requires anything, and not
  // hoisted above the sink it uses.
  jest.doMock('../../src/log', () => {
    const actual = jest.requireActual<typeof Log>('../../src/log')
    return {
      ...actual,
      createLogger: (settings: Log.LoggerSettings = {}) =>
        actual.createLogger({
          ...settings,
          format: 'pretty',
          colors: false,
          stream: testLogSink() ?? { write: () => undefined },
        }),
    }
  })
}
