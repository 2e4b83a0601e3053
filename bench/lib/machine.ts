import { execFile } from 'node:child_process'
import { readdir } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { DEFAULT_KAFKA_VERSION } from '../../src/stack/settings'

const execFileAsync = promisify(execFile)

/** The machine the figures were taken on, as the report describes it. */
export interface Machine {
  hostname: string
  platform: string
  kernel: string
  cpus: number
  cpuModel: string
  memoryGiB: number
  node: string
  java: string
  kafka: string
  registry: string
  loadAverage: number[]
}

async function javaVersion(): Promise<string> {
  try {
    // `java -version` prints to stderr.
    const { stderr } = await execFileAsync('java', ['-version'], { timeout: 10_000 })
    return stderr.split('\n')[0]?.trim() ?? 'unknown'
  } catch {
    return 'java not found'
  }
}

/** Which Apicurio build the local stack unpacked, when it is the local stack. */
async function registryBuild(root: string): Promise<string> {
  if (process.env.SCHEMA_REGISTRY_URL) return `external (${process.env.SCHEMA_REGISTRY_URL})`
  try {
    const dists = (await readdir(path.join(root, '.stack', 'dist'))).filter((d) => d.startsWith('apicurio-registry-'))
    return dists.length > 0
      ? `local Apicurio (${dists.map((d) => d.replace('apicurio-registry-', '')).join(', ')} unpacked)`
      : 'local Apicurio'
  } catch {
    return 'unknown'
  }
}

/** Cores, memory, CPU model and the versions of what the figures depend on. */
export async function describeMachine(root: string): Promise<Machine> {
  const cpus = os.cpus()
  return {
    hostname: os.hostname(),
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    java: await javaVersion(),
    kafka: process.env.KAFKA_BROKERS
      ? `external (${process.env.KAFKA_BROKERS})`
      : `${process.env.KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION} (local single broker, KRaft)`,
    registry: await registryBuild(root),
    loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
  }
}
