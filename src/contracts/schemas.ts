import fs from 'node:fs'
import path from 'node:path'
import avro from 'avsc'
import { ConfigError } from '../errors'
import type { AvroSchema } from '../kafka'

/** Where the `.avsc` files live, relative to the project root. */
export const SCHEMA_DIR = path.resolve(__dirname, '..', '..', 'schemas')

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string'])

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

function qualify(name: string, namespace: string | undefined): string {
  return name.includes('.') || !namespace ? name : `${namespace}.${name}`
}

/**
 * The Avro contracts in `schemas/`: each file defines one named type and may refer to
 * types of other files by full name. {@link SchemaSet.resolve} inlines those
 * references, so every registered schema is self-contained and any Confluent serde
 * reads it without registry references.
 */
export class SchemaSet {
  private constructor(private readonly byName: ReadonlyMap<string, { file: string; schema: AvroSchema }>) {}

  /** Loads every `*.avsc` of `dir`; a duplicate or unnamed type is a ConfigError naming the file. */
  static load(dir: string = SCHEMA_DIR): SchemaSet {
    const byName = new Map<string, { file: string; schema: AvroSchema }>()
    for (const file of fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.avsc'))
      .sort()) {
      const full = path.join(dir, file)
      let schema: AvroSchema
      try {
        schema = JSON.parse(fs.readFileSync(full, 'utf8')) as AvroSchema
      } catch (cause) {
        throw new ConfigError(`${full}: not valid JSON: ${(cause as Error).message}`, { cause })
      }
      if (typeof schema.name !== 'string') throw new ConfigError(`${full}: the top-level schema must be a named type`)
      const name = qualify(schema.name, schema.namespace)
      const seen = byName.get(name)
      if (seen) throw new ConfigError(`${full}: type ${name} is already defined in ${seen.file}`)
      byName.set(name, { file: full, schema })
    }
    const set = new SchemaSet(byName)
    for (const name of byName.keys()) set.type(name) // every contract must parse
    return set
  }

  /** Full names of every type defined in the folder. */
  names(): string[] {
    return [...this.byName.keys()]
  }

  /** Finds a type by full name or by its short name when that is unambiguous. */
  fullName(name: string): string {
    if (this.byName.has(name)) return name
    const matches = [...this.byName.keys()].filter((n) => n.endsWith(`.${name}`))
    if (matches.length === 1) return matches[0]!
    throw new ConfigError(`no schema named ${name} in schemas/ (known: ${this.names().join(', ')})`)
  }

  /** The self-contained schema of `name`, with referenced types inlined at first use. */
  resolve(name: string): AvroSchema {
    const full = this.fullName(name)
    const defined = new Set<string>()
    return this.inline(this.byName.get(full)!.schema as unknown as Json, undefined, defined) as unknown as AvroSchema
  }

  /** An avsc Type of `name` (for validation and local encoding in tests and tools). */
  type(name: string): avro.Type {
    const full = this.fullName(name)
    try {
      return avro.Type.forSchema(this.resolve(full) as avro.Schema)
    } catch (cause) {
      throw new ConfigError(`${this.byName.get(full)!.file}: invalid Avro schema: ${(cause as Error).message}`, {
        cause,
      })
    }
  }

  private inline(node: Json, namespace: string | undefined, defined: Set<string>): Json {
    if (typeof node === 'string') {
      if (PRIMITIVES.has(node)) return node
      const full = qualify(node, namespace)
      if (defined.has(full)) return full
      const ref = this.byName.get(full)
      if (!ref) return node // left for avsc to report
      return this.inline(ref.schema as unknown as Json, undefined, defined)
    }
    if (Array.isArray(node)) return node.map((n) => this.inline(n, namespace, defined))
    if (node === null || typeof node !== 'object') return node
    const out: { [key: string]: Json } = { ...node }
    let ns = namespace
    if (typeof node.name === 'string' && (node.type === 'record' || node.type === 'enum' || node.type === 'fixed')) {
      ns =
        typeof node.namespace === 'string'
          ? node.namespace
          : node.name.includes('.')
            ? node.name.slice(0, node.name.lastIndexOf('.'))
            : namespace
      const full = qualify(node.name, ns)
      defined.add(full)
      // Pin the namespace so an inlined type keeps its own, wherever it lands.
      if (ns && !node.name.includes('.')) out.namespace = ns
    }
    if (node.type !== undefined && typeof node.type !== 'string') out.type = this.inline(node.type, ns, defined)
    else if (typeof node.type === 'string' && !['record', 'enum', 'fixed', 'array', 'map'].includes(node.type))
      out.type = this.inline(node.type, ns, defined)
    if (Array.isArray(node.fields)) {
      out.fields = node.fields.map((f) =>
        f && typeof f === 'object' && !Array.isArray(f) ? { ...f, type: this.inline(f.type as Json, ns, defined) } : f,
      )
    }
    if (node.items !== undefined) out.items = this.inline(node.items, ns, defined)
    if (node.values !== undefined) out.values = this.inline(node.values, ns, defined)
    return out
  }
}
