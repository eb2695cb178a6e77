/**
 * The apps with access to a user's account (their consents, and first-party apps let in without
 * one while a grant lives), and taking that back. A user sees
 * and removes only their own: every function takes the signed-in user's id, never one from a form.
 */
import type { ConsentStore } from './store.js'

export interface ConnectedApp {
  clientId: string
  clientName: string
  /** Each granted scope with the description the consent page showed for it. */
  scopes: { name: string; description: string }[]
  /** When the user allowed the app; for an app let in without asking, when it first got access. */
  since: number
  /** False for an app let in without asking (a first-party app): it gets access again at its next sign-in. */
  consented: boolean
  /** When a token was last issued to the app for this user; null when none was. */
  lastIssuedAt: number | null
}

/** Names as people sort them: case and accents aside. */
const byName = new Intl.Collator('en', { sensitivity: 'base', numeric: true })

/**
 * The user's connected apps, by name (then client id, so that the order is stable).
 *
 * @param scopeDescriptions the configured scopes and their descriptions (`config.scopes`)
 */
export async function listConnectedApps(
  store: ConsentStore,
  userId: string,
  scopeDescriptions: Readonly<Record<string, string>>,
): Promise<ConnectedApp[]> {
  const apps = await store.listAppsWithAccess(userId)
  return apps.map((access) => ({
    clientId: access.clientId,
    clientName: access.clientName,
    scopes: access.scopes.map((name) => ({ name, description: scopeDescriptions[name] ?? name })),
    since: access.since,
    consented: access.consented,
    lastIssuedAt: access.lastIssuedAt,
  })).sort((a, b) => byName.compare(a.clientName, b.clientName) || (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0))
}

/** One of the user's connected apps, or undefined when the user has not allowed that client. */
export async function findConnectedApp(
  store: ConsentStore,
  userId: string,
  clientId: string,
  scopeDescriptions: Readonly<Record<string, string>>,
): Promise<ConnectedApp | undefined> {
  return (await listConnectedApps(store, userId, scopeDescriptions)).find((app) => app.clientId === clientId)
}

/**
 * Removes the app's access: the consent goes (its next authorization request asks again) and every
 * grant of this user to it is revoked, so its refresh tokens are `invalid_grant` and its access
 * tokens inactive at once (RFC 7009 §2.1: revoking a grant invalidates the tokens issued under it).
 *
 * @returns false when the user had neither a consent nor a live grant for the client
 */
export function removeAccess(store: ConsentStore, userId: string, clientId: string, now: number): Promise<boolean> {
  return store.revokeConsent(userId, clientId, now)
}
