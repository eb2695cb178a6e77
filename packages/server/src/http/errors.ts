/**
 * The one error handler (STYLE rule 3). Each route says how its errors are rendered:
 * `json` (RFC 6749 §5.2), `bearer` (RFC 6750 §3) or `page` (HTML, for the browser-facing
 * endpoints before a redirect URI is trusted). Anything that is not an `OAuthError` is logged and
 * becomes a bare `server_error`: no stack trace, no internal detail leaves the server.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { OAuthError, invalidRequest, isOAuthError, serverError } from '../protocol/errors.js'
import type { Pages } from '../interaction/pages.js'

export type ErrorRendering = 'json' | 'bearer' | 'page'

declare module 'fastify' {
  interface FastifyContextConfig {
    errors?: ErrorRendering
  }
}

export const REALM = 'authcode'

/** Maps whatever was thrown to the OAuthError to send. */
export function toOAuthError(error: unknown): OAuthError {
  if (isOAuthError(error)) return error
  const status = (error as Partial<FastifyError>).statusCode
  if (status === 413) return invalidRequest('the request body is too large', { status: 413 })
  if (status !== undefined && status >= 400 && status < 500) return invalidRequest('the request is malformed')
  return serverError(error)
}

/** `WWW-Authenticate: Bearer` per RFC 6750 §3, quoting only RFC-charset values. */
export function bearerChallenge(error: OAuthError | undefined): string {
  if (error === undefined) return `Bearer realm="${REALM}"`
  let value = `Bearer realm="${REALM}", error="${error.error}", error_description="${error.description}"`
  if (error.scope !== undefined) value += `, scope="${error.scope}"`
  return value
}

export function sendJsonError(reply: FastifyReply, error: OAuthError): FastifyReply {
  reply.code(error.status).header('cache-control', 'no-store').header('pragma', 'no-cache')
  // RFC 6749 §5.2; SECURITY.md decision: 401 + WWW-Authenticate for every authentication method.
  if (error.error === 'invalid_client') reply.header('www-authenticate', `Basic realm="${REALM}"`)
  if (error.retryAfter !== undefined) reply.header('retry-after', String(error.retryAfter))
  return reply.type('application/json; charset=utf-8').send(error.toJSON())
}

export function errorHandler(pages: Pages) {
  return (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const oauth = toOAuthError(error)
    if (oauth.status >= 500) request.log.error({ err: error }, 'request failed')
    const rendering = request.routeOptions.config.errors ?? 'json'
    if (rendering === 'page') return pages.sendError(reply, oauth.status, oauth.description)
    if (rendering === 'bearer') {
      reply.header('www-authenticate', bearerChallenge(oauth))
    }
    return sendJsonError(reply, oauth)
  }
}
