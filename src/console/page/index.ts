/**
 * The console's page: `/` (the frame), `/console/app.js` and `/console/app.css`. The
 * page is behind access like the API (so a browser asks for the credentials once, for
 * both); its script and style hold no data and are served to anyone. uPlot and the SLO
 * box come from `/assets/` (src/http/slo-charts.ts), registered here when `/slo` has not.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { registerChartAssets } from '../../http/slo-charts'
import { CONSOLE_JS } from './client'
import { CONSOLE_HTML } from './html'
import { CONSOLE_CSS } from './style'

export { OPEN_BANNER } from './html'

export interface ConsolePageOptions {
  /** Lets a request for the page in (the API's authenticate hook); none: open. */
  authenticate?: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>
}

/** Registers the page and its files on `server`. */
export function registerConsolePage(server: FastifyInstance, options: ConsolePageOptions = {}): void {
  const html = Buffer.from(CONSOLE_HTML, 'utf8')
  const js = Buffer.from(CONSOLE_JS, 'utf8')
  const css = Buffer.from(CONSOLE_CSS, 'utf8')
  server.get('/', options.authenticate ? { onRequest: options.authenticate } : {}, async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      // Everything from this origin, nothing inline but the SLO box's style; no framing (clickjacking).
      .header(
        'content-security-policy',
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
      )
      .header('x-frame-options', 'DENY')
      .send(html),
  )
  server.get('/console/app.js', async (_request, reply) =>
    reply.type('application/javascript; charset=utf-8').header('cache-control', 'no-cache').send(js),
  )
  server.get('/console/app.css', async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(css),
  )
  registerChartAssets(server)
}
