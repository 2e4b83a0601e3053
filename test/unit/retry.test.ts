import { ERROR_CODES, ConfigError, RetriableError } from '../../src/errors'
import { backoffDelay, pause, poll, retry, type RetryClock, type RetryEvent } from '../../src/retry'

/** A clock that advances only when slept on, and records every sleep. */
class FakeClock implements RetryClock {
  time = 0
  readonly sleeps: number[] = []

  now(): number {
    return this.time
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason
    this.sleeps.push(ms)
    this.time += ms
    await Promise.resolve()
    if (signal?.aborted) throw signal.reason
  }
}

const retriable = (message = 'broker away'): RetriableError =>
  new RetriableError(ERROR_CODES.KAFKA_UNAVAILABLE, message)

/** An operation that fails with each item of `script` in turn (an Error is thrown, anything else answered). */
function scripted<T>(script: Array<T | Error>): { op: (attempt: number) => Promise<T>; calls: number[] } {
  const calls: number[] = []
  return {
    calls,
    op: async (attempt) => {
      calls.push(attempt)
      const step = script[Math.min(attempt - 1, script.length - 1)]
      if (step instanceof Error) throw step
      return step as T
    },
  }
}

describe('backoffDelay', () => {
  const settings = { initialMs: 100, maxMs: 1000 }
  test.each([
    { attempt: 1, random: 1, expected: 100 },
    { attempt: 2, random: 1, expected: 200 },
    { attempt: 3, random: 1, expected: 400 },
    { attempt: 4, random: 1, expected: 800 },
    { attempt: 5, random: 1, expected: 1000 },
    { attempt: 40, random: 1, expected: 1000 },
    { attempt: 3, random: 0, expected: 0 },
    { attempt: 3, random: 0.5, expected: 200 },
    { attempt: 0, random: 1, expected: 100 },
    { attempt: 2, random: 7, expected: 200 },
    { attempt: 2, random: -1, expected: 0 },
  ])('attempt $attempt, random $random → $expected ms', ({ attempt, random, expected }) => {
    expect(backoffDelay(attempt, settings, random)).toBe(expected)
  })
})

describe('retry', () => {
  const base = { initialMs: 100, maxMs: 1000, random: () => 1 }

  test.each([
    {
      name: 'answers at once without sleeping',
      script: ['ok'],
      maxAttempts: 5,
      result: 'ok',
      calls: 1,
      sleeps: [],
    },
    {
      name: 'retries retriable errors with growing delays until it succeeds',
      script: [retriable(), retriable(), retriable(), 'ok'],
      maxAttempts: 5,
      result: 'ok',
      calls: 4,
      sleeps: [100, 200, 400],
    },
    {
      name: 'gives the last error after maxAttempts',
      script: [retriable('one'), retriable('two'), retriable('three')],
      maxAttempts: 3,
      error: 'three',
      calls: 3,
      sleeps: [100, 200],
    },
    {
      name: 'never retries an error that is not retriable',
      script: [new ConfigError('bad file'), 'ok'],
      maxAttempts: 5,
      error: 'bad file',
      calls: 1,
      sleeps: [],
    },
    {
      name: 'never retries a programmer error',
      script: [new TypeError('x is undefined'), 'ok'],
      maxAttempts: 5,
      error: 'x is undefined',
      calls: 1,
      sleeps: [],
    },
    {
      name: 'caps the delay at maxMs',
      script: [retriable(), retriable(), retriable(), retriable(), retriable(), retriable(), 'ok'],
      maxAttempts: 10,
      result: 'ok',
      calls: 7,
      sleeps: [100, 200, 400, 800, 1000, 1000],
    },
  ])('$name', async ({ script, maxAttempts, result, error, calls, sleeps }) => {
    const clock = new FakeClock()
    const { op, calls: made } = scripted<string>(script)
    const run = retry(op, { ...base, maxAttempts, clock })
    if (error === undefined) await expect(run).resolves.toBe(result)
    else await expect(run).rejects.toThrow(error)
    expect(made).toHaveLength(calls)
    expect(clock.sleeps).toEqual(sleeps)
  })

  test('full jitter: each delay is random() times the ceiling', async () => {
    const clock = new FakeClock()
    const randoms = [0.5, 0.25, 0]
    const { op } = scripted<string>([retriable(), retriable(), retriable(), 'ok'])
    await retry(op, { initialMs: 100, maxMs: 1000, clock, random: () => randoms.shift() ?? 1 })
    expect(clock.sleeps).toEqual([50, 50, 0])
  })

  test('retryValue: a refused value is retried, and the last one is answered when attempts run out', async () => {
    const clock = new FakeClock()
    const { op, calls } = scripted<{ ok: boolean; n: number }>([
      { ok: false, n: 1 },
      { ok: false, n: 2 },
      { ok: false, n: 3 },
    ])
    const value = await retry(op, { ...base, maxAttempts: 3, clock, retryValue: (v) => !v.ok })
    expect(value).toEqual({ ok: false, n: 3 })
    expect(calls).toEqual([1, 2, 3])
  })

  test('retryValue: an accepted value ends the retries', async () => {
    const clock = new FakeClock()
    const { op, calls } = scripted<{ ok: boolean }>([{ ok: false }, { ok: true }, { ok: false }])
    await expect(retry(op, { ...base, maxAttempts: 5, clock, retryValue: (v) => !v.ok })).resolves.toEqual({
      ok: true,
    })
    expect(calls).toEqual([1, 2])
  })

  test('a custom retriable predicate decides, with the attempt number', async () => {
    const clock = new FakeClock()
    const seen: number[] = []
    const { op, calls } = scripted<string>([new Error('flaky'), new Error('flaky'), new Error('flaky'), 'ok'])
    const run = retry(op, {
      ...base,
      clock,
      retriable: (_err, attempt) => {
        seen.push(attempt)
        return attempt < 2
      },
    })
    await expect(run).rejects.toThrow('flaky')
    expect(seen).toEqual([1, 2])
    expect(calls).toEqual([1, 2])
  })

  test('onRetry is told the attempt, the delay and what failed, before each delay', async () => {
    const clock = new FakeClock()
    const events: Array<RetryEvent<string> & { at: number }> = []
    const first = retriable('first')
    const { op } = scripted<string>([first, 'not yet', 'ok'])
    await retry(op, {
      ...base,
      clock,
      retryValue: (v) => v !== 'ok',
      onRetry: (event) => {
        events.push({ ...event, at: clock.now() })
      },
    })
    expect(events).toEqual([
      { attempt: 1, delayMs: 100, err: first, at: 0 },
      { attempt: 2, delayMs: 200, value: 'not yet', at: 100 },
    ])
  })

  test('an async onRetry is awaited before the delay', async () => {
    const clock = new FakeClock()
    const order: string[] = []
    const { op } = scripted<string>([retriable(), 'ok'])
    await retry(
      async (attempt) => {
        order.push(`attempt ${attempt}`)
        return op(attempt)
      },
      {
        ...base,
        clock: {
          now: () => clock.now(),
          sleep: async (ms, signal) => {
            order.push(`sleep ${ms}`)
            await clock.sleep(ms, signal)
          },
        },
        onRetry: async () => {
          await Promise.resolve()
          order.push('heartbeat')
        },
      },
    )
    expect(order).toEqual(['attempt 1', 'heartbeat', 'sleep 100', 'attempt 2'])
  })

  test('deadline: no delay is started that would end past it', async () => {
    const clock = new FakeClock()
    const { op, calls } = scripted<string>([retriable('a'), retriable('b'), retriable('c'), retriable('d'), 'ok'])
    // Sleeps 100 (t=100), 200 (t=300); the next (400) would end at 700 > 500.
    await expect(retry(op, { ...base, clock, deadlineMs: 500 })).rejects.toThrow('c')
    expect(calls).toEqual([1, 2, 3])
    expect(clock.sleeps).toEqual([100, 200])
  })

  test('an aborted signal before the first attempt throws its reason and runs nothing', async () => {
    const controller = new AbortController()
    controller.abort(new Error('shutting down'))
    const { op, calls } = scripted<string>(['ok'])
    await expect(retry(op, { ...base, clock: new FakeClock(), signal: controller.signal })).rejects.toThrow(
      'shutting down',
    )
    expect(calls).toEqual([])
  })

  test('an abort during a delay settles with the last outcome at once', async () => {
    const controller = new AbortController()
    const clock = new FakeClock()
    const { op, calls } = scripted<string>([retriable('still down')])
    const run = retry(op, {
      ...base,
      clock,
      signal: controller.signal,
      onRetry: ({ attempt }) => {
        if (attempt === 2) controller.abort(new Error('closing'))
      },
    })
    await expect(run).rejects.toThrow('still down')
    expect(calls).toEqual([1, 2])
  })

  test('an abort with a refused value answers that value', async () => {
    const controller = new AbortController()
    const { op } = scripted<string>(['failed, retriable'])
    const run = retry(op, {
      ...base,
      clock: new FakeClock(),
      signal: controller.signal,
      retryValue: () => true,
      onRetry: () => controller.abort(),
    })
    await expect(run).resolves.toBe('failed, retriable')
  })

  test('on the real clock an abort cuts a long delay short', async () => {
    const controller = new AbortController()
    const began = Date.now()
    const run = retry(
      async () => {
        throw retriable()
      },
      { initialMs: 60_000, maxMs: 60_000, random: () => 1, signal: controller.signal },
    )
    setImmediate(() => controller.abort())
    await expect(run).rejects.toThrow('broker away')
    expect(Date.now() - began).toBeLessThan(5_000)
  })
})

describe('pause', () => {
  test('waits on the clock', async () => {
    const clock = new FakeClock()
    await pause(250, undefined, clock)
    expect(clock.sleeps).toEqual([250])
  })

  test('resolves (does not reject) when the signal aborts', async () => {
    const controller = new AbortController()
    const waiting = pause(60_000, controller.signal)
    controller.abort()
    await expect(waiting).resolves.toBeUndefined()
  })
})

describe('poll', () => {
  test.each([
    { name: 'true at once', answers: [true], timeoutMs: 1000, result: true, checks: 1, sleeps: [] },
    {
      name: 'true on the third check',
      answers: [false, false, true],
      timeoutMs: 1000,
      result: true,
      checks: 3,
      sleeps: [100, 100],
    },
    {
      name: 'false when time runs out',
      answers: [false],
      timeoutMs: 250,
      result: false,
      checks: 4,
      sleeps: [100, 100, 50],
    },
    { name: 'one check with no time at all', answers: [false], timeoutMs: 0, result: false, checks: 1, sleeps: [] },
  ])('$name', async ({ answers, timeoutMs, result, checks, sleeps }) => {
    const clock = new FakeClock()
    let asked = 0
    const check = async () => answers[Math.min(asked++, answers.length - 1)]!
    await expect(poll(check, { intervalMs: 100, timeoutMs, clock })).resolves.toBe(result)
    expect(asked).toBe(checks)
    expect(clock.sleeps).toEqual(sleeps)
  })

  test('a throwing check ends the wait with its error', async () => {
    const clock = new FakeClock()
    let asked = 0
    const check = () => {
      asked += 1
      if (asked === 2) throw new Error('the process died')
      return false
    }
    await expect(poll(check, { intervalMs: 100, timeoutMs: 10_000, clock })).rejects.toThrow('the process died')
    expect(asked).toBe(2)
  })

  test('an abort answers false without another check', async () => {
    const controller = new AbortController()
    let asked = 0
    const waiting = poll(
      () => {
        asked += 1
        return false
      },
      { intervalMs: 60_000, timeoutMs: 120_000, signal: controller.signal },
    )
    controller.abort()
    await expect(waiting).resolves.toBe(false)
    expect(asked).toBe(1)
  })
})
