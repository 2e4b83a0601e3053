import fs from 'node:fs'
import path from 'node:path'

/**
 * The rooms of src/ and who may enter them, checked from the import statements, so that
 * a change which breaks the layout fails here and not in a review.
 */

const SRC = path.resolve(__dirname, '..', '..', 'src')

interface Import {
  /** The importing file, relative to src/. */
  from: string
  /** The module as written. */
  specifier: string
  /** For a relative specifier: the imported file or folder, relative to src/. */
  target?: string
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    return entry.name.endsWith('.ts') ? [full] : []
  })
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|(?:require|import)\(\s*['"]([^'"]+)['"]\s*\)/g

function importsOf(file: string): Import[] {
  const text = fs.readFileSync(file, 'utf8')
  const from = path.relative(SRC, file)
  return [...text.matchAll(IMPORT)].map((m) => {
    const specifier = (m[1] ?? m[2])!
    if (!specifier.startsWith('.')) return { from, specifier }
    return { from, specifier, target: path.relative(SRC, path.resolve(path.dirname(file), specifier)) }
  })
}

const imports = sourceFiles(SRC).flatMap(importsOf)

const inside = (file: string, room: string): boolean => file === room || file.startsWith(`${room}/`)

describe('the layout of src/', () => {
  test('the scan sees the imports it checks', () => {
    expect(imports.filter((i) => i.specifier === 'kafkajs').length).toBeGreaterThan(0)
    expect(imports.some((i) => i.from === 'main.ts' && i.target !== undefined && inside(i.target, 'cli'))).toBe(true)
  })

  test('only src/kafka/ imports kafkajs and the registry client', () => {
    const outside = imports.filter((i) => /^(kafkajs|@kafkajs\/)/.test(i.specifier) && !inside(i.from, 'kafka'))
    expect(outside).toEqual([])
  })

  test('nothing but main.ts imports src/cli/', () => {
    const outside = imports.filter(
      (i) => i.target !== undefined && inside(i.target, 'cli') && i.from !== 'main.ts' && !inside(i.from, 'cli'),
    )
    expect(outside).toEqual([])
  })

  test.each([
    ['stages', 'actions'],
    ['actions', 'stages'],
  ])('src/%s/ does not import src/%s/', (from, to) => {
    const crossing = imports.filter((i) => inside(i.from, from) && i.target !== undefined && inside(i.target, to))
    expect(crossing).toEqual([])
  })

  test('action handlers do not reach into the worker', () => {
    const crossing = imports.filter(
      (i) => inside(i.from, 'actions/handlers') && i.target !== undefined && inside(i.target, 'actions/worker'),
    )
    expect(crossing).toEqual([])
  })

  test('stage decisions are pure: no Kafka, logger, clock or randomness', () => {
    const decides = sourceFiles(path.join(SRC, 'stages')).filter((f) => f.endsWith('decide.ts'))
    expect(decides.length).toBeGreaterThanOrEqual(5)
    const impure = decides.flatMap((file) => {
      const text = fs.readFileSync(file, 'utf8')
      const found = [/Date\.now\(\)/, /Math\.random\(\)/, /new Date\(\)/].filter((re) => re.test(text))
      const io = importsOf(file).filter(
        (i) =>
          /^(kafkajs|@kafkajs\/|pino|node:)/.test(i.specifier) ||
          (i.target !== undefined && (inside(i.target, 'kafka') || i.target === 'log')),
      )
      return [
        ...found.map((re) => `${path.relative(SRC, file)}: ${re.source}`),
        ...io.map((i) => `${i.from}: ${i.specifier}`),
      ]
    })
    expect(impure).toEqual([])
  })
})
