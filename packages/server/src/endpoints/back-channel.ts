/**
 * The back-channel endpoints that authenticate a client and take a form: token (RFC 6749 §3.2),
 * revocation (RFC 7009), introspection (RFC 7662) and pushed authorization requests (RFC 9126).
 * Each is a thin adapter: parse, authenticate, check a DPoP proof where one may come, call the
 * protocol step, serialize.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../http/services.js'
import { toOAuthError } from '../http/errors.js'
import { formBody, queryParams } from '../http/form.js'
import { authenticateClient } from '../protocol/client-auth.js'
import { SUPPORTED_GRANT_TYPES, handleTokenRequest, type TokenResponse } from '../protocol/grants/index.js'
import { introspectToken } from '../protocol/introspection.js'
import { revokeToken } from '../protocol/revocation.js'
import { dpopHeader, verifyDpopProof, type DpopProof } from '../protocol/dpop.js'
import { pushAuthorizationRequest } from '../protocol/par.js'
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

  /** @param path the endpoint's path: with the issuer, an audience a client assertion may name. */
  async function authenticated(request: FastifyRequest, path: string): Promise<{ client: ClientRecord; params: Params }> {
    const params = formBody(request)
    const client = await authenticateClient(
      { authorization: request.headers.authorization, body: params, query: queryParams(request) },
      store,
      services.throttles.clientAuth,
      request.ip,
      services.now(),
      services.eventsOf(request),
      { issuer: config.issuer, endpoint: `${config.issuer}${path}`, replay: store, keySets: services.clientKeySets },
    )
    request.authenticatedClient = client
    return { client, params }
  }

  /**
   * RFC 9449 §4.3: the request's DPoP proof, checked, or undefined without one. A request with a
   * proof is answered with a fresh server nonce (§8), its errors included.
   */
  async function dpopProof(request: FastifyRequest, reply: FastifyReply, path: string): Promise<DpopProof | undefined> {
    const proof = dpopHeader(request.headers)
    if (proof === undefined) return undefined
    const now = services.now()
    reply.header('dpop-nonce', services.dpopNonces.current(now))
    return verifyDpopProof(proof, {
      htm: 'POST',
      htu: `${config.issuer}${path}`,
      now,
      replay: store,
      nonces: services.dpopNonces,
      requireNonce: config.dpop.requireNonce,
    })
  }

  app.post(services.config.endpoints.token, { config: { errors: 'json' } }, async (request, reply) => {
    const grantType = grantTypeLabel(request)
    let response: TokenResponse
    try {
      const { client, params } = await authenticated(request, config.endpoints.token)
      const dpop = await dpopProof(request, reply, config.endpoints.token)
      response = await handleTokenRequest(client, params, {
        store,
        accounts: services.accounts,
        minter: services.minter,
        config,
        now: services.now(),
        events: services.eventsOf(request),
        ...(dpop === undefined ? {} : { dpop }),
      })
    } catch (error) {
      services.metrics.tokenRequests.inc({ grant_type: grantType, result: toOAuthError(error).error })
      throw error
    }
    services.metrics.tokenRequests.inc({ grant_type: grantType, result: 'success' })
    return noStore(reply).send(response)
  })

  app.post(services.config.endpoints.revocation, { config: { errors: 'json' } }, async (request, reply) => {
    const { client, params } = await authenticated(request, config.endpoints.revocation)
    const revoked = await revokeToken(client, params, { store, keys, config }, services.now())
    // RFC 7009 §2.2 answers an unknown or expired token like a revoked one; only a live one is an event.
    if (revoked !== null) services.eventsOf(request).emit(revoked)
    return noStore(reply).code(200).send()
  })

  app.post(services.config.endpoints.introspection, { config: { errors: 'json' } }, async (request, reply) => {
    const { client, params } = await authenticated(request, config.endpoints.introspection)
    return noStore(reply).send(await introspectToken(client, params, { store, keys, config, accounts: services.accounts }, services.now()))
  })

  // RFC 9126 §2: 201 with the request_uri; every error as JSON, like the token endpoint's.
  app.post(services.config.endpoints.pushedAuthorization, { config: { errors: 'json' } }, async (request, reply) => {
    const { client, params } = await authenticated(request, config.endpoints.pushedAuthorization)
    const dpop = await dpopProof(request, reply, config.endpoints.pushedAuthorization)
    const pushed = await pushAuthorizationRequest(client, params, { store, scopes: Object.keys(config.scopes), lifetime: config.par.lifetime, now: services.now(), resourceSettings: config }, dpop)
    return noStore(reply).code(201).send(pushed)
  })
}
