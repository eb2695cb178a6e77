/**
 * Resource indicators over HTTP (RFC 8707): `resource` at /authorize, /par and /token, the access
 * token's `aud`, `invalid_target`, narrowing at refresh, the consent page, and audience-bound
 * tokens refused where they are not for (checklist RS-11, RFC 9700 §2.3).
 */
import fc from 'fast-check'
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Browser, authorize, authorizeQuery, pkcePair, startServer, type TestClient, type TestServer } from '../harness.js'
import { callAs, expectOAuthError, expectTokens, introspect, refresh, userinfoStatus, type Json, type User } from '../back-channel.js'

const MCP = 'https://mcp.test/mcp'
const API = 'https://api.test'

let server: TestServer
let client: TestClient
let user: User

beforeAll(async () => {
  server = await startServer({
    scopes: { 'mcp:tools': 'Use the MCP tools', 'orders:read': 'Read your orders' },
    resources: [
      { uri: MCP, name: 'Tools <MCP>', scopes: ['mcp:tools'], accessTokenLifetime: 120 },
      { uri: API, name: 'Orders API', scopes: ['orders:read', 'mcp:tools'] },
    ],
  })
  client = await server.addClient({ scope: 'openid profile email mcp:tools orders:read' })
  user = await server.addUser()
})
afterAll(() => server.close())

/** Signs in, approves, and redeems; `resources` go to /authorize, `tokenResource` to /token. */
async function tokensFor(resources: string[], tokenResource?: string, scope = 'openid mcp:tools orders:read'): Promise<Json> {
  const { verifier, challenge } = pkcePair()
  const query = `${authorizeQuery(client, { code_challenge: challenge, scope })}${resources.map((r) => `&resource=${encodeURIComponent(r)}`).join('')}`
  const { callback } = await authorize(server, new Browser(), query, user)
  const code = callback?.searchParams.get('code')
  if (code == null) throw new Error(`no code: ${callback?.href ?? 'stopped at a page'}`)
  const form: Record<string, string> = { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier }
  if (tokenResource !== undefined) form.resource = tokenResource
  return expectTokens(await callAs(server, '/token', client, form))
}

describe('RFC 8707 resource indicators', () => {
  it('RFC 8707 §2: the access token’s aud is exactly the resource, its scope only what the resource allows, its lifetime the resource’s', async () => {
    const tokens = await tokensFor([MCP], MCP)
    expect(tokens).toMatchObject({ scope: 'mcp:tools', expires_in: 120 })
    expect(decodeJwt(String(tokens.access_token))).toMatchObject({ aud: MCP, scope: 'mcp:tools', client_id: client.clientId })
    // OIDC: the ID token is the client's, as before.
    expect(decodeJwt(String(tokens.id_token)).aud).toBe(client.clientId)
    // RFC 7662: introspection says whom it is for.
    expect(await introspect(server, client, String(tokens.access_token))).toMatchObject({ active: true, aud: MCP, scope: 'mcp:tools' })
  })

  it('without resource: the server’s default audience and the granted scope, as before', async () => {
    const tokens = await tokensFor([])
    expect(decodeJwt(String(tokens.access_token))).toMatchObject({ aud: server.config.accessToken.audience, scope: 'openid mcp:tools orders:read' })
  })

  it('RFC 9700 §2.3 (checklist RS-11): a token for a resource is refused where it is not for: the server’s own userinfo', async () => {
    const tokens = await tokensFor([MCP])
    expect(await userinfoStatus(server, String(tokens.access_token))).toBe(401)
  })

  it('RFC 8707 §2: an unknown resource, a relative one or one with a fragment is invalid_target, sent back to the client with state and iss', async () => {
    for (const resource of ['https://unknown.test', '/mcp', `${MCP}#frag`]) {
      const { challenge } = pkcePair()
      const response = await new Browser().get(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: challenge, resource })}`)
      expect(response.status).toBe(302)
      const location = new URL(response.headers.get('location') ?? '')
      expect(`${location.origin}${location.pathname}`).toBe(client.redirectUri)
      expect(Object.fromEntries(location.searchParams)).toMatchObject({ error: 'invalid_target', state: 'S1', iss: server.url })
    }
  })

  it('the consent page names each resource (escaped) with its URI', async () => {
    const { challenge } = pkcePair()
    const browser = new Browser()
    let response = await browser.get(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: challenge, scope: 'mcp:tools', prompt: 'consent' })}&resource=${encodeURIComponent(MCP)}`)
    for (let i = 0; i < 5 && response.status >= 300; i++) response = await browser.get(new URL(response.headers.get('location') ?? '', server.url).href)
    let html = await response.text()
    if (html.includes('name="password"')) {
      const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? ''
      const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1] ?? ''
      response = await browser.post(new URL(action, server.url).href, { csrf, username: user.username, password: user.password })
      response = await browser.get(new URL(response.headers.get('location') ?? '', server.url).href)
      html = await response.text()
    }
    expect(html).toContain('name="decision"')
    expect(html).toContain('Tools &lt;MCP&gt;')
    expect(html).toContain(`<code>${MCP}</code>`)
  })

  it('RFC 8707 §2.2: the token request may not name a resource the authorization did not (invalid_target, 400), and the code stays unspent', async () => {
    const { verifier, challenge } = pkcePair()
    const { callback } = await authorize(server, new Browser(), `${authorizeQuery(client, { code_challenge: challenge, scope: 'openid mcp:tools' })}&resource=${encodeURIComponent(MCP)}`, user)
    const code = callback?.searchParams.get('code') ?? ''
    const form = { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier }
    await expectOAuthError(await callAs(server, '/token', client, { ...form, resource: API }), 400, 'invalid_target')
    await expectOAuthError(await callAs(server, '/token', client, { ...form, resource: 'not a uri' }), 400, 'invalid_target')
    expect(decodeJwt(String((await expectTokens(await callAs(server, '/token', client, form))).access_token)).aud).toBe(MCP)
  })

  it('RFC 8707 §2.2: a refresh narrows to one of the grant’s resources; a resource never authorized is refused (no escalation)', async () => {
    const tokens = await tokensFor([MCP, API], API)
    expect(decodeJwt(String(tokens.access_token))).toMatchObject({ aud: API, scope: 'mcp:tools orders:read' })
    // Several resources and none named: the client must choose.
    await expectOAuthError(await refresh(server, client, String(tokens.refresh_token)), 400, 'invalid_target')
    const toMcp = await expectTokens(await refresh(server, client, String(tokens.refresh_token), { resource: MCP }))
    expect(decodeJwt(String(toMcp.access_token))).toMatchObject({ aud: MCP, scope: 'mcp:tools' })
    await expectOAuthError(await refresh(server, client, String(toMcp.refresh_token), { resource: 'https://unknown.test' }), 400, 'invalid_target')
    // The refreshed refresh token keeps both resources.
    const back = await expectTokens(await refresh(server, client, String(toMcp.refresh_token), { resource: API, scope: 'orders:read' }))
    expect(decodeJwt(String(back.access_token))).toMatchObject({ aud: API, scope: 'orders:read' })
  })

  it('a grant made without resources cannot be turned into a token for one at refresh', async () => {
    const tokens = await tokensFor([])
    await expectOAuthError(await refresh(server, client, String(tokens.refresh_token), { resource: MCP }), 400, 'invalid_target')
  })

  it('RFC 9126 + RFC 8707: a pushed request carries its resources, and an unknown one is refused at the push', async () => {
    const { verifier, challenge } = pkcePair()
    const base = new URLSearchParams(authorizeQuery(client, { code_challenge: challenge, scope: 'openid mcp:tools' }))
    const push = (resources: string[]) => {
      const body = new URLSearchParams(base)
      for (const r of resources) body.append('resource', r)
      return fetch(`${server.url}/par`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.clientId}:${client.secret ?? ''}`).toString('base64')}` },
        body: body.toString(),
      })
    }
    await expectOAuthError(await push(['https://unknown.test']), 400, 'invalid_target')
    const pushed = (await (await push([MCP, API])).json()) as { request_uri: string }
    const { callback } = await authorize(server, new Browser(), new URLSearchParams({ client_id: client.clientId, request_uri: pushed.request_uri }).toString(), user)
    const code = callback?.searchParams.get('code') ?? ''
    const tokens = await expectTokens(await callAs(server, '/token', client, { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier, resource: MCP }))
    expect(decodeJwt(String(tokens.access_token)).aud).toBe(MCP)
  })

  it('SECURITY 24: any resource value, once or repeated, at /authorize and /token is a 4xx or a redirect, never a 5xx', async () => {
    const { challenge } = pkcePair()
    // A live refresh token of a grant for MCP: each run's resources are checked against it (a run that succeeds rotates it).
    let refreshToken = String((await tokensFor([MCP])).refresh_token)
    const value = fc.oneof(fc.string({ maxLength: 300 }), fc.webUrl({ withFragments: true, withQueryParameters: true }), fc.constantFrom(MCP, `${MCP}#`, 'urn:x', '//mcp.test', 'http://'))
    await fc.assert(
      fc.asyncProperty(fc.array(value, { minLength: 1, maxLength: 12 }), async (resources) => {
        const extra = resources.map((r) => `&resource=${encodeURIComponent(r)}`).join('')
        const authorizeResponse = await fetch(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: challenge })}${extra}`, { redirect: 'manual' })
        expect(authorizeResponse.status).toBeLessThan(500)
        const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken })
        for (const r of resources) form.append('resource', r)
        const tokenResponse = await fetch(`${server.url}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.clientId}:${client.secret ?? ''}`).toString('base64')}` },
          body: form.toString(),
        })
        expect(tokenResponse.status).toBeLessThan(500)
        const body = (await tokenResponse.json()) as Json
        if (tokenResponse.status === 200) refreshToken = String(body.refresh_token)
        else expect(body.error).toBe('invalid_target')
      }),
      { numRuns: 25 },
    )
  })
})
