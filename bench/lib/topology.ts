import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describeError } from '../../src/errors'
import { KafkaAdmin } from '../../src/kafka'
import { applyTopology } from '../../src/topology/apply'
import { loadTopicsFile, planTopology, type TopicsFile } from '../../src/topology/topics-file'
import { topicNames, type TopicNames } from '../../src/topology/names'
import type { BenchContext } from './context'
import { ROOT } from './context'

/** A prefixed copy of the shipped topology, with what a benchmark adds, removed by `cleanup`. */
export interface BenchTopology {
  prefix: string
  topics: TopicNames
  /** Every topic created, prefixed. */
  created: string[]
  cleanup(): Promise<void>
}

/**
 * Applies topology/topics.yaml under `prefix` (what `nightshift topology apply --prefix`
 * does) plus `extra` topics (scratch outputs, a bridge's topic) with the same partitions.
 * Cleanup deletes the topics, the groups named in `groups` and the prefixed subjects.
 */
export async function provision(ctx: BenchContext, prefix: string, extra: string[] = []): Promise<BenchTopology> {
  const shipped: TopicsFile = loadTopicsFile(ctx.schemas)
  const plan = planTopology(shipped, prefix)
  const partitions = shipped.topics[0]?.partitions ?? 6
  const created = [...plan.topics.map((t) => t.name), ...extra.map((e) => `${prefix}${e}`)]
  const cleanup = async (): Promise<void> => {
    const a = await KafkaAdmin.connect(ctx.kafka('bench-topology'))
    try {
      const existing = new Set(await a.listTopics())
      await a.deleteTopics(created.filter((n) => existing.has(n)))
    } catch (err) {
      ctx.log.warn({ prefix, err: describeError(err) }, 'could not delete the benchmark topics')
    } finally {
      await a.disconnect()
    }
    for (const s of plan.subjects) await ctx.registry.deleteSubject(s.subject).catch(() => undefined)
  }
  // A loaded broker may not show new topics' leaders in time (kafkajs gives up waiting
  // with UNKNOWN_TOPIC_OR_PARTITION); applying again only creates what is missing.
  for (let attempt = 1; ; attempt += 1) {
    const admin = await KafkaAdmin.connect(ctx.kafka('bench-topology'))
    try {
      await applyTopology({
        admin,
        registry: ctx.registry,
        schemas: ctx.schemas,
        topology: shipped,
        prefix,
        logger: ctx.quiet,
      })
      if (extra.length > 0)
        await admin.ensureTopics(extra.map((name) => ({ name: `${prefix}${name}`, partitions, replicationFactor: 1 })))
      break
    } catch (err) {
      if (attempt >= 3) {
        await cleanup()
        throw err
      }
      ctx.log.warn({ prefix, attempt, err: describeError(err) }, 'applying the benchmark topology failed; trying again')
      await new Promise((resolve) => setTimeout(resolve, 3000 * attempt))
    } finally {
      await admin.disconnect()
    }
  }
  return { prefix, topics: topicNames(prefix), created, cleanup }
}

/** Deletes consumer groups a benchmark used (they must have no members left). */
export async function deleteGroups(ctx: BenchContext, groups: string[]): Promise<void> {
  const admin = await KafkaAdmin.connect(ctx.kafka('bench-topology'))
  try {
    await admin.deleteGroupsIfPresent(groups)
  } catch (err) {
    ctx.log.debug({ groups, err: describeError(err) }, 'groups left to the broker to expire')
  } finally {
    await admin.disconnect()
  }
}

/**
 * The config folder benchmarks run the stages with: a copy of topology/ whose
 * limits.yaml is bench/config/limits.yaml (limits high enough that a benchmark's
 * alerts are admitted, buckets still kept). Removed by the returned function.
 */
export function benchConfigDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nightshift-bench-config-'))
  cpSync(path.join(ROOT, 'topology'), dir, { recursive: true })
  cpSync(path.join(ROOT, 'bench', 'config', 'limits.yaml'), path.join(dir, 'limits.yaml'))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}
