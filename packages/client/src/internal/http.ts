/**
 * What every back-channel call shares: oauth4webapi's `Client` and client authentication built from
 * the configuration, request options (timeout, no retry, custom fetch), and the translation of
 * oauth4webapi's errors into this package's typed errors.
 */
import { webcrypto } from 'node:crypto'
import * as oauth from 'oauth4webapi'
import type { StoredDPoPKey } from '../tokens/store.js'
import type { DPoPAlgorithm, ResolvedConfig, ResolvedPrivateKey, SigningAlgorithm } from '../config/options.js'
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

const SIGNING_PARAMETERS: Record<SigningAlgorithm, webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | webcrypto.Algorithm> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  PS256: { name: 'RSA-PSS', hash: 'SHA-256' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  ES384: { name: 'ECDSA', namedCurve: 'P-384' },
  EdDSA: { name: 'Ed25519' },
}

/** The private JWK as a signing `webcrypto.CryptoKey` (not extractable), imported once per configuration. */
const importedKeys = new WeakMap<ResolvedPrivateKey, Promise<webcrypto.CryptoKey>>()
function signingKey(key: ResolvedPrivateKey): Promise<webcrypto.CryptoKey> {
  let imported = importedKeys.get(key)
  if (imported === undefined) {
    imported = webcrypto.subtle.importKey('jwk', key.jwk, SIGNING_PARAMETERS[key.alg], false, ['sign'])
    importedKeys.set(key, imported)
  }
  return imported
}

/**
 * RFC 6749 §2.3.1: `client_secret_basic` (default), `client_secret_post`, none for a public client;
 * RFC 7523 §2.2: `private_key_jwt`, an assertion signed with the client's key.
 */
export async function clientAuthentication(config: ResolvedConfig): Promise<oauth.ClientAuth> {
  switch (config.authMethod) {
    case 'private_key_jwt': {
      const key = config.privateKey as ResolvedPrivateKey
      return oauth.PrivateKeyJwt({ key: await signingKey(key), ...(key.kid === undefined ? {} : { kid: key.kid }) })
    }
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
      let response: Response
      try {
        response = await underlying(url, init as unknown as RequestInit)
      } catch (error) {
        const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
        throw new NetworkError(new URL(url).origin + new URL(url).pathname, timedOut, error)
      }
      if (init.headers.dpop !== undefined) keepDPoPNonce(config, url, response)
      return response
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

/** A fresh DPoP key pair for one login (extractable, so that it can be stored). */
export async function generateDPoPKey(alg: DPoPAlgorithm): Promise<StoredDPoPKey> {
  const { privateKey } = await oauth.generateKeyPair(alg, { extractable: true })
  return { alg, privateJwk: await webcrypto.subtle.exportKey('jwk', privateKey) }
}

/** The public half of a private JWK (its public members only). */
export function publicJwk(privateJwk: webcrypto.JsonWebKey): webcrypto.JsonWebKey {
  const { kty, crv, x, y, n, e } = privateJwk
  return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, value]) => value !== undefined))
}

/** How many origins' nonces one client keeps (the least recently used go first). */
const KEPT_NONCE_ORIGINS = 256

/**
 * RFC 9449 §8.2: the latest `DPoP-Nonce` each origin answered a proof with, per client (one
 * `ResolvedConfig` per `OAuthClient`), whatever the session or key: a nonce belongs to the server,
 * so a request of another session, or a new login's first one, needs no `use_dpop_nonce` round
 * trip. oauth4webapi keeps nonces on a `DPoP` handle, which lives for one request here (its key is
 * the session's, read from the token store); this is where they outlive it.
 */
const keptNonces = new WeakMap<ResolvedConfig, Map<string, string>>()

/** Notes the nonce a response to a proof carried, as the latest for its origin. */
function keepDPoPNonce(config: ResolvedConfig, url: string, response: Response): void {
  const nonce = response.headers.get('dpop-nonce')
  if (nonce === null || nonce === '') return
  let nonces = keptNonces.get(config)
  if (nonces === undefined) {
    nonces = new Map()
    keptNonces.set(config, nonces)
  }
  const origin = new URL(url).origin
  nonces.delete(origin)
  nonces.set(origin, nonce)
  if (nonces.size > KEPT_NONCE_ORIGINS) nonces.delete(nonces.keys().next().value as string)
}

/** The latest nonce kept for an origin (marked as recently used). */
function keptDPoPNonce(config: ResolvedConfig, origin: string): string | undefined {
  const nonces = keptNonces.get(config)
  const nonce = nonces?.get(origin)
  if (nonces === undefined || nonce === undefined) return undefined
  nonces.delete(origin)
  nonces.set(origin, nonce)
  return nonce
}

/**
 * An oauth4webapi DPoP handle over a stored key. A proof carries the nonce the handle itself was
 * given (an answer to its own earlier request: the `use_dpop_nonce` retry), else the latest one this
 * client was given for the origin (`htu` names it), else none.
 */
export async function dpopHandle(config: ResolvedConfig, key: StoredDPoPKey): Promise<oauth.DPoPHandle> {
  const parameters = SIGNING_PARAMETERS[key.alg]
  const [privateKey, publicKey] = await Promise.all([
    webcrypto.subtle.importKey('jwk', key.privateJwk, parameters, false, ['sign']),
    webcrypto.subtle.importKey('jwk', publicJwk(key.privateJwk), parameters, true, ['verify']),
  ])
  return oauth.DPoP(oauthClient(config), { privateKey, publicKey }, {
    [oauth.modifyAssertion]: (_header, payload) => {
      if (payload.nonce === undefined && typeof payload.htu === 'string') payload.nonce = keptDPoPNonce(config, new URL(payload.htu).origin)
    },
  })
}

/**
 * Runs a request that sends a DPoP proof; when the server answers `use_dpop_nonce` (RFC 9449 §8,
 * §9) — no nonce was kept for it yet, or the kept one has gone stale — runs it once more: the
 * handle has kept the nonce the answer carried.
 */
export async function withDPoPNonceRetry<T>(dpop: oauth.DPoPHandle | undefined, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    if (dpop === undefined || !oauth.isDPoPNonceError(error)) throw error
    return call()
  }
}
