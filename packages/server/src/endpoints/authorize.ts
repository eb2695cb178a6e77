/**
 * The authorization endpoint (RFC 6749 §3.1, §4.1.1; OIDC Core §3.1.2). It validates, then starts
 * the sign-in journey (`protocol/journey.ts`), which issues a code at once or stores an interaction
 * for the login and consent pages; they come back through `/authorize/resume/:id`, where the
 * journey mints the code. This file only turns the journey's results into redirects and pages.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import type { Services } from '../http/services.js'
import { optionalFormBody, queryParams } from '../http/form.js'
import {
  authorizationResponseUri,
  echoableState,
  resolveClientRedirect,
  validateAuthorizationRequest,
} from '../protocol/authorize.js'
import { OAuthError, accessDenied, invalidRequest } from '../protocol/errors.js'
import { REQUEST_URI_PREFIX, takePushedParams } from '../protocol/par.js'
import { toOAuthError } from '../http/errors.js'
import { journeyDeps, resume, startJourney } from '../protocol/journey.js'
import { browserBinding, presentedBrowser, presentedSessionHash } from '../interaction/cookies.js'
import { pageText } from '../interaction/messages.js'
import type { Pages } from '../interaction/pages.js'
import { SIGNED_OUT } from '../interaction/routes.js'

/** RFC 6749 §4.1.2.1 `temporarily_unavailable`: this address started too many sign-ins. */
const temporarilyBusy = (retryAfter: number) =>
  new OAuthError('temporarily_unavailable', 'too many sign-in requests from this address, retry later', { status: 429, retryAfter })

export const authorizeEndpoint: FastifyPluginAsync<{ services: Services; pages: Pages }> = async (app, { services, pages }) => {
  const { store, config } = services
  const journey = journeyDeps(services)

  function redirect(reply: FastifyReply, status: 302 | 303, location: string) {
    // RFC 9700 §4.2.4: the code must not leak through the Referer of whatever the client loads next.
    return reply.header('referrer-policy', 'no-referrer').header('cache-control', 'no-store').redirect(location, status)
  }

  function redirectError(reply: FastifyReply, status: 302 | 303, redirectUri: string, error: OAuthError, state: string | undefined) {
    return redirect(reply, status, authorizationResponseUri(redirectUri, { error }, state, config.issuer))
  }

  function redirectWithCode(reply: FastifyReply, status: 302 | 303, issued: { request: { redirectUri: string; state: string | undefined }; code: string }) {
    const { request, code } = issued
    return redirect(reply, status, authorizationResponseUri(request.redirectUri, { code }, request.state, config.issuer))
  }

  app.route({
    method: ['GET', 'POST'],
    url: config.endpoints.authorization,
    // HEAD must be safe (RFC 9110 §9.2.1); this GET is not: it starts interactions and mints codes.
    exposeHeadRoute: false,
    config: { errors: 'page' },
    async handler(request, reply) {
      const status = request.method === 'POST' ? 303 : 302
      const sent = request.method === 'POST' ? queryParams(request).merge(optionalFormBody(request)) : queryParams(request)
      // RFC 9126 §4: a pushed request's parameters, taken once, replace the loose ones but client_id.
      // A request_uri of any other kind (OIDC Core §6.2, by reference) is refused after phase one.
      const pushed = sent.single('request_uri')?.startsWith(REQUEST_URI_PREFIX) === true
      const params = pushed ? await takePushedParams(sent, store, services.now()) : sent
      // Phase one: until the redirect URI is trusted, every error is a page (the route's rendering).
      const trusted = await resolveClientRedirect(params, store)
      const state = echoableState(params)
      try {
        // RFC 9126 §6: a client (or the server) that requires PAR takes no request any other way.
        if (!pushed && (config.par.required || trusted.client.requirePushedAuthorizationRequests)) {
          throw invalidRequest('this client must push its authorization requests (PAR) and send a request_uri')
        }
        const authzRequest = validateAuthorizationRequest(params, trusted, Object.keys(config.scopes), config)
        const started = await startJourney({ ...journey, events: services.eventsOf(request) }, {
          request: authzRequest,
          client: trusted.client,
          origin: { via: 'front_channel' },
          browser: { sessionHash: presentedSessionHash(request, services), bind: () => browserBinding(request, reply, services) },
          ip: request.ip,
          now: services.now(),
        })
        switch (started.kind) {
          case 'code':
            return redirectWithCode(reply, status, started)
          case 'interaction':
            return redirect(reply, 303, `${services.basePath}/interaction/${started.interaction.id}`)
          case 'refused':
            throw started.error
          case 'busy':
            throw temporarilyBusy(started.retryAfter)
        }
      } catch (error) {
        // The redirect URI is trusted now: even a server fault goes back to the client (checklist AZ-14).
        const oauth = toOAuthError(error)
        if (oauth.status >= 500) request.log.error({ err: error }, 'authorization request failed')
        return redirectError(reply, status, trusted.redirectUri, oauth, state)
      }
    },
  })

  app.head(config.endpoints.authorization, async (_request, reply) => reply.code(405).header('allow', 'GET, POST').send())

  // GET only: resuming mints the code, which a (safe) HEAD must not do.
  app.get<{ Params: { id: string } }>('/authorize/resume/:id', { config: { errors: 'page' }, exposeHeadRoute: false }, async (request, reply) => {
    const resumed = await resume({ ...journey, events: services.eventsOf(request) }, { id: request.params.id, browser: presentedBrowser(request, services), now: services.now() })
    switch (resumed.kind) {
      case 'missing':
        return pages.sendError(reply, 400, pageText('interaction.expired'))
      case 'other_browser':
        return pages.sendError(reply, 403, pageText('interaction.otherBrowser'))
      case 'signed_out':
        return pages.sendError(reply, 403, SIGNED_OUT)
      case 'client_removed':
        return pages.sendError(reply, 400, pageText('interaction.clientRemoved'))
      case 'pending':
        return reply.redirect(`${services.basePath}/interaction/${resumed.interaction.id}`, 303)
      case 'denied':
        return redirectError(reply, 303, resumed.request.redirectUri, accessDenied('the user denied the request'), resumed.request.state)
      case 'replayed':
        return pages.sendError(reply, 400, pageText('interaction.alreadyComplete'))
      case 'code':
        return redirectWithCode(reply, 303, resumed)
    }
  })
}
