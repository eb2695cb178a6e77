/**
 * `@authcode/asyncapi`: reads AsyncAPI 2.0–2.6 and 3.0–3.1 documents, validates them against the
 * official schemas (`@asyncapi/specs`), extracts their OAuth 2.0 authorization code flows, computes
 * the scopes each operation requires, and flags what a security reviewer would.
 *
 * @see https://www.asyncapi.com/docs/reference/specification/v3.0.0#securitySchemeObject
 * @packageDocumentation
 */
export { AsyncApiError, type AsyncApiErrorCode } from './errors.js'
export { isSchemaProblem, type Problem, type ProblemCode } from './problems.js'
export {
  DEFAULT_MAX_NODES,
  DEFAULT_MAX_REF_FILE_BYTES,
  DEFAULT_TIMEOUT_MS,
  loadDocument,
  parseDocument,
  type AsyncApiDocument,
  type LoadOptions,
  type ParseOptions,
} from './document/load.js'
export { SCHEMA_VERSIONS, type SchemaVersion } from './document/versions.js'
export { validateDocument } from './validation/document.js'
export {
  chooseAuthorizationCodeScheme,
  readAuthorizationCodeSchemes,
  type AuthorizationCodeScheme,
  type AuthorizationCodeSchemeChoice,
  type AuthorizationCodeSchemes,
  type SchemeChoiceCode,
  type ScopeDeclaration,
} from './security/schemes.js'
export { operationScopes, type OperationSecurity, type SecurityAlternative, type SchemeUse } from './security/operations.js'
export { lintSecurity } from './security/lint.js'
export { checkDocument, type CheckResult } from './check.js'
export { PROTECTED_RESOURCE_METADATA_PATH, protectedResourceMetadataUrl, type ProtectedResourceMetadata } from './guard/index.js'
export { ASYMMETRIC_ALGORITHMS, DEFAULT_CLOCK_TOLERANCE, createOperationGuard, bearerError, parseAuthorization, type AccessTokenClaims, type BearerError, type BearerErrorCode, type GuardOptions, type GuardResult, type OperationGuard, type ParsedAuthorization, type AuthorizationScheme, type DpopRequest } from './guard/index.js'
