/**
 * The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0, `protocol/end-session.ts`):
 * GET and POST `/logout`, and the confirmation page's form at `/logout/confirm`. This file turns
 * the protocol's decisions into redirects and pages; signing out is the account page's sign-out
 * (`interaction/sign-out.ts`), which also queues the back-channel logouts.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../http/services.js'
import { formBody, queryParams } from '../http/form.js'
import { browserFormToken, presentedBrowserFormToken, presentedSessionHash } from '../interaction/cookies.js'
import { checkedForm } from '../interaction/forms.js'
import { pageText } from '../interaction/messages.js'
import type { Pages } from '../interaction/pages.js'
import { signOutBrowser } from '../interaction/sign-out.js'
import { displayName } from '../protocol/accounts.js'
import { decideEndSession, postLogoutRedirect, readEndSessionRequest, type EndSessionRequest } from '../protocol/end-session.js'
import { currentSession, journeyDeps } from '../protocol/journey.js'
import { parseParams, type Params } from '../protocol/params.js'

/** The parameters of §2 a POST carries over to the GET (others are ignored, as on the GET). */
const REQUEST_PARAMETERS = ['id_token_hint', 'client_id', 'post_logout_redirect_uri', 'state', 'ui_locales'] as const

/** What the confirmation form carries to `/logout/confirm`, where it is read and checked again. */
const CONFIRMED_PARAMETERS = ['client_id', 'post_logout_redirect_uri', 'state', 'ui_locales'] as const

export const endSessionEndpoint: FastifyPluginAsync<{ services: Services; pages: Pages }> = async (app, { services, pages }) => {
  const { store, keys, config } = services
  const journey = journeyDeps(services)
  const path = config.endpoints.endSession
  const confirmPath = `${path}/confirm`
  const page = { config: { errors: 'page' as const }, exposeHeadRoute: false }

  const read = (params: Params) => readEndSessionRequest(params, { store, keys, issuer: config.issuer, now: services.now() })
  const sessionOf = (request: FastifyRequest) => currentSession(journey, presentedSessionHash(request, services), services.now())

  /** §3: back to the client's registered URI with `state`; otherwise a page that says the user is signed out. */
  function finish(reply: FastifyReply, logout: EndSessionRequest, message: 'signedOut' | 'stillSignedIn') {
    if (logout.redirectUri !== undefined) {
      return reply.header('referrer-policy', 'no-referrer').header('cache-control', 'no-store').redirect(postLogoutRedirect(logout.redirectUri, logout.state), 303)
    }
    const title = pageText(message === 'signedOut' ? 'logout.signedOutTitle' : 'logout.stillSignedInTitle')
    return pages.message(reply, 200, { title, message: pageText(`logout.${message}`), detail: logout.redirectRefused }, { uiLocales: logout.uiLocales })
  }

  const signOut = (request: FastifyRequest, reply: FastifyReply, logout: EndSessionRequest, userId: string) =>
    signOutBrowser(request, reply, services, { userId, clientId: logout.client?.clientId ?? null })

  app.get(path, page, async (request, reply) => {
    const logout = await read(queryParams(request))
    const session = await sessionOf(request)
    const decision = decideEndSession(logout, session)
    switch (decision.kind) {
      case 'not_signed_in':
        return finish(reply, logout, 'signedOut')
      case 'sign_out':
        await signOut(request, reply, logout, decision.userId)
        return finish(reply, logout, 'signedOut')
      case 'confirm': {
        const account = await services.accounts.findById(decision.userId)
        const carried: [string, string | undefined][] = [
          ['client_id', logout.client?.clientId],
          // Only a registered one is carried; it is checked again on the way back.
          ['post_logout_redirect_uri', logout.redirectUri],
          ['state', logout.state],
          ['ui_locales', logout.uiLocales?.join(' ')],
        ]
        return pages.logout(
          reply,
          {
            clientName: logout.client?.name,
            userName: account === undefined ? undefined : await displayName(services.accounts, account),
            action: `${services.basePath}${confirmPath}`,
            csrf: browserFormToken(request, reply, services),
            fields: carried.flatMap(([name, value]) => (value === undefined ? [] : [{ name, value }])),
          },
          { uiLocales: logout.uiLocales, redirectUri: logout.redirectUri },
        )
      }
    }
  })

  // §2: POST is allowed too. The client's page posts it cross-site, so the SameSite=Lax session
  // cookie is not sent with it: the browser comes back as a GET, which carries it.
  app.post(path, page, async (request, reply) => {
    const body = formBody(request)
    const query = new URLSearchParams()
    for (const name of REQUEST_PARAMETERS) {
      const value = body.single(name)
      if (value !== undefined) query.set(name, value)
    }
    return reply.header('cache-control', 'no-store').redirect(`${services.basePath}${path}?${query.toString()}`, 303)
  })

  app.post(confirmPath, page, async (request, reply) => {
    const form = checkedForm(request, services, presentedBrowserFormToken(request, services))
    if (form === undefined) return pages.sendError(reply, 403, pageText('logout.forbidden'))
    const carried = new URLSearchParams()
    for (const name of CONFIRMED_PARAMETERS) {
      const value = form.single(name)
      if (value !== undefined) carried.set(name, value)
    }
    // Checked again: the form went through the browser.
    const logout = await read(parseParams(carried.toString()))
    const decision = form.single('decision')
    if (decision === 'stay') return finish(reply, logout, 'stillSignedIn')
    if (decision !== 'logout') return pages.sendError(reply, 400, pageText('logout.chooseDecision'), { uiLocales: logout.uiLocales })
    const session = await sessionOf(request)
    if (session !== undefined) await signOut(request, reply, logout, session.userId)
    return finish(reply, logout, 'signedOut')
  })
}
