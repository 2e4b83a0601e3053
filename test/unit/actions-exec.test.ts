import fs from 'node:fs'
import path from 'node:path'
import type { ActionRequestRecord } from '../../src/contracts/records'
import { ConfigError } from '../../src/errors'
import { createExecHandler, type ExecConfig } from '../../src/actions/handlers/exec'
import type { HandlerContext } from '../../src/actions/handlers/types'
import { handlerContext, handlerRequest, isGone, useTempDir, waitFor } from '../support/handler-fixtures'

const tmp = useTempDir('ns-exec-')
let argvScript: string
let envScript: string

beforeAll(() => {
  argvScript = tmp.write('argv.js', 'process.stdout.write(JSON.stringify(process.argv.slice(2)))\n')
  envScript = tmp.write('env.js', 'process.stdout.write(JSON.stringify(process.env))\n')
})

function request(
  params: Record<string, string>,
  labels: Record<string, string> = {},
  service: string | null = 'checkout',
): ActionRequestRecord {
  return handlerRequest('exec', params, { alert: { labels: { alertname: 'HighLatency', ...labels } }, service })
}

function context(over: Partial<HandlerContext> = {}): HandlerContext {
  return handlerContext({ timeoutMs: 60_000, artifactsDir: tmp.path, env: process.env, ...over })
}

function readPids(file: string): number[] {
  return fs.readFileSync(file, 'utf8').split(/\s+/).filter(Boolean).map(Number)
}

describe('exec: arguments are never interpreted', () => {
  const marker = (): string => path.join(tmp.path, 'injected')
  const hostile: [string, () => string][] = [
    ['semicolon', () => '; rm -rf /'],
    ['command substitution', () => `$(touch ${marker()})`],
    ['backticks', () => `\`touch ${marker()}\``],
    ['and-chain', () => `x && touch ${marker()}`],
    ['pipe', () => `x | touch ${marker()}`],
    ['spaces', () => 'a b c'],
    ['quotes', () => `"double" 'single' \\"escaped\\"`],
    ['newlines', () => `line1\nline2\ntouch ${marker()}`],
    ['option-looking', () => '--help'],
    ['node option-looking', () => '--eval=process.exit(3)'],
    ['empty', () => ''],
    ['glob and tilde', () => '* ~ $HOME ${PATH}'],
    ['placeholder-looking', () => '{{ team }}'],
    ['unicode', () => 'ünïcødé ☃ \u202e'],
    ['100 KiB', () => 'x'.repeat(100 * 1024)],
  ]

  it.each(hostile)('%s arrives as one literal argument', async (_name, value) => {
    const handler = createExecHandler({
      maxOutputBytes: 1024 * 1024,
      commands: { echo: { program: process.execPath, args: [argvScript, '{{ labels.x }}'] } },
    })
    const result = await handler.run(request({ command: 'echo' }, { x: value() }), context())
    expect(result.ok).toBe(true)
    expect(JSON.parse(result.output.stdout ?? '')).toEqual([value()])
    expect(fs.existsSync(marker())).toBe(false)
  })

  it('a hostile value inside a larger template stays inside its one argument', async () => {
    const handler = createExecHandler({
      commands: {
        echo: {
          program: process.execPath,
          args: [
            argvScript,
            '--target={{ labels.x }}@{{ service }}',
            '{{ params.mode }}',
            '{{ fingerprint }}/{{ team }}',
          ],
        },
      },
    })
    const result = await handler.run(request({ command: 'echo', mode: 'a; b' }, { x: '$(id) `id`' }), context())
    expect(JSON.parse(result.output.stdout ?? '')).toEqual([
      '--target=$(id) `id`@checkout',
      'a; b',
      '16ddbf5dcf57d972/payments',
    ])
  })

  it('a value with NUL is refused, final, and nothing runs', async () => {
    const script = tmp.write('nul.sh', `#!/bin/sh\ntouch ${path.join(tmp.path, 'nul-ran')}\n`)
    const handler = createExecHandler({ commands: { run: { program: script, args: ['{{ labels.x }}'] } } })
    const result = await handler.run(request({ command: 'run' }, { x: 'a\0b' }), context())
    expect(result).toMatchObject({ ok: false, retriable: false })
    expect(result.detail).toMatch(/argument 0 contains a NUL/)
    expect(fs.existsSync(path.join(tmp.path, 'nul-ran'))).toBe(false)
  })
})

describe('exec: allowlist and templates', () => {
  let ranMarker: string
  let config: ExecConfig

  beforeAll(() => {
    ranMarker = path.join(tmp.path, 'ran')
    const script = tmp.write('touch.sh', `#!/bin/sh\ntouch ${ranMarker}\n`)
    config = {
      commands: { restart: { program: script, args: ['{{ params.target }}', '{{ labels.pod }}', '{{ service }}'] } },
    }
  })

  it.each<[string, Record<string, string>, RegExp]>([
    ['an unknown command', { command: 'rm' }, /"rm" is not allowlisted; expected one of: restart/],
    ['a command name from the prototype', { command: 'constructor' }, /"constructor" is not allowlisted/],
    ['no command', {}, /has no params\.command/],
  ])('%s is refused, final, and nothing runs', async (_name, params, detail) => {
    const result = await createExecHandler(config).run(request(params), context())
    expect(result).toMatchObject({ ok: false, retriable: false })
    expect(result.detail).toMatch(detail)
    expect(fs.existsSync(ranMarker)).toBe(false)
  })

  it('missing placeholders are named, final, and nothing runs', async () => {
    const result = await createExecHandler(config).run(request({ command: 'restart' }, {}, null), context())
    expect(result).toMatchObject({
      ok: false,
      retriable: false,
      output: { command: 'restart', missing: 'params.target,labels.pod,service' },
    })
    expect(result.detail).toBe('exec command "restart": the request lacks params.target, labels.pod, service')
    expect(fs.existsSync(ranMarker)).toBe(false)
  })

  it('runs when every placeholder is there', async () => {
    const result = await createExecHandler(config).run(
      request({ command: 'restart', target: 't' }, { pod: 'p' }),
      context(),
    )
    expect(result.ok).toBe(true)
    expect(fs.existsSync(ranMarker)).toBe(true)
    fs.rmSync(ranMarker)
  })
})

describe('exec: results', () => {
  it('success: exit code, stdout, stderr, duration', async () => {
    const script = tmp.write('ok.sh', '#!/bin/sh\necho "restarted $1"\necho warning >&2\n')
    const handler = createExecHandler({ commands: { ok: { program: script, args: ['{{ labels.alertname }}'] } } })
    const result = await handler.run(request({ command: 'ok' }), context())
    expect(result).toMatchObject({
      ok: true,
      retriable: false,
      detail: 'exec command "ok" exited with code 0',
      output: { command: 'ok', exitCode: '0', stdout: 'restarted HighLatency\n', stderr: 'warning\n' },
    })
    expect(result.output.signal).toBeUndefined()
    expect(result.output.timedOut).toBeUndefined()
    expect(Number(result.output.durationMs)).toBeGreaterThanOrEqual(0)
  })

  it.each<[string, boolean | undefined, boolean]>([
    ['retriable by default', undefined, true],
    ['final with retryOnFailure: false', false, false],
  ])('a non-zero exit is a failure, %s', async (_name, retryOnFailure, retriable) => {
    const script = tmp.write('fail.sh', '#!/bin/sh\necho "no lock" >&2\nexit 3\n')
    const handler = createExecHandler({
      commands: { fail: { program: script, args: [], ...(retryOnFailure === undefined ? {} : { retryOnFailure }) } },
    })
    const result = await handler.run(request({ command: 'fail' }), context())
    expect(result).toMatchObject({
      ok: false,
      retriable,
      detail: 'exec command "fail" exited with code 3',
      output: { exitCode: '3', stderr: 'no lock\n' },
    })
  })

  it('a child killed by a signal is a failure naming the signal', async () => {
    const script = tmp.write('usr1.sh', '#!/bin/sh\nkill -USR1 $$\n')
    const result = await createExecHandler({ commands: { crash: { program: script, args: [] } } }).run(
      request({ command: 'crash' }),
      context(),
    )
    expect(result).toMatchObject({
      ok: false,
      retriable: true,
      detail: 'exec command "crash" was killed by SIGUSR1',
      output: { signal: 'SIGUSR1' },
    })
    expect(result.output.exitCode).toBeUndefined()
  })

  it('stdout and stderr are truncated to the bound with a marker', async () => {
    const script = tmp.write(
      'big.js',
      "process.stdout.write('x'.repeat(10000)); process.stderr.write('e'.repeat(150))\n",
    )
    const handler = createExecHandler({
      maxOutputBytes: 100,
      commands: { big: { program: process.execPath, args: [script] } },
    })
    const result = await handler.run(request({ command: 'big' }), context())
    expect(result.output.stdout).toBe(`${'x'.repeat(100)}…[truncated 9900 bytes]`)
    expect(result.output.stderr).toBe(`${'e'.repeat(100)}…[truncated 50 bytes]`)
  })

  it('stdout is bounded to 4 KiB by default', async () => {
    const script = tmp.write('big4k.js', "process.stdout.write('y'.repeat(5000))\n")
    const result = await createExecHandler({ commands: { big: { program: process.execPath, args: [script] } } }).run(
      request({ command: 'big' }),
      context(),
    )
    expect(result.output.stdout).toBe(`${'y'.repeat(4096)}…[truncated 904 bytes]`)
  })

  it('runs in the configured cwd', async () => {
    const script = tmp.write('cwd.js', 'process.stdout.write(process.cwd())\n')
    const cwd = fs.mkdtempSync(path.join(tmp.path, 'cwd-'))
    const result = await createExecHandler({
      commands: { pwd: { program: process.execPath, args: [script], cwd } },
    }).run(request({ command: 'pwd' }), context())
    expect(result.output.stdout).toBe(fs.realpathSync(cwd))
  })

  it('a program removed after load is a final failure, not a crash', async () => {
    const script = tmp.write('gone.sh', '#!/bin/sh\n')
    const handler = createExecHandler({ commands: { gone: { program: script, args: [] } } })
    fs.rmSync(script)
    const result = await handler.run(request({ command: 'gone' }), context())
    expect(result).toMatchObject({ ok: false, retriable: false, output: { error: 'ENOENT' } })
  })
})

describe('exec: environment', () => {
  const secret = 'NIGHTSHIFT_EXEC_TEST_SECRET'
  afterEach(() => {
    delete process.env[secret]
  })

  it('the child sees PATH and the allowlist only, never the worker env', async () => {
    process.env[secret] = 'hunter2'
    const handler = createExecHandler({
      commands: { env: { program: process.execPath, args: [envScript], env: ['ALLOWED', 'NOT_SET_ANYWHERE'] } },
    })
    const env = { ...process.env, PATH: '/usr/bin:/bin', ALLOWED: 'yes', OTHER_SECRET: 's3cret' }
    const result = await handler.run(request({ command: 'env' }), context({ env }))
    expect(JSON.parse(result.output.stdout ?? '')).toEqual({ PATH: '/usr/bin:/bin', ALLOWED: 'yes' })
    expect(JSON.stringify(result)).not.toContain('hunter2')
  })

  it('PATH falls back to a default when the context has none', async () => {
    const handler = createExecHandler({ commands: { env: { program: process.execPath, args: [envScript] } } })
    const result = await handler.run(request({ command: 'env' }), context({ env: {} }))
    expect(Object.keys(JSON.parse(result.output.stdout ?? '') as object)).toEqual(['PATH'])
  })
})

describe('exec: timeout and abort kill the whole process group', () => {
  it('the command timeout kills the child and its grandchild', async () => {
    const pids = path.join(tmp.path, 'timeout.pids')
    const script = tmp.write(
      'hang.sh',
      `#!/bin/sh\nsleep 30 &\necho $$ $! > ${pids}.tmp\nmv ${pids}.tmp ${pids}\nwait\n`,
    )
    const handler = createExecHandler({ commands: { hang: { program: script, args: [], timeoutMs: 3000 } } })
    const started = Date.now()
    const result = await handler.run(request({ command: 'hang' }), context())
    expect(result).toMatchObject({
      ok: false,
      retriable: true,
      detail: 'exec command "hang" timed out after 3000 ms',
      output: { timedOut: 'true', signal: 'SIGTERM' },
    })
    expect(Date.now() - started).toBeLessThan(25_000)
    const [child, grandchild] = readPids(pids)
    expect(grandchild).toBeDefined()
    await waitFor('child and grandchild to be gone', () => isGone(child!) && isGone(grandchild!))
  })

  it('the attempt timeout (context.timeoutMs) applies when it is smaller', async () => {
    const script = tmp.write('forever.js', 'setInterval(() => {}, 1000)\n')
    const handler = createExecHandler({
      commands: { hang: { program: process.execPath, args: [script], timeoutMs: 60_000 } },
    })
    const result = await handler.run(request({ command: 'hang' }), context({ timeoutMs: 1500 }))
    expect(result).toMatchObject({
      ok: false,
      retriable: true,
      detail: 'exec command "hang" timed out after 1500 ms',
      output: { timedOut: 'true' },
    })
  })

  it('context.signal aborting kills the child and its grandchild', async () => {
    const pids = path.join(tmp.path, 'abort.pids')
    const script = tmp.write(
      'hang2.sh',
      `#!/bin/sh\nsleep 30 &\necho $$ $! > ${pids}.tmp\nmv ${pids}.tmp ${pids}\nwait\n`,
    )
    const handler = createExecHandler({ commands: { hang: { program: script, args: [] } } })
    const controller = new AbortController()
    const running = handler.run(request({ command: 'hang' }), context({ signal: controller.signal }))
    await waitFor('the script to start its grandchild', () => fs.existsSync(pids))
    controller.abort(new Error('worker stopping'))
    const result = await running
    expect(result).toMatchObject({ ok: false, retriable: true, output: { timedOut: 'true' } })
    expect(result.detail).toMatch(/^exec command "hang" aborted \(worker stopping\) after \d+ ms$/)
    const [child, grandchild] = readPids(pids)
    await waitFor('child and grandchild to be gone', () => isGone(child!) && isGone(grandchild!))
  })

  it('a child that ignores SIGTERM gets SIGKILL after the grace', async () => {
    const ready = path.join(tmp.path, 'stubborn.ready')
    const script = tmp.write(
      'stubborn.js',
      `process.on('SIGTERM', () => {}); require('fs').writeFileSync(${JSON.stringify(ready)}, String(process.pid)); setInterval(() => {}, 1000)\n`,
    )
    const handler = createExecHandler({
      killGraceMs: 300,
      commands: { stubborn: { program: process.execPath, args: [script] } },
    })
    const controller = new AbortController()
    const running = handler.run(request({ command: 'stubborn' }), context({ signal: controller.signal }))
    await waitFor('the child to ignore SIGTERM', () => fs.existsSync(ready) && fs.readFileSync(ready, 'utf8') !== '')
    controller.abort()
    const result = await running
    expect(result).toMatchObject({ ok: false, retriable: true, output: { timedOut: 'true', signal: 'SIGKILL' } })
  })

  it('background jobs left by a successful command are killed', async () => {
    const pids = path.join(tmp.path, 'leftover.pids')
    const script = tmp.write('leftover.sh', `#!/bin/sh\nsleep 30 &\necho $! > ${pids}\nexit 0\n`)
    const started = Date.now()
    const result = await createExecHandler({ commands: { bg: { program: script, args: [] } } }).run(
      request({ command: 'bg' }),
      context(),
    )
    expect(result.ok).toBe(true)
    expect(Date.now() - started).toBeLessThan(25_000)
    const [grandchild] = readPids(pids)
    await waitFor('the background job to be gone', () => isGone(grandchild!))
  })

  it('an already aborted signal starts nothing', async () => {
    const marker = path.join(tmp.path, 'aborted-ran')
    const script = tmp.write('aborted.sh', `#!/bin/sh\ntouch ${marker}\n`)
    const result = await createExecHandler({ commands: { run: { program: script, args: [] } } }).run(
      request({ command: 'run' }),
      context({ signal: AbortSignal.abort() }),
    )
    expect(result).toMatchObject({ ok: false, retriable: true, output: { timedOut: 'true' } })
    expect(fs.existsSync(marker)).toBe(false)
  })
})

describe('exec: config validation', () => {
  let script: string
  let plain: string
  beforeAll(() => {
    script = tmp.write('valid.sh', '#!/bin/sh\n')
    plain = tmp.write('not-executable.txt', 'hello', 0o644)
  })

  it.each<[string, () => unknown, string]>([
    ['not an object', () => null, '(top level) must be an object'],
    ['no commands', () => ({}), '/commands is required'],
    ['an unknown top-level key', () => ({ commands: {}, shell: true }), '/shell is not allowed'],
    [
      'a relative program',
      () => ({ commands: { a: { program: 'sh', args: [] } } }),
      '/commands/a/program must be an absolute path',
    ],
    [
      'a missing program',
      () => ({ commands: { a: { program: '/nonexistent/prog', args: [] } } }),
      '/commands/a/program /nonexistent/prog does not exist',
    ],
    ['a non-executable program', () => ({ commands: { a: { program: plain, args: [] } } }), 'is not executable'],
    ['a folder as program', () => ({ commands: { a: { program: tmp.path, args: [] } } }), 'is not a file'],
    ['no args', () => ({ commands: { a: { program: script } } }), '/commands/a/args is required'],
    [
      'a non-string arg',
      () => ({ commands: { a: { program: script, args: [1] } } }),
      '/commands/a/args/0 must be a string',
    ],
    [
      'an unknown placeholder',
      () => ({ commands: { a: { program: script, args: ['{{ annotations.x }}'] } } }),
      '/commands/a/args/0: placeholder {{ annotations.x }}: unknown field',
    ],
    [
      'a map without key',
      () => ({ commands: { a: { program: script, args: ['{{ labels }}'] } } }),
      'is not a labels name',
    ],
    ['unbalanced braces', () => ({ commands: { a: { program: script, args: ['x {{ team'] } } }), 'unclosed "{{"'],
    [
      'an unknown command key',
      () => ({ commands: { a: { program: script, args: [], shell: true } } }),
      '/commands/a/shell is not allowed',
    ],
    [
      'a bad command name',
      () => ({ commands: { 'a b': { program: script, args: [] } } }),
      '/commands/a b is not a command name',
    ],
    [
      'a bad timeout',
      () => ({ commands: { a: { program: script, args: [], timeoutMs: 0 } } }),
      '/commands/a/timeoutMs must be a positive integer',
    ],
    [
      'a relative cwd',
      () => ({ commands: { a: { program: script, args: [], cwd: 'tmp' } } }),
      '/commands/a/cwd must be an absolute path',
    ],
    [
      'a missing cwd',
      () => ({ commands: { a: { program: script, args: [], cwd: '/nonexistent-dir' } } }),
      'is not an existing folder',
    ],
    [
      'a bad env name',
      () => ({ commands: { a: { program: script, args: [], env: ['A=B'] } } }),
      '/commands/a/env/0 must be an environment variable name',
    ],
    ['PATH in env', () => ({ commands: { a: { program: script, args: [], env: ['PATH'] } } }), 'PATH is always passed'],
    [
      'a non-boolean retryOnFailure',
      () => ({ commands: { a: { program: script, args: [], retryOnFailure: 'no' } } }),
      '/commands/a/retryOnFailure must be true or false',
    ],
    [
      'a bad maxOutputBytes',
      () => ({ commands: {}, maxOutputBytes: -1 }),
      '/maxOutputBytes must be a positive integer',
    ],
    ['a bad killGraceMs', () => ({ commands: {}, killGraceMs: 1.5 }), '/killGraceMs must be a positive integer'],
  ])('%s is a ConfigError', (_name, config, message) => {
    const build = (): unknown => createExecHandler(config() as ExecConfig)
    expect(build).toThrow(ConfigError)
    expect(build).toThrow(message)
  })

  it('reports every problem at once', () => {
    const build = (): unknown =>
      createExecHandler({
        commands: { a: { program: 'rel', args: ['{{ nope }}'] }, b: { program: script, args: [], timeoutMs: -5 } },
      })
    expect(build).toThrow(/a\/program must be an absolute path[\s\S]*a\/args\/0[\s\S]*b\/timeoutMs/)
  })

  it('a valid config builds a handler named exec', () => {
    expect(
      createExecHandler({
        commands: {
          a: {
            program: script,
            args: ['{{ params.x }}'],
            timeoutMs: 10,
            cwd: tmp.path,
            env: ['HOME'],
            retryOnFailure: false,
          },
        },
      }).name,
    ).toBe('exec')
  })
})
