import pino from 'pino'
import { runUntilSignal } from '../../src/cli/run-until-signal'

const log = pino({ level: 'silent' })

describe('runUntilSignal', () => {
  it('stops and throws the failure when a part of the process stops for good', async () => {
    const calls: string[] = []
    let fail: (err: Error) => void = () => undefined
    const failure = new Promise<Error>((resolve) => (fail = resolve))
    const running = runUntilSignal(
      log,
      async () => void calls.push('start'),
      async () => void calls.push('stop'),
      failure,
    )
    await new Promise((resolve) => setImmediate(resolve))
    expect(calls).toEqual(['start'])
    fail(new Error('Kafka refused access to consumer group g (GROUP_AUTHORIZATION_FAILED)'))
    await expect(running).rejects.toThrow(/GROUP_AUTHORIZATION_FAILED/)
    expect(calls).toEqual(['start', 'stop'])
  })

  it('a failure during start is the start error, not an unhandled rejection', async () => {
    const failure = Promise.resolve(new Error('refused while starting'))
    await expect(
      runUntilSignal(
        log,
        async () => {
          await new Promise((resolve) => setTimeout(resolve, 10))
          throw new Error('start failed')
        },
        async () => undefined,
        failure,
      ),
    ).rejects.toThrow(/start failed/)
  })

  it('ends on SIGTERM after a clean stop', async () => {
    const calls: string[] = []
    const running = runUntilSignal(
      log,
      async () => void calls.push('start'),
      async () => void calls.push('stop'),
    )
    await new Promise((resolve) => setImmediate(resolve))
    process.emit('SIGTERM', 'SIGTERM')
    await running
    expect(calls).toEqual(['start', 'stop'])
  })
})
