/**
 * `topology/catalog.yaml`: the service catalog — which service an alert belongs to (by
 * Alertmanager label matchers), its owning team, tier, runbook, SLO and the endpoints
 * actions may call. Validated once at load (unknown keys rejected, bad matchers and
 * duplicate names reported with their path, every problem at once), then frozen.
 */
import path from 'node:path'
import { displayName, readConfigFile, yamlFormat } from '../../config/yaml-file'
import { ConfigError, describeError } from '../../errors'
import { parseMatchers, type Matcher } from '../../matchers'
import { UNOWNED } from './record'

/** The shipped catalog, relative to the project root. */
export const CATALOG_FILE = path.resolve(__dirname, '..', '..', '..', 'topology', 'catalog.yaml')

/** One service of the catalog. */
export interface CatalogService {
  readonly name: string
  readonly team: string
  readonly tier: string | null
  /** Runbook URL; an alert's own runbook_url annotation wins over it. */
  readonly runbook: string | null
  /** Name of the SLO (topology/slos.yaml) the service's alerts count against. */
  readonly slo: string | null
  /** All must match an alert's labels for it to belong to this service. */
  readonly matchers: readonly Matcher[]
  /** Base URLs actions may call, by name (e.g. admin). */
  readonly endpoints: Readonly<Record<string, string>>
}

/** The validated, frozen catalog. */
export interface Catalog {
  /** The file as named in error messages and decisions. */
  readonly file: string
  /** In file order: the first whose matchers all match an alert wins. */
  readonly services: readonly CatalogService[]
}

const NAME = '^[a-z0-9][a-z0-9._-]*$'
const ENDPOINT_NAME = '^[a-z][a-z0-9_-]*$'

const PATTERN_MEANS: Record<string, string> = {
  [NAME]: 'a name of lower-case letters, digits, ".", "_" and "-", starting with a letter or digit',
  propertyNames: 'an endpoint name (lower-case letters, digits, "_" and "-", starting with a letter)',
}

/** The JSON schema of a catalog file (after YAML parsing). */
export const CATALOG_FILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['services'],
  properties: {
    services: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'team', 'matchers'],
        properties: {
          name: { type: 'string', pattern: NAME },
          team: { type: 'string', pattern: NAME },
          tier: { type: 'string', minLength: 1 },
          runbook: { type: 'string', minLength: 1 },
          slo: { type: 'string', minLength: 1 },
          matchers: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
          endpoints: {
            type: 'object',
            propertyNames: { pattern: ENDPOINT_NAME },
            additionalProperties: { type: 'string' },
          },
        },
      },
    },
  },
} as const

interface RawService {
  name: string
  team: string
  tier?: string
  runbook?: string
  slo?: string
  matchers: string[]
  endpoints?: Record<string, string>
}

const FORMAT = yamlFormat<{ services: RawService[] }>(CATALOG_FILE_SCHEMA, {
  emptyMeans: 'the key services',
  patternMeans: PATTERN_MEANS,
})

/** Checks an absolute http(s) URL; problems are pushed, not thrown. */
function checkUrl(url: string, at: string, problems: string[]): void {
  let parsed: URL | undefined
  try {
    parsed = new URL(url)
  } catch {
    parsed = undefined
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:'))
    problems.push(`${at} must be an absolute http(s) URL, got "${url}"`)
}

/**
 * Validates the text of a catalog file; `file` names it in messages.
 * @throws ConfigError listing every problem, one per line: `<file>: <JSON path> <expected>`.
 */
export function parseCatalog(text: string, file: string): Catalog {
  const data = FORMAT.parse(text, file)
  const problems: string[] = []
  const firstAt = new Map<string, number>()
  const services = data.services.map((raw, i): CatalogService => {
    const at = `/services/${i}`
    const seen = firstAt.get(raw.name)
    if (seen === undefined) firstAt.set(raw.name, i)
    else
      problems.push(`${at}/name "${raw.name}" is already the name of /services/${seen}; service names must be unique`)
    if (raw.team === UNOWNED)
      problems.push(`${at}/team must not be "${UNOWNED}": it is reserved for alerts no service matched`)
    let unparsed = 0
    const matchers = raw.matchers.flatMap((m, j) => {
      try {
        return parseMatchers(m)
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err
        unparsed += 1
        problems.push(`${at}/matchers/${j} must be a label matcher like service="checkout": ${describeError(err)}`)
        return []
      }
    })
    // `{}` parses to no matchers: a service selecting nothing would take every alert.
    if (matchers.length === 0 && unparsed === 0)
      problems.push(`${at}/matchers must hold at least one matcher, or the service would take every alert`)
    if (raw.runbook !== undefined) checkUrl(raw.runbook, `${at}/runbook`, problems)
    for (const [name, url] of Object.entries(raw.endpoints ?? {})) checkUrl(url, `${at}/endpoints/${name}`, problems)
    return Object.freeze({
      name: raw.name,
      team: raw.team,
      tier: raw.tier ?? null,
      runbook: raw.runbook ?? null,
      slo: raw.slo ?? null,
      matchers: Object.freeze(matchers),
      endpoints: Object.freeze({ ...raw.endpoints }),
    })
  })
  const name = displayName(file)
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `${name}: ${p}`).join('\n'))
  return Object.freeze({ file: name, services: Object.freeze(services) })
}

/**
 * Loads and validates a catalog file (default: the shipped `topology/catalog.yaml`).
 * @throws ConfigError naming the file when it cannot be read or does not validate.
 */
export function loadCatalog(file: string = CATALOG_FILE): Catalog {
  return parseCatalog(readConfigFile(file, 'catalog file'), file)
}
