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
  readonly updatedAt: number
}

/**
 * Storage of sessions. `acquireRefreshLock` is a lease: it succeeds when nobody else holds an
 * unexpired lock on that session (taken atomically, so two processes sharing the store cannot both
 * win) and fails for an unknown session. Deleting a session drops its lock.
 */
export interface TokenStore {
  get(key: string): Promise<SessionRecord | undefined>
  set(key: string, record: SessionRecord): Promise<void>
  delete(key: string): Promise<void>
  acquireRefreshLock(key: string, owner: string, until: number, now: number): Promise<boolean>
  releaseRefreshLock(key: string, owner: string): Promise<void>
}
