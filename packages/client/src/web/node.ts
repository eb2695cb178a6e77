/**
 * What the Node framework adapters (`../express`, `../fastify`) share: the Web `Request` for a
 * request a Node HTTP server received. The handler reads the method, the URL and the headers; the
 * back-channel logout route alone also reads the body (a form with the logout token).
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'

/**
 * The Web `Request` for a Node request: the URL on the configured origin (never the Host header),
 * the method, every header (repeated ones appended).
 */
export function webRequest(origin: string, url: string, method: string, incoming: IncomingHttpHeaders, body?: string): Request {
  const headers = new Headers()
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item)
  }
  // The body read already: its length, not the one the client declared.
  if (body !== undefined) headers.delete('content-length')
  // Appended, not resolved: a request line like `//evil.test/x` stays a path on this origin.
  return new Request(`${origin}${url.startsWith('/') ? '' : '/'}${url}`, { method, headers, ...(body === undefined ? {} : { body }) })
}

/** The most a back-channel logout body may hold; more is refused unread (a logout token is a few hundred bytes). */
export const MAX_BODY = 32 * 1024

/**
 * A request's body as text, when nothing read it before: at most `MAX_BODY` bytes (more rejects
 * with a `RangeError`, and the rest is not read).
 */
export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY) throw new RangeError('the body is too large')
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}
