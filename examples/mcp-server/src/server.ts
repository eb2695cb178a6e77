/**
 * A small MCP server (the official SDK's server side, Streamable HTTP transport, stateless) whose
 * tools are guarded by authcode access tokens for its own resource (RFC 8707):
 *
 * - `POST {resource path}` (default `/mcp`): MCP over Streamable HTTP. Every request needs a Bearer
 *   token for this resource with the scope `mcp:tools`; a tool may need more (`remember` needs
 *   `notes:write`). No token or a bad one: 401; too few scopes: 403 `insufficient_scope` naming
 *   them. Every challenge names the metadata (`resource_metadata`, RFC 9728 §5.1).
 * - `GET /.well-known/oauth-protected-resource{path}` (RFC 9728 §3.1) and the same without the
 *   path: the resource, its authorization server and the scopes, which is all an MCP host needs to
 *   register (RFC 7591), sign the user in and ask for a token with `resource`.
 *
 * Tools: `whoami` (the token's subject, client and scopes), `remember` (keeps a short note for the
 * user, `notes:write`) and `recall` (the user's notes). Notes live in memory, a few per user.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js'
import { z } from 'zod'
import { tokenChecker, type Refusal, type VerifiedToken } from './auth.js'

/** The scope every request needs. */
export const BASE_SCOPE = 'mcp:tools'
/** The scopes a tool needs beyond {@link BASE_SCOPE}. */
export const TOOL_SCOPES: Readonly<Record<string, readonly string[]>> = { remember: ['notes:write'] }
/** Every scope the server knows, as its metadata says. */
export const SCOPES = [BASE_SCOPE, 'notes:write'] as const

const MAX_BODY = 1024 * 1024
const MAX_NOTES = 20
const MAX_USERS = 1000

export interface McpServerOptions {
  /** The authcode issuer. */
  issuer: string
  /** This server's resource URI (RFC 8707), listed in the authcode server's `resources`: its MCP endpoint's URL. */
  resource: string
  /** The authcode JWKS; default `${issuer}/jwks`. */
  jwksUri?: string
  port?: number
  host?: string
  /** The clock tokens are checked by (tests pass the authorization server's). */
  now?: () => Date
}

export interface RunningMcpServer {
  /** The MCP endpoint (the resource). */
  readonly url: string
  /** Where the RFC 9728 metadata is. */
  readonly metadataUrl: string
  readonly server: Server
  close(): Promise<void>
}

/** RFC 9728 §3.1: the metadata URL of a resource (the well-known path between host and path). */
export function metadataUrlOf(resource: string): string {
  const url = new URL(resource)
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
  return `${url.origin}/.well-known/oauth-protected-resource${path}`
}

/** The MCP server with its tools, for one request (stateless: a new one each time, as the SDK suggests). */
function mcpServer(notes: Map<string, string[]>): McpServer {
  const server = new McpServer({ name: 'authcode-example-mcp-server', version: '0.1.0' })
  const who = (authInfo: AuthInfo | undefined) => String(authInfo?.extra?.subject ?? '')

  server.registerTool('whoami', { title: 'Who am I', description: 'The signed-in user (the token subject), the app and the scopes it was granted.' }, ({ authInfo }) => ({
    content: [{ type: 'text' as const, text: JSON.stringify({ subject: who(authInfo), client_id: authInfo?.clientId, scopes: authInfo?.scopes ?? [] }) }],
  }))

  server.registerTool(
    'remember',
    { title: 'Remember a note', description: 'Keeps a short note for the signed-in user (needs the notes:write scope).', inputSchema: { note: z.string().min(1).max(500) } },
    ({ note }, { authInfo }) => {
      // Checked at the HTTP layer already (403 insufficient_scope); again here, where the effect is.
      if (!(authInfo?.scopes ?? []).includes('notes:write')) return { isError: true, content: [{ type: 'text', text: 'the notes:write scope is needed' }] }
      const subject = who(authInfo)
      if (!notes.has(subject) && notes.size >= MAX_USERS) notes.delete(notes.keys().next().value ?? '')
      const kept = [...(notes.get(subject) ?? []), note].slice(-MAX_NOTES)
      notes.set(subject, kept)
      return { content: [{ type: 'text', text: `remembered (${kept.length} note${kept.length === 1 ? '' : 's'})` }] }
    },
  )

  server.registerTool('recall', { title: 'Recall notes', description: 'The notes kept for the signed-in user.' }, ({ authInfo }) => ({
    content: [{ type: 'text' as const, text: JSON.stringify(notes.get(who(authInfo)) ?? []) }],
  }))
  return server
}

/** The tools a JSON-RPC message (or batch) calls, by name. */
function calledTools(body: unknown): string[] {
  const messages = Array.isArray(body) ? body : [body]
  return messages.flatMap((message) => {
    if (typeof message !== 'object' || message === null) return []
    const { method, params } = message as { method?: unknown; params?: { name?: unknown } }
    return method === 'tools/call' && typeof params?.name === 'string' ? [params.name] : []
  })
}

async function readJson(request: IncomingMessage): Promise<{ ok: true; body: unknown } | { ok: false; status: 400 | 413 }> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY) return { ok: false, status: 413 }
    chunks.push(chunk)
  }
  try {
    return { ok: true, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown }
  } catch {
    return { ok: false, status: 400 }
  }
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'WWW-Authenticate, Mcp-Session-Id, Mcp-Protocol-Version',
} as const

function sendRefusal(response: ServerResponse, refusal: Refusal): void {
  response.writeHead(refusal.status, { ...CORS, 'www-authenticate': refusal.wwwAuthenticate, 'content-type': 'application/json', 'cache-control': 'no-store' })
  response.end(JSON.stringify(refusal.body ?? { error: 'unauthorized', error_description: 'an access token is required' }))
}

function sendJsonRpcError(response: ServerResponse, status: number, code: number, message: string): void {
  response.writeHead(status, { ...CORS, 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }))
}

/** Starts the MCP server; resolves once it listens. */
export async function startMcpServer(options: McpServerOptions): Promise<RunningMcpServer> {
  const resource = new URL(options.resource)
  if (resource.hash !== '' || resource.search !== '' || (resource.protocol !== 'http:' && resource.protocol !== 'https:')) {
    throw new TypeError('startMcpServer: resource must be an http(s) URL without a query or fragment')
  }
  const endpoint = resource.pathname
  const metadataUrl = metadataUrlOf(options.resource)
  const metadataPaths = new Set(['/.well-known/oauth-protected-resource', new URL(metadataUrl).pathname])
  const metadata = JSON.stringify({
    resource: options.resource,
    authorization_servers: [options.issuer],
    scopes_supported: SCOPES,
    bearer_methods_supported: ['header'],
    resource_name: 'authcode example MCP server',
  })
  const check = tokenChecker({ issuer: options.issuer, resource: options.resource, jwksUri: options.jwksUri, resourceMetadataUrl: metadataUrl, now: options.now })
  const notes = new Map<string, string[]>()

  async function handleMcp(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const base = await check(request.headers.authorization, [BASE_SCOPE])
    if (!base.ok) return sendRefusal(response, base.refusal)
    // Stateless Streamable HTTP: no session, so no GET stream and nothing to DELETE.
    if (request.method !== 'POST') {
      response.writeHead(405, { ...CORS, allow: 'POST' }).end()
      return
    }
    const read = await readJson(request)
    if (!read.ok) return sendJsonRpcError(response, read.status, -32700, read.status === 413 ? 'request too large' : 'parse error')
    // A tool that needs more than the base scope: 403 naming what is missing, before any tool runs.
    const needed = [...new Set([BASE_SCOPE, ...calledTools(read.body).flatMap((name) => TOOL_SCOPES[name] ?? [])])]
    const full = needed.length === 1 ? base : await check(request.headers.authorization, needed)
    if (!full.ok) return sendRefusal(response, full.refusal)
    const token: VerifiedToken = full.token
    const auth: AuthInfo = { token: token.token, clientId: token.clientId, scopes: token.scopes, expiresAt: token.expiresAt, resource, extra: { subject: token.subject } }

    const server = mcpServer(notes)
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined })
    response.on('close', () => {
      void transport.close()
      void server.close()
    })
    for (const [name, value] of Object.entries(CORS)) response.setHeader(name, value)
    await server.connect(transport)
    await transport.handleRequest(Object.assign(request, { auth }), response, read.body)
  }

  const http = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://mcp.invalid').pathname
    if (request.method === 'OPTIONS') {
      // CORS preflight, for MCP hosts that run in a browser (no cookies are ever read).
      response
        .writeHead(204, { ...CORS, 'access-control-allow-methods': 'GET, POST, DELETE', 'access-control-allow-headers': 'Authorization, Content-Type, Mcp-Protocol-Version, Mcp-Session-Id, Last-Event-ID', 'access-control-max-age': '600' })
        .end()
      return
    }
    if (metadataPaths.has(path)) {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { allow: 'GET' }).end()
        return
      }
      response.writeHead(200, { ...CORS, 'content-type': 'application/json', 'cache-control': 'max-age=300' }).end(metadata)
      return
    }
    if (path === endpoint) {
      handleMcp(request, response).catch(() => {
        if (!response.headersSent) sendJsonRpcError(response, 500, -32603, 'internal error')
        else response.end()
      })
      return
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end(`the MCP endpoint is ${endpoint}\n`)
  })

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(options.port ?? 3001, options.host ?? 'localhost', () => resolve())
  })
  return {
    url: options.resource,
    metadataUrl,
    server: http,
    async close() {
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
    },
  }
}
