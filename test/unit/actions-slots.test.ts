import { Slots } from '../../src/actions/worker/slots'

/** Lets every settled promise run its callbacks. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/**
 * Acquisitions by name (`a1` takes key `a`), recording the order slots are granted in
 * and keeping each one's release.
 */
class Harness {
  readonly granted: string[] = []
  readonly releases = new Map<string, () => void>()

  constructor(readonly slots: Slots) {}

  acquire(...names: string[]): void {
    for (const name of names) {
      void this.slots.acquire(name.replace(/\d+$/, '')).then((release) => {
        this.granted.push(name)
        this.releases.set(name, release)
      })
    }
  }

  release(...names: string[]): void {
    for (const name of names) {
      const release = this.releases.get(name)
      if (!release) throw new Error(`${name} holds no slot`)
      release()
    }
  }
}

async function harness(total: number, perKey: number, ...names: string[]): Promise<Harness> {
  const h = new Harness(new Slots(total, perKey))
  h.acquire(...names)
  await flush()
  return h
}

describe('Slots: caps', () => {
  it.each<[string, number, number, string[], string[]]>([
    ['the total cap holds whatever the keys', 2, 10, ['a1', 'b1', 'c1', 'd1'], ['a1', 'b1']],
    ['the per-key cap holds under a larger total', 10, 1, ['a1', 'b1', 'a2', 'a3'], ['a1', 'b1']],
    ['a per-key cap of 2', 10, 2, ['a1', 'a2', 'b1', 'a3'], ['a1', 'a2', 'b1']],
    ['both caps of 1', 1, 1, ['a1', 'b1'], ['a1']],
    ['caps larger than the demand grant everything', 5, 5, ['a1', 'a2', 'b1'], ['a1', 'a2', 'b1']],
  ])('%s', async (_name, total, perKey, names, granted) => {
    const h = await harness(total, perKey, ...names)
    expect(h.granted).toEqual(granted)
    expect(h.slots.inUse).toBe(granted.length)
  })

  it('a per-key slot freed goes to a waiter of that key', async () => {
    const h = await harness(10, 1, 'a1', 'b1', 'a2')
    h.release('a1')
    await flush()
    expect(h.granted).toEqual(['a1', 'b1', 'a2'])
    expect(h.slots.inUse).toBe(2)
  })

  it('a slot freed on another key does not lift the per-key cap', async () => {
    const h = await harness(10, 1, 'a1', 'b1', 'a2')
    h.release('b1')
    await flush()
    expect(h.granted).toEqual(['a1', 'b1'])
    expect(h.slots.inUse).toBe(1)
  })
})

describe('Slots: order', () => {
  it('grants waiters first come, first served', async () => {
    const h = await harness(1, 5, 'a1', 'b1', 'c1', 'a2', 'd1')
    for (const name of ['a1', 'b1', 'c1', 'a2']) {
      h.release(name)
      await flush()
    }
    expect(h.granted).toEqual(['a1', 'b1', 'c1', 'a2', 'd1'])
  })

  it('several freed slots go to the oldest waiters, in order', async () => {
    const h = await harness(3, 5, 'a1', 'b1', 'c1', 'd1', 'e1', 'f1', 'g1')
    h.release('a1', 'b1')
    await flush()
    expect(h.granted).toEqual(['a1', 'b1', 'c1', 'd1', 'e1'])
  })

  it('a waiter for a busy key does not block a waiter for a free key', async () => {
    const h = await harness(2, 1, 'a1', 'c1', 'a2', 'b1')
    expect(h.granted).toEqual(['a1', 'c1'])
    h.release('c1')
    await flush()
    // a2 is first in line but a1 still holds key a: b1 gets the slot.
    expect(h.granted).toEqual(['a1', 'c1', 'b1'])
    h.release('a1')
    await flush()
    expect(h.granted).toEqual(['a1', 'c1', 'b1', 'a2'])
  })

  it('a granted waiter holds its slot at once: a newcomer cannot overtake it', async () => {
    const h = await harness(1, 1, 'a1', 'b1')
    h.release('a1')
    h.acquire('c1') // same tick as the release, before b1's promise callbacks run
    await flush()
    expect(h.granted).toEqual(['a1', 'b1'])
    expect(h.slots.inUse).toBe(1)
  })
})

describe('Slots: release', () => {
  it('is idempotent for the total count', async () => {
    const h = await harness(1, 5, 'a1')
    h.release('a1', 'a1', 'a1')
    expect(h.slots.inUse).toBe(0)
    h.acquire('b1', 'c1')
    await flush()
    expect(h.granted).toEqual(['a1', 'b1'])
    expect(h.slots.inUse).toBe(1)
  })

  it('is idempotent for the per-key count', async () => {
    const h = await harness(10, 1, 'a1')
    h.release('a1', 'a1')
    h.acquire('a2', 'a3')
    await flush()
    expect(h.granted).toEqual(['a1', 'a2'])
  })

  it('a second release after the slot went to a waiter frees nothing', async () => {
    const h = await harness(1, 1, 'a1', 'b1', 'c1')
    h.release('a1')
    await flush()
    h.release('a1')
    await flush()
    expect(h.granted).toEqual(['a1', 'b1'])
    expect(h.slots.inUse).toBe(1)
  })

  it('returns every slot once all are released', async () => {
    const h = await harness(3, 2, 'a1', 'a2', 'b1')
    h.release('a1', 'a2', 'b1')
    expect(h.slots.inUse).toBe(0)
    h.acquire('a3', 'a4', 'c1')
    await flush()
    expect(h.granted).toEqual(['a1', 'a2', 'b1', 'a3', 'a4', 'c1'])
  })
})

describe('Slots: resize', () => {
  it('up wakes waiters in order, up to the new total', async () => {
    const h = await harness(1, 5, 'a1', 'b1', 'c1', 'd1')
    h.slots.resize(3, 5)
    await flush()
    expect(h.granted).toEqual(['a1', 'b1', 'c1'])
    expect(h.slots.inUse).toBe(3)
  })

  it('up on the per-key cap wakes waiters of a busy key', async () => {
    const h = await harness(10, 1, 'a1', 'a2', 'a3')
    h.slots.resize(10, 2)
    await flush()
    expect(h.granted).toEqual(['a1', 'a2'])
  })

  it('down lets running ones finish and grants again only below the new total', async () => {
    const h = await harness(3, 3, 'a1', 'b1', 'c1', 'd1')
    h.slots.resize(1, 1)
    expect(h.slots.inUse).toBe(3)
    h.release('a1')
    await flush()
    h.release('b1')
    await flush()
    expect(h.granted).toEqual(['a1', 'b1', 'c1'])
    h.release('c1')
    await flush()
    expect(h.granted).toEqual(['a1', 'b1', 'c1', 'd1'])
    expect(h.slots.inUse).toBe(1)
  })

  it('down on the per-key cap holds a key until its running ones finish', async () => {
    const h = await harness(10, 3, 'a1', 'a2', 'a3')
    h.slots.resize(10, 1)
    h.acquire('a4')
    await flush()
    h.release('a1', 'a2')
    await flush()
    expect(h.granted).toEqual(['a1', 'a2', 'a3'])
    h.release('a3')
    await flush()
    expect(h.granted).toEqual(['a1', 'a2', 'a3', 'a4'])
  })

  it('with no waiters changes nothing running', async () => {
    const h = await harness(2, 2, 'a1', 'b1')
    h.slots.resize(5, 5)
    expect(h.slots.inUse).toBe(2)
    h.acquire('c1')
    await flush()
    expect(h.granted).toEqual(['a1', 'b1', 'c1'])
  })
})

describe('Slots: no head-of-line blocking', () => {
  it('a request for a free service runs at once while another waits for its busy service', async () => {
    const h = await harness(2, 1, 'a1', 'a2', 'b1')
    expect(h.granted).toEqual(['a1', 'b1'])
    h.release('a1')
    await flush()
    expect(h.granted).toEqual(['a1', 'b1', 'a2'])
  })
})
