#!/usr/bin/env node
// Makes `npm start` and `npm test` work on a fresh Debian machine (plain Node, no
// dependencies, so it runs before `npm ci`):
//
//   node scripts/ensure-deps.js test|start|reliability [--demo] [--system-only]
//   node scripts/ensure-deps.js --stamp          (postinstall: node_modules matches the lockfile)
//
// 1. The system programs the command needs (below). Missing ones are installed with
//    `apt-get update` + `apt-get install -y` when running as root with apt-get; otherwise
//    it stops at once and prints the one command to run.
// 2. Unless --system-only: when node_modules is missing or was installed from another
//    package-lock.json, runs `npm ci` (whose postinstall applies scripts/patches and
//    stamps the lockfile hash).
'use strict'
const { createHash } = require('node:crypto')
const { execFileSync, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const stamp = path.join(root, 'node_modules', '.nightshift-lock-hash')
const lockHash = () =>
  createHash('sha256')
    .update(fs.readFileSync(path.join(root, 'package-lock.json')))
    .digest('hex')

/** A program on PATH, or at an absolute path. */
function found(program) {
  if (path.isAbsolute(program)) return isExecutable(program)
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && isExecutable(path.join(dir, program)))
}

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK)
    return fs.statSync(file).isFile()
  } catch {
    return false
  }
}

const env = process.env
const javaBin = (name) => (env.JAVA_HOME ? path.join(env.JAVA_HOME, 'bin', name) : name)

/**
 * What each command needs, as Debian packages and how to tell they are there. The same
 * variables as the code that uses them pick another binary (JAVA_HOME, MAVEN_BIN, ...).
 */
const REQUIREMENTS = {
  // The local stack runs Kafka and the registry on Java 17 and fetches them with Maven.
  // The JDK, not the JRE: the thread-dump tests attach to a JVM with jcmd.
  jdk: {
    packages: ['openjdk-17-jdk-headless'],
    present: () => found(javaBin('java')) && found(javaBin('jcmd')),
  },
  maven: { packages: ['maven'], present: () => found(env.MAVEN_BIN ?? 'mvn') },
  tar: { packages: ['tar'], present: () => found('tar') },
  // The demo and the end-to-end test fire real alerts through Debian's Prometheus and
  // Alertmanager; promtool checks the shipped alerting rules.
  prometheus: {
    packages: ['prometheus'],
    present: () => found(env.PROMETHEUS_BIN ?? 'prometheus') && found(env.PROMTOOL ?? 'promtool'),
  },
  alertmanager: {
    packages: ['prometheus-alertmanager'],
    present: () => found(env.ALERTMANAGER_BIN ?? 'prometheus-alertmanager'),
  },
  // The /slo page is tested in headless Chromium (playwright-core drives it, downloads none).
  chromium: { packages: ['chromium'], present: () => isExecutable(env.CHROMIUM_PATH ?? '/usr/bin/chromium') },
  // The contract test decodes every topic with confluent-kafka from PyPI, in a venv.
  python: {
    packages: ['python3', 'python3-venv', 'ca-certificates'],
    present: () =>
      spawnSync(env.NIGHTSHIFT_PYTHON ?? 'python3', ['-c', 'import ensurepip, venv'], { stdio: 'ignore' }).status === 0,
  },
}

const NEEDS = {
  start: ['jdk', 'maven', 'tar'],
  demo: ['jdk', 'maven', 'tar', 'prometheus', 'alertmanager'],
  test: ['jdk', 'maven', 'tar', 'prometheus', 'alertmanager', 'chromium', 'python'],
  reliability: ['jdk', 'maven', 'tar'],
}

function fail(message) {
  console.error(`nightshift: ${message}`)
  process.exit(1)
}

function missingPackages(needs) {
  return needs.filter((name) => !REQUIREMENTS[name].present()).flatMap((name) => REQUIREMENTS[name].packages)
}

function ensureSystem(purpose) {
  const [major] = process.versions.node.split('.').map(Number)
  if (major < 20) fail(`Node.js 20 or later is needed, this is ${process.version}`)
  let missing = missingPackages(NEEDS[purpose])
  if (missing.length === 0) return
  const what = { start: 'npm start', demo: 'the demo', test: 'npm test', reliability: 'npm run test:reliability' }[
    purpose
  ]
  const apt = found('apt-get')
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0
  if (!apt || !asRoot) {
    const install = `apt-get update && apt-get install -y ${missing.join(' ')}`
    fail(
      `${what} needs these Debian packages, which are missing: ${missing.join(' ')}\n` +
        (apt
          ? `Install them, then run it again:\n\n  sudo sh -c '${install}'\n`
          : `apt-get is not here: install the equivalent packages of your system, then run it again.\n`),
    )
  }
  console.error(`nightshift: ${what} needs ${missing.join(' ')}; installing with apt-get`)
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' }
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env: aptEnv })
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env: aptEnv })
  missing = missingPackages(NEEDS[purpose])
  if (missing.length > 0)
    fail(
      `still missing after apt-get install: ${missing.join(' ')} ` +
        '(JAVA_HOME, MAVEN_BIN, PROMETHEUS_BIN, PROMTOOL, ALERTMANAGER_BIN, CHROMIUM_PATH or NIGHTSHIFT_PYTHON may point elsewhere)',
    )
}

function ensureNodeModules() {
  let current = ''
  try {
    current = fs.readFileSync(stamp, 'utf8').trim()
  } catch {
    // not installed, or installed before the stamp existed
  }
  if (current !== lockHash()) {
    console.error('nightshift: node_modules is missing or out of date; running npm ci')
    execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' })
  }
}

const args = process.argv.slice(2)
if (args[0] === '--stamp') {
  fs.writeFileSync(stamp, lockHash())
  process.exit(0)
}
let purpose = args[0]
if (!(purpose in NEEDS) || purpose === 'demo')
  fail(`usage: node scripts/ensure-deps.js test|start|reliability [--demo] [--system-only] (got ${args.join(' ')})`)
// `npm start -- --demo` hands its arguments to scripts/start.sh, which passes them on.
if (purpose === 'start' && args.includes('--demo')) purpose = 'demo'
ensureSystem(purpose)
if (!args.includes('--system-only')) ensureNodeModules()
