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
 * {@link runProgram} is that child-process machinery; other actions that start a
 * program (thread-dump's jcmd) use it rather than a second spawn/kill implementation.
 */
import { spawn } from 'node:child_process'
import type { Readable } from 'node:stream'
import type { ActionRequestRecord } from '../../contracts/records'
import type { ActionHandler, HandlerContext, HandlerResult } from './types'
import {
  fillExecTemplate,
  validateExecConfig,
  type ExecCommand,
  type ExecConfig,
  type ValidExecConfig,
} from './exec-config'

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

  captured(): CapturedOutput {
    return { text: this.text(), droppedBytes: this.dropped }
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

/** Why a program was stopped before it exited by itself. */
export type ProgramStop = { kind: 'timeout'; afterMs: number } | { kind: 'abort'; reason: string }

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
      return fail(
        false,
        `exec command "${command.name}": argument ${i} contains a NUL character, which a program argument cannot carry`,
        { command: command.name },
      )
    }
    argv.push(filled.value)
  }
  if (missing.length > 0) {
    return fail(false, `exec command "${command.name}": the request lacks ${missing.join(', ')}`, {
      command: command.name,
      missing: missing.join(','),
    })
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

/** How to run one program with {@link runProgram}. */
export interface RunProgramOptions {
  /** Absolute path; run directly (`shell: false`), never looked up in PATH. */
  program: string
  /** Each entry is exactly one argv entry. */
  args: readonly string[]
  /** The child's whole environment (nothing is inherited from the worker). */
  env: Record<string, string>
  /** Working directory; default: the worker's. */
  cwd?: string
  /** Time limit; the group gets SIGTERM when it passes. */
  timeoutMs: number
  /** Time between SIGTERM and SIGKILL when the program is stopped. */
  killGraceMs: number
  /** Aborting it stops the program like the time limit does. */
  signal: AbortSignal
  /** Bytes of stdout kept; the rest is read and counted. */
  maxStdoutBytes: number
  /** Bytes of stderr kept; the rest is read and counted. */
  maxStderrBytes: number
}

/** A stream's kept bytes as text (with a `…[truncated N bytes]` marker when cut) and how many bytes were dropped. */
export interface CapturedOutput {
  text: string
  droppedBytes: number
}

/** What became of a program run by {@link runProgram}. */
export type ProgramRun =
  /** The signal was already aborted: nothing was started. */
  | { kind: 'not-started'; reason: string }
  /** spawn failed (`code` is the errno code); `final` when a retry cannot fix it (ENOENT, EACCES, …). */
  | { kind: 'spawn-failed'; code: string; final: boolean; durationMs: number }
  /** The program ran; `stop` says whether it was stopped (time limit, abort) rather than exiting by itself. */
  | {
      kind: 'exited'
      exitCode: number | null
      signal: NodeJS.Signals | null
      stop: ProgramStop | undefined
      stdout: CapturedOutput
      stderr: CapturedOutput
      durationMs: number
    }

/**
 * Runs one program the way every action that starts a process must: no shell, an argv
 * array, an explicit environment, its own process group, and the whole group killed
 * (SIGTERM, then SIGKILL after the grace) when the time limit passes or the signal aborts,
 * and SIGKILLed when the leader exits, so no grandchild outlives the run. Output is
 * bounded. Never rejects.
 */
export function runProgram(options: RunProgramOptions): Promise<ProgramRun> {
  const { signal, timeoutMs, killGraceMs } = options
  if (signal.aborted) return Promise.resolve({ kind: 'not-started', reason: abortReason(signal) })

  return new Promise<ProgramRun>((resolve) => {
    const started = performance.now()
    const stdout = new BoundedBuffer(options.maxStdoutBytes)
    const stderr = new BoundedBuffer(options.maxStderrBytes)
    let stop: ProgramStop | undefined
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined
    let spawnError: NodeJS.ErrnoException | undefined
    let killTimer: NodeJS.Timeout | undefined
    let closeTimer: NodeJS.Timeout | undefined
    let settled = false

    const child = spawn(options.program, options.args, {
      shell: false,
      detached: true,
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    })
    const pid = child.pid
    const streams: Readable[] = [child.stdout, child.stderr].filter((s): s is Readable => s !== null)
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk))
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk))

    const terminate = (why: ProgramStop): void => {
      if (stop || exit || pid === undefined) return
      stop = why
      killGroup(pid, 'SIGTERM')
      killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), killGraceMs)
    }
    const timer = setTimeout(() => terminate({ kind: 'timeout', afterMs: timeoutMs }), timeoutMs)
    const onAbort = (): void => terminate({ kind: 'abort', reason: abortReason(signal) })
    signal.addEventListener('abort', onAbort, { once: true })

    const finish = (): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      clearTimeout(killTimer)
      clearTimeout(closeTimer)
      signal.removeEventListener('abort', onAbort)
      const durationMs = Math.round(performance.now() - started)
      if (spawnError) {
        const code = spawnError.code ?? 'unknown'
        resolve({ kind: 'spawn-failed', code, final: FINAL_SPAWN_ERRORS.has(code), durationMs })
        return
      }
      resolve({
        kind: 'exited',
        exitCode: exit?.code ?? null,
        signal: exit?.signal ?? null,
        stop,
        stdout: stdout.captured(),
        stderr: stderr.captured(),
        durationMs,
      })
    }

    child.on('error', (err: NodeJS.ErrnoException) => {
      // Emitted when the spawn fails (no 'exit' follows) or a kill fails (ignored: killGroup does not use child.kill).
      if (pid === undefined) {
        spawnError = err
        finish()
      }
    })
    child.once('exit', (code, exitSignal) => {
      exit = { code, signal: exitSignal }
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

async function run(
  config: ValidExecConfig,
  command: ExecCommand,
  argv: string[],
  context: HandlerContext,
): Promise<HandlerResult> {
  const limits = [command.timeoutMs, context.timeoutMs].filter(
    (t): t is number => t !== undefined && Number.isFinite(t) && t > 0,
  )
  const timeoutMs = limits.length > 0 ? Math.min(...limits) : DEFAULT_EXEC_TIMEOUT_MS
  const base = { command: command.name }
  const ran = await runProgram({
    program: command.program,
    args: argv,
    env: childEnv(command, context.env),
    ...(command.cwd !== undefined ? { cwd: command.cwd } : {}),
    timeoutMs,
    killGraceMs: config.killGraceMs,
    signal: context.signal,
    maxStdoutBytes: config.maxOutputBytes,
    maxStderrBytes: config.maxOutputBytes,
  })
  if (ran.kind === 'not-started')
    return fail(true, `exec command "${command.name}" was not started: ${ran.reason}`, { ...base, timedOut: 'true' })
  const output: Record<string, string> = { ...base, durationMs: String(ran.durationMs) }
  if (ran.kind === 'spawn-failed') {
    return fail(!ran.final, `exec command "${command.name}" could not start ${command.program}: ${ran.code}`, {
      ...output,
      error: ran.code,
    })
  }
  if (ran.exitCode !== null) output.exitCode = String(ran.exitCode)
  if (ran.signal) output.signal = ran.signal
  output.stdout = ran.stdout.text
  output.stderr = ran.stderr.text
  if (ran.stop) {
    output.timedOut = 'true'
    const detail =
      ran.stop.kind === 'timeout'
        ? `timed out after ${ran.stop.afterMs} ms`
        : `aborted (${ran.stop.reason}) after ${output.durationMs} ms`
    return fail(true, `exec command "${command.name}" ${detail}`, output)
  }
  if (ran.exitCode === 0)
    return { ok: true, retriable: false, detail: `exec command "${command.name}" exited with code 0`, output }
  const how = ran.signal ? `was killed by ${ran.signal}` : `exited with code ${String(ran.exitCode)}`
  return fail(command.retryOnFailure, `exec command "${command.name}" ${how}`, output)
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
      if (name === undefined || name === '')
        return fail(false, `exec request has no params.command; expected one of: ${known}`)
      const command = valid.commands.get(name)
      if (!command)
        return fail(false, `exec command "${name}" is not allowlisted; expected one of: ${known}`, { command: name })
      const argv = buildArgv(command, request)
      if (!Array.isArray(argv)) return argv
      return run(valid, command, argv, context)
    },
  })
}
