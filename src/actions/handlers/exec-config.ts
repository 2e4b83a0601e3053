/**
 * Configuration of the `exec` action: the allowlist of commands it may run, each an
 * absolute program and an argument array of templates. Validated once by
 * {@link validateExecConfig} (every problem reported at once, each naming its path) and
 * frozen, so the handler never re-checks it at run time.
 *
 * Argument templates are literal text with `{{ <field> }}` placeholders, substituted as
 * strings and never evaluated. Fields: `params.<name>` (the request's params),
 * `labels.<name>` (the alert's labels), `fingerprint`, `service`, `team`. Keys are looked
 * up in own properties only. There is no escape for a literal `{{` or `}}`.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { ActionRequestRecord } from '../../contracts/records'
import { ConfigError } from '../../errors'

/** One allowlisted command. */
export interface ExecCommandConfig {
  /** Absolute path of an executable file; never looked up in PATH, never run by a shell. */
  program: string
  /** Argument templates; each becomes exactly one argv entry whatever its value holds. */
  args: string[]
  /** This command's time limit; the attempt's limit (context.timeoutMs) still applies. */
  timeoutMs?: number
  /** Absolute working directory (an existing folder); default: the worker's. */
  cwd?: string
  /** Names of environment variables copied from the handler context's env (besides PATH). */
  env?: string[]
  /**
   * Whether a non-zero exit (or a crash by a signal) is retriable. Default true: a
   * remediation script failing (a service not yet up, a lock held) may succeed on retry.
   * Set false for commands whose failure is final (a validation script).
   */
  retryOnFailure?: boolean
}

/** The `exec` action's configuration. */
export interface ExecConfig {
  /** Allowlisted commands by name; a request names one in `params.command`. */
  commands: Record<string, ExecCommandConfig>
  /** Bound of stdout and of stderr kept in the outcome, in bytes. Default 4096. */
  maxOutputBytes?: number
  /** Time between SIGTERM and SIGKILL when a command is stopped, in ms. Default 2000. */
  killGraceMs?: number
}

/** Fields a placeholder may name without a key. */
export const EXEC_TEMPLATE_FIELDS = ['fingerprint', 'service', 'team'] as const
/** Maps a placeholder may name a key of: `params.<name>`, `labels.<name>`. */
export const EXEC_TEMPLATE_MAPS = ['params', 'labels'] as const

export type ExecTemplateField = (typeof EXEC_TEMPLATE_FIELDS)[number]
export type ExecTemplateMap = (typeof EXEC_TEMPLATE_MAPS)[number]

/** One piece of a parsed argument template. */
export type ExecTemplatePart =
  | { readonly text: string }
  | { readonly field: ExecTemplateField }
  | { readonly map: ExecTemplateMap; readonly key: string }

/** A validated command: its templates parsed, everything frozen. */
export interface ExecCommand {
  readonly name: string
  readonly program: string
  readonly args: readonly (readonly ExecTemplatePart[])[]
  readonly timeoutMs: number | undefined
  readonly cwd: string | undefined
  readonly env: readonly string[]
  readonly retryOnFailure: boolean
}

/** The validated, frozen configuration the handler runs from. */
export interface ValidExecConfig {
  readonly commands: ReadonlyMap<string, ExecCommand>
  readonly maxOutputBytes: number
  readonly killGraceMs: number
}

export const DEFAULT_MAX_OUTPUT_BYTES = 4096
export const DEFAULT_KILL_GRACE_MS = 2000

const COMMAND_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/
const MAP_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const PLACEHOLDER = /\{\{([^{}]*)\}\}/g
const COMMAND_KEYS = ['program', 'args', 'timeoutMs', 'cwd', 'env', 'retryOnFailure']
const TOP_KEYS = ['commands', 'maxOutputBytes', 'killGraceMs']

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isPositiveInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0
}

/**
 * Parses one argument template.
 * @returns the parts, or a sentence saying what is wrong.
 */
export function parseExecTemplate(source: string): ExecTemplatePart[] | string {
  const parts: ExecTemplatePart[] = []
  let last = 0
  const literal = (text: string): string | undefined => {
    if (text.includes('{{')) return 'unclosed "{{" (or a "{" inside a placeholder)'
    if (text.includes('}}')) return '"}}" without an opening "{{"'
    if (text) parts.push(Object.freeze({ text }))
    return undefined
  }
  for (const m of source.matchAll(PLACEHOLDER)) {
    const bad = literal(source.slice(last, m.index))
    if (bad) return bad
    last = m.index + m[0].length
    const expr = (m[1] ?? '').trim()
    if ((EXEC_TEMPLATE_FIELDS as readonly string[]).includes(expr)) {
      parts.push(Object.freeze({ field: expr as ExecTemplateField }))
      continue
    }
    const dot = expr.indexOf('.')
    const root = dot < 0 ? expr : expr.slice(0, dot)
    if (!(EXEC_TEMPLATE_MAPS as readonly string[]).includes(root)) {
      const known = [...EXEC_TEMPLATE_MAPS.map((x) => `${x}.<name>`), ...EXEC_TEMPLATE_FIELDS].join(', ')
      return `placeholder ${m[0]}: unknown field "${expr}"; expected one of: ${known}`
    }
    const key = dot < 0 ? '' : expr.slice(dot + 1)
    if (!MAP_KEY.test(key))
      return `placeholder ${m[0]}: "${key}" is not a ${root} name (letters, digits, "_", "-", not starting with a digit)`
    parts.push(Object.freeze({ map: root as ExecTemplateMap, key }))
  }
  const bad = literal(source.slice(last))
  return bad ?? parts
}

/** A filled argument, or the placeholders the request lacks. */
export type ExecFillResult = { ok: true; value: string } | { ok: false; missing: string[] }

function own(map: Readonly<Record<string, string>>, key: string): string | undefined {
  if (!Object.hasOwn(map, key)) return undefined
  const value: unknown = map[key]
  return typeof value === 'string' ? value : undefined
}

/**
 * Fills one argument template from a request. A null `service` or an absent key is
 * missing (not an empty string): the command would otherwise run with a wrong argument.
 */
export function fillExecTemplate(parts: readonly ExecTemplatePart[], request: ActionRequestRecord): ExecFillResult {
  let value = ''
  const missing: string[] = []
  for (const part of parts) {
    let piece: string | undefined
    let name: string
    if ('text' in part) {
      piece = part.text
      name = ''
    } else if ('field' in part) {
      name = part.field
      piece =
        part.field === 'fingerprint'
          ? request.alert.alert.fingerprint
          : part.field === 'team'
            ? request.alert.team
            : (request.alert.service ?? undefined)
    } else {
      name = `${part.map}.${part.key}`
      piece = own(part.map === 'params' ? request.params : request.alert.alert.labels, part.key)
    }
    if (piece === undefined) {
      if (!missing.includes(name)) missing.push(name)
    } else {
      value += piece
    }
  }
  return missing.length > 0 ? { ok: false, missing } : { ok: true, value }
}

function unknownKeys(value: Record<string, unknown>, allowed: readonly string[], at: string, problems: string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) problems.push(`${at}/${key} is not allowed; expected one of: ${allowed.join(', ')}`)
  }
}

/**
 * Why `file` cannot be run as a program, or undefined: it must be an absolute path (a
 * program is never looked up in PATH) of an existing executable file. Checked when a
 * config is loaded, so a bad path stops the start instead of failing every attempt.
 * @returns e.g. `must be an absolute path (…), got "sh"` or `/opt/x does not exist`.
 */
export function executableFileProblem(file: unknown): string | undefined {
  if (typeof file !== 'string' || !path.isAbsolute(file) || file.includes('\0'))
    return `must be an absolute path (never looked up in PATH), got ${JSON.stringify(file)}`
  try {
    if (!fs.statSync(file).isFile()) return `${file} is not a file`
    fs.accessSync(file, fs.constants.X_OK)
    return undefined
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return `${file} ${code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not executable' : `cannot be checked (${String(code)})`}`
  }
}

function validateCommand(name: string, raw: unknown, at: string, problems: string[]): ExecCommand | undefined {
  const before = problems.length
  if (!COMMAND_NAME.test(name))
    problems.push(`${at} is not a command name (letters, digits, "_", ".", "-", starting with a letter or digit)`)
  if (!isRecord(raw)) {
    problems.push(`${at} must be an object with program and args`)
    return undefined
  }
  unknownKeys(raw, COMMAND_KEYS, at, problems)
  const { program, args, timeoutMs, cwd, env, retryOnFailure } = raw
  if (typeof program !== 'string') problems.push(`${at}/program is required and must be a string`)
  else {
    const bad = executableFileProblem(program)
    if (bad) problems.push(`${at}/program ${bad}`)
  }
  const parsed: ExecTemplatePart[][] = []
  if (!Array.isArray(args)) problems.push(`${at}/args is required and must be an array of strings (use [] for none)`)
  else {
    args.forEach((arg: unknown, i) => {
      if (typeof arg !== 'string') return void problems.push(`${at}/args/${i} must be a string`)
      if (arg.includes('\0')) return void problems.push(`${at}/args/${i} must not contain a NUL character`)
      const result = parseExecTemplate(arg)
      if (typeof result === 'string') problems.push(`${at}/args/${i}: ${result}`)
      else parsed.push(result)
    })
  }
  if (timeoutMs !== undefined && !isPositiveInt(timeoutMs))
    problems.push(`${at}/timeoutMs must be a positive integer (milliseconds)`)
  if (cwd !== undefined) {
    if (typeof cwd !== 'string' || !path.isAbsolute(cwd)) problems.push(`${at}/cwd must be an absolute path`)
    else if (!fs.statSync(cwd, { throwIfNoEntry: false })?.isDirectory())
      problems.push(`${at}/cwd ${cwd} is not an existing folder`)
  }
  if (env !== undefined) {
    if (!Array.isArray(env)) problems.push(`${at}/env must be an array of environment variable names`)
    else {
      env.forEach((v: unknown, i) => {
        if (typeof v !== 'string' || !ENV_NAME.test(v))
          problems.push(`${at}/env/${i} must be an environment variable name (letters, digits, "_")`)
        else if (v === 'PATH') problems.push(`${at}/env/${i}: PATH is always passed; do not list it`)
      })
    }
  }
  if (retryOnFailure !== undefined && typeof retryOnFailure !== 'boolean')
    problems.push(`${at}/retryOnFailure must be true or false`)
  if (problems.length > before) return undefined
  return Object.freeze({
    name,
    program: program as string,
    args: Object.freeze(parsed.map((p) => Object.freeze(p))),
    timeoutMs: timeoutMs as number | undefined,
    cwd: cwd as string | undefined,
    env: Object.freeze([...((env as string[] | undefined) ?? [])]),
    retryOnFailure: (retryOnFailure as boolean | undefined) ?? true,
  })
}

/**
 * Validates the `exec` configuration: names, absolute executable programs, parseable
 * templates, limits; unknown keys rejected.
 * @throws ConfigError listing every problem, each as `<path> <what was expected>`.
 */
export function validateExecConfig(config: ExecConfig): ValidExecConfig {
  const problems: string[] = []
  const raw: unknown = config
  const commands = new Map<string, ExecCommand>()
  let maxOutputBytes = DEFAULT_MAX_OUTPUT_BYTES
  let killGraceMs = DEFAULT_KILL_GRACE_MS
  if (!isRecord(raw)) problems.push('(top level) must be an object with commands')
  else {
    unknownKeys(raw, TOP_KEYS, '', problems)
    if (!isRecord(raw.commands)) problems.push('/commands is required and must be an object of commands by name')
    else {
      for (const [name, command] of Object.entries(raw.commands)) {
        const valid = validateCommand(name, command, `/commands/${name}`, problems)
        if (valid) commands.set(name, valid)
      }
    }
    if (raw.maxOutputBytes !== undefined) {
      if (!isPositiveInt(raw.maxOutputBytes)) problems.push('/maxOutputBytes must be a positive integer (bytes)')
      else maxOutputBytes = raw.maxOutputBytes
    }
    if (raw.killGraceMs !== undefined) {
      if (!isPositiveInt(raw.killGraceMs)) problems.push('/killGraceMs must be a positive integer (milliseconds)')
      else killGraceMs = raw.killGraceMs
    }
  }
  if (problems.length > 0) throw new ConfigError(`invalid exec action config:\n  ${problems.join('\n  ')}`)
  return Object.freeze({ commands, maxOutputBytes, killGraceMs })
}
