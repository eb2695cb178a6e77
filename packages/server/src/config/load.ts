/**
 * Configuration is read once, at the edge: command-line flags over `AUTHCODE_*` environment
 * variables over the config file (JSON or YAML) over defaults; validated against one schema,
 * deep-frozen, and passed down. Nothing outside this folder reads `process.env`.
 */
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { resolve } from 'node:path'
import type { ErrorObject } from 'ajv'
import { parse as parseYaml } from 'yaml'
import { ENDPOINTS, type EndpointPaths } from '../protocol/endpoints.js'
import { resourceUriProblem, type ResourceSettings } from '../protocol/resources.js'
import { ACCEPTED_DATABASE_LOCATIONS, DEFAULT_POOL_SIZE, parseDatabaseUrl } from '../storage/location.js'
import type { RegistrationMode } from '../protocol/registration.js'
import type { SigningAlg } from '../tokens/algorithms.js'
import { readAsyncApiSettings } from './asyncapi.js'
import { readEnvironment } from './env.js'
import { ConfigError } from './errors.js'
import { errorKey, schemaErrors, type FileConfig } from './validate.js'

export { ConfigError }

export interface RateLimit {
  /** Events allowed per window. */
  max: number
  /** Window length in seconds. */
  window: number
}

export interface ServerConfig {
  /** The issuer identifier: https (or http on a loopback host), no query, no fragment, no trailing slash. */
  issuer: string
  port: number
  /** The address to listen on: an IP literal or a host name (default `localhost`). */
  host: string
  /** The port of the Prometheus metrics listener; undefined: no metrics listener. Never equal to `port`. */
  metricsPort: number | undefined
  /** The address the metrics listener binds (default `127.0.0.1`: loopback only). */
  metricsHost: string
  /** The port of the admin API's listener; undefined: no admin API. Never equal to `port` or `metricsPort`. */
  adminPort: number | undefined
  /** The address the admin API's listener binds (default `127.0.0.1`: loopback only). */
  adminHost: string
  /** `sqlite:PATH` (default `sqlite:./data/authcode.db`) or a path to a SQLite file. */
  db: string
  /** PostgreSQL: connections per instance (default 10). */
  dbPoolSize: number
  /** Where the generated key-encryption secret is kept when `AUTHCODE_SECRET` is not set. */
  dataDir: string
  /** `AUTHCODE_SECRET`: encrypts signing keys at rest. Never read from the config file. */
  secret: string | undefined
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** `auto` (default): pretty when standard output is a terminal, one JSON object per line otherwise. */
  logFormat: 'auto' | 'json' | 'pretty'
  /** The proxies in front whose `X-Forwarded-For` entries are believed; undefined: none (the header is ignored). */
  trustProxy: TrustedProxies | undefined
  /** Allows a plain-http issuer on a non-loopback host. Off; logged at start when on. */
  dangerouslyAllowInsecureIssuer: boolean
  /** All in seconds. */
  lifetimes: {
    code: number
    accessToken: number
    idToken: number
    refreshTokenIdle: number
    refreshTokenAbsolute: number
    /** Browser-based apps (public clients with an https redirect URI): the absolute limit of a refresh token not DPoP-bound. */
    browserRefreshTokenAbsolute: number
    loginSession: number
    interaction: number
  }
  accessToken: { alg: SigningAlg; audience: string }
  keys: { activationDelay: number; cacheTtl: number }
  /** Scope name → description shown on the consent page. */
  scopes: Record<string, string>
  /** RFC 8707: the protected resources a client may ask tokens for (`resource`); none by default. */
  resources: readonly ResourceSettings[]
  /** Endpoint paths relative to the issuer: `ENDPOINTS`, or those the AsyncAPI document names. */
  endpoints: EndpointPaths
  /** The AsyncAPI document the scopes and endpoint paths come from, when one is given. */
  asyncapi: AsyncApiSource | undefined
  consent: { skipForFirstParty: boolean }
  /**
   * Throttles (SECURITY.md 26, 27, 31). `loginPerAccount`: failures per account before each next
   * attempt waits (progressive delays, never a lock). `loginPerIp`, `clientAuth` (failures per
   * caller address and client), `interactionsPerIp` (sign-in requests started) and `adminAuth`
   * (admin API requests with a wrong admin token, per caller address), `registrationPerIp`
   * (registration requests, RFC 7591, per caller address): hard limits.
   */
  rateLimit: { loginPerAccount: RateLimit; loginPerIp: RateLimit; clientAuth: RateLimit; interactionsPerIp: RateLimit; adminAuth: RateLimit; registrationPerIp: RateLimit }
  /** Seconds between purges of expired rows. */
  purgeInterval: number
  /** RFC 9126: `required` makes every client push its authorization requests; a `request_uri` lives `lifetime` seconds. */
  par: { required: boolean; lifetime: number }
  /** RFC 9449 §8: `requireNonce` refuses proofs without a server-provided nonce (`use_dpop_nonce`). */
  dpop: { requireNonce: boolean }
  /**
   * RFC 7591 dynamic client registration: `off` (no endpoint), `token` (an initial access token),
   * `open` (anyone); at most `maxClients` clients that registered themselves (SECURITY.md 31).
   */
  registration: { mode: RegistrationMode; maxClients: number }
  /** The pages' brand and languages (README, "Pages: branding and languages"). */
  pages: PagesConfig
}

/** The `pages` settings; paths are absolute, the files are read when the app is built. */
export interface PagesConfig {
  /** In every page's title and header (default `authcode`). */
  productName: string
  /** An image served at `/assets/logo`, shown with the product name as its text. */
  logo: string | undefined
  /** A CSS file served at `/assets/custom.css`, linked after the built-in stylesheet. */
  stylesheet: string | undefined
  /** `#rrggbb`: buttons and links. */
  accentColor: string | undefined
  /** A folder of Eta templates, each replacing the built-in template of its name. */
  templates: string | undefined
  /** A folder of message catalogs (`de.json`, `pt-BR.json`), adding languages or replacing messages. */
  messages: string | undefined
  /** The language of a page when none of the user's preferences has a catalog (default `en`). */
  defaultLocale: string
  /** Passkeys on the login and account pages (default on; README, "Passkeys"). */
  passkeys: boolean
}

export const DEFAULT_SCOPES: Readonly<Record<string, string>> = Object.freeze({
  openid: 'Sign you in with your account identifier',
  profile: 'Your name and username',
  email: 'Your email address and whether it is verified',
  // OIDC Core §11: granted only with prompt=consent (protocol/authorize.ts).
  offline_access: 'Keep access while you are not using the app',
})

export const DEFAULT_PORT = 4000
export const DEFAULT_DB = 'sqlite:./data/authcode.db'

/**
 * The proxies in front of the server (SECURITY 28). The caller's address is the right-most
 * `X-Forwarded-For` entry that no trusted proxy wrote: entries to its left are written by the
 * caller and never believed. Without a setting (`undefined`) the header is ignored and the caller
 * is the connection's peer.
 *
 * - `{ hops }`: exactly `hops` proxies stand in front; the connection's peer and the right-most
 *   `hops - 1` entries are theirs. Only safe when nobody can reach the server except through them
 *   (a client connecting directly would choose its own address), so it is a warning at start.
 * - `{ addresses }`: the peer, and each entry from the right, is a proxy while it lies in one of
 *   these IPv4 or IPv6 addresses or CIDR ranges (proxy-addr semantics).
 *
 * Set with `--trust-proxy` / `AUTHCODE_TRUST_PROXY` (a hop count, or addresses comma-separated) or
 * the file's `trustProxy` (a hop count, or an array of addresses).
 */
export type TrustedProxies = { readonly hops: number } | { readonly addresses: readonly string[] }

/** What an AsyncAPI document configured (`--asyncapi FILE [--scheme NAME]`), kept for the start log. */
export interface AsyncApiSource {
  /** Absolute path of the document. */
  document: string
  /** The oauth2 scheme whose authorization code flow is used. */
  scheme: string
  /** Whether `openid` was added to the document's scopes (OpenID Connect sign-in needs it). */
  openidAdded: boolean
  /** The document's URLs this server does not serve, one line each; logged as warnings at start. */
  warnings: string[]
}

/** Flags given on the command line (already parsed). */
export interface ConfigFlags {
  port?: number
  /** `--host`: the address to listen on (checked by `loadConfig`). */
  host?: string
  /** `--metrics-port`: the port of the metrics listener. */
  metricsPort?: number
  /** `--admin-port`: the port of the admin API's listener. */
  adminPort?: number
  issuer?: string
  db?: string
  config?: string
  /** An AsyncAPI document: the scopes and endpoint paths come from its oauth2 authorization code scheme. */
  asyncapi?: string
  /** The scheme to use when the document has several. */
  scheme?: string
  /** `--trust-proxy`, as given: a hop count or comma-separated addresses (checked by `loadConfig`). */
  trustProxy?: string
  /** `--registration`: who may register clients (RFC 7591). */
  registration?: RegistrationMode
}

function describe(error: ErrorObject): string {
  const field = error.instancePath === '' ? '(top level)' : errorKey(error)
  if (error.keyword === 'additionalProperties') {
    const extra = String((error.params as { additionalProperty: string }).additionalProperty)
    return `${field === '(top level)' ? '' : `${field}.`}${extra}: unknown setting`
  }
  return `${field}: ${error.message ?? 'is invalid'}`
}

function readConfigFile(path: string): FileConfig {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (cause) {
    throw new ConfigError(`cannot read config file ${path}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  let data: unknown
  try {
    data = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text)
  } catch (cause) {
    throw new ConfigError(`config file ${path} is not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${(cause as Error).message}`)
  }
  const problems = schemaErrors(data)
  if (problems.length > 0) throw new ConfigError(`config file ${path} is invalid:\n  ${problems.map(describe).join('\n  ')}`)
  return data as FileConfig
}

const TRUST_ALL_REFUSED =
  'true is no longer accepted: it believed every X-Forwarded-For entry, and the caller writes the left-most one. ' +
  'Give the hop count (how many proxies stand in front, e.g. 1) or the proxies\' addresses (e.g. 10.0.0.1 or 10.0.0.0/8)'

/**
 * Checks a `trustProxy` setting from `source` (the flag, the variable or the file's key, named in
 * every message). A string is a hop count when it is all digits, else comma-separated addresses.
 * Undefined when the setting is not given or `false`.
 */
function trustedProxies(value: string | number | boolean | readonly string[] | undefined, source: string): TrustedProxies | undefined {
  if (value === undefined || value === false) return undefined
  if (value === true || value === 'true') throw new ConfigError(`${source}: ${TRUST_ALL_REFUSED}`)
  if (typeof value === 'number') return { hops: hopCount(value, source) }
  if (typeof value === 'string' && /^\s*\d+\s*$/.test(value)) return { hops: hopCount(Number(value), source) }
  const entries = typeof value === 'string' ? value.split(',').map((entry) => entry.trim()) : value
  return { addresses: entries.map((entry) => trustedAddress(entry, source)) }
}

function hopCount(hops: number, source: string): number {
  if (!Number.isSafeInteger(hops) || hops < 1) {
    throw new ConfigError(`${source}: the hop count must be at least 1 (leave the setting out when no proxy stands in front)`)
  }
  return hops
}

/** An IPv4 or IPv6 address, or one with a prefix length (CIDR); no zone index, no netmask, no /0. */
function trustedAddress(entry: string, source: string): string {
  const slash = entry.indexOf('/')
  const address = slash === -1 ? entry : entry.slice(0, slash)
  const version = isIP(address)
  if (version === 0 || address.includes('%')) throw new ConfigError(`${source}: not an IP address or CIDR range: ${JSON.stringify(entry)}`)
  if (slash === -1) return entry
  const bits = version === 4 ? 32 : 128
  const prefix = entry.slice(slash + 1)
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits) {
    throw new ConfigError(`${source}: ${JSON.stringify(entry)}: expected a prefix length of 1 to ${bits} after the slash`)
  }
  if (Number(prefix) === 0) throw new ConfigError(`${source}: ${JSON.stringify(entry)}: /0 would trust every address, as true did`)
  return entry
}

/**
 * An address to listen on, from `source` (named in the message): an IPv4 or IPv6 literal (an IPv6
 * one may be bracketed; it is returned bare, as `listen` takes it) or a host name (RFC 1123 labels).
 */
export function listenAddress(value: string, source: string): string {
  const bare = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value
  if (isIP(bare) !== 0 && !bare.includes('%')) return bare
  const label = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/
  const name = value.endsWith('.') ? value.slice(0, -1) : value
  if (name.length <= 253 && name.split('.').every((part) => label.test(part)) && !/^[\d.]+$/.test(name)) return value
  throw new ConfigError(`${source}: not an IP address or host name: ${JSON.stringify(value)}`)
}

/** The first address given, checked and named by its source. */
function firstAddress(...sources: [value: string | undefined, source: string][]): string | undefined {
  const given = sources.find(([value]) => value !== undefined)
  return given === undefined ? undefined : listenAddress(given[0] ?? '', given[1])
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/** Checks the issuer per RFC 8414 §2 / RFC 9207 §2 and returns its canonical form (no trailing slash). */
export function checkIssuer(issuer: string, allowInsecure: boolean): string {
  let url: URL
  try {
    url = new URL(issuer)
  } catch {
    throw new ConfigError(`issuer: not an absolute URL: ${issuer}`)
  }
  if (url.search !== '' || url.hash !== '' || issuer.includes('?') || issuer.includes('#')) {
    throw new ConfigError('issuer: must not have a query or fragment (RFC 8414 §2)')
  }
  if (url.username !== '' || url.password !== '') throw new ConfigError('issuer: must not contain credentials')
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('issuer: must be an https URL')
  if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname) && !allowInsecure) {
    throw new ConfigError(
      'issuer: must use https outside localhost (set dangerouslyAllowInsecureIssuer to override for a test network)',
    )
  }
  return url.href.endsWith('/') ? url.href.slice(0, -1) : url.href
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}

/**
 * Builds the server configuration.
 * @param flags parsed command-line flags (they win)
 * @param env the process environment: `AUTHCODE_CONFIG`, `AUTHCODE_SECRET`, and a variable for every
 *   key of the config file (`config/env.ts`: `lifetimes.code` is `AUTHCODE_LIFETIMES_CODE`)
 * @param cwd relative paths (config file, data directory, SQLite file) resolve against it
 */
export function loadConfig(flags: ConfigFlags, env: Readonly<Record<string, string | undefined>>, cwd: string): ServerConfig {
  const configPath = flags.config ?? nonEmpty(env.AUTHCODE_CONFIG)
  const file: FileConfig = configPath === undefined ? {} : readConfigFile(resolve(cwd, configPath))
  // Checked before it is used, so that a bad variable is named even where a flag would win.
  const vars = readEnvironment(env)

  const port = flags.port ?? vars.port ?? file.port ?? DEFAULT_PORT
  const metricsPort = flags.metricsPort ?? vars.metricsPort ?? file.metricsPort
  if (metricsPort !== undefined && metricsPort === port) {
    const source = flags.metricsPort !== undefined ? '--metrics-port' : vars.metricsPort !== undefined ? 'AUTHCODE_METRICS_PORT' : 'metricsPort'
    throw new ConfigError(`${source}: must differ from the port (${port}): metrics are never served on the public port`)
  }
  const adminPort = flags.adminPort ?? vars.adminPort ?? file.adminPort
  if (adminPort !== undefined && (adminPort === port || adminPort === metricsPort)) {
    const source = flags.adminPort !== undefined ? '--admin-port' : vars.adminPort !== undefined ? 'AUTHCODE_ADMIN_PORT' : 'adminPort'
    const other = adminPort === port ? `the port (${port})` : `the metrics port (${metricsPort})`
    throw new ConfigError(`${source}: must differ from ${other}: the admin API has a listener of its own`)
  }
  const host = firstAddress([flags.host, '--host'], [vars.host, 'AUTHCODE_HOST'], [file.host, 'host']) ?? 'localhost'
  const metricsHost = firstAddress([vars.metricsHost, 'AUTHCODE_METRICS_HOST'], [file.metricsHost, 'metricsHost']) ?? '127.0.0.1'
  const adminHost = firstAddress([vars.adminHost, 'AUTHCODE_ADMIN_HOST'], [file.adminHost, 'adminHost']) ?? '127.0.0.1'
  const allowInsecure = vars.dangerouslyAllowInsecureIssuer ?? file.dangerouslyAllowInsecureIssuer ?? false
  const givenIssuer = flags.issuer ?? vars.issuer ?? file.issuer
  // Port 0 is chosen when listening, after the issuer is fixed: http://localhost:0 would be wrong.
  if (givenIssuer === undefined && port === 0) throw new ConfigError('issuer: must be set when the port is 0 (any free port)')
  const issuer = checkIssuer(givenIssuer ?? `http://localhost:${port}`, allowInsecure)
  const secret = nonEmpty(env.AUTHCODE_SECRET)
  if (secret !== undefined && secret.length < 32) throw new ConfigError('AUTHCODE_SECRET: must be at least 32 characters')
  // Every source given is checked, not only the one that wins: an unsafe `true` left in the file fails
  // too. Only the file's `false` gives undefined, and the file comes last.
  const trustProxy = [
    trustedProxies(flags.trustProxy, '--trust-proxy'),
    trustedProxies(vars.trustProxy, 'AUTHCODE_TRUST_PROXY'),
    trustedProxies(file.trustProxy, 'trustProxy'),
  ].find((setting) => setting !== undefined)

  const lifetimes = {
    code: 300,
    accessToken: 600,
    idToken: 3600,
    refreshTokenIdle: 14 * 86_400,
    refreshTokenAbsolute: 30 * 86_400,
    browserRefreshTokenAbsolute: 86_400,
    loginSession: 86_400,
    interaction: 900,
    ...file.lifetimes,
    ...vars.lifetimes,
  }
  if (lifetimes.refreshTokenAbsolute < lifetimes.refreshTokenIdle) {
    throw new ConfigError('lifetimes.refreshTokenAbsolute: must not be shorter than lifetimes.refreshTokenIdle')
  }
  const asyncapiPath = flags.asyncapi ?? vars.asyncapi?.document ?? file.asyncapi?.document
  const schemeName = flags.scheme ?? vars.asyncapi?.scheme ?? file.asyncapi?.scheme
  // A map is replaced whole by a later source, not merged key by key.
  const givenScopes = vars.scopes ?? file.scopes
  let scopes: Record<string, string> = { ...DEFAULT_SCOPES, ...givenScopes }
  let endpoints: EndpointPaths = { ...ENDPOINTS }
  let asyncapi: AsyncApiSource | undefined
  if (asyncapiPath === undefined) {
    if (schemeName !== undefined) throw new ConfigError('asyncapi: a scheme is named but no AsyncAPI document is given')
  } else {
    // The document is the one source of the scopes: a scopes list beside it would be a second one.
    if (givenScopes !== undefined) throw new ConfigError('scopes: not allowed with an AsyncAPI document (the document declares the scopes)')
    const settings = readAsyncApiSettings(resolve(cwd, asyncapiPath), schemeName, issuer, DEFAULT_SCOPES.openid ?? 'openid')
    scopes = settings.scopes
    endpoints = { ...ENDPOINTS, ...settings.endpoints }
    asyncapi = { document: settings.document, scheme: settings.scheme, openidAdded: settings.openidAdded, warnings: settings.warnings }
  }
  if (!('openid' in scopes)) throw new ConfigError('scopes: openid must be offered')
  const resources = checkResources(vars.resources ?? file.resources ?? [], scopes, issuer)

  const config: ServerConfig = {
    issuer,
    port,
    host,
    metricsPort,
    metricsHost,
    adminPort,
    adminHost,
    db: resolveDb(flags.db ?? vars.db ?? file.db ?? DEFAULT_DB, cwd),
    dbPoolSize: vars.dbPoolSize ?? file.dbPoolSize ?? DEFAULT_POOL_SIZE,
    dataDir: resolve(cwd, vars.dataDir ?? file.dataDir ?? './data'),
    secret,
    logLevel: vars.logLevel ?? file.logLevel ?? 'info',
    logFormat: vars.logFormat ?? file.logFormat ?? 'auto',
    trustProxy,
    dangerouslyAllowInsecureIssuer: allowInsecure,
    lifetimes,
    accessToken: {
      alg: vars.accessToken?.alg ?? file.accessToken?.alg ?? 'ES256',
      audience: vars.accessToken?.audience ?? file.accessToken?.audience ?? issuer,
    },
    keys: { activationDelay: 60, cacheTtl: 10, ...file.keys, ...vars.keys },
    scopes,
    resources,
    endpoints,
    asyncapi,
    consent: { skipForFirstParty: vars.consent?.skipForFirstParty ?? file.consent?.skipForFirstParty ?? true },
    rateLimit: {
      loginPerAccount: { max: 5, window: 900, ...file.rateLimit?.loginPerAccount, ...vars.rateLimit?.loginPerAccount },
      loginPerIp: { max: 50, window: 900, ...file.rateLimit?.loginPerIp, ...vars.rateLimit?.loginPerIp },
      clientAuth: { max: 20, window: 60, ...file.rateLimit?.clientAuth, ...vars.rateLimit?.clientAuth },
      interactionsPerIp: { max: 100, window: 900, ...file.rateLimit?.interactionsPerIp, ...vars.rateLimit?.interactionsPerIp },
      adminAuth: { max: 20, window: 60, ...file.rateLimit?.adminAuth, ...vars.rateLimit?.adminAuth },
      registrationPerIp: { max: 20, window: 3600, ...file.rateLimit?.registrationPerIp, ...vars.rateLimit?.registrationPerIp },
    },
    purgeInterval: vars.purgeInterval ?? file.purgeInterval ?? 600,
    par: { required: false, lifetime: 60, ...file.par, ...vars.par },
    dpop: { requireNonce: false, ...file.dpop, ...vars.dpop },
    registration: {
      mode: flags.registration ?? vars.registration?.mode ?? file.registration?.mode ?? 'off',
      maxClients: vars.registration?.maxClients ?? file.registration?.maxClients ?? 10_000,
    },
    pages: pagesConfig({ ...file.pages, ...vars.pages }, cwd),
  }
  if (config.keys.activationDelay < config.keys.cacheTtl) {
    throw new ConfigError('keys.activationDelay: must be at least keys.cacheTtl, so every instance publishes a key before any signs with it')
  }
  return deepFreeze(config)
}

/**
 * RFC 8707 §2: each resource an absolute URI without a fragment, named once, not the issuer (its
 * tokens are the server's own), with scopes the server offers. A list is replaced whole by a later source.
 */
function checkResources(given: NonNullable<FileConfig['resources']>, scopes: Readonly<Record<string, string>>, issuer: string): ResourceSettings[] {
  const seen = new Set<string>()
  return given.map((resource, index) => {
    const at = `resources[${index}]`
    const problem = resourceUriProblem(resource.uri)
    if (problem !== undefined) throw new ConfigError(`${at}.uri: ${problem}`)
    if (resource.uri === issuer) throw new ConfigError(`${at}.uri: must not be the issuer`)
    if (seen.has(resource.uri)) throw new ConfigError(`${at}.uri: ${resource.uri} is listed twice`)
    seen.add(resource.uri)
    const unknown = resource.scopes.find((scope) => !(scope in scopes))
    if (unknown !== undefined) throw new ConfigError(`${at}.scopes: ${unknown} is not a scope the server offers`)
    return {
      uri: resource.uri,
      name: resource.name,
      scopes: [...resource.scopes],
      ...(resource.accessTokenLifetime === undefined ? {} : { accessTokenLifetime: resource.accessTokenLifetime }),
    }
  })
}

/** The `pages` settings, key by key from the variables over the file; paths resolved against `cwd`. */
function pagesConfig(given: NonNullable<FileConfig['pages']>, cwd: string): PagesConfig {
  const path = (value: string | undefined) => (value === undefined ? undefined : resolve(cwd, value))
  return {
    productName: given.productName ?? 'authcode',
    logo: path(given.logo),
    stylesheet: path(given.stylesheet),
    accentColor: given.accentColor,
    templates: path(given.templates),
    messages: path(given.messages),
    defaultLocale: given.defaultLocale ?? 'en',
    passkeys: given.passkeys ?? true,
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}

/**
 * Relative SQLite paths resolve against the working directory so that the CLI and the server agree.
 * Only the forms storage accepts pass (`storage/location.ts` reads them). The value is never
 * echoed: a URL may carry a password.
 */
function resolveDb(db: string, cwd: string): string {
  let location
  try {
    location = parseDatabaseUrl(db)
  } catch {
    throw new ConfigError(`db: ${ACCEPTED_DATABASE_LOCATIONS}`)
  }
  return location.dialect === 'postgres' ? location.url : `sqlite:${resolve(cwd, location.path)}`
}
