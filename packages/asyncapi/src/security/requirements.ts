/**
 * Servers, operations and their security requirements, read the same way for 2.x and 3.x.
 *
 * 2.x: a requirement list holds objects `{schemeName: [scopes]}`; one object must be satisfied, and
 * every scheme in it. 3.x: the list holds security scheme objects (usually `$ref`s to
 * `components.securitySchemes`); one must be satisfied, with the scopes of its own `scopes` array.
 * In both, an operation's requirements come on top of its server's.
 */
import type { AsyncApiDocument } from '../document/load.js'
import { isObject, join } from '../internal/pointer.js'
import { entries, resolve } from '../internal/refs.js'
import type { Problem } from '../problems.js'

/** One security scheme required by one requirement. */
export interface SchemeUse {
  /** The `components.securitySchemes` key, or, for a scheme written inline (3.x), its pointer. */
  readonly scheme: string
  /** Where the scheme object is (undefined: unknown scheme). */
  readonly schemePointer: string | undefined
  /** The scheme's `type` (`oauth2`, `openIdConnect`, `httpApiKey`, …), if known. */
  readonly type: string | undefined
  /** Scopes required, in order. */
  readonly scopes: readonly string[]
  /** The pointer of each required scope, in the same order. */
  readonly scopePointers: readonly string[]
  /** The requirement (2.x: the requirement object; 3.x: the list item). */
  readonly pointer: string
  readonly level: 'server' | 'operation'
}

/** All schemes in one alternative must be satisfied. */
export type Alternative = readonly SchemeUse[]

export interface ServerEntry {
  readonly name: string
  readonly pointer: string
  /** Empty: the server declares no security. */
  readonly alternatives: readonly Alternative[]
}

export interface OperationEntry {
  readonly id: string
  readonly action: string
  readonly channel: string
  readonly pointer: string
  readonly servers: readonly string[]
  readonly alternatives: readonly Alternative[]
}

export interface Requirements {
  readonly servers: readonly ServerEntry[]
  readonly operations: readonly OperationEntry[]
  readonly problems: readonly Problem[]
}

const cache = new WeakMap<AsyncApiDocument, Requirements>()

export function collectRequirements(doc: AsyncApiDocument): Requirements {
  let result = cache.get(doc)
  if (!result) {
    result = doc.major === 2 ? collect2(doc) : collect3(doc)
    cache.set(doc, result)
  }
  return result
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
}

const COMPONENT_SCHEME = /^\/components\/securitySchemes\/([^/]+)$/

function unescape(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~')
}

// ---------------------------------------------------------------- 3.x

function collect3(doc: AsyncApiDocument): Requirements {
  const root = doc.data
  const problems: Problem[] = []

  const alternatives3 = (security: unknown, pointer: string, level: SchemeUse['level']): Alternative[] => {
    if (!Array.isArray(security)) return []
    const out: Alternative[] = []
    security.forEach((item, i) => {
      const at = join(pointer, i)
      const resolved = resolve(root, item, at)
      if (!resolved || !isObject(resolved.value)) return
      const viaComponent = resolved.via.map((p) => COMPONENT_SCHEME.exec(p)).find((m) => m !== null)
      const scheme = resolved.value
      const scopes = strings(scheme.scopes)
      out.push([
        {
          scheme: viaComponent?.[1] !== undefined ? unescape(viaComponent[1]) : resolved.pointer,
          schemePointer: resolved.pointer,
          type: typeof scheme.type === 'string' ? scheme.type : undefined,
          scopes,
          scopePointers: scopes.map((_, j) => join(resolved.pointer, 'scopes', j)),
          pointer: at,
          level,
        },
      ])
    })
    return out
  }

  const servers: ServerEntry[] = entries(root, root.servers, '/servers').map(([name, value, pointer]) => {
    const server = resolve(root, value, pointer)
    const s = isObject(server?.value) ? server.value : {}
    const at = server?.pointer ?? pointer
    return { name, pointer, alternatives: alternatives3(s.security, join(at, 'security'), 'server') }
  })

  const operations: OperationEntry[] = entries(root, root.operations, '/operations').map(([id, value, pointer]) => {
    const op = resolve(root, value, pointer)
    const o = isObject(op?.value) ? op.value : {}
    const at = op?.pointer ?? pointer
    const channel = resolve(root, o.channel, join(at, 'channel'))
    const c = isObject(channel?.value) ? channel.value : {}
    const channelMatch = channel ? /^\/channels\/([^/]+)$/.exec(channel.pointer) : null
    const channelName = channelMatch?.[1] !== undefined ? unescape(channelMatch[1]) : typeof c.address === 'string' ? c.address : ''
    let serverNames = servers.map((s) => s.name)
    if (Array.isArray(c.servers)) {
      serverNames = c.servers.flatMap((ref, i) => {
        const r = resolve(root, ref, join(channel?.pointer ?? '', 'servers', i))
        const m = r ? /^\/servers\/([^/]+)$/.exec(r.pointer) : null
        return m?.[1] !== undefined ? [unescape(m[1])] : []
      })
    }
    return {
      id,
      action: typeof o.action === 'string' ? o.action : '',
      channel: channelName,
      pointer,
      servers: serverNames,
      alternatives: alternatives3(o.security, join(at, 'security'), 'operation'),
    }
  })
  return { servers, operations, problems }
}

// ---------------------------------------------------------------- 2.x

function collect2(doc: AsyncApiDocument): Requirements {
  const root = doc.data
  const problems: Problem[] = []
  const components = resolve(root, root.components, '/components')
  const schemes = isObject(components?.value) ? components.value.securitySchemes : undefined
  const schemesPointer = join(components?.pointer ?? '/components', 'securitySchemes')

  const alternatives2 = (security: unknown, pointer: string, level: SchemeUse['level']): Alternative[] => {
    if (!Array.isArray(security)) return []
    return security.map((requirement, i) => {
      const at = join(pointer, i)
      if (!isObject(requirement)) return []
      return Object.entries(requirement).map(([name, scopesValue]): SchemeUse => {
        const found = isObject(schemes) && Object.hasOwn(schemes, name) ? resolve(root, schemes[name], join(schemesPointer, name)) : undefined
        if (!found) {
          problems.push({
            severity: 'error',
            code: 'SCHEME_UNKNOWN',
            message: `security requirement names "${name}", which components.securitySchemes does not define`,
            pointer: join(at, name),
          })
        }
        const scheme = isObject(found?.value) ? found.value : undefined
        const scopes = strings(scopesValue)
        return {
          scheme: name,
          schemePointer: found?.pointer,
          type: typeof scheme?.type === 'string' ? scheme.type : undefined,
          scopes,
          scopePointers: scopes.map((_, j) => join(at, name, j)),
          pointer: at,
          level,
        }
      })
    })
  }

  const servers: ServerEntry[] = entries(root, root.servers, '/servers').map(([name, value, pointer]) => {
    const server = resolve(root, value, pointer)
    const s = isObject(server?.value) ? server.value : {}
    return { name, pointer, alternatives: alternatives2(s.security, join(server?.pointer ?? pointer, 'security'), 'server') }
  })

  const operations: OperationEntry[] = []
  for (const [channelName, value, pointer] of entries(root, root.channels, '/channels')) {
    const channel = resolve(root, value, pointer)
    const c = isObject(channel?.value) ? channel.value : {}
    const at = channel?.pointer ?? pointer
    const serverNames = Array.isArray(c.servers) ? strings(c.servers) : servers.map((s) => s.name)
    for (const action of ['publish', 'subscribe'] as const) {
      const op = resolve(root, c[action], join(at, action))
      if (!op || !isObject(op.value)) continue
      const o = op.value
      operations.push({
        id: typeof o.operationId === 'string' ? o.operationId : `${action} ${channelName}`,
        action,
        channel: channelName,
        pointer: join(at, action),
        servers: serverNames,
        alternatives: alternatives2(o.security, join(op.pointer, 'security'), 'operation'),
      })
    }
  }
  return { servers, operations, problems }
}
