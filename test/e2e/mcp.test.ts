/**
 * The official MCP TypeScript SDK's client, unmodified, signs a user in through authcode and calls
 * the tools of the example MCP server (examples/mcp-server), whose tokens are audience-bound to it:
 * the 401's `resource_metadata` (RFC 9728), the authorization server's metadata (RFC 8414), dynamic
 * client registration (RFC 7591), login and consent (walked as a browser would, the consent page
 * naming the resource), the code exchange with `resource` (RFC 8707) and PKCE, then a tool call.
 * A token for another resource, or with the server's default audience, is refused by the MCP server.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { UnauthorizedError, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js'
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startMcpServer, type RunningMcpServer } from '../../examples/mcp-server/src/server.js'
import { Browser, freePort, obtainTokens, startServer, type TestClient, type TestServer } from '../../packages/server/test/harness.js'
import { walkAuthorization } from '../../packages/server/test/walk.js'

const OTHER_RESOURCE = 'https://other-mcp.test/mcp'
const REDIRECT_URL = 'http://127.0.0.1:7777/oauth/callback'

let server: TestServer
let mcp: RunningMcpServer
let mcpUrl: string
let user: { username: string; password: string }

/** An MCP host's OAuth state, kept in memory; the authorization URL is kept for the test to walk. */
class HostProvider implements OAuthClientProvider {
  #client: OAuthClientInformationMixed | undefined
  #tokens: OAuthTokens | undefined
  #verifier = ''
  authorizationUrl: URL | undefined

  get redirectUrl(): string {
    return REDIRECT_URL
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'MCP test host',
      redirect_uris: [REDIRECT_URL],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }
  }
  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.#client
  }
  saveClientInformation(info: OAuthClientInformationMixed): void {
    this.#client = info
  }
  tokens(): OAuthTokens | undefined {
    return this.#tokens
  }
  saveTokens(tokens: OAuthTokens): void {
    this.#tokens = tokens
  }
  redirectToAuthorization(url: URL): void {
    this.authorizationUrl = url
  }
  saveCodeVerifier(verifier: string): void {
    this.#verifier = verifier
  }
  codeVerifier(): string {
    return this.#verifier
  }
}

/** Every request the SDK sent, as (method, URL, form body); recorded, never changed. */
interface Sent {
  method: string
  url: string
  body: string
}
function recordingFetch(sent: Sent[]): typeof fetch {
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input)
    sent.push({ method: init?.method ?? (input instanceof Request ? input.method : 'GET'), url, body: typeof init?.body === 'string' ? init.body : init?.body instanceof URLSearchParams ? init.body.toString() : '' })
    return fetch(input, init)
  }
}

/** A raw MCP request (JSON-RPC over POST) with `token`. */
function mcpPost(token: string | undefined, message: Record<string, unknown>): Promise<Response> {
  return fetch(mcpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, ...message }),
  })
}

beforeAll(async () => {
  const port = await freePort()
  mcpUrl = `http://127.0.0.1:${port}/mcp`
  server = await startServer({
    scopes: { 'mcp:tools': 'Use the tools of the example MCP server', 'notes:write': 'Keep notes for you' },
    resources: [
      { uri: mcpUrl, name: 'Example MCP server', scopes: ['mcp:tools', 'notes:write'] },
      { uri: OTHER_RESOURCE, name: 'Another MCP server', scopes: ['mcp:tools', 'notes:write'] },
    ],
    registration: { mode: 'open' },
  })
  user = await server.addUser()
  mcp = await startMcpServer({ issuer: server.url, resource: mcpUrl, port, host: '127.0.0.1', now: () => new Date(server.clock.now() * 1000) })
})
afterAll(async () => {
  await mcp?.close()
  await server?.close()
})

describe('an MCP host (the official SDK client) signs in through authcode and calls a tool', () => {
  it('MCP authorization: 401 → RFC 9728 metadata → RFC 8414 metadata → RFC 7591 registration → login and consent → code exchange with resource → tool call', async () => {
    const provider = new HostProvider()
    const sent: Sent[] = []
    const first = new Client({ name: 'mcp-test-host', version: '1.0.0' })
    await expect(first.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider, fetch: recordingFetch(sent) }))).rejects.toThrow(UnauthorizedError)

    // The SDK found the authorization server from the MCP server's metadata and registered itself.
    const urls = sent.map((request) => `${request.method} ${new URL(request.url).origin === server.url ? new URL(request.url).pathname : request.url}`)
    expect(urls).toContain(`GET ${new URL(mcp.metadataUrl).origin}${new URL(mcp.metadataUrl).pathname}`)
    expect(urls).toContain('GET /.well-known/oauth-authorization-server')
    expect(urls).toContain('POST /register')
    const clientId = String(provider.clientInformation()?.client_id)
    expect(clientId).not.toBe('undefined')

    // The authorization request names the resource and the scopes the metadata offers, with PKCE.
    const authorizationUrl = provider.authorizationUrl
    if (authorizationUrl === undefined) throw new Error('the SDK did not redirect to authorization')
    expect(Object.fromEntries(authorizationUrl.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT_URL,
      resource: mcpUrl,
      scope: 'mcp:tools notes:write',
      code_challenge_method: 'S256',
    })

    let consentPage = ''
    const callback = await walkAuthorization(server.url, authorizationUrl.href, user, new Browser(), (html, form) => {
      if (form === 'consent') consentPage = html
    })
    expect(consentPage).toContain('MCP test host')
    expect(consentPage).toContain('Example MCP server')
    expect(consentPage).toContain(`<code>${mcpUrl}</code>`)
    const code = callback.searchParams.get('code')
    expect(callback.searchParams.get('iss')).toBe(server.url)
    if (code === null) throw new Error(`no code: ${callback.href}`)

    const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider, fetch: recordingFetch(sent) })
    await transport.finishAuth(code)
    const exchange = sent.find((request) => request.url === `${server.url}/token`)
    expect(new URLSearchParams(exchange?.body).get('resource')).toBe(mcpUrl)
    const accessToken = provider.tokens()?.access_token ?? ''
    expect(decodeJwt(accessToken)).toMatchObject({ iss: server.url, aud: mcpUrl, client_id: clientId, scope: 'mcp:tools notes:write' })

    const host = new Client({ name: 'mcp-test-host', version: '1.0.0' })
    await host.connect(transport)
    expect((await host.listTools()).tools.map((tool) => tool.name).sort()).toEqual(['recall', 'remember', 'whoami'])
    const whoami = await host.callTool({ name: 'whoami', arguments: {} })
    const [content] = whoami.content as { type: string; text: string }[]
    const users = await server.store.getUserByUsername(user.username)
    expect(JSON.parse(content?.text ?? '{}')).toEqual({ subject: users?.id, client_id: clientId, scopes: ['mcp:tools', 'notes:write'] })
    // The scope-guarded tool works with notes:write, and its note is the user's.
    expect(await host.callTool({ name: 'remember', arguments: { note: 'buy milk' } })).toMatchObject({ content: [{ type: 'text', text: 'remembered (1 note)' }] })
    expect(await host.callTool({ name: 'recall', arguments: {} })).toMatchObject({ content: [{ type: 'text', text: '["buy milk"]' }] })
    await host.close()
  })
})

describe('the MCP server takes only tokens for its own resource', () => {
  let client: TestClient
  const tokenFor = async (resource: string | undefined, scope = 'mcp:tools notes:write'): Promise<string> => {
    const { tokens } = await obtainTokens(server, client, user, { scope, resource, nonce: undefined })
    return String(tokens.access_token)
  }
  beforeAll(async () => {
    client = await server.addClient({ scope: 'openid mcp:tools notes:write' })
  })

  it('RFC 9728: serves its metadata at the path-suffixed well-known URL and the root one', async () => {
    for (const url of [mcp.metadataUrl, `${new URL(mcpUrl).origin}/.well-known/oauth-protected-resource`]) {
      const response = await fetch(url)
      expect(response.status).toBe(200)
      expect(await response.json()).toEqual({
        resource: mcpUrl,
        authorization_servers: [server.url],
        scopes_supported: ['mcp:tools', 'notes:write'],
        bearer_methods_supported: ['header'],
        resource_name: 'authcode example MCP server',
      })
    }
  })

  it('RFC 6750 §3.1 / RFC 9728 §5.1: no token is 401 with a challenge naming the metadata (no error code)', async () => {
    const response = await mcpPost(undefined, { method: 'initialize' })
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${mcp.metadataUrl}"`)
  })

  it('RFC 8707 / RFC 9700 §2.3: a token for another resource, or with the server’s default audience, is 401 invalid_token', async () => {
    for (const resource of [OTHER_RESOURCE, undefined]) {
      const token = await tokenFor(resource)
      expect(decodeJwt(token).aud).toBe(resource ?? server.config.accessToken.audience)
      const response = await mcpPost(token, { method: 'initialize' })
      expect(response.status, String(resource)).toBe(401)
      expect(response.headers.get('www-authenticate')).toBe(
        `Bearer resource_metadata="${mcp.metadataUrl}", error="invalid_token", error_description="the access token is not meant for this MCP server"`,
      )
    }
  })

  it('RFC 6750 §3.1: a tool that needs notes:write, called with a token without it, is 403 insufficient_scope naming the scopes', async () => {
    const token = await tokenFor(mcpUrl, 'mcp:tools')
    const response = await mcpPost(token, { method: 'tools/call', params: { name: 'remember', arguments: { note: 'x' } } })
    expect(response.status).toBe(403)
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${mcp.metadataUrl}", error="insufficient_scope", error_description="this request needs the scope mcp:tools notes:write", scope="mcp:tools notes:write"`,
    )
  })

  it('a forged or malformed token is refused, never a 5xx', async () => {
    const token = await tokenFor(mcpUrl)
    const [header, payload] = token.split('.')
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...decodeJwt(token), scope: 'mcp:tools notes:write admin' })).toString('base64url')}.${token.split('.')[2]}`
    expect((await mcpPost(forged, { method: 'initialize' })).status).toBe(401)
    expect((await mcpPost(`${header}.${payload}.`, { method: 'initialize' })).status).toBe(401)
    const basic = await fetch(mcpUrl, { method: 'POST', headers: { authorization: 'Basic dXNlcjpwYXNz' } })
    expect(basic.status).toBe(400)
  })
})
