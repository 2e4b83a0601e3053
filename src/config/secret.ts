import { inspect } from 'node:util'

const REDACTED = '[redacted]'

/**
 * A credential read from the environment or a file. It prints as `[redacted]` however
 * it is turned into text (a log line's JSON, a template string, util.inspect), so a
 * settings object that reaches a logger or an error message never carries it. Only the
 * code that must use the value calls {@link Secret.reveal}: `src/kafka/` when it hands
 * it to the client, and the HTTP routes that check a credential (the operator token, the
 * Slack signing secret), which compare it and never echo it.
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
