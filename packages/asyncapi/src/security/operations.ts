import { assertDocument, type AsyncApiDocument } from '../document/load.js'
import { collectRequirements, type Alternative, type SchemeUse } from './requirements.js'

export type { SchemeUse } from './requirements.js'

/** One way to be allowed an operation on one server: every scheme in `requirements` must be satisfied. */
export interface SecurityAlternative {
  /** The server it applies on (undefined when the document declares no server). */
  readonly server: string | undefined
  /** Server-level requirements first, then the operation's. Empty: nothing is required. */
  readonly requirements: readonly SchemeUse[]
  /** The OAuth scopes (of `oauth2` and `openIdConnect` schemes) this alternative requires, sorted, without duplicates. */
  readonly scopes: readonly string[]
}

/** The security of one operation. */
export interface OperationSecurity {
  /** 3.x: the key in `operations`; 2.x: `operationId`, else `"publish <channel>"` / `"subscribe <channel>"`. */
  readonly id: string
  /** 3.x `send` / `receive`; 2.x `publish` / `subscribe`. */
  readonly action: string
  /** 3.x: the key in `channels` (or its address); 2.x: the channel name. */
  readonly channel: string
  readonly pointer: string
  /** The servers the operation is available on (its channel's `servers`, else all). */
  readonly servers: readonly string[]
  /** Any one of these authorizes the operation. Empty: the document requires no security for it. */
  readonly alternatives: readonly SecurityAlternative[]
  /**
   * The scopes an access token must hold for this operation: those every alternative requires (with
   * one alternative, exactly its scopes). Sorted.
   */
  readonly scopes: readonly string[]
}

const SCOPED_TYPES = new Set(['oauth2', 'openIdConnect'])

/**
 * Computes, per operation, the security requirements that apply (the server's and the operation's
 * own) and the scopes an access token must hold.
 *
 * - 3.x: `servers.*.security` and `operations.*.security` list security schemes; the required scopes
 *   are each scheme's `scopes` array. Fields beside a `$ref` are ignored, as by `@asyncapi/parser`.
 * - 2.x: `servers.*.security` and `channels.*.publish|subscribe.security` list `{scheme: [scopes]}`.
 *
 * @see https://www.asyncapi.com/docs/reference/specification/v3.0.0#operationObject
 * @see https://www.asyncapi.com/docs/reference/specification/v3.0.0#securitySchemeObject
 * @see https://www.asyncapi.com/docs/reference/specification/v2.6.0#securityRequirementObject
 * @example
 * ```ts
 * const send = operationScopes(doc).find((op) => op.id === 'sendMessage')
 * send?.scopes // ['write:messages']
 * ```
 */
export function operationScopes(doc: AsyncApiDocument): OperationSecurity[] {
  assertDocument(doc, 'operationScopes')
  const { servers, operations } = collectRequirements(doc)
  const byName = new Map(servers.map((s) => [s.name, s]))
  return operations.map((op) => {
    const opAlternatives: readonly Alternative[] = op.alternatives.length > 0 ? op.alternatives : [[]]
    const combined: SecurityAlternative[] = []
    const targets: ReadonlyArray<string | undefined> = servers.length === 0 ? [undefined] : op.servers
    for (const serverName of targets) {
      const server = serverName === undefined ? undefined : byName.get(serverName)
      const serverAlternatives: readonly Alternative[] = server && server.alternatives.length > 0 ? server.alternatives : [[]]
      for (const s of serverAlternatives) {
        for (const o of opAlternatives) {
          const requirements = [...s, ...o]
          combined.push({ server: serverName, requirements, scopes: scopesOf(requirements) })
        }
      }
    }
    const alternatives = combined.every((a) => a.requirements.length === 0) ? [] : combined
    return {
      id: op.id,
      action: op.action,
      channel: op.channel,
      pointer: op.pointer,
      servers: op.servers,
      alternatives,
      scopes: intersection(alternatives.map((a) => a.scopes)),
    }
  })
}

function scopesOf(requirements: readonly SchemeUse[]): string[] {
  const scopes = new Set<string>()
  for (const r of requirements) if (r.type !== undefined && SCOPED_TYPES.has(r.type)) for (const s of r.scopes) scopes.add(s)
  return [...scopes].sort()
}

function intersection(sets: ReadonlyArray<readonly string[]>): string[] {
  const [first, ...rest] = sets
  if (!first) return []
  return first.filter((s) => rest.every((other) => other.includes(s)))
}
