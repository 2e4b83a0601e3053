import { FINGERPRINT_PATTERN, fingerprint } from './fingerprint'
import type { AlertRecord } from '../contracts/records'
import type { WebhookPayload } from './payload'

export type { AlertRecord }

/**
 * A plain copy of a string map. Built with Object.fromEntries (define, not assign), so
 * a label named `__proto__` stays a label and never becomes a prototype.
 */
function copyMap(map: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return map ? Object.fromEntries(Object.entries(map)) : {}
}

/**
 * Splits a validated webhook notification into one Alert record per alert, each with
 * the group's context (receiver, groupKey, externalURL) and the time Nightshift
 * received it. Pure: the time is passed in.
 *
 * Fingerprint: the sender's when it is well-formed (16 lowercase hex digits), else
 * computed from the labels exactly as Alertmanager does. A sent fingerprint that
 * disagrees with the labels is kept: Alertmanager is authoritative for its own
 * fingerprints (they are what its API, UI and silences use), and with Alertmanager as
 * the sender the two never differ.
 */
export function toAlerts(payload: WebhookPayload, receivedAt: number): AlertRecord[] {
  return payload.alerts.map((alert) => ({
    fingerprint:
      alert.fingerprint !== undefined && FINGERPRINT_PATTERN.test(alert.fingerprint)
        ? alert.fingerprint
        : fingerprint(alert.labels),
    status: alert.status,
    labels: copyMap(alert.labels),
    annotations: copyMap(alert.annotations),
    startsAt: alert.startsAt,
    endsAt: alert.endsAt ?? null,
    generatorURL: alert.generatorURL ?? null,
    receiver: payload.receiver ?? null,
    groupKey: payload.groupKey ?? null,
    externalURL: payload.externalURL ?? null,
    receivedAt,
  }))
}
