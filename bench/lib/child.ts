import { fork, type ChildProcess } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { createInterface } from 'node:readline'
import type { Logger } from '../../src/log'
import type { ChildConfig, ChildStats } from './pipeline-child'

const CHILD = path.join(__dirname, 'pipeline-child.ts')

/** A JSON log line of the child, as pino wrote it. */
export interface ChildLogLine {
  level: number
  msg: string
  [key: string]: unknown
}

/**
 * A Nightshift process run by a benchmark (bench/lib/pipeline-child.ts), started with
 * `node --import tsx` so that its pid is the process measured. BENCH_CPU_PROF=<dir>
 * writes a CPU profile of it there (node --cpu-prof) when it exits.
 */
export class PipelineChild {
  private waiters: Array<(message: unknown) => void> = []

  private constructor(
    private readonly child: ChildProcess,
    readonly httpAddress: string | undefined,
    private readonly exited: Promise<number | null>,
    /** The child's log lines kept so far (the `keep` filter of {@link start}); grows as it logs. */
    readonly lines: ChildLogLine[],
  ) {
    child.on('message', (message) => {
      for (const w of this.waiters.splice(0)) w(message)
    })
  }

  get pid(): number {
    return this.child.pid!
  }

  /** Starts the child and waits until its app is ready; keeps the runner's log lines matching `keep`. */
  static async start(
    config: ChildConfig,
    log: Logger,
    options: { keep?: (line: ChildLogLine) => boolean; exposeGc?: boolean; timeoutMs?: number } = {},
  ): Promise<PipelineChild> {
    const execArgv = ['--import', 'tsx']
    if (options.exposeGc) execArgv.push('--expose-gc')
    const profDir = process.env.BENCH_CPU_PROF
    if (profDir) {
      mkdirSync(profDir, { recursive: true })
      execArgv.push('--cpu-prof', `--cpu-prof-dir=${profDir}`)
    }
    const child = fork(CHILD, [], {
      execArgv,
      env: { ...process.env, BENCH_CHILD: JSON.stringify(config) },
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    })
    const lines: ChildLogLine[] = []
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let line: ChildLogLine
      try {
        line = JSON.parse(text) as ChildLogLine
      } catch {
        return
      }
      if (line.level >= 40) log.warn({ child: child.pid, line }, 'from the benchmark child')
      if (options.keep?.(line)) lines.push(line)
    })
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    const ready = await new Promise<{ type: string; httpAddress?: string; error?: string }>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error('the benchmark child did not become ready in time'))
      }, options.timeoutMs ?? 60_000)
      child.once('message', (message: { type: string; httpAddress?: string; error?: string }) => {
        clearTimeout(timer)
        resolve(message)
      })
      void exited.then((code) => {
        clearTimeout(timer)
        reject(new Error(`the benchmark child exited with code ${code} before it was ready`))
      })
    })
    if (ready.type !== 'ready') {
      child.kill('SIGKILL')
      throw new Error(`the benchmark child failed to start: ${ready.error ?? JSON.stringify(ready)}`)
    }
    return new PipelineChild(child, ready.httpAddress, exited, lines)
  }

  /** CPU, memory and stage counters, as the child sees them (gc first when asked and exposed). */
  async stats(gc = false): Promise<ChildStats> {
    const reply = new Promise<unknown>((resolve) => this.waiters.push(resolve))
    this.child.send({ type: 'stats', gc })
    const message = (await reply) as ChildStats
    if (message.type !== 'stats')
      throw new Error(`unexpected message from the benchmark child: ${JSON.stringify(message)}`)
    return message
  }

  /** Stops the app and waits for the process to exit; kills it after `timeoutMs`. */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (this.child.exitCode !== null) return
    this.child.send({ type: 'stop' })
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs)
    await this.exited
    clearTimeout(timer)
  }
}
