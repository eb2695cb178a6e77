/**
 * @authcode/client: the server-side half of the OAuth 2.0 authorization code flow on oauth4webapi —
 * login with state, PKCE and nonce kept server-side, callback validation, the back-channel code
 * exchange, token storage, refresh and revocation.
 *
 * Subpaths, each with its driver or framework as an optional peer dependency:
 * `@authcode/client/express`, `/fastify`, `/sqlite` (better-sqlite3), `/redis` (ioredis).
 */
export { OAuthClient, type SessionInfo } from './client.js'
export type {
  AsyncApiSource,
  ClientAuthMethod,
  ClientOptions,
  DiscoverySource,
  DPoPAlgorithm,
  EndpointsSource,
  PrivateKeyJwtAuthentication,
  ResolvedPrivateKey,
  ResolvedAsyncApiSource,
  ResolvedConfig,
  ResolvedServerSource,
  ServerSource,
  SigningAlgorithm,
} from './config/options.js'
export type { ServerMetadata } from './config/metadata.js'
export { safeReturnTo, type AuthorizationUrl, type AuthorizationUrlOptions } from './login/authorization-url.js'
export type { LoginState, LoginStateLimits, LoginStateStore } from './login/state-store.js'
export type { CallbackInput, CallbackResult } from './callback/handle-callback.js'
export type { JsonValue, SessionRecord, StoredDPoPKey, TokenSet, TokenStore } from './tokens/store.js'
export type { LogoutOptions, LogoutResult } from './tokens/revoke.js'
export { BACKCHANNEL_LOGOUT_EVENT, type BackchannelLogoutResult } from './logout/backchannel.js'
export type { BackchannelLogout } from './tokens/store.js'
export type { ResourceRequestBody, ResourceRequestInit } from './resource/fetch.js'
export {
  fingerprint,
  type AuthorizationRequestEvent,
  type CallbackEvent,
  type CheckOutcome,
  type Fingerprint,
  type FlowEvent,
  type FlowEventBase,
  type FlowEventError,
  type FlowEventListener,
  type ResourceEvent,
  type RevocationEvent,
  type EndSessionEvent,
  type BackchannelLogoutEvent,
  type TokenEvent,
  type TokenResponseSummary,
} from './events.js'
export { MemoryLoginStateStore, MemoryTokenStore } from './storage/memory.js'
export {
  AuthcodeClientError,
  AuthorizationError,
  CallbackError,
  InvalidResponseError,
  LogoutTokenError,
  NetworkError,
  OAuthServerError,
  SessionError,
  StoreError,
  type AuthcodeClientErrorCode,
} from './errors.js'
export { AuthHandler, createAuthHandler, type AuthHandlerOptions, type AuthSession, type HandleOptions } from './web/handler.js'
export { parseCookies, type SameSite } from './web/cookies.js'
export { isSameOrigin } from './web/origin.js'
export { errorPage } from './web/error-page.js'
