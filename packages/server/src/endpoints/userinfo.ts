/**
 * The UserInfo endpoint (OIDC Core §5.3) as a protected resource: a Bearer token (RFC 6750) in the
 * `Authorization` header or in a form body of a POST (§2.2), never in the query (§2.3 is not
 * supported: a query token is ignored); or a DPoP-bound token with its proof (RFC 9449 §7).
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { Services } from '../http/services.js'
import { bearerChallenge } from '../http/errors.js'
import { formBody } from '../http/form.js'
import { OAuthError, invalidRequest } from '../protocol/errors.js'
import { dpopHeader, verifyDpopProof } from '../protocol/dpop.js'
import { userInfo } from '../protocol/userinfo.js'

/** The presented access token and its scheme, undefined when there is none; two ways at once is `invalid_request`. */
function presentedAccessToken(request: FastifyRequest): { token: string; scheme: 'Bearer' | 'DPoP' } | undefined {
  const header = request.headers.authorization
  let fromHeader: { token: string; scheme: 'Bearer' | 'DPoP' } | undefined
  if (header !== undefined) {
    const match = /^(bearer|dpop) +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header)
    if (match === null) throw invalidRequest('the Authorization header is not a Bearer or DPoP token')
    fromHeader = { token: match[2] ?? '', scheme: match[1]?.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer' }
  }
  const fromBody = request.method === 'POST' && request.body !== undefined ? formBody(request).single('access_token') : undefined
  if (fromHeader !== undefined && fromBody !== undefined) throw invalidRequest('the access token was sent in more than one way')
  return fromHeader ?? (fromBody === undefined ? undefined : { token: fromBody, scheme: 'Bearer' })
}

/** RFC 9449 §7.1: at a resource, a proof's failures are 401s with the DPoP challenge. */
const asResourceError = (error: unknown): unknown =>
  error instanceof OAuthError && (error.error === 'invalid_dpop_proof' || error.error === 'use_dpop_nonce') ? new OAuthError(error.error, error.description, { status: 401 }) : error

export const userinfoEndpoint: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  app.route({
    method: ['GET', 'POST'],
    url: services.config.endpoints.userinfo,
    config: { errors: 'bearer' },
    async handler(request, reply) {
      const presented = presentedAccessToken(request)
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
      if (presented === undefined) {
        // RFC 6750 §3.1: no error code when the request carried no authentication.
        return reply.code(401).header('www-authenticate', bearerChallenge(undefined)).send({ error: 'invalid_token', error_description: 'an access token is required' })
      }
      const { store, keys, config } = services
      const now = services.now()
      let dpopJkt: string | undefined
      if (presented.scheme === 'DPoP') {
        reply.header('dpop-nonce', services.dpopNonces.current(now))
        const proof = dpopHeader(request.headers)
        if (proof === undefined) throw new OAuthError('invalid_dpop_proof', 'the DPoP scheme needs a DPoP proof', { status: 401 })
        try {
          const checked = await verifyDpopProof(proof, {
            htm: request.method,
            htu: `${config.issuer}${config.endpoints.userinfo}`,
            now,
            replay: store,
            nonces: services.dpopNonces,
            requireNonce: config.dpop.requireNonce,
            accessToken: presented.token,
          })
          dpopJkt = checked.jkt
        } catch (error) {
          throw asResourceError(error)
        }
      }
      return userInfo(presented.token, { store, keys, config, accounts: services.accounts }, now, dpopJkt)
    },
  })
}
