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

/**
 * RFC 7591 §2 `token_endpoint_auth_method`. A client registered with either secret method may use
 * both (as before they were kept apart); `private_key_jwt` (RFC 7523, OIDC Core §9) only a signed
 * assertion; `none` is a public client.
 */
export type TokenEndpointAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none'

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
  /** Where the client may send the browser after a logout (OpenID RP-Initiated Logout); empty when none. */
  postLogoutRedirectUris: string[]
  /** Where the server POSTs a logout token when a session the client signed in to ends (OpenID Back-Channel Logout); null when none. */
  backchannelLogoutUri: string | null
  /**
   * The secret a rotation replaced, still accepted until `previousSecretExpiresAt` (a grace period
   * for a zero-downtime rollout); null when there is none.
   */
  previousSecretHash: string | null
  previousSecretExpiresAt: number | null
  tokenEndpointAuthMethod: TokenEndpointAuthMethod
  /** `private_key_jwt`: the client's public keys as a JWK Set (JSON), or where to fetch them; null otherwise. */
  jwks: string | null
  jwksUri: string | null
  /** RFC 9126 §6: `/authorize` takes this client's requests only as a `request_uri` from the PAR endpoint. */
  requirePushedAuthorizationRequests: boolean
  /** RFC 9449 §5.2: every access token of this client is DPoP-bound; a token request without a proof is refused. */
  dpopBoundAccessTokens: boolean
  /**
   * A public client's web origins besides those of its redirect URIs: serialized origins whose
   * pages may call the token, revocation and PAR endpoints (CORS); empty for confidential clients.
   */
  webOrigins: string[]
  /** RFC 7591: the client registered itself at the registration endpoint; nobody vouched for it. */
  registeredDynamically: boolean
  /** RFC 7592 §1: hash of the token that manages a dynamically registered client's registration; null otherwise. */
  registrationAccessTokenHash: string | null
  createdAt: number
}

/** What an update of a client may change; an absent field stays as it is. */
export interface ClientChanges {
  name?: string
  /** Replaces the whole list. */
  redirectUris?: string[]
  scopes?: string[]
  postLogoutRedirectUris?: string[]
  /** Null removes it. */
  backchannelLogoutUri?: string | null
  /** Replaces the whole list. */
  webOrigins?: string[]
  /** RFC 7592 §2.2: a registration replaced by its client changes these too. */
  grantTypes?: GrantType[]
  idTokenSignedResponseAlg?: IdTokenAlg
  /** Between the secret methods only; a public client stays public. */
  tokenEndpointAuthMethod?: TokenEndpointAuthMethod
  requirePushedAuthorizationRequests?: boolean
  dpopBoundAccessTokens?: boolean
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
  /** When the profile (name, email) or the password last changed. */
  updatedAt: number
  /** When the user was disabled; null while the user may sign in. A disabled user counts as unknown everywhere. */
  disabledAt: number | null
}

/**
 * The row of an account another provider keeps (`protocol/accounts.ts`): what the foreign keys and
 * joins of the server's own records need, and nothing of the profile.
 */
export interface AccountMirror {
  id: string
  username: string
  /** A hash no password matches: the provider checks passwords, never this row. */
  passwordHash: string
}

/** What an update of a user's profile may change; an absent field stays as it is. */
export interface UserChanges {
  name?: string | null
  email?: string | null
  emailVerified?: boolean
}

/** A page of users in username order: the ones after `after` (exclusive), at most `limit`. */
export interface UserPage {
  after?: string
  limit?: number
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
  /**
   * The session's public id, the ID tokens' `sid` (OpenID Back-Channel Logout §2.1): random,
   * unrelated to the cookie; absent for sessions from before it was kept.
   */
  sid?: string
  /**
   * How the user signed in (RFC 8176 `amr` values: `pwd`; `hwk` or `swk` with `user` for a
   * passkey); absent for sessions from before it was kept, which were all by password.
   */
  amr?: string[]
}

/** What a sign-out ended (`LoginSessionStore.signOutBrowser`). */
export interface SignOutResult {
  /** The sessions deleted, live or expired. */
  sessions: { userId: string; sid?: string }[]
  /** Back-channel logouts queued: one per client signed in to in an ended session that has a back-channel logout URI. */
  logoutsQueued: number
  /** Back-channel logouts not queued because the queue was full (`LOGOUT_QUEUE_LIMIT`). */
  logoutsDropped: number
}

/** An app signed in to in a login session: a grant made in it and not revoked (the account page lists them). */
export interface SignedInApp {
  clientId: string
  clientName: string
}

/**
 * A logout token to POST to a client's back-channel logout URI (OpenID Back-Channel Logout §2.5):
 * one per client and ended session, until delivered or given up. The token is signed at each
 * attempt, so its `iat`, `exp` and `jti` are fresh; the URI and the algorithm are the client's then.
 */
export interface LogoutDeliveryRecord {
  sid: string
  clientId: string
  /** The logout token's `sub`. */
  userId: string
  createdAt: number
  /** Attempts so far; a claim counts one. */
  attempts: number
  /** Due from this time: the next attempt, or the end of the lease of an attempt under way. */
  nextAttemptAt: number
}

/** At most this many back-channel logouts wait in the queue; past it, new ones are dropped (and counted). */
export const LOGOUT_QUEUE_LIMIT = 10_000

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
  /**
   * The `sid` of the login session the user authorized in (OpenID Back-Channel Logout); absent
   * when it had none.
   */
  sid?: string
  /** The `amr` of that login session (its ID tokens say it); absent for grants from before it was kept. */
  amr?: string[]
  /**
   * RFC 8707 §2: the resources the user authorized the client for; its access tokens are each for
   * one of them, refreshed ones too. Absent when the authorization named none.
   */
  resources?: string[]
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
  /** RFC 9449 §10: the JWK thumbprint `/authorize` was given as `dpop_jkt`; the exchange must prove that key. */
  dpopJkt: string | null
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
  /** RFC 9449 §5: a public client's refresh token is bound to its DPoP key (thumbprint); null when unbound. */
  dpopJkt: string | null
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
  /**
   * When an administrator retired the key: it signs nothing from then on and stays published only
   * until the tokens it signed have expired. Null for a key in its normal lifecycle.
   */
  retiredAt: number | null
}

/** A bearer token of the admin API, kept as a hash (`tokens/secrets.ts` `hashToken`). */
export interface AdminTokenRecord {
  id: string
  /** Unique among the tokens not revoked; names the actor of the admin events it causes. */
  name: string
  tokenHash: string
  createdAt: number
  lastUsedAt: number | null
  revokedAt: number | null
}

/** An initial access token of dynamic client registration (RFC 7591 §1.2, `registration.mode` `token`), kept as a hash. */
export interface RegistrationTokenRecord {
  id: string
  /** Unique among the tokens not revoked. */
  name: string
  tokenHash: string
  createdAt: number
  /** Registers nothing from this time on; null: until revoked. */
  expiresAt: number | null
  lastUsedAt: number | null
  revokedAt: number | null
}

export interface RegistrationTokenStore {
  /** Throws `DuplicateError` when a token that is not revoked has the name, or the id or hash is taken. */
  createRegistrationToken(token: RegistrationTokenRecord): Promise<void>
  /** Every token, revoked and expired ones included, oldest first. */
  listRegistrationTokens(): Promise<RegistrationTokenRecord[]>
  /** The token with this hash, revoked or not: the caller checks `revokedAt` and `expiresAt`. */
  getRegistrationTokenByHash(tokenHash: string): Promise<RegistrationTokenRecord | undefined>
  /** Records a use of the token (`lastUsedAt`). */
  markRegistrationTokenUsed(id: string, now: number): Promise<void>
  /** Revokes the token if it is not revoked yet. False when there is no such token or it was revoked already. */
  revokeRegistrationToken(id: string, now: number): Promise<boolean>
}

export interface ClientStore {
  createClient(client: ClientRecord): Promise<void>
  getClient(clientId: string): Promise<ClientRecord | undefined>
  listClients(): Promise<ClientRecord[]>
  /** Removes the client and everything issued to it. False when it did not exist. */
  deleteClient(clientId: string): Promise<boolean>
  /**
   * Atomic: applies `changes`; when the redirect URIs change, the client's interactions in progress
   * and its unredeemed codes bound to a redirect URI no longer registered are deleted in the same
   * transaction, so no code ever reaches a removed redirect URI. The updated client, or undefined
   * when there is none.
   */
  updateClient(clientId: string, changes: ClientChanges): Promise<ClientRecord | undefined>
  /**
   * One statement: a confidential client's secret becomes `secretHash`. With `previousExpiresAt`
   * the replaced secret stays valid until then; without, it stops at once (and so does any earlier
   * secret still in its grace period). False when there is no such confidential client.
   */
  rotateClientSecret(clientId: string, secretHash: string, previousExpiresAt: number | null): Promise<boolean>
  /** How many clients registered themselves (RFC 7591): what `registration.maxClients` bounds. */
  countDynamicallyRegisteredClients(): Promise<number>
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
  /** Users in username order (byte order, as they are compared), disabled ones included. */
  listUsers(page?: UserPage): Promise<UserRecord[]>
  /** Applies `changes` and sets `updatedAt`; the updated user, or undefined when there is none. */
  updateUser(userId: string, changes: UserChanges, now: number): Promise<UserRecord | undefined>
  /**
   * Atomic: replaces the password hash whatever it was, and deletes every login session of the
   * user except `keepSessionHash` (the session of the browser that changed it). False when there
   * is no such user. Queues the back-channel logouts of the sessions it ends, as `signOutBrowser` does.
   */
  setPassword(userId: string, passwordHash: string, now: number, keepSessionHash?: string): Promise<boolean>
  /**
   * Atomic: marks the user disabled (a first time stays), deletes every login session of the user
   * and revokes every grant of the user the way `revokeGrant` does, queueing the back-channel
   * logouts of those sessions as `signOutBrowser` does. False when there is no such user.
   */
  disableUser(userId: string, now: number): Promise<boolean>
  /** Lets a disabled user sign in again (what disabling revoked stays revoked). False when there is no such user. */
  enableUser(userId: string): Promise<boolean>
  /**
   * Removes the user and everything of the user: sessions, interactions, consents, grants, codes,
   * tokens. Atomic with queueing the back-channel logouts of the sessions it ends, as `disableUser`
   * does. False when there was none.
   */
  deleteUser(userId: string, now: number): Promise<boolean>
  /** Atomic: inserts every user or none. Throws `DuplicateError` when an id or username is taken. */
  importUsers(users: UserRecord[]): Promise<void>
  /**
   * Atomic: makes the row of an account another provider keeps, or brings it up to date: its
   * username and password hash, and not disabled (the provider just let it sign in); a new row has
   * no profile and `now` as `createdAt` and `updatedAt`. Another row holding the username (an
   * account renamed or replaced since it last signed in) gives it up for `~` and its own id.
   */
  mirrorAccount(mirror: AccountMirror, now: number): Promise<void>
}

export interface LoginSessionStore {
  createLoginSession(session: LoginSessionRecord): Promise<void>
  /** The session if it exists, has not expired at `now` and its user is not disabled. */
  getLoginSession(idHash: string, now: number): Promise<LoginSessionRecord | undefined>
  /**
   * Deletes every login session started in the browser `browserHash`, and the session `idHash`
   * when given (a session may predate the browser binding): a new sign-in replaces them.
   */
  deleteBrowserSessions(browserHash: string | undefined, idHash: string | undefined): Promise<void>
  /**
   * Atomic, sign-out (SECURITY.md 30): what `deleteBrowserSessions` deletes and every interaction
   * the browser started, in one transaction; in the same transaction, one back-channel logout is
   * queued (due at `now`) for each client with a grant made in an ended session whose client has
   * a back-channel logout URI, while the queue holds fewer than `LOGOUT_QUEUE_LIMIT`.
   */
  signOutBrowser(browserHash: string | undefined, idHash: string | undefined, now: number): Promise<SignOutResult>
  /** The apps with a grant made in the session `sid` and not revoked, by name (ties by client id). */
  listSignedInApps(sid: string): Promise<SignedInApp[]>
  /** The user's login sessions that have not expired at `now`, the latest sign-in first. */
  listUserSessions(userId: string, now: number): Promise<LoginSessionRecord[]>
  /**
   * Atomic, "sign out everywhere": deletes every login session of the user but `keepSessionHash`,
   * and queues the back-channel logouts of those it ends as `signOutBrowser` does.
   */
  signOutUser(userId: string, now: number, keepSessionHash?: string): Promise<SignOutResult>
}

/**
 * The queue of back-channel logouts (OpenID Back-Channel Logout §2.5), kept in the database so it
 * survives a restart and every instance delivers from it; the sign-outs fill it (`signOutBrowser`,
 * and `setPassword`, `disableUser` for the sessions they end).
 */
export interface LogoutDeliveryStore {
  /**
   * Atomic on every instance (one conditional update): claims at most `limit` deliveries due at
   * `now`, the soonest due first; each counts one more attempt and is not due again before
   * `now + lease`, so no other instance takes it unless this one does not finish it in time.
   */
  claimLogoutDeliveries(now: number, lease: number, limit: number): Promise<LogoutDeliveryRecord[]>
  /** Delivered, or given up: removed from the queue. */
  deleteLogoutDelivery(sid: string, clientId: string): Promise<void>
  /** An attempt failed: due again at `nextAttemptAt`, unless a later claim (attempts past `attempts`) took it over. */
  retryLogoutDelivery(sid: string, clientId: string, attempts: number, nextAttemptAt: number): Promise<void>
  /** When the soonest waiting delivery is due; undefined when none waits. */
  nextLogoutDeliveryAt(): Promise<number | undefined>
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
  /** Sets the key's `retiredAt` if it is not retired yet. False when there is no such key or it was retired already. */
  retireSigningKey(kid: string, now: number): Promise<boolean>
}

export interface AdminTokenStore {
  /** Throws `DuplicateError` when a token that is not revoked has the name, or the id or hash is taken. */
  createAdminToken(token: AdminTokenRecord): Promise<void>
  /** Every token, revoked ones included, oldest first. */
  listAdminTokens(): Promise<AdminTokenRecord[]>
  /** The token with this hash, revoked or not: the caller checks `revokedAt`. */
  getAdminTokenByHash(tokenHash: string): Promise<AdminTokenRecord | undefined>
  /** Records a use of the token (`lastUsedAt`). */
  markAdminTokenUsed(id: string, now: number): Promise<void>
  /** Revokes the token if it is not revoked yet. False when there is no such token or it was revoked already. */
  revokeAdminToken(id: string, now: number): Promise<boolean>
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

/** A WebAuthn credential (a passkey) that signs one user in (`protocol/passkeys.ts`). */
export interface PasskeyRecord {
  /** The credential id, base64url (WebAuthn `rawId`). */
  credentialId: string
  userId: string
  /** The credential's COSE public key, base64url. */
  publicKey: string
  /** The signature counter last seen (WebAuthn §6.1.1); 0 for authenticators that keep none. */
  counter: number
  /** Hints of how the browser reaches the authenticator (`internal`, `hybrid`, `usb`…). */
  transports: string[]
  /** What the user called it. */
  name: string
  /** `singleDevice`: the key never leaves its authenticator; `multiDevice`: it may be synced (backup eligible). */
  deviceType: 'singleDevice' | 'multiDevice'
  /** Whether the authenticator said, last time, that the key is backed up. */
  backedUp: boolean
  createdAt: number
  lastUsedAt: number | null
}

export interface PasskeyStore {
  /** Throws `DuplicateError` when the credential id is registered already (to anyone). */
  createPasskey(passkey: PasskeyRecord): Promise<void>
  getPasskey(credentialId: string): Promise<PasskeyRecord | undefined>
  /** The user's passkeys, oldest first. */
  listPasskeys(userId: string): Promise<PasskeyRecord[]>
  /**
   * Compare-and-set, one statement (WebAuthn §7.2 step 21): records a sign-in with the credential
   * only while its stored counter is still below `counter` (or both are 0: an authenticator that
   * keeps none), setting the counter, `backedUp` and `lastUsedAt`. False when the counter did not
   * go up (a cloned authenticator, or a concurrent sign-in with the same assertion) or the
   * credential is gone.
   */
  usePasskey(credentialId: string, counter: number, backedUp: boolean, now: number): Promise<boolean>
  /** Removes the user's passkey; false when the user has no such passkey. */
  deletePasskey(userId: string, credentialId: string): Promise<boolean>
}

/** RFC 9126: a pushed authorization request, kept for one use under the hash of its `request_uri`. */
export interface PushedRequestRecord {
  uriHash: string
  clientId: string
  /** The pushed parameters, as `[name, value]` pairs. */
  params: [string, string][]
  createdAt: number
  expiresAt: number
}

export interface PushedRequestStore {
  createPushedRequest(request: PushedRequestRecord): Promise<void>
  /**
   * Atomic, single use (RFC 9126 §4): deletes and returns the request if it was pushed by
   * `clientId` and has not expired at `now`; undefined otherwise (nothing is deleted then unless it
   * was the client's and expired).
   */
  takePushedRequest(uriHash: string, clientId: string, now: number): Promise<PushedRequestRecord | undefined>
}

export interface ReplayStore {
  /**
   * Atomic on every instance: records `key` (a hash naming a `jti` and who issued it) as used until
   * `expiresAt`. True the first time; false when it was used before (a replay).
   */
  useOnce(key: string, expiresAt: number): Promise<boolean>
}

export interface PurgeResult {
  codes: number
  refreshTokens: number
  accessTokens: number
  loginSessions: number
  interactions: number
  grants: number
  rateLimits: number
  pushedRequests: number
  usedJtis: number
}

export interface Store
  extends ClientStore,
    UserStore,
    LoginSessionStore,
    InteractionStore,
    ConsentStore,
    GrantStore,
    KeyStore,
    AdminTokenStore,
    RegistrationTokenStore,
    LogoutDeliveryStore,
    PushedRequestStore,
    ReplayStore,
    PasskeyStore,
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
