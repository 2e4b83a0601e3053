import http from 'node:http'

/** One webhook POST's outcome: the HTTP status and when its answer arrived (performance.now()). */
export interface Answer {
  status: number
  sentAt: number
  answeredAt: number
}

/** POSTs JSON bodies over keep-alive connections (at most `connections` at once). */
export class WebhookClient {
  private readonly agent: http.Agent
  private readonly url: URL

  constructor(url: string, connections: number) {
    this.url = new URL(url)
    this.agent = new http.Agent({ keepAlive: true, maxSockets: connections })
  }

  post(body: Buffer): Promise<Answer> {
    const sentAt = performance.now()
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          agent: this.agent,
          host: this.url.hostname,
          port: this.url.port,
          path: this.url.pathname,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': body.length,
            'user-agent': 'nightshift-bench',
          },
        },
        (res) => {
          // The answer counts once its body is read (Alertmanager reads it too).
          res.resume()
          res.on('end', () => resolve({ status: res.statusCode ?? 0, sentAt, answeredAt: performance.now() }))
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.setTimeout(30_000, () => req.destroy(new Error(`POST ${this.url.pathname} timed out after 30 s`)))
      req.end(body)
    })
  }

  close(): void {
    this.agent.destroy()
  }
}

/**
 * Sends every body with `concurrency` requests in flight (closed loop: a request goes
 * out as soon as one is answered) and returns the answers in body order. A non-2xx
 * answer rejects: a benchmark only counts what was accepted.
 */
export async function closedLoop(
  client: WebhookClient,
  bodies: readonly Buffer[],
  concurrency: number,
): Promise<Answer[]> {
  const answers: Answer[] = new Array(bodies.length)
  let next = 0
  const worker = async () => {
    while (next < bodies.length) {
      const i = next++
      const answer = await client.post(bodies[i]!)
      if (answer.status < 200 || answer.status >= 300) throw new Error(`webhook answered ${answer.status} to body ${i}`)
      answers[i] = answer
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, bodies.length) }, worker))
  return answers
}

/**
 * Sends body k at `start + k × intervalMs` whatever the answers do (open loop: the rate
 * is the sender's, as when Alertmanager fires on its own schedule), and returns the
 * answers in body order once all are in.
 */
export async function openLoop(
  client: WebhookClient,
  bodies: readonly Buffer[],
  intervalMs: number,
  onAnswer?: (i: number, answer: Answer) => void,
): Promise<Answer[]> {
  const start = performance.now()
  const pending: Array<Promise<Answer>> = []
  for (let k = 0; k < bodies.length; k++) {
    const due = start + k * intervalMs
    const wait = due - performance.now()
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait))
    pending.push(
      client.post(bodies[k]!).then((answer) => {
        if (answer.status < 200 || answer.status >= 300)
          throw new Error(`webhook answered ${answer.status} to body ${k}`)
        onAnswer?.(k, answer)
        return answer
      }),
    )
  }
  return Promise.all(pending)
}
