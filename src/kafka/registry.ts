import { SchemaRegistry, SchemaType, COMPATIBILITY } from '@kafkajs/confluent-schema-registry'
import type http from 'node:http'
import type avro from 'avsc'
import {
  ERROR_CODES,
  NightshiftError,
  PoisonRecordError,
  RetriableError,
  SchemaIncompatibleError,
  describeError,
} from '../errors'
import type { RegistryAccess } from '../config/security'
import { registryAgent, registryAuthorization, registryRequest, type RegistryResponse } from './registry-http'

export type Compatibility =
  'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FORWARD_TRANSITIVE' | 'FULL' | 'FULL_TRANSITIVE' | 'NONE'

/** An Avro schema as parsed from `schemas/*.avsc`. */
export interface AvroSchema {
  type: string
  name?: string
  namespace?: string
  [key: string]: unknown
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json'

interface ResponseLike {
  status?: number
  message?: string
}

function statusOf(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'status' in err ? (err as ResponseLike).status : undefined
}

/**
 * The registry refused Nightshift's credentials: not retriable and not the record's
 * fault (never a poison record), and the message names the setting, never its value.
 */
function refused(url: string, status: number, sent: boolean, cause?: unknown): NightshiftError {
  return new NightshiftError(
    ERROR_CODES.REGISTRY,
    sent
      ? `schema registry at ${url} refused the credentials (${status}): check SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO or SCHEMA_REGISTRY_BEARER_TOKEN`
      : `schema registry at ${url} requires credentials (${status}): set SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO or SCHEMA_REGISTRY_BEARER_TOKEN`,
    { retriable: false, cause },
  )
}

function fullName(schema: AvroSchema): string {
  return schema.namespace && schema.name ? `${schema.namespace}.${schema.name}` : (schema.name ?? schema.type)
}

/**
 * A Confluent-compatible schema registry (Confluent, Apicurio's ccompat API, Karapace):
 * registration under an explicit subject with a compatibility level, and the
 * Confluent wire format (magic byte 0, 4-byte schema id, Avro body).
 */
export class Registry {
  private readonly client: SchemaRegistry
  /** Resolvers from a writer schema id to a reader type, built once each. */
  private readonly resolvers = new Map<string, avro.Resolver>()
  private readonly readerIds = new WeakMap<avro.Type, number>()
  private nextReaderId = 0
  /**
   * Writer types by schema id, kept once the client fetched them: an id never changes
   * meaning, so encoding and decoding a record need no lookup through the client (its
   * per-call promises cost as much as a small record's encoding).
   */
  private readonly writers = new Map<number, avro.Type>()
  /**
   * Where values are encoded before being copied out at their exact size: one pass and
   * one pooled allocation per record, where avsc's toBuffer allocates a zero-filled
   * buffer of its own for every value (and encodes twice past 1 KiB). Grown as needed.
   */
  private scratch = Buffer.allocUnsafe(16 * 1024)

  private readonly agent: http.Agent
  private readonly authorization: string | undefined

  /**
   * @param access credentials (basic auth or a bearer token) and a CA for an https
   *   registry, from {@link RegistryAccess}; none when absent.
   */
  constructor(
    readonly url: string,
    access?: RegistryAccess,
  ) {
    this.agent = registryAgent(url, access)
    this.authorization = registryAuthorization(access)
    const auth = this.authorization
    this.client = new SchemaRegistry({
      host: url,
      agent: this.agent,
      ...(auth === undefined
        ? {}
        : {
            middlewares: [
              () => ({
                prepareRequest: (next) => next().then((req) => req.enhance({ headers: { authorization: auth } })),
              }),
            ],
          }),
    })
  }

  private request(
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
  ): Promise<RegistryResponse> {
    return registryRequest(`${this.url}${path}`, this.agent, this.authorization, init)
  }

  /**
   * Throws a retriable REGISTRY_UNAVAILABLE error unless the API answers, and a
   * non-retriable REGISTRY error when it refuses the credentials (401/403).
   */
  async ping(): Promise<void> {
    let res: RegistryResponse
    try {
      res = await this.request('/subjects', { timeoutMs: 2000 })
    } catch (cause) {
      throw new RetriableError(
        ERROR_CODES.REGISTRY_UNAVAILABLE,
        `schema registry at ${this.url} is unreachable: ${describeError(cause)}`,
        { cause },
      )
    }
    if (res.status === 401 || res.status === 403) throw refused(this.url, res.status, this.authorization !== undefined)
    if (!res.ok) {
      throw new RetriableError(
        ERROR_CODES.REGISTRY_UNAVAILABLE,
        `schema registry at ${this.url} answered ${res.status} to GET /subjects`,
      )
    }
  }

  /**
   * Sets the subject's compatibility. Confluent accepts this before the subject
   * exists; Apicurio answers 404 then, and the level is set after registration.
   * Setting it explicitly matters on Apicurio: for a subject without a rule it
   * reports the global level (NONE) instead of 404, which the client library
   * would take for a conflicting configuration.
   * @returns whether the level was set
   */
  async setCompatibility(subject: string, compatibility: Compatibility): Promise<boolean> {
    const res = await this.request(`/config/${encodeURIComponent(subject)}`, {
      method: 'PUT',
      headers: { 'content-type': CONTENT_TYPE },
      body: JSON.stringify({ compatibility }),
    })
    if (res.status === 404) return false
    if (res.status === 401 || res.status === 403) throw refused(this.url, res.status, this.authorization !== undefined)
    if (!res.ok) {
      throw new NightshiftError(
        ERROR_CODES.REGISTRY,
        `setting compatibility ${compatibility} on ${subject} failed: ${res.status} ${res.text}`,
      )
    }
    return true
  }

  /**
   * Registers `schema` under `subject` with `compatibility` (idempotent: the same
   * schema returns the same id). An incompatible change throws
   * {@link SchemaIncompatibleError} naming the schema, the subject and the reason.
   * @returns the schema id
   */
  async register(subject: string, schema: AvroSchema, compatibility: Compatibility = 'BACKWARD'): Promise<number> {
    await this.setCompatibility(subject, compatibility)
    try {
      const { id } = await this.client.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
        { subject, compatibility: COMPATIBILITY[compatibility] },
      )
      return id
    } catch (err) {
      const status = statusOf(err)
      if (status === 401 || status === 403) throw refused(this.url, status, this.authorization !== undefined, err)
      if (status === 409) {
        throw new SchemaIncompatibleError(
          fullName(schema),
          subject,
          `the registry refused it under ${compatibility} compatibility: ${describeError(err)}`,
          err,
        )
      }
      if (status === 422) {
        throw new NightshiftError(
          ERROR_CODES.SCHEMA_INVALID,
          `schema ${fullName(schema)} for subject ${subject} is invalid: ${describeError(err)}`,
          { cause: err },
        )
      }
      if (status === undefined || status >= 500) {
        throw new RetriableError(
          ERROR_CODES.REGISTRY_UNAVAILABLE,
          `registering ${fullName(schema)} under ${subject} failed: ${describeError(err)}`,
          { cause: err },
        )
      }
      throw new NightshiftError(
        ERROR_CODES.REGISTRY,
        `registering ${fullName(schema)} under ${subject} failed: ${describeError(err)}`,
        { cause: err },
      )
    }
  }

  /**
   * Deletes `subject` with every version of it, soft then permanently (Confluent
   * requires both steps; Apicurio takes either), for throwaway namespaces such as a
   * replay's. A schema id that another subject also uses stays readable (the registry
   * keeps content still referenced). A subject that does not exist is not an error.
   */
  async deleteSubject(subject: string): Promise<void> {
    for (const query of ['', '?permanent=true']) {
      let res: RegistryResponse
      try {
        res = await this.request(`/subjects/${encodeURIComponent(subject)}${query}`, {
          method: 'DELETE',
          timeoutMs: 10_000,
        })
      } catch (cause) {
        throw new RetriableError(
          ERROR_CODES.REGISTRY_UNAVAILABLE,
          `deleting subject ${subject} failed: ${describeError(cause)}`,
          { cause },
        )
      }
      if (!res.ok && res.status !== 404) {
        throw new NightshiftError(ERROR_CODES.REGISTRY, `deleting subject ${subject} failed: ${res.status} ${res.text}`)
      }
    }
  }

  /** The latest schema id registered under `subject`. */
  async latestId(subject: string): Promise<number> {
    return this.client.getLatestSchemaId(subject)
  }

  /**
   * The id of exactly `schema` under `subject`. Throws a retriable error naming the
   * subject when it is not registered (run `nightshift topology apply`), so a stage
   * waits for the contract instead of writing with another version of it.
   */
  async idOf(subject: string, schema: AvroSchema): Promise<number> {
    try {
      return await this.client.getRegistryIdBySchema(subject, { type: SchemaType.AVRO, schema: JSON.stringify(schema) })
    } catch (err) {
      const status = statusOf(err)
      if (status === 404 || (err instanceof Error && /not found|does not exist/i.test(err.message))) {
        throw new RetriableError(
          ERROR_CODES.REGISTRY,
          `schema ${fullName(schema)} is not registered under ${subject}; run \`nightshift topology apply\``,
          { cause: err },
        )
      }
      throw new RetriableError(
        ERROR_CODES.REGISTRY_UNAVAILABLE,
        `looking up ${fullName(schema)} under ${subject} failed: ${describeError(err)}`,
        { cause: err },
      )
    }
  }

  /**
   * Decodes a Confluent wire-format buffer into `reader`'s shape, resolving from the
   * writer's schema (Avro schema resolution): records written with an older compatible
   * version read fine; a writer schema `reader` cannot read is a poison record.
   */
  async decodeAs(buffer: Buffer, reader: avro.Type): Promise<unknown> {
    const { id, schema } = await this.writerSchema(buffer)
    let readerId = this.readerIds.get(reader)
    if (readerId === undefined) this.readerIds.set(reader, (readerId = this.nextReaderId++))
    const cacheKey = `${id}/${readerId}`
    let resolver = this.resolvers.get(cacheKey)
    if (!resolver) {
      try {
        resolver = reader.createResolver(schema)
      } catch (err) {
        throw new PoisonRecordError(
          `value was written with schema id ${id}, which cannot be read as ${reader.name ?? 'the expected type'}: ${describeError(err)}`,
          { cause: err },
        )
      }
      this.resolvers.set(cacheKey, resolver)
    }
    try {
      return reader.fromBuffer(buffer.subarray(5), resolver)
    } catch (err) {
      throw new PoisonRecordError(`value does not decode with schema id ${id}: ${describeError(err)}`, { cause: err })
    }
  }

  /** Encodes `value` in the Confluent wire format with schema `id`. */
  async encode(id: number, value: unknown): Promise<Buffer> {
    const type = this.writers.get(id)
    if (type !== undefined) {
      try {
        return this.encodeWith(type, id, value)
      } catch {
        // Not valid for the schema: the client says which paths do not match.
      }
    }
    const encoded = await this.client.encode(id, value)
    if (type === undefined) this.keepWriter(id, await this.client.getSchema(id))
    return encoded
  }

  /** Encodes into the scratch buffer, then copies out magic byte, id and body. */
  private encodeWith(type: avro.Type, id: number, value: unknown): Buffer {
    for (;;) {
      const end = type.encode(value, this.scratch, 5)
      if (end >= 5) {
        const out = Buffer.allocUnsafe(end)
        out[0] = 0
        out.writeInt32BE(id, 1)
        this.scratch.copy(out, 5, 5, end)
        return out
      }
      // A negative result is the number of bytes that did not fit.
      this.scratch = Buffer.allocUnsafe(2 * (this.scratch.length - end))
    }
  }

  private keepWriter(id: number, schema: unknown): void {
    const type = schema as avro.Type
    if (typeof type?.encode === 'function' && typeof type.fromBuffer === 'function') this.writers.set(id, type)
  }

  /**
   * Decodes a Confluent wire-format buffer. A buffer that is not in the wire format,
   * names a schema id the registry does not have, or does not match its schema is a
   * {@link PoisonRecordError}; a registry that cannot be reached is retriable.
   */
  async decode(buffer: Buffer): Promise<unknown> {
    const { id, schema } = await this.writerSchema(buffer)
    try {
      return schema.fromBuffer(buffer.subarray(5))
    } catch (err) {
      throw new PoisonRecordError(`value does not decode with schema id ${id}: ${describeError(err)}`, { cause: err })
    }
  }

  /** The schema id and writer schema of a wire-format buffer. */
  private async writerSchema(buffer: Buffer): Promise<{ id: number; schema: avro.Type }> {
    if (buffer.length < 5 || buffer[0] !== 0) {
      throw new PoisonRecordError('value is not in the Confluent wire format (magic byte 0 + schema id)')
    }
    const id = buffer.readInt32BE(1)
    const known = this.writers.get(id)
    if (known !== undefined) return { id, schema: known }
    try {
      const schema = await this.client.getSchema(id)
      this.keepWriter(id, schema)
      return { id, schema: schema as unknown as avro.Type }
    } catch (err) {
      const status = statusOf(err)
      if (status === 401 || status === 403) throw refused(this.url, status, this.authorization !== undefined, err)
      if (status !== undefined && status >= 400 && status < 500) {
        throw new PoisonRecordError(`schema id ${id} is unknown to the registry (${status})`, { cause: err })
      }
      throw new RetriableError(
        ERROR_CODES.REGISTRY_UNAVAILABLE,
        `fetching schema id ${id} failed: ${describeError(err)}`,
        { cause: err },
      )
    }
  }
}
