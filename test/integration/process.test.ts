import { spawn } from 'node:child_process'
import path from 'node:path'
import { waitFor } from '../support/kafka'

const root = path.resolve(__dirname, '..', '..')

/** Starts `nightshift run` as a real child process, collecting its output lines. */
function startNightshift(env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'src/main.ts', 'run'], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  child.stdout.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)))
  child.stderr.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)))
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  return { child, lines, exited }
}

describe('the nightshift process', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('starts against the stack, logs with pino, and stops cleanly on %s', async (signal) => {
    const proc = startNightshift()
    await waitFor('the ready log line', () => (proc.lines.some((l) => l.includes('"nightshift ready"')) ? true : undefined), 30000)
    const ready = JSON.parse(proc.lines.find((l) => l.includes('"nightshift ready"'))!) as Record<string, unknown>
    expect(ready).toMatchObject({ level: 30, module: 'app', brokers: expect.any(Array) as unknown })
    proc.child.kill(signal)
    expect(await proc.exited).toBe(0)
    expect(proc.lines.some((l) => l.includes('"nightshift stopped"'))).toBe(true)
  })

  it('fails with a clear error and a non-zero exit when Kafka is unreachable', async () => {
    const proc = startNightshift({ KAFKA_BROKERS: '127.0.0.1:1', NIGHTSHIFT_READY_TIMEOUT_MS: '1500' })
    expect(await proc.exited).toBe(1)
    expect(proc.lines.join('\n')).toMatch(/Kafka at 127\.0\.0\.1:1 did not answer .*\[NS_KAFKA_UNAVAILABLE\]/)
  })
})
