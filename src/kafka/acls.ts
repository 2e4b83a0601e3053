/**
 * The ACLs a Nightshift principal needs, as `kafka-acls.sh` commands: what
 * `nightshift topology apply --print-acls` prints and docs/operations.md lists.
 * Everything is granted by prefix, so new action topics, stages and partitions need no
 * new ACL.
 */

export interface AclOptions {
  /** The topic prefix Nightshift runs with (`--prefix`, NIGHTSHIFT_TOPIC_PREFIX). */
  prefix: string
  /** The principal, e.g. `User:nightshift` (SCRAM / PLAIN user, or the mTLS certificate's DN). */
  principal: string
  /** Every topic `topology apply` creates, with the prefix applied. */
  topics: string[]
  /** What `--bootstrap-server` names in the printed commands. */
  bootstrap: string
}

/** One ACL binding, kept as data so the stack and tests can create the same list. */
export interface AclBinding {
  resourceType: 'topic' | 'group' | 'transactional-id' | 'cluster'
  /** The resource name, a prefix unless `resourceType` is cluster. */
  name: string
  operations: string[]
  /** Why the principal needs it. */
  why: string
  /** Only `topology apply` needs it; `run` and the other commands do not. */
  applyOnly?: boolean
}

/**
 * The topic-name prefixes that cover `topics`: the run prefix when there is one, else
 * each topic's first dotted segment (`alerts.`, `actions.`, `slo.`, `nightshift.`).
 */
export function topicPrefixes(prefix: string, topics: string[]): string[] {
  if (prefix !== '') return [prefix]
  return [...new Set(topics.map((t) => (t.includes('.') ? `${t.slice(0, t.indexOf('.') + 1)}` : t)))].sort()
}

/** The ACL bindings Nightshift's principal needs for a prefix. */
export function nightshiftAcls(prefix: string, topics: string[]): AclBinding[] {
  const bindings: AclBinding[] = []
  for (const p of topicPrefixes(prefix, topics)) {
    bindings.push({
      resourceType: 'topic',
      name: p,
      operations: ['Read', 'Write', 'Describe', 'DescribeConfigs'],
      why: 'stages read and write their topics, and check their settings at start',
    })
  }
  // Stage groups carry the prefix; the short-lived readers of tail, trace, replay and a
  // changelog restore (nightshift-tail-…, nightshift-read-…, nightshift-restore-…) do not.
  for (const g of [...new Set([`${prefix}nightshift-`, 'nightshift-'])]) {
    bindings.push({
      resourceType: 'group',
      name: g,
      operations: ['Read', 'Describe'],
      why: 'consumer groups of the stages and of the readers',
    })
  }
  bindings.push({
    resourceType: 'transactional-id',
    name: `${prefix}nightshift-`,
    operations: ['Write', 'Describe'],
    why: 'one transactional producer per stage input partition (<group>.<topic>.<partition>)',
  })
  bindings.push({
    resourceType: 'cluster',
    name: 'kafka-cluster',
    operations: ['IdempotentWrite'],
    why: 'the idempotent producer of the webhook and the action workers',
  })
  for (const p of topicPrefixes(prefix, topics)) {
    bindings.push({
      resourceType: 'topic',
      name: p,
      operations: ['Create', 'AlterConfigs'],
      why: 'topology apply creates the topics',
      applyOnly: true,
    })
  }
  return bindings
}

function quote(value: string): string {
  return /^[A-Za-z0-9._:=/@-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`
}

/** The bindings as `kafka-acls.sh --add` commands, one per line, with a comment above each. */
export function aclCommands(options: AclOptions): string[] {
  const lines: string[] = []
  for (const b of nightshiftAcls(options.prefix, options.topics)) {
    const resource =
      b.resourceType === 'cluster'
        ? '--cluster'
        : `--${b.resourceType} ${quote(b.name)} --resource-pattern-type prefixed`
    lines.push(`# ${b.why}${b.applyOnly ? ' (topology apply only)' : ''}`)
    lines.push(
      [
        'kafka-acls.sh',
        `--bootstrap-server ${quote(options.bootstrap)}`,
        '--command-config admin.properties',
        '--add',
        `--allow-principal ${quote(options.principal)}`,
        ...b.operations.map((o) => `--operation ${o}`),
        resource,
      ].join(' '),
    )
  }
  return lines
}
