/**
 * The Go bridge ingest is compared with: o11ydev/alertmanager2kafka (a fork of
 * fpytloun/alertmanager2kafka, itself from webdevops/alertmanager2es): an HTTP
 * server whose POST /webhook writes each Alertmanager notification, as one JSON
 * message per group, to one Kafka topic with segmentio/kafka-go.
 *
 * Built from the Go module proxy into .stack/bench/alertmanager2kafka (git-ignored),
 * once; later runs reuse the binary. When it cannot be built (no Go, the proxy does not
 * serve the module), {@link buildBridge} says why and the benchmark skips the comparison.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { promisify } from 'node:util'
import { ROOT } from './lib/context'

const execFileAsync = promisify(execFile)

/** The fork's own path; its go.mod still declares the upstream path. */
export const BRIDGE_MODULE = 'github.com/o11ydev/alertmanager2kafka'
const DECLARED_PATH = 'github.com/fpytloun/alertmanager2kafka'
const CACHE = path.join(ROOT, '.stack', 'bench', 'alertmanager2kafka')
const BINARY = path.join(CACHE, 'bin', 'alertmanager2kafka')
/** Flags of the bridge (config/opts.go): --kafka.host, --kafka.topic, --bind. */
export const BRIDGE_WEBHOOK = '/webhook'

export type BuildResult = { ok: true; binary: string; version: string } | { ok: false; reason: string }

function goEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOPROXY: 'https://proxy.golang.org',
    GOFLAGS: '-mod=mod',
    GOBIN: path.dirname(BINARY),
    GOMODCACHE: path.join(CACHE, 'gomod'),
    GOCACHE: path.join(CACHE, 'gocache'),
    GOPATH: path.join(CACHE, 'gopath'),
  }
}

async function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<string> {
  const { stdout } = await execFileAsync(cmd, args, {
    cwd,
    env: goEnv(),
    timeout: timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  })
  return stdout.trim()
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: string; message?: string }
  const text = (e.stderr && e.stderr.trim()) || e.message || String(err)
  return text
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .slice(0, 2)
    .join(' ')
}

/** Finds `go`; as root, tries Debian's golang-go once (bounded) when it is missing. */
async function findGo(): Promise<string | undefined> {
  try {
    await execFileAsync('go', ['version'], { timeout: 10_000 })
    return 'go'
  } catch {
    // not on PATH
  }
  if (process.getuid?.() !== 0) return undefined
  try {
    await execFileAsync('apt-get', ['install', '-y', '-q', 'golang-go'], {
      timeout: 180_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    })
    await execFileAsync('go', ['version'], { timeout: 10_000 })
    return 'go'
  } catch {
    return undefined
  }
}

/**
 * Builds the bridge (or finds it built). `go install <module>@latest` first; the fork's
 * go.mod declares the upstream path, which `go install` refuses, so then a throwaway
 * module builds the upstream path with a `replace` pointing at the fork's version.
 */
export async function buildBridge(): Promise<BuildResult> {
  if (existsSync(BINARY)) return { ok: true, binary: BINARY, version: 'cached build' }
  const go = await findGo()
  if (!go) return { ok: false, reason: 'go not found: install golang-go to compare with alertmanager2kafka' }
  mkdirSync(CACHE, { recursive: true })
  let version: string
  try {
    version = await run(go, ['list', '-m', '-f', '{{.Version}}', `${BRIDGE_MODULE}@latest`], CACHE, 120_000)
  } catch (err) {
    return { ok: false, reason: `${BRIDGE_MODULE} could not be fetched from the Go module proxy: ${firstLine(err)}` }
  }
  try {
    await run(go, ['install', `${BRIDGE_MODULE}@${version}`], CACHE, 600_000)
    return { ok: true, binary: BINARY, version }
  } catch (err) {
    if (!/declares its path as/.test(firstLine(err)))
      return { ok: false, reason: `go install ${BRIDGE_MODULE}@${version} failed: ${firstLine(err)}` }
  }
  const wrapper = path.join(CACHE, 'wrapper')
  mkdirSync(wrapper, { recursive: true })
  writeFileSync(
    path.join(wrapper, 'go.mod'),
    [
      'module nightshift.bench/alertmanager2kafka-build',
      '',
      'go 1.20',
      '',
      `require ${DECLARED_PATH} v0.0.0-00010101000000-000000000000`,
      '',
      `replace ${DECLARED_PATH} => ${BRIDGE_MODULE} ${version}`,
      '',
    ].join('\n'),
  )
  try {
    await run(go, ['mod', 'download', 'all'], wrapper, 600_000)
    await run(go, ['build', '-o', BINARY, DECLARED_PATH], wrapper, 600_000)
    return { ok: true, binary: BINARY, version }
  } catch (err) {
    return { ok: false, reason: `building ${BRIDGE_MODULE}@${version} failed: ${firstLine(err)}` }
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

/** A running bridge; `url` is its webhook. */
export interface RunningBridge {
  url: string
  pid: number
  stop(): Promise<void>
}

/** Starts the bridge against `broker`, writing to `topic`, and waits for /healthz. */
export async function startBridge(binary: string, broker: string, topic: string): Promise<RunningBridge> {
  const port = await freePort()
  const child: ChildProcess = spawn(
    binary,
    [`--kafka.host=${broker}`, `--kafka.topic=${topic}`, `--bind=127.0.0.1:${port}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)))
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  const deadline = Date.now() + 15_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`alertmanager2kafka exited with code ${child.exitCode}: ${stderr}`)
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) })
      if (res.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`alertmanager2kafka did not answer /healthz within 15 s: ${stderr}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    url: `http://127.0.0.1:${port}${BRIDGE_WEBHOOK}`,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
}
