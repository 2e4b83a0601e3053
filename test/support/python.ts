/**
 * A Python virtual environment for tests that run Python consumers (test/contracts/):
 * created once in `.stack/python-venv` (the ignored folder of the local stack's downloads)
 * with `python3 -m venv`, and given `pip install -r test/contracts/requirements.txt` only
 * when that file changed since the last install (a stamp file holds its hash). A warm run
 * costs one `python -c 'import …'` check.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

const ROOT = path.resolve(__dirname, '..', '..')

/** The requirements of the contract tests' Python side. */
export const CONTRACTS_REQUIREMENTS = path.join(ROOT, 'test', 'contracts', 'requirements.txt')

/** Where the venv lives unless NIGHTSHIFT_PYTHON_VENV says otherwise. */
export const DEFAULT_VENV_DIR = path.join(ROOT, '.stack', 'python-venv')

/** Written in the venv after a successful install: the hash of the requirements it has. */
const STAMP_FILE = 'nightshift-requirements.sha256'

export interface PythonVenvOptions {
  /** Requirements file to install (default {@link CONTRACTS_REQUIREMENTS}). */
  requirements?: string
  /** Venv folder (default NIGHTSHIFT_PYTHON_VENV, else {@link DEFAULT_VENV_DIR}). */
  venvDir?: string
  /** Interpreter that creates the venv (default NIGHTSHIFT_PYTHON, else `python3`). */
  python?: string
  /** Modules that must import once installed: the check that the venv is usable. */
  imports?: string[]
  /** Limit of the pip install (default 10 minutes). */
  installTimeoutMs?: number
}

/** The venv ready to run, and what it took to get there. */
export interface PythonVenv {
  /** Absolute path of the venv's `python`. */
  python: string
  venvDir: string
  /** What was done: nothing (warm), a reinstall of the requirements, or a new venv. */
  action: 'reused' | 'installed' | 'created'
  ms: number
}

interface RunResult {
  /** Exit code; null when the program was killed (timeout) or could not be started. */
  code: number | null
  signal: string | null
  stdout: string
  stderr: string
  /** Set when the program could not be started (ENOENT: not installed; EACCES: not executable). */
  spawnError?: NodeJS.ErrnoException
}

function run(
  file: string,
  args: string[],
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: ROOT, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, signal: null, stdout, stderr })
      const e = err as NodeJS.ErrnoException & { code?: number | string | null; signal?: string | null }
      if (e.code === 'ENOENT' || e.code === 'EACCES')
        return resolve({ code: null, signal: null, stdout, stderr, spawnError: e })
      resolve({
        code: typeof e.code === 'number' ? e.code : null,
        signal: e.signal ?? null,
        stdout,
        stderr: stderr || e.message,
      })
    })
  })
}

/** How a failed run ended, for an error message. */
function ending(r: RunResult): string {
  return r.code !== null ? `exit ${r.code}` : r.signal ? `killed by ${r.signal} (time limit?)` : 'did not run'
}

/** The last lines of a program's output, for an error message. */
function tail(text: string, lines = 15): string {
  return text.trim().split('\n').slice(-lines).join('\n')
}

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex')
}

/**
 * Makes sure the venv exists and has exactly the requirements installed; returns its
 * python. Cheap when nothing changed (the stamp matches and the imports work).
 * @throws Error naming the missing piece: python3 itself, the venv module (Debian's
 *   python3-venv), pip in the venv, or the failed pip install with its output.
 */
export async function ensurePythonVenv(options: PythonVenvOptions = {}): Promise<PythonVenv> {
  const started = Date.now()
  const requirements = options.requirements ?? CONTRACTS_REQUIREMENTS
  const venvDir = path.resolve(options.venvDir ?? process.env.NIGHTSHIFT_PYTHON_VENV ?? DEFAULT_VENV_DIR)
  const basePython = options.python ?? process.env.NIGHTSHIFT_PYTHON ?? 'python3'
  const imports = options.imports ?? ['confluent_kafka.schema_registry.avro', 'fastavro']
  const python = path.join(venvDir, 'bin', 'python')
  const stamp = path.join(venvDir, STAMP_FILE)
  if (!fs.existsSync(requirements)) throw new Error(`requirements file ${requirements} does not exist`)
  const wanted = sha256(requirements)
  const importCheck = ['-c', imports.map((m) => `import ${m}`).join('; ')]

  // Warm: the requirements are those installed last time, and they still import.
  if (fs.existsSync(python) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === wanted) {
    const check = await run(python, importCheck, 60_000)
    if (check.code === 0) return { python, venvDir, action: 'reused', ms: Date.now() - started }
  }

  let action: PythonVenv['action'] = 'installed'
  // A venv whose interpreter does not start (the base python was upgraded or removed) is rebuilt.
  if (!fs.existsSync(python) || (await run(python, ['-c', 'import sys'], 60_000)).code !== 0) {
    fs.rmSync(venvDir, { recursive: true, force: true })
    fs.mkdirSync(path.dirname(venvDir), { recursive: true })
    const created = await run(basePython, ['-m', 'venv', venvDir], 5 * 60_000)
    if (created.spawnError) {
      throw new Error(
        `${basePython} was not found (${created.spawnError.code}): the Python contract test needs Python 3 with venv and pip; ` +
          `on Debian: apt-get install python3 python3-venv (or set NIGHTSHIFT_PYTHON to an interpreter)`,
      )
    }
    if (created.code !== 0) {
      fs.rmSync(venvDir, { recursive: true, force: true })
      throw new Error(
        `${basePython} -m venv failed (${ending(created)}): install python3-venv (Debian: apt-get install python3-venv)\n${tail(created.stderr + created.stdout)}`,
      )
    }
    action = 'created'
  }

  const pip = await run(python, ['-m', 'pip', '--version'], 60_000)
  if (pip.code !== 0) {
    throw new Error(
      `pip is not available in the venv ${venvDir}: install python3-venv (it provides ensurepip) or python3-pip\n${tail(pip.stderr)}`,
    )
  }
  fs.rmSync(stamp, { force: true })
  const env = { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1' }
  const install = await run(
    python,
    ['-m', 'pip', 'install', '--no-input', '-r', requirements],
    options.installTimeoutMs ?? 10 * 60_000,
    env,
  )
  if (install.code !== 0) {
    throw new Error(
      `pip install -r ${path.relative(ROOT, requirements)} failed (${ending(install)}; PyPI unreachable, or no wheel for this Python/platform?)\n${tail(install.stderr + install.stdout)}`,
    )
  }
  const check = await run(python, importCheck, 60_000)
  if (check.code !== 0) {
    throw new Error(
      `after installing ${path.relative(ROOT, requirements)}, \`${importCheck[1]}\` still fails:\n${tail(check.stderr)}`,
    )
  }
  fs.writeFileSync(stamp, `${wanted}\n`)
  return { python, venvDir, action, ms: Date.now() - started }
}
