/**
 * Shared setup of the action handlers' unit tests (webhook, page, log-level, thread-dump,
 * exec): a recording HTTP server on a loopback port, a temporary folder, an
 * ActionRequest and a HandlerContext with fixed neutral values, and waiting helpers.
 * Each test file states only what differs: the action, how its server answers, limits.
 *
 * The `use…` functions register Jest hooks: call them at the top level of a test file.
 */
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import type { HandlerContext } from '../../src/actions/handlers/types'
import type { ActionRequestRecord, AlertRecord, EnrichedAlertRecord } from '../../src/contracts/records'
import { enrichedAlertRecord } from './records'

/** One request a {@link RecordingServer} received, its body read whole. */
export interface RecordedRequest {
  method: string
  /** The request target as sent: path and query, still percent-encoded. */
  url: string
  headers: http.IncomingHttpHeaders
  body: string
}

/** Answers a recorded request. Leaving `res` open makes the client wait (a hanging target). */
export type Respond = (request: RecordedRequest, res: http.ServerResponse) => void

/**
 * A real HTTP server standing in for the service or pager a handler calls: every request
 * is recorded (in arrival order) before `respond` answers it.
 */
export class RecordingServer {
  readonly received: RecordedRequest[] = []
  /** `http://127.0.0.1:<port>` once started. */
  base = ''
  private readonly server: http.Server

  constructor(respond: Respond) {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => {
        const request: RecordedRequest = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }
        this.received.push(request)
        respond(request, res)
      })
    })
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
    return this
  }

  /** Stops, dropping open connections (requests a test left hanging). */
  async stop(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

/** A {@link RecordingServer} started before the file's tests and stopped after them; `received` is emptied before each test. */
export function useRecordingServer(respond: Respond): RecordingServer {
  const server = new RecordingServer(respond)
  beforeAll(async () => {
    await server.start()
  })
  afterAll(async () => {
    await server.stop()
  })
  beforeEach(() => {
    server.received.length = 0
  })
  return server
}

/** A loopback port nothing listens on (it was free a moment ago): a connection to it is refused. */
export async function closedPort(): Promise<number> {
  const probe = http.createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as AddressInfo
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return port
}

/** A temporary folder; {@link useTempDir} makes it. */
export interface TempDir {
  /** Absolute path, set once the file's tests start. */
  readonly path: string
  /** Writes `name` in the folder (executable by default: scripts run as programs), returning its path. */
  write(name: string, text: string, mode?: number): string
}

/** A temporary folder made before the file's tests and removed, with everything in it, after them. */
export function useTempDir(prefix: string): TempDir {
  let dir = ''
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  })
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true })
  })
  return {
    get path(): string {
      return dir
    },
    write(name: string, text: string, mode = 0o755): string {
      const file = path.join(dir, name)
      fs.writeFileSync(file, text, { mode })
      return file
    },
  }
}

/** Overrides of an enriched alert; `alert` overrides are merged into the alert's defaults. */
export type AlertOverrides = Partial<Omit<EnrichedAlertRecord, 'alert'>> & { alert?: Partial<AlertRecord> }

/**
 * An ActionRequest as one handler receives it: fixed time, idempotency key `key-1`, route
 * `root` (handlers never read it), not dry-run; the alert from {@link enrichedAlertRecord}.
 * (Integration tests, which need unique keys per run, use actions.ts's `actionRequest`.)
 */
export function handlerRequest(
  action: string,
  params: Record<string, string>,
  alert: AlertOverrides = {},
  overrides: Partial<Pick<ActionRequestRecord, 'idempotencyKey' | 'route' | 'dryRun' | 'requestedAt'>> = {},
): ActionRequestRecord {
  return {
    idempotencyKey: 'key-1',
    action,
    route: 'root',
    params,
    dryRun: false,
    requestedAt: 1_764_000_000_000,
    alert: enrichedAlertRecord(alert),
    ...overrides,
  }
}

/** A HandlerContext: a signal never aborted, 10 s, the system temp folder, an empty env; `overrides` win. */
export function handlerContext(overrides: Partial<HandlerContext> = {}): HandlerContext {
  return { signal: new AbortController().signal, timeoutMs: 10_000, artifactsDir: os.tmpdir(), env: {}, ...overrides }
}

/** Polls `check` until it holds; throws naming `what` after `timeoutMs`. For things with no event to await (a child process, a request in flight). */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** A process is gone when it does not exist or is a zombie waiting for init to reap it. */
export function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return true
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
  } catch {
    return true
  }
}
