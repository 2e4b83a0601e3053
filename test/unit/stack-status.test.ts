import os from 'node:os'
import path from 'node:path'
import { formatStackStatus, newClusterId, stackStatusReport } from '../../src/stack/local-stack'
import { stackSettingsFromEnv } from '../../src/stack/settings'

describe('stack:status', () => {
  // A state folder nothing ever started in: both services stopped.
  const settings = stackSettingsFromEnv(path.join(os.tmpdir(), 'nightshift-no-stack'), {
    KAFKA_PORT: '19092',
    REGISTRY_PORT: '18081',
  })

  it('reports each service with its state, pid, address and log', () => {
    expect(stackStatusReport(settings)).toEqual([
      {
        service: 'kafka',
        running: false,
        pid: null,
        address: '127.0.0.1:19092',
        log: expect.stringMatching(/kafka\.log$/) as unknown,
      },
      {
        service: 'registry',
        running: false,
        pid: null,
        address: 'http://127.0.0.1:18081/apis/ccompat/v7',
        log: expect.stringMatching(/registry\.log$/) as unknown,
      },
    ])
  })

  it('prints a table people read (JSON only with --json)', () => {
    const rows = [
      { service: 'kafka' as const, running: true, pid: 27142, address: '127.0.0.1:9092', log: '.stack/logs/kafka.log' },
      {
        service: 'registry' as const,
        running: false,
        pid: null,
        address: 'http://127.0.0.1:8081/apis/ccompat/v7',
        log: '.stack/logs/registry.log',
      },
    ]
    expect(formatStackStatus(rows).split('\n')).toEqual([
      'SERVICE   STATE    PID    ADDRESS                                LOG',
      'kafka     running  27142  127.0.0.1:9092                         .stack/logs/kafka.log',
      'registry  stopped  -      http://127.0.0.1:8081/apis/ccompat/v7  .stack/logs/registry.log',
    ])
  })
})

describe('newClusterId', () => {
  it('makes 22-character URL-safe ids that StorageTool never reads as an option', () => {
    // About one random id in 64 starts with '-'; 2,000 draws meet dozens of them.
    const ids = Array.from({ length: 2000 }, () => newClusterId())
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/)
    expect(new Set(ids).size).toBe(ids.length)
  })
})
