import { get, isObject } from './pointer.js'

/** A node after following `$ref`s inside the document. */
export interface Resolved {
  readonly value: unknown
  /** Where the value really is. */
  readonly pointer: string
  /** The pointers the `$ref`s on the way pointed to, in order (empty: no reference). */
  readonly via: readonly string[]
}

const MAX_HOPS = 32

/** Follows `{"$ref": "#/…"}` chains; undefined when a reference does not resolve (reported at load time). */
export function resolve(root: unknown, value: unknown, pointer: string): Resolved | undefined {
  const via: string[] = []
  let node = value
  let at = pointer
  while (isObject(node) && typeof node.$ref === 'string') {
    if (!node.$ref.startsWith('#') || via.length >= MAX_HOPS) return undefined
    at = decodeURIComponent(node.$ref.slice(1))
    if (via.includes(at)) return undefined
    via.push(at)
    node = get(root, at)
    if (node === undefined) return undefined
  }
  return { value: node, pointer: at, via }
}

/** The entries of an object (resolving the object itself), or none. */
export function entries(root: unknown, value: unknown, pointer: string): Array<[string, unknown, string]> {
  const resolved = resolve(root, value, pointer)
  if (!resolved || !isObject(resolved.value)) return []
  return Object.entries(resolved.value).map(([k, v]) => [k, v, `${resolved.pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`])
}
