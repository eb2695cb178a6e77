/**
 * Problems found in a readable document are data, not exceptions.
 */

/** Every code a {@link Problem} can carry. Stable: callers may switch on them. */
export type ProblemCode =
  // The official JSON Schema for the declared version (or its oauth2 flow definitions) rejects the document.
  /** A required field is missing (the message names it; the pointer is the object that lacks it). */
  | 'SCHEMA_REQUIRED'
  /** A field the schema does not allow (only `x-` extensions may be added); the pointer is that field. */
  | 'SCHEMA_ADDITIONAL_PROPERTY'
  /** A value in the wrong format, e.g. a relative URL where an absolute one (`format: uri`) is required. */
  | 'SCHEMA_FORMAT'
  /** A value of the wrong JSON type. */
  | 'SCHEMA_TYPE'
  /** A value outside the allowed set (`enum`/`const`). */
  | 'SCHEMA_ENUM'
  /** Any other schema violation. */
  | 'SCHEMA_INVALID'
  // References.
  /** A `$ref` that cannot be resolved (missing target, remote URL, cycle). */
  | 'REF_UNRESOLVED'
  /** Fields beside a `$ref` are ignored by JSON Reference (and by `@asyncapi/parser`). */
  | 'REF_SIBLINGS_IGNORED'
  // Security review.
  /** A security requirement names a scheme that `components.securitySchemes` does not define. */
  | 'SCHEME_UNKNOWN'
  /** A security scheme that no server and no operation uses. */
  | 'SCHEME_UNUSED'
  /** An OAuth endpoint URL that is not https (plain http is tolerated only on localhost). */
  | 'URL_NOT_HTTPS'
  /** `refreshUrl` is on another origin than `tokenUrl`. */
  | 'REFRESH_URL_OTHER_ORIGIN'
  /** A declared scope without a description (the consent page shows it). */
  | 'SCOPE_WITHOUT_DESCRIPTION'
  /** A server or operation requires a scope its scheme does not declare (security checklist AA-04). */
  | 'SCOPE_UNDECLARED'
  /** An `implicit` or `password` flow (removed by OAuth 2.1; RFC 9700 §2.1.2, §2.4; checklist AA-03). */
  | 'FLOW_INSECURE'

/** One problem in a document. */
export interface Problem {
  readonly severity: 'error' | 'warning'
  readonly code: ProblemCode
  /** One line, for people. */
  readonly message: string
  /** RFC 6901 JSON pointer into the document (`''` is the root). Content inlined from another file by a `$ref` is addressed where the `$ref` was. */
  readonly pointer: string
  /** 1-based line and column of `pointer` (or its nearest ancestor) in the source text, when known. */
  readonly line?: number
  readonly column?: number
}

/** True for problems found by the official JSON Schema (as opposed to references and security review). */
export function isSchemaProblem(problem: Problem): boolean {
  return problem.code.startsWith('SCHEMA_')
}
