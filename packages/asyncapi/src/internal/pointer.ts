/** RFC 6901 JSON pointers. */

export function escapeToken(token: string | number): string {
  return String(token).replace(/~/g, '~0').replace(/\//g, '~1')
}

export function join(pointer: string, ...tokens: Array<string | number>): string {
  return pointer + tokens.map((t) => '/' + escapeToken(t)).join('')
}

/** The tokens of a pointer; undefined when it is not a valid pointer. */
export function split(pointer: string): string[] | undefined {
  if (pointer === '') return []
  if (!pointer.startsWith('/')) return undefined
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
}

/** The value at `pointer` in `root`, or undefined. Follows no `$ref`. */
export function get(root: unknown, pointer: string): unknown {
  const tokens = split(pointer)
  if (tokens === undefined) return undefined
  let node: unknown = root
  for (const token of tokens) {
    if (Array.isArray(node)) {
      if (!/^(0|[1-9]\d*)$/.test(token)) return undefined
      node = node[Number(token)]
    } else if (isObject(node) && Object.hasOwn(node, token)) {
      node = node[token]
    } else {
      return undefined
    }
  }
  return node
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** `/a/b/c` is inside `/a/b` (and inside itself). */
export function isWithin(pointer: string, ancestor: string): boolean {
  return pointer === ancestor || pointer.startsWith(ancestor + '/')
}
