/**
 * Idle: the CPU a whole running pipeline uses with nothing to do. Every implemented
 * stage (the webhook, dedup, enrich, ratelimit, route, the action workers, slo) in one
 * child process with the shipped topology/ config, as `nightshift run` starts them; after
 * it is ready and 10 s more, its process.cpuUsage() (all threads) over windows of 60 s,
 * as % of one core. Target ≤ 2%. (`npm run bench:idle-cpu` measures one bare consumer,
 * patched and pristine kafkajs; this is the pipeline figure.)
 */
import { STAGES } from '../src/topology/names'
import { PipelineChild } from './lib/child'
import type { BenchContext } from './lib/context'
import { figure, type BenchResult } from './lib/results'
import { deleteGroups, provision } from './lib/topology'

export const IDLE_TARGET_PERCENT = 2
const SETTLE_MS = 10_000

interface IdleWindow {
  seconds: number
  cpuMs: number
  percent: number
}

export async function benchIdle(ctx: BenchContext): Promise<BenchResult> {
  const windowMs = ctx.quick ? 10_000 : 60_000
  const stages = [...STAGES]
  const prefix = ctx.prefix('idle')
  const topology = await provision(ctx, prefix)
  const windows: IdleWindow[] = []
  try {
    const child = await PipelineChild.start({ prefix, stages, httpPort: 0, logLevel: 'warn' }, ctx.log)
    try {
      ctx.log.info({ stages, windows: ctx.runs, windowSeconds: windowMs / 1000 }, 'idle: pipeline ready, settling')
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
      for (let run = 1; run <= ctx.runs; run++) {
        const before = await child.stats()
        await new Promise((resolve) => setTimeout(resolve, windowMs))
        const after = await child.stats()
        const cpuMs = (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / 1000
        const wallMs = after.at - before.at
        const window = { seconds: wallMs / 1000, cpuMs, percent: (100 * cpuMs) / wallMs }
        ctx.log.info(
          { run, percent: Number(window.percent.toFixed(2)), cpuMs: Math.round(cpuMs) },
          'idle: window measured',
        )
        windows.push(window)
      }
    } finally {
      await child.stop()
    }
  } finally {
    // Every group of the pipeline lives under the prefix; the broker expires those left.
    await deleteGroups(
      ctx,
      ['dedup', 'enrich', 'ratelimit', 'route'].map((s) => `${prefix}nightshift-${s}`),
    )
    await topology.cleanup()
  }
  return {
    id: 'idle',
    figures: [
      figure({
        bench: 'idle',
        name: `whole pipeline, ${windowMs / 1000} s windows`,
        unit: '%',
        runs: windows.map((w) => w.percent),
        target: { op: '<=', value: IDLE_TARGET_PERCENT },
      }),
    ],
    details: { stages, settleSeconds: SETTLE_MS / 1000, windows },
  }
}
