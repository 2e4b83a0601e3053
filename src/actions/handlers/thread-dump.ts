/**
 * The `thread-dump` action: takes a JVM thread dump and stores it as a file under the
 * artifacts folder, for the humans who look at the incident later. Two sources:
 * - `params.url`: a Spring Boot actuator threaddump endpoint, `GET` with
 *   `Accept: text/plain` (the jstack-like text format);
 * - `params.pid`: a local JVM, `jcmd <pid> Thread.print` run by exec.ts's
 *   {@link runProgram} (no shell, argv array, own process group killed on timeout/abort).
 *
 * What must hold:
 * - the file is `thread-dumps/<service>/<UTC time>-<fingerprint[0:12]>-<random>.txt`
 *   under the artifacts folder, with service and fingerprint reduced to `[A-Za-z0-9._-]`
 *   (never `.` or `..`), so no label value can place it elsewhere;
 * - a dump appears complete or not at all: it is written to a hidden temporary name and
 *   renamed, and the temporary file is removed when anything fails;
 * - a dump is bounded by `maxBytes`; a longer one keeps what fits, ends with a
 *   `…[truncated N bytes]` marker and says `truncated` in the output.
 */
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { ActionRequestRecord } from '../../contracts/records'
import { ConfigError } from '../../errors'
import { DEFAULT_CHILD_PATH, DEFAULT_EXEC_TIMEOUT_MS, runProgram } from './exec'
import { DEFAULT_KILL_GRACE_MS, DEFAULT_MAX_OUTPUT_BYTES, executableFileProblem } from './exec-config'
import {
  attemptHttp,
  fillConfiguredHeaders,
  isRecord,
  ownString,
  parseHttpUrl,
  redactUrl,
  validateHeaderMap,
} from './http'
import type { ActionHandler, HandlerContext, HandlerResult } from './types'

/** Bytes of a dump kept by default (32 MiB). */
export const DEFAULT_THREAD_DUMP_MAX_BYTES = 32 * 1024 * 1024
/** Largest `maxBytes` accepted: a dump is held in memory before it is written. */
export const MAX_THREAD_DUMP_MAX_BYTES = 256 * 1024 * 1024
/** jcmd when neither the config nor JAVA_HOME names one. */
export const DEFAULT_JCMD = '/usr/bin/jcmd'
/** Folder under the artifacts folder that holds the dumps, one subfolder per service. */
export const THREAD_DUMPS_FOLDER = 'thread-dumps'

/** The `thread-dump` action's configuration (`actions.thread-dump.config` in topology/actions.yaml). */
export interface ThreadDumpConfig {
  /** Bytes of a dump kept (positive integer, at most 256 MiB). Default 32 MiB. */
  maxBytes?: number
  /**
   * Absolute path of jcmd, for `params.pid`. Default: `$JAVA_HOME/bin/jcmd` (JAVA_HOME
   * as set when the config is validated), else /usr/bin/jcmd.
   */
  jcmd?: string
  /** Headers sent to the actuator (e.g. `Authorization: Bearer ${env:ADMIN_TOKEN}`). */
  headers?: Record<string, string>
}

interface ValidThreadDumpConfig {
  readonly maxBytes: number
  readonly jcmd: string
  readonly headers: Readonly<Record<string, string>>
}

const AT = 'thread-dump.config'
const TOP_KEYS = ['maxBytes', 'jcmd', 'headers']
/** Headers the handler sets itself; a configured one would be sent twice. */
const SET_BY_HANDLER = ['accept']
/** A process id jcmd takes as one JVM (0 would mean every JVM of the user). */
const PID = /^[1-9][0-9]{0,9}$/
const SERVICE_MAX = 64
const FINGERPRINT_CHARS = 12
/** Bytes of an error answer or of jcmd's stdout kept in a failed attempt's output. */
const FAILURE_OUTPUT_BYTES = DEFAULT_MAX_OUTPUT_BYTES
/** File errors a retry cannot fix. */
const FINAL_FILE_ERRORS = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR'])

/**
 * Validates the configuration; undefined or null means all defaults. A configured jcmd
 * must be an executable file; the default one is only looked for when a dump needs it.
 * @throws ConfigError listing every problem, each naming its path (`thread-dump.config.<path>`) and what is wrong.
 */
function validateThreadDumpConfig(
  config: unknown,
  env: Readonly<Record<string, string | undefined>>,
): ValidThreadDumpConfig {
  const problems: string[] = []
  const raw: Record<string, unknown> = config === undefined || config === null ? {} : isRecord(config) ? config : {}
  if (config !== undefined && config !== null && !isRecord(config)) problems.push(`${AT}: must be an object`)
  for (const key of Object.keys(raw)) {
    if (!TOP_KEYS.includes(key)) problems.push(`${AT}.${key}: is not allowed; expected one of: ${TOP_KEYS.join(', ')}`)
  }
  let maxBytes = DEFAULT_THREAD_DUMP_MAX_BYTES
  if (raw.maxBytes !== undefined) {
    const value = raw.maxBytes
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0 || value > MAX_THREAD_DUMP_MAX_BYTES) {
      problems.push(
        `${AT}.maxBytes: must be a positive integer of at most ${MAX_THREAD_DUMP_MAX_BYTES} (bytes), got ${JSON.stringify(value)}`,
      )
    } else maxBytes = value
  }
  const javaHome = env.JAVA_HOME
  let jcmd = javaHome && path.isAbsolute(javaHome) ? path.join(javaHome, 'bin', 'jcmd') : DEFAULT_JCMD
  if (raw.jcmd !== undefined) {
    const bad = executableFileProblem(raw.jcmd)
    if (bad) problems.push(`${AT}.jcmd: ${bad}`)
    else jcmd = raw.jcmd as string
  }
  const headers =
    raw.headers === undefined ? {} : validateHeaderMap(raw.headers, `${AT}.headers`, problems, SET_BY_HANDLER)
  if (problems.length > 0) throw new ConfigError(`invalid thread-dump action config:\n  ${problems.join('\n  ')}`)
  return Object.freeze({ maxBytes, jcmd, headers: Object.freeze(headers) })
}

type Source = { readonly kind: 'http'; readonly url: string } | { readonly kind: 'jcmd'; readonly pid: string }

/** The source a request names, or why it names none (an empty param counts as not given). */
function sourceOf(request: ActionRequestRecord): Source | string {
  const url = ownString(request.params, 'url') || undefined
  const pid = ownString(request.params, 'pid') || undefined
  if (url !== undefined && pid !== undefined)
    return 'params.url and params.pid are both set; give one (url: an actuator threaddump endpoint, pid: a local JVM for jcmd)'
  if (url !== undefined) {
    const parsed = parseHttpUrl(url)
    return typeof parsed === 'string' ? `params.url: ${parsed}` : { kind: 'http', url }
  }
  if (pid !== undefined)
    return PID.test(pid)
      ? { kind: 'jcmd', pid }
      : `params.pid must be a process id (digits, not 0), got ${JSON.stringify(pid)}`
  return 'the request has neither params.url (an actuator threaddump endpoint) nor params.pid (a local JVM for jcmd)'
}

/**
 * `value` reduced to a safe single path segment: `[A-Za-z0-9._-]` (anything else → `_`),
 * at most `max` characters, never empty, `.` or `..`.
 */
export function safePathSegment(value: string, max: number): string {
  const safe = value.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, max)
  return safe === '' || /^\.+$/.test(safe) ? safe.replace(/\./g, '_') || '_' : safe
}

function serviceOf(request: ActionRequestRecord): string {
  const labels = request.alert.alert.labels
  const label = Object.hasOwn(labels, 'service') ? labels.service : undefined
  return safePathSegment(request.alert.service ?? label ?? 'unknown', SERVICE_MAX)
}

/** `20261125T031500Z`. */
function utcStamp(now: Date): string {
  return now
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/[-:]/g, '')
}

/** Where a dump of `request` taken at `now` goes, relative to the artifacts folder (always `/`-separated). */
function dumpPath(request: ActionRequestRecord, now: Date): string {
  const fingerprint = safePathSegment(request.alert.alert.fingerprint.slice(0, FINGERPRINT_CHARS), FINGERPRINT_CHARS)
  const random = crypto.randomBytes(3).toString('hex')
  return `${THREAD_DUMPS_FOLDER}/${serviceOf(request)}/${utcStamp(now)}-${fingerprint}-${random}.txt`
}

function fail(retriable: boolean, detail: string, output: Record<string, string> = {}): HandlerResult {
  return { ok: false, retriable, detail, output }
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…[cut]` : text
}

/** Lines that start a thread's section (`"name" #1 …`) in jstack-like text; 0 for other formats. */
function countThreads(text: string): number {
  let count = text.startsWith('"') ? 1 : 0
  for (let i = text.indexOf('\n"'); i !== -1; i = text.indexOf('\n"', i + 2)) count++
  return count
}

/** A dump read from its source, before it is stored. */
interface Dump {
  content: string
  droppedBytes: number
  /** What the source says about itself (httpStatus, exitCode, …). */
  output: Record<string, string>
  /** The source in the detail: `GET http://…` or `jcmd 1234 Thread.print`. */
  what: string
}

async function fromHttp(
  config: ValidThreadDumpConfig,
  url: string,
  context: HandlerContext,
): Promise<Dump | HandlerResult> {
  const what = `GET ${redactUrl(url)}`
  const base = { source: 'http' }
  const headers = fillConfiguredHeaders(config.headers, context.env, `${AT}.headers`)
  if (typeof headers === 'string') return fail(false, `thread-dump: ${headers}`, base)
  const { result, response } = await attemptHttp(
    what,
    {
      method: 'GET',
      url,
      headers: { ...headers, accept: 'text/plain' },
      signal: context.signal,
      maxResponseBytes: config.maxBytes,
    },
    base,
  )
  if (!result.ok || !response) {
    // An error page may be as large as a dump: keep the outcome small.
    if (result.output.responseBody !== undefined)
      result.output.responseBody = cut(result.output.responseBody, FAILURE_OUTPUT_BYTES)
    return result
  }
  const marker = response.complete === undefined ? /…\[truncated (\d+) bytes\]$/.exec(response.body) : null
  return {
    content: response.body,
    droppedBytes: marker ? Number(marker[1]) : 0,
    output: { httpStatus: String(response.status), contentType: response.contentType },
    what,
  }
}

async function fromJcmd(
  config: ValidThreadDumpConfig,
  pid: string,
  context: HandlerContext,
): Promise<Dump | HandlerResult> {
  const what = `jcmd ${pid} Thread.print`
  const base = { source: 'jcmd', pid }
  const timeoutMs =
    Number.isFinite(context.timeoutMs) && context.timeoutMs > 0 ? context.timeoutMs : DEFAULT_EXEC_TIMEOUT_MS
  const env: Record<string, string> = { PATH: context.env.PATH ?? DEFAULT_CHILD_PATH }
  if (context.env.JAVA_HOME !== undefined) env.JAVA_HOME = context.env.JAVA_HOME
  const ran = await runProgram({
    program: config.jcmd,
    args: [pid, 'Thread.print'],
    env,
    timeoutMs,
    killGraceMs: DEFAULT_KILL_GRACE_MS,
    signal: context.signal,
    maxStdoutBytes: config.maxBytes,
    maxStderrBytes: FAILURE_OUTPUT_BYTES,
  })
  if (ran.kind === 'not-started')
    return fail(true, `${what} was not started: ${ran.reason}`, { ...base, timedOut: 'true' })
  const output: Record<string, string> = { ...base, durationMs: String(ran.durationMs) }
  if (ran.kind === 'spawn-failed')
    return fail(!ran.final, `${what}: could not start ${config.jcmd}: ${ran.code}`, { ...output, error: ran.code })
  if (ran.exitCode !== null) output.exitCode = String(ran.exitCode)
  if (ran.signal) output.signal = ran.signal
  if (ran.stop || ran.exitCode !== 0) {
    // jcmd reports most failures (no such process, attach refused) on stdout.
    output.stderr = ran.stderr.text
    output.stdout = cut(ran.stdout.text, FAILURE_OUTPUT_BYTES)
    if (ran.stop) {
      output.timedOut = 'true'
      const how =
        ran.stop.kind === 'timeout'
          ? `timed out after ${ran.stop.afterMs} ms`
          : `aborted (${ran.stop.reason}) after ${ran.durationMs} ms`
      return fail(true, `${what} ${how}`, output)
    }
    return fail(
      true,
      `${what} ${ran.signal ? `was killed by ${ran.signal}` : `exited with code ${String(ran.exitCode)}`}`,
      output,
    )
  }
  return { content: ran.stdout.text, droppedBytes: ran.stdout.droppedBytes, output, what }
}

/**
 * Writes `content` to `relative` under `dir` through a hidden temporary file, so the
 * file appears whole or not at all.
 * @returns undefined, or a failed result naming the file error.
 */
async function store(
  dir: string,
  relative: string,
  content: string,
  signal: AbortSignal,
): Promise<HandlerResult | undefined> {
  const root = path.resolve(dir)
  const file = path.resolve(root, relative)
  // safePathSegment already guarantees this; checked again because escaping would be bad.
  if (!file.startsWith(`${root}${path.sep}`))
    return fail(false, `thread-dump: ${relative} is not inside the artifacts folder`)
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.partial`)
  try {
    await fs.promises.mkdir(path.dirname(file), { recursive: true })
    await fs.promises.writeFile(temporary, content, { flag: 'wx', mode: 0o640, signal })
    await fs.promises.rename(temporary, file)
    return undefined
  } catch (err) {
    await fs.promises.rm(temporary, { force: true }).catch(() => undefined)
    if (signal.aborted) return fail(true, `thread-dump: stopped while storing ${relative}`, { error: 'aborted' })
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown'
    return fail(!FINAL_FILE_ERRORS.has(code), `thread-dump: could not store ${relative}: ${code}`, { error: code })
  }
}

/**
 * Creates the `thread-dump` action handler. Request params: `url` (an actuator
 * threaddump endpoint) or `pid` (a local JVM, digits); other params are ignored. Results:
 * - dump stored → ok, `artifact` the file relative to the artifacts folder;
 * - neither or both params, a bad url or pid, a missing secret → failed, final;
 * - HTTP failures as mapped by http.ts; jcmd exiting non-zero, timing out or aborted →
 *   failed, retriable (stderr and the head of stdout in the output); jcmd missing → final.
 *
 * Output: `source` (http | jcmd), `artifact`, `bytes`, `threads` (thread headers
 * counted), `truncated` and `droppedBytes` when cut at `maxBytes`; `httpStatus` and
 * `contentType` (http); `pid`, `exitCode`, `durationMs` (jcmd).
 * @param env where JAVA_HOME is read for the default jcmd; default process.env.
 * @throws ConfigError when the configuration is invalid.
 */
export function createThreadDumpHandler(
  config: unknown,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ActionHandler {
  const valid = validateThreadDumpConfig(config, env)
  return Object.freeze({
    name: 'thread-dump',
    describe(request: ActionRequestRecord): string {
      const source = sourceOf(request)
      if (typeof source === 'string') return `thread-dump: ${source} (would fail)`
      const where = `${THREAD_DUMPS_FOLDER}/${serviceOf(request)}/…`
      return source.kind === 'http'
        ? `GET ${redactUrl(source.url)} → ${where}`
        : `jcmd ${source.pid} Thread.print → ${where}`
    },
    async run(request: ActionRequestRecord, context: HandlerContext): Promise<HandlerResult> {
      const source = sourceOf(request)
      if (typeof source === 'string') return fail(false, `thread-dump: ${source}`)
      const dump =
        source.kind === 'http' ? await fromHttp(valid, source.url, context) : await fromJcmd(valid, source.pid, context)
      if ('ok' in dump) return dump
      const relative = dumpPath(request, new Date())
      const failed = await store(context.artifactsDir, relative, dump.content, context.signal)
      if (failed) return { ...failed, output: { ...dump.output, source: source.kind, ...failed.output } }
      const bytes = Buffer.byteLength(dump.content)
      const threads = countThreads(dump.content)
      const output: Record<string, string> = {
        ...dump.output,
        source: source.kind,
        artifact: relative,
        bytes: String(bytes),
        threads: String(threads),
      }
      if (dump.droppedBytes > 0) {
        output.truncated = 'true'
        output.droppedBytes = String(dump.droppedBytes)
      }
      const truncated = dump.droppedBytes > 0 ? `, cut at ${valid.maxBytes} bytes` : ''
      return {
        ok: true,
        retriable: false,
        detail: `${dump.what}: ${threads} threads stored in ${relative} (${bytes} bytes${truncated})`,
        output,
        artifact: relative,
      }
    },
  })
}
