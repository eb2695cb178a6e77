import { assertDocument, type AsyncApiDocument } from './document/load.js'
import type { SchemaVersion } from './document/versions.js'
import { isSchemaProblem, type Problem } from './problems.js'
import { lintSecurity } from './security/lint.js'
import { operationScopes, type OperationSecurity } from './security/operations.js'
import { readAuthorizationCodeSchemes, type AuthorizationCodeScheme } from './security/schemes.js'
import { validateDocument } from './validation/document.js'

/** Everything {@link checkDocument} finds. */
export interface CheckResult {
  readonly asyncapi: string
  readonly schemaVersion: SchemaVersion
  /** True when the official schema accepts the document (no `SCHEMA_*` problem). */
  readonly valid: boolean
  readonly schemes: readonly AuthorizationCodeScheme[]
  readonly operations: readonly OperationSecurity[]
  /** Schema problems, reference problems and the security review, once each, in document order. */
  readonly problems: readonly Problem[]
}

/**
 * The whole check: validates the document against the official schema of its version, reads its
 * authorization code schemes, computes each operation's scopes, and runs the security review.
 *
 * @see https://www.asyncapi.com/docs/reference/specification/v3.0.0
 * @example
 * ```ts
 * const result = checkDocument(await loadDocument('asyncapi.yaml'))
 * if (!result.valid) process.exitCode = 1
 * ```
 */
export function checkDocument(doc: AsyncApiDocument): CheckResult {
  assertDocument(doc, 'checkDocument')
  const { schemes, problems: schemeProblems } = readAuthorizationCodeSchemes(doc)
  const all = [
    ...doc.problems.filter((p) => p.code === 'REF_UNRESOLVED'),
    ...validateDocument(doc),
    ...schemeProblems,
    ...lintSecurity(doc),
  ]
  const unique = new Map<string, Problem>()
  for (const p of all) {
    const key = `${p.code}\u0000${p.pointer}\u0000${p.message}`
    if (!unique.has(key)) unique.set(key, p)
  }
  const problems = [...unique.values()].sort(
    (a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0) || a.pointer.localeCompare(b.pointer),
  )
  return {
    asyncapi: doc.asyncapi,
    schemaVersion: doc.schemaVersion,
    valid: !problems.some(isSchemaProblem),
    schemes,
    operations: operationScopes(doc),
    problems,
  }
}
