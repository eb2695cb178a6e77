/**
 * The authorization server's metadata, from discovery (RFC 8414, falling back to OpenID Discovery)
 * or from endpoints given by hand. Discovered metadata is cached; concurrent callers share one
 * request; a stale copy is served when a refetch fails. With an AsyncAPI source the discovered
 * metadata must also agree with the document.
 */
import * as oauth from 'oauth4webapi'
import { checkEndpoint, type EndpointsSource, type ResolvedAsyncApiSource, type ResolvedConfig } from './options.js'
import { InvalidResponseError } from '../errors.js'
import { requestOptions, toClientError } from '../internal/http.js'

/** Metadata fields holding URLs the client may call; each must be https (or http on loopback). */
const URL_FIELDS = [
  'authorization_endpoint',
  'token_endpoint',
  'revocation_endpoint',
  'userinfo_endpoint',
  'jwks_uri',
  'end_session_endpoint',
  'pushed_authorization_request_endpoint',
] as const

export interface ServerMetadata {
  /** oauth4webapi's metadata object; kept stable so its JWKS cache (keyed by it) works. */
  readonly as: oauth.AuthorizationServer
  /** Same as `as` but refresh requests go to `refreshEndpoint` when one was configured. */
  readonly refreshAs: oauth.AuthorizationServer
}

function fromEndpoints(source: EndpointsSource): ServerMetadata {
  const as: oauth.AuthorizationServer = {
    issuer: source.issuer,
    authorization_endpoint: source.authorizationEndpoint,
    token_endpoint: source.tokenEndpoint,
    ...(source.revocationEndpoint === undefined ? {} : { revocation_endpoint: source.revocationEndpoint }),
    ...(source.userinfoEndpoint === undefined ? {} : { userinfo_endpoint: source.userinfoEndpoint }),
    ...(source.jwksUri === undefined ? {} : { jwks_uri: source.jwksUri }),
    ...(source.endSessionEndpoint === undefined ? {} : { end_session_endpoint: source.endSessionEndpoint }),
    ...(source.authorizationResponseIssParameterSupported === undefined ? {} : { authorization_response_iss_parameter_supported: source.authorizationResponseIssParameterSupported }),
    ...(source.idTokenSigningAlgValuesSupported === undefined ? {} : { id_token_signing_alg_values_supported: source.idTokenSigningAlgValuesSupported }),
  }
  return withRefresh(as, source.refreshEndpoint)
}

function withRefresh(as: oauth.AuthorizationServer, refreshEndpoint: string | undefined): ServerMetadata {
  return Object.freeze({ as, refreshAs: refreshEndpoint === undefined ? as : { ...as, token_endpoint: refreshEndpoint } })
}

/**
 * RFC 8414 §3 first; on a non-200 answer, OpenID Discovery 1.0 §4. The document's `issuer` must equal
 * the configured one (RFC 8414 §3.3), checked by oauth4webapi; then every endpoint URL is checked.
 */
async function discover(config: ResolvedConfig): Promise<ServerMetadata> {
  const issuer = config.issuer
  let as: oauth.AuthorizationServer
  try {
    let response = await oauth.discoveryRequest(issuer, { ...requestOptions(config, issuer), algorithm: 'oauth2' })
    if (response.status !== 200) {
      await response.body?.cancel()
      response = await oauth.discoveryRequest(issuer, { ...requestOptions(config, issuer), algorithm: 'oidc' })
    }
    as = await oauth.processDiscoveryResponse(issuer, response)
  } catch (error) {
    throw toClientError(error, 'discovery')
  }
  for (const field of URL_FIELDS) {
    const value = as[field]
    if (value === undefined) continue
    try {
      checkEndpoint(field, value)
    } catch {
      throw new InvalidResponseError('DISCOVERY_FAILED', `metadata discovery failed: ${field} is not an https URL`)
    }
  }
  if (as.authorization_endpoint === undefined || as.token_endpoint === undefined) {
    throw new InvalidResponseError('DISCOVERY_FAILED', 'metadata discovery failed: the server has no authorization or token endpoint')
  }
  return withRefresh(as, undefined)
}

function sameUrl(a: string, b: unknown): boolean {
  if (typeof b !== 'string') return false
  try {
    return new URL(a).href === new URL(b).href
  } catch {
    return false
  }
}

/**
 * Discovery at the document's issuer, then every point where the document and the server's
 * metadata must agree; one `DISCOVERY_MISMATCH` error lists every disagreement. The document's
 * `refreshUrl`, when declared, is where refresh requests go (it equals `token_endpoint`).
 */
async function discoverFromDocument(config: ResolvedConfig, source: ResolvedAsyncApiSource): Promise<ServerMetadata> {
  const { as } = await discover(config)
  const { scheme } = source
  const found: string[] = []
  if (!sameUrl(scheme.authorizationUrl, as.authorization_endpoint)) {
    found.push(`authorizationUrl ${scheme.authorizationUrl} is not the server's authorization_endpoint ${String(as.authorization_endpoint)}`)
  }
  if (!sameUrl(scheme.tokenUrl, as.token_endpoint)) {
    found.push(`tokenUrl ${scheme.tokenUrl} is not the server's token_endpoint ${String(as.token_endpoint)}`)
  }
  if (scheme.refreshUrl !== undefined && !sameUrl(scheme.refreshUrl, as.token_endpoint)) {
    found.push(`refreshUrl ${scheme.refreshUrl} is not the server's token_endpoint ${String(as.token_endpoint)}`)
  }
  const supported = as.scopes_supported
  if (Array.isArray(supported)) {
    const missing = scheme.scopes.map((s) => s.name).filter((name) => !supported.includes(name))
    if (missing.length > 0) found.push(`scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not in the server's scopes_supported`)
  }
  if (found.length > 0) {
    const origin = source.issuerFrom === 'x-issuer' ? 'x-issuer' : "the authorizationUrl's origin"
    throw new InvalidResponseError(
      'DISCOVERY_MISMATCH',
      `the metadata of ${as.issuer} (issuer from ${origin}) disagrees with the AsyncAPI document's scheme ${scheme.name}: ${found.join('; ')}`,
    )
  }
  return withRefresh(as, scheme.refreshUrl)
}

/** Hands out the metadata, discovering it when needed. */
export class MetadataCache {
  readonly #config: ResolvedConfig
  #current: { metadata: ServerMetadata; fetchedAt: number } | undefined
  #pending: Promise<ServerMetadata> | undefined

  constructor(config: ResolvedConfig) {
    this.#config = config
    if (config.server.kind === 'endpoints') this.#current = { metadata: fromEndpoints(config.server), fetchedAt: Number.POSITIVE_INFINITY }
  }

  async get(): Promise<ServerMetadata> {
    const current = this.#current
    if (current !== undefined && (current.fetchedAt === Number.POSITIVE_INFINITY || this.#config.now() - current.fetchedAt < this.#config.discoveryCacheTtl)) {
      return current.metadata
    }
    const server = this.#config.server
    this.#pending ??= (server.kind === 'asyncapi' ? discoverFromDocument(this.#config, server) : discover(this.#config))
      .then((metadata) => {
        // Keep the same object when nothing changed so oauth4webapi's JWKS cache survives.
        const same = current !== undefined && JSON.stringify(current.metadata.as) === JSON.stringify(metadata.as)
        const kept = same ? current.metadata : metadata
        this.#current = { metadata: kept, fetchedAt: this.#config.now() }
        return kept
      })
      .catch((error: unknown) => {
        if (current !== undefined) return current.metadata
        throw error
      })
      .finally(() => {
        this.#pending = undefined
      })
    return this.#pending
  }
}
