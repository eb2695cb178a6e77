/**
 * A session's tokens and the storage interface for them. Stores are keyed by a hash of the session
 * id (the client hashes it), so a leaked table does not hand out live session cookies.
 */

/** The tokens of one session. Times are seconds since the epoch. */
export interface TokenSet {
  readonly accessToken: string
  /** Lowercase, `bearer`. */
  readonly tokenType: string
  /** When the access token expires; undefined when the server did not say (`expires_in` absent). */
  readonly expiresAt: number | undefined
  readonly refreshToken: string | undefined
  readonly idToken: string | undefined
  /** The granted scope, when the server said. */
  readonly scope: string | undefined
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
}

/** Whether a stored session is past its `expiresAt` at `now`. */
export function sessionExpired(record: SessionRecord, now: number): boolean {
  return record.expiresAt !== undefined && record.expiresAt <= now
}
