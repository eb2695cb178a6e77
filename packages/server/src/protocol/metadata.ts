/**
 * Authorization server metadata (RFC 8414 §2) and OpenID Provider metadata (OIDC Discovery §3):
 * the source of truth for every endpoint URL. Only what the server does is listed: no `plain`
 * PKCE, no implicit or password grants, no `none` signatures.
 */
import { ID_TOKEN_ALGS } from '../tokens/algorithms.js'
import { ACCESS_TOKEN_ALGORITHMS } from './access-token.js'
import { CLIENT_ASSERTION_ALGS } from './client-assertion.js'
import { DPOP_ALGS } from './dpop.js'
import type { EndpointPaths } from './endpoints.js'
import { SUPPORTED_GRANT_TYPES } from './grants/index.js'

/** What the metadata is built from (`ServerConfig` has it): the issuer, the paths in use, the scopes offered. */
export interface MetadataSettings {
  readonly issuer: string
  readonly endpoints: Readonly<EndpointPaths>
  /** Scope name → description; the names are listed. */
  readonly scopes: Readonly<Record<string, string>>
  /** The languages of the pages (OIDC Discovery §3 `ui_locales_supported`), when the server has pages. */
  readonly uiLocales?: readonly string[]
  /** RFC 9126 §5 `require_pushed_authorization_requests`: PAR for every client. */
  readonly par?: { readonly required: boolean }
  /** OIDC Discovery §3 `acr_values_supported` (`passkeys-assurance.ts`). */
  readonly acrValues?: readonly string[]
  /** RFC 7591: the registration endpoint is listed unless registration is `off`. */
  readonly registration?: { readonly mode: 'off' | 'token' | 'open' }
}

export const CLAIMS_SUPPORTED = ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'azp', 'sid', 'amr', 'acr', 'name', 'preferred_username', 'updated_at', 'email', 'email_verified']

export function serverMetadata(config: MetadataSettings): Record<string, unknown> {
  const url = (path: string) => `${config.issuer}${path}`
  const paths = config.endpoints
  const clientAuth = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']
  const assertionAlgs = [...CLIENT_ASSERTION_ALGS]
  return {
    issuer: config.issuer,
    authorization_endpoint: url(paths.authorization),
    token_endpoint: url(paths.token),
    revocation_endpoint: url(paths.revocation),
    introspection_endpoint: url(paths.introspection),
    // RFC 9126 §5
    pushed_authorization_request_endpoint: url(paths.pushedAuthorization),
    require_pushed_authorization_requests: config.par?.required ?? false,
    userinfo_endpoint: url(paths.userinfo),
    jwks_uri: url(paths.jwks),
    // OpenID RP-Initiated Logout §2.1; Back-Channel Logout §2.1: logout tokens carry `sid`, as ID tokens do.
    end_session_endpoint: url(paths.endSession),
    // RFC 8414 §2, RFC 7591 §3
    ...((config.registration?.mode ?? 'off') === 'off' ? {} : { registration_endpoint: url(paths.registration) }),
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    scopes_supported: Object.keys(config.scopes),
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: [...SUPPORTED_GRANT_TYPES],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: clientAuth,
    token_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    revocation_endpoint_auth_methods_supported: clientAuth,
    revocation_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    introspection_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    // RFC 9449 §5.1
    dpop_signing_alg_values_supported: [...DPOP_ALGS],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...ID_TOKEN_ALGS],
    access_token_signing_alg_values_supported: [...ACCESS_TOKEN_ALGORITHMS],
    claims_supported: CLAIMS_SUPPORTED,
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    prompt_values_supported: ['none', 'login', 'consent', 'select_account'],
    ...(config.uiLocales === undefined ? {} : { ui_locales_supported: [...config.uiLocales] }),
    ...(config.acrValues === undefined ? {} : { acr_values_supported: [...config.acrValues] }),
    // RFC 9207 §3
    authorization_response_iss_parameter_supported: true,
  }
}
