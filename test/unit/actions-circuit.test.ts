import {
  admit,
  circuitKey,
  CLOSED_CIRCUIT,
  record,
  type Circuit,
  type CircuitState,
} from '../../src/actions/worker/circuit'

const settings = { failureThreshold: 3, coolDownMs: 60_000 }

/** One step of a sequence: a request asking to run, or the result of one that ran. */
type Step = ['admit', number, boolean] | ['success' | 'failure', number]

/** Walks `steps` from `start`, checking each admission; returns the states after every step. */
function walk(steps: Step[], start?: Circuit): { states: CircuitState[]; circuit: Circuit | undefined } {
  let circuit = start
  const states: CircuitState[] = []
  for (const step of steps) {
    if (step[0] === 'admit') {
      const [, now, allowed] = step
      const a = admit(circuit, now, settings)
      expect({ now, allowed: a.allowed }).toEqual({ now, allowed })
      if (!a.allowed) expect(a.reason).toEqual(expect.any(String))
      circuit = a.circuit
    } else {
      circuit = record(circuit, step[0], step[1], settings)
    }
    states.push(circuit?.state ?? 'closed')
  }
  return { states, circuit }
}

const open = (openedAt: number, failures = 3): Circuit => ({
  state: 'open',
  consecutiveFailures: failures,
  openedAt,
  probeStartedAt: null,
})

describe('circuit breaker sequences', () => {
  it.each<[string, Step[], CircuitState[], Partial<Circuit>]>([
    [
      'N-1 failures stay closed',
      [
        ['failure', 1],
        ['failure', 2],
        ['admit', 3, true],
      ],
      ['closed', 'closed', 'closed'],
      { consecutiveFailures: 2 },
    ],
    [
      'the Nth failure opens',
      [
        ['failure', 1],
        ['failure', 2],
        ['failure', 3],
      ],
      ['closed', 'closed', 'open'],
      { consecutiveFailures: 3, openedAt: 3 },
    ],
    [
      'requests during the cool-down are refused',
      [
        ['failure', 1],
        ['failure', 2],
        ['failure', 3],
        ['admit', 4, false],
        ['admit', 60_002, false],
      ],
      ['closed', 'closed', 'open', 'open', 'open'],
      { state: 'open', openedAt: 3 },
    ],
    [
      'after the cool-down one probe is admitted, a second refused',
      [
        ['failure', 1],
        ['failure', 2],
        ['failure', 3],
        ['admit', 60_003, true],
        ['admit', 60_004, false],
      ],
      ['closed', 'closed', 'open', 'half_open', 'half_open'],
      { state: 'half_open', probeStartedAt: 60_003 },
    ],
    [
      'probe success closes and resets',
      [
        ['failure', 1],
        ['failure', 2],
        ['failure', 3],
        ['admit', 60_003, true],
        ['success', 60_010],
        ['admit', 60_011, true],
      ],
      ['closed', 'closed', 'open', 'half_open', 'closed', 'closed'],
      { state: 'closed', consecutiveFailures: 0, openedAt: null, probeStartedAt: null },
    ],
    [
      'probe failure re-opens and the cool-down restarts',
      [
        ['failure', 1],
        ['failure', 2],
        ['failure', 3],
        ['admit', 60_003, true],
        ['failure', 60_010],
        ['admit', 60_011, false],
        ['admit', 120_009, false],
        ['admit', 120_010, true],
      ],
      ['closed', 'closed', 'open', 'half_open', 'open', 'open', 'open', 'half_open'],
      { state: 'half_open', consecutiveFailures: 4, openedAt: 60_010 },
    ],
    [
      'success in closed resets the count',
      [
        ['failure', 1],
        ['failure', 2],
        ['success', 3],
        ['failure', 4],
        ['failure', 5],
      ],
      ['closed', 'closed', 'closed', 'closed', 'closed'],
      { consecutiveFailures: 2 },
    ],
    [
      'a straggler success while open does not close it',
      [
        ['failure', 1],
        ['failure', 2],
        ['failure', 3],
        ['success', 4],
        ['admit', 5, false],
      ],
      ['closed', 'closed', 'open', 'open', 'open'],
      { state: 'open', openedAt: 3 },
    ],
    [
      'a straggler failure while open counts but does not extend the cool-down',
      [
        ['failure', 1],
        ['failure', 2],
        ['failure', 3],
        ['failure', 30_000],
        ['admit', 60_003, true],
      ],
      ['closed', 'closed', 'open', 'open', 'half_open'],
      { consecutiveFailures: 4, openedAt: 3 },
    ],
  ])('%s', (_name, steps, states, expected) => {
    const result = walk(steps)
    expect(result.states).toEqual(states)
    expect(result.circuit).toMatchObject(expected)
  })
})

describe('time going backwards', () => {
  it.each<[string, Circuit, number, boolean]>([
    ['an older record time is refused while open', open(100_000), 50_000, false],
    ['an older record time long before opening is refused', open(100_000), 0, false],
    ['just before the cool-down ends is refused', open(100_000), 159_999, false],
    ['exactly at the end of the cool-down a probe runs', open(100_000), 160_000, true],
    [
      'an older time than the probe start does not admit a second probe',
      { state: 'half_open', consecutiveFailures: 3, openedAt: 0, probeStartedAt: 100_000 },
      10,
      false,
    ],
  ])('%s', (_name, circuit, now, allowed) => {
    expect(admit(circuit, now, settings).allowed).toBe(allowed)
  })

  it('a probe failure with an older record time re-opens from the probe start, not earlier', () => {
    const halfOpen: Circuit = { state: 'half_open', consecutiveFailures: 3, openedAt: 10_000, probeStartedAt: 80_000 }
    const reopened = record(halfOpen, 'failure', 5_000, settings)
    expect(reopened).toEqual({ state: 'open', consecutiveFailures: 4, openedAt: 80_000, probeStartedAt: null })
    expect(admit(reopened, 139_999, settings).allowed).toBe(false)
    expect(admit(reopened, 140_000, settings).allowed).toBe(true)
  })
})

describe('admit', () => {
  it('admits into a circuit never seen, unchanged', () => {
    expect(admit(undefined, 5, settings)).toEqual({ allowed: true, circuit: CLOSED_CIRCUIT, probe: false })
  })

  it('marks only the half-open request as the probe', () => {
    const a = admit(open(0), 60_000, settings)
    expect(a).toMatchObject({ allowed: true, probe: true, circuit: { state: 'half_open', probeStartedAt: 60_000 } })
  })

  it('admits a new probe when the last one never reported within a cool-down', () => {
    const halfOpen: Circuit = { state: 'half_open', consecutiveFailures: 3, openedAt: 0, probeStartedAt: 60_000 }
    expect(admit(halfOpen, 119_999, settings).allowed).toBe(false)
    expect(admit(halfOpen, 120_000, settings)).toMatchObject({
      allowed: true,
      probe: true,
      circuit: { state: 'half_open', probeStartedAt: 120_000 },
    })
  })

  it('says why it refused, with the failure count and when a probe may run', () => {
    expect(admit(open(0, 5), 1_000, settings).reason).toBe(
      'circuit open after 5 consecutive failures; a probe may run from 1970-01-01T00:01:00.000Z',
    )
  })

  it('does not mutate the stored circuit', () => {
    const stored = Object.freeze(open(0))
    expect(() => admit(stored, 60_000, settings)).not.toThrow()
    expect(() => record(stored, 'failure', 60_000, settings)).not.toThrow()
    expect(stored.state).toBe('open')
  })

  it('keeps the circuit JSON-serialisable', () => {
    const c = record(undefined, 'failure', 1, { failureThreshold: 1, coolDownMs: 10 })
    expect(JSON.parse(JSON.stringify(c))).toEqual(c)
  })

  it('opens on the first failure with a threshold of 1', () => {
    expect(record(undefined, 'failure', 7, { failureThreshold: 1, coolDownMs: 10 }).state).toBe('open')
  })
})

describe('circuitKey', () => {
  it.each([
    ['restart', 'checkout', 'restart/checkout'],
    ['restart', null, 'restart/-'],
  ])('circuitKey(%s, %s) = %s', (action, service, key) => {
    expect(circuitKey(action, service)).toBe(key)
  })
})
