import type { AddressInfo } from 'node:net'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from '../log'
import { HTTP_ERROR_CODES, sendError } from './errors'

/**
 * The HTTP server of a process that runs stages but not the webhook (`run --stage dedup
 * --metrics-port 9181`): /healthz, /readyz and whatever the app adds (/metrics, /api/slo,
 * /slo). Started after the stages, so listening means ready.
 */
export function buildOpsServer(logger: Logger): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger.child({ module: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  })
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, HTTP_ERROR_CODES.notFound, `no route for ${request.method} ${request.url}`),
  )
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async () => ({ ready: true }))
  return app
}

/** `http://host:port` of a listening server. */
export function addressOf(server: FastifyInstance): string {
  const info = server.server.address() as AddressInfo
  return `http://${info.address}:${info.port}`
}
