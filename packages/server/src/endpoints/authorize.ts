/**
 * The authorization endpoint (RFC 6749 §3.1, §4.1.1; OIDC Core §3.1.2). It validates, decides,
 * hands the user to the login and consent pages when needed, and is the only place that mints
 * codes: the pages come back through `/authorize/resume/:id` when they are done.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import { randomUUID } from 'node:crypto'
import type { Services } from '../http/services.js'
import { optionalFormBody, queryParams } from '../http/form.js'
import {
  authorizationResponseUri,
  decideAuthorization,
  echoableState,
  resolveClientRedirect,
  validateAuthorizationRequest,
  type AuthorizationRequest,
} from '../protocol/authorize.js'
import { OAuthError, accessDenied } from '../protocol/errors.js'
import { toOAuthError } from '../http/errors.js'
import { issueAuthorizationCode } from '../protocol/grants/index.js'
import { completeInteraction, heldBySession, requestOf } from '../protocol/interaction.js'
import { browserBinding, currentLoginSession, presentedBrowserBinding } from '../interaction/cookies.js'
import type { Pages } from '../interaction/pages.js'
import { SIGNED_OUT } from '../interaction/routes.js'
import { randomToken } from '../tokens/secrets.js'

/** RFC 6749 §4.1.2.1 `temporarily_unavailable`: this address started too many sign-ins. */
const temporarilyBusy = (retryAfter: number) =>
  new OAuthError('temporarily_unavailable', 'too many sign-in requests from this address, retry later', { status: 429, retryAfter })

export const authorizeEndpoint: FastifyPluginAsync<{ services: Services; pages: Pages }> = async (app, { services, pages }) => {
  const { store, config } = services

  function redirect(reply: FastifyReply, status: 302 | 303, location: string) {
    // RFC 9700 §4.2.4: the code must not leak through the Referer of whatever the client loads next.
    return reply.header('referrer-policy', 'no-referrer').header('cache-control', 'no-store').redirect(location, status)
  }

  function redirectError(reply: FastifyReply, status: 302 | 303, redirectUri: string, error: OAuthError, state: string | undefined) {
    return redirect(reply, status, authorizationResponseUri(redirectUri, { error }, state, config.issuer))
  }

  async function redirectWithCode(reply: FastifyReply, status: 302 | 303, request: AuthorizationRequest, user: { userId: string; authTime: number }) {
    const now = services.now()
    const code = await issueAuthorizationCode(store, request, user, config.lifetimes.code, now)
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
      const params = request.method === 'POST' ? queryParams(request).merge(optionalFormBody(request)) : queryParams(request)
      // Phase one: until the redirect URI is trusted, every error is a page (the route's rendering).
      const trusted = await resolveClientRedirect(params, store)
      const state = echoableState(params)
      try {
        const authzRequest = validateAuthorizationRequest(params, trusted, Object.keys(config.scopes))
        const now = services.now()
        const session = await currentLoginSession(request, services)
        const consent = session === undefined ? undefined : await store.getConsent(session.userId, trusted.client.clientId)
        const decision = decideAuthorization({
          request: authzRequest,
          client: trusted.client,
          session,
          consent,
          skipConsentForFirstParty: config.consent.skipForFirstParty,
          now,
        })
        if (decision.kind === 'issue') return await redirectWithCode(reply, status, authzRequest, decision)

        // SECURITY.md 31: anonymous requests store interactions, so each address gets a bounded number.
        const allowed = await services.throttles.interactionIp.reserve(request.ip, now)
        if (!allowed.reserved) throw temporarilyBusy(allowed.retryAfter)
        const id = randomUUID()
        await store.createInteraction({
          id,
          clientId: trusted.client.clientId,
          request: JSON.stringify(authzRequest),
          state: decision.kind === 'login' ? 'created' : 'authenticated',
          csrfToken: randomToken(),
          browserHash: browserBinding(request, reply, services),
          userId: decision.kind === 'consent' ? decision.userId : null,
          authTime: decision.kind === 'consent' ? decision.authTime : null,
          // Consent asked of the signed-in user: the session must still be there when she answers.
          sessionHash: decision.kind === 'consent' ? (session?.idHash ?? null) : null,
          createdAt: now,
          expiresAt: now + config.lifetimes.interaction,
        })
        return redirect(reply, 303, `${services.basePath}/interaction/${id}`)
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
    const now = services.now()
    const interaction = await store.getInteraction(request.params.id, now)
    if (interaction === undefined) {
      return pages.sendError(reply, 400, 'This sign-in request has expired or does not exist. Start again from the application.')
    }
    if (presentedBrowserBinding(request, services) !== interaction.browserHash) {
      return pages.sendError(reply, 403, 'This sign-in request was started in another browser. Start again from the application.')
    }
    if (!heldBySession(interaction, await currentLoginSession(request, services))) return pages.sendError(reply, 403, SIGNED_OUT)
    const authzRequest = requestOf(interaction)
    if ((await store.getClient(authzRequest.clientId)) === undefined) {
      return pages.sendError(reply, 400, 'The application that started this sign-in is no longer registered.')
    }
    if (interaction.state === 'created' || interaction.state === 'authenticated') {
      return reply.redirect(`${services.basePath}/interaction/${interaction.id}`, 303)
    }
    if (interaction.state === 'denied') {
      return redirectError(reply, 303, authzRequest.redirectUri, accessDenied('the user denied the request'), authzRequest.state)
    }
    const completed = await completeInteraction(store, interaction.id, now)
    if (completed === undefined || completed.userId === null || completed.authTime === null) {
      return pages.sendError(reply, 400, 'This sign-in request is already complete. Return to the application.')
    }
    return redirectWithCode(reply, 303, authzRequest, { userId: completed.userId, authTime: completed.authTime })
  })
}
