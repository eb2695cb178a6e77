/**
 * Clients over their whole life (issue #20): list, show, register, update, rotate the secret,
 * remove. Names and shapes are RFC 7591's client metadata; the registration rules are the ones of
 * `protocol/clients.ts`, for a new client and for every change alike.
 */
import type { AdminEvent } from '../protocol/events.js'
import {
  checkBackchannelLogoutUri,
  checkClientName,
  checkClientScope,
  checkPostLogoutRedirectUris,
  checkRedirectUris,
  checkWebOrigins,
  isPublicClient,
  registerClient,
  RegistrationError,
  TOKEN_ENDPOINT_AUTH_METHODS,
} from '../protocol/clients.js'
import { DuplicateError, type ClientChanges, type ClientRecord, type GrantType, type IdTokenAlg, type TokenEndpointAuthMethod } from '../protocol/store.js'
import { ID_TOKEN_ALGS } from '../tokens/algorithms.js'
import { hashToken, randomToken } from '../tokens/secrets.js'
import type { AdminContext } from './context.js'
import { conflict, invalidField, notFound } from './errors.js'

/** RFC 7591 §2 `token_endpoint_auth_method` values a client can be registered with here. */
export type TokenEndpointAuthMethodJson = TokenEndpointAuthMethod

/** A client as the CLI's `--json` and the admin API show it: RFC 7591 §2 metadata, plus this server's own switches. */
export interface ClientJson {
  client_id: string
  client_name: string
  redirect_uris: string[]
  /** Space-separated, as RFC 7591 has it. */
  scope: string
  /** `none` for a public client; a confidential client may use either secret method. */
  token_endpoint_auth_method: TokenEndpointAuthMethodJson
  grant_types: GrantType[]
  response_types: ['code']
  post_logout_redirect_uris: string[]
  /** OpenID Back-Channel Logout §2.2: where logout tokens are POSTed; absent when none. */
  backchannel_logout_uri?: string
  id_token_signed_response_alg: IdTokenAlg
  /** Consent may be skipped (config `consent.skipForFirstParty`). */
  first_party: boolean
  /** A confidential client allowed to omit PKCE. */
  pkce_optional: boolean
  /** `private_key_jwt` (RFC 7591 §2): the client's public keys, inline or where they are fetched. */
  jwks?: { keys: object[] }
  jwks_uri?: string
  /** RFC 9126 §6. */
  require_pushed_authorization_requests: boolean
  /** RFC 9449 §5.2. */
  dpop_bound_access_tokens: boolean
  /** A public client's origins whose pages may call /token, /revoke and /par (CORS), besides its redirect URIs' origins. */
  web_origins: string[]
  /** RFC 7591: the client registered itself at the registration endpoint; the operator did not vouch for it. */
  registered_dynamically: boolean
  created_at: number
}

/** Only when a secret was just made (registration, rotation): shown once, stored as a hash. */
export interface ClientWithSecret extends ClientJson {
  client_secret?: string
  /** RFC 7591 §3.2.1: 0, the secret does not expire. */
  client_secret_expires_at?: 0
  /** After a rotation with a grace period: until when the replaced secret still works. */
  previous_secret_expires_at?: number
}

export function clientJson(client: ClientRecord): ClientJson {
  return {
    client_id: client.clientId,
    client_name: client.name,
    redirect_uris: client.redirectUris,
    scope: client.scopes.join(' '),
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    grant_types: client.grantTypes,
    response_types: ['code'],
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    ...(client.backchannelLogoutUri === null ? {} : { backchannel_logout_uri: client.backchannelLogoutUri }),
    id_token_signed_response_alg: client.idTokenSignedResponseAlg,
    first_party: client.firstParty,
    pkce_optional: client.pkceOptional,
    ...(client.jwks === null ? {} : { jwks: JSON.parse(client.jwks) as { keys: object[] } }),
    ...(client.jwksUri === null ? {} : { jwks_uri: client.jwksUri }),
    require_pushed_authorization_requests: client.requirePushedAuthorizationRequests,
    dpop_bound_access_tokens: client.dpopBoundAccessTokens,
    web_origins: client.webOrigins,
    registered_dynamically: client.registeredDynamically,
    created_at: client.createdAt,
  }
}

/** A registration (the admin API's POST, `authcode client add`), by RFC 7591 names. */
export interface NewClient {
  client_name: string
  redirect_uris: string[]
  /** Space-separated; default `openid profile email`. */
  scope?: string
  /** Default `client_secret_basic`; `none` registers a public client. */
  token_endpoint_auth_method?: TokenEndpointAuthMethodJson
  post_logout_redirect_uris?: string[]
  /** https, or http on a loopback host only. */
  backchannel_logout_uri?: string
  id_token_signed_response_alg?: IdTokenAlg
  first_party?: boolean
  pkce_optional?: boolean
  /** `private_key_jwt`: a JWK Set of public keys (RFC 7517 §5)… */
  jwks?: unknown
  /** …or the https URL it is fetched from. */
  jwks_uri?: string
  require_pushed_authorization_requests?: boolean
  dpop_bound_access_tokens?: boolean
  /** Public clients only: serialized origins (`https://app.example`) allowed CORS, besides the redirect URIs' origins. */
  web_origins?: string[]
}

/** What `updateClient` may change; an absent field stays as it is. */
export interface ClientUpdate {
  client_name?: string
  /** Replaces the whole list; codes and sign-ins in progress for a removed URI end. */
  redirect_uris?: string[]
  scope?: string
  post_logout_redirect_uris?: string[]
  /** Null removes it. */
  backchannel_logout_uri?: string | null
  /** Replaces the list; public clients only. */
  web_origins?: string[]
}

const AUTH_METHODS: readonly TokenEndpointAuthMethodJson[] = TOKEN_ENDPOINT_AUTH_METHODS
/** The longest grace period of a rotated secret: 30 days. */
const GRACE_MAX = 30 * 86_400

function emit(ctx: AdminContext, type: Extract<AdminEvent, { clientId: string; userId: null }>['type'], clientId: string): void {
  ctx.events.emit({ type, actor: ctx.actor, clientId, userId: null })
}

/** The client named, or `not_found`. */
export async function findClient(ctx: AdminContext, clientId: string): Promise<ClientRecord> {
  const client = typeof clientId === 'string' ? await ctx.store.getClient(clientId) : undefined
  if (client === undefined) throw notFound('client', `with id ${String(clientId)}`)
  return client
}

export async function listClients(ctx: AdminContext): Promise<ClientJson[]> {
  return (await ctx.store.listClients()).map(clientJson)
}

export async function showClient(ctx: AdminContext, clientId: string): Promise<ClientJson> {
  return clientJson(await findClient(ctx, clientId))
}

/** Registers a client; a confidential one's secret is in the result, once. */
export async function createClient(ctx: AdminContext, input: NewClient): Promise<ClientWithSecret> {
  const method = input.token_endpoint_auth_method ?? 'client_secret_basic'
  if (!AUTH_METHODS.includes(method)) throw invalidField('token_endpoint_auth_method', `token_endpoint_auth_method: one of ${AUTH_METHODS.join(', ')}`)
  const alg = input.id_token_signed_response_alg
  if (alg !== undefined && !ID_TOKEN_ALGS.includes(alg)) throw invalidField('id_token_signed_response_alg', `id_token_signed_response_alg: one of ${ID_TOKEN_ALGS.join(', ')}`)
  const registered = registration(() =>
    registerClient(
      {
        name: checkString('client_name', input.client_name),
        redirectUris: checkList('redirect_uris', input.redirect_uris),
        scope: input.scope === undefined ? 'openid profile email' : checkString('scope', input.scope),
        isPublic: method === 'none',
        authMethod: method,
        ...(input.jwks === undefined ? {} : { jwks: JSON.stringify(input.jwks) }),
        ...(input.jwks_uri === undefined ? {} : { jwksUri: checkString('jwks_uri', input.jwks_uri) }),
        requirePar: input.require_pushed_authorization_requests === undefined ? false : checkBoolean('require_pushed_authorization_requests', input.require_pushed_authorization_requests),
        requireDpop: input.dpop_bound_access_tokens === undefined ? false : checkBoolean('dpop_bound_access_tokens', input.dpop_bound_access_tokens),
        idTokenAlg: alg,
        firstParty: input.first_party === undefined ? false : checkBoolean('first_party', input.first_party),
        pkceOptional: input.pkce_optional === undefined ? false : checkBoolean('pkce_optional', input.pkce_optional),
        postLogoutRedirectUris: input.post_logout_redirect_uris === undefined ? [] : checkList('post_logout_redirect_uris', input.post_logout_redirect_uris),
        ...(input.backchannel_logout_uri === undefined ? {} : { backchannelLogoutUri: checkString('backchannel_logout_uri', input.backchannel_logout_uri) }),
        ...(input.web_origins === undefined ? {} : { webOrigins: checkList('web_origins', input.web_origins) }),
      },
      Object.keys(ctx.config.scopes),
      ctx.now(),
    ),
  )
  try {
    await ctx.store.createClient(registered.record)
  } catch (error) {
    if (error instanceof DuplicateError) throw conflict(`a client with id ${registered.record.clientId} exists already`, 'client_id')
    throw error
  }
  emit(ctx, 'admin.client_created', registered.record.clientId)
  const json: ClientWithSecret = clientJson(registered.record)
  if (registered.secret !== null) {
    json.client_secret = registered.secret
    json.client_secret_expires_at = 0
  }
  return json
}

/**
 * Changes the client's name, redirect URIs (the list is replaced), scopes, post-logout redirect
 * URIs or web origins, by the rules of a registration. A removed redirect URI is refused from now on, and the
 * codes and sign-ins in progress for it end with it.
 */
export async function updateClient(ctx: AdminContext, clientId: string, update: ClientUpdate): Promise<ClientJson> {
  const client = await findClient(ctx, clientId)
  const isPublic = isPublicClient(client)
  const changes: ClientChanges = {}
  registration(() => {
    if (update.client_name !== undefined) changes.name = checkClientName(checkString('client_name', update.client_name))
    if (update.redirect_uris !== undefined) changes.redirectUris = checkRedirectUris(checkList('redirect_uris', update.redirect_uris), isPublic)
    if (update.scope !== undefined) changes.scopes = checkClientScope(checkString('scope', update.scope), Object.keys(ctx.config.scopes))
    if (update.post_logout_redirect_uris !== undefined) {
      changes.postLogoutRedirectUris = checkPostLogoutRedirectUris(checkList('post_logout_redirect_uris', update.post_logout_redirect_uris), isPublic)
    }
    if (update.backchannel_logout_uri !== undefined) {
      const uri = update.backchannel_logout_uri
      changes.backchannelLogoutUri = uri === null ? null : checkBackchannelLogoutUri(checkString('backchannel_logout_uri', uri))
    }
    if (update.web_origins !== undefined) changes.webOrigins = checkWebOrigins(checkList('web_origins', update.web_origins), isPublic)
  })
  if (Object.keys(changes).length === 0) throw invalidField('client', 'nothing to change: give client_name, redirect_uris, scope, post_logout_redirect_uris, backchannel_logout_uri or web_origins')
  const updated = await ctx.store.updateClient(client.clientId, changes)
  if (updated === undefined) throw notFound('client', `with id ${client.clientId}`)
  emit(ctx, 'admin.client_updated', client.clientId)
  return clientJson(updated)
}

/**
 * Gives a confidential client a new secret, shown once in the result. The replaced secret stops
 * working at once, or after `graceSeconds` (1 to 30 days' worth) for a rollout without downtime;
 * a secret still in an earlier grace period stops at once either way.
 */
export async function rotateClientSecret(ctx: AdminContext, clientId: string, graceSeconds?: number): Promise<ClientWithSecret> {
  if (graceSeconds !== undefined && (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > GRACE_MAX)) {
    throw invalidField('grace', `grace: whole seconds from 0 to ${GRACE_MAX}`)
  }
  const client = await findClient(ctx, clientId)
  if (client.secretHash === null) throw invalidField('client_id', `client ${client.clientId} authenticates with ${client.tokenEndpointAuthMethod}: it has no secret to rotate`)
  const secret = randomToken()
  const previousExpiresAt = graceSeconds === undefined || graceSeconds === 0 ? null : ctx.now() + graceSeconds
  if (!(await ctx.store.rotateClientSecret(client.clientId, hashToken(secret), previousExpiresAt))) throw notFound('client', `with id ${client.clientId}`)
  emit(ctx, 'admin.client_secret_rotated', client.clientId)
  const json: ClientWithSecret = { ...clientJson(client), client_secret: secret, client_secret_expires_at: 0 }
  if (previousExpiresAt !== null) json.previous_secret_expires_at = previousExpiresAt
  return json
}

/** Removes the client and everything issued to it (codes, grants, tokens, consents, sign-ins in progress). */
export async function removeClient(ctx: AdminContext, clientId: string): Promise<ClientJson> {
  const client = await findClient(ctx, clientId)
  if (!(await ctx.store.deleteClient(client.clientId))) throw notFound('client', `with id ${client.clientId}`)
  emit(ctx, 'admin.client_removed', client.clientId)
  return clientJson(client)
}

/** Runs registration checks, turning their refusal into an `invalid` error naming the metadata field. */
function registration<T>(check: () => T): T {
  try {
    return check()
  } catch (error) {
    if (error instanceof RegistrationError) throw invalidField(error.field, error.message)
    throw error
  }
}

function checkString(field: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidField(field, `${field}: a string`)
  return value
}

function checkBoolean(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidField(field, `${field}: true or false`)
  return value
}

function checkList(field: string, value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw invalidField(field, `${field}: a list of strings`)
  return value as string[]
}

