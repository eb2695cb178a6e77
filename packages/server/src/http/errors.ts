/**
 * The one error handler (STYLE rule 3). Each route says how its errors are rendered:
 * `json` (RFC 6749 §5.2), `bearer` (RFC 6750 §3) or `page` (HTML, for the browser-facing
 * endpoints before a redirect URI is trusted). Anything that is not an `OAuthError` is logged and
 * becomes a bare `server_error`: no stack trace, no internal detail leaves the server.
 */
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { OAuthError, invalidRequest, isOAuthError, serverError, temporarilyUnavailable } from '../protocol/errors.js'
import { DPOP_ALGS } from '../protocol/dpop.js'
import { isStoreUnavailable } from '../storage/errors.js'
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
  if (isStoreUnavailable(error)) return temporarilyUnavailable(error)
  return serverError(error)
}

/** `WWW-Authenticate: Bearer` per RFC 6750 §3, quoting only RFC-charset values. */
export function bearerChallenge(error: OAuthError | undefined): string {
  if (error === undefined) return `Bearer realm="${REALM}"`
  let value = `Bearer realm="${REALM}", error="${error.error}", error_description="${error.description}"`
  if (error.scope !== undefined) value += `, scope="${error.scope}"`
  return value
}

/** RFC 9449 §7.1: `WWW-Authenticate: DPoP`, for a request that used the DPoP scheme. */
export function dpopChallenge(error: OAuthError): string {
  return `DPoP algs="${DPOP_ALGS.join(' ')}", error="${error.error}", error_description="${error.description}"`
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
    if (oauth.error === 'temporarily_unavailable') request.log.warn({ err: error }, 'database unavailable')
    else if (oauth.status >= 500) request.log.error({ err: error }, 'request failed')
    const rendering = request.routeOptions.config.errors ?? 'json'
    if (rendering === 'page') return pages.sendOAuthError(reply, oauth)
    if (rendering === 'bearer') {
      const dpop = /^dpop /i.test(request.headers.authorization ?? '')
      reply.header('www-authenticate', dpop ? dpopChallenge(oauth) : bearerChallenge(oauth))
    }
    return sendJsonError(reply, oauth)
  }
}

/**
 * Fastify's router errors (a path that is not valid percent-encoded UTF-8, an overlong path
 * parameter) as `invalid_request`, not Fastify's default body, which echoes the path.
 */
export function frameworkErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  void sendJsonError(reply, toOAuthError(error))
}

const CLIENT_ERRORS: Readonly<Record<number, string>> = {
  400: 'the request is malformed',
  408: 'the request took too long',
  431: 'the request line or headers are too large',
}

/**
 * Requests that Node's HTTP parser refuses before Fastify sees them (a malformed request line,
 * a URL or headers over 16 KiB, a timeout): an RFC 6749 §5.2 body like every other error.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
  const body = JSON.stringify({ error: 'invalid_request', error_description: CLIENT_ERRORS[status] })
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${body}`,
    )
  }
  socket.destroy(error)
}
