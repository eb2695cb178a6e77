/**
 * The password check behind every sign-in form (the login page of an authorization request and
 * the account page), SECURITY.md 7 and 27. Its one caller is the sign-in journey's `signIn`
 * (`journey.ts`), which starts the login session when the check passes:
 * - each attempt is reserved in the throttles before the password is checked, so concurrent
 *   guesses get no more checks than the limit allows, on any number of instances;
 * - per account, failures past the limit slow down (progressive delays), never lock: and a browser
 *   where the account signed in before (a device the server vouched for) is counted on its own, so
 *   a stranger's failures never keep the owner out of her own browser;
 * - per address, a hard limit, as before;
 * - an unknown username costs a full hash and counts like a wrong password, so neither the answer
 *   nor its timing tells them apart; a disabled user is answered alike, even with the right
 *   password. Usernames are compared byte for byte, here as in the store;
 * - a hash made with other parameters or imported from elsewhere (bcrypt, argon2id) is replaced by
 *   today's scrypt at the first sign-in that proves the password.
 */
import type { Throttle } from './rate-limit.js'
import { throttleKey } from './rate-limit.js'
import type { UserRecord, UserStore } from './store.js'
import { dummyPasswordHash, hashPassword, passwordNeedsRehash, verifyPassword } from '../tokens/secrets.js'

export interface LoginDeps {
  store: UserStore
  throttles: { loginAccount: Throttle; loginIp: Throttle; loginDevice: Throttle }
}

export interface LoginAttempt {
  username: string
  password: string
  /** The caller's address. */
  ip: string
  /**
   * The id of this browser's device credential when it vouches for `username` (the account signed
   * in here before), else undefined.
   */
  device: string | undefined
}

export type LoginResult =
  | { kind: 'valid'; user: UserRecord }
  /** Too many failures: wait `retryAfter` seconds. */
  | { kind: 'throttled'; retryAfter: number }
  /** Unknown user or wrong password: deliberately the same answer. */
  | { kind: 'invalid' }

/** Checks a username and password; the attempt counts before the check, and a success gives it back. */
export async function checkLogin(deps: LoginDeps, attempt: LoginAttempt, now: number): Promise<LoginResult> {
  const { loginAccount, loginIp, loginDevice } = deps.throttles
  const { username, password, ip, device } = attempt
  // A vouched-for device has its own counter for this account, apart from strangers' failures.
  const guards: [Throttle, string][] =
    device === undefined ? [[loginIp, ip], [loginAccount, username]] : [[loginDevice, throttleKey(device, username)]]
  for (const [throttle, key] of guards) {
    const reservation = await throttle.reserve(key, now)
    if (!reservation.reserved) return { kind: 'throttled', retryAfter: reservation.retryAfter }
  }
  const user = await deps.store.getUserByUsername(username)
  const valid = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()))
  // A disabled user is answered as an unknown one, after the same work, and the attempt still counts.
  if (user === undefined || user.disabledAt !== null || !valid) return { kind: 'invalid' }

  if (device === undefined) await Promise.all([loginAccount.reset(username), loginIp.refund(ip, now)])
  else await loginDevice.reset(throttleKey(device, username))
  await upgradePasswordHash(deps.store, user, password, now)
  return { kind: 'valid', user }
}

/** A hash made with other parameters or another scheme than today's is replaced at the next sign-in (SECURITY.md 7). */
async function upgradePasswordHash(store: UserStore, user: UserRecord, password: string, now: number): Promise<void> {
  if (!passwordNeedsRehash(user.passwordHash)) return
  await store.updatePasswordHash(user.id, user.passwordHash, await hashPassword(password), now)
}
