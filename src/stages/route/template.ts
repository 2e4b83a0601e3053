/**
 * The parameter templates of routes.yaml: literal text with `{{ <field> }}` placeholders,
 * substituted as strings. There is no expression language on purpose: a placeholder is
 * one field of a fixed list, checked when the file is loaded, and looked up in own
 * properties only (so `{{ labels.__proto__ }}` reads nothing from a prototype).
 *
 * Fields: `labels.<name>`, `annotations.<name>`, `endpoints.<name>`, `team`, `service`,
 * `tier`, `slo`, `runbookUrl`, `fingerprint`, `startsAt`, `status`. There is no escape
 * for a literal `{{` or `}}`; neither may appear outside a placeholder.
 */
import type { EnrichedAlertRecord } from '../../contracts/records'

/** Fields of the record a placeholder may name without a key. */
export const TEMPLATE_FIELDS = [
  'team',
  'service',
  'tier',
  'slo',
  'runbookUrl',
  'fingerprint',
  'startsAt',
  'status',
] as const
/** Maps a placeholder may name a key of: `labels.<name>` etc. */
export const TEMPLATE_MAPS = ['labels', 'annotations', 'endpoints'] as const

export type TemplateField = (typeof TEMPLATE_FIELDS)[number]
export type TemplateMap = (typeof TEMPLATE_MAPS)[number]

/** One piece of a parsed template. */
export type TemplatePart =
  | { readonly text: string }
  | { readonly field: TemplateField; readonly placeholder: string }
  | { readonly map: TemplateMap; readonly key: string; readonly placeholder: string }

/** A parsed template: its source and its parts, frozen. */
export interface Template {
  readonly source: string
  readonly parts: readonly TemplatePart[]
}

/** A template that does not parse; `message` says why (the caller adds file and path). */
export class TemplateSyntaxError extends Error {}

const PLACEHOLDER = /\{\{([^{}]*)\}\}/g
const MAP_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/

function parsePlaceholder(inner: string): TemplatePart {
  const expr = inner.trim()
  const placeholder = `{{ ${expr} }}`
  if ((TEMPLATE_FIELDS as readonly string[]).includes(expr)) return { field: expr as TemplateField, placeholder }
  const dot = expr.indexOf('.')
  const root = dot < 0 ? expr : expr.slice(0, dot)
  if ((TEMPLATE_MAPS as readonly string[]).includes(root)) {
    const key = expr.slice(dot + 1)
    if (dot < 0) throw new TemplateSyntaxError(`placeholder {{${inner}}} needs a key: ${root}.<name>`)
    if (!MAP_KEY.test(key))
      throw new TemplateSyntaxError(
        `placeholder {{${inner}}}: "${key}" is not a ${root} name (letters, digits, "_", "-", not starting with a digit)`,
      )
    return { map: root as TemplateMap, key, placeholder }
  }
  const known = [...TEMPLATE_MAPS.map((m) => `${m}.<name>`), ...TEMPLATE_FIELDS].join(', ')
  throw new TemplateSyntaxError(`placeholder {{${inner}}}: unknown field "${expr}"; expected one of: ${known}`)
}

function checkLiteral(text: string): void {
  if (text.includes('{{')) throw new TemplateSyntaxError('unclosed "{{" (or a "{" inside a placeholder)')
  if (text.includes('}}')) throw new TemplateSyntaxError('"}}" without an opening "{{"')
}

/**
 * Parses a template.
 * @throws TemplateSyntaxError for an unknown field, a map without a key, a bad key, or
 * unbalanced braces.
 */
export function parseTemplate(source: string): Template {
  const parts: TemplatePart[] = []
  let last = 0
  for (const m of source.matchAll(PLACEHOLDER)) {
    const text = source.slice(last, m.index)
    checkLiteral(text)
    if (text) parts.push(Object.freeze({ text }))
    parts.push(Object.freeze(parsePlaceholder(m[1]!)))
    last = m.index! + m[0].length
  }
  const rest = source.slice(last)
  checkLiteral(rest)
  if (rest) parts.push(Object.freeze({ text: rest }))
  return Object.freeze({ source, parts: Object.freeze(parts) })
}

/** A filled template, or the placeholders the record lacks. */
export type FillResult = { ok: true; value: string } | { ok: false; missing: string[] }

function own(map: Readonly<Record<string, string>>, key: string): string | undefined {
  if (!Object.hasOwn(map, key)) return undefined
  const value: unknown = map[key]
  return typeof value === 'string' ? value : undefined
}

function fieldValue(record: EnrichedAlertRecord, field: TemplateField): string | undefined {
  switch (field) {
    case 'team':
      return record.team
    case 'service':
      return record.service ?? undefined
    case 'tier':
      return record.tier ?? undefined
    case 'slo':
      return record.slo ?? undefined
    case 'runbookUrl':
      return record.runbookUrl ?? undefined
    case 'fingerprint':
      return record.alert.fingerprint
    case 'startsAt':
      return record.alert.startsAt
    case 'status':
      return record.alert.status
  }
}

/**
 * Fills `template` from `record`. A field that is null or a key the map lacks is
 * missing (not an empty string): the action would otherwise run with a wrong argument.
 */
export function fillTemplate(template: Template, record: EnrichedAlertRecord): FillResult {
  let value = ''
  const missing: string[] = []
  for (const part of template.parts) {
    let piece: string | undefined
    if ('text' in part) piece = part.text
    else if ('field' in part) piece = fieldValue(record, part.field)
    else piece = own(part.map === 'endpoints' ? record.endpoints : record.alert[part.map], part.key)
    if (piece === undefined) {
      const name = 'text' in part ? '' : 'field' in part ? part.field : `${part.map}.${part.key}`
      if (!missing.includes(name)) missing.push(name)
    } else {
      value += piece
    }
  }
  return missing.length > 0 ? { ok: false, missing } : { ok: true, value }
}
