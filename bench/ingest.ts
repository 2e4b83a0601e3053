/**
 * Ingest alone: alerts/s through POST /webhook/alertmanager (the ingest stage in a child
 * process, acknowledging after Kafka acknowledged, acks=all) with Alertmanager-sized
 * groups, against the Go bridge o11ydev/alertmanager2kafka on the same broker with the
 * same bodies and the same number of requests in flight. Target: ≥ 2× the bridge's rate.
 *
 * The bridge writes one message per notification (group), Nightshift one record per
 * alert; both are counted in alerts per second, which is what Alertmanager waits on.
 */
import { buildBridge, startBridge } from './alertmanager2kafka'
import { webhookGroups } from './lib/alerts'
import { PipelineChild } from './lib/child'
import type { BenchContext } from './lib/context'
import { closedLoop, WebhookClient } from './lib/http-load'
import { endOffsets } from './lib/offsets'
import { figure, skipped, type BenchResult, type Figure } from './lib/results'
import { perSecond } from './lib/stats'
import { provision } from './lib/topology'

export const INGEST_RATIO_TARGET = 2
/**
 * Requests in flight. Above kafka-go's default batch size (100 messages) the bridge's
 * writer fills its batches instead of waiting out its 1 s batch timeout, so the figure
 * is its throughput, not its timer; Nightshift gets the same.
 */
export const INGEST_CONCURRENCY = 128
const BRIDGE_TOPIC = 'bench.alertmanager2kafka'

interface IngestRun {
  alerts: number
  requests: number
  ms: number
}

async function measure(url: string, bodies: Buffer[], warm: Buffer[], alerts: number): Promise<IngestRun> {
  const client = new WebhookClient(url, INGEST_CONCURRENCY)
  try {
    await closedLoop(client, warm, INGEST_CONCURRENCY)
    const started = performance.now()
    await closedLoop(client, bodies, INGEST_CONCURRENCY)
    return { alerts, requests: bodies.length, ms: performance.now() - started }
  } finally {
    client.close()
  }
}

export async function benchIngest(ctx: BenchContext): Promise<BenchResult> {
  const total = ctx.quick ? 20_000 : 200_000
  const groups = webhookGroups(total, { seed: 21 })
  const bodies = groups.map((g) => Buffer.from(JSON.stringify(g)))
  const warm = webhookGroups(ctx.quick ? 2000 : 10_000, { seed: 22, firstIndex: 10_000_000 }).map((g) =>
    Buffer.from(JSON.stringify(g)),
  )
  const bridge = await buildBridge()
  if (!bridge.ok) ctx.log.warn({ reason: bridge.reason }, 'alertmanager2kafka: skipping the comparison')

  const nightshift: IngestRun[] = []
  const go: IngestRun[] = []
  const failures: Array<{ run: number; target: string; error: string }> = []
  for (let run = 1; run <= ctx.runs; run++) {
    const prefix = ctx.prefix('ingest')
    const topology = await provision(ctx, prefix, [BRIDGE_TOPIC])
    try {
      // Alternate which one goes first.
      const order = run % 2 === 1 ? ['nightshift', 'bridge'] : ['bridge', 'nightshift']
      for (const target of order) {
        try {
          if (target === 'nightshift') {
            const child = await PipelineChild.start(
              { prefix, stages: ['ingest'], httpPort: 0, logLevel: 'warn' },
              ctx.log,
            )
            try {
              const r = await measure(`${child.httpAddress!}/webhook/alertmanager`, bodies, warm, total)
              ctx.log.info(
                { run, alertsPerSecond: Math.round(perSecond(r.alerts, r.ms)), requests: r.requests },
                'ingest: nightshift measured',
              )
              nightshift.push(r)
            } finally {
              await child.stop()
            }
            const written = [...(await endOffsets(ctx, topology.topics.raw)).values()].reduce((a, b) => a + b, 0n)
            if (written < BigInt(total))
              throw new Error(`alerts.raw holds ${written} records, expected at least ${total}`)
          } else if (bridge.ok) {
            const running = await startBridge(bridge.binary, ctx.endpoints.brokers[0]!, `${prefix}${BRIDGE_TOPIC}`)
            try {
              const r = await measure(running.url, bodies, warm, total)
              ctx.log.info(
                { run, alertsPerSecond: Math.round(perSecond(r.alerts, r.ms)), requests: r.requests },
                'ingest: alertmanager2kafka measured',
              )
              go.push(r)
            } finally {
              await running.stop()
            }
          }
        } catch (err) {
          ctx.log.error({ run, target, err: String(err) }, 'ingest run failed')
          failures.push({ run, target, error: String(err) })
        }
      }
    } finally {
      await topology.cleanup()
    }
  }

  const rate = (r: IngestRun) => perSecond(r.alerts, r.ms)
  const figures: Figure[] = [
    figure({ bench: 'ingest', name: 'POST /webhook/alertmanager', unit: 'alerts/s', runs: nightshift.map(rate) }),
  ]
  if (bridge.ok) {
    figures.push(figure({ bench: 'ingest', name: 'alertmanager2kafka (Go)', unit: 'alerts/s', runs: go.map(rate) }))
    const pairs = Math.min(nightshift.length, go.length)
    figures.push(
      figure({
        bench: 'ingest',
        name: 'nightshift / alertmanager2kafka',
        unit: 'ratio',
        runs: Array.from({ length: pairs }, (_, i) => rate(nightshift[i]!) / rate(go[i]!)),
        target: { op: '>=', value: INGEST_RATIO_TARGET },
      }),
    )
  } else {
    figures.push(
      skipped('ingest', 'nightshift / alertmanager2kafka', 'ratio', bridge.reason, 'SKIP', {
        op: '>=',
        value: INGEST_RATIO_TARGET,
      }),
    )
  }
  const sizes = groups.map((g) => g.alerts.length)
  return {
    id: 'ingest',
    figures,
    details: {
      alertsPerRun: total,
      requestsPerRun: groups.length,
      meanGroupSize: sizes.reduce((a, b) => a + b, 0) / sizes.length,
      meanBodyBytes: Math.round(bodies.reduce((a, b) => a + b.length, 0) / bodies.length),
      concurrency: INGEST_CONCURRENCY,
      bridge: bridge.ok ? { version: bridge.version } : { skipped: bridge.reason },
      nightshift,
      alertmanager2kafka: go,
      failures,
    },
  }
}
