/** The resource-server guard: bearer access tokens checked against an operation's scopes. */
export {
  ASYMMETRIC_ALGORITHMS,
  DEFAULT_CLOCK_TOLERANCE,
  createOperationGuard,
  type AccessTokenClaims,
  type GuardOptions,
  type GuardResult,
  type OperationGuard,
} from './guard.js'
export { bearerError, parseAuthorization, type AuthorizationScheme, type BearerError, type BearerErrorCode, type ParsedAuthorization } from './bearer.js'
export type { DpopRequest } from './dpop.js'
export { PROTECTED_RESOURCE_METADATA_PATH, protectedResourceMetadataUrl, type ProtectedResourceMetadata } from './metadata.js'
