/**
 * Request ids: a caller's (a proxy's) well-formed `X-Request-Id` is kept, so one id follows the
 * request across systems; a missing, repeated, oversized or malformed one is replaced by a random
 * UUID, never echoed. The id is answered in `X-Request-Id` and bound to every log line of the
 * request (as `request_id`).
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

export const REQUEST_ID_HEADER = 'x-request-id'

/** The log field of the request id. */
export const REQUEST_ID_LOG_LABEL = 'request_id'

/** 1 to 128 characters a log line and a header carry as they are. */
const WELL_FORMED = /^[A-Za-z0-9._:-]{1,128}$/

/** Fastify's `genReqId`: the presented id when well-formed, else a new one. */
export function requestIdOf(request: Pick<IncomingMessage, 'headers'>): string {
  const presented = request.headers[REQUEST_ID_HEADER]
  return typeof presented === 'string' && WELL_FORMED.test(presented) ? presented : randomUUID()
}
