import { inspect } from 'node:util'

const REDACTED = '[redacted]'

/**
 * A credential read from the environment or a file. It prints as `[redacted]` however
 * it is turned into text (a log line's JSON, a template string, util.inspect), so a
 * settings object that reaches a logger or an error message never carries it; only
 * `src/kafka/` calls {@link Secret.reveal}, when it hands the value to the client.
 */
export class Secret {
  readonly #value: string

  constructor(value: string) {
    this.#value = value
  }

  reveal(): string {
    return this.#value
  }

  toString(): string {
    return REDACTED
  }

  toJSON(): string {
    return REDACTED
  }

  [inspect.custom](): string {
    return REDACTED
  }
}
