/**
 * Everything the endpoints share, built once per app in `buildApp`.
 */
import type { ServerConfig } from '../config/load.js'
import { Throttle } from '../protocol/rate-limit.js'
import type { Store } from '../protocol/store.js'
import type { KeyRing } from '../tokens/keys.js'
import { TokenMinter } from '../tokens/issue.js'

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
  throttles: { clientAuth: Throttle; loginAccount: Throttle; loginIp: Throttle }
  /** The issuer's path (`''` for an issuer at the root); every route lives under it. */
  basePath: string
  /** The issuer's origin, which forms must come from. */
  origin: string
  /** Whether cookies get `Secure`. */
  secureCookies: boolean
}

export function createServices(config: ServerConfig, deps: AppDeps): Services {
  const url = new URL(config.issuer)
  return {
    config,
    store: deps.store,
    keys: deps.keys,
    minter: new TokenMinter(deps.keys, config),
    now: deps.now ?? (() => Math.floor(Date.now() / 1000)),
    throttles: {
      clientAuth: new Throttle(deps.store, config.rateLimit.clientAuth, 'client-auth:'),
      loginAccount: new Throttle(deps.store, config.rateLimit.loginPerAccount, 'login-account:'),
      loginIp: new Throttle(deps.store, config.rateLimit.loginPerIp, 'login-ip:'),
    },
    basePath: url.pathname === '/' ? '' : url.pathname.replace(/\/$/, ''),
    origin: url.origin,
    secureCookies: url.protocol === 'https:',
  }
}
