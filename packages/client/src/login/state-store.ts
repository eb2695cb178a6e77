/**
 * Login attempts in flight. One entry per attempt, keyed by a random id the caller keeps in a
 * short-lived cookie, so several tabs logging in at once each have their own `state`, PKCE verifier
 * and `nonce`. An entry is read once (`take` removes it) and expires in minutes.
 *
 * Anyone can start an attempt (an anonymous `GET /login`), so a store is bounded twice: per caller
 * (`maxPerCaller`: one address cannot push out the attempts of others) and in all (`maxEntries`).
 */
import type { StoredDPoPKey } from '../tokens/store.js'

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
  /**
   * Who started the attempt, as `callerKey` gives it (an IPv4 address, an IPv6 /64 prefix, …);
   * undefined when the app did not say. Stores bound the attempts of one caller.
   */
  readonly caller: string | undefined
  /** The DPoP key made for this login (RFC 9449), when the client uses DPoP; it becomes the session's. */
  readonly dpopKey?: StoredDPoPKey | undefined
  /** Seconds since the epoch. */
  readonly createdAt: number
  readonly expiresAt: number
}

/** The bounds of a login state store. */
export interface LoginStateLimits {
  /** Attempts kept in all; past it the oldest attempt goes. Default 10000. */
  maxEntries?: number
  /**
   * Attempts kept per caller (`LoginState.caller`); past it that caller's oldest attempt goes, so
   * requests from one address never push out another address's attempt. Attempts without a caller
   * are bounded by `maxEntries` only. Default 100.
   */
  maxPerCaller?: number
}

const DEFAULT_LOGIN_LIMITS = Object.freeze({ maxEntries: 10_000, maxPerCaller: 100 })

/** Checks a store's bounds (a `TypeError` on a mistake) and fills in the defaults. */
export function loginLimits(options: LoginStateLimits): Readonly<Required<LoginStateLimits>> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
  const limits: Required<LoginStateLimits> = { ...DEFAULT_LOGIN_LIMITS }
  for (const name of ['maxEntries', 'maxPerCaller'] as const) {
    const value = options[name]
    if (value === undefined) continue
    if (!Number.isInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer`)
    limits[name] = value
  }
  return Object.freeze(limits)
}

/**
 * Storage of login attempts, shared by every process of the app when a callback may reach another
 * process than the login (SQLite on one machine, Redis across machines). Implementations must make
 * `take` atomic: two concurrent `take`s of one id — from one process or several — return the entry
 * to at most one of them. Entries whose `expiresAt` is at or before `now` are never returned, and
 * the store drops them on its own (Redis by key expiry, the others at the next `save`). A store
 * that cannot answer rejects with a `StoreError` (`STORE_UNAVAILABLE`), never hangs.
 */
export interface LoginStateStore {
  /**
   * Keeps an attempt, dropping first the expired ones, then the oldest of the same `state.caller`
   * while it holds `maxPerCaller`, then the oldest of all while the store holds `maxEntries`: one
   * caller's attempts never push out another's until the store is full.
   */
  save(loginId: string, state: LoginState): Promise<void>
  /** Returns the entry and deletes it (single use); undefined when unknown, taken or expired. */
  take(loginId: string, now: number): Promise<LoginState | undefined>
}
