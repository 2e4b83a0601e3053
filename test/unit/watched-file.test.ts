import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Registry } from 'prom-client'
import { createConfigMetrics, watchConfig } from '../../src/config/watched-file'
import { ConfigError } from '../../src/errors'
import { createLogger } from '../../src/log'

const logger = createLogger({ level: 'silent' })

/** A toy format: one positive integer per file. */
function parse(text: string, file: string): number {
  const n = Number(text.trim())
  if (!Number.isInteger(n) || n <= 0)
    throw new ConfigError(`${path.basename(file)}: expected a positive integer, got "${text.trim()}"`)
  return n
}

describe('watchConfig', () => {
  let dir: string
  let file: string
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'watch-'))
    file = path.join(dir, 'n.txt')
  })
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

  it('refuses to start on an invalid file, naming it', () => {
    fs.writeFileSync(file, 'zero')
    expect(() => watchConfig({ file, parse, logger })).toThrow(/n\.txt: expected a positive integer, got "zero"/)
  })

  it('refuses to start on a missing file', () => {
    expect(() => watchConfig({ file, parse, logger })).toThrow(ConfigError)
  })

  it('takes good edits, keeps the last good version on a bad one, and counts both', async () => {
    fs.writeFileSync(file, '1')
    const registry = new Registry()
    const seen: number[] = []
    const w = watchConfig({
      file,
      parse,
      logger,
      metrics: createConfigMetrics(registry),
      onChange: (v) => seen.push(v),
    })
    try {
      expect(w.current()).toBe(1)
      expect(w.reload()).toBe(false) // unchanged
      fs.writeFileSync(file, '2')
      expect(w.reload()).toBe(true)
      expect(w.current()).toBe(2)
      fs.writeFileSync(file, '-5')
      expect(w.reload()).toBe(false)
      expect(w.current()).toBe(2)
      expect(w.reload()).toBe(false) // the same bad version is reported once
      fs.rmSync(file)
      expect(w.reload()).toBe(false)
      expect(w.current()).toBe(2)
      fs.writeFileSync(file, '3')
      expect(w.reload()).toBe(true)
      expect(seen).toEqual([2, 3])
      const text = await registry.metrics()
      expect(text).toMatch(/nightshift_config_reloads_total\{file="[^"]*n\.txt",result="ok"\} 2/)
      expect(text).toMatch(/nightshift_config_reloads_total\{file="[^"]*n\.txt",result="rejected"\} 2/)
      expect(text).toMatch(/nightshift_config_last_reload_ok\{file="[^"]*n\.txt"\} 1/)
    } finally {
      w.close()
    }
  })

  it('notices an edit on its own', async () => {
    fs.writeFileSync(file, '1')
    const w = watchConfig({ file, parse, logger, intervalMs: 20 })
    try {
      fs.writeFileSync(file, '7')
      const deadline = Date.now() + 5000
      while (w.current() !== 7 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      expect(w.current()).toBe(7)
    } finally {
      w.close()
    }
  })
})
