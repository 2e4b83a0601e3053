import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  ConfigResourceTypes,
  ResourcePatternTypes,
  type AclEntry,
  type Admin,
  type ITopicConfig,
  type Kafka,
} from 'kafkajs'
import type { AclBinding } from './acls'
import { withAccessContext } from './security'
import { ERROR_CODES, NightshiftError, RetriableError, describeError } from '../errors'
import { retry } from '../retry'
import { connectClient, createKafka, type KafkaSettings } from './connection'
import { startFailure } from './security'

/** A topic as `topology/` declares it. */
export interface TopicSpec {
  name: string
  partitions: number
  replicationFactor?: number
  configs?: Record<string, string>
}

/** What an existing topic has, for comparing it with what `topology/` declares. */
export interface TopicDescription {
  partitions: number
  /** Every config the broker reports for the topic (defaults included). */
  configs: Record<string, string>
}

/** The admin operations Nightshift needs, over one connection. */
export class KafkaAdmin {
  private constructor(
    private readonly admin: Admin,
    private readonly kafka: Kafka,
  ) {}

  /** @throws RetriableError when Kafka does not answer. */
  static async connect(settings: KafkaSettings): Promise<KafkaAdmin> {
    const kafka = createKafka(settings)
    return new KafkaAdmin(await connectClient(settings, kafka.admin()), kafka)
  }

  /** Creates the topics that do not exist yet; returns the names it created. */
  async ensureTopics(specs: TopicSpec[]): Promise<string[]> {
    const existing = new Set(await this.admin.listTopics())
    const missing = specs.filter((s) => !existing.has(s.name))
    if (missing.length === 0) return []
    const topics: ITopicConfig[] = missing.map((s) => ({
      topic: s.name,
      numPartitions: s.partitions,
      replicationFactor: s.replicationFactor ?? 1,
      configEntries: Object.entries(s.configs ?? {}).map(([name, value]) => ({ name, value })),
    }))
    // kafkajs' waitForLeaders retries only LEADER_NOT_AVAILABLE, but a KRaft broker may
    // answer UNKNOWN_TOPIC_OR_PARTITION for a moment after the create (seen under load):
    // wait for the leaders here, retrying both.
    await this.admin.createTopics({ topics, waitForLeaders: false })
    await this.waitForLeaders(missing.map((s) => s.name))
    return missing.map((s) => s.name)
  }

  /** Resolves once every partition of `names` has a leader; throws after `timeoutMs`. */
  private async waitForLeaders(names: string[], timeoutMs = 30_000): Promise<void> {
    await retry(
      async () => {
        const { topics } = await this.admin.fetchTopicMetadata({ topics: names })
        const led = topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))
        if (!led || topics.length !== names.length) {
          throw new RetriableError(
            ERROR_CODES.KAFKA_UNAVAILABLE,
            `topics ${names.join(', ')} have no leader after ${timeoutMs} ms`,
          )
        }
      },
      {
        initialMs: 100,
        maxMs: 100,
        deadlineMs: timeoutMs,
        retriable: (err) => {
          const type = (err as { type?: unknown }).type
          return (
            err instanceof RetriableError || type === 'UNKNOWN_TOPIC_OR_PARTITION' || type === 'LEADER_NOT_AVAILABLE'
          )
        },
      },
    )
  }

  async listTopics(): Promise<string[]> {
    return this.admin.listTopics()
  }

  /** Partition counts and configs of existing topics, by name. */
  async describeTopics(names: string[]): Promise<Map<string, TopicDescription>> {
    const described = new Map<string, TopicDescription>()
    if (names.length === 0) return described
    const [{ topics }, { resources }] = await withAccessContext({ brokers: [] }, { topics: names }, () =>
      Promise.all([
        this.admin.fetchTopicMetadata({ topics: names }),
        this.admin.describeConfigs({
          resources: names.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
          includeSynonyms: false,
        }),
      ]),
    )
    const configs = new Map(resources.map((r) => [r.resourceName, r.configEntries]))
    for (const t of topics) {
      const entries = configs.get(t.name) ?? []
      described.set(t.name, {
        partitions: t.partitions.length,
        configs: Object.fromEntries(
          entries.filter((e) => e.configValue !== null).map((e) => [e.configName, e.configValue]),
        ),
      })
    }
    return described
  }

  async deleteTopics(names: string[]): Promise<void> {
    if (names.length > 0) await this.admin.deleteTopics({ topics: names })
  }

  async deleteGroups(groupIds: string[]): Promise<void> {
    if (groupIds.length > 0) await this.admin.deleteGroups(groupIds)
  }

  /**
   * Deletes consumer groups (they must have no members), skipping those that do not
   * exist: for cleaning up throwaway namespaces (replays) whose stages may not all have
   * started. Returns the groups deleted.
   * @throws NightshiftError naming each group that could not be deleted and why.
   */
  async deleteGroupsIfPresent(groupIds: string[]): Promise<string[]> {
    if (groupIds.length === 0) return []
    try {
      await this.admin.deleteGroups(groupIds)
      return groupIds
    } catch (err) {
      const failed = (err as { groups?: Array<{ groupId: string; error?: { type?: string; message?: string } }> })
        .groups
      if (!Array.isArray(failed))
        throw new NightshiftError(
          ERROR_CODES.KAFKA,
          `deleting consumer groups ${groupIds.join(', ')} failed: ${describeError(err)}`,
          { cause: err },
        )
      const real = failed.filter((g) => g.error?.type !== 'GROUP_ID_NOT_FOUND')
      if (real.length > 0) {
        throw new NightshiftError(
          ERROR_CODES.KAFKA,
          `could not delete consumer group(s): ${real.map((g) => `${g.groupId} (${g.error?.message ?? 'unknown error'})`).join(', ')}`,
          { cause: err },
        )
      }
      const missing = new Set(failed.map((g) => g.groupId))
      return groupIds.filter((g) => !missing.has(g))
    }
  }

  /** Committed offsets of a group on a topic, by partition (-1 when none). */
  async committedOffsets(groupId: string, topic: string): Promise<Map<number, string>> {
    const [result] = await this.admin.fetchOffsets({ groupId, topics: [topic] })
    return new Map((result?.partitions ?? []).map((p) => [p.partition, p.offset]))
  }

  /** High watermarks (end offsets) of a topic, by partition. */
  async endOffsets(topic: string): Promise<Map<number, string>> {
    const offsets = await this.admin.fetchTopicOffsets(topic)
    return new Map(offsets.map((p) => [p.partition, p.high]))
  }

  /**
   * Last stable offsets of a topic, by partition: where a read_committed consumer must
   * stop. Equal to {@link endOffsets} unless a transaction is still open on a partition.
   * kafkajs' admin asks ListOffsets read_uncommitted only, so this asks through a
   * read_committed cluster of kafkajs' own (a private factory of its client: this folder
   * is the only one that knows kafkajs).
   */
  async stableOffsets(topic: string): Promise<Map<number, string>> {
    const factory = Object.getOwnPropertySymbols(this.kafka).find(
      (s) => s.description === 'private:Kafka:createCluster',
    )
    const create = factory === undefined ? undefined : (this.kafka as unknown as Record<symbol, unknown>)[factory]
    if (typeof create !== 'function')
      throw new NightshiftError(
        ERROR_CODES.KAFKA,
        'this kafkajs build has no cluster factory: last stable offsets cannot be read',
      )
    const cluster = (create as (o: object) => ReadCommittedCluster)({
      allowAutoTopicCreation: false,
      isolationLevel: READ_COMMITTED,
    })
    await cluster.connect()
    try {
      await cluster.addTargetTopic(topic)
      const partitions = [...(await this.endOffsets(topic)).keys()].map((partition) => ({ partition }))
      const [result] = await cluster.fetchTopicsOffset([{ topic, partitions, fromBeginning: false }])
      return new Map((result?.partitions ?? []).map((p) => [p.partition, p.offset]))
    } finally {
      await cluster.disconnect()
    }
  }

  /** Grants `bindings` to `principal` (ALLOW from any host); needs Alter on the cluster. */
  async createAcls(principal: string, bindings: AclBinding[]): Promise<void> {
    await this.admin.createAcls({ acl: aclEntries(principal, bindings) })
  }

  /** Removes exactly `bindings` of `principal`. */
  async deleteAcls(principal: string, bindings: AclBinding[]): Promise<void> {
    await this.admin.deleteAcls({ filters: aclEntries(principal, bindings) })
  }

  async disconnect(): Promise<void> {
    await this.admin.disconnect()
  }
}

const RESOURCE_TYPES: Record<AclBinding['resourceType'], AclResourceTypes> = {
  topic: AclResourceTypes.TOPIC,
  group: AclResourceTypes.GROUP,
  'transactional-id': AclResourceTypes.TRANSACTIONAL_ID,
  cluster: AclResourceTypes.CLUSTER,
}

const OPERATIONS: Record<string, AclOperationTypes> = {
  Read: AclOperationTypes.READ,
  Write: AclOperationTypes.WRITE,
  Describe: AclOperationTypes.DESCRIBE,
  Create: AclOperationTypes.CREATE,
  AlterConfigs: AclOperationTypes.ALTER_CONFIGS,
  DescribeConfigs: AclOperationTypes.DESCRIBE_CONFIGS,
  IdempotentWrite: AclOperationTypes.IDEMPOTENT_WRITE,
}

function aclEntries(principal: string, bindings: AclBinding[]): AclEntry[] {
  return bindings.flatMap((b) =>
    b.operations.map((op) => {
      const operation = OPERATIONS[op]
      if (operation === undefined) throw new TypeError(`unknown ACL operation ${op}`)
      return {
        resourceType: RESOURCE_TYPES[b.resourceType],
        resourceName: b.name,
        resourcePatternType:
          b.resourceType === 'cluster' ? ResourcePatternTypes.LITERAL : ResourcePatternTypes.PREFIXED,
        principal,
        host: '*',
        operation,
        permissionType: AclPermissionTypes.ALLOW,
      }
    }),
  )
}

/** kafkajs' ISOLATION_LEVEL.READ_COMMITTED. */
const READ_COMMITTED = 1

/** The part of kafkajs' internal Cluster that {@link KafkaAdmin.stableOffsets} uses. */
interface ReadCommittedCluster {
  connect(): Promise<void>
  disconnect(): Promise<void>
  addTargetTopic(topic: string): Promise<void>
  fetchTopicsOffset(
    topics: Array<{ topic: string; partitions: Array<{ partition: number }>; fromBeginning: boolean }>,
  ): Promise<Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>
}

export interface WaitForBrokerOptions {
  timeoutMs: number
  /** Called between attempts; a returned string aborts the wait with that reason. */
  abortReason?: () => string | undefined
  intervalMs?: number
}

/**
 * Waits until the cluster answers a metadata call (describeCluster), which is what
 * "ready" means for a client. Throws a retriable KAFKA_UNAVAILABLE error on timeout.
 */
export async function waitForBroker(settings: KafkaSettings, options: WaitForBrokerOptions): Promise<string> {
  const intervalMs = options.intervalMs ?? 250
  let aborted: string | undefined
  try {
    return await retry(
      async () => {
        aborted = options.abortReason?.()
        if (aborted) throw new RetriableError(ERROR_CODES.KAFKA_UNAVAILABLE, aborted)
        // Refused connections are expected while the broker starts: keep kafkajs quiet.
        const quiet = settings.logger.child({}, { level: 'silent' })
        const admin = createKafka({ ...settings, logger: quiet, retries: 0, connectionTimeoutMs: 1000 }).admin()
        try {
          await admin.connect()
          const { clusterId } = await admin.describeCluster()
          return clusterId
        } finally {
          await admin.disconnect().catch(() => undefined)
        }
      },
      {
        initialMs: intervalMs,
        maxMs: intervalMs,
        deadlineMs: options.timeoutMs,
        // A refused password or an untrusted certificate will not heal: stop now, say which.
        retriable: (err) => aborted === undefined && startFailure(err, settings) === undefined,
      },
    )
  } catch (err) {
    if (aborted !== undefined) throw err
    const fatal = startFailure(err, settings)
    if (fatal) throw fatal
    throw new RetriableError(
      ERROR_CODES.KAFKA_UNAVAILABLE,
      `Kafka at ${settings.brokers.join(',')} did not answer within ${options.timeoutMs} ms: ${describeError(err)}`,
      { cause: err },
    )
  }
}
