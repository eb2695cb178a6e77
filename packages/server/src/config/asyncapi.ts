/**
 * An AsyncAPI document as a configuration source (`--asyncapi FILE [--scheme NAME]`): the scopes of
 * one oauth2 authorization code scheme, and the endpoint paths its URLs name when they lie under
 * the issuer. Read with the fast path of `@authcode/asyncapi` (the scheme's oauth2 schema files
 * only, never the whole-document schema) so that start-up stays fast.
 */
import { readFileSync } from 'node:fs'
import { AsyncApiError, chooseAuthorizationCodeScheme, parseDocument, readAuthorizationCodeSchemes, type AuthorizationCodeScheme } from '@authcode/asyncapi'
import { ENDPOINTS, type EndpointPaths } from '../protocol/endpoints.js'
import { ConfigError } from './errors.js'

/** What the document contributes to the configuration. */
export interface AsyncApiSettings {
  /** The document's absolute path. */
  document: string
  /** The scheme used (`components.securitySchemes` key). */
  scheme: string
  /** Scope name → description: the scheme's scopes, plus `openid`. */
  scopes: Record<string, string>
  /** Whether `openid` was added (the document does not declare it). */
  openidAdded: boolean
  /** Endpoint paths (relative to the issuer) the document's URLs name. */
  endpoints: Partial<EndpointPaths>
  /** One line per document URL this server does not serve (another deployment, another path). */
  warnings: string[]
}

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/
/** Plain path segments only: no Fastify route syntax (`:param`, `*`), no percent-encoding. */
const PLAIN_PATH = /^(\/[A-Za-z0-9._~-]+)+$/
/** Paths the server uses for other routes. */
const RESERVED = [/^\/\.well-known(\/|$)/, /^\/interaction(\/|$)/, /^\/assets(\/|$)/, /^\/authorize\/resume(\/|$)/, /^\/(healthz|readyz)$/]

/**
 * @param file the document's absolute path
 * @param schemeName `--scheme`; required when the document has several authorization code schemes
 * @param issuer the checked issuer (no trailing slash)
 * @param openidDescription the description of `openid` when the document does not declare it
 */
export function readAsyncApiSettings(file: string, schemeName: string | undefined, issuer: string, openidDescription: string): AsyncApiSettings {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (cause) {
    throw new ConfigError(`asyncapi: cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  let read
  try {
    read = readAuthorizationCodeSchemes(parseDocument(text, { source: file }))
  } catch (error) {
    if (error instanceof AsyncApiError) throw new ConfigError(`asyncapi: ${error.message}`)
    throw error
  }
  const scheme = chooseScheme(file, read.schemes, schemeName, read.problems.map((p) => `${p.pointer}: ${p.message}`))

  const scopes: Record<string, string> = {}
  for (const { name, description } of scheme.scopes) {
    if (!SCOPE_TOKEN.test(name)) throw new ConfigError(`asyncapi: scheme ${scheme.name}: scope ${JSON.stringify(name)} is not a valid scope token (RFC 6749 §3.3)`)
    // The consent page shows the description; an empty one would show nothing.
    scopes[name] = description.trim() === '' ? name : description.trim().slice(0, 200)
  }
  const openidAdded = !('openid' in scopes)
  if (openidAdded) scopes.openid = openidDescription

  const base = new URL(issuer)
  const basePath = base.pathname === '/' ? '' : base.pathname.replace(/\/$/, '')
  const warnings: string[] = []
  const endpoints: Partial<EndpointPaths> = {}
  /** The path relative to the issuer at which this server can serve `url`, or a reason it cannot. */
  const servedPath = (url: string): { path: string } | { why: string } => {
    const u = new URL(url)
    if (u.origin !== base.origin) return { why: `it is on ${u.origin}, not on the issuer's origin ${base.origin}` }
    if (u.search !== '' || u.hash !== '') return { why: 'it has a query or fragment' }
    if (basePath !== '' && !u.pathname.startsWith(`${basePath}/`)) return { why: `its path is not under the issuer's path ${basePath}` }
    const path = u.pathname.slice(basePath.length)
    if (!PLAIN_PATH.test(path)) return { why: 'its path is not plain segments of A-Z a-z 0-9 . _ ~ -' }
    if (RESERVED.some((r) => r.test(path))) return { why: `its path ${path} is used by another route of this server` }
    return { path }
  }
  const place = (field: 'authorizationUrl' | 'tokenUrl', key: 'authorization' | 'token') => {
    const served = servedPath(scheme[field])
    if ('path' in served) endpoints[key] = served.path
    else warnings.push(`${field} ${scheme[field]} is not served by this server (${served.why}): the document describes another deployment; this server's ${key} endpoint is ${issuer}${ENDPOINTS[key]}`)
  }
  place('authorizationUrl', 'authorization')
  place('tokenUrl', 'token')
  if (endpoints.authorization !== undefined && endpoints.authorization === endpoints.token) {
    throw new ConfigError(`asyncapi: scheme ${scheme.name}: authorizationUrl and tokenUrl name the same path ${endpoints.authorization}`)
  }
  for (const [key, path] of Object.entries(endpoints)) {
    const other = Object.entries(ENDPOINTS).find(([k, p]) => k !== key && p === path && !(k in endpoints))
    if (other) throw new ConfigError(`asyncapi: scheme ${scheme.name}: ${key} path ${path} is this server's ${other[0]} endpoint`)
  }
  if (scheme.refreshUrl !== undefined) {
    const tokenPath = endpoints.token ?? ENDPOINTS.token
    const served = servedPath(scheme.refreshUrl)
    if (!('path' in served) || served.path !== tokenPath) {
      warnings.push(`refreshUrl ${scheme.refreshUrl} is not served by this server (${'why' in served ? served.why : `it is not the token endpoint's path ${tokenPath}`}): refresh tokens are redeemed at ${issuer}${tokenPath}`)
    }
  }
  return { document: file, scheme: scheme.name, scopes, openidAdded, endpoints, warnings }
}

function chooseScheme(file: string, schemes: readonly AuthorizationCodeScheme[], name: string | undefined, problems: string[]): AuthorizationCodeScheme {
  // The rule (the named scheme, else the only one) is @authcode/asyncapi's, shared with the client; the words are the CLI's.
  const choice = chooseAuthorizationCodeScheme(schemes, name)
  if (choice.ok) return choice.scheme
  const names = choice.available
  const detail = problems.length === 0 ? '' : ` (problems: ${problems.join('; ')})`
  switch (choice.code) {
    case 'UNKNOWN_SCHEME':
      throw new ConfigError(
        `asyncapi: ${file} has no valid oauth2 authorization code scheme named ${choice.name}; it has: ${names.length === 0 ? '(none)' : names.join(', ')}${detail}`,
      )
    case 'NO_SCHEME':
      throw new ConfigError(`asyncapi: ${file} has no valid oauth2 scheme with an authorization code flow${detail}`)
    case 'SEVERAL_SCHEMES':
      throw new ConfigError(`asyncapi: ${file} has oauth2 authorization code schemes of different authorization servers: ${names.join(', ')}; choose one with --scheme NAME`)
  }
}
