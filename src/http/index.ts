/** The HTTP side: the webhook server factory and what it needs. */
export {
  buildHttpServer,
  WEBHOOK_PATH,
  DEFAULT_HTTP_LISTEN,
  DEFAULT_BODY_LIMIT_BYTES,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEAD_LETTER_REQUEST_HEADERS,
  type HttpServerOptions,
} from './server'
export { createAuthenticator, type Authenticator, type WebhookAuth } from './auth'
export { HTTP_ERROR_CODES, type ErrorBody } from './errors'
export { createIngestMetrics, type IngestMetrics } from './metrics'
