/**
 * The password check behind every sign-in form (the login page of an authorization request and
 * the account page), SECURITY.md 7: throttled per account and per IP, and an unknown username
 * costs a full hash like a wrong password, so the answer and its timing do not tell them apart.
 */
import type { Throttle } from './rate-limit.js'
import type { UserRecord, UserStore } from './store.js'
import { dummyPasswordHash, verifyPassword } from '../tokens/secrets.js'

export interface LoginDeps {
  store: UserStore
  throttles: { loginAccount: Throttle; loginIp: Throttle }
}

export type LoginResult =
  | { kind: 'valid'; user: UserRecord }
  /** Too many failures for this account or this IP: wait `retryAfter` seconds. */
  | { kind: 'throttled'; retryAfter: number }
  /** Unknown user or wrong password: deliberately the same answer. */
  | { kind: 'invalid' }

/** Checks a username and password; a failure counts against the account and the IP. */
export async function checkLogin(deps: LoginDeps, username: string, password: string, ip: string, now: number): Promise<LoginResult> {
  const { loginAccount, loginIp } = deps.throttles
  const account = username.toLowerCase()
  const wait = Math.max(await loginAccount.blockedFor(account, now), await loginIp.blockedFor(ip, now))
  if (wait > 0) return { kind: 'throttled', retryAfter: wait }
  const user = await deps.store.getUserByUsername(username)
  const valid = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()))
  if (user === undefined || !valid) {
    await Promise.all([loginAccount.fail(account, now), loginIp.fail(ip, now)])
    return { kind: 'invalid' }
  }
  await loginAccount.reset(account)
  return { kind: 'valid', user }
}
