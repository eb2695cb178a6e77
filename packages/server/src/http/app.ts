/**
 * Builds the Fastify app (STYLE rule 6: build here, `listen` only in `cli/serve.ts`).
 */
import fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import fastifyCookie from '@fastify/cookie'
import type { ServerConfig, TrustedProxies } from '../config/load.js'
import { authorizeEndpoint } from '../endpoints/authorize.js'
import { backChannelEndpoints } from '../endpoints/back-channel.js'
import { authorizationServerMetadata, discoveryEndpoints } from '../endpoints/discovery.js'
import { endSessionEndpoint } from '../endpoints/end-session.js'
import { healthEndpoints } from '../endpoints/health.js'
import { registrationEndpoints } from '../endpoints/registration.js'
import { userinfoEndpoint } from '../endpoints/userinfo.js'
import { accountRoutes } from '../interaction/account.js'
import { Pages } from '../interaction/pages.js'
import { interactionRoutes } from '../interaction/routes.js'
import { invalidRequest } from '../protocol/errors.js'
import { corsForAnyone, corsForBrowserClients } from './cors.js'
import { clientErrorHandler, errorHandler, frameworkErrorHandler } from './errors.js'
import { BODY_LIMIT, registerBodyParsers } from './form.js'
import { REQUEST_ID_HEADER, REQUEST_ID_LOG_LABEL, requestIdOf } from './request-id.js'
import { createServices, type AppDeps, type Services } from './services.js'
import { traceRequests, tracedMinter, tracedStore, type TracingDeps } from '../telemetry/instrument.js'

/** Path and query of a request target, without the query: what a log line may show. */
const pathOf = (url: string): string => url.split('?', 1)[0] ?? ''

/** `Strict-Transport-Security` of an https issuer (RFC 6797): a year, subdomains included. */
export const HSTS = 'max-age=31536000; includeSubDomains'

export function loggerOptions(config: ServerConfig, stream: AppDeps['logStream']): FastifyServerOptions['logger'] {
  return {
    level: config.logLevel,
    ...(stream === undefined ? {} : { stream }),
    // SECURITY.md 23: request lines are logged without their query (codes, state) and no header.
    serializers: {
      req: (req: { method: string; url: string; ip?: string }) => ({ method: req.method, path: pathOf(req.url), ip: req.ip }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  }
}

/**
 * Fastify's `trustProxy` for the configured proxies (SECURITY 28): `request.ip` is then the
 * right-most `X-Forwarded-For` entry no trusted proxy wrote. A hop count becomes a function of the
 * hop, because Fastify takes a bare number as "trust no proxy"; addresses go to proxy-addr as they are.
 */
export function trustProxyOption(proxies: TrustedProxies | undefined): FastifyServerOptions['trustProxy'] {
  if (proxies === undefined) return false
  if ('hops' in proxies) {
    const { hops } = proxies
    return (_address, hop) => hop < hops
  }
  return [...proxies.addresses]
}

/**
 * Headers that carry one value. Node keeps the first of several copies silently, where a proxy in
 * front may keep the last: a request with two is ambiguous, so it is refused (RFC 9112 §3.2 for
 * Host; checklist BI-05, BI-13 for Content-Type and Authorization).
 */
const SINGLE_VALUED_HEADERS = new Set(['authorization', 'content-type', 'host'])

export function refuseRepeatedHeaders(rawHeaders: readonly string[]): void {
  const seen = new Set<string>()
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? '').toLowerCase()
    if (!SINGLE_VALUED_HEADERS.has(name)) continue
    if (seen.has(name)) throw invalidRequest(`the ${name} header is sent more than once`)
    seen.add(name)
  }
}

/**
 * Every other method on a known path is 405 with `Allow` (RFC 9110 §15.5.6); OPTIONS too, unless
 * the path answers CORS preflights (`http/cors.ts`).
 */
function methodNotAllowed(app: FastifyInstance, url: string, allowed: readonly string[], preflights = false): void {
  const others = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', ...(preflights ? [] : ['OPTIONS'])].filter((m) => !allowed.includes(m))
  if (!allowed.includes('GET')) others.push('HEAD')
  app.route({
    method: others,
    url,
    handler: async (_request, reply) =>
      reply.code(405).header('allow', allowed.join(', ')).send({ error: 'invalid_request', error_description: 'method not allowed' }),
  })
}

/** Which of the adopter's templates are in use, and what about their brand deserves a look. */
function logPageNotes(app: FastifyInstance, pages: Pages): void {
  const { overrides, warnings } = pages.notes
  if (overrides.size > 0) app.log.info({ templates: Object.fromEntries(overrides) }, `page templates from pages.templates: ${[...overrides.keys()].join(', ')}`)
  for (const warning of warnings) app.log.warn(warning)
}

export async function buildApp(config: ServerConfig, deps: AppDeps & TracingDeps): Promise<FastifyInstance> {
  // Spans for the store and the signer when a tracer is given; without one, the same objects.
  const created = createServices(config, { ...deps, store: tracedStore(deps.store, deps.tracer) }, deps.store)
  const services: Services = { ...created, minter: tracedMinter(created.minter, deps.tracer) }
  // Templates, catalogs, logo and stylesheet are read and checked here: a broken one stops the start.
  const pages = new Pages(config.pages, config.scopes, services.basePath)
  const app = fastify({
    logger: loggerOptions(config, deps.logStream),
    genReqId: requestIdOf,
    logController: new LogController({ requestIdLogLabel: REQUEST_ID_LOG_LABEL }),
    bodyLimit: BODY_LIMIT,
    trustProxy: trustProxyOption(config.trustProxy),
    // Forms are parsed by registerBodyParsers; the query by protocol/params (no qs "magic").
    routerOptions: { ignoreTrailingSlash: false, caseSensitive: true, maxParamLength: 200 },
    return503OnClosing: true,
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  })

  traceRequests(app, deps.tracer)
  logPageNotes(app, pages)
  registerBodyParsers(app)
  await app.register(fastifyCookie)
  app.setErrorHandler(errorHandler(pages))
  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).send({ error: 'not_found', error_description: 'no such endpoint' }),
  )
  app.addHook('onRequest', async (request) => refuseRepeatedHeaders(request.raw.rawHeaders))
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header(REQUEST_ID_HEADER, request.id)
    if (services.https) reply.header('strict-transport-security', HSTS)
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'no-referrer')
    if (!reply.hasHeader('x-frame-options')) reply.header('x-frame-options', 'DENY')
    if (!reply.hasHeader('content-security-policy')) {
      reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'; base-uri 'none'")
    }
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store')
    return payload
  })
  app.addHook('onResponse', async (request, reply) => {
    // The route's pattern (`/interaction/:id`), never the URL: a bounded label.
    const route = request.routeOptions.url ?? 'unmatched'
    services.metrics.httpDuration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000)
  })

  // CORS for apps in a browser: registered before the routes, so their hooks see every one of them.
  const paths = config.endpoints
  const under = (path: string) => `${services.basePath}${path}`
  corsForBrowserClients(app, [paths.token, paths.revocation, paths.pushedAuthorization].map(under), services.store)
  corsForAnyone(app, [...[paths.userinfo, paths.jwks, '/.well-known/openid-configuration'].map(under), `/.well-known/oauth-authorization-server${services.basePath}`])
  // RFC 7591, RFC 7592: hosts in a browser register and manage their registration too; nothing ambient (no cookie) is read there.
  const registration = config.registration.mode !== 'off'
  if (registration) {
    corsForAnyone(app, [under(paths.registration)])
    corsForAnyone(app, [under(`${paths.registration}/:clientId`)], ['GET', 'PUT', 'DELETE'])
  }

  // Back-channel logout tokens are delivered while the app runs (OpenID Back-Channel Logout §2.5).
  app.addHook('onReady', async () => services.logouts.start(app.log))
  app.addHook('onClose', async () => services.logouts.stop())

  await app.register(authorizationServerMetadata, { services, uiLocales: pages.locales })
  await app.register(
    async (scoped) => {
      await scoped.register(discoveryEndpoints, { services, uiLocales: pages.locales })
      await scoped.register(authorizeEndpoint, { services, pages })
      await scoped.register(interactionRoutes, { services, pages })
      await scoped.register(accountRoutes, { services, pages })
      await scoped.register(endSessionEndpoint, { services, pages })
      await scoped.register(backChannelEndpoints, { services })
      await scoped.register(userinfoEndpoint, { services })
      await scoped.register(healthEndpoints, { services })
      await scoped.register(registrationEndpoints, { services })
      for (const url of [paths.token, paths.revocation, paths.pushedAuthorization]) methodNotAllowed(scoped, url, ['POST'], true)
      methodNotAllowed(scoped, paths.introspection, ['POST'])
      methodNotAllowed(scoped, paths.authorization, ['GET', 'POST'])
      methodNotAllowed(scoped, paths.userinfo, ['GET', 'POST'], true)
      if (registration) {
        methodNotAllowed(scoped, paths.registration, ['POST'], true)
        methodNotAllowed(scoped, `${paths.registration}/:clientId`, ['GET', 'PUT', 'DELETE'], true)
      }
      pages.serveAssets(scoped)
      scoped.get('/', async (_request, reply) => pages.home(reply, config.issuer))
    },
    { prefix: services.basePath },
  )
  return app
}
