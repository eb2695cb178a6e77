/**
 * Login attempts in flight. One entry per attempt, keyed by a random id the caller keeps in a
 * short-lived cookie, so several tabs logging in at once each have their own `state`, PKCE verifier
 * and `nonce`. An entry is read once (`take` removes it) and expires in minutes.
 */

/** What the client remembers between the redirect to the server and the callback. */
export interface LoginState {
  /** RFC 6749 §10.12: CSRF protection, compared in constant time with the callback's `state`. */
  readonly state: string
  /** RFC 7636: the PKCE `code_verifier` (S256). */
  readonly codeVerifier: string
  /** OIDC Core §3.1.2.1: present when `openid` was asked. */
  readonly nonce: string | undefined
  readonly scope: string
  readonly redirectUri: string
  /** The issuer the attempt was started at (RFC 9700 §4.4 mix-up defence). */
  readonly issuer: string
  /** A same-origin path to go to after login, in safe ASCII (`safeReturnTo`). */
  readonly returnTo: string | undefined
  /** `max_age` sent in the request, checked against the ID token's `auth_time`. */
  readonly maxAge: number | undefined
  /** Seconds since the epoch. */
  readonly createdAt: number
  readonly expiresAt: number
}

/**
 * Storage of login attempts. Implementations must make `take` atomic: two concurrent `take`s of one
 * id return the entry to at most one of them. Entries whose `expiresAt` is at or before `now` are
 * never returned.
 */
export interface LoginStateStore {
  save(loginId: string, state: LoginState): Promise<void>
  /** Returns the entry and deletes it (single use); undefined when unknown, taken or expired. */
  take(loginId: string, now: number): Promise<LoginState | undefined>
}
