/**
 * Pushed authorization requests (RFC 9126): the client sends its authorization request on the back
 * channel, authenticated, and gets a `request_uri` to send the browser with instead. The request is
 * validated as the authorization endpoint would at push time (§2.1), kept for one use by that client
 * only, and expires (§2.2).
 */
import { OAuthError, invalidRequest } from './errors.js'
import { resolveClientRedirect, validateAuthorizationRequest } from './authorize.js'
import type { DpopProof } from './dpop.js'
import { Params } from './params.js'
import type { ResourceIndicatorSettings } from './resources.js'
import type { ClientRecord, ClientStore, PushedRequestStore } from './store.js'
import { hashToken, randomToken } from '../tokens/secrets.js'

/** RFC 9126 §2.2: the URN prefix of every `request_uri` the endpoint hands out. */
export const REQUEST_URI_PREFIX = 'urn:ietf:params:oauth:request_uri:'

/** Client credentials are the push's, not the authorization request's: never stored with it. */
const CREDENTIALS = new Set(['client_secret', 'client_assertion', 'client_assertion_type'])

/** Parameters that may repeat (RFC 8707 §2 `resource`): each value is kept. */
const REPEATABLE = new Set(['resource'])

export interface PushDeps {
  store: ClientStore & PushedRequestStore
  /** The scopes the server offers. */
  scopes: readonly string[]
  /** Seconds a `request_uri` lives. */
  lifetime: number
  now: number
  /** RFC 8707: the resources `resource` may name. */
  resourceSettings?: ResourceIndicatorSettings
}

/** RFC 9126 §2.2 success response. */
export interface PushedAuthorizationResponse {
  request_uri: string
  expires_in: number
}

/**
 * RFC 9126 §2.1: validates the authenticated client's authorization request like `/authorize`
 * (every error as JSON, the client is on the back channel) and keeps it for one use.
 * @param dpop the push's DPoP proof: RFC 9449 §10.1, its key becomes the request's `dpop_jkt`.
 */
export async function pushAuthorizationRequest(client: ClientRecord, params: Params, deps: PushDeps, dpop?: DpopProof): Promise<PushedAuthorizationResponse> {
  if (params.has('request_uri')) throw invalidRequest('request_uri must not be pushed')
  const clientId = params.single('client_id')
  if (clientId !== undefined && clientId !== client.clientId) throw invalidRequest('client_id does not match the authenticated client')
  const pairs: [string, string][] = []
  for (const name of params.names()) {
    if (CREDENTIALS.has(name) || name === 'client_id') continue
    if (REPEATABLE.has(name)) {
      for (const value of params.all(name)) pairs.push([name, value])
      continue
    }
    const value = params.single(name)
    if (value !== undefined) pairs.push([name, value])
  }
  pairs.push(['client_id', client.clientId])
  if (dpop !== undefined) {
    const named = params.single('dpop_jkt')
    if (named !== undefined && named !== dpop.jkt) throw new OAuthError('invalid_dpop_proof', 'dpop_jkt does not match the DPoP proof key')
    if (named === undefined) pairs.push(['dpop_jkt', dpop.jkt])
  }
  const pushed = paramsOf(pairs)
  validateAuthorizationRequest(pushed, await resolveClientRedirect(pushed, deps.store), deps.scopes, deps.resourceSettings)

  const reference = randomToken()
  const requestUri = `${REQUEST_URI_PREFIX}${reference}`
  await deps.store.createPushedRequest({
    uriHash: hashToken(requestUri),
    clientId: client.clientId,
    params: pairs,
    createdAt: deps.now,
    expiresAt: deps.now + deps.lifetime,
  })
  return { request_uri: requestUri, expires_in: deps.lifetime }
}

/**
 * RFC 9126 §4: at the authorization endpoint, the pushed parameters of `request_uri` replace the
 * request's own, but for `client_id`, which must name the client that pushed it. The request is
 * taken: a second use, another client's, or an expired one is `invalid_request_uri`.
 */
export async function takePushedParams(params: Params, store: PushedRequestStore, now: number): Promise<Params> {
  const clientId = params.single('client_id')
  if (clientId === undefined) throw invalidRequest('client_id is missing')
  const requestUri = params.required('request_uri')
  const taken = requestUri.startsWith(REQUEST_URI_PREFIX) ? await store.takePushedRequest(hashToken(requestUri), clientId, now) : undefined
  if (taken === undefined) throw new OAuthError('invalid_request_uri', 'the request_uri is unknown, used, expired or was pushed by another client')
  return paramsOf(taken.params)
}

function paramsOf(pairs: readonly [string, string][]): Params {
  const values = new Map<string, string[]>()
  for (const [name, value] of pairs) values.set(name, [...(values.get(name) ?? []), value])
  return new Params(values)
}
