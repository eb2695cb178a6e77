/**
 * The account page: a signed-in user sees the apps they let into their account (their consents)
 * and removes an app's access, in two steps (ask, then confirm). Not signed in, the page is a
 * sign-in form that starts the same login session as the sign-in of an authorization request (the
 * sign-in journey's `signIn`, `protocol/journey.ts`).
 *
 * Every form carries the CSRF token derived from this browser's cookie (`browserFormToken`). Who
 * the user is comes only from the login session, never from a form: nobody removes another
 * user's apps.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../http/services.js'
import { queryParams } from '../http/form.js'
import { displayName, type Account } from '../protocol/accounts.js'
import { findConnectedApp, listConnectedApps, removeAccess } from '../protocol/connected-apps.js'
import { journeyDeps, signedInAccount } from '../protocol/journey.js'
import { browserFormToken, presentedBrowserFormToken, presentedSessionHash } from './cookies.js'
import { checkedForm, signIn } from './forms.js'
import { pageText, type PageText } from './messages.js'
import type { Pages } from './pages.js'
import { signOutBrowser } from './sign-out.js'

const FORBIDDEN = pageText('account.forbidden')
const NOT_CONNECTED = pageText('account.notConnected')
const REMOVED = pageText('account.removed')

type AppParams = { Params: { clientId: string } }

export const accountRoutes: FastifyPluginAsync<{ services: Services; pages: Pages }> = async (app, { services, pages }) => {
  const { store, config } = services
  const journey = journeyDeps(services)
  const accountUrl = `${services.basePath}/account`
  const removeUrl = (clientId: string) => `${accountUrl}/apps/${encodeURIComponent(clientId)}/remove`
  const backToAccount = { link: { href: accountUrl, text: pageText('account.back') } }
  const page = { config: { errors: 'page' as const } }

  const signedInUser = async (request: FastifyRequest): Promise<Account | undefined> =>
    (await signedInAccount(journey, presentedSessionHash(request, services), services.now()))?.account

  /** The form body when it carries this browser's token; otherwise the 403 page is sent. */
  function checkForm(request: FastifyRequest, reply: FastifyReply) {
    const form = checkedForm(request, services, presentedBrowserFormToken(request, services))
    if (form === undefined) pages.sendError(reply, 403, FORBIDDEN, backToAccount)
    return form
  }

  function showSignIn(request: FastifyRequest, reply: FastifyReply, username = '', error?: PageText, status = 200) {
    const csrf = browserFormToken(request, reply, services)
    return pages.login(reply, { clientName: undefined, action: `${accountUrl}/login`, csrf, username, error }, {}, status)
  }

  app.get('/account', page, async (request, reply) => {
    const signedIn = await signedInAccount(journey, presentedSessionHash(request, services), services.now())
    if (signedIn === undefined) return showSignIn(request, reply)
    const { session, account: user } = signedIn
    const removed = queryParams(request).single('removed') === '1'
    const apps = await listConnectedApps(store, user.id, config.scopes)
    const signedInApps = session.sid === undefined ? [] : await store.listSignedInApps(session.sid)
    return pages.account(reply, {
      userName: await displayName(services.accounts, user),
      notice: removed ? REMOVED : undefined,
      csrf: browserFormToken(request, reply, services),
      signOutAction: `${accountUrl}/logout`,
      signedInApps: signedInApps.map(({ clientName }) => ({ clientName })),
      apps: apps.map((connected) => ({
        clientName: connected.clientName,
        scopes: connected.scopes.map((scope) => scope.name),
        since: connected.since,
        consented: connected.consented,
        lastIssuedAt: connected.lastIssuedAt ?? undefined,
        removeAction: removeUrl(connected.clientId),
      })),
    })
  })

  app.post('/account/login', page, async (request, reply) => {
    const form = checkForm(request, reply)
    if (form === undefined) return reply
    if ((await signedInUser(request)) !== undefined) return reply.redirect(accountUrl, 303)
    const outcome = await signIn(request, reply, services, form, null)
    if (!('signedIn' in outcome)) return showSignIn(request, reply, outcome.username, outcome.error, outcome.status)
    return reply.redirect(accountUrl, 303)
  })

  app.post('/account/logout', page, async (request, reply) => {
    if (checkForm(request, reply) === undefined) return reply
    const user = await signedInUser(request)
    await signOutBrowser(request, reply, services, { userId: user?.id ?? null, clientId: null })
    return reply.redirect(accountUrl, 303)
  })

  /** Step one: what removing this app's access means, and a form to confirm it. */
  app.post<AppParams>('/account/apps/:clientId/remove', page, async (request, reply) => {
    if (checkForm(request, reply) === undefined) return reply
    const user = await signedInUser(request)
    if (user === undefined) return reply.redirect(accountUrl, 303)
    const connected = await findConnectedApp(store, user.id, request.params.clientId, config.scopes)
    if (connected === undefined) return pages.sendError(reply, 404, NOT_CONNECTED, backToAccount)
    return pages.removeAccess(reply, {
      app: { clientName: connected.clientName, scopes: connected.scopes.map((scope) => scope.name), consented: connected.consented },
      action: `${removeUrl(connected.clientId)}/confirm`,
      csrf: browserFormToken(request, reply, services),
      cancel: accountUrl,
    })
  })

  /** Step two: the consent goes and every grant of this user to the app is revoked. */
  app.post<AppParams>('/account/apps/:clientId/remove/confirm', page, async (request, reply) => {
    if (checkForm(request, reply) === undefined) return reply
    const user = await signedInUser(request)
    if (user === undefined) return reply.redirect(accountUrl, 303)
    const { clientId } = request.params
    if (!(await removeAccess(store, user.id, clientId, services.now()))) {
      return pages.sendError(reply, 404, NOT_CONNECTED, backToAccount)
    }
    services.eventsOf(request).emit({ type: 'access.removed', clientId, userId: user.id })
    return reply.redirect(`${accountUrl}?removed=1`, 303)
  })
}
