/**
 * Authorization server metadata (RFC 8414 §2) and OpenID Provider metadata (OIDC Discovery §3):
 * the source of truth for every endpoint URL. Only what the server does is listed: no `plain`
 * PKCE, no implicit or password grants, no `none` signatures.
 */
import type { ServerConfig } from '../config/load.js'
import { ID_TOKEN_ALGS } from '../tokens/algorithms.js'
import { ACCESS_TOKEN_ALGORITHMS } from './access-token.js'
import { SUPPORTED_GRANT_TYPES } from './grants/index.js'

/** Endpoint paths relative to the issuer. */
export interface EndpointPaths {
  authorization: string
  token: string
  revocation: string
  introspection: string
  userinfo: string
  jwks: string
}

/**
 * The default endpoint paths, relative to the issuer. The paths in use are `config.endpoints`
 * (these, or those an AsyncAPI document names): routes and metadata read them from there.
 */
export const ENDPOINTS: Readonly<EndpointPaths> = Object.freeze({
  authorization: '/authorize',
  token: '/token',
  revocation: '/revoke',
  introspection: '/introspect',
  userinfo: '/userinfo',
  jwks: '/jwks',
})

export const CLAIMS_SUPPORTED = ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'azp', 'name', 'preferred_username', 'updated_at', 'email', 'email_verified']

export function serverMetadata(config: ServerConfig): Record<string, unknown> {
  const url = (path: string) => `${config.issuer}${path}`
  const paths = config.endpoints
  const clientAuth = ['client_secret_basic', 'client_secret_post', 'none']
  return {
    issuer: config.issuer,
    authorization_endpoint: url(paths.authorization),
    token_endpoint: url(paths.token),
    revocation_endpoint: url(paths.revocation),
    introspection_endpoint: url(paths.introspection),
    userinfo_endpoint: url(paths.userinfo),
    jwks_uri: url(paths.jwks),
    scopes_supported: Object.keys(config.scopes),
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: [...SUPPORTED_GRANT_TYPES],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: clientAuth,
    revocation_endpoint_auth_methods_supported: clientAuth,
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...ID_TOKEN_ALGS],
    access_token_signing_alg_values_supported: [...ACCESS_TOKEN_ALGORITHMS],
    claims_supported: CLAIMS_SUPPORTED,
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    prompt_values_supported: ['none', 'login', 'consent', 'select_account'],
    // RFC 9207 §3
    authorization_response_iss_parameter_supported: true,
  }
}
