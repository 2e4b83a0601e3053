import { PoisonRecordError, SchemaIncompatibleError } from '../../src/errors'
import { KafkaAdmin, RecordProducer, Registry, type AvroSchema } from '../../src/kafka'
import { collect, endpoints, kafkaSettings, loadSchema, uniqueName, waitFor } from '../support/kafka'

const alertSchema = loadSchema('alert.avsc')

const alert = {
  fingerprint: '16ddbf5dcf57d972',
  status: 'firing',
  labels: { alertname: 'TargetUp', service: 'checkout', team: 'payments' },
  annotations: { summary: 'prometheus on 127.0.0.1:19090 is up' },
  startsAt: '2026-11-25T00:52:34.568Z',
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: 'http://prometheus.example:9090/graph?g0.expr=up',
  receiver: 'nightshift',
  groupKey: '{}:{alertname="TargetUp", team="payments"}',
  externalURL: 'http://alertmanager.example:9093',
  receivedAt: 1795567977000,
}

/** The Alert schema with one more field: with a default (compatible) or without (not). */
function withExtraField(withDefault: boolean): AvroSchema {
  const fields = alertSchema.fields as object[]
  const extra = withDefault
    ? { name: 'tenant', type: ['null', 'string'], default: null }
    : { name: 'tenant', type: 'string' }
  return { ...alertSchema, fields: [...fields, extra] }
}

describe('schema registry and the Confluent wire format (real broker and registry)', () => {
  const topic = uniqueName('alerts.raw')
  const subject = `${topic}-value`
  const registry = new Registry(endpoints.registryUrl)
  let admin: KafkaAdmin

  beforeAll(async () => {
    admin = await KafkaAdmin.connect(kafkaSettings('it-schema-admin'))
    await admin.ensureTopics([{ name: topic, partitions: 1 }])
  })

  afterAll(async () => {
    await admin.deleteTopics([topic])
    await admin.disconnect()
  })

  it('registers under <topic>-value with BACKWARD, produces the wire format, and decodes what it consumes', async () => {
    const id = await registry.register(subject, alertSchema, 'BACKWARD')
    expect(await registry.register(subject, alertSchema, 'BACKWARD')).toBe(id)
    const config = (await (await fetch(`${endpoints.registryUrl}/config/${subject}`)).json()) as {
      compatibilityLevel: string
    }
    expect(config.compatibilityLevel).toBe('BACKWARD')

    const value = await registry.encode(id, alert)
    expect(value[0]).toBe(0)
    expect(value.readInt32BE(1)).toBe(id)

    const producer = await RecordProducer.connect(kafkaSettings('it-schema-producer'))
    await producer.send([{ topic, key: alert.fingerprint, value }])
    await producer.disconnect()

    const reader = await collect(topic)
    try {
      const [record] = await waitFor('the produced record', () =>
        reader.records.length > 0 ? reader.records : undefined,
      )
      expect(record!.key?.toString()).toBe(alert.fingerprint)
      // Fields added later (with defaults) decode as their defaults.
      expect(await registry.decode(record!.value!)).toEqual({ ...alert, sentStartsAt: null, closedBy: null })
    } finally {
      await reader.stop()
    }
  })

  it('rejects an incompatible change with an error naming the schema, the subject and the reason', async () => {
    await registry.register(subject, alertSchema, 'BACKWARD')
    const attempt = registry.register(subject, withExtraField(false), 'BACKWARD')
    await expect(attempt).rejects.toBeInstanceOf(SchemaIncompatibleError)
    await expect(attempt).rejects.toThrow(
      new RegExp(`io\\.nightshift\\.alerts\\.Alert .*incompatible.*${subject.replace(/\./g, '\\.')}.*BACKWARD`),
    )

    // The same change made compatible (a default on the new field) is accepted.
    const before = await registry.latestId(subject)
    const after = await registry.register(subject, withExtraField(true), 'BACKWARD')
    expect(after).not.toBe(before)
  })

  it('classifies undecodable values as poison records', async () => {
    await expect(registry.decode(Buffer.from('{"not":"avro"}'))).rejects.toBeInstanceOf(PoisonRecordError)
    const unknownId = Buffer.from([0, 0x7f, 0xff, 0xff, 0xff, 2, 0x41])
    await expect(registry.decode(unknownId)).rejects.toThrow(/schema id 2147483647 is unknown/)
    const id = await registry.register(subject, alertSchema, 'BACKWARD')
    const truncated = (await registry.encode(id, alert)).subarray(0, 12)
    await expect(registry.decode(truncated)).rejects.toBeInstanceOf(PoisonRecordError)
  })
})
