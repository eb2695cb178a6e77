/**
 * The passkey forms of the pages (`protocol/passkeys.ts` decides; this turns it into page data):
 * the "Sign in with a passkey" form of every sign-in page, with options whose challenge is bound
 * to this browser, and the account page's passkeys with the form that adds one, whose challenge is
 * bound to the account and its login session. A change to the account's passkeys needs a recent
 * sign-in (`REAUTHENTICATE_AFTER`), so a browser left signed in cannot quietly add a way in.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../http/services.js'
import type { Account } from '../protocol/accounts.js'
import { additionOptions, signInOptions } from '../protocol/passkeys.js'
import type { LoginSessionRecord } from '../protocol/store.js'
import { browserBinding } from './cookies.js'
import type { PageText } from './messages.js'
import type { AccountPasskeysView, PasskeySignInView } from './pages.js'

/** Seconds after a sign-in during which its browser may add or remove passkeys; later, the user signs in again first. */
export const REAUTHENTICATE_AFTER = 300

/** Whether the session's sign-in is recent enough to change the account's passkeys. */
export const recentSignIn = (session: LoginSessionRecord, now: number): boolean => now - session.authTime <= REAUTHENTICATE_AFTER

/**
 * The passkey form of a sign-in page posting to `action`, or undefined when passkeys are off.
 * @param required the request asks for more than a password (`acr_values`): the page offers the passkey alone
 */
export async function passkeySignInView(
  request: FastifyRequest,
  reply: FastifyReply,
  services: Services,
  action: string,
  required = false,
): Promise<PasskeySignInView | undefined> {
  if (services.passkeys === undefined) return undefined
  const options = await signInOptions(services.passkeys, browserBinding(request, reply, services), services.now())
  return { action, options: JSON.stringify(options), required }
}

/** The account page's passkeys section, or undefined when passkeys are off. */
export async function accountPasskeysView(
  services: Services,
  signedIn: { account: Account; session: LoginSessionRecord; userName: string },
  urls: { add: string; remove: (credentialId: string) => string },
  error: PageText | undefined,
): Promise<AccountPasskeysView | undefined> {
  const settings = services.passkeys
  if (settings === undefined) return undefined
  const { account, session, userName } = signedIn
  const now = services.now()
  const [passkeys, options] = await Promise.all([
    services.store.listPasskeys(account.id),
    additionOptions({ store: services.store, passkeys: settings }, { account, displayName: userName, sessionHash: session.idHash, now }),
  ])
  return {
    items: passkeys.map((passkey) => ({
      name: passkey.name,
      createdAt: passkey.createdAt,
      lastUsedAt: passkey.lastUsedAt ?? undefined,
      removeAction: urls.remove(passkey.credentialId),
    })),
    addAction: urls.add,
    options: JSON.stringify(options),
    error,
  }
}
