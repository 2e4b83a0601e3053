import http from 'node:http'
import https from 'node:https'
import type { RegistryAccess } from '../config/security'

/** A registry answer, read whole (registry bodies are small JSON). */
export interface RegistryResponse {
  status: number
  ok: boolean
  text: string
}

/** The Authorization header for the registry, if it has credentials. */
export function registryAuthorization(access: RegistryAccess | undefined): string | undefined {
  if (access?.bearerToken !== undefined) return `Bearer ${access.bearerToken.reveal()}`
  if (access?.basicAuth !== undefined) return `Basic ${Buffer.from(access.basicAuth.reveal()).toString('base64')}`
  return undefined
}

/** An agent that trusts the registry's CA (https) or the default one. */
export function registryAgent(url: string, access: RegistryAccess | undefined): http.Agent {
  if (url.startsWith('https:')) return new https.Agent({ keepAlive: true, ...(access?.ca ? { ca: access.ca } : {}) })
  return new http.Agent({ keepAlive: true })
}

/**
 * One request to the registry with its credentials and CA. fetch cannot take a CA
 * without undici's dispatcher, which Node does not export; node:http(s) can.
 */
export function registryRequest(
  url: string,
  agent: http.Agent,
  authorization: string | undefined,
  init: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<RegistryResponse> {
  const target = new URL(url)
  const client = target.protocol === 'https:' ? https : http
  const headers: Record<string, string> = { ...init.headers }
  if (authorization !== undefined) headers.authorization = authorization
  if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body))
  return new Promise((resolve, reject) => {
    const req = client.request(
      target,
      { method: init.method ?? 'GET', headers, agent, timeout: init.timeoutMs ?? 10_000 },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', reject)
        res.on('end', () => {
          const status = res.statusCode ?? 0
          resolve({ status, ok: status >= 200 && status < 300, text: Buffer.concat(chunks).toString('utf8') })
        })
      },
    )
    req.on('timeout', () => req.destroy(new Error(`no answer within ${init.timeoutMs ?? 10_000} ms`)))
    req.on('error', reject)
    if (init.body !== undefined) req.write(init.body)
    req.end()
  })
}
