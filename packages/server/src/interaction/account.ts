/**
 * The account page: a signed-in user sees the apps they let into their account (their consents)
 * and removes an app's access, in two steps (ask, then confirm); sees the browsers they are signed
 * in to and signs out everywhere, in two steps too; and changes their password (the current one
 * first). Not signed in, the page is a sign-in form that starts the same login session as the
 * sign-in of an authorization request (the sign-in journey's `signIn`, `protocol/journey.ts`).
 *
 * Every form carries the CSRF token derived from this browser's cookie (`browserFormToken`). Who
 * the user is comes only from the login session, never from a form: nobody removes another
 * user's apps, signs another user out or changes another user's password.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../http/services.js'
import { queryParams } from '../http/form.js'
import { PASSWORD_LENGTH, displayName, type Account } from '../protocol/accounts.js'
import { findConnectedApp, listConnectedApps, removeAccess } from '../protocol/connected-apps.js'
import type { Params } from '../protocol/params.js'
import { canChangePassword, changePassword, signedInBrowsers } from '../protocol/self-service.js'
import type { LoginSessionRecord } from '../protocol/store.js'
import { journeyDeps, signedInAccount } from '../protocol/journey.js'
import { browserFormToken, presentedBrowserFormToken, presentedSessionHash, vouchedDevice } from './cookies.js'
import { checkedForm, signIn, signInWithPasskey } from './forms.js'
import { pageText, type PageText } from './messages.js'
import type { Pages } from './pages.js'
import { accountPasskeysView, passkeySignInView, recentSignIn } from './passkeys.js'
import { PASSKEY_NAME, addPasskey, passkeyName } from '../protocol/passkeys.js'
import { signOutBrowser, signOutEverywhereFrom } from './sign-out.js'

const FORBIDDEN = pageText('account.forbidden')
const NOT_CONNECTED = pageText('account.notConnected')
const REMOVED = pageText('account.removed')
const PASSWORD_CHANGED = pageText('account.passwordChanged')
const PASSKEY_NOTICES = { added: pageText('account.passkeyAddedNotice'), removed: pageText('account.passkeyRemovedNotice') } as const
const REAUTHENTICATE = pageText('account.passkeyReauthenticate')

/** The signed-in browser: its login session and the account. */
type SignedIn = { session: LoginSessionRecord; account: Account }

/** Why a password change was refused, as the page says it, with its status. */
const PASSWORD_REFUSED = {
  missing: { status: 400, error: pageText('account.passwordMissing') },
  mismatch: { status: 400, error: pageText('account.passwordMismatch') },
  too_short: { status: 400, error: pageText('account.passwordTooShort', { min: PASSWORD_LENGTH.min }) },
  too_long: { status: 400, error: pageText('account.passwordTooLong', { max: PASSWORD_LENGTH.max }) },
  invalid: { status: 401, error: pageText('account.passwordWrong') },
} as const

/** The three fields of the password form, each given once; undefined when one is missing or repeated. */
function passwordFields(form: Params): { current: string; next: string; repeated: string } | undefined {
  try {
    const [current, next, repeated] = [form.single('current_password'), form.single('new_password'), form.single('repeat_password')]
    return current === undefined || next === undefined || repeated === undefined ? undefined : { current, next, repeated }
  } catch {
    return undefined
  }
}

type AppParams = { Params: { clientId: string } }
type PasskeyParams = { Params: { credentialId: string } }

export const accountRoutes: FastifyPluginAsync<{ services: Services; pages: Pages }> = async (app, { services, pages }) => {
  const { store, config } = services
  const journey = journeyDeps(services)
  const accountUrl = `${services.basePath}/account`
  const removeUrl = (clientId: string) => `${accountUrl}/apps/${encodeURIComponent(clientId)}/remove`
  const backToAccount = { link: { href: accountUrl, text: pageText('account.back') } }
  const page = { config: { errors: 'page' as const } }

  const logoutEverywhereUrl = `${accountUrl}/logout-everywhere`
  const passkeysUrl = `${accountUrl}/passkeys`
  const removePasskeyUrl = (credentialId: string) => `${passkeysUrl}/${encodeURIComponent(credentialId)}/remove`

  const signedIn = (request: FastifyRequest): Promise<SignedIn | undefined> => signedInAccount(journey, presentedSessionHash(request, services), services.now())

  /** The form body when it carries this browser's token; otherwise the 403 page is sent. */
  function checkForm(request: FastifyRequest, reply: FastifyReply) {
    const form = checkedForm(request, services, presentedBrowserFormToken(request, services))
    if (form === undefined) pages.sendError(reply, 403, FORBIDDEN, backToAccount)
    return form
  }

  async function showSignIn(request: FastifyRequest, reply: FastifyReply, username = '', error?: PageText, status = 200) {
    const csrf = browserFormToken(request, reply, services)
    const passkey = await passkeySignInView(request, reply, services, `${accountUrl}/passkey-login`)
    return pages.login(reply, { clientName: undefined, action: `${accountUrl}/login`, csrf, username, error, passkey }, {}, status)
  }

  /** The account page of the signed-in browser, with a notice, or with why the password form failed (and its status). */
  async function showAccount(
    request: FastifyRequest,
    reply: FastifyReply,
    { session, account }: SignedIn,
    shown: { notice?: PageText; passwordError?: PageText; passkeyError?: PageText; status?: number } = {},
  ) {
    const now = services.now()
    const [userName, apps, signedInApps, browsers] = await Promise.all([
      displayName(services.accounts, account),
      listConnectedApps(store, account.id, config.scopes),
      session.sid === undefined ? [] : store.listSignedInApps(session.sid),
      signedInBrowsers(journey, account.id, session.idHash, now),
    ])
    const passkeys = await accountPasskeysView(services, { account, session, userName }, { add: passkeysUrl, remove: removePasskeyUrl }, shown.passkeyError)
    return pages.account(
      reply,
      {
        userName,
        notice: shown.notice,
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
        password: canChangePassword(services.accounts) ? { action: `${accountUrl}/password`, error: shown.passwordError, minLength: PASSWORD_LENGTH.min } : undefined,
        browsers,
        signOutEverywhereAction: logoutEverywhereUrl,
        passkeys,
      },
      shown.status,
    )
  }

  app.get('/account', page, async (request, reply) => {
    const current = await signedIn(request)
    if (current === undefined) return showSignIn(request, reply)
    const query = queryParams(request)
    const passkey = query.single('passkey')
    const notice =
      query.single('removed') === '1'
        ? REMOVED
        : query.single('password') === 'changed'
          ? PASSWORD_CHANGED
          : passkey === 'added' || passkey === 'removed'
            ? PASSKEY_NOTICES[passkey]
            : undefined
    return showAccount(request, reply, current, { notice })
  })

  app.post('/account/login', page, async (request, reply) => {
    const form = checkForm(request, reply)
    if (form === undefined) return reply
    if (await signedInRecently(request)) return reply.redirect(accountUrl, 303)
    const outcome = await signIn(request, reply, services, form, null)
    if (!('signedIn' in outcome)) return showSignIn(request, reply, outcome.username, outcome.error, outcome.status)
    return reply.redirect(accountUrl, 303)
  })

  /** A signed-in browser whose sign-in is recent: a sign-in form posted there has nothing to do (an older one signs in again: `REAUTHENTICATE_AFTER`). */
  async function signedInRecently(request: FastifyRequest): Promise<boolean> {
    const current = await signedIn(request)
    return current !== undefined && recentSignIn(current.session, services.now())
  }

  if (services.passkeys !== undefined) {
    const settings = services.passkeys

    /** The account page's sign-in with a passkey (the form the passkey script posts). */
    app.post('/account/passkey-login', page, async (request, reply) => {
      const form = checkForm(request, reply)
      if (form === undefined) return reply
      if (await signedInRecently(request)) return reply.redirect(accountUrl, 303)
      const outcome = await signInWithPasskey(request, reply, services, form, null)
      if (!('signedIn' in outcome)) return showSignIn(request, reply, '', outcome.error, outcome.status)
      return reply.redirect(accountUrl, 303)
    })

    /**
     * Adds a passkey (WebAuthn §7.1) to the signed-in account, named as the user typed: the form the
     * passkey script completes with the browser's new credential. A sign-in older than
     * `REAUTHENTICATE_AFTER` is asked for again first.
     */
    app.post('/account/passkeys', page, async (request, reply) => {
      const form = checkForm(request, reply)
      if (form === undefined) return reply
      const current = await signedIn(request)
      if (current === undefined) return reply.redirect(accountUrl, 303)
      const now = services.now()
      if (!recentSignIn(current.session, now)) return showSignIn(request, reply, current.account.username, REAUTHENTICATE, 401)
      let fields: { name: string | undefined; credential: string | undefined }
      try {
        fields = { name: form.single('name'), credential: form.single('credential') }
      } catch {
        fields = { name: undefined, credential: undefined }
      }
      const name = passkeyName(fields.name)
      if (name === undefined) {
        return showAccount(request, reply, current, { passkeyError: pageText('account.passkeyNameInvalid', { max: PASSKEY_NAME.maxLength }), status: 400 })
      }
      const { account, session } = current
      const result = await addPasskey({ store, passkeys: settings }, { account, sessionHash: session.idHash, credential: fields.credential, name, now })
      const events = services.eventsOf(request)
      if (result.kind === 'refused') {
        events.emit({ type: 'passkey.refused', clientId: null, userId: account.id, reason: result.reason })
        return showAccount(request, reply, current, { passkeyError: pageText('account.passkeyFailed'), status: 400 })
      }
      events.emit({ type: 'passkey.added', clientId: null, userId: account.id })
      return reply.redirect(`${accountUrl}?passkey=added`, 303)
    })

    /** Removes one of the account's passkeys: it signs nobody in from then on. A recent sign-in is asked for, as to add one. */
    app.post<PasskeyParams>('/account/passkeys/:credentialId/remove', page, async (request, reply) => {
      if (checkForm(request, reply) === undefined) return reply
      const current = await signedIn(request)
      if (current === undefined) return reply.redirect(accountUrl, 303)
      if (!recentSignIn(current.session, services.now())) return showSignIn(request, reply, current.account.username, REAUTHENTICATE, 401)
      if (!(await store.deletePasskey(current.account.id, request.params.credentialId))) {
        return showAccount(request, reply, current, { passkeyError: pageText('account.passkeyNotFound'), status: 404 })
      }
      services.eventsOf(request).emit({ type: 'passkey.removed', clientId: null, userId: current.account.id })
      return reply.redirect(`${accountUrl}?passkey=removed`, 303)
    })
  }

  app.post('/account/logout', page, async (request, reply) => {
    if (checkForm(request, reply) === undefined) return reply
    const current = await signedIn(request)
    await signOutBrowser(request, reply, services, { userId: current?.account.id ?? null, clientId: null })
    return reply.redirect(accountUrl, 303)
  })

  /**
   * The password change: the current password is checked as a sign-in is (the same throttles; a
   * wrong one is a `login.failed`), the new one against the rule of every password; on success
   * every other browser of the user is signed out, this one stays.
   */
  app.post('/account/password', page, async (request, reply) => {
    const form = checkForm(request, reply)
    if (form === undefined) return reply
    const current = await signedIn(request)
    if (current === undefined || !canChangePassword(services.accounts)) return reply.redirect(accountUrl, 303)
    const fields = passwordFields(form)
    const refused = (reason: keyof typeof PASSWORD_REFUSED) => showAccount(request, reply, current, { passwordError: PASSWORD_REFUSED[reason].error, status: PASSWORD_REFUSED[reason].status })
    if (fields === undefined) return refused('missing')
    if (fields.next !== fields.repeated) return refused('mismatch')
    const { account, session } = current
    const result = await changePassword(journey, {
      account,
      current: fields.current,
      next: fields.next,
      ip: request.ip,
      device: vouchedDevice(request, services, account.username),
      keepSessionHash: session.idHash,
      now: services.now(),
    })
    const events = services.eventsOf(request)
    switch (result.kind) {
      case 'changed':
        events.emit({ type: 'account.password_changed', clientId: null, userId: account.id })
        // The other sessions' back-channel logouts were queued with the change.
        services.logouts.kick()
        return reply.redirect(`${accountUrl}?password=changed`, 303)
      case 'refused':
        return refused(result.problem)
      case 'invalid':
        events.emit({ type: 'login.failed', clientId: null, userId: null })
        return refused('invalid')
      case 'throttled':
        events.emit({ type: 'login.throttled', clientId: null, userId: null })
        reply.header('retry-after', String(result.retryAfter))
        return showAccount(request, reply, current, { passwordError: pageText('login.throttled', { wait: { seconds: result.retryAfter } }), status: 429 })
      case 'unsupported':
        return reply.redirect(accountUrl, 303)
    }
  })

  /** Step one of "sign out everywhere": what it means, and a form to confirm it. */
  app.post('/account/logout-everywhere', page, async (request, reply) => {
    if (checkForm(request, reply) === undefined) return reply
    const current = await signedIn(request)
    if (current === undefined) return reply.redirect(accountUrl, 303)
    const browsers = await signedInBrowsers(journey, current.account.id, current.session.idHash, services.now())
    return pages.signOutEverywhere(reply, {
      browsers: browsers.length,
      action: `${logoutEverywhereUrl}/confirm`,
      csrf: browserFormToken(request, reply, services),
      cancel: accountUrl,
    })
  })

  /** Step two: every login session of the user ends, this browser's included, and the apps that asked are told (back-channel logout). */
  app.post('/account/logout-everywhere/confirm', page, async (request, reply) => {
    if (checkForm(request, reply) === undefined) return reply
    const current = await signedIn(request)
    if (current === undefined) return reply.redirect(accountUrl, 303)
    await signOutEverywhereFrom(request, reply, services, current.account.id)
    return reply.redirect(accountUrl, 303)
  })

  /** Step one: what removing this app's access means, and a form to confirm it. */
  app.post<AppParams>('/account/apps/:clientId/remove', page, async (request, reply) => {
    if (checkForm(request, reply) === undefined) return reply
    const user = (await signedIn(request))?.account
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
    const user = (await signedIn(request))?.account
    if (user === undefined) return reply.redirect(accountUrl, 303)
    const { clientId } = request.params
    if (!(await removeAccess(store, user.id, clientId, services.now()))) {
      return pages.sendError(reply, 404, NOT_CONNECTED, backToAccount)
    }
    services.eventsOf(request).emit({ type: 'access.removed', clientId, userId: user.id })
    return reply.redirect(`${accountUrl}?removed=1`, 303)
  })
}
