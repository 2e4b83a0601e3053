import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { ERROR_CODES, StackError, describeError, type ErrorCode } from '../errors'
import { waitForBroker } from '../kafka'
import type { Logger } from '../log'
import { poll } from '../retry'
import { formatTable } from '../text'
import {
  FETCH_POM,
  LOG4J_PROPERTIES,
  renderKafkaPom,
  renderServerProperties,
  stackEndpoints,
  type StackSettings,
} from './settings'

/** The two services the local stack runs. */
export type ServiceName = 'kafka' | 'registry'

interface Paths {
  dist: string
  logs: string
  run: string
}

function paths(settings: StackSettings): Paths {
  return {
    dist: settings.distDir ?? path.join(settings.stateDir, 'dist'),
    logs: path.join(settings.stateDir, 'logs'),
    run: path.join(settings.stateDir, 'run'),
  }
}

const pidFile = (s: StackSettings, name: ServiceName) => path.join(paths(s).run, `${name}.pid`)
const logFile = (s: StackSettings, name: ServiceName) => path.join(paths(s).logs, `${name}.log`)

/** The JVM argument that marks a process as started by this stack folder. */
const marker = (s: StackSettings, name: ServiceName) => `-Dnightshift.stack=${s.stateDir}#${name}`

/** The last `lines` lines of a file, or a note that there is none. */
export function tail(file: string, lines = 40): string {
  try {
    const text = fs.readFileSync(file, 'utf8')
    return text
      .split('\n')
      .slice(-lines - 1)
      .join('\n')
  } catch {
    return `(no log at ${file})`
  }
}

/** The first Maven-style `[ERROR]` line written since `from`, or the last non-empty line. */
function firstError(file: string, from: number): string {
  let text = ''
  try {
    text = fs.readFileSync(file, 'utf8').slice(from)
  } catch {
    return '(no output)'
  }
  const lines = text
    .replace(/\u001b\[[0-9;]*m/g, '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
  return lines.find((l) => l.startsWith('[ERROR]')) ?? lines[lines.length - 1] ?? '(no output)'
}

/** The pid of our running service, or undefined (stale pid files are removed). */
export function runningPid(settings: StackSettings, name: ServiceName): number | undefined {
  const file = pidFile(settings, name)
  let pid: number
  try {
    pid = Number(fs.readFileSync(file, 'utf8').trim())
  } catch {
    return undefined
  }
  if (Number.isInteger(pid) && pid > 0 && isOurs(pid, marker(settings, name))) return pid
  fs.rmSync(file, { force: true })
  return undefined
}

/** True when `pid` is alive and its command line carries our marker (not a reused pid). */
function isOurs(pid: number, mark: string): boolean {
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    return cmdline.split('\0').includes(mark)
  } catch {
    return false
  }
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** How often a long step of the start says it is still going. */
const HEARTBEAT_MS = 5000

/**
 * Logs `still <what>` with the seconds waited every few seconds until `work` settles:
 * a first start fetches ~200 MB with Maven, and a silent minute looks like a hang.
 */
async function withHeartbeat<T>(log: Logger, what: string, work: Promise<T>): Promise<T> {
  const started = Date.now()
  const timer = setInterval(
    () => log.info({ waitedS: Math.round((Date.now() - started) / 1000) }, `still ${what}`),
    HEARTBEAT_MS,
  )
  try {
    return await work
  } finally {
    clearInterval(timer)
  }
}

/** Runs a command to completion with its output appended to `log`; throws with the log's tail. */
function runLogged(
  command: string,
  args: string[],
  log: string,
  what: string,
  code: ErrorCode = ERROR_CODES.STACK,
): Promise<void> {
  const startSize = fs.existsSync(log) ? fs.statSync(log).size : 0
  fs.mkdirSync(path.dirname(log), { recursive: true })
  const out = fs.openSync(log, 'a')
  return new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', out, out] })
    child.once('error', (err) => {
      fs.closeSync(out)
      reject(new StackError(code, `${what}: cannot run ${command}: ${describeError(err)}`, { cause: err }))
    })
    child.once('exit', (status, signal) => {
      fs.closeSync(out)
      if (status === 0) resolve()
      else
        reject(
          new StackError(
            code,
            `${what} failed (${signal ?? `exit ${status}`}): ${firstError(log, startSize)}\nlast lines of ${log}:\n${tail(log)}`,
          ),
        )
    })
  })
}

/** Kafka's classpath folder, fetched with Maven once (Maven's local repository caches the jars). */
async function fetchKafka(settings: StackSettings, log: Logger): Promise<string> {
  const dir = path.join(paths(settings).dist, `kafka_2.13-${settings.kafkaVersion}`)
  const libs = path.join(dir, 'libs')
  const done = path.join(dir, '.complete')
  if (fs.existsSync(done)) return libs
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  const pom = path.join(dir, 'pom.xml')
  fs.writeFileSync(pom, renderKafkaPom(settings.kafkaVersion))
  log.info({ version: settings.kafkaVersion }, 'fetching Kafka jars with Maven')
  const started = Date.now()
  await withHeartbeat(
    log,
    'fetching Kafka jars with Maven',
    runLogged(
      settings.mavenBin,
      [
        '-B',
        '-q',
        '-f',
        pom,
        'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies',
        `-DoutputDirectory=${libs}`,
        '-DincludeScope=runtime',
      ],
      path.join(paths(settings).logs, 'fetch.log'),
      `fetching Kafka ${settings.kafkaVersion}`,
      ERROR_CODES.STACK_FETCH,
    ),
  )
  fs.writeFileSync(done, new Date().toISOString())
  log.info(
    { version: settings.kafkaVersion, ms: Date.now() - started, jars: fs.readdirSync(libs).length },
    'Kafka jars ready',
  )
  return libs
}

/** Finds the runnable jar of an unpacked Apicurio distribution (runner jar or Quarkus fast-jar). */
function apicurioJar(appDir: string): string | undefined {
  const candidates = [path.join(appDir, 'quarkus-app', 'quarkus-run.jar')]
  for (const entry of fs.existsSync(appDir) ? fs.readdirSync(appDir) : []) {
    if (entry.endsWith('-runner.jar')) candidates.push(path.join(appDir, entry))
  }
  return candidates.find((c) => fs.existsSync(c))
}

/** The Apicurio runnable jar: a cached version first, else the first version Maven can fetch. */
async function fetchApicurio(settings: StackSettings, log: Logger): Promise<{ version: string; jar: string }> {
  const dirOf = (v: string) => path.join(paths(settings).dist, `apicurio-registry-${v}`)
  for (const version of settings.apicurioVersions) {
    const jar = fs.existsSync(path.join(dirOf(version), '.complete'))
      ? apicurioJar(path.join(dirOf(version), 'app'))
      : undefined
    if (jar) return { version, jar }
  }
  const failures: string[] = []
  for (const version of settings.apicurioVersions) {
    const dir = dirOf(version)
    fs.rmSync(dir, { recursive: true, force: true })
    fs.mkdirSync(path.join(dir, 'app'), { recursive: true })
    fs.writeFileSync(path.join(dir, 'pom.xml'), FETCH_POM)
    log.info({ version }, 'fetching Apicurio Registry with Maven')
    try {
      await withHeartbeat(
        log,
        `fetching Apicurio Registry ${version} with Maven`,
        runLogged(
          settings.mavenBin,
          [
            '-B',
            '-q',
            '-f',
            path.join(dir, 'pom.xml'),
            // 2.8 on purpose: later versions read the artifact's descriptor, whose parent
            // POM (io.apicurio:apicurio-registry) Maven Central does not carry for 3.0.x.
            'org.apache.maven.plugins:maven-dependency-plugin:2.8:copy',
            `-Dartifact=io.apicurio:apicurio-registry-app:${version}:tar.gz:all`,
            `-DoutputDirectory=${dir}`,
          ],
          path.join(paths(settings).logs, 'fetch.log'),
          `fetching Apicurio Registry ${version}`,
          ERROR_CODES.STACK_FETCH,
        ),
      )
      const archive = fs.readdirSync(dir).find((f) => f.endsWith('.tar.gz'))
      if (!archive) throw new StackError(ERROR_CODES.STACK_FETCH, `Maven fetched no archive for Apicurio ${version}`)
      await runLogged(
        'tar',
        ['xzf', path.join(dir, archive), '-C', path.join(dir, 'app')],
        path.join(paths(settings).logs, 'fetch.log'),
        `unpacking Apicurio ${version}`,
      )
      fs.rmSync(path.join(dir, archive))
      const jar = apicurioJar(path.join(dir, 'app'))
      if (!jar) throw new StackError(ERROR_CODES.STACK_FETCH, `Apicurio ${version} archive holds no runnable jar`)
      fs.writeFileSync(path.join(dir, '.complete'), new Date().toISOString())
      return { version, jar }
    } catch (err) {
      failures.push(`${version}: ${describeError(err).split('\n')[0]}`)
      log.warn(
        { version, reason: describeError(err).split('\n')[0] },
        'Apicurio version not available; trying the next',
      )
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
  throw new StackError(
    ERROR_CODES.STACK_FETCH,
    `no Apicurio Registry version could be fetched:\n  ${failures.join('\n  ')}\n(see ${path.join(paths(settings).logs, 'fetch.log')})`,
  )
}

/** Starts a detached JVM whose output goes to the service's log; records its pid. */
function startJvm(settings: StackSettings, name: ServiceName, args: string[], cwd: string): number {
  fs.mkdirSync(paths(settings).logs, { recursive: true })
  fs.mkdirSync(paths(settings).run, { recursive: true })
  const log = logFile(settings, name)
  fs.appendFileSync(log, `\n==== nightshift stack: starting ${name} at ${new Date().toISOString()} ====\n`)
  const out = fs.openSync(log, 'a')
  const child = spawn(settings.javaBin, [marker(settings, name), ...args], {
    cwd,
    detached: true,
    stdio: ['ignore', out, out],
  })
  fs.closeSync(out)
  if (child.pid === undefined) throw new StackError(ERROR_CODES.STACK, `could not start ${name} (${settings.javaBin})`)
  child.unref()
  fs.writeFileSync(pidFile(settings, name), String(child.pid))
  return child.pid
}

/** Polls `check` until it resolves true; fails early with the log when the process died. */
async function waitUntil(
  settings: StackSettings,
  name: ServiceName,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const ready = await poll(
    async () => {
      if (runningPid(settings, name) === undefined) {
        throw new StackError(
          ERROR_CODES.STACK_NOT_READY,
          `${name} exited during start-up; last lines of ${logFile(settings, name)}:\n${tail(logFile(settings, name))}`,
        )
      }
      return check()
    },
    { intervalMs: 250, timeoutMs },
  )
  if (!ready) {
    throw new StackError(
      ERROR_CODES.STACK_NOT_READY,
      `${name} was not ready within ${timeoutMs} ms; last lines of ${logFile(settings, name)}:\n${tail(logFile(settings, name))}`,
    )
  }
}

/**
 * A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (as StorageTool
 * makes). Never one starting with '-', which StorageTool's `-t` would read as an option
 * (Kafka's own Uuid.randomUuid skips those for the same reason).
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

async function startKafka(settings: StackSettings, log: Logger): Promise<void> {
  const { brokers } = stackEndpoints(settings)
  const kafkaLog = log.child({ service: 'kafka' })
  const readiness = () =>
    waitForBroker(
      { brokers, clientId: 'nightshift-stack', logger: kafkaLog },
      {
        timeoutMs: settings.readyTimeoutMs,
        abortReason: () =>
          runningPid(settings, 'kafka') === undefined
            ? `kafka exited during start-up; last lines of ${logFile(settings, 'kafka')}:\n${tail(logFile(settings, 'kafka'))}`
            : undefined,
      },
    )
  if (runningPid(settings, 'kafka') !== undefined) {
    kafkaLog.info({ brokers }, 'reusing the running broker')
    await readiness()
    return
  }
  if (await portInUse(settings.kafkaPort)) {
    throw new StackError(
      ERROR_CODES.STACK_PORT_IN_USE,
      `port ${settings.kafkaPort} is taken by a process this stack did not start; stop it, set KAFKA_PORT, or point KAFKA_BROKERS at it to use it as an external cluster`,
    )
  }
  if (await portInUse(settings.controllerPort)) {
    throw new StackError(
      ERROR_CODES.STACK_PORT_IN_USE,
      `controller port ${settings.controllerPort} is taken; set KAFKA_CONTROLLER_PORT`,
    )
  }
  const libs = await fetchKafka(settings, kafkaLog)
  const home = path.join(settings.stateDir, `kafka-${settings.kafkaVersion}`)
  const dataDir = path.join(home, 'data')
  fs.mkdirSync(home, { recursive: true })
  const props = path.join(home, 'server.properties')
  const log4j = path.join(home, 'log4j.properties')
  fs.writeFileSync(props, renderServerProperties(settings, dataDir))
  fs.writeFileSync(log4j, LOG4J_PROPERTIES)
  const classpath = ['-cp', path.join(libs, '*'), `-Dlog4j.configuration=file:${log4j}`]
  if (!fs.existsSync(path.join(dataDir, 'meta.properties'))) {
    kafkaLog.info({ dataDir }, 'formatting KRaft storage')
    await runLogged(
      settings.javaBin,
      [...classpath, 'kafka.tools.StorageTool', 'format', '-t', newClusterId(), '-c', props],
      logFile(settings, 'kafka'),
      'formatting KRaft storage',
    )
  }
  const started = Date.now()
  const pid = startJvm(
    settings,
    'kafka',
    [
      `-Xms${settings.heap}`,
      `-Xmx${settings.heap}`,
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      ...classpath,
      'kafka.Kafka',
      props,
    ],
    home,
  )
  kafkaLog.info({ pid, version: settings.kafkaVersion, brokers }, 'starting broker')
  await withHeartbeat(kafkaLog, 'waiting for the broker', readiness())
  kafkaLog.info({ pid, ms: Date.now() - started }, 'broker ready')
}

async function registryReady(baseUrl: string): Promise<boolean> {
  try {
    const res = await fetch(baseUrl, { signal: AbortSignal.timeout(1000) })
    return res.ok
  } catch {
    return false
  }
}

async function startRegistry(settings: StackSettings, log: Logger): Promise<void> {
  const regLog = log.child({ service: 'registry' })
  const health = `http://127.0.0.1:${settings.registryPort}/health/ready`
  if (runningPid(settings, 'registry') !== undefined) {
    regLog.info({ url: health }, 'reusing the running registry')
    await waitUntil(settings, 'registry', () => registryReady(health), settings.readyTimeoutMs)
    return
  }
  if (await portInUse(settings.registryPort)) {
    throw new StackError(
      ERROR_CODES.STACK_PORT_IN_USE,
      `port ${settings.registryPort} is taken by a process this stack did not start; stop it, set REGISTRY_PORT, or point SCHEMA_REGISTRY_URL at it`,
    )
  }
  const { version, jar } = await fetchApicurio(settings, regLog)
  const started = Date.now()
  // Apicurio 3 keeps its schemas in an in-memory H2 database by default: a restarted
  // registry would hand out the ids of the records already in Kafka to other schemas.
  // A file database next to Kafka's data keeps both in step (2.x runner jars are in-memory only).
  const storage = version.startsWith('2.')
    ? []
    : [`-Dapicurio.datasource.url=jdbc:h2:file:${path.join(settings.stateDir, 'registry', 'registry-db')}`]
  if (storage.length === 0)
    regLog.warn(
      { version },
      'this Apicurio version keeps schemas in memory only: after a restart, records already in Kafka name unknown schema ids',
    )
  const pid = startJvm(
    settings,
    'registry',
    [
      `-Xmx${settings.heap}`,
      `-Dquarkus.http.port=${settings.registryPort}`,
      '-Dquarkus.http.host=127.0.0.1',
      ...storage,
      '-jar',
      jar,
    ],
    path.dirname(jar),
  )
  regLog.info({ pid, version }, 'starting Apicurio Registry')
  await withHeartbeat(
    regLog,
    'waiting for the registry',
    waitUntil(settings, 'registry', () => registryReady(health), settings.readyTimeoutMs),
  )
  regLog.info({ pid, ms: Date.now() - started }, 'registry ready')
}

/**
 * Brings the stack up and returns its endpoints. Idempotent: a running stack is reused.
 * With KAFKA_BROKERS / SCHEMA_REGISTRY_URL set it starts nothing for that service and
 * only checks that it answers.
 */
export async function stackUp(
  settings: StackSettings,
  log: Logger,
): Promise<{ brokers: string[]; registryUrl: string }> {
  const endpoints = stackEndpoints(settings)
  const tasks: Promise<void>[] = []
  if (settings.externalBrokers) {
    tasks.push(
      waitForBroker(
        { brokers: endpoints.brokers, clientId: 'nightshift-stack', logger: log },
        { timeoutMs: 15000 },
      ).then(() => {
        log.info({ brokers: endpoints.brokers }, 'using external Kafka')
      }),
    )
  } else {
    tasks.push(startKafka(settings, log))
  }
  if (settings.externalRegistryUrl) {
    tasks.push(
      registryReady(`${endpoints.registryUrl}/subjects`).then((ok) => {
        if (!ok)
          throw new StackError(
            ERROR_CODES.STACK_NOT_READY,
            `external schema registry ${endpoints.registryUrl} does not answer GET /subjects`,
          )
        log.info({ url: endpoints.registryUrl }, 'using external schema registry')
      }),
    )
  } else {
    tasks.push(startRegistry(settings, log))
  }
  const results = await Promise.allSettled(tasks)
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failures.length > 0) {
    const [first] = failures
    throw first!.reason
  }
  return endpoints
}

async function stopService(settings: StackSettings, name: ServiceName, log: Logger): Promise<void> {
  const pid = runningPid(settings, name)
  if (pid === undefined) {
    log.info({ service: name }, 'not running')
    return
  }
  process.kill(pid, 'SIGTERM')
  const stopped = await poll(() => !isOurs(pid, marker(settings, name)), { intervalMs: 200, timeoutMs: 30_000 })
  if (!stopped) {
    log.warn({ service: name, pid }, 'did not stop within 30 s; killing')
    process.kill(pid, 'SIGKILL')
  }
  fs.rmSync(pidFile(settings, name), { force: true })
  log.info({ service: name, pid }, 'stopped')
}

/** Stops the services this stack folder started (and nothing else). */
export async function stackDown(settings: StackSettings, log: Logger): Promise<void> {
  await Promise.all([stopService(settings, 'registry', log), stopService(settings, 'kafka', log)])
}

/**
 * Stops the broker this stack folder started (SIGTERM: a controlled shutdown) and starts
 * it again on the same data, waiting until it answers: what a rolling restart does to
 * clients, for tests that prove nothing is lost across one.
 */
export async function restartKafka(settings: StackSettings, log: Logger): Promise<void> {
  if (settings.externalBrokers)
    throw new StackError(
      ERROR_CODES.STACK,
      'KAFKA_BROKERS names an external cluster: this stack did not start it and cannot restart it',
    )
  await stopService(settings, 'kafka', log)
  await startKafka(settings, log)
}

/** Which of our services run, with their pids. */
export function stackStatus(settings: StackSettings): Record<ServiceName, number | undefined> {
  return { kafka: runningPid(settings, 'kafka'), registry: runningPid(settings, 'registry') }
}

/** One service of the local stack, as `stack:status` shows it. */
export interface StackServiceStatus {
  service: ServiceName
  running: boolean
  pid: number | null
  /** Where clients reach it. */
  address: string
  log: string
}

/** The status of each service of the local stack: running or not, pid, address, log file. */
export function stackStatusReport(settings: StackSettings): StackServiceStatus[] {
  const pids = stackStatus(settings)
  const endpoints = stackEndpoints(settings)
  const address: Record<ServiceName, string> = {
    kafka: endpoints.brokers.join(','),
    registry: endpoints.registryUrl,
  }
  return (['kafka', 'registry'] as const).map((service) => ({
    service,
    running: pids[service] !== undefined,
    pid: pids[service] ?? null,
    address: address[service],
    log: logFile(settings, service),
  }))
}

/** `stack:status` for people: an aligned table, one line per service. */
export function formatStackStatus(rows: readonly StackServiceStatus[]): string {
  const head = ['SERVICE', 'STATE', 'PID', 'ADDRESS', 'LOG']
  const lines = rows.map((r) => [
    r.service,
    r.running ? 'running' : 'stopped',
    r.pid === null ? '-' : String(r.pid),
    r.address,
    r.log,
  ])
  return formatTable(head, lines)
}
