// Jest test environment of the unit and integration projects: Node's, plus a place for
// the lines logged while a test file runs (test/support/quiet-logs.ts sends every
// logger there instead of stdout). Only a failing test's lines are shown: through the
// test's console, so jest prints them with that file's result, next to the failure.
// `LOG_LEVEL=<level> npm test` turns this off and logs live instead.
'use strict'
const { TestEnvironment } = require('jest-environment-node')

/** At most this many lines are kept per test; older ones are counted, not kept. */
const MAX_LINES = 2000

class LogCapturingEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context)
    this.lines = []
    this.dropped = 0
    this.global.__nightshiftTestLogs = {
      write: (line) => {
        this.lines.push(line.endsWith('\n') ? line.slice(0, -1) : line)
        if (this.lines.length > MAX_LINES) {
          this.lines.shift()
          this.dropped += 1
        }
      },
    }
  }

  handleTestEvent(event, state) {
    if (event.name === 'test_done') {
      // A test's lines are those since the previous test ended: its beforeAll (for the
      // first test of a block), beforeEach, body and afterEach.
      if (event.test.errors.length > 0) this.show(`logged during "${fullName(event.test)}"`)
      this.clear()
    } else if (event.name === 'run_finish' && state.unhandledErrors.length > 0) {
      this.show('logged after the last test (afterAll, or an error outside any test)')
    }
  }

  show(title) {
    if (this.lines.length === 0) return
    const dropped = this.dropped > 0 ? ` (the first ${this.dropped} lines dropped)` : ''
    this.global.console.log(`${title}${dropped}:\n${this.lines.join('\n')}`)
  }

  clear() {
    this.lines = []
    this.dropped = 0
  }
}

function fullName(test) {
  const names = []
  for (let block = test; block && block.name !== 'ROOT_DESCRIBE_BLOCK'; block = block.parent) names.unshift(block.name)
  return names.join(' › ')
}

module.exports = LogCapturingEnvironment
