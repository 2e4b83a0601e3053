import type { IHeaders } from 'kafkajs'

/** Flattens kafkajs headers (Buffer | string | arrays) to strings; the last value wins. */
export function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  if (!headers) return out
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue
    const last = Array.isArray(value) ? value[value.length - 1] : value
    if (last === undefined) continue
    out[name] = Buffer.isBuffer(last) ? last.toString('utf8') : String(last)
  }
  return out
}
