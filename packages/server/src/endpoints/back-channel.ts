/**
 * The back-channel endpoints that authenticate a client and take a form: token (RFC 6749 §3.2),
 * revocation (RFC 7009) and introspection (RFC 7662). Each is a thin adapter: parse, authenticate,
 * call the protocol step, serialize.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../http/services.js'
import { toOAuthError } from '../http/errors.js'
import { formBody, queryParams } from '../http/form.js'
import { authenticateClient } from '../protocol/client-auth.js'
import { SUPPORTED_GRANT_TYPES, handleTokenRequest, type TokenResponse } from '../protocol/grants/index.js'
import { introspectToken } from '../protocol/introspection.js'
import { revokeToken } from '../protocol/revocation.js'
import type { Params } from '../protocol/params.js'
import type { ClientRecord } from '../protocol/store.js'

function noStore(reply: FastifyReply): FastifyReply {
  // RFC 6749 §5.1: token responses MUST NOT be cached.
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
}

/** The `grant_type` label of the token metrics: a supported grant type, else `other` (a bounded label). */
function grantTypeLabel(request: FastifyRequest): string {
  try {
    const grantType = formBody(request).single('grant_type')
    return grantType !== undefined && (SUPPORTED_GRANT_TYPES as readonly string[]).includes(grantType) ? grantType : 'other'
  } catch {
    return 'other'
  }
}

export const backChannelEndpoints: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const { store, config, keys } = services

  async function authenticated(request: FastifyRequest): Promise<{ client: ClientRecord; params: Params }> {
    const params = formBody(request)
    const client = await authenticateClient(
      { authorization: request.headers.authorization, body: params, query: queryParams(request) },
      store,
      services.throttles.clientAuth,
      request.ip,
      services.now(),
      services.eventsOf(request),
    )
    return { client, params }
  }

  app.post(services.config.endpoints.token, { config: { errors: 'json' } }, async (request, reply) => {
    const grantType = grantTypeLabel(request)
    let response: TokenResponse
    try {
      const { client, params } = await authenticated(request)
      response = await handleTokenRequest(client, params, { store, minter: services.minter, config, now: services.now(), events: services.eventsOf(request) })
    } catch (error) {
      services.metrics.tokenRequests.inc({ grant_type: grantType, result: toOAuthError(error).error })
      throw error
    }
    services.metrics.tokenRequests.inc({ grant_type: grantType, result: 'success' })
    return noStore(reply).send(response)
  })

  app.post(services.config.endpoints.revocation, { config: { errors: 'json' } }, async (request, reply) => {
    const { client, params } = await authenticated(request)
    const revoked = await revokeToken(client, params, { store, keys, config }, services.now())
    // RFC 7009 §2.2 answers an unknown or expired token like a revoked one; only a live one is an event.
    if (revoked !== null) services.eventsOf(request).emit(revoked)
    return noStore(reply).code(200).send()
  })

  app.post(services.config.endpoints.introspection, { config: { errors: 'json' } }, async (request, reply) => {
    const { client, params } = await authenticated(request)
    return noStore(reply).send(await introspectToken(client, params, { store, keys, config }, services.now()))
  })
}
