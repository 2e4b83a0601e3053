import type { FastifyReply } from 'fastify'
import { ERROR_CODES } from '../errors'

/** Codes of the webhook's error responses, all from the one table in src/errors.ts. */
export const HTTP_ERROR_CODES = {
  invalidPayload: ERROR_CODES.BAD_PAYLOAD,
  methodNotAllowed: ERROR_CODES.METHOD_NOT_ALLOWED,
  kafkaUnavailable: ERROR_CODES.KAFKA_UNAVAILABLE,
  registryUnavailable: ERROR_CODES.REGISTRY_UNAVAILABLE,
  unauthorized: ERROR_CODES.UNAUTHORIZED,
  forbidden: ERROR_CODES.FORBIDDEN,
  tooManyRequests: ERROR_CODES.TOO_MANY_REQUESTS,
  payloadTooLarge: ERROR_CODES.PAYLOAD_TOO_LARGE,
  badRequest: ERROR_CODES.BAD_REQUEST,
  notFound: ERROR_CODES.NOT_FOUND,
  internal: ERROR_CODES.INTERNAL,
} as const

/** The body of every error response. */
export interface ErrorBody {
  error: { code: string; message: string; requestId?: string }
}

/** Sends `{ error: { code, message, requestId } }` with `status`. */
export function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  const body: ErrorBody = { error: { code, message, requestId: reply.request.id } }
  return reply.code(status).type('application/json; charset=utf-8').send(body)
}
