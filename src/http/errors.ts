import type { FastifyReply } from 'fastify'
import { ERROR_CODES } from '../errors'

/**
 * Codes of the webhook's error responses. Where src/errors.ts has a fitting code it is
 * used; the HTTP-only ones below have none there yet (they belong in ERROR_CODES).
 */
export const HTTP_ERROR_CODES = {
  invalidPayload: ERROR_CODES.POISON_RECORD,
  kafkaUnavailable: ERROR_CODES.KAFKA_UNAVAILABLE,
  registryUnavailable: ERROR_CODES.REGISTRY_UNAVAILABLE,
  unauthorized: 'NS_UNAUTHORIZED',
  payloadTooLarge: 'NS_PAYLOAD_TOO_LARGE',
  badRequest: 'NS_BAD_REQUEST',
  notFound: 'NS_NOT_FOUND',
  internal: 'NS_INTERNAL',
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
