import { assertDocument, type AsyncApiDocument } from '../document/load.js'
import { isObject, join } from '../internal/pointer.js'
import type { Problem } from '../problems.js'
import { collectRequirements } from './requirements.js'
import { locateSchemes } from './schemes.js'

const URL_FIELDS = ['authorizationUrl', 'tokenUrl', 'refreshUrl'] as const
const INSECURE_FLOWS = ['implicit', 'password'] as const

/**
 * What a security reviewer would flag in the document's security schemes and requirements, beyond
 * the official schema:
 *
 * - `URL_NOT_HTTPS` (warning): an oauth2 flow URL that is not https (http only on localhost).
 * - `REFRESH_URL_OTHER_ORIGIN` (warning): `refreshUrl` on another origin than `tokenUrl`.
 * - `SCOPE_WITHOUT_DESCRIPTION` (warning): a declared scope with an empty description.
 * - `SCOPE_UNDECLARED` (error): a server or operation requires a scope its scheme does not declare.
 * - `SCHEME_UNKNOWN` (error): a 2.x requirement names a scheme that does not exist.
 * - `SCHEME_UNUSED` (warning): a `components.securitySchemes` entry no server or operation uses.
 * - `FLOW_INSECURE` (warning): an `implicit` or `password` flow (removed by OAuth 2.1; RFC 9700 §2.1.2, §2.4).
 * - `REF_SIBLINGS_IGNORED` (warning): fields beside a `$ref`, which are ignored.
 *
 * @see https://www.asyncapi.com/docs/reference/specification/v3.0.0#securitySchemeObject
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-2.1.2
 * @example
 * ```ts
 * for (const p of lintSecurity(doc)) console.log(p.severity, p.code, p.pointer, p.message)
 * ```
 */
export function lintSecurity(doc: AsyncApiDocument): Problem[] {
  assertDocument(doc, 'lintSecurity')
  const problems: Problem[] = doc.problems.filter((p) => p.code === 'REF_SIBLINGS_IGNORED').slice()
  const requirements = collectRequirements(doc)
  problems.push(...requirements.problems)
  const scopesKey = doc.major === 3 ? 'availableScopes' : 'scopes'
  const schemes = locateSchemes(doc)
  const declaredAt = new Map<string, Set<string>>()

  for (const { name, pointer, value: scheme } of schemes) {
    if (scheme.type !== 'oauth2' || !isObject(scheme.flows)) continue
    const declared = new Set<string>()
    declaredAt.set(pointer, declared)
    for (const [flowName, flow] of Object.entries(scheme.flows)) {
      if (!isObject(flow)) continue
      const flowPointer = join(pointer, 'flows', flowName)
      if ((INSECURE_FLOWS as readonly string[]).includes(flowName)) {
        problems.push({
          severity: 'warning',
          code: 'FLOW_INSECURE',
          message: `scheme "${name}" declares the ${flowName} flow, removed by OAuth 2.1 (RFC 9700 §${flowName === 'implicit' ? '2.1.2' : '2.4'}); use authorizationCode`,
          pointer: flowPointer,
        })
      }
      for (const field of URL_FIELDS) {
        const url = parseUrl(flow[field])
        if (url && !(url.protocol === 'https:' || (url.protocol === 'http:' && isLocalhost(url.hostname)))) {
          problems.push({
            severity: 'warning',
            code: 'URL_NOT_HTTPS',
            message: `${field} ${String(flow[field])} is not https (plain http is acceptable only on localhost)`,
            pointer: join(flowPointer, field),
          })
        }
      }
      const token = parseUrl(flow.tokenUrl)
      const refresh = parseUrl(flow.refreshUrl)
      if (token && refresh && token.origin !== refresh.origin) {
        problems.push({
          severity: 'warning',
          code: 'REFRESH_URL_OTHER_ORIGIN',
          message: `refreshUrl ${refresh.href} is on another origin than tokenUrl (${token.origin}): refresh tokens would go to another server`,
          pointer: join(flowPointer, 'refreshUrl'),
        })
      }
      const scopes = flow[scopesKey]
      if (!isObject(scopes)) continue
      for (const [scope, description] of Object.entries(scopes)) {
        declared.add(scope)
        if (typeof description !== 'string' || description.trim() === '') {
          problems.push({
            severity: 'warning',
            code: 'SCOPE_WITHOUT_DESCRIPTION',
            message: `scope "${scope}" of scheme "${name}" has no description (users see it on the consent page)`,
            pointer: join(flowPointer, scopesKey, scope),
          })
        }
      }
    }
  }

  const used = new Set<string>()
  const undeclared = new Map<string, Problem>()
  for (const entry of [...requirements.servers, ...requirements.operations]) {
    for (const alternative of entry.alternatives) {
      for (const use of alternative) {
        if (use.schemePointer === undefined) continue
        used.add(use.schemePointer)
        const declared = declaredAt.get(use.schemePointer)
        if (!declared) continue
        use.scopes.forEach((scope, i) => {
          const at = use.scopePointers[i] ?? use.pointer
          if (!declared.has(scope) && !undeclared.has(at)) {
            undeclared.set(at, {
              severity: 'error',
              code: 'SCOPE_UNDECLARED',
              message: `${use.level} requires scope "${scope}", which scheme "${use.scheme}" does not declare in its flows' ${scopesKey}`,
              pointer: at,
            })
          }
        })
      }
    }
  }
  // 3.x: a scheme's own `scopes` must be among its flows' availableScopes, used or not.
  if (doc.major === 3) {
    for (const { name, pointer, value } of schemes) {
      const declared = declaredAt.get(pointer)
      if (!declared || !Array.isArray(value.scopes)) continue
      value.scopes.forEach((scope, i) => {
        const at = join(pointer, 'scopes', i)
        if (typeof scope === 'string' && !declared.has(scope) && !undeclared.has(at)) {
          undeclared.set(at, {
            severity: 'error',
            code: 'SCOPE_UNDECLARED',
            message: `scheme "${name}" requires scope "${scope}", which its flows' availableScopes do not declare`,
            pointer: at,
          })
        }
      })
    }
  }
  problems.push(...undeclared.values())

  for (const { name, pointer, component } of schemes) {
    if (component && !used.has(pointer)) {
      problems.push({ severity: 'warning', code: 'SCHEME_UNUSED', message: `security scheme "${name}" is used by no server and no operation`, pointer })
    }
  }
  return problems.map((p) => ({ ...p, ...doc.locate(p.pointer) }))
}

function parseUrl(value: unknown): URL | undefined {
  if (typeof value !== 'string') return undefined
  try {
    return new URL(value)
  } catch {
    return undefined
  }
}

function isLocalhost(hostname: string): boolean {
  return hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname)
}
