/**
 * Ajv errors → problems. Ajv reports every branch of a failed `oneOf` (a security scheme is one of
 * fourteen kinds, most things are "a Reference or …"): keep the errors of the branch the value was
 * meant for, and say each remaining thing once, with the pointer where it is.
 */
import type { ErrorObject } from 'ajv'
import type { Problem, ProblemCode } from '../problems.js'
import { get, isObject, isWithin, join } from './pointer.js'

const SUMMARIES = new Set(['oneOf', 'anyOf', 'if'])

export function toProblems(errors: readonly ErrorObject[] | null | undefined, data: unknown, base = ''): Problem[] {
  if (!errors || errors.length === 0) return []
  // 1. Drop errors of branches whose discriminator (`type` enum/const, or `$ref` for a Reference) does not match.
  let kept = errors.filter((e) => !SUMMARIES.has(e.keyword) && !discriminatorMismatch(e, data))
  // 2. A Reference branch ("must have $ref") of an object without $ref, when the object has other errors.
  kept = kept.filter((e) => !(isRefBranch(e, data) && kept.some((o) => o !== e && !isRefBranch(o, data) && isWithin(o.instancePath, e.instancePath))))
  // 3. `type` enum failures of branches, when another branch took the object further.
  kept = kept.filter((e) => {
    if (!(e.keyword === 'enum' || e.keyword === 'const') || !e.instancePath.endsWith('/type')) return true
    const parent = e.instancePath.slice(0, -'/type'.length)
    return !kept.some((o) => o.instancePath !== e.instancePath && isWithin(o.instancePath, parent) && !(o.keyword === 'enum' || o.keyword === 'const'))
  })
  if (kept.length === 0) kept = errors.filter((e) => SUMMARIES.has(e.keyword))
  if (kept.length === 0) kept = [...errors]
  const problems = new Map<string, Problem>()
  const enums = new Map<string, Set<unknown>>()
  for (const e of kept) {
    const pointer = base + e.instancePath
    if (e.keyword === 'enum' || e.keyword === 'const') {
      const allowed = enums.get(pointer) ?? new Set<unknown>()
      const params = e.params as { allowedValues?: unknown[]; allowedValue?: unknown }
      for (const v of params.allowedValues ?? [params.allowedValue]) allowed.add(v)
      enums.set(pointer, allowed)
      continue
    }
    const problem = convert(e, pointer, get(data, e.instancePath))
    problems.set(`${problem.code} ${problem.pointer} ${problem.message}`, problem)
  }
  for (const [pointer, allowed] of enums) {
    const list = [...allowed].map((v) => JSON.stringify(v)).join(', ')
    problems.set(`enum ${pointer}`, { severity: 'error', code: 'SCHEMA_ENUM', message: `must be one of ${list}`, pointer })
  }
  return [...problems.values()]
}

function convert(e: ErrorObject, pointer: string, value: unknown): Problem {
  const make = (code: ProblemCode, message: string, at = pointer): Problem => ({ severity: 'error', code, message, pointer: at })
  switch (e.keyword) {
    case 'required':
      return make('SCHEMA_REQUIRED', `missing required field "${(e.params as { missingProperty: string }).missingProperty}"`)
    case 'additionalProperties': {
      const field = (e.params as { additionalProperty: string }).additionalProperty
      return make('SCHEMA_ADDITIONAL_PROPERTY', `unknown field "${field}" (only x- extensions may be added)`, join(pointer, field))
    }
    case 'format': {
      const format = (e.params as { format: string }).format
      const what = format === 'uri' ? 'an absolute URI' : `a valid ${format}`
      return make('SCHEMA_FORMAT', `must be ${what} (format "${format}"), got ${JSON.stringify(value)}`)
    }
    case 'type':
      return make('SCHEMA_TYPE', `must be of type ${String((e.params as { type: unknown }).type)}`)
    case 'not':
      return make('SCHEMA_INVALID', `must not match the schema's "not" (${describeNot(e)})`)
    default:
      return make('SCHEMA_INVALID', e.message ?? `fails "${e.keyword}"`)
  }
}

function describeNot(e: ErrorObject): string {
  const schema = e.schema as { required?: string[] } | undefined
  return schema?.required ? `must not have ${schema.required.map((r) => `"${r}"`).join(', ')}` : 'a forbidden shape'
}

/** The error comes from a schema object for another `type` than the value has. */
function discriminatorMismatch(e: ErrorObject, data: unknown): boolean {
  const schema = e.parentSchema as { properties?: Record<string, unknown> } | undefined
  const typeSchema = schema?.properties?.type
  if (!isObject(typeSchema)) return false
  const value = get(data, e.instancePath)
  if (!isObject(value) || typeof value.type !== 'string') return false
  const allowed = Array.isArray(typeSchema.enum) ? typeSchema.enum : 'const' in typeSchema ? [typeSchema.const] : undefined
  return allowed !== undefined && !allowed.includes(value.type)
}

function isRefBranch(e: ErrorObject, data: unknown): boolean {
  const schema = e.parentSchema as { required?: unknown } | undefined
  if (!Array.isArray(schema?.required) || !schema.required.includes('$ref')) return false
  const value = get(data, e.instancePath)
  return isObject(value) && !('$ref' in value)
}
