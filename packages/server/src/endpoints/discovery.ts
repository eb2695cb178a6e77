/**
 * Discovery: RFC 8414 metadata, the OpenID Provider configuration (the same document), and the
 * JWKS. The JWKS is read from the store on each request so that a rotation done anywhere is
 * published at once.
 */
import type { FastifyPluginAsync } from 'fastify'
import type { Services } from '../http/services.js'
import { supportedAcr } from '../protocol/journey.js'
import { serverMetadata } from '../protocol/metadata.js'

/** @param uiLocales the languages of the pages (`ui_locales_supported`) */
export const discoveryEndpoints: FastifyPluginAsync<{ services: Services; uiLocales: readonly string[] }> = async (app, { services, uiLocales }) => {
  const metadata = serverMetadata({ ...services.config, uiLocales, acrValues: supportedAcr(services) })
  const cacheable = 'public, max-age=300'

  app.get('/.well-known/openid-configuration', async (_request, reply) => reply.header('cache-control', cacheable).send(metadata))

  app.get(services.config.endpoints.jwks, async (_request, reply) => {
    const jwks = await services.keys.jwks(services.now())
    // Keys are published activationDelay seconds before use: caching for less keeps verifiers current.
    const maxAge = Math.min(300, services.config.keys.activationDelay)
    return reply
      .header('cache-control', maxAge > 0 ? `public, max-age=${maxAge}` : 'no-cache')
      .type('application/jwk-set+json')
      .send(jwks)
  })
}

/** RFC 8414 §3: `/.well-known/oauth-authorization-server` followed by the issuer's path; registered at the root. */
export const authorizationServerMetadata: FastifyPluginAsync<{ services: Services; uiLocales: readonly string[] }> = async (app, { services, uiLocales }) => {
  const metadata = serverMetadata({ ...services.config, uiLocales, acrValues: supportedAcr(services) })
  app.get(`/.well-known/oauth-authorization-server${services.basePath}`, async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=300').send(metadata),
  )
}
