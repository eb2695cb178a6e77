/**
 * A session's tokens and the storage interface for them. Stores are keyed by a hash of the session
 * id (the client hashes it), so a leaked table does not hand out live session cookies.
 */
import type { webcrypto } from 'node:crypto'

/** The tokens of one session. Times are seconds since the epoch. */
export interface TokenSet {
  readonly accessToken: string
  /** Lowercase: `bearer`, or `dpop` for tokens bound to the session's DPoP key. */
  readonly tokenType: string
  /** When the access token expires; undefined when the server did not say (`expires_in` absent). */
  readonly expiresAt: number | undefined
  readonly refreshToken: string | undefined
  readonly idToken: string | undefined
  /** The granted scope, when the server said. */
  readonly scope: string | undefined
}

/**
 * A session's DPoP key (RFC 9449): the private key as a JWK, kept server-side with the session and
 * never sent to the browser. The server binds the session's tokens to its public key.
 */
export interface StoredDPoPKey {
  readonly alg: 'ES256' | 'ES384' | 'EdDSA'
  readonly privateJwk: webcrypto.JsonWebKey
}

/** JSON values as they come out of an ID token. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue | undefined }

/** What a `TokenStore` keeps per session. */
export interface SessionRecord {
  readonly tokens: TokenSet
  /** The validated ID token's claims (`sub`, `name`, …), when an ID token was issued. */
  readonly claims: Readonly<Record<string, JsonValue | undefined>> | undefined
  readonly createdAt: number
  /** When the tokens were last stored (the login, then each refresh). */
  readonly updatedAt: number
  /**
   * When the store forgets the session: `updatedAt` plus the client's `sessionTtl`, so a session
   * nobody refreshes for that long goes away by itself. Undefined (records written by 0.1) keeps it
   * until it is deleted.
   */
  readonly expiresAt?: number | undefined
  /** The DPoP key the tokens are bound to (`tokens.tokenType` `dpop`); absent for Bearer sessions. */
  readonly dpopKey?: StoredDPoPKey | undefined
}

/**
 * Storage of sessions, shared by every process of the app when it should survive a process (SQLite
 * on one machine, Redis across machines). Times are seconds since the epoch, given by the caller.
 *
 * - `get` never returns a record whose `expiresAt` is at or before `now`; a store drops such records
 *   on its own (Redis by key expiry, the others when they next write).
 * - `set` replaces the record and keeps a refresh lock held on it.
 * - `acquireRefreshLock` is a lease: it succeeds when nobody else holds an unexpired lock on that
 *   session (taken atomically, so two processes sharing the store cannot both win; the owner may
 *   take it again) and fails for an unknown or expired session. `releaseRefreshLock` frees it only
 *   for its owner. Deleting a session drops its lock.
 * - A store that cannot answer rejects with a `StoreError` (`STORE_UNAVAILABLE`), never hangs.
 */
export interface TokenStore {
  get(key: string, now: number): Promise<SessionRecord | undefined>
  set(key: string, record: SessionRecord): Promise<void>
  delete(key: string): Promise<void>
  acquireRefreshLock(key: string, owner: string, until: number, now: number): Promise<boolean>
  releaseRefreshLock(key: string, owner: string): Promise<void>
  /**
   * What a back-channel logout ends (OpenID Back-Channel Logout §2.7): records the logout token's
   * `jti` for its `iss` until `expiresAt` and deletes every session whose ID token claims have that
   * `iss` and the `sid` (and `sub`) given; `'replayed'`, and nothing deleted, when the `jti` was
   * recorded before (§2.6: a replay is refused, by every process sharing the store). Resolves to
   * how many sessions it deleted. A store without it cannot take back-channel logouts.
   */
  endSessions?(logout: BackchannelLogout, now: number): Promise<number | 'replayed'>
}

/** Who a validated logout token logs out (OpenID Back-Channel Logout §2.4). */
export interface BackchannelLogout {
  readonly iss: string
  /** The sessions of this login session at the server (the ID tokens' `sid`)… */
  readonly sid: string | undefined
  /** …of this user (`sub`); with both, a session must match both; one of them is always given. */
  readonly sub: string | undefined
  /** The logout token's `jti`, kept until `expiresAt` (its `exp`) to refuse a replay. */
  readonly jti: string
  readonly expiresAt: number
}

/** Whether a session's ID token claims are the ones a back-channel logout names. */
export function endedBy(record: SessionRecord, logout: BackchannelLogout): boolean {
  const claims = record.claims
  if (claims === undefined || claims.iss !== logout.iss) return false
  if (logout.sid === undefined && logout.sub === undefined) return false
  return (logout.sid === undefined || claims.sid === logout.sid) && (logout.sub === undefined || claims.sub === logout.sub)
}

/** Whether a stored session is past its `expiresAt` at `now`. */
export function sessionExpired(record: SessionRecord, now: number): boolean {
  return record.expiresAt !== undefined && record.expiresAt <= now
}
