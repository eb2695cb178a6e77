/**
 * The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0): a client sends the browser
 * here to sign the user out of the server too, and names where to send it back.
 *
 * The request is read (`readEndSessionRequest`), then the endpoint decides
 * (`decideEndSession`): with an `id_token_hint` that proves the current login session, it signs
 * the browser out at once; a request that does not prove who asks (SECURITY.md 34: no sign-out
 * by a link anyone can plant) is a confirmation page first. The browser goes back to the
 * client only to a `post_logout_redirect_uri` registered for it, compared by exact string
 * (SECURITY.md 34); anything else ends on a page that says the user is signed out.
 *
 * @see https://openid.net/specs/openid-connect-rpinitiated-1_0.html
 */
import { ID_TOKEN_ALGS } from '../tokens/algorithms.js'
import { JwtVerificationError, verifyJwt } from '../tokens/jws.js'
import type { KeyRing } from '../tokens/key-ring.js'
import { invalidRequest } from './errors.js'
import type { Params } from './params.js'
import type { ClientRecord, LoginSessionRecord, Store } from './store.js'
import { readUiLocales } from './ui-locales.js'

/** Who the `id_token_hint` says is signing out: an ID token this server issued, expired or not. */
export interface IdTokenHint {
  /** The client it was issued to (`aud`). */
  clientId: string
  sub: string
  /** The login session it was issued in; undefined for ID tokens from before `sid` was issued. */
  sid: string | undefined
}

/** An end-session request, read and checked. */
export interface EndSessionRequest {
  /** The client named by `client_id` or by the hint's `aud`; undefined when neither names one. */
  client: ClientRecord | undefined
  hint: IdTokenHint | undefined
  /** Where to send the browser afterwards: a `post_logout_redirect_uri` registered for `client`, exactly. */
  redirectUri: string | undefined
  /** Why a given `post_logout_redirect_uri` will not be used (for the developers, on the final page). */
  redirectRefused: string | undefined
  /** Returned with the redirect (§2), only with it. */
  state: string | undefined
  /** The pages' language preference (§2 `ui_locales`). */
  uiLocales: string[] | undefined
}

export interface EndSessionDeps {
  store: Pick<Store, 'getClient'>
  keys: KeyRing
  /** The `iss` of our ID tokens. */
  issuer: string
  now: number
}

/**
 * Reads an end-session request (§2). Refused with `invalid_request`: a parameter given twice, an
 * `id_token_hint` that is not an ID token this server issued, a `client_id` that is not registered
 * or is not the hint's audience. A `post_logout_redirect_uri` that cannot be used is not an error:
 * the user is signed out all the same, and stays on our page (§3).
 */
export async function readEndSessionRequest(params: Params, deps: EndSessionDeps): Promise<EndSessionRequest> {
  const idTokenHint = params.single('id_token_hint')
  const clientId = params.single('client_id')
  const requestedRedirect = params.single('post_logout_redirect_uri')
  const state = params.single('state')
  const uiLocales = readUiLocales(params.single('ui_locales'))

  const hint = idTokenHint === undefined ? undefined : await verifyIdTokenHint(idTokenHint, deps)
  // §2: "If both client_id and id_token_hint are present, the OP MUST verify that the Client
  // Identifier matches the one used when issuing the ID Token."
  if (hint !== undefined && clientId !== undefined && clientId !== hint.clientId) {
    throw invalidRequest('client_id is not the audience of the id_token_hint')
  }
  const named = clientId ?? hint?.clientId
  const client = named === undefined ? undefined : await deps.store.getClient(named)
  if (named !== undefined && client === undefined) throw invalidRequest(hint === undefined ? 'client_id is not a registered client' : 'the id_token_hint was issued to a client that is no longer registered')

  let redirectUri: string | undefined
  let redirectRefused: string | undefined
  if (requestedRedirect !== undefined) {
    // §3: only to a URI registered for the client, "exactly"; without a client there is nothing to match.
    if (client === undefined) redirectRefused = 'post_logout_redirect_uri needs client_id or id_token_hint to name the client'
    else if (!client.postLogoutRedirectUris.includes(requestedRedirect)) redirectRefused = 'post_logout_redirect_uri is not registered for this client'
    else redirectUri = requestedRedirect
  }
  return { client, hint, redirectUri, redirectRefused, state, uiLocales }
}

/**
 * §2: "The OP MUST validate that it was the issuer of the ID Token" and "SHOULD accept ID Tokens
 * when ... the exp time has passed". Our signature by a published key, `iss`, `typ` (an access or
 * logout token is no ID token), a single client audience and a `sub`; `exp` may be past.
 */
async function verifyIdTokenHint(token: string, deps: EndSessionDeps): Promise<IdTokenHint> {
  let claims
  try {
    claims = await verifyJwt(token, { keyRing: deps.keys, issuer: deps.issuer, typ: 'JWT', algorithms: [...ID_TOKEN_ALGS], now: deps.now, acceptExpired: true })
  } catch (error) {
    if (error instanceof JwtVerificationError) throw invalidRequest('id_token_hint is not an ID token this server issued')
    throw error
  }
  const aud = Array.isArray(claims.aud) && claims.aud.length === 1 ? claims.aud[0] : claims.aud
  const sid = claims.sid
  if (typeof aud !== 'string' || typeof claims.sub !== 'string' || (sid !== undefined && typeof sid !== 'string')) {
    throw invalidRequest('id_token_hint is not an ID token this server issued')
  }
  return { clientId: aud, sub: claims.sub, sid }
}

/** What to do with a request, given the browser's login session. */
export type EndSessionDecision =
  /** No live session in this browser: nothing to end; on to where the request leads. */
  | { kind: 'not_signed_in' }
  /** The hint proves the session of `userId`: sign the browser out now. */
  | { kind: 'sign_out'; userId: string }
  /** Nothing proves who asks (no hint, or one of another session): `userId` confirms first. */
  | { kind: 'confirm'; userId: string }

/**
 * The hint proves the session when it is an ID token issued in it (its `sid`) to its user; an ID
 * token from before `sid` was issued proves it by its user alone.
 */
export function decideEndSession(request: Pick<EndSessionRequest, 'hint'>, session: LoginSessionRecord | undefined): EndSessionDecision {
  if (session === undefined) return { kind: 'not_signed_in' }
  const { hint } = request
  const proves = hint !== undefined && hint.sub === session.userId && (hint.sid === undefined || hint.sid === session.sid)
  return { kind: proves ? 'sign_out' : 'confirm', userId: session.userId }
}

/** §3: the registered URI as registered, with `state` added to its query when the request had one. */
export function postLogoutRedirect(redirectUri: string, state: string | undefined): string {
  if (state === undefined) return redirectUri
  return `${redirectUri}${redirectUri.includes('?') ? '&' : '?'}${new URLSearchParams({ state }).toString()}`
}
