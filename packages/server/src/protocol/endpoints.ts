/**
 * The endpoints' paths relative to the issuer, and their defaults. A leaf: configuration (which may
 * take other paths from an AsyncAPI document), the routes and the metadata all read it.
 */

/** Endpoint paths relative to the issuer. */
export interface EndpointPaths {
  authorization: string
  token: string
  revocation: string
  introspection: string
  userinfo: string
  jwks: string
  /** RFC 9126 §2. */
  pushedAuthorization: string
  /** OpenID RP-Initiated Logout §2 `end_session_endpoint`. */
  endSession: string
  /** RFC 7591 §3 `registration_endpoint`; a client's registration (RFC 7592) is under it, at `/{client_id}`. */
  registration: string
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
  pushedAuthorization: '/par',
  endSession: '/logout',
  registration: '/register',
})
