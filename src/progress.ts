/**
 * Progress of a long operation (apply, replay, stack start, the demo) on stderr, so
 * stdout stays what scripts parse. At a terminal a step's counter is rewritten in place;
 * elsewhere (CI logs, pipes) each step is one line and a counter prints at most every
 * few seconds, so a log shows the operation moving without a line per record.
 */

/** Reports the steps of a long operation; domain code takes one, the CLI makes it ({@link createProgress}). */
export interface Progress {
  /** Starts a step: `→ message`. Ends the previous one if it was not ended. */
  step(message: string): void
  /** Where the current step is: `done/total detail`, or `done detail` without a total. */
  update(done: number, total?: number, detail?: string): void
  /** Ends the current step: `✓ message` (default: the step's message, with its elapsed time). */
  done(message?: string): void
  /** Ends the current step as failed: `✗ message`. */
  fail(message: string): void
  /** A line of its own between steps (a finding, a hint). */
  note(message: string): void
}

/** How {@link createProgress} writes. */
export interface ProgressOptions {
  /** Where the lines go (default: process.stderr). */
  stream?: { write(text: string): unknown; isTTY?: boolean }
  /** Nothing printed (--quiet, --json). */
  quiet?: boolean
  /** Smallest interval between two counter lines when the stream is not a terminal (default 2 s). */
  plainIntervalMs?: number
  /** Clock (tests). */
  now?: () => number
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`
}

/** A {@link Progress} writing to a terminal or a log. */
export function createProgress(options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr
  const now = options.now ?? Date.now
  const tty = stream.isTTY === true
  const plainIntervalMs = options.plainIntervalMs ?? 2000
  if (options.quiet) return { step() {}, update() {}, done() {}, fail() {}, note() {} }

  let current: { message: string; started: number; lastPrinted: number } | undefined
  let counterShown = false

  const clearCounter = () => {
    if (tty && counterShown) stream.write('\r\x1b[2K')
    counterShown = false
  }
  const end = (mark: string, message: string) => {
    clearCounter()
    stream.write(`${mark} ${message}\n`)
    current = undefined
  }

  return {
    step(message) {
      if (current) end('✓', `${current.message} (${seconds(now() - current.started)})`)
      current = { message, started: now(), lastPrinted: Number.NEGATIVE_INFINITY }
      stream.write(`→ ${message}\n`)
    },
    update(done, total, detail) {
      if (!current) return
      const counter = `${total === undefined ? done : `${done}/${total}`}${detail ? ` ${detail}` : ''}`
      const at = now()
      if (tty) {
        stream.write(`\r\x1b[2K  ${counter}`)
        counterShown = true
        return
      }
      const finished = total !== undefined && done >= total
      if (at - current.lastPrinted >= plainIntervalMs || finished) {
        stream.write(`  ${counter}\n`)
        current.lastPrinted = at
      }
    },
    done(message) {
      if (!current) {
        if (message) stream.write(`✓ ${message}\n`)
        return
      }
      end('✓', message ?? `${current.message} (${seconds(now() - current.started)})`)
    },
    fail(message) {
      end('✗', message)
    },
    note(message) {
      clearCounter()
      stream.write(`  ${message}\n`)
    },
  }
}
