/**
 * Loading a YAML file that teams own: parse (errors name the line), validate against a
 * JSON schema with ajv (unknown keys rejected by the schemas; every problem reported at
 * once, each as `<file>: <JSON path> <what was expected>`).
 */
import fs from 'node:fs'
import path from 'node:path'
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv'
import { parseDocument } from 'yaml'
import { ConfigError, describeError } from '../errors'

/** How a file is named in messages: relative to the working directory when inside it. */
export function displayName(file: string): string {
  const relative = path.relative(process.cwd(), file)
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file
}

/** Reads a config file; a missing or unreadable one is a ConfigError naming it and `what` it is. */
export function readConfigFile(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch (cause) {
    throw new ConfigError(`${displayName(file)}: cannot read the ${what}: ${describeError(cause)}`, { cause })
  }
}

/** Parses YAML; a syntax error is a ConfigError naming the file, line and column. */
export function parseYaml(text: string, name: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true })
  const [first] = doc.errors
  if (first) {
    const pos = first.linePos?.[0]
    const reason = (first.message.split('\n')[0] ?? first.message).replace(/ at line \d+, column \d+:?$/, '')
    throw new ConfigError(`${name}:${pos ? ` line ${pos.line}, column ${pos.col}:` : ''} invalid YAML: ${reason}`, {
      cause: first,
    })
  }
  return doc.toJS() as unknown
}

/**
 * One ajv error as a sentence. `patternMeans` turns a regex pattern of the schema into
 * words ("an action name: …") so a person is told what was expected; its key
 * `propertyNames` says what a bad key is not ("a Kafka config name (…)").
 */
export function describeAjvError(err: ErrorObject, patternMeans: Readonly<Record<string, string>> = {}): string {
  const at = err.instancePath || '(top level)'
  switch (err.keyword) {
    case 'additionalProperties': {
      const key = String(err.params.additionalProperty)
      const allowed = Object.keys((err.parentSchema as { properties?: object } | undefined)?.properties ?? {})
      return `${err.instancePath}/${key} is not allowed${allowed.length > 0 ? `; expected one of: ${allowed.join(', ')}` : ''}`
    }
    case 'required':
      return `${err.instancePath}/${String(err.params.missingProperty)} is required`
    case 'type': {
      const quote = err.params.type === 'string' && (typeof err.data === 'number' || typeof err.data === 'boolean')
      return `${at} must be ${String(err.params.type)}${quote ? ` (quote it: "${String(err.data)}")` : ''}`
    }
    case 'propertyNames':
      return `${at}/${String(err.params.propertyName)} is not ${patternMeans.propertyNames ?? 'a valid key here'}`
    case 'pattern':
      // A bad key is reported once, by its propertyNames error.
      if (err.schemaPath.includes('/propertyNames/')) return ''
      return `${at} must be ${patternMeans[String(err.params.pattern)] ?? `a string matching ${String(err.params.pattern)}`}`
    case 'uniqueItems':
      return `${at} must not repeat a name (items ${String(err.params.j)} and ${String(err.params.i)} are equal)`
    default:
      return `${at} ${err.message ?? 'is invalid'}`
  }
}

/** A compiled validator for one file format. */
export interface YamlFormat<T> {
  /** Parses and validates `text`; throws one ConfigError listing every problem. */
  parse(text: string, file: string): T
}

/**
 * Builds the parser of a YAML file format from its JSON schema. The schema should say
 * `additionalProperties: false` on every object, so unknown keys are rejected.
 * @param emptyMeans what an empty file lacks, for the error ("the keys services")
 */
export function yamlFormat<T>(
  schema: object,
  options: { emptyMeans: string; patternMeans?: Readonly<Record<string, string>> },
): YamlFormat<T> {
  const ajv = new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true, strict: true })
  const validate: ValidateFunction<T> = ajv.compile<T>(schema)
  return {
    parse(text, file) {
      const name = displayName(file)
      const data = parseYaml(text, name)
      if (data === null || data === undefined)
        throw new ConfigError(`${name}: the file is empty; expected ${options.emptyMeans}`)
      if (!validate(data)) {
        const problems = [
          ...new Set(
            (validate.errors ?? []).map((e) => describeAjvError(e, options.patternMeans)).filter((p) => p.length > 0),
          ),
        ]
        throw new ConfigError(problems.map((p) => `${name}: ${p}`).join('\n'))
      }
      return data
    },
  }
}
