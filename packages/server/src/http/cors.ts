/**
 * CORS for apps that run in a browser (IETF OAuth 2.0 for Browser-Based Apps §6.1): a public
 * client's web origins — the origins of its http(s) redirect URIs and those registered — may call the token,
 * revocation and PAR endpoints from a page, each answer (errors included) readable by that origin
 * only, never with credentials. Discovery, the JWKS and userinfo hold nothing ambient (no cookie is
 * read there), so any origin may read them. `/authorize`, the pages and the admin API never answer
 * with CORS headers. Confidential clients get none: their secret must not be in a browser.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isPublicClient } from '../protocol/clients.js'
import type { ClientRecord, ClientStore } from '../protocol/store.js'
import { formBody } from './form.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The client a back-channel endpoint authenticated, so its CORS answer need not read it again. */
    authenticatedClient: ClientRecord | undefined
  }
}

/** What a page may send and read (RFC 9449 adds `DPoP` and `DPoP-Nonce`). */
const ALLOWED_HEADERS = ['content-type', 'authorization', 'dpop']
const EXPOSED_HEADERS = 'dpop-nonce, www-authenticate'
/** Seconds a browser may keep a preflight's answer. */
const PREFLIGHT_MAX_AGE = '600'
/** How long the index of every public client's web origins is used before it is read again. */
const INDEX_TTL_MS = 5000

/** A serialized origin (`https://app.example:8443`) as browsers send it; anything else is no origin at all. */
export function originOf(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string' || header.length > 300 || !/^https?:\/\/[^/?#\s]+$/.test(header)) return undefined
  try {
    const url = new URL(header)
    return url.origin === header ? header : undefined
  } catch {
    return undefined
  }
}

/**
 * A public client's web origins: those of its http(s) redirect URIs (a private-use scheme has
 * none), and the ones registered (`client add --web-origin`).
 */
export function webOriginsOf(client: ClientRecord): string[] {
  if (!isPublicClient(client)) return []
  const origins = new Set<string>(client.webOrigins)
  for (const uri of client.redirectUris) {
    try {
      const url = new URL(uri)
      if (url.protocol === 'https:' || url.protocol === 'http:') origins.add(url.origin)
    } catch {
      // Registered redirect URIs are absolute; one that is not has no origin.
    }
  }
  return [...origins]
}

/** Every public client's web origins, read from the store at most every {@link INDEX_TTL_MS}, for preflights (which carry no client_id). */
class WebOriginIndex {
  #origins = new Set<string>()
  #readAt = -Infinity
  #reading: Promise<void> | undefined

  constructor(readonly store: ClientStore) {}

  async has(origin: string): Promise<boolean> {
    if (performance.now() - this.#readAt > INDEX_TTL_MS) {
      this.#reading ??= this.store
        .listClients()
        .then((clients) => {
          this.#origins = new Set(clients.flatMap(webOriginsOf))
          this.#readAt = performance.now()
        })
        .finally(() => {
          this.#reading = undefined
        })
      await this.#reading
    }
    return this.#origins.has(origin)
  }
}

function grant(reply: FastifyReply, origin: string): void {
  reply.header('access-control-allow-origin', origin).header('access-control-expose-headers', EXPOSED_HEADERS)
}

/** The preflight's request: POST (or GET) with headers from the allowed list only. */
function preflightAsks(request: FastifyRequest, methods: readonly string[]): boolean {
  const method = request.headers['access-control-request-method']
  if (typeof method !== 'string' || !methods.includes(method)) return false
  const asked = request.headers['access-control-request-headers']
  if (asked === undefined || asked === '') return true
  if (typeof asked !== 'string' || asked.length > 500) return false
  return asked.split(',').every((name) => ALLOWED_HEADERS.includes(name.trim().toLowerCase()))
}

/**
 * The token, revocation and PAR endpoints (`paths`, with the issuer's path): preflights from a
 * public client's web origin, and answers readable by the origin of the request's public client
 * (its `client_id` in the form).
 */
export function corsForBrowserClients(app: FastifyInstance, paths: readonly string[], store: ClientStore): void {
  const index = new WebOriginIndex(store)
  const routes = new Set(paths)
  app.decorateRequest('authenticatedClient', undefined)
  for (const path of paths) {
    app.options(path, async (request, reply) => {
      reply.header('vary', 'Origin')
      const origin = originOf(request.headers.origin)
      if (origin !== undefined && preflightAsks(request, ['POST']) && (await index.has(origin))) {
        grant(reply, origin)
        reply.header('access-control-allow-methods', 'POST').header('access-control-allow-headers', ALLOWED_HEADERS.join(', ')).header('access-control-max-age', PREFLIGHT_MAX_AGE)
      }
      return reply.code(204).send()
    })
  }
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.method !== 'POST' || !routes.has(request.routeOptions.url ?? '')) return payload
    reply.header('vary', 'Origin')
    const origin = originOf(request.headers.origin)
    if (origin === undefined) return payload
    // A request refused before its client was authenticated is read again, so that its error is readable too.
    const client = request.authenticatedClient ?? (await namedClient(request, store))
    if (client !== undefined && webOriginsOf(client).includes(origin)) grant(reply, origin)
    return payload
  })
}

/** The client a form's `client_id` names, if any. */
async function namedClient(request: FastifyRequest, store: ClientStore): Promise<ClientRecord | undefined> {
  let clientId: string | undefined
  try {
    clientId = formBody(request).single('client_id')
  } catch {
    return undefined
  }
  return clientId === undefined ? undefined : store.getClient(clientId)
}

/**
 * Discovery, the JWKS, userinfo and registration (`paths`): readable from any origin, never with
 * credentials; a preflight is granted for `methods` (a route's pattern, as `/register/:clientId`, is
 * matched as it was registered).
 */
export function corsForAnyone(app: FastifyInstance, paths: readonly string[], methods: readonly string[] = ['GET', 'POST']): void {
  const routes = new Set(paths)
  for (const path of paths) {
    app.options(path, async (request, reply) => {
      if (originOf(request.headers.origin) !== undefined && preflightAsks(request, methods)) {
        reply
          .header('access-control-allow-origin', '*')
          .header('access-control-allow-methods', methods.join(', '))
          .header('access-control-allow-headers', ALLOWED_HEADERS.join(', '))
          .header('access-control-max-age', PREFLIGHT_MAX_AGE)
      }
      return reply.code(204).send()
    })
  }
  app.addHook('onSend', async (request, reply, payload) => {
    if (routes.has(request.routeOptions.url ?? '') && request.method !== 'OPTIONS') {
      reply.header('access-control-allow-origin', '*').header('access-control-expose-headers', EXPOSED_HEADERS)
    }
    return payload
  })
}
