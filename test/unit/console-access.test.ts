import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { Command } from 'commander'
import Fastify, { type FastifyInstance } from 'fastify'
import { addConsoleCommands, readSecret } from '../../src/cli/console'
import {
  MAX_CONCURRENT_CHECKS,
  OPEN_USER,
  checkCsrf,
  consoleListenCheck,
  createConsoleAccess,
  decorateConsoleRequest,
  hashSecret,
  isLoopback,
  parseScryptHash,
  parseUsersFile,
  verifySecret,
  type ConsoleAccess,
  type CsrfInput,
} from '../../src/console/access'
import { CSRF_HEADER, type ConsoleUser } from '../../src/console/types'
import { ConfigError } from '../../src/errors'
import { createLogger } from '../../src/log'

const logger = createLogger({ level: 'silent' })
const basic = (name: string, password: string): string =>
  `Basic ${Buffer.from(`${name}:${password}`, 'utf8').toString('base64')}`

/** Hashes made once: each costs ~100 ms of scrypt. */
const H: Record<'alice' | 'bob' | 'ci' | 'deploy', string> = { alice: '', bob: '', ci: '', deploy: '' }
const SECRETS = { alice: 'correct horse', bob: 'bob-pw', ci: 'ci-token-3f9a', deploy: 'deploy-token-77c1' }

let dir: string
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-access-'))
  for (const k of Object.keys(H) as Array<keyof typeof H>) H[k] = await hashSecret(SECRETS[k])
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

function usersYaml(): string {
  return [
    'users:',
    `  - { name: alice, role: operator, password: "${H.alice}" }`,
    `  - { name: bob, role: viewer, password: "${H.bob}" }`,
    'tokens:',
    `  - { name: ci, role: viewer, token: "${H.ci}" }`,
    `  - { name: deploy, role: operator, token: "${H.deploy}" }`,
  ].join('\n')
}

let fileCount = 0
function usersFile(text: string): string {
  const file = path.join(dir, `users-${(fileCount += 1)}.yaml`)
  fs.writeFileSync(file, text)
  return file
}

describe('scrypt hashes', () => {
  it('hashes in the documented format with a random salt, and verifies only the same secret', async () => {
    const a = await hashSecret('s3cret')
    const b = await hashSecret('s3cret')
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/)
    expect(a).not.toBe(b)
    const parsed = parseScryptHash(a)
    if (!parsed.ok) throw new Error(parsed.reason)
    await expect(verifySecret('s3cret', parsed.value)).resolves.toBe(true)
    await expect(verifySecret('s3cret ', parsed.value)).resolves.toBe(false)
    await expect(verifySecret('S3cret', parsed.value)).resolves.toBe(false)
  })

  it('is scrypt of the secret with the stored salt and parameters (node:crypto, NFC)', async () => {
    const salt = Buffer.alloc(16, 7)
    const hash = await hashSecret('caf\u00e9', { salt })
    const expected = crypto.scryptSync('caf\u00e9', salt, 32, { N: 16384, r: 8, p: 1 }).toString('base64')
    expect(hash).toBe(`scrypt$16384$8$1$${salt.toString('base64')}$${expected}`)
    const parsed = parseScryptHash(hash)
    if (!parsed.ok) throw new Error(parsed.reason)
    // The same text typed with a combining accent signs in too.
    await expect(verifySecret('cafe\u0301', parsed.value)).resolves.toBe(true)
  })

  const salt = Buffer.alloc(16, 1).toString('base64')
  const key = Buffer.alloc(32, 2).toString('base64')
  it.each<[string, string, RegExp | null]>([
    ['a valid hash', `scrypt$16384$8$1$${salt}$${key}`, null],
    ['stronger parameters', `scrypt$131072$8$2$${salt}$${key}`, null],
    ['a plain password', 'hunter2', /^not a scrypt hash; expected scrypt\$<N>/],
    [
      'a bcrypt hash',
      '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW',
      /bcrypt hashes are not supported/,
    ],
    ['too few fields', `scrypt$16384$8$1$${salt}`, /^not a scrypt hash/],
    ['N below the default', `scrypt$1024$8$1$${salt}$${key}`, /N must be a power of 2 of at least 16384/],
    ['N not a power of 2', `scrypt$20000$8$1$${salt}$${key}`, /N must be a power of 2/],
    ['r of 0', `scrypt$16384$0$1$${salt}$${key}`, /r must be between 1 and 32/],
    ['p of 17', `scrypt$16384$8$17$${salt}$${key}`, /p must be between 1 and 16/],
    ['a 1 GiB check', `scrypt$1048576$8$1$${salt}$${key}`, /more than 256 MiB/],
    ['a salt that is not base64', `scrypt$16384$8$1$not*base64$${key}`, /must be base64/],
    ['a short salt', `scrypt$16384$8$1$AAAA$${key}`, /salt must be at least 16 bytes/],
    ['a long hash', `scrypt$16384$8$1$${salt}$${Buffer.alloc(65).toString('base64')}`, /hash must be 16 to 64 bytes/],
  ])('parses %s', (_name, text, error) => {
    const parsed = parseScryptHash(text)
    if (error === null) expect(parsed.ok).toBe(true)
    else expect(parsed).toEqual({ ok: false, reason: expect.stringMatching(error) as unknown })
  })
})

describe('the users file', () => {
  it('reads users and tokens with their roles', () => {
    const credentials = parseUsersFile(usersYaml(), '/etc/nightshift/users.yaml')
    expect(credentials.users.map((u) => [u.name, u.role])).toEqual([
      ['alice', 'operator'],
      ['bob', 'viewer'],
    ])
    expect(credentials.tokens.map((t) => [t.name, t.role])).toEqual([
      ['ci', 'viewer'],
      ['deploy', 'operator'],
    ])
    expect(Object.isFrozen(credentials)).toBe(true)
  })

  const hash = `scrypt$16384$8$1$${Buffer.alloc(16, 1).toString('base64')}$${Buffer.alloc(32).toString('base64')}`
  it.each<[string, string, RegExp[]]>([
    [
      'a plain password, naming the user and not the password',
      `users:\n  - { name: carol, role: viewer, password: "Tr0ub4dor&3" }`,
      [/\/users\/0\/password of user "carol" is not a scrypt hash/, /run `nightshift console hash-password`/],
    ],
    [
      'a number as a password',
      `users:\n  - { name: dave, role: viewer, password: 123456 }`,
      [/\/users\/0\/password of user "dave" is not a scrypt hash/],
    ],
    [
      'a plain token',
      `tokens:\n  - { name: ci, role: viewer, token: abc }`,
      [/token of token "ci" is not a scrypt hash/],
    ],
    [
      'a weak hash',
      `users:\n  - { name: erin, role: viewer, password: "scrypt$1024$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAA==" }`,
      [/user "erin" is a bad hash: N must be a power of 2 of at least 16384/],
    ],
    ['an unknown role', `users:\n  - { name: frank, role: admin, password: "${hash}" }`, [/\/users\/0\/role/]],
    [
      'a name with a colon',
      `users:\n  - { name: "a:b", role: viewer, password: "${hash}" }`,
      [/\/users\/0\/name must be a name/],
    ],
    ['a missing password', `users:\n  - { name: gina, role: viewer }`, [/\/users\/0\/password is required/]],
    ['an unknown key', `users: []\npasswords: []`, [/\/passwords is not allowed; expected one of: users, tokens/]],
    [
      'a name used twice',
      `users:\n  - { name: hal, role: viewer, password: "${hash}" }\ntokens:\n  - { name: hal, role: operator, token: "${hash}" }`,
      [/\/tokens\/0: the name "hal" is already used by \/users\/0/],
    ],
    ['no one at all', 'users: []\ntokens: []', [/no users and no tokens: an empty file would open the console/]],
    ['an empty file', '', [/the file is empty; expected the key users/]],
    [
      'every problem at once',
      `users:\n  - { name: ivy, role: viewer, password: plain }\n  - { name: jo, role: viewer, password: "also plain" }`,
      [/user "ivy" is not a scrypt hash/, /user "jo" is not a scrypt hash/],
    ],
  ])('refuses %s', (_name, text, errors) => {
    let thrown: unknown
    try {
      parseUsersFile(text, path.join(process.cwd(), 'users.yaml'))
    } catch (err) {
      thrown = err
    }
    expect(thrown).toBeInstanceOf(ConfigError)
    const message = (thrown as Error).message
    for (const e of errors) expect(message).toMatch(e)
    expect(message).toMatch(/^users\.yaml: /)
    expect(message).not.toMatch(/Tr0ub4dor|123456|also plain/)
  })

  it('refuses a name the operator token takes', () => {
    expect(() =>
      parseUsersFile(`users:\n  - { name: operator, role: viewer, password: "${hash}" }`, 'u.yaml', ['operator']),
    ).toThrow(/the name "operator" is already used by the operator token/)
  })
})

describe('signing in', () => {
  const accesses: ConsoleAccess[] = []
  const access = (env: NodeJS.ProcessEnv, options: { reloadIntervalMs?: number } = {}): ConsoleAccess => {
    const a = createConsoleAccess({ logger, env, ...options })
    accesses.push(a)
    return a
  }
  afterEach(() => accesses.splice(0).forEach((a) => a.close()))

  const alice: ConsoleUser = { name: 'alice', role: 'operator', open: false }
  const bob: ConsoleUser = { name: 'bob', role: 'viewer', open: false }
  const ci: ConsoleUser = { name: 'ci', role: 'viewer', open: false }
  const deploy: ConsoleUser = { name: 'deploy', role: 'operator', open: false }
  const operator: ConsoleUser = { name: 'operator', role: 'operator', open: false }

  it.each<[string, () => string | undefined, ConsoleUser | undefined]>([
    ['an operator with Basic', () => basic('alice', SECRETS.alice), alice],
    ['a viewer with Basic', () => basic('bob', SECRETS.bob), bob],
    ['a wrong password', () => basic('alice', SECRETS.bob), undefined],
    ['an unknown user', () => basic('mallory', SECRETS.alice), undefined],
    ['a user name but no password', () => basic('alice', ''), undefined],
    ['a viewer token', () => `Bearer ${SECRETS.ci}`, ci],
    ['an operator token, scheme in any case', () => `bearer ${SECRETS.deploy}`, deploy],
    ['a password as a token', () => `Bearer ${SECRETS.alice}`, undefined],
    ['the approval API token as a bearer', () => 'Bearer env-operator-token', operator],
    ['the approval API token as Basic operator:<token>', () => basic('operator', 'env-operator-token'), operator],
    ['the approval API token under another name', () => basic('alice', 'env-operator-token'), undefined],
    ['no Authorization', () => undefined, undefined],
    ['another scheme', () => `Digest ${SECRETS.ci}`, undefined],
    ['Basic without a colon', () => `Basic ${Buffer.from('alice').toString('base64')}`, undefined],
  ])('%s', async (_name, authorization, expected) => {
    const a = access({
      NIGHTSHIFT_CONSOLE_USERS_FILE: usersFile(usersYaml()),
      NIGHTSHIFT_OPERATOR_TOKEN: 'env-operator-token',
    })
    expect(a.open).toBe(false)
    await expect(a.identify(authorization())).resolves.toEqual(expected)
  })

  it('with only the approval API token, that token is the one operator', async () => {
    const a = access({ NIGHTSHIFT_OPERATOR_TOKEN: 'tok' })
    expect(a.open).toBe(false)
    expect(a.describe()).toBe(
      'console access: the operator token (NIGHTSHIFT_OPERATOR_TOKEN); 1 operator(s), 0 viewer(s)',
    )
    await expect(a.identify('Bearer tok')).resolves.toEqual(operator)
    await expect(a.identify(basic('alice', 'tok'))).resolves.toBeUndefined()
  })

  it('is open, everyone the operator "local", when nothing is configured', async () => {
    const a = access({})
    expect(a.open).toBe(true)
    expect(a.describe()).toMatch(/^console open: no credentials configured/)
    await expect(a.identify(undefined)).resolves.toEqual(OPEN_USER)
    expect(OPEN_USER).toEqual({ name: 'local', role: 'operator', open: true })
  })

  it('refuses to start on a bad users file or a missing one', () => {
    expect(() =>
      access({ NIGHTSHIFT_CONSOLE_USERS_FILE: usersFile('users:\n  - { name: a, role: viewer, password: pw }') }),
    ).toThrow(ConfigError)
    expect(() => access({ NIGHTSHIFT_CONSOLE_USERS_FILE: path.join(dir, 'absent.yaml') })).toThrow(ConfigError)
  })

  it('pays scrypt once per credential: later requests are answered from the cache', async () => {
    const a = access({ NIGHTSHIFT_CONSOLE_USERS_FILE: usersFile(usersYaml()) })
    const scrypt = jest.spyOn(crypto, 'scrypt')
    try {
      for (let i = 0; i < 3; i += 1) await expect(a.identify(basic('alice', SECRETS.alice))).resolves.toEqual(alice)
      expect(scrypt).toHaveBeenCalledTimes(1)
      // A wrong password is never cached: each attempt pays.
      for (let i = 0; i < 2; i += 1) await expect(a.identify(basic('alice', 'nope'))).resolves.toBeUndefined()
      expect(scrypt).toHaveBeenCalledTimes(3)
    } finally {
      scrypt.mockRestore()
    }
  })

  it('follows edits of the file: someone removed is signed out, a bad edit keeps the last good file', async () => {
    const file = usersFile(usersYaml())
    const a = access({ NIGHTSHIFT_CONSOLE_USERS_FILE: file }, { reloadIntervalMs: 20 })
    await expect(a.identify(basic('bob', SECRETS.bob))).resolves.toEqual(bob)
    fs.writeFileSync(file, 'users:\n  - { name: bob, role: viewer, password: plain }')
    fs.writeFileSync(file, usersYaml().replace(/\n {2}- \{ name: bob.*/, ''))
    await waitFor(async () => (await a.identify(basic('bob', SECRETS.bob))) === undefined)
    await expect(a.identify(basic('alice', SECRETS.alice))).resolves.toEqual(alice)
    fs.writeFileSync(file, 'users:\n  - { name: alice, role: viewer, password: plain }')
    await new Promise((resolve) => setTimeout(resolve, 100)) // several reload periods: the edit is refused
    await expect(a.identify(basic('alice', SECRETS.alice))).resolves.toEqual(alice)
  })
})

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('cross-site request forgery', () => {
  const base: CsrfInput = { method: 'POST', host: 'console.example:9180', csrfHeader: true, bearer: false }
  it.each<[string, Partial<CsrfInput>, RegExp | null]>([
    ['a GET without anything', { method: 'GET', csrfHeader: false, origin: 'https://evil.example' }, null],
    ['a HEAD without anything', { method: 'HEAD', csrfHeader: false }, null],
    ['a POST with the header and no Origin', {}, null],
    [
      'a POST without the header',
      { csrfHeader: false },
      /a POST from a browser must carry the header x-nightshift-console/,
    ],
    ['a DELETE without the header', { method: 'DELETE', csrfHeader: false }, /a DELETE from a browser must carry/],
    ['a PUT without the header', { method: 'put', csrfHeader: false }, /a PUT from a browser/],
    ['a PATCH without the header', { method: 'PATCH', csrfHeader: false }, /a PATCH from a browser/],
    ['a same-origin POST', { origin: 'http://console.example:9180', secFetchSite: 'same-origin' }, null],
    ['a cross-origin POST', { origin: 'https://evil.example' }, /Origin https:\/\/evil\.example is not this console's/],
    ['another port of the same host', { origin: 'http://console.example:9181' }, /is not this console's/],
    ['a default port on one side only', { host: 'console.example', origin: 'https://console.example:443' }, null],
    ['the host in another case', { origin: 'http://CONSOLE.example:9180' }, null],
    ['Origin null (a sandboxed frame)', { origin: 'null' }, /Origin null is not/],
    ['a file: page', { origin: 'file://' }, /is not this console's/],
    ['Sec-Fetch-Site cross-site', { secFetchSite: 'cross-site' }, /Sec-Fetch-Site is cross-site/],
    ['Sec-Fetch-Site same-site (a sibling subdomain)', { secFetchSite: 'same-site' }, /Sec-Fetch-Site is same-site/],
    ['a bearer token without the header', { csrfHeader: false, bearer: true }, null],
    ['a bearer token from another origin', { bearer: true, origin: 'https://evil.example' }, /is not this console's/],
  ])('%s', (_name, input, refused) => {
    const result = checkCsrf({ ...base, ...input })
    if (refused === null) expect(result).toEqual({ ok: true })
    else expect(result).toEqual({ ok: false, reason: expect.stringMatching(refused) as unknown })
  })
})

describe('where an open console may listen', () => {
  it.each<[string, boolean]>([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['::1', true],
    ['[::1]', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.5', false],
    ['nightshift.internal', false],
    ['', false],
  ])('%s is loopback: %s', (host, loopback) => {
    expect(isLoopback(host)).toBe(loopback)
    if (loopback) expect(() => consoleListenCheck(host, { open: true })).not.toThrow()
    else expect(() => consoleListenCheck(host, { open: true })).toThrow(/may only listen on a loopback address/)
    expect(() => consoleListenCheck(host, { open: false })).not.toThrow()
  })
})

describe('the hooks on a fastify server', () => {
  const servers: FastifyInstance[] = []
  const accesses: ConsoleAccess[] = []
  afterEach(async () => {
    accesses.splice(0).forEach((a) => a.close())
    await Promise.all(servers.splice(0).map((s) => s.close()))
  })

  /** `/` and `/api/console/*` behind the hook, a state-changing route behind requireOperator. */
  async function serve(env: NodeJS.ProcessEnv): Promise<string> {
    const access = createConsoleAccess({ logger, env })
    accesses.push(access)
    const app = Fastify()
    servers.push(app)
    decorateConsoleRequest(app)
    await app.register(async (scope) => {
      scope.addHook('onRequest', access.authenticate)
      scope.get('/', async (request) => ({ page: true, user: request.consoleUser }))
      scope.get('/api/console/whoami', async (request) => request.consoleUser)
      scope.post('/api/console/pauses', { preHandler: access.requireOperator }, async (request) => ({
        by: request.consoleUser?.name,
      }))
    })
    app.get('/healthz', async () => 'ok')
    await app.listen({ host: '127.0.0.1', port: 0 })
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  }

  const usersEnv = (): NodeJS.ProcessEnv => ({ NIGHTSHIFT_CONSOLE_USERS_FILE: usersFile(usersYaml()) })
  const csrf = { [CSRF_HEADER]: '1' }

  it.each<[string, string, string, Record<string, string>, number, unknown]>([
    ['no credentials on the page', 'GET', '/', {}, 401, { error: { message: 'sign in to use the console' } }],
    [
      'a viewer looks',
      'GET',
      '/api/console/whoami',
      { authorization: basic('bob', SECRETS.bob) },
      200,
      { name: 'bob', role: 'viewer', open: false },
    ],
    [
      'a wrong password',
      'GET',
      '/api/console/whoami',
      { authorization: basic('bob', 'x') },
      401,
      { error: { message: 'wrong or unknown credentials' } },
    ],
    [
      'a viewer acts',
      'POST',
      '/api/console/pauses',
      { authorization: basic('bob', SECRETS.bob), ...csrf },
      403,
      { error: { message: 'bob is a viewer: approving, denying, pausing and lifting need an operator credential' } },
    ],
    [
      'an operator acts',
      'POST',
      '/api/console/pauses',
      { authorization: basic('alice', SECRETS.alice), ...csrf },
      200,
      { by: 'alice' },
    ],
    [
      'an operator without the CSRF header',
      'POST',
      '/api/console/pauses',
      { authorization: basic('alice', SECRETS.alice) },
      403,
      { error: { message: expect.stringMatching(/must carry the header x-nightshift-console/) as unknown } },
    ],
    [
      'a forged cross-site POST with the credentials the browser cached',
      'POST',
      '/api/console/pauses',
      { authorization: basic('alice', SECRETS.alice), origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      403,
      { error: { message: expect.stringMatching(/^cross-site request refused/) as unknown } },
    ],
    [
      'an operator token from a script',
      'POST',
      '/api/console/pauses',
      { authorization: `Bearer ${SECRETS.deploy}` },
      200,
      { by: 'deploy' },
    ],
    [
      'a viewer token acts',
      'POST',
      '/api/console/pauses',
      { authorization: `Bearer ${SECRETS.ci}` },
      403,
      { error: { message: expect.stringMatching(/^ci is a viewer/) as unknown } },
    ],
    ['a route outside the console', 'GET', '/healthz', {}, 200, 'ok'],
  ])('%s', async (_name, method, url, headers, status, body) => {
    const base = await serve(usersEnv())
    const res = await fetch(`${base}${url}`, { method, headers })
    expect(res.status).toBe(status)
    const text = await res.text()
    if (typeof body === 'string') expect(text).toBe(body)
    else expect(JSON.parse(text)).toMatchObject(body as object)
    if (status === 401)
      expect(res.headers.get('www-authenticate')).toMatch(
        /^Basic realm="nightshift", charset="UTF-8", Bearer realm="nightshift"$/,
      )
  })

  it('lets a same-origin page act: Origin matches the Host the browser addressed', async () => {
    const base = await serve(usersEnv())
    const res = await fetch(`${base}/api/console/pauses`, {
      method: 'POST',
      headers: { authorization: basic('alice', SECRETS.alice), origin: base, 'sec-fetch-site': 'same-origin', ...csrf },
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ by: 'alice' })
  })

  it('open mode lets everyone on this host in as the operator "local", still refusing forged requests', async () => {
    const base = await serve({})
    const who = await fetch(`${base}/api/console/whoami`)
    expect(await who.json()).toEqual(OPEN_USER)
    const acted = await fetch(`${base}/api/console/pauses`, { method: 'POST', headers: csrf })
    expect(await acted.json()).toEqual({ by: 'local' })
    const forged = await fetch(`${base}/api/console/pauses`, { method: 'POST', headers: { authorization: 'Bearer x' } })
    expect(forged.status).toBe(403)
  })

  it.each<[string, number]>([
    ['127.0.0.1', 200],
    ['localhost', 200],
    ['[::1]', 200],
    ['rebound.evil.example', 403],
  ])('open mode answers a request addressed to %s with %s (DNS rebinding)', async (hostname, status) => {
    const base = await serve({})
    const { port } = new URL(base)
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.get(
        { host: '127.0.0.1', port, path: '/api/console/whoami', headers: { host: `${hostname}:${port}` } },
        (r) => {
          let body = ''
          r.on('data', (c: Buffer) => (body += c.toString()))
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body }))
        },
      )
      req.on('error', reject)
    })
    expect(res.status).toBe(status)
    if (status === 403) expect(res.body).toMatch(/answers only to a loopback name .*not rebound\.evil\.example/)
  })

  it(`answers 429 beyond ${MAX_CONCURRENT_CHECKS} checks at once, and nothing is cached for them`, async () => {
    const base = await serve(usersEnv())
    const statuses = await Promise.all(
      Array.from({ length: MAX_CONCURRENT_CHECKS + 4 }, (_, i) =>
        fetch(`${base}/api/console/whoami`, { headers: { authorization: basic('alice', `guess-${i}`) } }).then(
          (r) => r.status,
        ),
      ),
    )
    expect(statuses.filter((s) => s === 401)).toHaveLength(MAX_CONCURRENT_CHECKS)
    expect(statuses.filter((s) => s === 429)).toHaveLength(4)
  })
})

describe('nightshift console hash-password', () => {
  const run = async (args: string[], stdin: string): Promise<string> => {
    const printed: string[] = []
    const program = new Command().exitOverride()
    addConsoleCommands(program, {
      stdin: Readable.from([stdin]),
      print: (t) => printed.push(t),
      prompt: () => undefined,
    })
    await program.parseAsync(['node', 'nightshift', 'console', 'hash-password', ...args])
    return printed.join('\n')
  }

  it('prints a hash of the password read from stdin, without its newline, that signs in', async () => {
    const hash = await run([], 'pa ss\n')
    const parsed = parseScryptHash(hash)
    if (!parsed.ok) throw new Error(parsed.reason)
    await expect(verifySecret('pa ss', parsed.value)).resolves.toBe(true)
  })

  it('reads --password-file instead', async () => {
    const file = path.join(dir, 'pw')
    fs.writeFileSync(file, 'from-file\r\n')
    const parsed = parseScryptHash(await run(['--password-file', file], 'ignored'))
    if (!parsed.ok) throw new Error(parsed.reason)
    await expect(verifySecret('from-file', parsed.value)).resolves.toBe(true)
  })

  it.each<[string, string, RegExp]>([
    ['an empty stdin', '', /stdin is empty: nothing to hash/],
    ['a lone newline', '\n', /stdin is empty/],
    ['two lines', 'a\nb\n', /stdin holds more than one line/],
  ])('refuses %s', async (_name, stdin, error) => {
    await expect(readSecret({}, Readable.from([stdin]), () => undefined)).rejects.toThrow(error)
  })

  it('refuses an unreadable --password-file', async () => {
    await expect(
      readSecret({ passwordFile: path.join(dir, 'none') }, Readable.from([]), () => undefined),
    ).rejects.toThrow(/--password-file .*none cannot be read/)
  })
})
