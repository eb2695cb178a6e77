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
 *   password. The account provider compares usernames (`accounts.ts`; the built-in store byte for
 *   byte), and the account's failures count under the username it has there, however it was typed;
 * - the password is checked by the account provider: the built-in store replaces a hash made with
 *   other parameters or imported from elsewhere (bcrypt, argon2id) by today's scrypt at the first
 *   sign-in that proves the password; another provider's account gets its mirror row made or
 *   refreshed (`mirrorAccount`).
 */
import { mirrorAccount, type Account, type AccountDeps } from './accounts.js'
import type { Throttle } from './rate-limit.js'
import { throttleKey } from './rate-limit.js'

export interface LoginDeps extends AccountDeps {
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
  | { kind: 'valid'; user: Account }
  /** Too many failures: wait `retryAfter` seconds. */
  | { kind: 'throttled'; retryAfter: number }
  /** Unknown user or wrong password: deliberately the same answer. */
  | { kind: 'invalid' }

/** Checks a username and password; the attempt counts before the check, and a success gives it back. */
export async function checkLogin(deps: LoginDeps, attempt: LoginAttempt, now: number): Promise<LoginResult> {
  const { loginAccount, loginIp, loginDevice } = deps.throttles
  const { password, ip, device } = attempt
  // One counter per account, under its own username, however it was typed (a provider may fold case).
  const name = (await deps.accounts.findByUsername(attempt.username))?.username ?? attempt.username
  // A vouched-for device has its own counter for this account, apart from strangers' failures.
  const guards: [Throttle, string][] =
    device === undefined ? [[loginIp, ip], [loginAccount, name]] : [[loginDevice, throttleKey(device, name)]]
  for (const [throttle, key] of guards) {
    const reservation = await throttle.reserve(key, now)
    if (!reservation.reserved) return { kind: 'throttled', retryAfter: reservation.retryAfter }
  }
  const user = await deps.accounts.verifyPassword(attempt.username, password, now)
  // A disabled user is answered as an unknown one, after the same work, and the attempt still counts.
  if (user === undefined || user.disabled) return { kind: 'invalid' }

  if (device === undefined) await Promise.all([loginAccount.reset(name), loginIp.refund(ip, now)])
  else await loginDevice.reset(throttleKey(device, name))
  await mirrorAccount(deps, user, now)
  return { kind: 'valid', user }
}
