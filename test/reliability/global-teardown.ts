import fs from 'node:fs'
import path from 'node:path'
import { createLogger } from '../../src/log'
import { stackDown } from '../../src/stack/local-stack'
import { reliabilityStack } from './stack'

/** Stops the suite's stack and removes its data (each run uses topics of its own). */
export default async function globalTeardown(): Promise<void> {
  const settings = reliabilityStack()
  await stackDown(settings, createLogger({ level: 'warn' }).child({ module: 'reliability-stack' }))
  for (const entry of fs.existsSync(settings.stateDir) ? fs.readdirSync(settings.stateDir) : []) {
    if (entry !== 'logs') fs.rmSync(path.join(settings.stateDir, entry), { recursive: true, force: true })
  }
}
