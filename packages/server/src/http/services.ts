/**
 * Everything the endpoints share, built once per app in `buildApp`.
 */
import type { FastifyRequest } from 'fastify'
import type { DestinationStream } from 'pino'
import type { RateLimit, ServerConfig } from '../config/load.js'
import { ClientKeySets } from '../protocol/client-assertion.js'
import { DpopNonces } from '../protocol/dpop.js'
import { StoreAccounts, type AccountProvider } from '../protocol/accounts.js'
import type { EventSink } from '../protocol/events.js'
import { relyingParty, type PasskeySettings } from '../protocol/passkeys.js'
import { LogoutDelivery, type LogoutDeliverySettings, type LogoutPoster } from '../protocol/backchannel-logout.js'
import type { TokenMinter } from '../protocol/issue-tokens.js'
import { Throttle } from '../protocol/rate-limit.js'
import type { AttemptLimit, Store } from '../protocol/store.js'
import type { KeyRing } from '../tokens/key-ring.js'
import { auditSink, type AuditHook } from './audit.js'
import { Metrics, TimedMinter, timedStore } from './metrics.js'

export interface AppDeps {
  store: Store
  keys: KeyRing
  /**
   * Where the accounts are (README, "Your own user store"): a team's own user store, whose
   * accounts get a minimal mirror row in `store`. The built-in users of `store` when absent.
   */
  accounts?: AccountProvider
  /** Seconds since the epoch; tests pass a controllable clock. */
  now?: () => number
  /**
   * Receives every security event (`login.failed`, `code.replayed`, …) besides its log line, to
   * ship it elsewhere. Called in the request; a hook that throws or rejects is logged, never fails it.
   */
  onEvent?: AuditHook
  /** The registry the app's metrics go to; `listenMetrics` serves it. A new one when absent. */
  metrics?: Metrics
  /** Where log lines go (JSON, one per line); standard output when absent. */
  logStream?: DestinationStream
  /** How back-channel logout tokens are delivered: `LOGOUT_DELIVERY_DEFAULTS` and `fetch` unless given (tests). */
  logoutDelivery?: { settings?: Partial<LogoutDeliverySettings>; post?: LogoutPoster }
}

export interface Services {
  config: ServerConfig
  store: Store
  /** Where accounts are found, passwords checked and claims read (`protocol/accounts.ts`). */
  accounts: AccountProvider
  keys: KeyRing
  minter: TokenMinter
  now: () => number
  throttles: { clientAuth: Throttle; loginAccount: Throttle; loginIp: Throttle; loginDevice: Throttle; interactionIp: Throttle }
  /** The MAC key of the cookies the server issues (`interaction/cookies.ts`). */
  cookieKey: Buffer
  /** Delivers the back-channel logout tokens sign-outs queue (`protocol/backchannel-logout.ts`); runs while the app does. */
  logouts: LogoutDelivery
  /** `private_key_jwt` clients' keys, their `jwks_uri`s fetched and cached (`protocol/client-assertion.ts`). */
  clientKeySets: ClientKeySets
  /** RFC 9449 §8 server nonces, the same on every instance. */
  dpopNonces: DpopNonces
  /** The relying party and challenge key of passkeys (`protocol/passkeys.ts`); undefined when `pages.passkeys` is off. */
  passkeys: PasskeySettings | undefined
  /** The issuer's path (`''` for an issuer at the root); every route lives under it. */
  basePath: string
  /** The issuer's origin, which forms must come from. */
  origin: string
  /** Whether cookies get `Secure`. */
  secureCookies: boolean
  /** An https issuer: every answer says `Strict-Transport-Security`. */
  https: boolean
  metrics: Metrics
  /** The sink of the security events the protocol steps of `request` emit (`http/audit.ts`). */
  eventsOf(request: FastifyRequest): EventSink
}

/**
 * The waits before each sign-in attempt past an account's limit (SECURITY.md 27): doubling from
 * 15 seconds to 5 minutes, never a lock, so a stranger's guesses slow the account down without
 * shutting its owner out.
 */
export const LOGIN_DELAYS: readonly number[] = Object.freeze([15, 30, 60, 120, 240, 300])

const hardLimit = (limit: RateLimit): AttemptLimit => ({ ...limit, delays: [] })

/**
 * @param background the store of work outside any request (the back-channel logout worker's polls):
 *   untraced, so an idle poll every few seconds is not a trace of its own; `deps.store` otherwise.
 */
export function createServices(config: ServerConfig, deps: AppDeps, background: Store = deps.store): Services {
  const url = new URL(config.issuer)
  const metrics = deps.metrics ?? new Metrics()
  const store = timedStore(deps.store, metrics.storeDuration)
  const minter = new TimedMinter(deps.keys, config, metrics.signingDuration)
  const now = deps.now ?? (() => Math.floor(Date.now() / 1000))
  const audit = { metrics, onEvent: deps.onEvent }
  return {
    config,
    store,
    accounts: deps.accounts ?? new StoreAccounts(store),
    keys: deps.keys,
    minter,
    now,
    throttles: {
      clientAuth: new Throttle(store, hardLimit(config.rateLimit.clientAuth), 'client-auth:'),
      loginAccount: new Throttle(store, { ...config.rateLimit.loginPerAccount, delays: LOGIN_DELAYS }, 'login-account:'),
      loginIp: new Throttle(store, hardLimit(config.rateLimit.loginPerIp), 'login-ip:'),
      // A browser the account signed in from before: the per-account limit, counted apart.
      loginDevice: new Throttle(store, { ...config.rateLimit.loginPerAccount, delays: LOGIN_DELAYS }, 'login-device:'),
      interactionIp: new Throttle(store, hardLimit(config.rateLimit.interactionsPerIp), 'interaction-ip:'),
    },
    cookieKey: deps.keys.deriveKey('authcode cookie signatures v1'),
    logouts: new LogoutDelivery({
      store: background,
      minter,
      now,
      ...deps.logoutDelivery,
    }),
    clientKeySets: new ClientKeySets(),
    dpopNonces: new DpopNonces(deps.keys.deriveKey('authcode dpop nonces v1')),
    passkeys: config.pages.passkeys
      ? { rp: relyingParty(config.issuer, config.pages.productName), challengeKey: deps.keys.deriveKey('authcode passkey challenges v1') }
      : undefined,
    basePath: url.pathname === '/' ? '' : url.pathname.replace(/\/$/, ''),
    origin: url.origin,
    secureCookies: url.protocol === 'https:',
    https: url.protocol === 'https:',
    metrics,
    eventsOf: (request) => auditSink(request, audit),
  }
}
