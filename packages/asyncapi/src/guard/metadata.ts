/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728) for a guarded resource: what a client needs to
 * find the authorization server and ask for a token meant for this resource (its `resource`
 * indicator, RFC 8707), derived from the AsyncAPI document's operations.
 */

/** The path every protected resource's metadata lives under (RFC 9728 §3). */
export const PROTECTED_RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource'

/** RFC 9728 §2: the metadata the guard serves (only the members it can say). */
export interface ProtectedResourceMetadata {
  /** The resource identifier: the `aud` its tokens must carry, the `resource` a client asks for. */
  readonly resource: string
  /** The issuers of the authorization servers whose tokens it takes. */
  readonly authorization_servers: readonly string[]
  /** Every scope an operation of the document requires. */
  readonly scopes_supported: readonly string[]
  /** RFC 6750 §2.1 only: a token in a form body or a query is never read. */
  readonly bearer_methods_supported: readonly ['header']
  /** RFC 9449: the algorithms of the DPoP proofs it accepts for bound tokens. */
  readonly dpop_signing_alg_values_supported: readonly string[]
  /** A human-readable name, when one was given. */
  readonly resource_name?: string
}

/**
 * RFC 9728 §3.1: the metadata URL of `resource`, the well-known path inserted between its host and
 * its path (`https://api.example/mcp` → `https://api.example/.well-known/oauth-protected-resource/mcp`).
 * @throws {TypeError} `resource` is not an absolute http(s) URL without a query or fragment
 * @see https://www.rfc-editor.org/rfc/rfc9728#section-3.1
 */
export function protectedResourceMetadataUrl(resource: string | URL): string {
  const url = new URL(resource)
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search !== '' || url.hash !== '') {
    throw new TypeError('protectedResourceMetadataUrl: the resource must be an http(s) URL without a query or fragment')
  }
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
  return `${url.origin}${PROTECTED_RESOURCE_METADATA_PATH}${path}`
}
