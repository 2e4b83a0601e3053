import fc from 'fast-check'
import { PoisonRecordError } from '../../src/errors'
import { createPayloadValidator, fingerprint, toAlerts } from '../../src/ingest'
import { PROBE_LABEL, badBody, goodRequest, goodTemplate, parsesAsJson } from '../support/hostile'

/**
 * The payload validator alone (no HTTP, no Kafka) against the hostile-input generators:
 * fast and with shrinking, so a failing case comes back minimal. Reproduce a failure with
 * the seed fast-check prints: HOSTILE_SEED=<seed> npx jest test/unit/ingest-hostile.test.ts
 */
const validator = createPayloadValidator()
const seed = process.env.HOSTILE_SEED === undefined ? undefined : Number(process.env.HOSTILE_SEED)
const numRuns = Number(process.env.HOSTILE_RUNS ?? 1000)
const LONE_SURROGATE = /\p{Cs}/u

describe('payload validator against generated hostile bodies (fast-check)', () => {
  it('refuses every bad body with a PoisonRecordError whose message is exactly the expected one', () => {
    fc.assert(
      fc.property(badBody, (bad) => {
        let error: unknown
        try {
          validator.parse(bad.body)
        } catch (err) {
          error = err
        }
        expect(error).toBeInstanceOf(PoisonRecordError)
        const message = (error as Error).message
        expect({ kind: bad.kind, what: bad.what, message }).toEqual({
          kind: bad.kind,
          what: bad.what,
          message: expect.stringMatching(bad.message) as unknown,
        })
        // The answer and the dead letter carry this text; both must be able to say it exactly.
        expect(LONE_SURROGATE.test(message)).toBe(false)
      }),
      { numRuns, seed },
    )
  })

  it('accepts every valid-but-weird body and keeps every label, annotation and group field as sent', () => {
    let serial = 0
    fc.assert(
      fc.property(goodTemplate, (template) => {
        const request = goodRequest(template, serial++, { token: 't' })
        expect(parsesAsJson(request.body) || request.body.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))).toBe(
          true,
        )
        const records = toAlerts(validator.parse(request.body), 0)
        expect(records).toHaveLength(request.alerts.length)
        for (const [i, record] of records.entries()) {
          const sent = request.alerts[i]!
          expect(record.labels[PROBE_LABEL]).toBe(sent.probe)
          expect(record).toEqual({
            fingerprint: sent.fingerprint ?? fingerprint(sent.labels),
            status: sent.status,
            labels: sent.labels,
            annotations: sent.annotations,
            startsAt: sent.startsAt,
            endsAt: sent.endsAt,
            generatorURL: sent.generatorURL,
            receiver: sent.receiver,
            groupKey: sent.groupKey,
            externalURL: sent.externalURL,
            receivedAt: 0,
          })
          // Same names in the same order, same UTF-8 bytes: what the Avro record will hold.
          expect(
            Object.entries(record.labels).map(([n, v]) => [
              Buffer.from(n).toString('hex'),
              Buffer.from(v).toString('hex'),
            ]),
          ).toEqual(
            Object.entries(sent.labels).map(([n, v]) => [
              Buffer.from(n).toString('hex'),
              Buffer.from(v).toString('hex'),
            ]),
          )
        }
      }),
      { numRuns: Math.ceil(numRuns / 4), seed },
    )
  })
})
