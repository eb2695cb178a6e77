/**
 * What every back-channel call shares: oauth4webapi's `Client` and client authentication built from
 * the configuration, request options (timeout, no retry, custom fetch), and the translation of
 * oauth4webapi's errors into this package's typed errors.
 */
import * as oauth from 'oauth4webapi'
import type { ResolvedConfig } from '../config/options.js'
import { isLoopback } from '../config/options.js'
import {
  AuthcodeClientError,
  AuthorizationError,
  InvalidResponseError,
  NetworkError,
  OAuthServerError,
} from '../errors.js'

/**
 * oauth4webapi's client metadata. `clockSkew` makes its time checks (ID token `iat`/`exp`) use the
 * configured clock.
 */
export function oauthClient(config: ResolvedConfig): oauth.Client {
  return {
    client_id: config.clientId,
    [oauth.clockSkew]: config.now() - Math.floor(Date.now() / 1000),
    ...(config.idTokenSigningAlg === undefined ? {} : { id_token_signed_response_alg: config.idTokenSigningAlg }),
  }
}

/** RFC 6749 §2.3.1: `client_secret_basic` (default), `client_secret_post`, or none for a public client. */
export function clientAuthentication(config: ResolvedConfig): oauth.ClientAuth {
  switch (config.authMethod) {
    case 'client_secret_basic':
      return oauth.ClientSecretBasic(config.clientSecret as string)
    case 'client_secret_post':
      return oauth.ClientSecretPost(config.clientSecret as string)
    case 'none':
      return oauth.None()
  }
}

export interface RequestOptions extends oauth.HttpRequestOptions<string, unknown> {
  signal: () => AbortSignal
}

/**
 * Options for one oauth4webapi request: a timeout, the configured `fetch` behind a wrapper that turns
 * transport failures into `NetworkError`, and plain http allowed only when the target is a loopback
 * host (every configured or discovered URL was checked for https-or-loopback before).
 */
export function requestOptions(config: ResolvedConfig, target: URL): RequestOptions {
  const underlying = config.fetch ?? fetch
  return {
    signal: () => AbortSignal.timeout(config.timeoutMs),
    [oauth.allowInsecureRequests]: target.protocol === 'http:' && isLoopback(target),
    [oauth.customFetch]: async (url: string, init: oauth.CustomFetchOptions<string, unknown>) => {
      try {
        return await underlying(url, init as unknown as RequestInit)
      } catch (error) {
        const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
        throw new NetworkError(new URL(url).origin + new URL(url).pathname, timedOut, error)
      }
    },
  }
}

export type Step = 'discovery' | 'token' | 'id_token' | 'revocation' | 'userinfo' | 'resource'

const ID_TOKEN_CODES = new Set<string>([oauth.JWT_TIMESTAMP_CHECK, oauth.JWT_CLAIM_COMPARISON, oauth.KEY_SELECTION])

/**
 * Translates an error thrown by oauth4webapi (or by the fetch wrapper) into a typed error. Argument
 * misuse (oauth4webapi's coded `TypeError`s) is rethrown unchanged: it is a bug, not a failure.
 */
export function toClientError(error: unknown, step: Step): unknown {
  if (error instanceof AuthcodeClientError) return error
  if (error instanceof oauth.AuthorizationResponseError) return new AuthorizationError(error.error, error.error_description)
  const serverCode = step === 'revocation' ? 'REVOCATION_FAILED' : step === 'userinfo' ? 'USERINFO_FAILED' : undefined
  if (error instanceof oauth.ResponseBodyError) {
    return new OAuthServerError(error.error, error.error_description, error.status, serverCode)
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    const challenge = error.cause[0]
    const code = challenge?.parameters.error ?? (step === 'token' ? 'invalid_client' : 'invalid_token')
    return new OAuthServerError(code, challenge?.parameters.error_description, error.status, serverCode)
  }
  if (error instanceof oauth.OperationProcessingError || error instanceof oauth.UnsupportedOperationError) {
    if (step === 'discovery') return new InvalidResponseError('DISCOVERY_FAILED', `metadata discovery failed: ${error.message}`, error.code)
    const idToken = step === 'id_token' || (error.code !== undefined && ID_TOKEN_CODES.has(error.code)) || /\bJWT\b|ID Token/.test(error.message)
    return new InvalidResponseError(idToken ? 'INVALID_ID_TOKEN' : 'INVALID_RESPONSE', idToken ? `ID token rejected: ${error.message}` : `malformed response: ${error.message}`, error.code)
  }
  return error
}
