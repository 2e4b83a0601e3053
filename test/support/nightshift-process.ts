import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import path from 'node:path'
import { formatLogLine } from '../../src/log'
import { testLogSink } from './test-logs'

const root = path.resolve(__dirname, '..', '..')

/** A `nightshift` command running as a real child process, with its output lines. */
export interface NightshiftProcess {
  child: ChildProcessWithoutNullStreams
  lines: string[]
  /** Resolves with the exit code once the process ended and its output was read. */
  exited: Promise<number | null>
  /** Parsed pino lines whose msg is `msg`. */
  logs(msg: string): Array<Record<string, unknown>>
}

/** Runs `nightshift <args>` (src/main.ts through tsx) with extra environment. */
export function startNightshift(args: string[], env: NodeJS.ProcessEnv = {}): NightshiftProcess {
  // tsx as a loader, not its CLI: the CLI runs the program in a grandchild, which a
  // SIGKILL of the CLI would leave running.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: root,
    // JSON whatever the caller's LOG_FORMAT: tests read these lines with logs().
    env: { ...process.env, LOG_LEVEL: 'info', LOG_FORMAT: 'json', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  // The child's lines go with the test's own (shown if the test fails), tagged with its pid.
  const sink = testLogSink()
  const keep = (line: string) => {
    lines.push(line)
    sink?.write(`[nightshift ${child.pid}] ${formatLogLine(line)}`)
  }
  let partial = ''
  const onData = (d: Buffer) => {
    const text = partial + d.toString()
    const parts = text.split('\n')
    partial = parts.pop() ?? ''
    for (const part of parts) if (part) keep(part)
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      if (partial) keep(partial)
      resolve(code)
    }),
  )
  const logs = (msg: string) =>
    lines
      .filter((l) => l.startsWith('{') && l.includes(`"msg":"${msg}"`))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
  return { child, lines, exited, logs }
}
