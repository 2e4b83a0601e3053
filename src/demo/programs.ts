/**
 * Running Debian's observability programs as children of the demo: finding the binaries,
 * a free port, starting a program with its output in a log file, waiting until it answers
 * `/-/ready`, reading its JSON API, stopping it. src/demo/observability.ts configures
 * Prometheus and Alertmanager on top of this.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { ConfigError, ERROR_CODES, NightshiftError } from '../errors'
import type { Logger } from '../log'
import { pause } from '../retry'

/** Binaries, from PATH unless PROMETHEUS_BIN / ALERTMANAGER_BIN / AMTOOL_BIN say otherwise. */
export function observabilityBinaries(env: NodeJS.ProcessEnv = process.env): {
  prometheus: string
  alertmanager: string
} {
  return {
    prometheus: env.PROMETHEUS_BIN ?? 'prometheus',
    alertmanager: env.ALERTMANAGER_BIN ?? 'prometheus-alertmanager',
  }
}

/** Alertmanager's command line client (package prometheus-alertmanager). */
export function amtoolBinary(env: NodeJS.ProcessEnv = process.env): string {
  return env.AMTOOL_BIN ?? 'amtool'
}

function onPath(program: string): boolean {
  if (program.includes('/')) return fs.existsSync(program)
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, program)))
}

/**
 * @throws ConfigError naming the apt packages when a binary is missing.
 */
export function checkObservabilityBinaries(env: NodeJS.ProcessEnv = process.env): {
  prometheus: string
  alertmanager: string
} {
  const bins = observabilityBinaries(env)
  const missing = Object.entries(bins)
    .filter(([, bin]) => !onPath(bin))
    .map(([, bin]) => bin)
  if (missing.length > 0) {
    throw new ConfigError(
      `${missing.join(' and ')} not found: install them with \`apt-get install prometheus prometheus-alertmanager\` (or set PROMETHEUS_BIN / ALERTMANAGER_BIN)`,
    )
  }
  return bins
}

/** A free TCP port on 127.0.0.1 (the OS picks; closed again before it is returned). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** A started program: its process, a promise of its exit, and where its output goes. */
export interface Child {
  name: string
  process: ChildProcess
  exited: Promise<void>
  logFile: string
}

export function startChild(name: string, bin: string, args: string[], logFile: string, log: Logger): Child {
  const out = fs.openSync(logFile, 'a')
  const child = spawn(bin, args, { stdio: ['ignore', out, out] })
  fs.closeSync(out)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.once('error', (err) => log.error({ program: name, err }, 'could not start'))
  return { name, process: child, exited, logFile }
}

/** SIGTERM, then SIGKILL after 10 s; resolves once it exited. */
export async function stopChild(child: Child): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return
  child.process.kill('SIGTERM')
  const killed = setTimeout(() => child.process.kill('SIGKILL'), 10_000)
  await child.exited
  clearTimeout(killed)
}

export function tailOf(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

/** GET of a Prometheus-style API (`{"status":"success","data":…}`): the data. */
export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
  if (!res.ok) throw new NightshiftError(ERROR_CODES.DEMO, `GET ${url}: HTTP ${res.status}`)
  const body = (await res.json()) as { status?: string; data?: T }
  if (body.status !== 'success' || body.data === undefined)
    throw new NightshiftError(ERROR_CODES.DEMO, `GET ${url}: ${JSON.stringify(body).slice(0, 200)}`)
  return body.data
}

/**
 * Resolves once `url/-/ready` answers 2xx; when it exits or `deadline` passes, stops it
 * and rejects with its log (a program that never got ready is of no use to anyone).
 */
export async function waitReady(child: Child, url: string, deadline: number): Promise<void> {
  try {
    await untilReady(child, url, deadline)
  } catch (err) {
    await stopChild(child)
    throw err
  }
}

async function untilReady(child: Child, url: string, deadline: number): Promise<void> {
  for (;;) {
    if (child.process.exitCode !== null) {
      throw new NightshiftError(
        ERROR_CODES.DEMO,
        `${child.name} exited with code ${child.process.exitCode}; its log (${child.logFile}):\n${tailOf(child.logFile)}`,
      )
    }
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })
      if (res.ok) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new NightshiftError(
        ERROR_CODES.DEMO,
        `${child.name} at ${url} not ready in time; its log (${child.logFile}):\n${tailOf(child.logFile)}`,
      )
    await pause(200)
  }
}

/**
 * Runs a program to its end; resolves with its stdout.
 * @throws NightshiftError with its stderr when it exits with another status than 0.
 */
export async function runProgram(bin: string, args: string[], timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err)
        reject(
          new NightshiftError(ERROR_CODES.DEMO, `${bin} ${args.join(' ')}: ${stderr.trim() || err.message}`, {
            cause: err,
          }),
        )
      else resolve(stdout)
    })
  })
}
