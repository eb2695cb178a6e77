/**
 * What the Node framework adapters (`../express`, `../fastify`) share: the Web `Request` for a
 * request a Node HTTP server received. The handler reads only the method, the URL and the headers.
 */
import type { IncomingHttpHeaders } from 'node:http'

/**
 * The Web `Request` for a Node request: the URL on the configured origin (never the Host header),
 * the method, every header (repeated ones appended).
 */
export function webRequest(origin: string, url: string, method: string, incoming: IncomingHttpHeaders): Request {
  const headers = new Headers()
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item)
  }
  // Appended, not resolved: a request line like `//evil.test/x` stays a path on this origin.
  return new Request(`${origin}${url.startsWith('/') ? '' : '/'}${url}`, { method, headers })
}
