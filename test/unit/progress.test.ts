import { createProgress } from '../../src/progress'

function sink(isTTY: boolean) {
  const out: string[] = []
  return { out, stream: { isTTY, write: (text: string) => out.push(text) } }
}

describe('createProgress', () => {
  test('in a log: steps are lines, counters at most every interval, the last one always', () => {
    let now = 0
    const { out, stream } = sink(false)
    const p = createProgress({ stream, now: () => now, plainIntervalMs: 2000 })
    p.step('registering 4 schemas')
    p.update(1, 4, 'a') // printed: first counter
    now = 500
    p.update(2, 4, 'b') // within the interval: not printed
    now = 2600
    p.update(3, 4, 'c') // printed
    now = 2700
    p.update(4, 4, 'd') // finished: printed
    now = 3000
    p.done()
    expect(out.join('')).toBe(
      ['→ registering 4 schemas', '  1/4 a', '  3/4 c', '  4/4 d', '✓ registering 4 schemas (3.0 s)', ''].join('\n'),
    )
  })

  test.each([
    ['done with a message', (p: ReturnType<typeof createProgress>) => p.done('12 created'), '✓ 12 created\n'],
    ['fail', (p: ReturnType<typeof createProgress>) => p.fail('broker gone'), '✗ broker gone\n'],
  ])('%s replaces the step line', (_name, end, last) => {
    const { out, stream } = sink(false)
    const p = createProgress({ stream, now: () => 0 })
    p.step('work')
    end(p)
    expect(out).toEqual(['→ work\n', last])
  })

  test('a new step ends the previous one; without a total the counter has no slash', () => {
    let now = 0
    const { out, stream } = sink(false)
    const p = createProgress({ stream, now: () => now })
    p.step('one')
    p.update(7, undefined, 'records')
    now = 12_400
    p.step('two')
    expect(out).toEqual(['→ one\n', '  7 records\n', '✓ one (12 s)\n', '→ two\n'])
  })

  test('at a terminal the counter is rewritten in place and cleared before the next line', () => {
    const { out, stream } = sink(true)
    const p = createProgress({ stream, now: () => 0 })
    p.step('replaying')
    p.update(1, 2)
    p.update(2, 2)
    p.note('hello')
    expect(out).toEqual(['→ replaying\n', '\r\x1b[2K  1/2', '\r\x1b[2K  2/2', '\r\x1b[2K', '  hello\n'])
  })

  test('quiet prints nothing', () => {
    const { out, stream } = sink(false)
    const p = createProgress({ stream, quiet: true })
    p.step('x')
    p.update(1, 1)
    p.note('n')
    p.done()
    p.fail('f')
    expect(out).toEqual([])
  })
})
