/**
 * The admin API (issue #20): JSON over HTTP on a listener of its own (`authcode serve --admin-port`,
 * loopback by default), never on the public port. Built here for `app.inject`; only `cli/serve.ts`
 * listens (STYLE rule 6).
 *
 * - Every request needs `Authorization: Bearer <admin token>`. The token is looked up by its
 *   SHA-256 hash (`admin/tokens.ts`: 256 random bits, so nothing of it is compared byte by byte in
 *   JavaScript); missing, malformed, unknown or revoked is 401 with `WWW-Authenticate: Bearer`.
 *   Wrong tokens are counted per caller address (`rateLimit.adminAuth`); past the limit they are
 *   answered 429. A valid token is never refused by the count (SECURITY.md 26). No token is logged.
 *   Each refusal is an `admin.auth_failed` audit event with its reason, so a probe of the admin
 *   port reaches the operator's alerting like a failed client authentication does.
 * - Each route (`http/admin-routes.ts`) is one operation of the admin service, which checks,
 *   writes and emits the audit event with the actor `admin_token:NAME`; the events go where the
 *   public app's go (`http/audit.ts`: the log line, the metrics, the `onEvent` hook).
 * - Bodies are JSON (UTF-8, at most `ADMIN_BODY_LIMIT`), checked against the route's schema, the
 *   one the OpenAPI document shows; every refusal is an RFC 9457 problem (`http/admin-problems.ts`).
 */
import { Ajv, type ValidateFunction } from 'ajv'
import fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify'
import type { AdminContext } from '../admin/context.js'
import { verifyAdminToken } from '../admin/tokens.js'
import type { ServerConfig } from '../config/load.js'
import type { AdminActor, AdminAuthFailure } from '../protocol/events.js'
import { Throttle } from '../protocol/rate-limit.js'
import { AdminProblem, adminErrorHandler, problemOf, sendProblem } from './admin-problems.js'
import { ADMIN_BODY_LIMIT, fastifyPath, type AdminParameter, type AdminRoute } from './admin-openapi.js'
import { ADMIN_ROUTES } from './admin-routes.js'
import { ADMIN_SCHEMAS, type JsonSchema } from './admin-schemas.js'
import { loggerOptions, refuseRepeatedHeaders, trustProxyOption } from './app.js'
import { auditSink } from './audit.js'
import { clientErrorHandler } from './errors.js'
import { Metrics, timedStore } from './metrics.js'
import { REQUEST_ID_HEADER, REQUEST_ID_LOG_LABEL, requestIdOf } from './request-id.js'
import type { AppDeps } from './services.js'

/**
 * What the admin app is given: the public app's store and key ring, and its `metrics` and
 * `onEvent` so that admin events are counted and shipped with the others.
 */
export type AdminAppDeps = Pick<AppDeps, 'store' | 'keys' | 'now' | 'onEvent' | 'metrics' | 'logStream'>

/** The realm of the admin API's `WWW-Authenticate` challenges. */
export const ADMIN_REALM = 'authcode admin'

/** RFC 6750 §2.1: `Bearer` and a b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

/** A route as Fastify registered it. */
export interface RegisteredRoute {
  method: string
  url: string
}

const registered = new WeakMap<FastifyInstance, RegisteredRoute[]>()

/** Every route `buildAdminApp` registered (HEAD ones included): to hold the OpenAPI document against. */
export function registeredAdminRoutes(app: FastifyInstance): readonly RegisteredRoute[] {
  return registered.get(app) ?? []
}

// Bodies are checked as sent: no coercion ("true" is not a boolean), no defaults, nothing removed
// (an unknown member is refused, not dropped). Path and query values are text, so their numbers are read.
const bodyAjv = new Ajv({ strict: true, allowUnionTypes: true, coerceTypes: false, useDefaults: false, removeAdditional: false })
const textAjv = new Ajv({ strict: true, allowUnionTypes: true, coerceTypes: true, useDefaults: false, removeAdditional: false })

/** A body validator that lets a route's optional body be left out, and says so when a required one is. */
function bodyValidator(schema: JsonSchema, optional: boolean) {
  const check: ValidateFunction = bodyAjv.compile(schema)
  const validate = (data: unknown): boolean => {
    // Fastify hands `null` for a request without a body.
    if (data === null || data === undefined) {
      validate.errors = optional ? null : [{ instancePath: '', schemaPath: '#/type', keyword: 'type', params: { type: 'object' }, message: 'must be object' }]
      return optional
    }
    const valid = check(data)
    validate.errors = check.errors ?? null
    return valid
  }
  validate.errors = null as ValidateFunction['errors']
  return validate
}

function parametersSchema(parameters: Readonly<Record<string, AdminParameter>> | undefined, required: boolean): JsonSchema {
  const properties = Object.fromEntries(Object.entries(parameters ?? {}).map(([name, { schema }]) => [name, schema]))
  return { type: 'object', properties, required: required ? Object.keys(properties) : [], additionalProperties: false }
}

const unauthorized = (detail: string, error?: 'invalid_token'): AdminProblem =>
  new AdminProblem('unauthorized', detail, undefined, {
    'www-authenticate': error === undefined ? `Bearer realm="${ADMIN_REALM}"` : `Bearer realm="${ADMIN_REALM}", error="${error}"`,
  })

export async function buildAdminApp(config: ServerConfig, deps: AdminAppDeps): Promise<FastifyInstance> {
  const metrics = deps.metrics ?? new Metrics()
  const store = timedStore(deps.store, metrics.storeDuration)
  const now = deps.now ?? (() => Math.floor(Date.now() / 1000))
  const audit = { metrics, onEvent: deps.onEvent }
  const throttle = new Throttle(store, { ...config.rateLimit.adminAuth, delays: [] }, 'admin-auth:')
  const actors = new WeakMap<FastifyRequest, AdminActor>()
  const optionalBodies = new Set(ADMIN_ROUTES.filter((route) => route.body?.required === false).map((route) => `${route.method} ${fastifyPath(route.path)}`))

  const app = fastify({
    logger: loggerOptions(config, deps.logStream),
    genReqId: requestIdOf,
    logController: new LogController({ requestIdLogLabel: REQUEST_ID_LOG_LABEL }),
    bodyLimit: ADMIN_BODY_LIMIT,
    trustProxy: trustProxyOption(config.trustProxy),
    // An imported user id may be up to 255 characters, percent-encoded in the path.
    routerOptions: { ignoreTrailingSlash: false, caseSensitive: true, maxParamLength: 800 },
    return503OnClosing: true,
    frameworkErrors: (error, _request, reply) => void sendProblem(reply, problemOf(error)),
    clientErrorHandler,
  })
  const routes: RegisteredRoute[] = []
  registered.set(app, routes)
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url })
  })

  // JSON only, strictly UTF-8 (bytes that are not are refused, never turned into U+FFFD); other types are 415.
  app.removeAllContentTypeParsers()
  const parseJson = app.getDefaultJsonParser('error', 'error')
  const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(request.headers['content-type'] ?? '')?.[1]
    let text: string
    try {
      if (charset !== undefined && charset.toLowerCase() !== 'utf-8') throw new TypeError('not UTF-8')
      text = utf8.decode(body as Buffer)
    } catch {
      done(new AdminProblem('invalid', 'the request body must be UTF-8'), undefined)
      return
    }
    parseJson(request, text, done)
  })
  app.setValidatorCompiler<JsonSchema>(({ schema, method, url, httpPart }) =>
    httpPart === 'body' ? bodyValidator(schema, optionalBodies.has(`${method} ${url}`)) : textAjv.compile(schema),
  )
  app.setErrorHandler(adminErrorHandler)
  app.setNotFoundHandler(async () => {
    throw new AdminProblem('not_found', 'no such resource: GET /admin/openapi.json lists them')
  })

  // An audit event per refused token, with why; never the token or any part of it.
  const authFailed = (request: FastifyRequest, reason: AdminAuthFailure): void =>
    auditSink(request, audit).emit({ type: 'admin.auth_failed', clientId: null, userId: null, reason })

  // Who is asking, before anything else is read: every request, known route or not.
  app.addHook('onRequest', async (request) => {
    refuseRepeatedHeaders(request.raw.rawHeaders)
    const header = request.headers.authorization
    if (header === undefined) {
      authFailed(request, 'no_credentials')
      throw unauthorized('an admin token is required: Authorization: Bearer <token> (authcode admin-token create)')
    }
    const at = now()
    const presented = BEARER.exec(header)?.[1]
    const token = presented === undefined ? undefined : await verifyAdminToken(store, presented, at)
    if (token !== undefined) {
      actors.set(request, token.actor)
      return
    }
    const counted = await throttle.reserve(request.ip, at)
    request.log.warn({ reason: presented === undefined ? 'malformed' : 'unknown_or_revoked', throttled: !counted.reserved }, 'admin API: authentication failed')
    authFailed(request, !counted.reserved ? 'throttled' : presented === undefined ? 'no_credentials' : 'bad_credentials')
    if (!counted.reserved) {
      throw new AdminProblem('too_many_requests', 'too many requests with a wrong admin token from this address; retry later', undefined, {
        'retry-after': String(counted.retryAfter),
      })
    }
    throw unauthorized('the admin token is unknown, revoked or malformed', 'invalid_token')
  })
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header(REQUEST_ID_HEADER, request.id)
    reply.header('cache-control', 'no-store')
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'no-referrer')
    reply.header('x-frame-options', 'DENY')
    reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'")
    return payload
  })
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.httpDuration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000)
  })

  for (const route of ADMIN_ROUTES) register(app, route)
  refuseOtherMethods(app, ADMIN_ROUTES)
  return app

  function register(scope: FastifyInstance, route: AdminRoute): void {
    scope.route({
      method: route.method,
      url: fastifyPath(route.path),
      schema: {
        params: parametersSchema(route.params, true),
        querystring: parametersSchema(route.query, false),
        ...(route.body === undefined ? {} : { body: ADMIN_SCHEMAS[route.body.schema] }),
      },
      handler: async (request, reply) => {
        if (route.body === undefined && request.body !== undefined && request.body !== null) {
          throw new AdminProblem('invalid', `${route.method} ${route.path} takes no request body`)
        }
        const actor = actors.get(request)
        // Unreachable: the onRequest hook refused the request.
        if (actor === undefined) throw unauthorized('an admin token is required')
        const ctx: AdminContext = { store, keys: deps.keys, config, now, events: auditSink(request, audit), actor }
        const answer = await route.handle(ctx, {
          params: request.params as Record<string, string>,
          query: request.query as Record<string, unknown>,
          body: request.body ?? undefined,
        })
        reply.code(answer.status)
        if (answer.location !== undefined) reply.header('location', answer.location)
        if (answer.body === undefined) return reply.send()
        return reply.type('application/json; charset=utf-8').send(answer.body)
      },
    })
  }
}

/** RFC 9110 §15.5.6: another method on a known path is 405 with `Allow`. */
function refuseOtherMethods(app: FastifyInstance, routes: readonly AdminRoute[]): void {
  const allowed = new Map<string, string[]>()
  for (const route of routes) {
    const methods = allowed.get(route.path) ?? []
    methods.push(...(route.method === 'GET' ? ['GET', 'HEAD'] : [route.method]))
    allowed.set(route.path, methods)
  }
  for (const [path, methods] of allowed) {
    const allow = methods.join(', ')
    const refuse = async (request: FastifyRequest): Promise<never> => {
      throw new AdminProblem('method_not_allowed', `${request.method} is not allowed on ${path}: ${allow}`, undefined, { allow })
    }
    // Refused before a body is read: a PUT is 405 whatever it carries.
    app.route({ method: METHODS.filter((method) => !methods.includes(method)), url: fastifyPath(path), onRequest: refuse, handler: refuse })
  }
}
