/**
 * Concurrency caps of one action in one worker process: at most `total` requests run at
 * once, and at most `perKey` against one target service. Waiters are served first come,
 * first served; a request waiting for its service does not hold a total slot, so one slow
 * service cannot starve the others.
 */
export class Slots {
  private running = 0
  private readonly perKeyRunning = new Map<string, number>()
  private readonly waiting: Array<{ key: string; grant: (release: () => void) => void }> = []

  constructor(
    private total: number,
    private perKey: number,
  ) {}

  /** New caps (a config reload); running requests keep their slots. */
  resize(total: number, perKey: number): void {
    this.total = total
    this.perKey = perKey
    this.pump()
  }

  /** Requests running now. */
  get inUse(): number {
    return this.running
  }

  /** Waits for a slot for `key`; the returned function gives it back (call it once). */
  async acquire(key: string): Promise<() => void> {
    // Whoever waits is blocked by a cap this request may not share (its service is busy,
    // or every slot is taken, in which case free() is false here too): no overtaking.
    if (this.free(key)) return this.take(key)
    // The slot is taken for the waiter when it is granted, so nobody overtakes it meanwhile.
    return new Promise<() => void>((grant) => this.waiting.push({ key, grant }))
  }

  private free(key: string): boolean {
    return this.running < this.total && (this.perKeyRunning.get(key) ?? 0) < this.perKey
  }

  private take(key: string): () => void {
    this.running += 1
    this.perKeyRunning.set(key, (this.perKeyRunning.get(key) ?? 0) + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      this.running -= 1
      const left = (this.perKeyRunning.get(key) ?? 1) - 1
      if (left === 0) this.perKeyRunning.delete(key)
      else this.perKeyRunning.set(key, left)
      this.pump()
    }
  }

  /** Grants, in order, a slot to every waiter whose caps allow it now. */
  private pump(): void {
    for (let i = 0; i < this.waiting.length && this.running < this.total;) {
      const waiter = this.waiting[i]!
      if (this.free(waiter.key)) {
        this.waiting.splice(i, 1)
        waiter.grant(this.take(waiter.key))
      } else {
        i += 1
      }
    }
  }
}
