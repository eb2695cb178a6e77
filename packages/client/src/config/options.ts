/**
 * Client configuration: the types a caller writes, and the one check that turns them into a frozen
 * `ResolvedConfig` at construction. A mistake here is a `TypeError` thrown before any I/O.
 */
import type { LoginStateStore } from '../login/state-store.js'
import type { TokenStore } from '../tokens/store.js'

/**
 * Where the authorization server's endpoints come from. `kind` leaves room for more sources (the
 * AsyncAPI issue adds `{ kind: 'asyncapi', … }`, which resolves to `endpoints`).
 */
export type ServerSource = DiscoverySource | EndpointsSource

/**
 * Endpoints read from the issuer's metadata: RFC 8414 `/.well-known/oauth-authorization-server`
 * first, then OpenID Discovery `/.well-known/openid-configuration`; the document's `issuer` must be
 * exactly this one. Cached for `discoveryCacheTtl` seconds.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3
 */
export interface DiscoverySource {
  kind: 'discovery'
  issuer: string
}

/** Endpoints given by hand (no discovery request). */
export interface EndpointsSource {
  kind: 'endpoints'
  /** The issuer identifier, compared with `iss` in callbacks and ID tokens. */
  issuer: string
  authorizationEndpoint: string
  tokenEndpoint: string
  /** Where refresh requests go when it is not the token endpoint (AsyncAPI `refreshUrl`). */
  refreshEndpoint?: string
  revocationEndpoint?: string
  userinfoEndpoint?: string
  jwksUri?: string
  endSessionEndpoint?: string
  /** RFC 9207: the server puts `iss` in every authorization response; a callback without it is refused. */
  authorizationResponseIssParameterSupported?: boolean
  idTokenSigningAlgValuesSupported?: string[]
}

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none'

/** The options of `new OAuthClient(options)`. Times are in seconds unless the name says `Ms`. */
export interface ClientOptions {
  server: ServerSource
  clientId: string
  /** Required unless `tokenEndpointAuthMethod` is `'none'` (a public client). */
  clientSecret?: string
  /** Default `client_secret_basic` (RFC 6749 §2.3.1); `none` for a public client. */
  tokenEndpointAuthMethod?: ClientAuthMethod
  /**
   * The registered redirect URI, absolute. Never derived from the incoming request's `Host`.
   */
  redirectUri: string
  /** Default scope of a login; default `openid`. */
  scope?: string
  /** Where the server sends the user after RP-initiated logout, when it offers that. */
  postLogoutRedirectUri?: string
  /** Login attempts in flight; default a `MemoryLoginStateStore` (one process only). */
  loginStateStore?: LoginStateStore
  /** Sessions' tokens; default a `MemoryTokenStore` (one process only). */
  tokenStore?: TokenStore
  /** The current time in seconds since the epoch; default the system clock. */
  now?: () => number
  /** Timeout of every back-channel request, in milliseconds; default 10000. */
  timeoutMs?: number
  /** How long a login attempt may take, in seconds; default 600. */
  loginTtl?: number
  /** An access token is refreshed this many seconds before it expires; default 60. */
  refreshLeeway?: number
  /** How long a refresh lock is held at most, in seconds (a crashed holder frees it then); default 30. */
  refreshLockTtl?: number
  /** How often a caller waiting on another process's refresh looks again, in milliseconds; default 50. */
  refreshLockPollMs?: number
  /** How long a caller waits on another process's refresh before giving up, in milliseconds; default 15000. */
  refreshLockWaitMs?: number
  /** How long discovered metadata is cached, in seconds; default 3600. */
  discoveryCacheTtl?: number
  /** The ID token signing algorithm registered for this client (`id_token_signed_response_alg`). */
  idTokenSigningAlg?: string
  /** Replaces `fetch` for every back-channel request (tracing, proxies, tests). */
  fetch?: (url: string, init: RequestInit) => Promise<Response>
}

export const DEFAULTS = Object.freeze({
  scope: 'openid',
  timeoutMs: 10_000,
  loginTtl: 600,
  refreshLeeway: 60,
  refreshLockTtl: 30,
  refreshLockPollMs: 50,
  refreshLockWaitMs: 15_000,
  discoveryCacheTtl: 3600,
})

export interface ResolvedConfig {
  readonly server: Readonly<ServerSource>
  readonly issuer: URL
  readonly clientId: string
  readonly clientSecret: string | undefined
  readonly authMethod: ClientAuthMethod
  readonly redirectUri: string
  readonly scope: string
  readonly postLogoutRedirectUri: string | undefined
  readonly now: () => number
  readonly timeoutMs: number
  readonly loginTtl: number
  readonly refreshLeeway: number
  readonly refreshLockTtl: number
  readonly refreshLockPollMs: number
  readonly refreshLockWaitMs: number
  readonly discoveryCacheTtl: number
  readonly idTokenSigningAlg: string | undefined
  readonly fetch: ((url: string, init: RequestInit) => Promise<Response>) | undefined
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

/** True for `localhost`, `127.0.0.0/8` and `[::1]`: the only hosts where plain http is allowed. */
export function isLoopback(url: URL): boolean {
  return LOOPBACK_HOSTS.has(url.hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(url.hostname)
}

/**
 * Parses an endpoint URL and refuses anything but https (or http on a loopback host).
 * Returns the URL; throws a `TypeError` naming the option.
 */
export function checkEndpoint(name: string, value: unknown): URL {
  const url = absoluteUrl(name, value)
  if (url.protocol === 'https:') return url
  if (url.protocol === 'http:' && isLoopback(url)) return url
  throw new TypeError(`${name} must be an https URL (plain http is allowed on localhost only): ${url.origin}`)
}

function absoluteUrl(name: string, value: unknown): URL {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${name} must be a non-empty string`)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new TypeError(`${name} must be an absolute URL`)
  }
  if (url.username !== '' || url.password !== '') throw new TypeError(`${name} must not contain credentials`)
  if (url.hash !== '' || value.includes('#')) throw new TypeError(`${name} must not have a fragment`)
  return url
}

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number`)
  return value
}

function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '') throw new TypeError(`${name} must be a non-empty string`)
  return value
}

function checkIssuer(name: string, value: unknown): URL {
  const url = checkEndpoint(name, value)
  if (url.search !== '') throw new TypeError(`${name} must not have a query (RFC 8414 §2)`)
  return url
}

function checkServer(server: unknown): Readonly<ServerSource> {
  if (typeof server !== 'object' || server === null) throw new TypeError('server must be an object: { kind: "discovery", issuer } or { kind: "endpoints", … }')
  const source = server as Partial<Omit<EndpointsSource, 'kind'>> & { kind?: unknown }
  switch (source.kind) {
    case 'discovery':
      checkIssuer('server.issuer', source.issuer)
      return Object.freeze({ kind: 'discovery', issuer: source.issuer as string })
    case 'endpoints': {
      checkIssuer('server.issuer', source.issuer)
      checkEndpoint('server.authorizationEndpoint', source.authorizationEndpoint)
      checkEndpoint('server.tokenEndpoint', source.tokenEndpoint)
      for (const key of ['refreshEndpoint', 'revocationEndpoint', 'userinfoEndpoint', 'jwksUri', 'endSessionEndpoint'] as const) {
        if (source[key] !== undefined) checkEndpoint(`server.${key}`, source[key])
      }
      const algs = source.idTokenSigningAlgValuesSupported
      if (algs !== undefined && (!Array.isArray(algs) || !algs.every((a) => typeof a === 'string' && a !== ''))) {
        throw new TypeError('server.idTokenSigningAlgValuesSupported must be an array of algorithm names')
      }
      return Object.freeze({ ...(source as EndpointsSource), ...(algs === undefined ? {} : { idTokenSigningAlgValuesSupported: Object.freeze([...algs]) as string[] }) })
    }
    default:
      throw new TypeError('server.kind must be "discovery" or "endpoints"')
  }
}

/** Checks every option once and returns the frozen configuration. */
export function resolveConfig(options: ClientOptions): ResolvedConfig {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
  const server = checkServer(options.server)
  const clientId = optionalString('clientId', options.clientId)
  if (clientId === undefined) throw new TypeError('clientId is required')
  const clientSecret = optionalString('clientSecret', options.clientSecret)
  const authMethod = options.tokenEndpointAuthMethod ?? 'client_secret_basic'
  if (!['client_secret_basic', 'client_secret_post', 'none'].includes(authMethod)) {
    throw new TypeError('tokenEndpointAuthMethod must be client_secret_basic, client_secret_post or none')
  }
  if (authMethod !== 'none' && clientSecret === undefined) {
    throw new TypeError(`clientSecret is required for a confidential client (${authMethod}); set tokenEndpointAuthMethod: 'none' for a public client`)
  }
  if (authMethod === 'none' && clientSecret !== undefined) {
    throw new TypeError("clientSecret is set but tokenEndpointAuthMethod is 'none': it would never be used")
  }
  // Kept exactly as given: the server compares redirect URIs as strings.
  checkEndpoint('redirectUri', options.redirectUri)
  const redirectUri = options.redirectUri
  if (options.postLogoutRedirectUri !== undefined) checkEndpoint('postLogoutRedirectUri', options.postLogoutRedirectUri)
  const postLogoutRedirectUri = options.postLogoutRedirectUri
  const scope = optionalString('scope', options.scope) ?? DEFAULTS.scope
  if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('now must be a function returning seconds since the epoch')
  if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new TypeError('fetch must be a function')
  const timeoutMs = positive('timeoutMs', options.timeoutMs, DEFAULTS.timeoutMs)
  const refreshLockTtl = positive('refreshLockTtl', options.refreshLockTtl, DEFAULTS.refreshLockTtl)
  if (refreshLockTtl * 1000 <= timeoutMs) {
    throw new TypeError('refreshLockTtl must be longer than timeoutMs: a lock must outlive the refresh request it guards')
  }
  return Object.freeze({
    server,
    issuer: new URL(server.issuer),
    clientId,
    clientSecret,
    authMethod,
    redirectUri,
    scope,
    postLogoutRedirectUri,
    now: options.now ?? (() => Math.floor(Date.now() / 1000)),
    timeoutMs,
    loginTtl: positive('loginTtl', options.loginTtl, DEFAULTS.loginTtl),
    refreshLeeway: positive('refreshLeeway', options.refreshLeeway, DEFAULTS.refreshLeeway),
    refreshLockTtl,
    refreshLockPollMs: positive('refreshLockPollMs', options.refreshLockPollMs, DEFAULTS.refreshLockPollMs),
    refreshLockWaitMs: positive('refreshLockWaitMs', options.refreshLockWaitMs, DEFAULTS.refreshLockWaitMs),
    discoveryCacheTtl: positive('discoveryCacheTtl', options.discoveryCacheTtl, DEFAULTS.discoveryCacheTtl),
    idTokenSigningAlg: optionalString('idTokenSigningAlg', options.idTokenSigningAlg),
    fetch: options.fetch,
  })
}
