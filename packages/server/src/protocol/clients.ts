/**
 * Client registration: what a new client record must satisfy (RFC 6749 §2, RFC 9700 §2.1, RFC
 * 8252 for native apps). The secret of a confidential client is generated here, returned once and
 * stored only as a hash.
 */
import { randomBytes } from 'node:crypto'
import { DEFAULT_ID_TOKEN_ALG, ID_TOKEN_ALGS } from '../tokens/algorithms.js'
import { hashToken, randomToken } from '../tokens/secrets.js'
import { redirectUriProblem } from './redirect-uri.js'
import { parseScope } from './scopes.js'
import { parseClientJwks } from './client-assertion.js'
import type { ClientRecord, GrantType, IdTokenAlg, TokenEndpointAuthMethod } from './store.js'

export const TOKEN_ENDPOINT_AUTH_METHODS: readonly TokenEndpointAuthMethod[] = Object.freeze([
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'none',
] as const)

/** A public client (RFC 6749 §2.1): it has no credentials, and PKCE is all that binds its code. */
export const isPublicClient = (client: Pick<ClientRecord, 'tokenEndpointAuthMethod'>): boolean => client.tokenEndpointAuthMethod === 'none'

/**
 * An app that runs entirely in the browser (IETF OAuth 2.0 for Browser-Based Apps): a public
 * client with an https redirect URI, an `http://localhost` one (a page under development) or a
 * registered web origin. A native app redirects to a loopback IP literal (RFC 8252 §7.3, §8.3 says
 * not `localhost`) or a private-use scheme, and has no page to call from.
 * Its refresh tokens get the short absolute lifetime unless DPoP-bound; the consent page says so.
 */
export const isBrowserClient = (client: Pick<ClientRecord, 'tokenEndpointAuthMethod' | 'redirectUris' | 'webOrigins'>): boolean =>
  isPublicClient(client) && (client.redirectUris.some((uri) => uri.startsWith('https://') || /^http:\/\/localhost[:/]/.test(uri)) || client.webOrigins.length > 0)

export interface ClientRegistration {
  name: string
  redirectUris: string[]
  /** Space-delimited. */
  scope: string
  isPublic: boolean
  idTokenAlg?: IdTokenAlg
  firstParty?: boolean
  pkceOptional?: boolean
  /** Where the client may send the browser after a logout; none by default. */
  postLogoutRedirectUris?: string[]
  /** Where logout tokens are POSTed (OpenID Back-Channel Logout §2.2); none by default. */
  backchannelLogoutUri?: string
  /** Fixed id (the demo client); generated when absent. */
  clientId?: string
  /** RFC 7591 §2; default `none` for a public client, `client_secret_basic` otherwise. */
  authMethod?: TokenEndpointAuthMethod
  /** `private_key_jwt`: the client's public keys, a JWK Set as JSON… */
  jwks?: string
  /** …or the https URL it is fetched from. */
  jwksUri?: string
  /** RFC 9126 §6 `require_pushed_authorization_requests`. */
  requirePar?: boolean
  /** RFC 9449 §5.2 `dpop_bound_access_tokens`. */
  requireDpop?: boolean
  /** RFC 7591 §2 `grant_types`; default both the authorization code grant and refresh tokens. */
  grantTypes?: readonly string[]
  /** Public clients: origins whose pages may call the token endpoint, besides the redirect URIs' (CORS). */
  webOrigins?: string[]
}

export interface RegisteredClient {
  record: ClientRecord
  /** Shown once, never stored; null for public clients. */
  secret: string | null
}

/** The client metadata (RFC 7591 §2 name) a registration problem is about. */
export type ClientField =
  | 'client_id'
  | 'client_name'
  | 'redirect_uris'
  | 'post_logout_redirect_uris'
  | 'backchannel_logout_uri'
  | 'scope'
  | 'id_token_signed_response_alg'
  | 'pkce_optional'
  | 'token_endpoint_auth_method'
  | 'jwks'
  | 'jwks_uri'
  | 'grant_types'
  | 'web_origins'

/** A registration the server refuses; the message is for the administrator, `field` names the metadata at fault. */
export class RegistrationError extends Error {
  override readonly name = 'RegistrationError'
  constructor(
    readonly field: ClientField,
    message: string,
  ) {
    super(message)
  }
}

// Control characters (a terminal escape in `client list`, a line break in a log) and the
// bidirectional overrides and isolates that make a name read as another on the consent page.
// eslint-disable-next-line no-control-regex
const UNSHOWABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/

/** The client's name as shown to users, trimmed: 1 to 100 characters, none of them control or bidirectional-override characters. */
export function checkClientName(name: string): string {
  const trimmed = name.trim()
  if (trimmed === '' || trimmed.length > 100) throw new RegistrationError('client_name', 'name: 1 to 100 characters')
  if (UNSHOWABLE.test(trimmed)) throw new RegistrationError('client_name', 'name: no control or bidirectional-override characters')
  return trimmed
}

/** Redirect URIs as registered (RFC 9700 §2.1): each one allowed, at least one; duplicates dropped. */
export function checkRedirectUris(uris: readonly string[], isPublic: boolean): string[] {
  if (uris.length === 0) throw new RegistrationError('redirect_uris', 'at least one redirect URI is required')
  for (const uri of uris) {
    const problem = redirectUriProblem(uri, isPublic)
    if (problem !== undefined) throw new RegistrationError('redirect_uris', `redirect URI ${uri} ${problem}`)
  }
  return [...new Set(uris)]
}

/** Post-logout redirect URIs, by the rules of redirect URIs (they are matched exactly too); the list may be empty. */
export function checkPostLogoutRedirectUris(uris: readonly string[], isPublic: boolean): string[] {
  for (const uri of uris) {
    const problem = redirectUriProblem(uri, isPublic)
    if (problem !== undefined) throw new RegistrationError('post_logout_redirect_uris', `post-logout redirect URI ${uri} ${problem}`)
  }
  return [...new Set(uris)]
}

/**
 * OpenID Back-Channel Logout §2.2: an absolute URI without a fragment, by the rules of a
 * confidential client's redirect URIs: https, or http on a loopback host only (the server POSTs
 * logout tokens there, so nothing else in clear).
 */
export function checkBackchannelLogoutUri(uri: string): string {
  const problem = redirectUriProblem(uri, false)
  if (problem !== undefined) throw new RegistrationError('backchannel_logout_uri', `back-channel logout URI ${uri} ${problem}`)
  return uri
}

/**
 * A public client's web origins (IETF OAuth 2.0 for Browser-Based Apps §6.1): each a serialized
 * origin as a browser sends it in `Origin` (RFC 6454 §6.2: scheme, host, port when not the
 * default; no path, query or fragment), https, or http on this machine as for redirect URIs.
 * A confidential client has none: its secret must never be in a browser, so it gets no CORS.
 */
export function checkWebOrigins(origins: readonly string[], isPublic: boolean): string[] {
  if (origins.length === 0) return []
  if (!isPublic) throw new RegistrationError('web_origins', 'web origins are for public clients only: a confidential client\'s secret must not be in a browser, so it gets no CORS')
  for (const origin of origins) {
    const problem = webOriginProblem(origin)
    if (problem !== undefined) throw new RegistrationError('web_origins', `web origin ${origin} ${problem}`)
  }
  return [...new Set(origins)]
}

function webOriginProblem(origin: string): string | undefined {
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    return 'is not an origin (scheme://host[:port])'
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must use https (http only on localhost or a loopback IP)'
  if (url.origin !== origin) return `is not a serialized origin: no path, query, fragment, trailing slash or default port, in lower case (${url.origin})`
  // The scheme, loopback and character rules of redirect URIs (http only on this machine).
  return redirectUriProblem(`${origin}/`, false)
}

/**
 * A new `client_id`: 128 random bits, base64url, never starting with `-`: the operator types it as
 * an argument (`authcode client update <id>`), where a leading `-` would read as an option.
 */
export function newClientId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

/** The scopes a client may request: well-formed, each offered by this server. */
export function checkClientScope(scope: string, offeredScopes: readonly string[]): string[] {
  let scopes: string[]
  try {
    scopes = parseScope(scope)
  } catch {
    throw new RegistrationError('scope', `scope: not a list of scope tokens: ${scope}`)
  }
  const unknown = scopes.filter((s) => !offeredScopes.includes(s))
  if (unknown.length > 0) throw new RegistrationError('scope', `scope: not offered by this server: ${unknown.join(' ')} (add them to "scopes" in the config)`)
  return scopes
}

export function registerClient(input: ClientRegistration, offeredScopes: readonly string[], now: number): RegisteredClient {
  const name = checkClientName(input.name)
  const redirectUris = checkRedirectUris(input.redirectUris, input.isPublic)
  const scopes = checkClientScope(input.scope, offeredScopes)
  const alg = input.idTokenAlg ?? DEFAULT_ID_TOKEN_ALG
  if (!ID_TOKEN_ALGS.includes(alg)) throw new RegistrationError('id_token_signed_response_alg', `id token algorithm must be one of ${ID_TOKEN_ALGS.join(', ')}`)
  if (input.isPublic && input.pkceOptional === true) throw new RegistrationError('pkce_optional', 'public clients must use PKCE')
  if (input.clientId !== undefined && !/^[\w.-]{1,64}$/.test(input.clientId)) throw new RegistrationError('client_id', 'client id: 1 to 64 of A-Z a-z 0-9 _ . -')
  const postLogoutRedirectUris = checkPostLogoutRedirectUris(input.postLogoutRedirectUris ?? [], input.isPublic)
  const backchannelLogoutUri = input.backchannelLogoutUri === undefined ? null : checkBackchannelLogoutUri(input.backchannelLogoutUri)
  const authMethod = input.authMethod ?? (input.isPublic ? 'none' : 'client_secret_basic')
  if (!TOKEN_ENDPOINT_AUTH_METHODS.includes(authMethod)) {
    throw new RegistrationError('token_endpoint_auth_method', `auth method must be one of ${TOKEN_ENDPOINT_AUTH_METHODS.join(', ')}`)
  }
  if (input.isPublic !== (authMethod === 'none')) {
    throw new RegistrationError('token_endpoint_auth_method', `a public client authenticates with none, a confidential one with ${TOKEN_ENDPOINT_AUTH_METHODS.slice(0, 3).join(', ')}`)
  }
  const keys = checkClientKeys(authMethod, input.jwks, input.jwksUri)
  const webOrigins = checkWebOrigins(input.webOrigins ?? [], input.isPublic)

  const secret = input.isPublic || authMethod === 'private_key_jwt' ? null : randomToken()
  const grantTypes = checkGrantTypes(input.grantTypes ?? ['authorization_code', 'refresh_token'])
  return {
    secret,
    record: {
      clientId: input.clientId ?? newClientId(),
      name,
      secretHash: secret === null ? null : hashToken(secret),
      redirectUris,
      scopes,
      grantTypes,
      idTokenSignedResponseAlg: alg,
      pkceOptional: input.pkceOptional ?? false,
      firstParty: input.firstParty ?? false,
      postLogoutRedirectUris,
      backchannelLogoutUri,
      previousSecretHash: null,
      previousSecretExpiresAt: null,
      tokenEndpointAuthMethod: authMethod,
      jwks: keys.jwks,
      jwksUri: keys.jwksUri,
      requirePushedAuthorizationRequests: input.requirePar ?? false,
      dpopBoundAccessTokens: input.requireDpop ?? false,
      webOrigins,
      registeredDynamically: false,
      registrationAccessTokenHash: null,
      createdAt: now,
    },
  }
}

/** The grants a client may use: the authorization code grant (the one response type, `code`), and refresh tokens or not (RFC 7591 §2.1). */
export function checkGrantTypes(grantTypes: readonly string[]): GrantType[] {
  const unknown = grantTypes.filter((type) => type !== 'authorization_code' && type !== 'refresh_token')
  if (unknown.length > 0) throw new RegistrationError('grant_types', `grant_types: not offered by this server: ${unknown.join(' ')} (authorization_code and refresh_token are)`)
  if (!grantTypes.includes('authorization_code')) throw new RegistrationError('grant_types', 'grant_types: must include authorization_code, the grant of the code response type')
  return [...new Set(grantTypes as GrantType[])]
}

/** `private_key_jwt` needs exactly one of a JWK Set or its https URL; other methods neither (RFC 7591 §2). */
export function checkClientKeys(method: TokenEndpointAuthMethod, jwks: string | undefined, jwksUri: string | undefined): { jwks: string | null; jwksUri: string | null } {
  if (method !== 'private_key_jwt') {
    if (jwks !== undefined || jwksUri !== undefined) throw new RegistrationError(jwks !== undefined ? 'jwks' : 'jwks_uri', 'jwks and jwks_uri are for private_key_jwt clients only')
    return { jwks: null, jwksUri: null }
  }
  if ((jwks === undefined) === (jwksUri === undefined)) throw new RegistrationError('jwks', 'private_key_jwt needs the public keys: jwks or jwks_uri, one of them')
  if (jwks !== undefined) {
    try {
      parseClientJwks(jwks)
    } catch (error) {
      throw new RegistrationError('jwks', `jwks: ${(error as Error).message}`)
    }
    return { jwks, jwksUri: null }
  }
  // Fetched by the server: the rules of a confidential client's redirect URIs (https, or http on loopback).
  const problem = redirectUriProblem(jwksUri ?? '', false)
  if (problem !== undefined) throw new RegistrationError('jwks_uri', `jwks_uri ${jwksUri} ${problem}`)
  return { jwks: null, jwksUri: jwksUri ?? null }
}
