/**
 * The UserInfo endpoint (OIDC Core §5.3) as a Bearer-protected resource (RFC 6750): the token in
 * the `Authorization` header, or in a form body of a POST (§2.2), never in the query (§2.3 is not
 * supported: a query token is ignored).
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { Services } from '../http/services.js'
import { bearerChallenge } from '../http/errors.js'
import { formBody } from '../http/form.js'
import { invalidRequest } from '../protocol/errors.js'
import { userInfo } from '../protocol/userinfo.js'

/** The presented access token, undefined when there is none; two ways at once is `invalid_request`. */
function presentedBearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  let fromHeader: string | undefined
  if (header !== undefined) {
    const match = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header)
    if (match === null) throw invalidRequest('the Authorization header is not a Bearer token')
    fromHeader = match[1]
  }
  const fromBody = request.method === 'POST' && request.body !== undefined ? formBody(request).single('access_token') : undefined
  if (fromHeader !== undefined && fromBody !== undefined) throw invalidRequest('the access token was sent in more than one way')
  return fromHeader ?? fromBody
}

export const userinfoEndpoint: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  app.route({
    method: ['GET', 'POST'],
    url: services.config.endpoints.userinfo,
    config: { errors: 'bearer' },
    async handler(request, reply) {
      const token = presentedBearerToken(request)
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
      if (token === undefined) {
        // RFC 6750 §3.1: no error code when the request carried no authentication.
        return reply.code(401).header('www-authenticate', bearerChallenge(undefined)).send({ error: 'invalid_token', error_description: 'an access token is required' })
      }
      const { store, keys, config } = services
      return userInfo(token, { store, keys, config, users: store }, services.now())
    },
  })
}
