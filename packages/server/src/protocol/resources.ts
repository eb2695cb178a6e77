/**
 * Resource indicators (RFC 8707): a client names the protected resource it wants a token for with
 * `resource`, at the authorization endpoint (the resources the user consents to, kept with the
 * grant) and at the token endpoint (the one resource an access token is for). The access token's
 * `aud` is then exactly that resource, its scopes only those the resource allows, so a token for
 * one resource is refused at another (RFC 9700 §2.3). Only resources in the server's `resources`
 * list are known; without `resource` a token has the server's default audience, as before.
 */
import { invalidScope, invalidTarget } from './errors.js'
import type { Params } from './params.js'

/** One protected resource the server issues tokens for (the config file's `resources`). */
export interface ResourceSettings {
  /** The resource indicator: an absolute URI without a fragment, the tokens' `aud`. */
  readonly uri: string
  /** What the consent page calls it. */
  readonly name: string
  /** The scopes a token for it may carry. */
  readonly scopes: readonly string[]
  /** Seconds its access tokens live, when not the server's `lifetimes.accessToken`. */
  readonly accessTokenLifetime?: number
}

/** The settings resource indicators read (`ServerConfig` has them); none configured when absent. */
export interface ResourceIndicatorSettings {
  readonly resources?: readonly ResourceSettings[]
}

/** RFC 8707 §2: most `resource` values one request may carry. */
export const MAX_RESOURCES = 10

/**
 * RFC 8707 §2: "an absolute URI … MUST NOT include a fragment component". Returns the problem, or
 * undefined for a usable indicator (shared with the configuration's check of `resources`).
 */
export function resourceUriProblem(value: string): string | undefined {
  if (value.includes('#')) return 'must not include a fragment'
  // An absolute URI has a scheme; URL.parse accepts nothing relative without a base.
  if (!URL.canParse(value) || !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value)) return 'must be an absolute URI'
  return undefined
}

/** The request's `resource` values (RFC 8707 §2), each well formed, duplicates folded. */
export function readResourceParameters(params: Params): string[] {
  const values = params.all('resource')
  if (values.length > MAX_RESOURCES) throw invalidTarget('too many resource values')
  for (const value of values) {
    if (resourceUriProblem(value) !== undefined) throw invalidTarget('resource must be an absolute URI without a fragment')
  }
  return [...new Set(values)]
}

/** The configured resource `uri` names, if any. */
export function knownResource(settings: ResourceIndicatorSettings, uri: string): ResourceSettings | undefined {
  return settings.resources?.find((resource) => resource.uri === uri)
}

/**
 * At the authorization endpoint: the resources asked for, each known to the server, and each
 * allowing at least one of the requested scopes (a token for it would otherwise carry nothing).
 * @throws OAuthError `invalid_target`, `invalid_scope`
 * @see https://www.rfc-editor.org/rfc/rfc8707#section-2.1
 */
export function requestedResources(params: Params, scopes: readonly string[], settings: ResourceIndicatorSettings): string[] {
  const uris = readResourceParameters(params)
  for (const uri of uris) {
    const resource = knownResource(settings, uri)
    if (resource === undefined) throw invalidTarget('the resource is not known to this server')
    if (!scopes.some((scope) => resource.scopes.includes(scope))) throw invalidScope('none of the requested scopes is allowed at the resource')
  }
  return uris
}

/** Whom an access token is for, and what it may do there. */
export interface AccessTokenTarget {
  /** The token's `aud`; undefined: the server's default audience. */
  audience: string | undefined
  /** The token's scopes. */
  scopes: string[]
  /** Seconds it lives, when the resource sets it. */
  lifetime: number | undefined
}

/**
 * At the token endpoint (authorization code and refresh): the one resource the access token is
 * for. It must be one the authorization named (a refresh may narrow to any of them, never add
 * one); it may be omitted when the authorization named exactly one. The token's scopes are the
 * granted `scopes` the resource allows.
 * @param granted the resources of the grant (none: tokens keep the default audience)
 * @throws OAuthError `invalid_target`, or `invalid_scope` when the resource allows none of `scopes`
 * @see https://www.rfc-editor.org/rfc/rfc8707#section-2.2
 */
export function accessTokenTarget(params: Params, granted: readonly string[], scopes: readonly string[], settings: ResourceIndicatorSettings): AccessTokenTarget {
  const requested = readResourceParameters(params)
  if (requested.length > 1) throw invalidTarget('an access token is for one resource: send one resource parameter')
  const [asked] = requested
  if (granted.length === 0) {
    // The user was not asked about any resource: naming one now would widen the grant.
    if (asked !== undefined) throw invalidTarget('the resource was not named in the authorization request')
    return { audience: undefined, scopes: [...scopes], lifetime: undefined }
  }
  if (asked === undefined && granted.length > 1) throw invalidTarget('the grant is for several resources: name one with the resource parameter')
  const uri = asked ?? granted[0] ?? ''
  if (!granted.includes(uri)) throw invalidTarget('the resource was not named in the authorization request')
  // Removed from the configuration since: no more tokens for it.
  const resource = knownResource(settings, uri)
  if (resource === undefined) throw invalidTarget('the resource is not known to this server')
  const allowed = scopes.filter((scope) => resource.scopes.includes(scope))
  if (allowed.length === 0) throw invalidScope('none of the requested scopes is allowed at the resource')
  return { audience: resource.uri, scopes: allowed, lifetime: resource.accessTokenLifetime }
}

/** Every audience the server's access tokens may carry: the default and each resource's. */
export function accessTokenAudiences(defaultAudience: string, settings: ResourceIndicatorSettings): string[] {
  return [defaultAudience, ...(settings.resources ?? []).map((resource) => resource.uri)]
}
