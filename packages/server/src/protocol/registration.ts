/**
 * Dynamic client registration (RFC 7591) and its management protocol (RFC 7592): a client
 * registers itself at the registration endpoint, then reads, replaces and deletes its registration
 * with the registration access token it was given once.
 *
 * The metadata is held to the rules of every registration (`protocol/clients.ts`, the ones of
 * `authcode client add`); what only an operator may decide is refused (first-party, PKCE off,
 * URLs the server would call: `jwks_uri`, `backchannel_logout_uri`). A dynamically registered
 * client is marked so: the consent page says nobody vouched for it. Its secret and its registration
 * access token are stored as hashes and shown once.
 */
import { hashToken, randomToken, safeEqual } from '../tokens/secrets.js'
import { newClientId, registerClient, RegistrationError, type ClientRegistration } from './clients.js'
import {
  invalidClientMetadata,
  invalidRedirectUri,
  invalidToken,
  OAuthError,
} from './errors.js'
import type { EventSink } from './events.js'
import {
  DuplicateError,
  type ClientChanges,
  type ClientRecord,
  type ClientStore,
  type GrantType,
  type IdTokenAlg,
  type RegistrationTokenRecord,
  type RegistrationTokenStore,
  type TokenEndpointAuthMethod,
} from './store.js'

/** Who may register a client: nobody (no endpoint), holders of an initial access token, anyone. */
export type RegistrationMode = 'off' | 'token' | 'open'

export const REGISTRATION_MODES: readonly RegistrationMode[] = Object.freeze(['off', 'token', 'open'] as const)

/** A registration request's body, at most (larger ones are 413, as at the token endpoint). */
export const REGISTRATION_BODY_LIMIT = 16 * 1024
/** Redirect URIs (and post-logout redirect URIs) one client may register. */
export const MAX_REDIRECT_URIS = 10
/** The longest URI a client may register. */
export const MAX_URI_LENGTH = 2000

/** The authentication methods a client may register itself with: the secret ones, or none (a public client). */
export const REGISTRABLE_AUTH_METHODS: readonly TokenEndpointAuthMethod[] = Object.freeze(['client_secret_basic', 'client_secret_post', 'none'] as const)

/** The scopes a client is registered for when it names none (RFC 7591 §2 lets the server choose): those of these the server offers. */
export const DEFAULT_REGISTERED_SCOPES: readonly string[] = Object.freeze(['openid', 'profile', 'email'])

/** What registration reads of the configuration (`ServerConfig` has it). */
export interface RegistrationSettings {
  readonly issuer: string
  readonly endpoints: { readonly registration: string }
  readonly scopes: Readonly<Record<string, string>>
  /** SECURITY.md 31: at most this many clients that registered themselves, however many addresses ask. */
  readonly registration: { readonly maxClients: number }
}

export interface RegistrationDeps {
  store: ClientStore
  config: RegistrationSettings
  /** Seconds since the epoch. */
  now: number
  events: EventSink
}

/**
 * RFC 7591 §3.2.1 and RFC 7592 §3: the client information response. The secret and the
 * registration access token are there only in the answer that made them.
 */
export interface ClientInformation {
  client_id: string
  client_id_issued_at: number
  client_secret?: string
  /** 0: the secret does not expire; present for every client with a secret. */
  client_secret_expires_at?: 0
  registration_access_token?: string
  registration_client_uri: string
  client_name: string
  redirect_uris: string[]
  grant_types: GrantType[]
  response_types: ['code']
  token_endpoint_auth_method: TokenEndpointAuthMethod
  scope: string
  post_logout_redirect_uris: string[]
  id_token_signed_response_alg: IdTokenAlg
  require_pushed_authorization_requests: boolean
  dpop_bound_access_tokens: boolean
  /** authcode's own metadata: the origins a public client's pages call /token, /revoke and /par from (CORS). */
  web_origins: string[]
}

/** The client metadata of a request, read and given its defaults (RFC 7591 §2), not yet held to the registration rules. */
interface RequestedMetadata {
  redirectUris: string[]
  name: string | undefined
  authMethod: TokenEndpointAuthMethod
  grantTypes: string[]
  scope: string | undefined
  postLogoutRedirectUris: string[]
  idTokenAlg: IdTokenAlg | undefined
  requirePar: boolean
  requireDpop: boolean
  /** Public clients only; the rules are those of every registration (`checkWebOrigins`). */
  webOrigins: string[]
  /** RFC 7592 §2.2: an update names the client, and may repeat its secret. */
  clientId: string | undefined
  clientSecret: string | undefined
}

// RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
const OUTSIDE_DESCRIPTION = /[^\x20-\x21\x23-\x5B\x5D-\x7E]/g

/** A message safe to send as `error_description`: what the client sent may hold any character. */
function description(message: string): string {
  const safe = message.replace(OUTSIDE_DESCRIPTION, '?')
  return safe.length > 300 ? `${safe.slice(0, 297)}...` : safe
}

const metadataError = (message: string) => invalidClientMetadata(description(message))
const redirectUriError = (message: string) => invalidRedirectUri(description(message))

/** The request's JSON value as an object of metadata, or `invalid_client_metadata`. */
function metadataObject(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw metadataError('the body must be a JSON object of client metadata (RFC 7591 §3.1)')
  return body as Record<string, unknown>
}

/** A member of the metadata; null counts as absent (RFC 7592 §2.2: omitted or null, the default). */
function member(metadata: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(metadata, name) ? (metadata[name] ?? undefined) : undefined
}

function optionalString(metadata: Record<string, unknown>, name: string): string | undefined {
  const value = member(metadata, name)
  if (value !== undefined && typeof value !== 'string') throw metadataError(`${name}: a string`)
  return value
}

function optionalBoolean(metadata: Record<string, unknown>, name: string): boolean {
  const value = member(metadata, name)
  if (value !== undefined && typeof value !== 'boolean') throw metadataError(`${name}: true or false`)
  return value ?? false
}

function stringList(metadata: Record<string, unknown>, name: string, fail: (message: string) => OAuthError): string[] | undefined {
  const value = member(metadata, name)
  if (value === undefined) return undefined
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw fail(`${name}: a list of strings`)
  return value as string[]
}

/**
 * Redirect URIs (or web origins) as a client may send them: a bounded list of bounded strings; the
 * rules come after.
 */
function uriList(metadata: Record<string, unknown>, name: 'redirect_uris' | 'post_logout_redirect_uris' | 'web_origins'): string[] | undefined {
  const fail = name === 'web_origins' ? metadataError : redirectUriError
  const uris = stringList(metadata, name, fail)
  if (uris === undefined) return undefined
  if (uris.length > MAX_REDIRECT_URIS) throw fail(`${name}: at most ${MAX_REDIRECT_URIS}`)
  if (uris.some((uri) => uri.length > MAX_URI_LENGTH)) throw fail(`${name}: each at most ${MAX_URI_LENGTH} characters`)
  return uris
}

/**
 * RFC 7591 §2.3, §3.2.2: a software statement is a JWT signed by someone this server would have to
 * trust; it trusts nobody's, so every statement is refused: a malformed one as invalid.
 */
function refuseSoftwareStatement(metadata: Record<string, unknown>): void {
  const statement = member(metadata, 'software_statement')
  if (statement === undefined) return
  if (typeof statement !== 'string' || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(statement)) {
    throw new OAuthError('invalid_software_statement', 'software_statement: not a JWT')
  }
  throw new OAuthError('unapproved_software_statement', 'software_statement: this server approves no software statements')
}

/** What only the operator decides (`authcode client add`): a client cannot grant it to itself. */
function refuseOperatorMetadata(metadata: Record<string, unknown>): void {
  for (const name of ['first_party', 'pkce_optional'] as const) {
    const value = member(metadata, name)
    if (value !== undefined && value !== false) throw metadataError(`${name}: only the operator registers such clients (authcode client add)`)
  }
  // URLs the server itself would fetch or POST to: a registration open to anyone must not aim the server at them.
  for (const name of ['jwks_uri', 'jwks', 'backchannel_logout_uri'] as const) {
    if (member(metadata, name) !== undefined) throw metadataError(`${name}: not offered at dynamic registration; the operator registers such clients (authcode client add)`)
  }
}

/** RFC 7591 §2: the metadata of a registration or an update request, with the defaults of §2. */
function readMetadata(body: unknown): RequestedMetadata {
  const metadata = metadataObject(body)
  refuseSoftwareStatement(metadata)
  refuseOperatorMetadata(metadata)

  const redirectUris = uriList(metadata, 'redirect_uris')
  if (redirectUris === undefined || redirectUris.length === 0) throw redirectUriError('redirect_uris: at least one redirect URI is required')

  const authMethod = optionalString(metadata, 'token_endpoint_auth_method') ?? 'client_secret_basic'
  if (!(REGISTRABLE_AUTH_METHODS as readonly string[]).includes(authMethod)) {
    throw metadataError(`token_endpoint_auth_method: one of ${REGISTRABLE_AUTH_METHODS.join(', ')} (private_key_jwt clients are registered by the operator)`)
  }

  // §2.1: the code response type and the grants that go with it; nothing else is offered here.
  const responseTypes = stringList(metadata, 'response_types', metadataError) ?? ['code']
  if (responseTypes.length === 0 || responseTypes.some((type) => type !== 'code')) throw metadataError('response_types: only code is offered')
  const grantTypes = stringList(metadata, 'grant_types', metadataError) ?? ['authorization_code']

  const alg = optionalString(metadata, 'id_token_signed_response_alg')
  return {
    redirectUris,
    name: optionalString(metadata, 'client_name'),
    authMethod: authMethod as TokenEndpointAuthMethod,
    grantTypes,
    scope: optionalString(metadata, 'scope'),
    postLogoutRedirectUris: uriList(metadata, 'post_logout_redirect_uris') ?? [],
    // Checked against the server's algorithms by registerClient.
    idTokenAlg: alg as IdTokenAlg | undefined,
    requirePar: optionalBoolean(metadata, 'require_pushed_authorization_requests'),
    requireDpop: optionalBoolean(metadata, 'dpop_bound_access_tokens'),
    webOrigins: uriList(metadata, 'web_origins') ?? [],
    clientId: optionalString(metadata, 'client_id'),
    clientSecret: optionalString(metadata, 'client_secret'),
  }
}

/** The registration rules of `protocol/clients.ts`, their refusal as the RFC 7591 §3.2.2 error. */
function checkedRegistration(requested: RequestedMetadata, clientId: string, offeredScopes: readonly string[], now: number) {
  const registration: ClientRegistration = {
    clientId,
    // RFC 7591 §2: without a name, the client is shown by its id.
    name: requested.name ?? clientId,
    redirectUris: requested.redirectUris,
    scope: requested.scope ?? DEFAULT_REGISTERED_SCOPES.filter((scope) => offeredScopes.includes(scope)).join(' '),
    isPublic: requested.authMethod === 'none',
    authMethod: requested.authMethod,
    grantTypes: requested.grantTypes,
    postLogoutRedirectUris: requested.postLogoutRedirectUris,
    ...(requested.idTokenAlg === undefined ? {} : { idTokenAlg: requested.idTokenAlg }),
    requirePar: requested.requirePar,
    requireDpop: requested.requireDpop,
    webOrigins: requested.webOrigins,
    firstParty: false,
    pkceOptional: false,
  }
  try {
    return registerClient(registration, offeredScopes, now)
  } catch (error) {
    if (!(error instanceof RegistrationError)) throw error
    if (error.field === 'redirect_uris' || error.field === 'post_logout_redirect_uris') throw redirectUriError(error.message)
    throw metadataError(error.message)
  }
}

/**
 * Where the browser goes back to after the consent of a client nobody vouched for, as the page
 * names it (OAuth 2.1 §7.9, consent phishing): the redirect URI's host (with its port), or its
 * scheme for an app on the device (a private-use scheme, RFC 8252 §7.1).
 */
export function returnsTo(redirectUri: string): string {
  try {
    const url = new URL(redirectUri)
    return url.host === '' ? url.protocol.slice(0, -1) : url.host
  } catch {
    return redirectUri
  }
}

/** The URL of a client's registration (RFC 7592 §1): the registration endpoint, then its id. */
export function registrationClientUri(config: RegistrationSettings, clientId: string): string {
  return `${config.issuer}${config.endpoints.registration}/${encodeURIComponent(clientId)}`
}

/** RFC 7591 §3.2.1 / RFC 7592 §3: the client's registered metadata, with what was made for it in this answer. */
export function clientInformation(
  client: ClientRecord,
  config: RegistrationSettings,
  made: { secret?: string | null; registrationAccessToken?: string } = {},
): ClientInformation {
  return {
    client_id: client.clientId,
    client_id_issued_at: client.createdAt,
    ...(made.secret === undefined || made.secret === null ? {} : { client_secret: made.secret }),
    ...(client.secretHash === null ? {} : { client_secret_expires_at: 0 as const }),
    ...(made.registrationAccessToken === undefined ? {} : { registration_access_token: made.registrationAccessToken }),
    registration_client_uri: registrationClientUri(config, client.clientId),
    client_name: client.name,
    redirect_uris: client.redirectUris,
    grant_types: client.grantTypes,
    response_types: ['code'],
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    scope: client.scopes.join(' '),
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    id_token_signed_response_alg: client.idTokenSignedResponseAlg,
    require_pushed_authorization_requests: client.requirePushedAuthorizationRequests,
    dpop_bound_access_tokens: client.dpopBoundAccessTokens,
    web_origins: client.webOrigins,
  }
}

/**
 * RFC 7591 §3.1–3.2: registers the client the metadata describes, or refuses it with
 * `invalid_redirect_uri`, `invalid_client_metadata` or a software statement error (400). The
 * answer holds the secret (a confidential client) and the registration access token, once.
 * @param initialToken the initial access token the request was allowed by (`token` mode), for the audit event
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-3
 */
export async function registerDynamicClient(body: unknown, deps: RegistrationDeps, initialToken?: RegistrationTokenRecord): Promise<ClientInformation> {
  const requested = readMetadata(body)
  // OT-04: the server names the client; a chosen id could collide with another (or a user's sub).
  if (requested.clientId !== undefined) throw metadataError('client_id: assigned by the server')
  if (requested.clientSecret !== undefined) throw metadataError('client_secret: assigned by the server')
  const { record, secret } = checkedRegistration(requested, newClientId(), Object.keys(deps.config.scopes), deps.now)
  // Counted, then inserted: concurrent registrations may pass the bound by a few, never by many.
  if ((await deps.store.countDynamicallyRegisteredClients()) >= deps.config.registration.maxClients) {
    throw new OAuthError('temporarily_unavailable', 'this server registers no more clients (registration.maxClients); ask its operator', { status: 503 })
  }
  const registrationAccessToken = randomToken()
  const client: ClientRecord = { ...record, registeredDynamically: true, registrationAccessTokenHash: hashToken(registrationAccessToken) }
  try {
    await deps.store.createClient(client)
  } catch (error) {
    // 128 random bits: a collision means something else is wrong; answered as the server's fault.
    if (error instanceof DuplicateError) throw new Error('a generated client id exists already', { cause: error })
    throw error
  }
  deps.events.emit({ type: 'client.registered', clientId: client.clientId, userId: null, registrationTokenId: initialToken?.id ?? null })
  return clientInformation(client, deps.config, { secret, registrationAccessToken })
}

/** The token of an `Authorization: Bearer` header (RFC 6750 §2.1), or undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(authorization ?? '')
  return match?.[1]
}

/**
 * RFC 7591 §3 (`registration.mode` `token`): the initial access token the request carries as a
 * Bearer token, known, not revoked, not expired; its use is recorded. Otherwise 401 `invalid_token`.
 */
export async function checkInitialAccessToken(store: RegistrationTokenStore, authorization: string | undefined, now: number): Promise<RegistrationTokenRecord> {
  const presented = bearerToken(authorization)
  if (presented === undefined) throw invalidToken('registration needs an initial access token (Authorization: Bearer)')
  const token = presented.length > 256 ? undefined : await store.getRegistrationTokenByHash(hashToken(presented))
  if (token === undefined || token.revokedAt !== null || (token.expiresAt !== null && token.expiresAt <= now)) {
    throw invalidToken('the initial access token is not valid')
  }
  await store.markRegistrationTokenUsed(token.id, now)
  return token
}

/**
 * RFC 7592 §2: the client whose registration the request manages, if it carries that client's
 * registration access token; otherwise 401 `invalid_token`, the same whether the client exists or
 * not (§2.1), and for a client the operator registered (it has no such token).
 */
export async function authenticateRegistration(store: ClientStore, clientId: string, authorization: string | undefined): Promise<ClientRecord> {
  const presented = bearerToken(authorization)
  if (presented === undefined) throw invalidToken('the registration access token is required (Authorization: Bearer)')
  const client = await store.getClient(clientId)
  const expected = client?.registrationAccessTokenHash ?? null
  if (client === undefined || expected === null || !safeEqual(hashToken(presented), expected)) throw invalidToken('the registration access token is not valid for this client')
  return client
}

/** RFC 7592 §2.1: the client's registration as it is now. */
export function readRegistration(client: ClientRecord, config: RegistrationSettings): ClientInformation {
  return clientInformation(client, config)
}

/**
 * RFC 7592 §2.2: replaces the client's metadata with the request's, held to the rules of a
 * registration (an omitted field takes its default). The request names the client; a secret it
 * repeats must be the client's own, and a client stays public or confidential as it registered.
 * @see https://www.rfc-editor.org/rfc/rfc7592#section-2.2
 */
export async function updateRegistration(client: ClientRecord, body: unknown, deps: RegistrationDeps): Promise<ClientInformation> {
  const requested = readMetadata(body)
  if (requested.clientId !== client.clientId) throw metadataError('client_id: must be the client\'s own')
  if (requested.clientSecret !== undefined && (client.secretHash === null || !safeEqual(hashToken(requested.clientSecret), client.secretHash))) {
    throw metadataError('client_secret: not the client\'s secret (a client cannot choose its secret)')
  }
  const isPublic = client.tokenEndpointAuthMethod === 'none'
  if ((requested.authMethod === 'none') !== isPublic) {
    throw metadataError(`token_endpoint_auth_method: a ${isPublic ? 'public' : 'confidential'} client stays so; register a new client instead`)
  }
  const { record } = checkedRegistration(requested, client.clientId, Object.keys(deps.config.scopes), deps.now)
  const changes: ClientChanges = {
    name: record.name,
    redirectUris: record.redirectUris,
    scopes: record.scopes,
    postLogoutRedirectUris: record.postLogoutRedirectUris,
    grantTypes: record.grantTypes,
    idTokenSignedResponseAlg: record.idTokenSignedResponseAlg,
    tokenEndpointAuthMethod: record.tokenEndpointAuthMethod,
    requirePushedAuthorizationRequests: record.requirePushedAuthorizationRequests,
    dpopBoundAccessTokens: record.dpopBoundAccessTokens,
    webOrigins: record.webOrigins,
  }
  const updated = await deps.store.updateClient(client.clientId, changes)
  // Deleted meanwhile: its token no longer names a client (§2.1).
  if (updated === undefined) throw invalidToken('the registration access token is not valid for this client')
  deps.events.emit({ type: 'client.registration_updated', clientId: client.clientId, userId: null })
  return clientInformation(updated, deps.config)
}

/**
 * RFC 7592 §2.3: removes the client and everything issued to it (its codes, grants and tokens
 * stop working with it), and so its registration access token.
 */
export async function deleteRegistration(client: ClientRecord, deps: Omit<RegistrationDeps, 'config'>): Promise<void> {
  if (!(await deps.store.deleteClient(client.clientId))) throw invalidToken('the registration access token is not valid for this client')
  deps.events.emit({ type: 'client.registration_deleted', clientId: client.clientId, userId: null })
}
