import http from 'node:http'
import type { AddressInfo } from 'node:net'

/** One request a {@link HttpTarget} received. */
export interface ReceivedRequest {
  method: string
  path: string
  headers: http.IncomingHttpHeaders
  body: string
}

/** What a route of the target answers: a status (and body), after an optional delay. */
export type Reply = { status: number; body?: string; delayMs?: number }

/**
 * A real HTTP server standing in for the services actions call: every request is
 * recorded (tests count calls per path), and each path answers by a script of replies
 * (the last reply repeats), e.g. [500, 500, 200] for "fails twice, then works".
 */
export class HttpTarget {
  readonly received: ReceivedRequest[] = []
  /** Most requests in progress at once, per path prefix given to {@link track}. */
  readonly maxInFlight = new Map<string, number>()
  private readonly inFlight = new Map<string, number>()
  private readonly scripts = new Map<string, Reply[]>()
  private server: http.Server | undefined
  url = ''

  /** Scripts the replies of `path`. */
  on(path: string, ...replies: Array<Reply | number>): this {
    this.scripts.set(
      path,
      replies.map((r) => (typeof r === 'number' ? { status: r } : r)),
    )
    return this
  }

  /** Counts the requests in progress at once on paths starting with `prefix`. */
  track(prefix: string): this {
    this.maxInFlight.set(prefix, 0)
    this.inFlight.set(prefix, 0)
    return this
  }

  /** Requests received on `path`. */
  calls(path: string): ReceivedRequest[] {
    return this.received.filter((r) => r.path === path)
  }

  async start(): Promise<this> {
    const served = new Map<string, number>()
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const path = (req.url ?? '/').split('?')[0]!
        this.received.push({
          method: req.method ?? '',
          path,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        })
        const script = this.scripts.get(path) ?? [{ status: 404 }]
        const n = served.get(path) ?? 0
        served.set(path, n + 1)
        const reply = script[Math.min(n, script.length - 1)]!
        const tracked = [...this.inFlight.keys()].filter((prefix) => path.startsWith(prefix))
        for (const prefix of tracked) {
          const now = this.inFlight.get(prefix)! + 1
          this.inFlight.set(prefix, now)
          this.maxInFlight.set(prefix, Math.max(now, this.maxInFlight.get(prefix)!))
        }
        const send = () => {
          for (const prefix of tracked) this.inFlight.set(prefix, this.inFlight.get(prefix)! - 1)
          if (res.destroyed) return
          res.writeHead(reply.status, { 'content-type': 'application/json' })
          res.end(reply.body ?? '{}')
        }
        if (reply.delayMs) setTimeout(send, reply.delayMs)
        else send()
      })
    })
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
    return this
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
  }
}
