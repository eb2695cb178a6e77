/**
 * What the protocol needs from storage, as narrow interfaces (one per concern) that every backend
 * implements and one shared suite tests (`storage/store.suite.ts`).
 *
 * Secrets never reach a store in clear: codes, refresh tokens, login-session ids and client secrets
 * arrive already hashed (`tokens/secrets.ts`). Times are whole seconds since the epoch, passed in by
 * the caller (the protocol owns the clock). Every method that must be atomic says so; backends
 * implement it with one transaction or one conditional statement.
 */

import type { SigningAlg } from '../tokens/algorithms.js'

export type { SigningAlg }
/** A client's ID token algorithm: any of the server's signing algorithms (`tokens/algorithms.ts`). */
export type IdTokenAlg = SigningAlg

export type GrantType = 'authorization_code' | 'refresh_token'

export interface ClientRecord {
  clientId: string
  name: string
  /** Hash of the client secret (`tokens/secrets.ts` `hashSecret`); `null` for public clients. */
  secretHash: string | null
  redirectUris: string[]
  /** Scopes the client may request. */
  scopes: string[]
  grantTypes: GrantType[]
  idTokenSignedResponseAlg: IdTokenAlg
  /** Confidential clients only: allowed to omit PKCE. Off unless registered so. */
  pkceOptional: boolean
  /** Consent may be skipped for first-party clients when the configuration allows it. */
  firstParty: boolean
  createdAt: number
}

export interface UserRecord {
  /** The OpenID `sub`: stable, opaque, never reassigned. */
  id: string
  username: string
  passwordHash: string
  name: string | null
  email: string | null
  emailVerified: boolean
  createdAt: number
  updatedAt: number
}

export interface LoginSessionRecord {
  idHash: string
  userId: string
  /** When the user last entered their password (OIDC `auth_time`). */
  authTime: number
  createdAt: number
  expiresAt: number
  /** Hash of the browser-binding cookie of the browser it was started in; null for sessions from before that was kept. */
  browserHash: string | null
}

/** The login → consent journey of one authorization request (STYLE rule 7). */
export type InteractionState = 'created' | 'authenticated' | 'consented' | 'code_issued' | 'denied'

export interface InteractionRecord {
  id: string
  clientId: string
  /** The validated authorization request (`protocol/authorize.ts` `AuthorizationRequest`), as JSON. */
  request: string
  state: InteractionState
  /** Random token that every form of this interaction must echo. */
  csrfToken: string
  /** Hash of the value of the browser cookie that binds the interaction to one browser. */
  browserHash: string
  userId: string | null
  authTime: number | null
  /**
   * The login session (its `idHash`) the user is authenticated by, from `authenticated` on: the
   * consent and the code need that session still alive in the same browser (SECURITY.md 30).
   */
  sessionHash: string | null
  createdAt: number
  expiresAt: number
}

export interface InteractionTransition {
  state: InteractionState
  userId?: string
  authTime?: number
  sessionHash?: string
}

export interface ConsentRecord {
  userId: string
  clientId: string
  scopes: string[]
  createdAt: number
  updatedAt: number
}

/**
 * An app with access to a user's account, as the account page lists it: a consent, or live grants
 * without one (a first-party client let in without asking, `consent.skipForFirstParty`).
 */
export interface AppAccess {
  userId: string
  clientId: string
  clientName: string
  /** The consented scopes; without a consent, every scope of the live grants. */
  scopes: string[]
  /** When the consent was given; without one, when the first live grant was made. */
  since: number
  /** False when the app got access without a consent. */
  consented: boolean
  /** The latest `createdAt` of the access and refresh tokens issued to the client for the user; null when none. */
  lastIssuedAt: number | null
}

/** One authorization of one client by one user; every code, refresh and access token hangs off one. */
export interface GrantRecord {
  id: string
  clientId: string
  userId: string
  scopes: string[]
  authTime: number
  createdAt: number
  revokedAt: number | null
}

export interface CodeRecord {
  codeHash: string
  grantId: string
  clientId: string
  userId: string
  redirectUri: string
  /** RFC 6749 §4.1.3: the token request must repeat redirect_uri when the authorization request had it. */
  redirectUriSent: boolean
  codeChallenge: string | null
  codeChallengeMethod: 'S256' | null
  nonce: string | null
  scopes: string[]
  authTime: number
  createdAt: number
  expiresAt: number
  consumedAt: number | null
}

export interface RefreshTokenRecord {
  tokenHash: string
  grantId: string
  clientId: string
  userId: string
  scopes: string[]
  createdAt: number
  /** min(idle limit from now, absolute limit of the family). */
  expiresAt: number
  /** Set when this token was exchanged for its successor; a second use is a replay (RFC 9700 §4.14). */
  rotatedAt: number | null
}

export interface AccessTokenRecord {
  jti: string
  grantId: string
  clientId: string
  userId: string
  scopes: string[]
  createdAt: number
  expiresAt: number
  revokedAt: number | null
}

/** Tokens written together with the step that issued them, in the same transaction. */
export interface IssuedTokens {
  accessToken: AccessTokenRecord
  refreshToken: RefreshTokenRecord | null
}

export interface SigningKeyRecord {
  kid: string
  alg: SigningAlg
  /** Public JWK as JSON. */
  publicJwk: string
  /** PKCS#8 private key, encrypted (`tokens/sealing.ts`), base64url. */
  privateKeyEncrypted: string
  createdAt: number
  /** Signing starts at this time; published in the JWKS from `createdAt` on. */
  activatesAt: number
}

export interface ClientStore {
  createClient(client: ClientRecord): Promise<void>
  getClient(clientId: string): Promise<ClientRecord | undefined>
  listClients(): Promise<ClientRecord[]>
  /** Removes the client and everything issued to it. False when it did not exist. */
  deleteClient(clientId: string): Promise<boolean>
}

export interface UserStore {
  /** Throws `DuplicateError` when the username is taken. */
  createUser(user: UserRecord): Promise<void>
  getUserById(id: string): Promise<UserRecord | undefined>
  /** Compared byte for byte: `Alice` and `alice` are two usernames (SECURITY.md 27). */
  getUserByUsername(username: string): Promise<UserRecord | undefined>
  /**
   * Compare-and-set: replaces the user's password hash only if it is still `expected` (a rehash
   * with stronger parameters never overwrites a password changed meanwhile). False when it was not.
   */
  updatePasswordHash(userId: string, expected: string, passwordHash: string, now: number): Promise<boolean>
}

export interface LoginSessionStore {
  createLoginSession(session: LoginSessionRecord): Promise<void>
  /** The session if it exists and has not expired at `now`. */
  getLoginSession(idHash: string, now: number): Promise<LoginSessionRecord | undefined>
  /**
   * Deletes every login session started in the browser `browserHash`, and the session `idHash`
   * when given (a session may predate the browser binding): a new sign-in replaces them.
   */
  deleteBrowserSessions(browserHash: string | undefined, idHash: string | undefined): Promise<void>
  /**
   * Atomic, sign-out (SECURITY.md 30): what `deleteBrowserSessions` deletes and every interaction
   * the browser started, in one transaction.
   */
  signOutBrowser(browserHash: string | undefined, idHash: string | undefined): Promise<void>
}

export interface InteractionStore {
  createInteraction(interaction: InteractionRecord): Promise<void>
  /** The interaction if it exists and has not expired at `now`. */
  getInteraction(id: string, now: number): Promise<InteractionRecord | undefined>
  /**
   * Atomic compare-and-set: moves the interaction to `to.state` only if its current state is one of
   * `from` and it has not expired. Returns the updated record, or undefined when nothing matched.
   */
  transitionInteraction(
    id: string,
    from: readonly InteractionState[],
    to: InteractionTransition,
    now: number,
  ): Promise<InteractionRecord | undefined>
}

export interface ConsentStore {
  getConsent(userId: string, clientId: string): Promise<ConsentRecord | undefined>
  /** Adds `scopes` to what the user granted the client (union with an earlier consent). */
  saveConsent(userId: string, clientId: string, scopes: string[], now: number): Promise<void>
  /**
   * Every app with access to the user's account — a consent, or a grant not revoked — with its
   * name and when a token (access or refresh) was last issued to it for that user; oldest first
   * (ties by client id).
   */
  listAppsWithAccess(userId: string): Promise<AppAccess[]>
  /**
   * Atomic: deletes the user's consent to the client and revokes every grant of that user to that
   * client the way `revokeGrant` does (grants and their access tokens get `revokedAt`; codes and
   * refresh tokens stop working with their grant). True when there was a consent or a live grant.
   */
  revokeConsent(userId: string, clientId: string, now: number): Promise<boolean>
}

/** A code or refresh token with the grant it belongs to and the grant's user. */
export type WithGrant<T> = T & { grant: GrantRecord; user: UserRecord }

export interface GrantStore {
  /** Atomic: inserts the grant and its first code together. */
  createGrantWithCode(grant: GrantRecord, code: CodeRecord): Promise<void>
  getGrant(id: string): Promise<GrantRecord | undefined>
  /** Revokes the grant: its refresh tokens and access tokens (their `revokedAt` set) stop working. Idempotent. */
  revokeGrant(id: string, now: number): Promise<void>

  getCode(codeHash: string): Promise<CodeRecord | undefined>
  /** The code with its grant and the grant's user: what the token endpoint reads, in one read where the backend can. */
  getCodeWithGrant(codeHash: string): Promise<WithGrant<{ code: CodeRecord }> | undefined>
  /**
   * Atomic, the single-use rule (RFC 6749 §4.1.2): marks the code consumed only if it was not
   * consumed, has not expired at `now`, and its grant is not revoked, and records `tokens` in the
   * same transaction. False when another redemption won or the code is no longer valid; then
   * nothing was written. `getCode` alone does not reflect a revoked grant: check `getGrant`.
   */
  redeemCode(codeHash: string, now: number, tokens: IssuedTokens): Promise<boolean>

  getRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | undefined>
  /** The refresh token with its grant and the grant's user, in one read where the backend can. */
  getRefreshTokenWithGrant(tokenHash: string): Promise<WithGrant<{ token: RefreshTokenRecord }> | undefined>
  /**
   * Atomic, the rotation rule (RFC 9700 §4.14.2): marks the token rotated only if it was not
   * rotated, has not expired at `now` and its grant is not revoked, and records `tokens` in the
   * same transaction. False when another rotation won or the token is no longer valid.
   * `getRefreshToken` alone does not reflect a revoked grant: check `getGrant`.
   */
  rotateRefreshToken(tokenHash: string, now: number, tokens: IssuedTokens): Promise<boolean>

  getAccessToken(jti: string): Promise<AccessTokenRecord | undefined>
  revokeAccessToken(jti: string, now: number): Promise<void>
}

export interface KeyStore {
  listSigningKeys(): Promise<SigningKeyRecord[]>
  insertSigningKeys(keys: SigningKeyRecord[]): Promise<void>
  deleteSigningKeys(kids: string[]): Promise<void>
}

/** How many attempts a throttle lets through, and how it slows down past them. */
export interface AttemptLimit {
  /** Attempts per window without any wait. */
  max: number
  /** Window length in seconds, from the window's first attempt. */
  window: number
  /**
   * Seconds to wait before each attempt past `max` (the last value repeats): progressive delays.
   * Empty: no attempt past `max` until the window ends (a hard limit).
   */
  delays: readonly number[]
}

export type Reservation = { reserved: true } | { reserved: false; retryAfter: number }

export interface RateLimitStore {
  /**
   * Atomic, in one statement (SECURITY.md 27): takes one attempt under `key` if `limit` allows one
   * at `now` (a new window, or the wait after the previous attempt is over) and sets when the next
   * may come; otherwise changes nothing. Reserve before the work the throttle guards, so that
   * concurrent attempts on any instance never get past the limit together.
   */
  reserveAttempt(key: string, limit: AttemptLimit, now: number): Promise<Reservation>
  /** Gives back one attempt of the current window (it succeeded, so it was no guess). */
  refundAttempt(key: string, limit: AttemptLimit, now: number): Promise<void>
  resetRateLimit(key: string): Promise<void>
}

export interface PurgeResult {
  codes: number
  refreshTokens: number
  accessTokens: number
  loginSessions: number
  interactions: number
  grants: number
  rateLimits: number
}

export interface Store
  extends ClientStore,
    UserStore,
    LoginSessionStore,
    InteractionStore,
    ConsentStore,
    GrantStore,
    KeyStore,
    RateLimitStore {
  /**
   * Deletes what can no longer be used at `now`: expired codes, tokens, sessions, interactions and
   * rate-limit windows, and grants that are revoked or have no live token left.
   */
  purgeExpired(now: number): Promise<PurgeResult>
  /** Cheap round trip for `/readyz`. */
  ping(): Promise<void>
  close(): Promise<void>
}

/** A unique key (username, client id, kid) already exists. */
export class DuplicateError extends Error {
  override readonly name = 'DuplicateError'
}
