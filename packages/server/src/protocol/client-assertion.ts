/**
 * `private_key_jwt` client authentication (RFC 7523 §2.2 and §3, OIDC Core §9, RFC 7521 §4.2): the
 * client signs a short-lived JWT about itself with a key it registered, as a JWK Set or at a
 * `jwks_uri`. Each assertion works once on every instance (its `jti` in the store until it expires).
 */
import { createLocalJWKSet, decodeJwt, errors, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose'
import { invalidClient, invalidRequest, isOAuthError } from './errors.js'
import type { ClientRecord, ReplayStore } from './store.js'
import { hashToken } from '../tokens/secrets.js'

/** RFC 7523 §2.2 `client_assertion_type`. */
export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/** `token_endpoint_auth_signing_alg_values_supported`: asymmetric only (no `none`, no HMAC). */
export const CLIENT_ASSERTION_ALGS = Object.freeze(['ES256', 'EdDSA', 'Ed25519', 'RS256', 'PS256'] as const)

/** The longest an assertion may live, from now to its `exp` (RFC 7523 §3 leaves it to the server: short). */
export const MAX_ASSERTION_LIFETIME = 300
/** Leeway for `iat`, `nbf` and `exp` between the client's clock and ours. */
const CLOCK_TOLERANCE = 30
const MAX_KEYS = 20
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

/** A JWK with private or symmetric key material (RFC 7518 §6): never a key a client may register or a proof may carry. */
export const holdsPrivateKey = (jwk: object): boolean => PRIVATE_MEMBERS.some((member) => member in jwk)

/**
 * A client's JWK Set as registered: public signature keys only (RSA, EC, OKP), at most 20.
 * @throws TypeError naming the problem.
 */
export function parseClientJwks(text: string): JSONWebKeySet {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new TypeError('not JSON')
  }
  if (typeof value !== 'object' || value === null || !Array.isArray((value as { keys?: unknown }).keys)) throw new TypeError('a JWK Set is an object with a "keys" array')
  const keys = (value as { keys: unknown[] }).keys
  if (keys.length === 0 || keys.length > MAX_KEYS) throw new TypeError(`1 to ${MAX_KEYS} keys`)
  for (const key of keys) {
    if (typeof key !== 'object' || key === null) throw new TypeError('every key is a JWK object')
    const jwk = key as Record<string, unknown>
    if (!['RSA', 'EC', 'OKP'].includes(String(jwk.kty))) throw new TypeError('keys are RSA, EC or OKP')
    if (holdsPrivateKey(jwk)) throw new TypeError('a key holds private or symmetric material: register public keys only')
    if (jwk.use !== undefined && jwk.use !== 'sig') throw new TypeError('keys are for signatures (use "sig")')
  }
  return value as JSONWebKeySet
}

/** A fetched `jwks_uri` and when (server seconds). */
interface FetchedKeys {
  keys: JWTVerifyGetKey
  fetchedAt: number
}

/** How long a fetched `jwks_uri` is used before it is fetched again. */
const JWKS_MAX_AGE = 600
/** An unknown `kid` refetches the set, at most this often per URI (a client rotating its key). */
export const JWKS_REFETCH_COOLDOWN = 30
const JWKS_TIMEOUT_MS = 5000
const JWKS_MAX_BYTES = 64 * 1024

/**
 * Where a client's keys come from: its registered set, or its `jwks_uri`, fetched (5 s timeout,
 * 64 KiB, no redirects), kept {@link JWKS_MAX_AGE} seconds and fetched again for an unknown `kid`
 * at most every {@link JWKS_REFETCH_COOLDOWN} seconds, on the server's clock.
 */
export class ClientKeySets {
  readonly #local = new Map<string, JWTVerifyGetKey>()
  readonly #remote = new Map<string, FetchedKeys>()
  readonly #maxEntries: number
  readonly #fetch: typeof fetch

  constructor(options: { maxEntries?: number; fetch?: typeof fetch } = {}) {
    this.#maxEntries = options.maxEntries ?? 1000
    this.#fetch = options.fetch ?? fetch
  }

  /** The key lookup for `client`'s assertions at `now`. */
  keysOf(client: ClientRecord, now: number): JWTVerifyGetKey {
    if (client.jwks !== null) {
      let local = this.#local.get(client.jwks)
      if (local === undefined) {
        local = createLocalJWKSet(parseClientJwks(client.jwks))
        remember(this.#local, client.jwks, local, this.#maxEntries)
      }
      return local
    }
    const uri = client.jwksUri
    if (uri === null) throw invalidClient('the client has no registered keys')
    return async (header, token) => {
      let fetched = this.#remote.get(uri)
      if (fetched === undefined || now - fetched.fetchedAt >= JWKS_MAX_AGE) fetched = await this.#refetch(uri, now)
      try {
        return await fetched.keys(header, token)
      } catch (error) {
        if (!(error instanceof errors.JWKSNoMatchingKey) || now - fetched.fetchedAt < JWKS_REFETCH_COOLDOWN) throw error
        return (await this.#refetch(uri, now)).keys(header, token)
      }
    }
  }

  async #refetch(uri: string, now: number): Promise<FetchedKeys> {
    let text: string
    try {
      const response = await this.#fetch(uri, { redirect: 'error', signal: AbortSignal.timeout(JWKS_TIMEOUT_MS), headers: { accept: 'application/json' } })
      if (response.status !== 200) throw new Error(`status ${response.status}`)
      text = await response.text()
      if (Buffer.byteLength(text) > JWKS_MAX_BYTES) throw new Error('too large')
      const fetched = { keys: createLocalJWKSet(parseClientJwks(text)), fetchedAt: now }
      remember(this.#remote, uri, fetched, this.#maxEntries)
      return fetched
    } catch (error) {
      throw invalidClient('the client keys could not be fetched from its jwks_uri', { cause: error })
    }
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  if (map.size >= max && !map.has(key)) map.delete(map.keys().next().value as string)
  map.set(key, value)
}

export interface ClientAssertionDeps {
  issuer: string
  /** The absolute URL of the endpoint the assertion was sent to: an accepted `aud` besides the issuer. */
  endpoint: string
  replay: ReplayStore
  keySets: ClientKeySets
}

/** The client an assertion names (`sub`), read before it is verified, only to find the client. */
export function assertedClientId(assertion: string): string {
  let claims
  try {
    claims = decodeJwt(assertion)
  } catch {
    throw invalidRequest('client_assertion is not a JWT')
  }
  if (typeof claims.sub !== 'string' || claims.sub === '') throw invalidClient('client authentication failed')
  return claims.sub
}

/**
 * RFC 7523 §3: signature with one of the client's keys and an allowed algorithm; `iss` and `sub`
 * the client id; `aud` the issuer or this endpoint; `exp` present, not past and at most
 * {@link MAX_ASSERTION_LIFETIME} away; `jti` present and never seen before.
 * @throws OAuthError `invalid_client` for any failure (the reason is logged by the caller, never sent).
 */
export async function verifyClientAssertion(client: ClientRecord, assertion: string, deps: ClientAssertionDeps, now: number): Promise<void> {
  let claims: JWTPayload
  try {
    const verified = await jwtVerify(assertion, deps.keySets.keysOf(client, now), {
      algorithms: [...CLIENT_ASSERTION_ALGS],
      issuer: client.clientId,
      subject: client.clientId,
      audience: [deps.issuer, deps.endpoint],
      requiredClaims: ['exp', 'jti'],
      currentDate: new Date(now * 1000),
      clockTolerance: CLOCK_TOLERANCE,
    })
    claims = verified.payload
  } catch (error) {
    if (isOAuthError(error)) throw error
    if (error instanceof errors.JOSEError || error instanceof TypeError) throw invalidClient('client authentication failed', { cause: error })
    throw error
  }
  const exp = Number(claims.exp)
  if (exp > now + MAX_ASSERTION_LIFETIME + CLOCK_TOLERANCE) throw invalidClient('client_assertion lives too long', { cause: 'exp too far' })
  if (typeof claims.jti !== 'string' || claims.jti === '' || claims.jti.length > 256) throw invalidClient('client authentication failed')
  // RFC 7523 §3 item 7: the jti once, on every instance; kept until the assertion expires.
  const key = hashToken(`private_key_jwt\0${client.clientId}\0${claims.jti}`)
  if (!(await deps.replay.useOnce(key, exp + CLOCK_TOLERANCE))) throw invalidClient('client_assertion was used before')
}
