import { assertDocument, type AsyncApiDocument } from '../document/load.js'
import { toProblems } from '../internal/ajv-problems.js'
import { documentValidator } from '../internal/specs.js'
import type { Problem } from '../problems.js'

/**
 * Validates the whole document against the official JSON Schema of its declared version
 * (`@asyncapi/specs`, with Ajv). The first call per version compiles the schema (~0.1–0.6 s);
 * to read scopes at start-up, {@link readAuthorizationCodeSchemes} alone is enough.
 *
 * Problems carry the JSON pointer of the offending value; their codes start with `SCHEMA_`.
 *
 * @see https://www.asyncapi.com/docs/reference/specification/v3.0.0
 * @see https://github.com/asyncapi/spec-json-schemas
 * @example
 * ```ts
 * const errors = validateDocument(await loadDocument('asyncapi.yaml'))
 * ```
 */
export function validateDocument(doc: AsyncApiDocument): Problem[] {
  assertDocument(doc, 'validateDocument')
  const validate = documentValidator(doc.schemaVersion)
  if (validate(doc.data)) return []
  return toProblems(validate.errors, doc.data).map((p) => ({ ...p, ...doc.locate(p.pointer) }))
}
