import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

/** One call as the target's log holds it. */
export interface TargetCall {
  /** The Idempotency-Key header every webhook action sends. */
  key: string
  path: string
  at: number
}

/**
 * The service the storm's actions call: answers 200 after a short delay and appends
 * every call it received to its own log file (one JSON line each), before answering.
 * The suite counts "did an action run twice?" from that file, not from Nightshift.
 */
export class ActionTarget {
  private server: http.Server | undefined
  private readonly out: fs.WriteStream
  url = ''

  constructor(readonly logFile: string) {
    fs.rmSync(logFile, { force: true })
    this.out = fs.createWriteStream(logFile, { flags: 'a' })
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        const key = req.headers['idempotency-key']
        const call: TargetCall = {
          key: typeof key === 'string' ? key : '',
          path: (req.url ?? '/').split('?')[0]!,
          at: Date.now(),
        }
        this.out.write(`${JSON.stringify(call)}\n`, () => {
          // A little work on the other side, so some actions are in flight at a kill.
          setTimeout(
            () => {
              res.writeHead(200, { 'content-type': 'application/json' })
              res.end('{"ok":true}')
            },
            2 + Math.floor(Math.random() * 8),
          )
        })
      })
    })
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
    return this
  }

  /** Every call logged so far, read back from the file. */
  async calls(): Promise<TargetCall[]> {
    await new Promise<void>((resolve) => this.out.write('', () => resolve()))
    return fs
      .readFileSync(this.logFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as TargetCall)
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
    await new Promise<void>((resolve) => this.out.end(() => resolve()))
  }
}
