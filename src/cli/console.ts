/**
 * `nightshift console hash-password`: turns a password (or a bearer token) into the scrypt
 * hash the console's users file stores (src/console/access.ts). The secret is read from
 * stdin — asked twice without echo on a terminal, the whole input (one trailing newline
 * dropped) from a pipe — or from `--password-file`, never from an argument, which `ps` and
 * shell histories would show.
 */
import fs from 'node:fs'
import { Command } from 'commander'
import { hashSecret, SCRYPT_DEFAULTS, USERS_FILE_ENV } from '../console/access'
import { ConfigError, describeError } from '../errors'

/** A terminal or pipe to read from; tests give a stream. */
export interface SecretInput extends NodeJS.ReadableStream {
  isTTY?: boolean
  setRawMode?(mode: boolean): unknown
}

/** What the command reads and writes; tests replace them. */
export interface ConsoleCommandDeps {
  stdin?: SecretInput
  /** The hash goes here (default: stdout). */
  print?: (text: string) => void
  /** Prompts go here (default: stderr), so stdout holds only the hash. */
  prompt?: (text: string) => void
}

const MAX_SECRET_CHARS = 1024

/** Drops one trailing newline (what `echo` and editors add), nothing else. */
export function secretFromText(text: string, where: string): string {
  const secret = text.replace(/\r?\n$/, '')
  if (secret === '') throw new ConfigError(`${where} is empty: nothing to hash`)
  if (secret.includes('\n')) throw new ConfigError(`${where} holds more than one line; give one password`)
  if (secret.length > MAX_SECRET_CHARS) throw new ConfigError(`${where} is longer than ${MAX_SECRET_CHARS} characters`)
  return secret
}

async function readAll(input: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of input) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer))
  return Buffer.concat(chunks).toString('utf8')
}

/** Reads one line from a terminal in raw mode, echoing nothing; Ctrl-C or Ctrl-D gives up. */
function readHidden(input: SecretInput, prompt: (text: string) => void, question: string): Promise<string> {
  // Raw before the prompt: what is typed ahead of it is not echoed either.
  input.setRawMode?.(true)
  prompt(question)
  return new Promise((resolve, reject) => {
    let line = ''
    const finish = (result: { ok: true } | { ok: false; reason: string }): void => {
      input.removeListener('data', onData)
      input.setRawMode?.(false)
      input.pause()
      prompt('\n')
      if (result.ok) resolve(line)
      else reject(new ConfigError(result.reason))
    }
    const onData = (chunk: Buffer | string): void => {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n') return finish({ ok: true })
        if (ch === '\u0003' || ch === '\u0004') return finish({ ok: false, reason: 'cancelled: nothing hashed' })
        if (ch === '\u007f' || ch === '\b') line = [...line].slice(0, -1).join('')
        else line += ch
      }
    }
    input.resume()
    input.on('data', onData)
  })
}

/** The secret to hash, from the file, the terminal (asked twice) or a pipe. */
export async function readSecret(
  opts: { passwordFile?: string },
  input: SecretInput,
  prompt: (text: string) => void,
): Promise<string> {
  if (opts.passwordFile !== undefined) {
    let text: string
    try {
      text = fs.readFileSync(opts.passwordFile, 'utf8')
    } catch (cause) {
      throw new ConfigError(`--password-file ${opts.passwordFile} cannot be read: ${describeError(cause)}`, { cause })
    }
    return secretFromText(text, `--password-file ${opts.passwordFile}`)
  }
  if (input.isTTY) {
    const first = secretFromText(await readHidden(input, prompt, 'Password: '), 'the password')
    const again = await readHidden(input, prompt, 'Again: ')
    if (again !== first) throw new ConfigError('the two passwords differ: nothing hashed')
    return first
  }
  return secretFromText(await readAll(input), 'stdin')
}

/** Adds `console hash-password` to `program`. */
export function addConsoleCommands(program: Command, deps: ConsoleCommandDeps = {}): void {
  const print = deps.print ?? ((text: string) => process.stdout.write(`${text}\n`))
  const prompt = deps.prompt ?? ((text: string) => process.stderr.write(text))
  const console = program.command('console').description("the operator console's access")
  console
    .command('hash-password')
    .summary('hash a password or token for the console users file')
    .description(
      `print the scrypt hash (N=${SCRYPT_DEFAULTS.N}, r=${SCRYPT_DEFAULTS.r}, p=${SCRYPT_DEFAULTS.p}, random salt) of a ` +
        `password or bearer token, to paste as \`password:\` or \`token:\` of the file named by ${USERS_FILE_ENV}. ` +
        'The secret is read from stdin (asked twice, without echo, on a terminal) or from --password-file; never ' +
        'give it as an argument.',
    )
    .option('--password-file <file>', 'read the password from this file (one line) instead of stdin')
    .action(async (opts: { passwordFile?: string }) => {
      const secret = await readSecret(opts, deps.stdin ?? process.stdin, prompt)
      print(await hashSecret(secret))
    })
}
