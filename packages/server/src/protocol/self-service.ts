/**
 * What a signed-in user does for herself on the account page (issue #20): see the browsers she is
 * signed in to, change her password, and sign out everywhere at once. Steps over the sign-in
 * journey's dependencies, with plain inputs and results; the page (`interaction/account.ts`) checks
 * the form and turns the results into pages.
 */
import { keepsOwnRows, passwordProblem, type Account, type AccountProvider } from './accounts.js'
import { signOut, type JourneyDeps, type PresentedBrowser, type SignedOut } from './journey.js'
import { checkLogin } from './login.js'
import { hashPassword } from '../tokens/secrets.js'

/** One browser the user is signed in to: one live login session. */
export interface SignedInBrowser {
  /** When the login session started. */
  startedAt: number
  /** When the user last entered her password in it (OIDC `auth_time`). */
  lastSignInAt: number
  /** The browser that asks. */
  current: boolean
}

/** The user's live login sessions, the latest sign-in first; `currentHash` is the asking browser's. */
export async function signedInBrowsers(deps: JourneyDeps, userId: string, currentHash: string, now: number): Promise<SignedInBrowser[]> {
  return (await deps.store.listUserSessions(userId, now)).map((session) => ({
    startedAt: session.createdAt,
    lastSignInAt: session.authTime,
    current: session.idHash === currentHash,
  }))
}

/** Whether the accounts' passwords can be changed here: the built-in store's, or a provider's with `setPassword`. */
export const canChangePassword = (accounts: AccountProvider): boolean => keepsOwnRows(accounts) || accounts.setPassword !== undefined

export type PasswordChange =
  /** Changed: every other login session of the user ended, their back-channel logouts queued. */
  | { kind: 'changed' }
  /** The new password breaks the rule every password obeys (`passwordProblem`); nothing was checked or counted. */
  | { kind: 'refused'; problem: 'too_short' | 'too_long' }
  /** The current password is wrong: answered and counted as a failed sign-in. */
  | { kind: 'invalid' }
  /** Too many failures: wait `retryAfter` seconds. */
  | { kind: 'throttled'; retryAfter: number }
  /** The account provider has no password the server may set. */
  | { kind: 'unsupported' }

export interface PasswordChangeInput {
  /** The signed-in account. */
  account: Account
  current: string
  next: string
  /** The caller's address and this browser's device credential for the account, as a sign-in takes them (`LoginAttempt`). */
  ip: string
  device: string | undefined
  /** The login session of the browser that asks: the one session that stays. */
  keepSessionHash: string
  now: number
}

/**
 * Changes the signed-in user's password: the new one must obey the rule of every password, the
 * current one is checked as a sign-in checks it (the same throttles, SECURITY.md 7 and 27), and on
 * success every other login session of the user ends (a thief signed in elsewhere is out). The
 * built-in store does both in one transaction; another provider sets the password, then the
 * sessions end.
 */
export async function changePassword(deps: JourneyDeps, input: PasswordChangeInput): Promise<PasswordChange> {
  const { account, next, now, keepSessionHash } = input
  if (!canChangePassword(deps.accounts)) return { kind: 'unsupported' }
  const problem = passwordProblem(next)
  if (problem !== undefined) return { kind: 'refused', problem }
  const checked = await checkLogin(deps, { username: account.username, password: input.current, ip: input.ip, device: input.device }, now)
  if (checked.kind === 'throttled') return checked
  if (checked.kind === 'invalid' || checked.user.id !== account.id) return { kind: 'invalid' }
  if (keepsOwnRows(deps.accounts)) {
    if (!(await deps.store.setPassword(account.id, await hashPassword(next), now, keepSessionHash))) return { kind: 'invalid' }
  } else {
    if (!(await deps.accounts.setPassword?.(account.id, next, now))) return { kind: 'invalid' }
    await deps.store.signOutUser(account.id, now, keepSessionHash)
  }
  return { kind: 'changed' }
}

/**
 * "Sign out everywhere": this browser is signed out as a sign-out does it (its sessions and every
 * interaction it started), then every other login session of the user ends, in every browser;
 * each queues the back-channel logouts of the sessions it ended.
 */
export async function signOutEverywhere(deps: JourneyDeps, userId: string, browser: PresentedBrowser, now: number): Promise<SignedOut> {
  const here = await signOut(deps, browser, now)
  const elsewhere = await deps.store.signOutUser(userId, now)
  return {
    kind: 'signed_out',
    sessions: [...here.sessions, ...elsewhere.sessions],
    logoutsQueued: here.logoutsQueued + elsewhere.logoutsQueued,
    logoutsDropped: here.logoutsDropped + elsewhere.logoutsDropped,
  }
}
