/**
 * What every form of the browser-facing pages shares: the CSRF check (RFC 6749 §10.12) and the
 * sign-in step (username and password through the journey's `signIn`, each attempt a security event without either).
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../http/services.js'
import { formBody } from '../http/form.js'
import { journeyDeps, signIn as signInBrowser, type Proof } from '../protocol/journey.js'
import type { Params } from '../protocol/params.js'
import type { Account } from '../protocol/accounts.js'
import type { LoginSessionRecord } from '../protocol/store.js'
import { safeEqual } from '../tokens/secrets.js'
import { browserBinding, presentedBrowserBinding, presentedSessionHash, vouchedDevice, writeLoginSession } from './cookies.js'
import { pageText, type PageText } from './messages.js'

/**
 * Whether a form POST comes from one of our own pages (SECURITY.md 30). Browsers send `Origin:
 * null` for forms of pages under `Referrer-Policy: no-referrer` (ours), so `null` proves nothing
 * by itself: it passes only with a browser binding the server issued (a sibling subdomain can
 * plant a cookie, not forge the server's MAC on it). A request without `Origin` passes only when
 * the browser says `Sec-Fetch-Site: same-origin`; any other `Sec-Fetch-Site` never passes.
 */
function fromOurOrigin(request: FastifyRequest, services: Services): boolean {
  const origin = request.headers.origin
  const site = request.headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin') return false
  if (origin === undefined) return site === 'same-origin'
  if (origin === 'null') return presentedBrowserBinding(request, services) !== undefined
  return origin === services.origin
}

/**
 * The form body when it comes from our origin (`fromOurOrigin`) and carries `expectedCsrf`, else
 * undefined. The token, bound to this browser's cookie or interaction, is what proves the form is
 * ours; the origin check stops what a token alone cannot (a planted cookie).
 */
export function checkedForm(request: FastifyRequest, services: Services, expectedCsrf: string | undefined): Params | undefined {
  if (!fromOurOrigin(request, services)) return undefined
  try {
    const form = formBody(request)
    const csrf = form.single('csrf')
    return expectedCsrf !== undefined && csrf !== undefined && safeEqual(csrf, expectedCsrf) ? form : undefined
  } catch {
    return undefined
  }
}

export const BAD_LOGIN = pageText('login.badCredentials')
/** Every refused passkey, whatever the reason (the `passkey.refused` event says which). */
export const BAD_PASSKEY = pageText('login.passkeyFailed')

export type SignInOutcome =
  /** Signed in: the login session is started and its cookie set. */
  | { signedIn: { user: Account; session: LoginSessionRecord } }
  /** Show the sign-in form again with `error`, the username kept. */
  | { status: number; error: PageText; username: string }

/**
 * Signs this browser in with the `username` and `password` of a sign-in form: the journey checks
 * them (SECURITY.md 7) and starts the login session, whose cookie is set here. The attempt is a
 * security event (`login.succeeded`, `login.failed`, `login.throttled`) naming `clientId`, the
 * client of the sign-in request (null on the account page), and never the username.
 */
export async function signIn(
  request: FastifyRequest,
  reply: FastifyReply,
  services: Services,
  form: Params,
  clientId: string | null,
): Promise<SignInOutcome> {
  let username: string | undefined
  let password: string | undefined
  try {
    username = form.single('username')
    password = form.single('password')
  } catch {
    username = undefined
  }
  if (username === undefined || password === undefined) {
    return { status: 400, error: pageText('login.missingFields'), username: username ?? '' }
  }
  const device = vouchedDevice(request, services, username)
  return signInWith(request, reply, services, { method: 'password', username, password, ip: request.ip, device }, clientId, username)
}

/**
 * Signs this browser in with a passkey: `credential`, the JSON the page's script posted, is
 * verified by the journey (`protocol/passkeys.ts`); a refusal is a `passkey.refused` event with
 * its reason, and the page's one message for every refused passkey.
 */
export function signInWithPasskey(request: FastifyRequest, reply: FastifyReply, services: Services, form: Params, clientId: string | null): Promise<SignInOutcome> {
  let credential: string | undefined
  try {
    credential = form.single('credential')
  } catch {
    credential = undefined
  }
  return signInWith(request, reply, services, { method: 'passkey', credential }, clientId, '')
}

/** The journey's sign-in with `proof`, its event, and the session cookie; `username` is what the form shows again on failure. */
async function signInWith(
  request: FastifyRequest,
  reply: FastifyReply,
  services: Services,
  proof: Proof,
  clientId: string | null,
  username: string,
): Promise<SignInOutcome> {
  const result = await signInBrowser(journeyDeps(services), {
    proof,
    // Both sign-in forms need a binding the server issued to get here: this sets no cookie.
    browser: { bindingHash: browserBinding(request, reply, services), sessionHash: presentedSessionHash(request, services) },
    now: services.now(),
  })
  const events = services.eventsOf(request)
  switch (result.kind) {
    case 'throttled':
      events.emit({ type: 'login.throttled', clientId, userId: null })
      reply.header('retry-after', String(result.retryAfter))
      return { status: 429, error: pageText('login.throttled', { wait: { seconds: result.retryAfter } }), username }
    case 'invalid':
      events.emit({ type: 'login.failed', clientId, userId: null })
      return { status: 401, error: BAD_LOGIN, username }
    case 'refused':
      events.emit({ type: 'passkey.refused', clientId, userId: result.userId, reason: result.reason })
      return { status: 401, error: BAD_PASSKEY, username }
    case 'signed_in':
      events.emit({ type: 'login.succeeded', clientId, userId: result.user.id, amr: result.session.record.amr ?? ['pwd'] })
      writeLoginSession(request, reply, services, result.session, result.user.username)
      return { signedIn: { user: result.user, session: result.session.record } }
  }
}
