/**
 * What the unit tests beside `src/protocol/` share: a fixed clock, records to start from, and the
 * real token minter over signing keys kept in a `MemoryStore`. No sockets, no sleeps: time is a
 * number each test passes in and moves by hand. Each test builds its own store; the keys (slow to
 * generate) are made once per test file.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { expect } from 'vitest'
import { StoreAccounts } from '../src/protocol/accounts.js'
import type { AuthorizationRequest } from '../src/protocol/authorize.js'
import { OAuthError, type OAuthErrorCode } from '../src/protocol/errors.js'
import { authorizationCodeGrant, issueAuthorizationCode } from '../src/protocol/grants/authorization-code.js'
import type { TokenContext, TokenResponse } from '../src/protocol/grants/types.js'
import { TokenMinter, type TokenSettings } from '../src/protocol/issue-tokens.js'
import { Params, parseParams } from '../src/protocol/params.js'
import { s256 } from '../src/protocol/pkce.js'
import type { ClientRecord, UserRecord } from '../src/protocol/store.js'
import { KeyRing } from '../src/tokens/key-ring.js'
import { hashToken } from '../src/tokens/secrets.js'
import { MemoryStore } from './memory-store.js'

/** The clock of every protocol unit test, in seconds (2023-11-14T22:13:20Z). */
export const NOW = 1_700_000_000
export const DAY = 86_400
export const ISSUER = 'https://auth.example.com'

/** The settings the protocol reads (what `ServerConfig` holds of them), with the server's defaults. */
export const CONFIG = Object.freeze({
  issuer: ISSUER,
  lifetimes: Object.freeze({
    code: 300,
    accessToken: 600,
    idToken: 3600,
    refreshTokenIdle: 14 * DAY,
    refreshTokenAbsolute: 30 * DAY,
    browserRefreshTokenAbsolute: DAY,
    loginSession: DAY,
    interaction: 900,
  }),
  accessToken: Object.freeze({ alg: 'ES256' as const, audience: ISSUER }),
  scopes: Object.freeze({ openid: 'Sign you in', profile: 'Your name and username', email: 'Your email address' }),
})

export const CLIENT_SECRET = 'the-secret-of-the-confidential-client-0123'
export const VERIFIER = 'a-pkce-code-verifier-of-forty-three-or-more-characters'
export const REDIRECT_URI = 'https://rp.example.com/cb'

/** A confidential client allowed both grants, its secret `CLIENT_SECRET`. */
export function confidentialClient(overrides: Partial<ClientRecord> = {}): ClientRecord {
  return {
    clientId: 'rp',
    name: 'Relying Party',
    secretHash: hashToken(CLIENT_SECRET),
    redirectUris: [REDIRECT_URI],
    scopes: ['openid', 'profile', 'email'],
    grantTypes: ['authorization_code', 'refresh_token'],
    idTokenSignedResponseAlg: 'RS256',
    pkceOptional: false,
    firstParty: false,
    postLogoutRedirectUris: [],
    backchannelLogoutUri: null,
    previousSecretHash: null,
    previousSecretExpiresAt: null,
    tokenEndpointAuthMethod: 'client_secret_basic',
    jwks: null,
    jwksUri: null,
    requirePushedAuthorizationRequests: false,
    dpopBoundAccessTokens: false,
    webOrigins: [],
    registeredDynamically: false,
    registrationAccessTokenHash: null,
    createdAt: NOW - DAY,
    ...overrides,
  }
}

/** A public (native) client: no secret, PKCE required. */
export function publicClient(overrides: Partial<ClientRecord> = {}): ClientRecord {
  return confidentialClient({ clientId: 'native', name: 'Native App', secretHash: null, tokenEndpointAuthMethod: 'none', redirectUris: ['http://127.0.0.1/cb'], ...overrides })
}

export function testUser(overrides: Partial<UserRecord> = {}): UserRecord {
  return {
    id: randomUUID(),
    username: 'alice',
    passwordHash: 'not a password hash',
    name: 'Alice Example',
    email: 'alice@example.com',
    emailVerified: true,
    createdAt: NOW - DAY,
    updatedAt: NOW - DAY,
    disabledAt: null,
    ...overrides,
  }
}

/** Request parameters as the HTTP layer hands them over (form-encoded, then parsed strictly). */
export function params(values: Record<string, string> | [string, string][] = {}): Params {
  return parseParams(new URLSearchParams(values).toString())
}

export const noParams = (): Params => Params.empty()

let keyRing: Promise<KeyRing> | undefined

/** One key ring per test file (key generation is the slow part), its keys active from `NOW - DAY`. */
export function testKeys(): Promise<KeyRing> {
  keyRing ??= (async () => {
    const ring = new KeyRing(new MemoryStore(), randomBytes(32), { activationDelay: 60, maxTokenLifetime: 3600, cacheTtl: 10 })
    await ring.ensureKeys(NOW - DAY)
    return ring
  })()
  return keyRing
}

/** What the token endpoint hands a grant handler, at `now`. */
export async function tokenContext(store: MemoryStore, now = NOW, config: TokenSettings = CONFIG): Promise<TokenContext> {
  return { store, accounts: new StoreAccounts(store), minter: new TokenMinter(await testKeys(), config), config, now }
}

/** A validated authorization request of `client`, with PKCE (S256 of `VERIFIER`) and a nonce. */
export function authorizationRequest(client: ClientRecord, overrides: Partial<AuthorizationRequest> = {}): AuthorizationRequest {
  return {
    clientId: client.clientId,
    redirectUri: client.redirectUris[0] ?? REDIRECT_URI,
    redirectUriSent: true,
    scopes: ['openid', 'profile'],
    state: 'xyz',
    codeChallenge: s256(VERIFIER),
    codeChallengeMethod: 'S256',
    nonce: 'n-0S6_WzA2Mj',
    prompt: [],
    maxAge: undefined,
    loginHint: undefined,
    ...overrides,
  }
}

export interface Seeded {
  store: MemoryStore
  client: ClientRecord
  user: UserRecord
}

/** A fresh store holding `client` and a user. */
export async function seed(client: ClientRecord = confidentialClient(), user: UserRecord = testUser()): Promise<Seeded> {
  const store = new MemoryStore()
  await store.createClient(client)
  await store.createUser(user)
  return { store, client, user }
}

/** A code issued at `now` for `request`, the user signed in a minute before. */
export function issueCode(seeded: Seeded, request: AuthorizationRequest = authorizationRequest(seeded.client), now = NOW): Promise<string> {
  return issueAuthorizationCode(seeded.store, request, { userId: seeded.user.id, authTime: now - 60 }, CONFIG.lifetimes.code, now)
}

/** The token request that redeems `code` as the authorization request of `authorizationRequest` asks. */
export function codeParams(code: string, overrides: Record<string, string | undefined> = {}): Params {
  const values: Record<string, string | undefined> = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER, ...overrides }
  return params(Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined))
}

/** Tokens of a whole code exchange at `now`: what the grant handlers, introspection and the rest work on. */
export async function issueTokens(
  seeded: Seeded,
  request: AuthorizationRequest = authorizationRequest(seeded.client),
  now = NOW,
): Promise<TokenResponse & { grantId: string }> {
  const code = await issueCode(seeded, request, now)
  const grantId = (await seeded.store.getCode(hashToken(code)))?.grantId ?? ''
  const response = await authorizationCodeGrant.handle(
    seeded.client,
    codeParams(code, { redirect_uri: request.redirectUri, code_verifier: request.codeChallenge === null ? undefined : VERIFIER }),
    await tokenContext(seeded.store, now),
  )
  return { ...response, grantId }
}

/** The OAuth error a promise (or function) fails with; fails the test when it is anything else. */
export async function oauthError(attempt: Promise<unknown> | (() => unknown), code?: OAuthErrorCode): Promise<OAuthError> {
  let error: unknown
  try {
    await (typeof attempt === 'function' ? attempt() : attempt)
  } catch (caught) {
    error = caught
  }
  if (error === undefined) throw new Error('expected an OAuthError, but it succeeded')
  expect(error).toBeInstanceOf(OAuthError)
  const oauth = error as OAuthError
  if (code !== undefined) expect(oauth.error).toBe(code)
  return oauth
}
