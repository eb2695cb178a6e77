/**
 * `OAuthClient`: the configuration checked once, the stores, and one method per step of the flow.
 * Each method is a thin call into the module that implements the step.
 */
import { handleCallback, type CallbackInput, type CallbackResult } from './callback/handle-callback.js'
import { MetadataCache, type ServerMetadata } from './config/metadata.js'
import { resolveConfig, type ClientOptions, type ResolvedConfig } from './config/options.js'
import type { ClientContext } from './internal/context.js'
import { buildAuthorizationUrl, type AuthorizationUrl, type AuthorizationUrlOptions } from './login/authorization-url.js'
import { fetchResource, userinfo, type ResourceRequestInit } from './resource/fetch.js'
import { MemoryLoginStateStore, MemoryTokenStore } from './storage/memory.js'
import { freshSession } from './tokens/refresh.js'
import { backchannelLogout, type BackchannelLogoutResult } from './logout/backchannel.js'
import { logout, revoke, type LogoutOptions, type LogoutResult } from './tokens/revoke.js'
import type { JsonValue, SessionRecord } from './tokens/store.js'

/** What an app may show about a session: never a token. */
export interface SessionInfo {
  claims: Readonly<Record<string, JsonValue | undefined>> | undefined
  scope: string | undefined
  /** When the current access token expires (seconds since the epoch), if known. */
  expiresAt: number | undefined
  createdAt: number
}

/**
 * A server-side OAuth 2.0 / OpenID Connect client (relying party) for the authorization code flow.
 *
 * @example
 * ```ts
 * import { SqliteTokenStore } from '@authcode/client/sqlite'
 * const client = new OAuthClient({
 *   server: { kind: 'discovery', issuer: 'https://login.example.com' },
 *   clientId: 'my-app',
 *   clientSecret: process.env.CLIENT_SECRET,
 *   redirectUri: 'https://app.example.com/callback',
 *   scope: 'openid profile',
 *   tokenStore: await SqliteTokenStore.open('./data/sessions.db'),
 * })
 * ```
 */
export class OAuthClient {
  readonly config: ResolvedConfig
  readonly #context: ClientContext

  /** Checks every option (a `TypeError` on a mistake); makes no request. */
  constructor(options: ClientOptions) {
    const config = resolveConfig(options)
    this.config = config
    this.#context = {
      config,
      metadata: new MetadataCache(config),
      loginStates: options.loginStateStore ?? new MemoryLoginStateStore(),
      tokens: options.tokenStore ?? new MemoryTokenStore(),
      refreshes: new Map<string, Promise<SessionRecord>>(),
      wait: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      emit: (event) => {
        if (config.onEvent === undefined) return
        try {
          config.onEvent(Object.freeze(event))
        } catch {
          // Observing never changes the flow.
        }
      },
    }
  }

  /** The server's metadata (discovered and cached, or as configured). */
  metadata(): Promise<ServerMetadata> {
    return this.#context.metadata.get()
  }

  /** See {@link buildAuthorizationUrl}. */
  buildAuthorizationUrl(options?: AuthorizationUrlOptions): Promise<AuthorizationUrl> {
    return buildAuthorizationUrl(this.#context, options)
  }

  /** See {@link handleCallback}. */
  handleCallback(input: CallbackInput): Promise<CallbackResult> {
    return handleCallback(this.#context, input)
  }

  /**
   * An access token for the session, refreshed first when it expires within `refreshLeeway`
   * seconds. Concurrent calls for one session cause one refresh. Rejects with `SessionError`
   * (`SESSION_NOT_FOUND`, `SESSION_ENDED` after `invalid_grant`) or a back-channel error.
   */
  async getAccessToken(sessionId: string): Promise<string> {
    return (await freshSession(this.#context, sessionId)).tokens.accessToken
  }

  /**
   * Refreshes the session's tokens now (RFC 6749 §6), whatever their expiry; returns what the app
   * may show. Concurrent calls, and a refresh another process just made, count as one refresh.
   */
  async refresh(sessionId: string): Promise<SessionInfo> {
    const current = await freshSession(this.#context, sessionId)
    // The current access token counts as refused: refreshed unless someone already replaced it.
    const record = await freshSession(this.#context, sessionId, current.tokens.accessToken)
    return { claims: record.claims, scope: record.tokens.scope, expiresAt: record.tokens.expiresAt, createdAt: record.createdAt }
  }

  /** What the app may show about a session (claims, scope, expiry; never a token). */
  async getSession(sessionId: string): Promise<SessionInfo> {
    const record = await freshSession(this.#context, sessionId)
    return { claims: record.claims, scope: record.tokens.scope, expiresAt: record.tokens.expiresAt, createdAt: record.createdAt }
  }

  /** See {@link fetchResource}. */
  fetch(sessionId: string, input: string | URL, init?: ResourceRequestInit): Promise<Response> {
    return fetchResource(this.#context, sessionId, input, init)
  }

  /** See {@link userinfo}. */
  userinfo(sessionId: string): Promise<Record<string, JsonValue | undefined>> {
    return userinfo(this.#context, sessionId)
  }

  /** See {@link revoke}. */
  revoke(sessionId: string): Promise<boolean> {
    return revoke(this.#context, sessionId)
  }

  /** See {@link logout}. */
  logout(sessionId: string, options?: LogoutOptions): Promise<LogoutResult> {
    return logout(this.#context, sessionId, options)
  }

  /**
   * A logout token the server POSTed to the app's back-channel logout URI (OpenID Back-Channel
   * Logout §2.5), the `logout_token` form field as it came: validated (§2.6), then every session
   * of the login session it names ends in the token store. See {@link backchannelLogout}.
   */
  backchannelLogout(logoutToken: string): Promise<BackchannelLogoutResult> {
    return backchannelLogout(this.#context, logoutToken)
  }
}
