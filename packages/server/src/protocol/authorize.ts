/**
 * The authorization endpoint's protocol steps (RFC 6749 §4.1.1, OAuth 2.1 §4.1.1, OIDC Core
 * §3.1.2). Validation comes in two phases because where an error goes depends on it:
 * `resolveClientRedirect` failures are shown to the user (never redirected), everything after is
 * sent back to the now trusted redirect URI. What follows validation (decide, then a code or an
 * interaction) is the start of the sign-in journey, `journey.ts` `startJourney`.
 */
import { OAuthError, invalidRequest, unauthorizedClient, unsupportedResponseType } from './errors.js'
import type { Params } from './params.js'
import { readCodeChallenge } from './pkce.js'
import { matchesRegisteredRedirectUri } from './redirect-uri.js'
import { checkScopesAllowed, invalidScopeIfMissing, parseScope } from './scopes.js'
import type { ClientRecord, ClientStore } from './store.js'
import { readUiLocales } from './ui-locales.js'
import { isPublicClient } from './clients.js'
import { readDpopJkt } from './dpop.js'
import { readAcrValues } from './passkeys-assurance.js'
import { requestedResources, type ResourceIndicatorSettings } from './resources.js'

/** `{ [key]: value }`, or nothing when the value is undefined (exactOptionalPropertyTypes). */
const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } => (value === undefined ? {} : ({ [key]: value } as { [P in K]?: V }))

export type Prompt = 'none' | 'login' | 'consent'

/** A validated authorization request; stored as JSON with a pending interaction. */
export interface AuthorizationRequest {
  clientId: string
  redirectUri: string
  /** Whether `redirect_uri` was in the request (RFC 6749 §4.1.3 then requires it at the token endpoint). */
  redirectUriSent: boolean
  scopes: string[]
  state: string | undefined
  codeChallenge: string | null
  codeChallengeMethod: 'S256' | null
  nonce: string | undefined
  prompt: Prompt[]
  maxAge: number | undefined
  loginHint: string | undefined
  /**
   * OIDC Core §3.1.2.1 `ui_locales`: the languages the pages should use, by preference (language
   * tags only). Absent when not sent, and in requests stored before it was read.
   */
  uiLocales?: string[]
  /** RFC 9449 §10: the thumbprint of the DPoP key the code's exchange must prove. */
  dpopJkt?: string
  /** OIDC Core §3.1.2.1 `acr_values`, in order of preference; absent when not sent (`passkeys-assurance.ts` reads them). */
  acrValues?: string[]
  /** RFC 8707 §2: the resources the tokens are for; absent when none was named (and in older stored requests). */
  resources?: string[]
}

export interface TrustedRedirect {
  client: ClientRecord
  redirectUri: string
  redirectUriSent: boolean
}

/**
 * Phase one: the client and its redirect URI (RFC 6749 §4.1.2.1: "MUST NOT automatically redirect
 * the user-agent to the invalid redirection URI"). Errors here are rendered as a page.
 */
export async function resolveClientRedirect(params: Params, clients: ClientStore): Promise<TrustedRedirect> {
  const clientId = params.single('client_id')
  if (clientId === undefined) throw invalidRequest('client_id is missing')
  const client = await clients.getClient(clientId)
  if (client === undefined) throw new OAuthError('invalid_request', 'client_id is not a registered client')
  const requested = params.single('redirect_uri')
  if (requested === undefined) {
    // A client with one registered redirect URI may omit it (SECURITY.md decisions, OAuth 2.1 §2.3.2).
    const only = client.redirectUris.length === 1 ? client.redirectUris[0] : undefined
    if (only === undefined) throw invalidRequest('redirect_uri is required for a client with several redirect URIs')
    return { client, redirectUri: only, redirectUriSent: false }
  }
  if (!matchesRegisteredRedirectUri(client, requested)) {
    throw invalidRequest('redirect_uri does not match any redirect URI registered for the client')
  }
  return { client, redirectUri: requested, redirectUriSent: true }
}

/** `state` as it may be echoed in an error redirect: absent when missing or given twice (RFC 6749 §4.1.2.1). */
export function echoableState(params: Params): string | undefined {
  try {
    return params.single('state')
  } catch {
    return undefined
  }
}

/** OIDC Core §11: the scope that asks for a refresh token usable while the user is away. */
export const OFFLINE_ACCESS = 'offline_access'

const PROMPTS = new Set<string>(['none', 'login', 'consent', 'select_account'])

/**
 * Phase two: everything else; errors are redirected to the trusted redirect URI.
 * @param settings the resources `resource` may name (RFC 8707)
 */
export function validateAuthorizationRequest(params: Params, trusted: TrustedRedirect, serverScopes: readonly string[], settings: ResourceIndicatorSettings = {}): AuthorizationRequest {
  const { client } = trusted
  const state = params.single('state')

  const responseType = params.single('response_type')
  if (responseType === undefined) throw invalidRequest('response_type is missing')
  if (responseType !== 'code') throw unsupportedResponseType('only response_type=code is supported')
  if (!client.grantTypes.includes('authorization_code')) {
    throw unauthorizedClient('the client is not allowed the authorization code grant')
  }
  // OIDC Core §6: request objects are not supported, and must not be silently ignored.
  if (params.single('request') !== undefined) throw new OAuthError('request_not_supported', 'request objects are not supported')
  if (params.single('request_uri') !== undefined) {
    throw new OAuthError('request_uri_not_supported', 'request_uri is not supported')
  }

  const requested = parseScope(invalidScopeIfMissing(params.single('scope')))
  checkScopesAllowed(requested, client.scopes.filter((scope) => serverScopes.includes(scope)))

  const pkce = readCodeChallenge(params.single('code_challenge'), params.single('code_challenge_method'))
  // OAuth 2.1 §4.1.1: required for public clients; confidential ones only by explicit registration.
  if (pkce === null && !(client.pkceOptional && !isPublicClient(client))) {
    throw invalidRequest('code_challenge is required (PKCE with S256)')
  }

  const prompt = readPrompt(params.single('prompt'))
  const maxAge = readMaxAge(params.single('max_age'))
  const scopes = withOfflineAccessRule(requested, prompt)
  const resources = requestedResources(params, scopes, settings)

  return {
    clientId: client.clientId,
    redirectUri: trusted.redirectUri,
    redirectUriSent: trusted.redirectUriSent,
    scopes,
    state,
    codeChallenge: pkce?.codeChallenge ?? null,
    codeChallengeMethod: pkce?.codeChallengeMethod ?? null,
    nonce: params.single('nonce'),
    prompt,
    maxAge,
    loginHint: params.single('login_hint'),
    uiLocales: readUiLocales(params.single('ui_locales')),
    ...optional('dpopJkt', readDpopJkt(params.single('dpop_jkt'))),
    ...optional('acrValues', readAcrValues(params.single('acr_values'))),
    ...optional('resources', resources.length === 0 ? undefined : resources),
  }
}

/**
 * OIDC Core §11: in an OpenID request, `offline_access` (a refresh token that keeps access while
 * the user is away) counts only when the request also asks for consent (`prompt=consent`), so the
 * user is always asked for it; otherwise it is ignored and the rest of the request goes on.
 */
function withOfflineAccessRule(scopes: string[], prompt: readonly Prompt[]): string[] {
  if (!scopes.includes('openid') || !scopes.includes(OFFLINE_ACCESS) || prompt.includes('consent')) return scopes
  return scopes.filter((scope) => scope !== OFFLINE_ACCESS)
}

// OIDC Core §3.1.2.1: space-delimited; `none` must stand alone.
function readPrompt(value: string | undefined): Prompt[] {
  if (value === undefined) return []
  const values = value.split(' ')
  if (values.some((v) => !PROMPTS.has(v))) throw invalidRequest('prompt has an unsupported value')
  if (values.includes('none') && values.length > 1) throw invalidRequest('prompt=none must not be combined with other values')
  // select_account: there is one account per session, so it asks for nothing more.
  return [...new Set(values)].filter((v): v is Prompt => v !== 'select_account')
}

function readMaxAge(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d{1,9}$/.test(value)) throw invalidRequest('max_age must be a non-negative integer')
  return Number(value)
}

/**
 * The authorization response URI (RFC 6749 §4.1.2, §4.1.2.1; RFC 9207 §2): parameters appended to
 * the redirect URI, keeping its own query, with `state` byte for byte and `iss` always.
 */
export function authorizationResponseUri(
  redirectUri: string,
  result: { code: string } | { error: OAuthError },
  state: string | undefined,
  issuer: string,
): string {
  const params = new URLSearchParams()
  if ('code' in result) {
    params.set('code', result.code)
  } else {
    params.set('error', result.error.error)
    params.set('error_description', result.error.description)
  }
  if (state !== undefined) params.set('state', state)
  params.set('iss', issuer)
  return `${redirectUri}${redirectUri.includes('?') ? '&' : '?'}${params.toString()}`
}
