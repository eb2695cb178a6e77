/**
 * A resource-server guard for the operations of an AsyncAPI document: verifies an access token
 * (RFC 9068 JWT, signature by the authorization server's JWKS), presented as a Bearer token or, when
 * it is DPoP-bound, with a proof of its key (RFC 9449 §7), and checks that it holds the scopes the
 * operation requires. Refusals are RFC 6750 errors, returned as values; so is a JWKS that cannot be
 * fetched (`temporarily_unavailable`, 503).
 */
import { errors, jwtVerify, type JWTPayload } from 'jose'
import { assertDocument, type AsyncApiDocument } from '../document/load.js'
import { operationScopes } from '../security/operations.js'
import { bearerError, parseAuthorization, type BearerError } from './bearer.js'
import { DpopProofError, SeenProofs, boundJkt, verifyProof, type DpopRequest } from './dpop.js'
import { JwksUnavailable, remoteKeySet } from './jwks.js'
import type { ProtectedResourceMetadata } from './metadata.js'

/** Asymmetric JWS algorithms only: a shared-secret (`HS*`) or `none` token is never accepted. */
export const ASYMMETRIC_ALGORITHMS = Object.freeze(['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA', 'Ed25519'] as const)

/** Options of {@link createOperationGuard}. */
export interface GuardOptions {
  /** The authorization server's issuer identifier: the tokens' `iss` must equal it exactly. */
  issuer: string
  /**
   * This resource server's identifier: the tokens' `aud` must contain it. With authcode's
   * `resources` (RFC 8707) it is the resource's `uri`, and each token for it has exactly that `aud`.
   */
  audience: string
  /**
   * RFC 9728 §5.1: where this resource's metadata is served ({@link OperationGuard.metadata}; see
   * `protectedResourceMetadataUrl`). Every challenge then names it (`resource_metadata="…"`), so a
   * client refused finds the authorization server and the scopes. Default: none.
   */
  resourceMetadata?: string | URL
  /** RFC 9728 `resource_name` in the metadata. */
  resourceName?: string
  /** The authorization server's JWKS (its metadata's `jwks_uri`). */
  jwksUri: string | URL
  /** Allowed `alg` values; a subset of {@link ASYMMETRIC_ALGORITHMS} (the default). */
  algorithms?: readonly string[]
  /** Seconds of clock skew tolerated for `exp`/`nbf`/`iat`. Default {@link DEFAULT_CLOCK_TOLERANCE}. */
  clockTolerance?: number
  /** The current time (tests pass a controlled clock). Default `() => new Date()`. */
  now?: () => Date
  /** `WWW-Authenticate` realm. */
  realm?: string
  /** JWKS fetch timeout, ms. Default 5000. */
  jwksTimeout?: number
  /** Minimum ms between two JWKS fetches caused by an unknown `kid`. Default 30000. */
  jwksCooldown?: number
  /** How long a fetched JWKS is used before it is fetched again, ms. Default 600000. */
  jwksMaxAge?: number
  /**
   * After a failed JWKS fetch (no connection, timeout, not 200, not a JWKS), ms before the next
   * one; doubled with each failure in a row. Meanwhile tokens signed by a key of the last good JWKS
   * still verify; other checks are `temporarily_unavailable` (503). Default 1000.
   */
  jwksRetryDelay?: number
  /** The longest wait between two failed JWKS fetches, ms. Default 60000. */
  jwksRetryMaxDelay?: number
}

/** The JWKS defaults, in ms (the first three are jose's `createRemoteJWKSet` defaults). */
const JWKS_DEFAULTS = Object.freeze({ jwksTimeout: 5000, jwksCooldown: 30_000, jwksMaxAge: 600_000, jwksRetryDelay: 1000, jwksRetryMaxDelay: 60_000 })

export const DEFAULT_CLOCK_TOLERANCE = 5

/** The claims of an accepted RFC 9068 access token. */
export interface AccessTokenClaims extends JWTPayload {
  iss: string
  sub: string
  exp: number
  client_id?: string
  scope?: string
}

/** The outcome of {@link OperationGuard.check}. */
export type GuardResult =
  | {
      readonly ok: true
      readonly operation: string
      /** Undefined when the document requires no security for the operation (no token was looked at). */
      readonly claims: AccessTokenClaims | undefined
      /** The token's scopes. */
      readonly scopes: readonly string[]
      /** A DPoP-bound token: the thumbprint of the key its proof proved (keep it for the connection's later checks). */
      readonly dpopJkt?: string
    }
  | {
      readonly ok: false
      readonly operation: string
      readonly error: BearerError
      /** `insufficient_scope` for a DPoP-bound token whose proof passed: the key it proved. */
      readonly dpopJkt?: string
    }

/** Checks requests against the operations of one document. Made by {@link createOperationGuard}. */
export interface OperationGuard {
  /** The operation ids the guard knows, with the scopes each requires (any one set suffices). */
  readonly operations: ReadonlyMap<string, readonly (readonly string[])[]>
  /**
   * Verifies the `Authorization` header value for `operationId`. Resolves to a refusal for a bad
   * request or token, and to `temporarily_unavailable` (503, with `retryAfter`) when the token
   * cannot be checked because the JWKS cannot be fetched; rejects only on an unexpected failure.
   * @param dpop the request's `DPoP` header, method and URL: needed for a DPoP-bound token
   *   (`Authorization: DPoP …`); a bound token presented as Bearer is refused.
   * @throws {TypeError} an operation id the document does not declare
   */
  check(operationId: string, authorization: string | readonly string[] | undefined, dpop?: DpopRequest): Promise<GuardResult>
  /**
   * RFC 9728 §2: this resource's metadata, to serve as JSON at its metadata URL: the `audience` as
   * `resource`, the issuer as its authorization server, the scopes of the document's operations.
   */
  readonly metadata: ProtectedResourceMetadata
}

const SCOPED = new Set(['oauth2', 'openIdConnect'])

/**
 * Creates a guard for the operations of `doc`: per operation, the alternatives of
 * {@link operationScopes} made only of `oauth2`/`openIdConnect` schemes; a token passes when it
 * holds every scope of one of them. The JWKS is fetched on first use, cached, and fetched again
 * when a token names an unknown `kid` (key rotation) or it is older than `jwksMaxAge`. A failed
 * fetch is retried after a growing delay (`jwksRetryDelay`), not on every check; meanwhile keys of
 * the last good JWKS keep verifying. Times are read from `now`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-4 (validating JWT access tokens)
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3 (the WWW-Authenticate response)
 * @example
 * ```ts
 * const guard = createOperationGuard(await loadDocument('asyncapi.yaml'), {
 *   issuer: 'https://as.example', audience: 'https://broker.example', jwksUri: 'https://as.example/jwks',
 * })
 * const result = await guard.check('sendMessage', request.headers.authorization)
 * if (!result.ok) reply.code(result.error.status).header('www-authenticate', result.error.wwwAuthenticate).send()
 * ```
 */
export function createOperationGuard(doc: AsyncApiDocument, options: GuardOptions): OperationGuard {
  assertDocument(doc, 'createOperationGuard')
  const checked = checkOptions(options)
  const operations = new Map<string, string[][]>()
  for (const op of operationScopes(doc)) {
    if (op.alternatives.length === 0) {
      operations.set(op.id, [])
      continue
    }
    const bearer = op.alternatives.filter((a) => a.requirements.length > 0 && a.requirements.every((r) => r.type !== undefined && SCOPED.has(r.type)))
    // An operation secured only by other schemes (user/password, API keys…) cannot be authorized by an access token.
    if (bearer.length > 0) operations.set(op.id, uniqueSets(bearer.map((a) => [...a.scopes])))
  }
  const jwks = remoteKeySet(checked.jwksUri, {
    timeout: checked.jwksTimeout,
    cooldown: checked.jwksCooldown,
    maxAge: checked.jwksMaxAge,
    retryDelay: checked.jwksRetryDelay,
    retryMaxDelay: checked.jwksRetryMaxDelay,
    now: checked.now,
  })
  // Every challenge says where the metadata is (RFC 9728 §5.1), with the realm when one is set.
  const challengeBase = { ...(checked.realm === undefined ? {} : { realm: checked.realm }), ...(checked.resourceMetadata === undefined ? {} : { resourceMetadata: checked.resourceMetadata }) }
  const metadata: ProtectedResourceMetadata = Object.freeze({
    resource: checked.audience,
    authorization_servers: Object.freeze([checked.issuer]),
    scopes_supported: Object.freeze([...new Set([...operations.values()].flat(2))].sort()),
    bearer_methods_supported: Object.freeze(['header'] as const),
    dpop_signing_alg_values_supported: Object.freeze([...checked.algorithms]),
    ...(options.resourceName === undefined ? {} : { resource_name: options.resourceName }),
  })
  const seenProofs = new SeenProofs()

  async function check(operationId: string, authorization: string | readonly string[] | undefined, dpop?: DpopRequest): Promise<GuardResult> {
    const alternatives = operations.get(operationId)
    if (alternatives === undefined) {
      throw new TypeError(`OperationGuard.check: the document declares no operation ${JSON.stringify(operationId)} that an access token can authorize`)
    }
    const refuse = (error: BearerError): GuardResult => ({ ok: false, operation: operationId, error })
    if (alternatives.length === 0) return { ok: true, operation: operationId, claims: undefined, scopes: [] }
    const parsed = parseAuthorization(authorization)
    if (parsed.kind === 'none') return refuse(bearerError(undefined, 'an access token is required', challengeBase))
    if (parsed.kind === 'malformed') return refuse(bearerError('invalid_request', parsed.description, challengeBase))
    let payload: JWTPayload
    try {
      ;({ payload } = await jwtVerify(parsed.token, jwks, {
        issuer: checked.issuer,
        audience: checked.audience,
        algorithms: [...checked.algorithms],
        typ: 'at+jwt',
        clockTolerance: checked.clockTolerance,
        currentDate: checked.now(),
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
      }))
    } catch (error) {
      if (error instanceof JwksUnavailable) {
        const retryAfter = Math.max(1, Math.ceil((error.retryAt - checked.now().getTime()) / 1000))
        return refuse(bearerError('temporarily_unavailable', "the authorization server's keys cannot be fetched; try again later", { ...challengeBase, retryAfter }))
      }
      const reason = invalidTokenReason(error)
      if (reason === undefined) throw error
      return refuse(bearerError('invalid_token', reason, challengeBase))
    }
    // RFC 9449 §7.1: a bound token only with a proof of its key; the DPoP scheme only for a bound token.
    const bound = boundJkt(payload)
    let proved: string | undefined
    if (parsed.scheme === 'Bearer' && bound !== undefined) return refuse(bearerError('invalid_token', 'the access token is DPoP-bound: present it with a DPoP proof', challengeBase))
    if (parsed.scheme === 'DPoP') {
      const challenge = { ...challengeBase, dpopAlgs: checked.algorithms }
      if (bound === undefined) return refuse(bearerError('invalid_token', 'the access token is not DPoP-bound: present it as a Bearer token', challenge))
      let jkt: string
      try {
        jkt = dpop !== undefined && 'boundKey' in dpop ? dpop.boundKey : await verifyProof(dpop ?? { proof: undefined, method: '', url: '' }, parsed.token, checked.algorithms, checked.now(), seenProofs)
      } catch (error) {
        if (error instanceof DpopProofError) return refuse(bearerError('invalid_dpop_proof', error.message, challenge))
        throw error
      }
      if (jkt !== bound) return refuse(bearerError('invalid_token', 'the DPoP proof key is not the key the access token is bound to', challenge))
      proved = jkt
    }
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter((s) => s !== '') : []
    const held = new Set(scopes)
    if (!alternatives.some((required) => required.every((s) => held.has(s)))) {
      // RFC 6750 §3: scope= names the scopes needed; with several ways, the smallest.
      const needed = alternatives.reduce((a, b) => (b.length < a.length ? b : a))
      const error = bearerError('insufficient_scope', `the operation ${operationId} needs the scope ${needed.join(' ')}`, { ...challengeBase, scope: needed.join(' ') })
      return proved === undefined ? refuse(error) : { ok: false, operation: operationId, error, dpopJkt: proved }
    }
    return { ok: true, operation: operationId, claims: payload as AccessTokenClaims, scopes, ...(proved === undefined ? {} : { dpopJkt: proved }) }
  }

  return { operations, check, metadata }
}

/** Why jose refused the token, as a safe description; undefined for failures that are not the token's. */
function invalidTokenReason(error: unknown): string | undefined {
  if (error instanceof errors.JWTExpired) return 'the access token has expired'
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return 'the access token is not meant for this resource server'
    if (error.claim === 'iss') return 'the access token was not issued by the expected authorization server'
    if (error.claim === 'typ') return 'the token is not an access token (typ at+jwt)'
    return `the access token's ${error.claim.replace(/[^a-z_]/g, '')} claim is invalid`
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'the access token is signed with an algorithm that is not allowed'
  if (error instanceof errors.JWKSNoMatchingKey) return 'the access token is signed with an unknown key'
  if (error instanceof errors.JOSEError) return 'the access token is invalid'
  return undefined
}

function uniqueSets(sets: string[][]): string[][] {
  const seen = new Map<string, string[]>()
  for (const set of sets) seen.set([...set].sort().join(' '), [...set].sort())
  return [...seen.values()]
}

type JwksTimes = keyof typeof JWKS_DEFAULTS

type CheckedOptions = Required<Pick<GuardOptions, 'issuer' | 'audience' | 'clockTolerance' | 'now' | JwksTimes>> &
  Pick<GuardOptions, 'realm'> & { jwksUri: URL; algorithms: readonly string[]; resourceMetadata: string | undefined }

/** Options are checked on entry, before any I/O: a mistake is a TypeError. */
function checkOptions(options: GuardOptions): CheckedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('createOperationGuard: options are required')
  const { issuer, audience, jwksUri } = options
  if (typeof issuer !== 'string' || !URL.canParse(issuer)) throw new TypeError('createOperationGuard: options.issuer must be an absolute URL')
  if (typeof audience !== 'string' || audience === '') throw new TypeError('createOperationGuard: options.audience must be a non-empty string')
  if (!(jwksUri instanceof URL) && (typeof jwksUri !== 'string' || !URL.canParse(jwksUri))) throw new TypeError('createOperationGuard: options.jwksUri must be an absolute URL')
  const url = new URL(jwksUri)
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('createOperationGuard: options.jwksUri must be http(s)')
  const algorithms = options.algorithms ?? ASYMMETRIC_ALGORITHMS
  if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every((a) => (ASYMMETRIC_ALGORITHMS as readonly string[]).includes(a))) {
    throw new TypeError(`createOperationGuard: options.algorithms must be a non-empty subset of ${ASYMMETRIC_ALGORITHMS.join(', ')}`)
  }
  const clockTolerance = options.clockTolerance ?? DEFAULT_CLOCK_TOLERANCE
  if (!Number.isInteger(clockTolerance) || clockTolerance < 0 || clockTolerance > 300) throw new TypeError('createOperationGuard: options.clockTolerance must be 0–300 seconds')
  const times: Record<JwksTimes, number> = { ...JWKS_DEFAULTS }
  for (const name of Object.keys(JWKS_DEFAULTS) as JwksTimes[]) {
    const value = options[name]
    if (value === undefined) continue
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new TypeError(`createOperationGuard: options.${name} must be a number of milliseconds`)
    times[name] = value
  }
  if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('createOperationGuard: options.now must be a function')
  const { resourceMetadata } = options
  if (resourceMetadata !== undefined && !(resourceMetadata instanceof URL) && (typeof resourceMetadata !== 'string' || !URL.canParse(resourceMetadata))) {
    throw new TypeError('createOperationGuard: options.resourceMetadata must be an absolute URL')
  }
  if (options.resourceName !== undefined && (typeof options.resourceName !== 'string' || options.resourceName === '')) throw new TypeError('createOperationGuard: options.resourceName must be a non-empty string')
  return {
    issuer,
    audience,
    jwksUri: url,
    algorithms,
    clockTolerance,
    now: options.now ?? (() => new Date()),
    realm: options.realm,
    resourceMetadata: resourceMetadata === undefined ? undefined : new URL(resourceMetadata).href,
    ...times,
  }
}
