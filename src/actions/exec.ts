/**
 * The `exec` action: runs one allowlisted program with an argument array, never through
 * a shell. What must hold:
 * - only a command named in the config runs, by its absolute path (`shell: false`);
 * - each argument template becomes exactly one argv entry, whatever a label holds
 *   (spaces, quotes, `;`, `$(...)`, newlines); a value with NUL is refused;
 * - the child's environment is PATH plus the command's allowlist, never the worker's;
 * - the child runs in its own process group, and the whole group is killed when the
 *   command stops, times out or is aborted, so no grandchild outlives the attempt. A
 *   command that must leave something running hands it to a service manager.
 */
import { spawn } from 'node:child_process'
import type { Readable } from 'node:stream'
import type { ActionRequestRecord } from '../contracts/records'
import type { ActionHandler, HandlerContext, HandlerResult } from './types'
import { fillExecTemplate, validateExecConfig, type ExecCommand, type ExecConfig, type ValidExecConfig } from './exec-config'

export type { ExecCommandConfig, ExecConfig } from './exec-config'

/** PATH given to the child when the context's env has none. */
export const DEFAULT_CHILD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
/** Time limit when neither the command nor the context sets one. */
export const DEFAULT_EXEC_TIMEOUT_MS = 60_000
/** After the child exits, how long its stdout/stderr may stay open (held by an escaped process). */
const CLOSE_GRACE_MS = 1000

/** Errors of spawn that a retry cannot fix (the program or folder is gone or not runnable). */
const FINAL_SPAWN_ERRORS = new Set(['ENOENT', 'EACCES', 'ENOTDIR', 'ENOEXEC', 'EPERM', 'E2BIG'])

/** Keeps the first `limit` bytes of a stream and counts the rest. */
class BoundedBuffer {
  private readonly chunks: Buffer[] = []
  private kept = 0
  private dropped = 0

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    const room = this.limit - this.kept
    if (room > 0) {
      const part = chunk.length <= room ? chunk : chunk.subarray(0, room)
      this.chunks.push(part)
      this.kept += part.length
    }
    this.dropped += Math.max(0, chunk.length - Math.max(0, room))
  }

  /** The kept text (a UTF-8 sequence cut at the bound becomes U+FFFD) and a truncation marker. */
  text(): string {
    const text = Buffer.concat(this.chunks).toString('utf8')
    return this.dropped > 0 ? `${text}…[truncated ${this.dropped} bytes]` : text
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // A negative pid signals the whole process group the detached child leads.
    process.kill(-pid, signal)
  } catch {
    // ESRCH: the group is already gone. Nothing else can fail for our own children.
  }
}

function fail(retriable: boolean, detail: string, output: Record<string, string> = {}): HandlerResult {
  return { ok: false, retriable, detail, output }
}

type Stop = { kind: 'timeout'; afterMs: number } | { kind: 'abort'; reason: string }

function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason
  if (reason instanceof Error) return reason.name === 'TimeoutError' ? 'timeout' : reason.message
  return reason === undefined ? 'aborted' : String(reason)
}

/** Fills the command's argument templates; a failure names the missing fields or the bad argument. */
function buildArgv(command: ExecCommand, request: ActionRequestRecord): string[] | HandlerResult {
  const argv: string[] = []
  const missing: string[] = []
  for (const [i, parts] of command.args.entries()) {
    const filled = fillExecTemplate(parts, request)
    if (!filled.ok) {
      for (const name of filled.missing) if (!missing.includes(name)) missing.push(name)
      continue
    }
    if (filled.value.includes('\0')) {
      return fail(false, `exec command "${command.name}": argument ${i} contains a NUL character, which a program argument cannot carry`, { command: command.name })
    }
    argv.push(filled.value)
  }
  if (missing.length > 0) {
    return fail(false, `exec command "${command.name}": the request lacks ${missing.join(', ')}`, { command: command.name, missing: missing.join(',') })
  }
  return argv
}

function childEnv(command: ExecCommand, env: HandlerContext['env']): Record<string, string> {
  const out: Record<string, string> = { PATH: env.PATH ?? DEFAULT_CHILD_PATH }
  for (const name of command.env) {
    const value = env[name]
    if (value !== undefined) out[name] = value
  }
  return out
}

function run(config: ValidExecConfig, command: ExecCommand, argv: string[], context: HandlerContext): Promise<HandlerResult> {
  const limits = [command.timeoutMs, context.timeoutMs].filter((t): t is number => t !== undefined && Number.isFinite(t) && t > 0)
  const timeoutMs = limits.length > 0 ? Math.min(...limits) : DEFAULT_EXEC_TIMEOUT_MS
  const base = { command: command.name }
  if (context.signal.aborted) return Promise.resolve(fail(true, `exec command "${command.name}" was not started: ${abortReason(context.signal)}`, { ...base, timedOut: 'true' }))

  return new Promise<HandlerResult>((resolve) => {
    const started = performance.now()
    const stdout = new BoundedBuffer(config.maxOutputBytes)
    const stderr = new BoundedBuffer(config.maxOutputBytes)
    let stop: Stop | undefined
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined
    let spawnError: NodeJS.ErrnoException | undefined
    let killTimer: NodeJS.Timeout | undefined
    let closeTimer: NodeJS.Timeout | undefined
    let settled = false

    const child = spawn(command.program, argv, {
      shell: false,
      detached: true,
      cwd: command.cwd,
      env: childEnv(command, context.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    })
    const pid = child.pid
    const streams: Readable[] = [child.stdout, child.stderr].filter((s): s is Readable => s !== null)
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk))
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk))

    const terminate = (why: Stop): void => {
      if (stop || exit || pid === undefined) return
      stop = why
      killGroup(pid, 'SIGTERM')
      killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), config.killGraceMs)
    }
    const timer = setTimeout(() => terminate({ kind: 'timeout', afterMs: timeoutMs }), timeoutMs)
    const onAbort = (): void => terminate({ kind: 'abort', reason: abortReason(context.signal) })
    context.signal.addEventListener('abort', onAbort, { once: true })

    const finish = (): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      clearTimeout(killTimer)
      clearTimeout(closeTimer)
      context.signal.removeEventListener('abort', onAbort)
      const output: Record<string, string> = { ...base, durationMs: String(Math.round(performance.now() - started)) }
      if (spawnError) {
        const code = spawnError.code ?? 'unknown'
        resolve(fail(!FINAL_SPAWN_ERRORS.has(code), `exec command "${command.name}" could not start ${command.program}: ${code}`, { ...output, error: code }))
        return
      }
      if (exit?.code !== null && exit?.code !== undefined) output.exitCode = String(exit.code)
      if (exit?.signal) output.signal = exit.signal
      output.stdout = stdout.text()
      output.stderr = stderr.text()
      if (stop) {
        output.timedOut = 'true'
        const detail = stop.kind === 'timeout' ? `timed out after ${stop.afterMs} ms` : `aborted (${stop.reason}) after ${output.durationMs} ms`
        resolve(fail(true, `exec command "${command.name}" ${detail}`, output))
        return
      }
      if (exit?.code === 0) {
        resolve({ ok: true, retriable: false, detail: `exec command "${command.name}" exited with code 0`, output })
        return
      }
      const how = exit?.signal ? `was killed by ${exit.signal}` : `exited with code ${String(exit?.code)}`
      resolve(fail(command.retryOnFailure, `exec command "${command.name}" ${how}`, output))
    }

    child.on('error', (err: NodeJS.ErrnoException) => {
      // Emitted when the spawn fails (no 'exit' follows) or a kill fails (ignored: killGroup does not use child.kill).
      if (pid === undefined) {
        spawnError = err
        finish()
      }
    })
    child.once('exit', (code, signal) => {
      exit = { code, signal }
      // The leader is gone; kill what it left behind in its group (background jobs).
      if (pid !== undefined) killGroup(pid, 'SIGKILL')
      // A process that left the group may still hold stdout open: do not wait on it forever.
      closeTimer = setTimeout(() => {
        for (const s of streams) s.destroy()
      }, CLOSE_GRACE_MS)
    })
    child.once('close', finish)
  })
}

/**
 * Creates the `exec` action handler. The request's `params.command` names the allowlisted
 * command to run. Results:
 * - exit 0 → ok;
 * - non-zero exit or killed by a signal → failed, retriable unless the command sets
 *   `retryOnFailure: false`;
 * - time limit (the smaller of the command's and the attempt's) or context abort → the
 *   group gets SIGTERM, then SIGKILL after `killGraceMs`; failed, retriable, `timedOut`;
 * - unknown command, missing placeholder, NUL in a value, program gone → failed, final.
 *
 * Output: `command`, `exitCode`, `signal`, `stdout`, `stderr` (each bounded by
 * `maxOutputBytes`, with a `…[truncated N bytes]` marker), `durationMs`, `timedOut`.
 * @throws ConfigError when the configuration is invalid.
 */
export function createExecHandler(config: ExecConfig): ActionHandler {
  const valid = validateExecConfig(config)
  const known = [...valid.commands.keys()].join(', ') || '(none)'
  return Object.freeze({
    name: 'exec',
    describe(request: ActionRequestRecord): string {
      const name = Object.hasOwn(request.params, 'command') ? request.params.command : undefined
      const command = name === undefined ? undefined : valid.commands.get(name)
      if (!command) return `exec: no allowlisted command "${name ?? ''}" (would fail)`
      const argv = buildArgv(command, request)
      if (!Array.isArray(argv)) return `exec ${command.name}: ${argv.detail}`
      return `exec ${command.name}: ${JSON.stringify([command.program, ...argv])}`
    },
    async run(request: ActionRequestRecord, context: HandlerContext): Promise<HandlerResult> {
      const name = Object.hasOwn(request.params, 'command') ? request.params.command : undefined
      if (name === undefined || name === '') return fail(false, `exec request has no params.command; expected one of: ${known}`)
      const command = valid.commands.get(name)
      if (!command) return fail(false, `exec command "${name}" is not allowlisted; expected one of: ${known}`, { command: name })
      const argv = buildArgv(command, request)
      if (!Array.isArray(argv)) return argv
      return run(valid, command, argv, context)
    },
  })
}
