import { startNightshift } from '../support/nightshift-process'
import { uniqueName, waitFor } from '../support/kafka'
import { provisionTopology, type TestTopology } from '../support/topology'
import { STAGES } from '../../src/topology/names'

describe('the nightshift process', () => {
  let t: TestTopology
  beforeAll(async () => {
    t = await provisionTopology(`${uniqueName('process')}.`, 1)
  })
  afterAll(async () => {
    await t.cleanup()
  })

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'starts against the stack, logs with pino, and stops cleanly on %s',
    async (signal) => {
      const proc = startNightshift(['run', '--prefix', t.prefix, '--http-port', '0'])
      await waitFor(
        'the ready log line',
        () => (proc.lines.some((l) => l.includes('"nightshift ready"')) ? true : undefined),
        30000,
      )
      const ready = JSON.parse(proc.lines.find((l) => l.includes('"nightshift ready"'))!) as Record<string, unknown>
      expect(ready).toMatchObject({
        level: 30,
        module: 'app',
        brokers: expect.any(Array) as unknown,
        stages: [...STAGES],
        prefix: t.prefix,
      })
      proc.child.kill(signal)
      expect(await proc.exited).toBe(0)
      expect(proc.lines.some((l) => l.includes('"nightshift stopped"'))).toBe(true)
    },
  )

  it('fails with a clear error and a non-zero exit when Kafka is unreachable', async () => {
    const proc = startNightshift(['run'], { KAFKA_BROKERS: '127.0.0.1:1', NIGHTSHIFT_READY_TIMEOUT_MS: '1500' })
    expect(await proc.exited).toBe(1)
    expect(proc.lines.join('\n')).toMatch(/Kafka at 127\.0\.0\.1:1 did not answer .*\[NS_KAFKA_UNAVAILABLE\]/)
  })

  it('refuses to run a stage whose topics do not exist, saying what to do', async () => {
    const proc = startNightshift(['run', '--stage', 'dedup', '--prefix', `${uniqueName('absent')}.`])
    expect(await proc.exited).toBe(1)
    expect(proc.lines.join('\n')).toMatch(
      /stage dedup needs topic\(s\) .*alerts\.raw.*which do not exist; run `nightshift topology apply` \[NS_CONFIG\]/,
    )
  })
})
