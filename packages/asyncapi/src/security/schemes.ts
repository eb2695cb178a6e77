import { assertDocument, type AsyncApiDocument } from '../document/load.js'
import { toProblems } from '../internal/ajv-problems.js'
import { get, isObject, isWithin, join } from '../internal/pointer.js'
import { entries, resolve } from '../internal/refs.js'
import { oauth2SchemeValidator } from '../internal/specs.js'
import type { Problem } from '../problems.js'
import { collectRequirements } from './requirements.js'

/** A scope the scheme declares. */
export interface ScopeDeclaration {
  readonly name: string
  /** As written; may be empty (see the `SCOPE_WITHOUT_DESCRIPTION` warning). */
  readonly description: string
}

/** An `oauth2` security scheme with a valid `flows.authorizationCode` flow. */
export interface AuthorizationCodeScheme {
  /** The key in `components.securitySchemes`; for a scheme written inline (3.x), its pointer. */
  readonly name: string
  /** The scheme object. */
  readonly pointer: string
  /** The `flows.authorizationCode` object. */
  readonly flowPointer: string
  readonly description: string | undefined
  /** Absolute URL. */
  readonly authorizationUrl: string
  /** Absolute URL. */
  readonly tokenUrl: string
  /** Absolute URL, when declared. */
  readonly refreshUrl: string | undefined
  /** 3.x `availableScopes`, 2.x `scopes`, in document order. */
  readonly scopes: readonly ScopeDeclaration[]
  /** 3.x only: the scheme's own `scopes` array (the scopes required where it is used). Empty in 2.x. */
  readonly requiredScopes: readonly string[]
  /** The scheme's `x-issuer` extension (AsyncAPI has no issuer field), when it is a string. */
  readonly issuer: string | undefined
  /** The other flows declared beside it (`implicit`, `password`, `clientCredentials`). */
  readonly otherFlows: readonly string[]
}

/** The result of {@link readAuthorizationCodeSchemes}. */
export interface AuthorizationCodeSchemes {
  /** The schemes whose authorization code flow passes the official oauth2 schema. */
  readonly schemes: readonly AuthorizationCodeScheme[]
  /** Every oauth2 scheme's violations of the official oauth2 schema (`SCHEMA_*`), and unresolved references. */
  readonly problems: readonly Problem[]
}

/** A security scheme object somewhere in the document. */
export interface SchemeLocation {
  readonly name: string
  readonly pointer: string
  readonly value: Record<string, unknown>
  /** Declared in `components.securitySchemes` (as opposed to inline in a 3.x requirement). */
  readonly component: boolean
}

/** Every security scheme object: the components', then (3.x) those written inline in requirements. */
export function locateSchemes(doc: AsyncApiDocument): SchemeLocation[] {
  const root = doc.data
  const found = new Map<string, SchemeLocation>()
  const components = resolve(root, root.components, '/components')
  if (components && isObject(components.value)) {
    for (const [name, value, pointer] of entries(root, components.value.securitySchemes, join(components.pointer, 'securitySchemes'))) {
      const scheme = resolve(root, value, pointer)
      if (scheme && isObject(scheme.value) && !found.has(scheme.pointer)) {
        found.set(scheme.pointer, { name, pointer: scheme.pointer, value: scheme.value, component: true })
      }
    }
  }
  const { servers, operations } = collectRequirements(doc)
  for (const entry of [...servers, ...operations]) {
    for (const alternative of entry.alternatives) {
      for (const use of alternative) {
        if (use.schemePointer === undefined || found.has(use.schemePointer)) continue
        const value = get(root, use.schemePointer)
        if (isObject(value)) found.set(use.schemePointer, { name: use.scheme, pointer: use.schemePointer, value, component: false })
      }
    }
  }
  return [...found.values()]
}

const FLOW_NAMES = ['implicit', 'password', 'clientCredentials', 'authorizationCode'] as const

/**
 * Finds every `type: oauth2` security scheme with a `flows.authorizationCode` flow and validates
 * each oauth2 scheme against the official oauth2 definitions of the document's version
 * (`oauth2Flows.json`, `oauth2Flow.json`, `oauth2Scopes.json` of `@asyncapi/specs`): required
 * fields, absolute URLs, no unknown fields but `x-` extensions. Loads only those schema files, so it
 * is fast enough for a server's start-up; {@link validateDocument} checks the rest of the document.
 *
 * @see https://www.asyncapi.com/docs/reference/specification/v3.0.0#oauthFlowsObject
 * @see https://www.asyncapi.com/docs/reference/specification/v3.0.0#oauthFlowObject
 * @see https://www.asyncapi.com/docs/reference/specification/v2.6.0#oauthFlowObject
 * @example
 * ```ts
 * const { schemes, problems } = readAuthorizationCodeSchemes(await loadDocument('asyncapi.yaml'))
 * for (const s of schemes) console.log(s.name, s.tokenUrl, s.scopes.map((x) => x.name))
 * ```
 */
export function readAuthorizationCodeSchemes(doc: AsyncApiDocument): AuthorizationCodeSchemes {
  assertDocument(doc, 'readAuthorizationCodeSchemes')
  const scopesKey = doc.major === 3 ? 'availableScopes' : 'scopes'
  const schemes: AuthorizationCodeScheme[] = []
  const problems: Problem[] = doc.problems.filter((p) => p.code === 'REF_UNRESOLVED')
  for (const location of locateSchemes(doc)) {
    const scheme = location.value
    if (scheme.type !== 'oauth2') continue
    const validate = oauth2SchemeValidator(doc.schemaVersion)
    const found = validate(scheme) ? [] : toProblems(validate.errors, scheme, location.pointer)
    problems.push(...found.map((p) => ({ ...p, ...doc.locate(p.pointer) })))
    const flows = isObject(scheme.flows) ? scheme.flows : undefined
    const flow = flows?.authorizationCode
    if (!isObject(flow)) continue
    const flowPointer = join(location.pointer, 'flows', 'authorizationCode')
    if (found.some((p) => isWithin(p.pointer, flowPointer) || p.pointer === location.pointer)) continue
    const declared = isObject(flow[scopesKey]) ? (flow[scopesKey] as Record<string, unknown>) : {}
    schemes.push({
      name: location.name,
      pointer: location.pointer,
      flowPointer,
      description: typeof scheme.description === 'string' ? scheme.description : undefined,
      authorizationUrl: flow.authorizationUrl as string,
      tokenUrl: flow.tokenUrl as string,
      refreshUrl: typeof flow.refreshUrl === 'string' ? flow.refreshUrl : undefined,
      scopes: Object.entries(declared).map(([name, description]) => ({ name, description: String(description) })),
      requiredScopes: doc.major === 3 && Array.isArray(scheme.scopes) ? scheme.scopes.filter((s): s is string => typeof s === 'string') : [],
      issuer: typeof scheme['x-issuer'] === 'string' ? scheme['x-issuer'] : undefined,
      otherFlows: FLOW_NAMES.filter((name) => name !== 'authorizationCode' && flows !== undefined && name in flows),
    })
  }
  return { schemes, problems }
}

/** Why {@link chooseAuthorizationCodeScheme} chose no scheme. Stable: callers switch on them to word their own error. */
export type SchemeChoiceCode =
  /** The document has no valid oauth2 scheme with an authorization code flow. */
  | 'NO_SCHEME'
  /** It has several, and no name was given. */
  | 'SEVERAL_SCHEMES'
  /** A name was given, and none of the valid authorization code schemes has it. */
  | 'UNKNOWN_SCHEME'

/** The result of {@link chooseAuthorizationCodeScheme}: the scheme, or why there is none. */
export type AuthorizationCodeSchemeChoice =
  | {
      readonly ok: true
      readonly scheme: AuthorizationCodeScheme
      /**
       * Without a name, when several schemes point at the same authorization server (the same
       * authorization and token URLs, as inline `security` on each operation often does): their
       * names, in document order; `scheme` is then all of them as one, with every scope.
       */
      readonly merged?: readonly string[]
    }
  | { readonly ok: false; readonly code: 'NO_SCHEME' | 'SEVERAL_SCHEMES'; readonly available: readonly string[] }
  | {
      readonly ok: false
      readonly code: 'UNKNOWN_SCHEME'
      /** The name asked for. */
      readonly name: string
      /** The names of the valid authorization code schemes, in document order, each once. */
      readonly available: readonly string[]
    }

/**
 * The one authorization code scheme a client or server uses: the one named `name`, or, without a
 * name, the document's only one, or its several that describe one authorization server (same
 * authorization and token URLs, no differing refresh URL or `x-issuer`) merged. Anything else is a failure with a stable `code` and the names
 * there are to choose from, for the caller to word its own error (a CLI flag, an option name). A
 * scheme with an invalid flow is not among `schemes` (see {@link readAuthorizationCodeSchemes}), so
 * naming it is `UNKNOWN_SCHEME`; the reasons are in `problems`. A `name` that is not a string is a
 * `TypeError`.
 *
 * @see https://www.asyncapi.com/docs/reference/specification/v3.0.0#securitySchemeObject
 * @example
 * ```ts
 * const choice = chooseAuthorizationCodeScheme(readAuthorizationCodeSchemes(doc).schemes, 'chatOAuth')
 * if (!choice.ok) throw new Error(`${choice.code}: choose one of ${choice.available.join(', ')}`)
 * console.log(choice.scheme.tokenUrl)
 * ```
 */
export function chooseAuthorizationCodeScheme(schemes: readonly AuthorizationCodeScheme[], name?: string): AuthorizationCodeSchemeChoice {
  if (!Array.isArray(schemes)) throw new TypeError('chooseAuthorizationCodeScheme: schemes must be the array from readAuthorizationCodeSchemes')
  if (name !== undefined && typeof name !== 'string') throw new TypeError('chooseAuthorizationCodeScheme: name must be a string')
  const available = [...new Set(schemes.map((s) => s.name))]
  if (name !== undefined) {
    const found = schemes.find((s) => s.name === name)
    return found === undefined ? { ok: false, code: 'UNKNOWN_SCHEME', name, available } : { ok: true, scheme: found }
  }
  const [only, ...others] = schemes
  if (only === undefined) return { ok: false, code: 'NO_SCHEME', available }
  if (others.length === 0) return { ok: true, scheme: only }
  const merged = oneServer(only, others)
  if (merged === undefined) return { ok: false, code: 'SEVERAL_SCHEMES', available }
  return { ok: true, scheme: merged, merged: available }
}

/** The one value several schemes agree on where they give one; `null` when two differ. */
function agreed(values: readonly (string | undefined)[]): string | undefined | null {
  const given = new Set(values.filter((value) => value !== undefined))
  return given.size > 1 ? null : [...given][0]
}

/**
 * Schemes of one authorization server as one scheme: each scope once, in document order, with the
 * first description that says something; undefined when they are not of one server.
 */
function oneServer(first: AuthorizationCodeScheme, others: readonly AuthorizationCodeScheme[]): AuthorizationCodeScheme | undefined {
  const all = [first, ...others]
  if (others.some((s) => s.authorizationUrl !== first.authorizationUrl || s.tokenUrl !== first.tokenUrl)) return undefined
  const refreshUrl = agreed(all.map((s) => s.refreshUrl))
  const issuer = agreed(all.map((s) => s.issuer))
  if (refreshUrl === null || issuer === null) return undefined
  const scopes = new Map<string, string>()
  for (const { name, description } of all.flatMap((s) => s.scopes)) {
    if (!scopes.has(name) || (scopes.get(name) === '' && description !== '')) scopes.set(name, description)
  }
  return {
    ...first,
    name: [...new Set(all.map((s) => s.name))].join(', '),
    description: all.find((s) => s.description !== undefined)?.description,
    refreshUrl,
    issuer,
    scopes: [...scopes].map(([name, description]) => ({ name, description })),
    requiredScopes: [...new Set(all.flatMap((s) => s.requiredScopes))],
    otherFlows: [...new Set(all.flatMap((s) => s.otherFlows))],
  }
}
