/**
 * Calling a resource server with the session's access token: in the `Authorization` header only
 * (never the query, RFC 9700 §4.3.2), as `Bearer`, or as `DPoP` with a proof for a DPoP session;
 * one retry after a refresh when the server says `invalid_token`.
 */
import * as oauth from 'oauth4webapi'
import type { JsonValue, SessionRecord } from '../tokens/store.js'
import { checkEndpoint } from '../config/options.js'
import { InvalidResponseError } from '../errors.js'
import { fingerprint, type FlowEventError } from '../events.js'
import type { ClientContext } from '../internal/context.js'
import { eventError, startTimer, withoutQuery } from '../internal/events.js'
import { dpopHandle, oauthClient, requestOptions, toClientError, withDPoPNonceRetry } from '../internal/http.js'
import { freshSession } from '../tokens/refresh.js'

/** A request body that can be sent twice (no streams: the request may be retried once). */
export type ResourceRequestBody = string | Uint8Array | ArrayBuffer | URLSearchParams | null

export interface ResourceRequestInit {
  method?: string
  headers?: Headers | Record<string, string> | [string, string][]
  body?: ResourceRequestBody
}

/**
 * Runs a request with the session's token: as Bearer, or for a DPoP session with a proof of its key
 * (RFC 9449 §7), once more when the server asks for a nonce (§9).
 */
async function withSessionDPoP<T>(context: ClientContext, record: SessionRecord, call: (options: oauth.DPoPRequestOptions) => Promise<T>): Promise<T> {
  if (record.dpopKey === undefined) return call({})
  const dpop = await dpopHandle(context.config, record.dpopKey)
  return withDPoPNonceRetry(dpop, () => call({ DPoP: dpop }))
}

/** RFC 6750 §3.1: the token was refused as expired, revoked or malformed. */
function invalidToken(error: oauth.WWWAuthenticateChallengeError): boolean {
  return error.status === 401 && error.cause.some((c) => ['bearer', 'dpop'].includes(c.scheme.toLowerCase()) && c.parameters.error === 'invalid_token')
}

/** A `WWW-Authenticate` challenge as an event's error (RFC 6750 §3). */
function challengeError(error: oauth.WWWAuthenticateChallengeError): FlowEventError {
  const parameters = error.cause.find((c) => ['bearer', 'dpop'].includes(c.scheme.toLowerCase()))?.parameters ?? error.cause[0]?.parameters
  return {
    code: 'RESOURCE_REFUSED',
    message: `the resource server refused the access token (HTTP ${error.status})`,
    status: error.status,
    ...(parameters?.error === undefined ? {} : { error: parameters.error }),
    ...(parameters?.error_description === undefined ? {} : { errorDescription: parameters.error_description }),
  }
}

/**
 * Runs `call` with the session's access token; after a 401 `invalid_token` challenge, refreshes
 * (once per session, shared with concurrent callers) and runs it again. `onChallenge` decides what a
 * final challenge becomes.
 */
async function withAccessToken<T>(
  context: ClientContext,
  sessionId: string,
  call: (record: SessionRecord) => Promise<T>,
  onChallenge: (error: oauth.WWWAuthenticateChallengeError) => T,
  request: { kind: 'userinfo' | 'resource'; method: string; url: URL; status: (value: T) => number },
): Promise<T> {
  const step = request.kind
  const observed = async (record: SessionRecord, attempt: 1 | 2): Promise<T> => {
    const timer = startTimer()
    const emit = (status: number | undefined, error: FlowEventError | undefined): void =>
      context.emit({
        type: 'resource',
        at: timer.at,
        durationMs: timer.elapsed(),
        kind: request.kind,
        method: request.method,
        url: withoutQuery(request.url),
        session: fingerprint(sessionId),
        accessToken: fingerprint(record.tokens.accessToken),
        try: attempt,
        status,
        error,
      })
    try {
      const value = await call(record)
      emit(request.status(value), undefined)
      return value
    } catch (error) {
      if (error instanceof oauth.WWWAuthenticateChallengeError) emit(error.status, challengeError(error))
      else emit(undefined, eventError(toClientError(error, step)))
      throw error
    }
  }
  const first = await freshSession(context, sessionId)
  try {
    return await observed(first, 1)
  } catch (error) {
    if (!(error instanceof oauth.WWWAuthenticateChallengeError)) throw toClientError(error, step)
    if (!invalidToken(error)) return onChallenge(error)
  }
  const second = await freshSession(context, sessionId, first.tokens.accessToken)
  try {
    return await observed(second, 2)
  } catch (error) {
    if (error instanceof oauth.WWWAuthenticateChallengeError) return onChallenge(error)
    throw toClientError(error, step)
  }
}

/**
 * `fetch` for a resource server on behalf of a session. Resolves with the server's response
 * whatever its status (a 401 after the retry, a 403 `insufficient_scope`, …); rejects on network
 * failure or when the session is gone or ended.
 *
 * @example
 * ```ts
 * const response = await client.fetch(sessionId, 'https://api.example.com/orders')
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-2.1
 */
export async function fetchResource(context: ClientContext, sessionId: string, input: string | URL, init: ResourceRequestInit = {}): Promise<Response> {
  const url = checkEndpoint('url', input instanceof URL ? input.href : input)
  if (typeof init !== 'object' || init === null) throw new TypeError('init must be an object')
  const body = init.body ?? null
  if (body !== null && !(typeof body === 'string' || body instanceof Uint8Array || body instanceof ArrayBuffer || body instanceof URLSearchParams)) {
    throw new TypeError('body must be a string, Uint8Array, ArrayBuffer or URLSearchParams (a request may be sent twice)')
  }
  const method = init.method ?? 'GET'
  return withAccessToken(
    context,
    sessionId,
    (record) =>
      withSessionDPoP(context, record, (dpop) =>
        oauth.protectedResourceRequest(record.tokens.accessToken, method, url, new Headers(init.headers), body, { ...requestOptions(context.config, url), ...dpop }),
      ),
    (challenge) => challenge.response,
    { kind: 'resource', method, url, status: (response) => response.status },
  )
}

/**
 * The UserInfo response for a session (OIDC Core §5.3), with its `sub` checked against the ID
 * token's.
 *
 * @see https://openid.net/specs/openid-connect-core-1_0.html#UserInfo
 */
export async function userinfo(context: ClientContext, sessionId: string): Promise<Record<string, JsonValue | undefined>> {
  const { as } = await context.metadata.get()
  if (as.userinfo_endpoint === undefined) throw new InvalidResponseError('INVALID_RESPONSE', 'the server has no userinfo_endpoint')
  const endpoint = new URL(as.userinfo_endpoint)
  return withAccessToken(
    context,
    sessionId,
    async (record) => {
      const client = oauthClient(context.config)
      const subject = typeof record.claims?.sub === 'string' ? record.claims.sub : oauth.skipSubjectCheck
      return withSessionDPoP(context, record, async (dpop) => {
        const response = await oauth.userInfoRequest(as, client, record.tokens.accessToken, { ...requestOptions(context.config, endpoint), ...dpop })
        return { ...(await oauth.processUserInfoResponse(as, client, subject, response)) }
      })
    },
    (challenge) => {
      throw toClientError(challenge, 'userinfo')
    },
    { kind: 'userinfo', method: 'GET', url: endpoint, status: () => 200 },
  )
}
