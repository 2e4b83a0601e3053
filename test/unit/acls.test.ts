import { aclCommands, nightshiftAcls, topicPrefixes } from '../../src/kafka/acls'

const TOPICS = ['alerts.raw', 'alerts.deduped', 'actions.webhook', 'slo.budget', 'nightshift.dlq']

describe('topicPrefixes', () => {
  it.each([
    ['team.a.', TOPICS.map((t) => `team.a.${t}`), ['team.a.']],
    ['', TOPICS, ['actions.', 'alerts.', 'nightshift.', 'slo.']],
  ])('prefix %j', (prefix, topics, expected) => {
    expect(topicPrefixes(prefix, topics)).toEqual(expected)
  })
})

describe('nightshiftAcls', () => {
  it('grants topics, groups, transactional ids and idempotent write by prefix; create only for apply', () => {
    const acls = nightshiftAcls('p.', ['p.alerts.raw'])
    expect(acls.map((a) => [a.resourceType, a.name, a.operations.join(','), a.applyOnly === true])).toEqual([
      ['topic', 'p.', 'Read,Write,Describe,DescribeConfigs', false],
      ['group', 'p.nightshift-', 'Read,Describe', false],
      ['group', 'nightshift-', 'Read,Describe', false],
      ['transactional-id', 'p.nightshift-', 'Write,Describe', false],
      ['cluster', 'kafka-cluster', 'IdempotentWrite', false],
      ['topic', 'p.', 'Create,AlterConfigs', true],
    ])
  })
})

describe('aclCommands', () => {
  it('prints kafka-acls.sh commands for the principal', () => {
    const lines = aclCommands({
      prefix: 'p.',
      principal: 'User:CN=nightshift,O=ops',
      topics: ['p.a'],
      bootstrap: 'k:9093',
    })
    expect(lines).toContain(
      "kafka-acls.sh --bootstrap-server k:9093 --command-config admin.properties --add --allow-principal 'User:CN=nightshift,O=ops' --operation Write --operation Describe --transactional-id p.nightshift- --resource-pattern-type prefixed",
    )
    expect(lines).toContain(
      "kafka-acls.sh --bootstrap-server k:9093 --command-config admin.properties --add --allow-principal 'User:CN=nightshift,O=ops' --operation IdempotentWrite --cluster",
    )
  })
})
