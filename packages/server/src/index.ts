/**
 * @authcode/server: the authorization server as a library. The CLI (`authcode`) is the usual way
 * to run it; `buildApp` embeds it (and is what the tests drive).
 */
export { buildApp } from './http/app.js'
export type { AppDeps } from './http/services.js'
export { buildAdminApp } from './http/admin-app.js'
export type { AdminAppDeps } from './http/admin-app.js'
export { loadConfig, checkIssuer, ConfigError, DEFAULT_SCOPES } from './config/load.js'
export type { ServerConfig, ConfigFlags, PagesConfig, RateLimit, TrustedProxies } from './config/load.js'
export { openStore, parseDatabaseUrl } from './storage/open.js'
export { KeyRing } from './tokens/key-ring.js'
export { loadKeyEncryptionKey } from './tokens/kek.js'
export { registerClient, RegistrationError } from './protocol/clients.js'
export type { ClientRegistration, RegisteredClient } from './protocol/clients.js'
export type { Account, AccountClaims, AccountProvider } from './protocol/accounts.js'
export { OAuthError } from './protocol/errors.js'
export type { OAuthErrorCode } from './protocol/errors.js'
export type * from './protocol/store.js'
export { DuplicateError } from './protocol/store.js'
export { serverMetadata } from './protocol/metadata.js'
