/**
 * Everything the endpoints share, built once per app in `buildApp`.
 */
import type { RateLimit, ServerConfig } from '../config/load.js'
import { TokenMinter } from '../protocol/issue-tokens.js'
import { Throttle } from '../protocol/rate-limit.js'
import type { AttemptLimit, Store } from '../protocol/store.js'
import type { KeyRing } from '../tokens/key-ring.js'

export interface AppDeps {
  store: Store
  keys: KeyRing
  /** Seconds since the epoch; tests pass a controllable clock. */
  now?: () => number
}

export interface Services {
  config: ServerConfig
  store: Store
  keys: KeyRing
  minter: TokenMinter
  now: () => number
  throttles: { clientAuth: Throttle; loginAccount: Throttle; loginIp: Throttle; loginDevice: Throttle; interactionIp: Throttle }
  /** The MAC key of the cookies the server issues (`interaction/cookies.ts`). */
  cookieKey: Buffer
  /** The issuer's path (`''` for an issuer at the root); every route lives under it. */
  basePath: string
  /** The issuer's origin, which forms must come from. */
  origin: string
  /** Whether cookies get `Secure`. */
  secureCookies: boolean
}

/**
 * The waits before each sign-in attempt past an account's limit (SECURITY.md 27): doubling from
 * 15 seconds to 5 minutes, never a lock, so a stranger's guesses slow the account down without
 * shutting its owner out.
 */
export const LOGIN_DELAYS: readonly number[] = Object.freeze([15, 30, 60, 120, 240, 300])

const hardLimit = (limit: RateLimit): AttemptLimit => ({ ...limit, delays: [] })

export function createServices(config: ServerConfig, deps: AppDeps): Services {
  const url = new URL(config.issuer)
  return {
    config,
    store: deps.store,
    keys: deps.keys,
    minter: new TokenMinter(deps.keys, config),
    now: deps.now ?? (() => Math.floor(Date.now() / 1000)),
    throttles: {
      clientAuth: new Throttle(deps.store, hardLimit(config.rateLimit.clientAuth), 'client-auth:'),
      loginAccount: new Throttle(deps.store, { ...config.rateLimit.loginPerAccount, delays: LOGIN_DELAYS }, 'login-account:'),
      loginIp: new Throttle(deps.store, hardLimit(config.rateLimit.loginPerIp), 'login-ip:'),
      // A browser the account signed in from before: the per-account limit, counted apart.
      loginDevice: new Throttle(deps.store, { ...config.rateLimit.loginPerAccount, delays: LOGIN_DELAYS }, 'login-device:'),
      interactionIp: new Throttle(deps.store, hardLimit(config.rateLimit.interactionsPerIp), 'interaction-ip:'),
    },
    cookieKey: deps.keys.deriveKey('authcode cookie signatures v1'),
    basePath: url.pathname === '/' ? '' : url.pathname.replace(/\/$/, ''),
    origin: url.origin,
    secureCookies: url.protocol === 'https:',
  }
}
