'use strict'
/**
 * Child program of bench/idle-cpu.ts: measures the CPU that one connected, idle kafkajs
 * consumer burns. Plain CommonJS run by `node` (not tsx), so the figure holds kafkajs
 * and Node only, not a TypeScript loader.
 *
 *   node bench/idle-consumer.cjs --kafkajs <dir> --brokers host:port[,…] --topic <name>
 *        [--variant <label>] [--group <groupId>] [--window-ms 10000] [--settle-ms 2000]
 *        [--timeout-ms 60000]
 *
 * <dir> is a kafkajs package directory to require, so the same program measures the
 * pristine and the patched copy. Prints one JSON line on stdout:
 *   { "variant", "cpuMs", "wallMs", "cpuPercent" }   (cpuPercent: % of one core)
 * Exits non-zero, with a message on stderr, on any failure or after --timeout-ms.
 */
const path = require('node:path')
const { parseArgs } = require('node:util')

function readOptions() {
  const { values } = parseArgs({
    options: {
      kafkajs: { type: 'string' },
      brokers: { type: 'string' },
      topic: { type: 'string' },
      variant: { type: 'string' },
      group: { type: 'string' },
      'window-ms': { type: 'string', default: '10000' },
      'settle-ms': { type: 'string', default: '2000' },
      'timeout-ms': { type: 'string', default: '60000' },
    },
  })
  for (const required of ['kafkajs', 'brokers', 'topic']) {
    if (!values[required]) fail(`missing --${required}`)
  }
  const windowMs = positiveInt(values['window-ms'], 'window-ms')
  const settleMs = positiveInt(values['settle-ms'], 'settle-ms', true)
  const timeoutMs = positiveInt(values['timeout-ms'], 'timeout-ms')
  const kafkajsDir = path.resolve(values.kafkajs)
  return {
    kafkajsDir,
    brokers: values.brokers
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean),
    topic: values.topic,
    variant: values.variant || kafkajsDir,
    groupId: values.group || `bench-idle-${process.pid}-${Date.now()}`,
    windowMs,
    settleMs,
    // The whole run (connect, join, settle, window, disconnect) must fit in the timeout.
    timeoutMs,
  }
}

function positiveInt(text, name, zeroOk = false) {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 0 || (n === 0 && !zeroOk)) fail(`--${name} must be a positive integer, got "${text}"`)
  return n
}

function fail(message) {
  process.stderr.write(`idle-consumer: ${message}\n`)
  process.exit(1)
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Resolves on the consumer's first GROUP_JOIN, rejects if it crashes first. */
function groupJoined(consumer) {
  return new Promise((resolve, reject) => {
    const removeJoin = consumer.on(consumer.events.GROUP_JOIN, () => {
      removeJoin()
      removeCrash()
      resolve()
    })
    const removeCrash = consumer.on(consumer.events.CRASH, (event) => {
      removeJoin()
      removeCrash()
      reject(event.payload.error)
    })
  })
}

/** CPU (user + system) and wall time spent while the process sits idle for windowMs. */
async function measureIdle(windowMs) {
  const cpuStart = process.cpuUsage()
  const wallStart = process.hrtime.bigint()
  await sleep(windowMs)
  const cpu = process.cpuUsage(cpuStart)
  const wallMs = Number(process.hrtime.bigint() - wallStart) / 1e6
  const cpuMs = (cpu.user + cpu.system) / 1000
  return { cpuMs, wallMs, cpuPercent: (cpuMs / wallMs) * 100 }
}

async function main() {
  const options = readOptions()
  // A stuck connect or join must not hang the driver: give up after the timeout. The
  // timer sleeps until then, so it costs nothing during the window.
  const watchdog = setTimeout(
    () => fail(`${options.variant}: no result within ${options.timeoutMs} ms (broker down or group never joined?)`),
    options.timeoutMs,
  )

  const { Kafka, logLevel } = require(options.kafkajsDir)
  // ERROR only: kafkajs' console logger prints INFO on stdout, which carries the result.
  const kafka = new Kafka({
    clientId: `bench-idle-${options.variant}`,
    brokers: options.brokers,
    logLevel: logLevel.ERROR,
  })
  const consumer = kafka.consumer({ groupId: options.groupId })
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [options.topic], fromBeginning: false })
    const joined = groupJoined(consumer)
    await consumer.run({ eachMessage: async () => {} })
    await joined
    // Let the first fetch and offset resolution finish so the window sees the steady state.
    await sleep(options.settleMs)
    const result = await measureIdle(options.windowMs)
    process.stdout.write(`${JSON.stringify({ variant: options.variant, ...result })}\n`)
  } finally {
    await consumer.disconnect().catch(() => undefined)
    clearTimeout(watchdog)
  }
}

main().then(
  () => process.exit(0),
  (err) => fail(err instanceof Error ? err.stack || err.message : String(err)),
)
