/**
 * Scope values (RFC 6749 §3.3): space-delimited, case-sensitive scope-tokens
 * `1*( %x21 / %x23-5B / %x5D-7E )`, order irrelevant.
 */
import { invalidScope } from './errors.js'

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/
const MAX_SCOPES = 100

/** RFC 6749 §3.3: without a default scope, a request without `scope` fails with invalid_scope. */
export function invalidScopeIfMissing(value: string | undefined): string {
  if (value === undefined) throw invalidScope('scope is missing')
  return value
}

/** Parses a `scope` parameter; a malformed value is `invalid_scope`. Duplicates are folded. */
export function parseScope(value: string): string[] {
  const tokens = value.split(' ')
  if (tokens.length > MAX_SCOPES) throw invalidScope('too many scope values')
  for (const token of tokens) {
    if (!SCOPE_TOKEN.test(token)) throw invalidScope('scope is malformed')
  }
  return [...new Set(tokens)]
}

export const formatScope = (scopes: readonly string[]): string => scopes.join(' ')

/** Every requested scope must be offered by the server and registered for the client. */
export function checkScopesAllowed(requested: readonly string[], allowed: readonly string[]): void {
  const permitted = new Set(allowed)
  for (const scope of requested) {
    if (!permitted.has(scope)) throw invalidScope('a requested scope is not allowed for this client')
  }
}

/** True when every scope of `wanted` is in `granted`. */
export function coversScopes(granted: readonly string[], wanted: readonly string[]): boolean {
  const set = new Set(granted)
  return wanted.every((scope) => set.has(scope))
}
