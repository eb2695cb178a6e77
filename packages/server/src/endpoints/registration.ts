/**
 * The registration endpoint (RFC 7591 §3) and each client's configuration endpoint under it
 * (RFC 7592 §2: GET, PUT, DELETE at `registration_client_uri`). Absent while `registration.mode`
 * is `off`. Thin: the body is read as JSON here, in this plugin only (the rest of the server takes
 * forms), and `protocol/registration.ts` does the rest. Every error is an RFC 7591 §3.2.2 JSON
 * body; a 401 also says `WWW-Authenticate: Bearer` (RFC 6750 §3).
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { bearerChallenge } from '../http/errors.js'
import type { Services } from '../http/services.js'
import { invalidClientMetadata, invalidRequest, isOAuthError } from '../protocol/errors.js'
import { Throttle } from '../protocol/rate-limit.js'
import {
  authenticateRegistration,
  checkInitialAccessToken,
  deleteRegistration,
  readRegistration,
  registerDynamicClient,
  REGISTRATION_BODY_LIMIT,
  updateRegistration,
  type RegistrationDeps,
} from '../protocol/registration.js'
import type { RegistrationTokenRecord } from '../protocol/store.js'

/** A body that arrived as `application/json` and parsed: kept apart from what other parsers give. */
class JsonBody {
  constructor(readonly value: unknown) {}
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/** The request's JSON value; any other body (none, a form, another type) is `invalid_client_metadata`. */
function jsonBody(request: FastifyRequest): unknown {
  if (request.body instanceof JsonBody) return request.body.value
  throw invalidClientMetadata('the request body must be a JSON object of client metadata (Content-Type: application/json)')
}

/** RFC 6749 §5.1 and RFC 7591 §3.2.1: answers holding credentials are never cached. */
function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
}

/** Runs `step`; a refused token answers with its Bearer challenge (RFC 6750 §3) besides the JSON body. */
async function challenging<T>(reply: FastifyReply, step: () => Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (error) {
    if (isOAuthError(error) && error.error === 'invalid_token') reply.header('www-authenticate', bearerChallenge(error))
    throw error
  }
}

export const registrationEndpoints: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  const { config, store } = services
  if (config.registration.mode === 'off') return
  const path = config.endpoints.registration
  // SECURITY.md 31: registrations per caller address, counted before any work, on every instance.
  const perAddress = new Throttle(store, { ...config.rateLimit.registrationPerIp, delays: [] }, 'registration-ip:')
  const deps = (request: FastifyRequest): RegistrationDeps => ({ store, config, now: services.now(), events: services.eventsOf(request) })

  // In this plugin's scope only: the rest of the server keeps its form-only parsers.
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: REGISTRATION_BODY_LIMIT }, (_request, body, done) => {
    // No body (a GET or DELETE that still says application/json): nothing to parse; POST and PUT refuse it.
    if ((body as Buffer).length === 0) {
      done(null, undefined)
      return
    }
    let text: string
    try {
      text = UTF8.decode(body as Buffer)
    } catch {
      done(invalidClientMetadata('the body must be UTF-8 JSON'), undefined)
      return
    }
    try {
      done(null, new JsonBody(JSON.parse(text) as unknown))
    } catch {
      done(invalidClientMetadata('the body is not JSON'), undefined)
    }
  })

  const route = { bodyLimit: REGISTRATION_BODY_LIMIT, config: { errors: 'json' as const } }

  // Counted when the request arrives, before its body is read: a body the parser or the size limit
  // refuses (not JSON, not UTF-8, too large) counts like any other, once.
  const throttled = {
    onRequest: async (request: FastifyRequest) => {
      const allowed = await perAddress.reserve(request.ip, services.now())
      if (!allowed.reserved) throw invalidRequest('too many registrations from this address, retry later', { status: 429, retryAfter: allowed.retryAfter })
    },
  }

  app.post(path, { ...route, ...throttled }, async (request, reply) => {
    const now = services.now()
    const initialToken: RegistrationTokenRecord | undefined =
      config.registration.mode === 'token' ? await challenging(reply, () => checkInitialAccessToken(store, request.headers.authorization, now)) : undefined
    const registered = await registerDynamicClient(jsonBody(request), deps(request), initialToken)
    return noStore(reply).code(201).send(registered)
  })

  const clientPath = `${path}/:clientId`
  const clientOf = (request: FastifyRequest, reply: FastifyReply) =>
    challenging(reply, () => authenticateRegistration(store, (request.params as { clientId: string }).clientId, request.headers.authorization))

  app.get(clientPath, route, async (request, reply) => {
    const client = await clientOf(request, reply)
    return noStore(reply).send(readRegistration(client, config))
  })

  app.put(clientPath, route, async (request, reply) => {
    const client = await clientOf(request, reply)
    const updated = await challenging(reply, () => updateRegistration(client, jsonBody(request), deps(request)))
    return noStore(reply).send(updated)
  })

  app.delete(clientPath, route, async (request, reply) => {
    const client = await clientOf(request, reply)
    await challenging(reply, () => deleteRegistration(client, deps(request)))
    return noStore(reply).code(204).send()
  })
}
