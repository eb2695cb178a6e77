/**
 * Client configuration: the types a caller writes, and the one check that turns them into a frozen
 * `ResolvedConfig` at construction. A mistake here is a `TypeError` thrown before any network
 * request (an AsyncAPI document given as a path is read here, synchronously, so that its mistakes
 * surface at construction too).
 */
import { createPrivateKey, KeyObject, webcrypto } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { isCryptoKey } from 'node:util/types'
import path from 'node:path'
import {
  AsyncApiError,
  chooseAuthorizationCodeScheme,
  parseDocument,
  readAuthorizationCodeSchemes,
  type AsyncApiDocument,
  type AuthorizationCodeScheme,
  type AuthorizationCodeSchemeChoice,
  type Problem,
} from '@authcode/asyncapi'
import type { FlowEventListener } from '../events.js'
import type { LoginStateStore } from '../login/state-store.js'
import type { TokenStore } from '../tokens/store.js'

/** Where the authorization server's endpoints come from. */
export type ServerSource = DiscoverySource | EndpointsSource | AsyncApiSource

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

/**
 * An `oauth2` security scheme with an `authorizationCode` flow in an AsyncAPI 2.x/3.x document.
 * AsyncAPI has no issuer field: the issuer is the scheme's `x-issuer` extension when present, else
 * the `authorizationUrl`'s origin. Its metadata is discovered there (RFC 8414, then OpenID
 * Discovery; cached like `discovery`) and must agree with the document: `authorization_endpoint` is
 * `authorizationUrl`, `token_endpoint` is `tokenUrl` (and `refreshUrl` when declared), and every
 * scope the scheme declares is in `scopes_supported` when the server lists scopes; otherwise an
 * `InvalidResponseError` with code `DISCOVERY_MISMATCH` names each disagreement. So the client still
 * checks `iss` (RFC 9207) and ID tokens against a known issuer.
 *
 * Without a `scope` option the client asks for the scheme's own `scopes` (3.x) when it lists some,
 * else every scope the flow declares, plus `openid` when the server lists it in `scopes_supported`.
 *
 * @see https://www.asyncapi.com/docs/reference/specification/v3.0.0#securitySchemeObject
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3
 */
export interface AsyncApiSource {
  kind: 'asyncapi'
  /** A document from `loadDocument`/`parseDocument` of `@authcode/asyncapi`, or a file path (read at construction). */
  document: AsyncApiDocument | string
  /** The security scheme's name (its key in `components.securitySchemes`); required when the document has several authorization code schemes. */
  scheme?: string
}

/** An `AsyncApiSource` as checked at construction. */
export interface ResolvedAsyncApiSource {
  readonly kind: 'asyncapi'
  readonly document: AsyncApiDocument
  readonly scheme: AuthorizationCodeScheme
  /** The issuer identifier: `x-issuer`, or the `authorizationUrl`'s origin. */
  readonly issuer: string
  readonly issuerFrom: 'x-issuer' | 'authorizationUrl'
}

/** `ResolvedConfig.server`: the source as given, or for AsyncAPI the scheme read from the document. */
export type ResolvedServerSource = Readonly<DiscoverySource> | Readonly<EndpointsSource> | ResolvedAsyncApiSource

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none' | 'private_key_jwt'

/** Algorithms this client signs with (client assertions, DPoP proofs): asymmetric only. */
export type SigningAlgorithm = 'ES256' | 'ES384' | 'PS256' | 'RS256' | 'EdDSA'
const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA']
/** DPoP keys are generated per session: elliptic curves only (small, fast to generate). */
export type DPoPAlgorithm = 'ES256' | 'ES384' | 'EdDSA'
const DPOP_ALGORITHMS: readonly DPoPAlgorithm[] = ['ES256', 'ES384', 'EdDSA']

/**
 * `private_key_jwt` (RFC 7523 §2.2, OIDC Core §9): the client signs an assertion with its private
 * key; the server holds the public key (the client's registered `jwks`).
 */
export interface PrivateKeyJwtAuthentication {
  method: 'private_key_jwt'
  /** The private key: a JWK (with `d`), a Node `KeyObject` or a WebCrypto `CryptoKey` of type private. */
  privateKey: (webcrypto.JsonWebKey & { kid?: string }) | KeyObject | webcrypto.CryptoKey
  /** The `kid` header of each assertion; default the JWK's `kid`. */
  kid?: string
  /** The signing algorithm; default the JWK's `alg`, else RS256 for RSA, ES256/ES384 by curve, EdDSA for Ed25519. */
  alg?: SigningAlgorithm
}

/** The checked `private_key_jwt` key, as a JWK (imported for signing on first use). */
export interface ResolvedPrivateKey {
  readonly jwk: Readonly<webcrypto.JsonWebKey>
  readonly kid: string | undefined
  readonly alg: SigningAlgorithm
}

/** The options of `new OAuthClient(options)`. Times are in seconds unless the name says `Ms`. */
export interface ClientOptions {
  server: ServerSource
  clientId: string
  /** Required unless `tokenEndpointAuthMethod` is `'none'` (a public client). */
  clientSecret?: string
  /** Default `client_secret_basic` (RFC 6749 §2.3.1); `none` for a public client. */
  tokenEndpointAuthMethod?: ClientAuthMethod
  /**
   * Client authentication by a private key instead of a secret: `{ method: 'private_key_jwt',
   * privateKey }`. Sets `tokenEndpointAuthMethod` to `private_key_jwt`; `clientSecret` must then be unset.
   */
  clientAuthentication?: PrivateKeyJwtAuthentication
  /**
   * Pushed authorization requests (RFC 9126): `'auto'` (default) pushes when the server's metadata
   * says `require_pushed_authorization_requests: true`, `'always'` pushes every login (the server must
   * have a `pushed_authorization_request_endpoint`), `'never'` does not. A pushed login's redirect
   * carries only `client_id` and `request_uri`.
   */
  pushedAuthorizationRequests?: 'auto' | 'always' | 'never'
  /**
   * DPoP (RFC 9449): `true` (ES256) or an algorithm. Each login gets its own key pair, kept in the
   * login state and then the session record (the private key as a JWK, server-side only); the code
   * exchange, refreshes, UserInfo and `fetch` send proofs with it, and the server binds the tokens to it.
   */
  dpop?: boolean | DPoPAlgorithm
  /**
   * The registered redirect URI, absolute. Never derived from the incoming request's `Host`.
   */
  redirectUri: string
  /** Default scope of a login; default `openid` (with an AsyncAPI source: the document's scopes, see `AsyncApiSource`). */
  scope?: string
  /** Where the server sends the user after RP-initiated logout, when it offers that. */
  postLogoutRedirectUri?: string
  /**
   * Login attempts in flight; default a `MemoryLoginStateStore` (one process only). When the app
   * runs several processes, the callback may reach another process than the login: share one store
   * (`SqliteLoginStateStore` from `@authcode/client/sqlite` on one machine, `RedisLoginStateStore`
   * from `@authcode/client/redis` across machines). Each keeps at most 100 pending attempts per
   * caller address and 10000 in all (`LoginStateLimits`).
   */
  loginStateStore?: LoginStateStore
  /**
   * Sessions' tokens; default a `MemoryTokenStore` (one process only). Several processes share one
   * store, like `loginStateStore`; the refresh lock in it makes one refresh at a time per session
   * across all of them.
   */
  tokenStore?: TokenStore
  /** The current time in seconds since the epoch; default the system clock. */
  now?: () => number
  /** Timeout of every back-channel request, in milliseconds; default 10000. */
  timeoutMs?: number
  /** How long a login attempt may take, in seconds; default 600. */
  loginTtl?: number
  /**
   * How long the token store keeps a session after its tokens were last stored (the login, then
   * each refresh), in seconds; default 1209600 (14 days, the authcode server's refresh token idle
   * lifetime). Set it to the server's refresh token lifetime: a session past it could not be
   * refreshed anyway.
   */
  sessionTtl?: number
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
  /**
   * Receives one event per step of the flow (authorization request, callback, token request,
   * resource call, revocation) with timings and non-secret parameters; secrets only as fingerprints.
   * See `FlowEvent`.
   */
  onEvent?: FlowEventListener
}

export const DEFAULTS = Object.freeze({
  scope: 'openid',
  timeoutMs: 10_000,
  loginTtl: 600,
  sessionTtl: 14 * 86_400,
  refreshLeeway: 60,
  refreshLockTtl: 30,
  refreshLockPollMs: 50,
  refreshLockWaitMs: 15_000,
  discoveryCacheTtl: 3600,
})

export interface ResolvedConfig {
  readonly server: ResolvedServerSource
  /** For an AsyncAPI source without `x-issuer`, the `authorizationUrl`'s origin (where discovery happens). */
  readonly issuer: URL
  readonly clientId: string
  readonly clientSecret: string | undefined
  readonly authMethod: ClientAuthMethod
  /** For `private_key_jwt`. */
  readonly privateKey: ResolvedPrivateKey | undefined
  readonly pushedAuthorizationRequests: 'auto' | 'always' | 'never'
  /** The DPoP algorithm, or undefined without DPoP. */
  readonly dpop: DPoPAlgorithm | undefined
  readonly redirectUri: string
  readonly scope: string
  /** The scope came from an AsyncAPI document: `openid` is added when the server lists it in `scopes_supported`. */
  readonly addOpenidWhenSupported: boolean
  readonly postLogoutRedirectUri: string | undefined
  readonly now: () => number
  readonly timeoutMs: number
  readonly loginTtl: number
  readonly sessionTtl: number
  readonly refreshLeeway: number
  readonly refreshLockTtl: number
  readonly refreshLockPollMs: number
  readonly refreshLockWaitMs: number
  readonly discoveryCacheTtl: number
  readonly idTokenSigningAlg: string | undefined
  readonly fetch: ((url: string, init: RequestInit) => Promise<Response>) | undefined
  readonly onEvent: FlowEventListener | undefined
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

function readDocument(document: unknown): AsyncApiDocument {
  if (typeof document !== 'string') {
    if (typeof document !== 'object' || document === null) throw new TypeError('server.document must be an AsyncAPI document (from loadDocument or parseDocument) or a file path')
    return document as AsyncApiDocument
  }
  if (document === '') throw new TypeError('server.document must be a non-empty path')
  const file = path.resolve(document)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (cause) {
    throw new AsyncApiError('ERR_ASYNCAPI_READ', `cannot read ${file}: ${(cause as Error).message}`, { cause })
  }
  return parseDocument(text, { source: file })
}

/** The named (or only) authorization code scheme of the document; a `TypeError` naming the choices otherwise. */
function checkAsyncApi(source: { document?: unknown; scheme?: unknown }): ResolvedAsyncApiSource {
  const document = readDocument(source.document)
  const name = optionalString('server.scheme', source.scheme)
  // Throws a TypeError for an object that is not a loaded document.
  const { schemes, problems } = readAuthorizationCodeSchemes(document)
  const choice = chooseAuthorizationCodeScheme(schemes, name)
  if (!choice.ok) throw schemeChoiceError(choice, document, problems)
  const { scheme } = choice
  const where = `server.document (scheme ${scheme.name})`
  const authorizationUrl = checkEndpoint(`${where} authorizationUrl`, scheme.authorizationUrl)
  checkEndpoint(`${where} tokenUrl`, scheme.tokenUrl)
  if (scheme.refreshUrl !== undefined) checkEndpoint(`${where} refreshUrl`, scheme.refreshUrl)
  if (scheme.issuer !== undefined) checkIssuer(`${where} x-issuer`, scheme.issuer)
  return Object.freeze({
    kind: 'asyncapi',
    document,
    scheme,
    issuer: scheme.issuer ?? authorizationUrl.origin,
    issuerFrom: scheme.issuer === undefined ? 'authorizationUrl' : 'x-issuer',
  })
}

/** The `TypeError` for a document or `server.scheme` that names no usable scheme, with the choices and the reasons. */
function schemeChoiceError(choice: Exclude<AuthorizationCodeSchemeChoice, { ok: true }>, document: AsyncApiDocument, problems: readonly Problem[]): TypeError {
  const names = choice.available.join(', ')
  switch (choice.code) {
    case 'NO_SCHEME':
      return new TypeError(`server.document has no valid oauth2 security scheme with an authorizationCode flow${describeProblems(problems)}`)
    case 'SEVERAL_SCHEMES':
      return new TypeError(`server.document has several oauth2 authorization code schemes: ${names}; name one with server.scheme`)
    case 'UNKNOWN_SCHEME': {
      const { name } = choice
      const available = choice.available.length === 0 ? 'it has none' : `it has: ${names}`
      if (!Object.hasOwn(declaredSchemes(document), name)) return new TypeError(`server.scheme: the document has no security scheme named ${name}; ${available}`)
      const pointer = `/components/securitySchemes/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`
      const own = problems.filter((p) => p.pointer === pointer || p.pointer.startsWith(`${pointer}/`))
      return new TypeError(`server.scheme: security scheme ${name} has no valid oauth2 authorizationCode flow${describeProblems(own)}; ${available}`)
    }
  }
}

function declaredSchemes(document: AsyncApiDocument): Record<string, unknown> {
  const components = document.data.components
  if (typeof components !== 'object' || components === null) return {}
  const schemes = (components as Record<string, unknown>).securitySchemes
  return typeof schemes === 'object' && schemes !== null ? (schemes as Record<string, unknown>) : {}
}

function describeProblems(problems: readonly { pointer: string; message: string }[]): string {
  if (problems.length === 0) return ''
  return ` (${problems.slice(0, 3).map((p) => `${p.pointer}: ${p.message}`).join('; ')}${problems.length > 3 ? '; …' : ''})`
}

/** The scope a login asks for by default with an AsyncAPI source: the scheme's own scopes, else all it declares. */
function documentScope(source: ResolvedAsyncApiSource): string | undefined {
  const { scheme } = source
  const names = scheme.requiredScopes.length > 0 ? scheme.requiredScopes : scheme.scopes.map((s) => s.name)
  const unique = [...new Set(names)]
  return unique.length === 0 ? undefined : unique.join(' ')
}

/**
 * The default scope of a login, given the server's metadata: the configured scope, plus `openid`
 * when it came from an AsyncAPI document and the server lists `openid` in `scopes_supported`.
 */
export function defaultScope(config: ResolvedConfig, scopesSupported: unknown): string {
  if (!config.addOpenidWhenSupported || !Array.isArray(scopesSupported) || !scopesSupported.includes('openid')) return config.scope
  const scopes = config.scope.split(' ')
  return scopes.includes('openid') ? config.scope : ['openid', ...scopes].join(' ')
}

function checkServer(server: unknown): ResolvedServerSource {
  if (typeof server !== 'object' || server === null) throw new TypeError('server must be an object: { kind: "discovery", issuer }, { kind: "endpoints", … } or { kind: "asyncapi", document, scheme }')
  const source = server as Partial<Omit<EndpointsSource, 'kind'>> & { kind?: unknown; document?: unknown; scheme?: unknown }
  switch (source.kind) {
    case 'asyncapi':
      return checkAsyncApi(source)
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
      throw new TypeError('server.kind must be "discovery", "endpoints" or "asyncapi"')
  }
}

function checkDpop(value: unknown): DPoPAlgorithm | undefined {
  if (value === undefined || value === false) return undefined
  if (value === true) return 'ES256'
  if (typeof value !== 'string' || !(DPOP_ALGORITHMS as readonly string[]).includes(value)) throw new TypeError(`dpop must be true, false or one of ${DPOP_ALGORITHMS.join(', ')}`)
  return value as DPoPAlgorithm
}

/** The algorithm a private JWK signs with by default (RFC 7518 §3.1 names). */
function defaultAlgorithm(jwk: webcrypto.JsonWebKey): SigningAlgorithm | undefined {
  if (jwk.kty === 'RSA') return 'RS256'
  if (jwk.kty === 'EC') return jwk.crv === 'P-256' ? 'ES256' : jwk.crv === 'P-384' ? 'ES384' : undefined
  if (jwk.kty === 'OKP') return jwk.crv === 'Ed25519' ? 'EdDSA' : undefined
  return undefined
}

/** Whether a JWK's key type fits an algorithm. */
function keyFits(jwk: webcrypto.JsonWebKey, alg: SigningAlgorithm): boolean {
  switch (alg) {
    case 'RS256':
    case 'PS256':
      return jwk.kty === 'RSA'
    case 'ES256':
      return jwk.kty === 'EC' && jwk.crv === 'P-256'
    case 'ES384':
      return jwk.kty === 'EC' && jwk.crv === 'P-384'
    case 'EdDSA':
      return jwk.kty === 'OKP' && jwk.crv === 'Ed25519'
  }
}

function checkPrivateKeyJwt(value: unknown): ResolvedPrivateKey {
  if (typeof value !== 'object' || value === null) throw new TypeError("clientAuthentication must be { method: 'private_key_jwt', privateKey }")
  const option = value as Partial<PrivateKeyJwtAuthentication>
  if (option.method !== 'private_key_jwt') throw new TypeError("clientAuthentication.method must be 'private_key_jwt'")
  const key: unknown = option.privateKey
  let jwk: webcrypto.JsonWebKey
  if (key instanceof KeyObject) {
    if (key.type !== 'private') throw new TypeError('clientAuthentication.privateKey must be a private key')
    jwk = key.export({ format: 'jwk' })
  } else if (isCryptoKey(key)) {
    if (key.type !== 'private' || !key.extractable) throw new TypeError('clientAuthentication.privateKey must be an extractable private CryptoKey (or a JWK or KeyObject)')
    jwk = KeyObject.from(key).export({ format: 'jwk' })
  } else if (typeof key === 'object' && key !== null && typeof (key as webcrypto.JsonWebKey).kty === 'string') {
    jwk = key as webcrypto.JsonWebKey
    if (typeof jwk.d !== 'string') throw new TypeError('clientAuthentication.privateKey must be a private JWK (with "d")')
    try {
      createPrivateKey({ key: { ...jwk }, format: 'jwk' })
    } catch {
      throw new TypeError('clientAuthentication.privateKey is not a usable private JWK')
    }
  } else {
    throw new TypeError('clientAuthentication.privateKey must be a private JWK, KeyObject or CryptoKey')
  }
  const kid = optionalString('clientAuthentication.kid', option.kid) ?? (typeof (jwk as { kid?: unknown }).kid === 'string' ? (jwk as { kid: string }).kid : undefined)
  const wanted = option.alg ?? (typeof jwk.alg === 'string' ? jwk.alg : undefined) ?? defaultAlgorithm(jwk)
  if (wanted === undefined || !(SIGNING_ALGORITHMS as readonly string[]).includes(wanted)) {
    throw new TypeError(`clientAuthentication.alg must be one of ${SIGNING_ALGORITHMS.join(', ')} (no default for this key)`)
  }
  const alg = wanted as SigningAlgorithm
  if (!keyFits(jwk, alg)) throw new TypeError(`clientAuthentication.privateKey does not fit the algorithm ${alg}`)
  return Object.freeze({ jwk: Object.freeze({ ...jwk }), kid, alg })
}

/** Checks every option once and returns the frozen configuration. */
export function resolveConfig(options: ClientOptions): ResolvedConfig {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
  const server = checkServer(options.server)
  const clientId = optionalString('clientId', options.clientId)
  if (clientId === undefined) throw new TypeError('clientId is required')
  const clientSecret = optionalString('clientSecret', options.clientSecret)
  const privateKey = options.clientAuthentication === undefined ? undefined : checkPrivateKeyJwt(options.clientAuthentication)
  const authMethod = options.tokenEndpointAuthMethod ?? (privateKey === undefined ? 'client_secret_basic' : 'private_key_jwt')
  if (!['client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt'].includes(authMethod)) {
    throw new TypeError('tokenEndpointAuthMethod must be client_secret_basic, client_secret_post, private_key_jwt or none')
  }
  if ((authMethod === 'private_key_jwt') !== (privateKey !== undefined)) {
    throw new TypeError("private_key_jwt needs clientAuthentication: { method: 'private_key_jwt', privateKey }, and clientAuthentication needs no other tokenEndpointAuthMethod")
  }
  if (authMethod === 'private_key_jwt' && clientSecret !== undefined) {
    throw new TypeError('clientSecret is set but the client authenticates with private_key_jwt: it would never be used')
  }
  const par = options.pushedAuthorizationRequests ?? 'auto'
  if (!['auto', 'always', 'never'].includes(par)) throw new TypeError("pushedAuthorizationRequests must be 'auto', 'always' or 'never'")
  const dpop = checkDpop(options.dpop)
  if (authMethod !== 'none' && authMethod !== 'private_key_jwt' && clientSecret === undefined) {
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
  const explicitScope = optionalString('scope', options.scope)
  const fromDocument = explicitScope === undefined && server.kind === 'asyncapi' ? documentScope(server) : undefined
  const scope = explicitScope ?? fromDocument ?? DEFAULTS.scope
  if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('now must be a function returning seconds since the epoch')
  if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new TypeError('fetch must be a function')
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function') throw new TypeError('onEvent must be a function')
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
    privateKey,
    pushedAuthorizationRequests: par,
    dpop,
    redirectUri,
    scope,
    addOpenidWhenSupported: fromDocument !== undefined,
    postLogoutRedirectUri,
    now: options.now ?? (() => Math.floor(Date.now() / 1000)),
    timeoutMs,
    loginTtl: positive('loginTtl', options.loginTtl, DEFAULTS.loginTtl),
    sessionTtl: positive('sessionTtl', options.sessionTtl, DEFAULTS.sessionTtl),
    refreshLeeway: positive('refreshLeeway', options.refreshLeeway, DEFAULTS.refreshLeeway),
    refreshLockTtl,
    refreshLockPollMs: positive('refreshLockPollMs', options.refreshLockPollMs, DEFAULTS.refreshLockPollMs),
    refreshLockWaitMs: positive('refreshLockWaitMs', options.refreshLockWaitMs, DEFAULTS.refreshLockWaitMs),
    discoveryCacheTtl: positive('discoveryCacheTtl', options.discoveryCacheTtl, DEFAULTS.discoveryCacheTtl),
    idTokenSigningAlg: optionalString('idTokenSigningAlg', options.idTokenSigningAlg),
    fetch: options.fetch,
    onEvent: options.onEvent,
  })
}
