/**
 * Dynamic client registration over HTTP (issue #21): RFC 7591 at `/register` in `open` mode, the
 * bad input it refuses, and what a registered client may do afterwards. The `token` mode and RFC
 * 7592 (read, update, delete) are in registration-management.test.ts.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SecurityEvent } from '../../src/protocol/events.js'
import { hashToken } from '../../src/tokens/secrets.js'
import { expectOAuthError, expectTokens, introspect, refresh, type Json } from '../back-channel.js'
import { Browser, authorize, authorizeQuery, hiddenInput, locationOf, obtainTokens, pkcePair, postForm, startServer, type TestClient, type TestServer } from '../harness.js'
import { asTestClient, expectRegistered, register } from './registration-requests.js'

let server: TestServer
let user: { id: string; username: string; password: string }
const events: SecurityEvent[] = []

beforeAll(async () => {
  server = await startServer({ registration: { mode: 'open' }, rateLimit: { registrationPerIp: { max: 1000, window: 60 } }, scopes: { 'files:read': 'Read your files', 'files:write': 'Change your files' } }, {
    deps: { onEvent: (event) => void events.push(event as unknown as SecurityEvent) },
  })
  user = await server.addUser()
})

afterAll(() => server.close())

/** What the official MCP TypeScript SDK's client POSTs (`registerClient` in @modelcontextprotocol/sdk). */
const MCP_HOST = {
  redirect_uris: ['http://localhost:33418/callback'],
  client_name: 'An MCP host',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: 'none',
  scope: 'openid files:read',
}

describe('RFC 8414 / OpenID Discovery: registration_endpoint', () => {
  it('is in both metadata documents when registration is on', async () => {
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const metadata = (await (await fetch(`${server.url}${path}`)).json()) as Json
      expect(metadata.registration_endpoint).toBe(`${server.url}/register`)
    }
  })

  it('is absent, and /register answers 404, when registration is off (the default)', async () => {
    const off = await startServer()
    try {
      for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
        expect((await (await fetch(`${off.url}${path}`)).json()) as Json).not.toHaveProperty('registration_endpoint')
      }
      expect((await register(off, MCP_HOST)).status).toBe(404)
    } finally {
      await off.close()
    }
  })
})

describe('RFC 7591 §3: POST /register in open mode', () => {
  it('§3.2.1: registers a public client as the MCP SDK asks, answers 201 with its metadata, no secret, and the RFC 7592 token and URI', async () => {
    const registered = await expectRegistered(await register(server, MCP_HOST))
    expect(registered).toMatchObject({
      client_name: 'An MCP host',
      redirect_uris: ['http://localhost:33418/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      scope: 'openid files:read',
      client_id_issued_at: server.clock.now(),
      registration_client_uri: `${server.url}/register/${String(registered.client_id)}`,
    })
    expect(registered.client_id).toEqual(expect.stringMatching(/^[\w-]{22}$/))
    expect(registered).not.toHaveProperty('client_secret')
    expect(registered).not.toHaveProperty('client_secret_expires_at')
    expect(registered.registration_access_token).toEqual(expect.stringMatching(/^[\w-]{43}$/))
    // Stored as a hash, marked as registered by itself, never first-party.
    const stored = await server.store.getClient(String(registered.client_id))
    expect(stored).toMatchObject({ registeredDynamically: true, firstParty: false, pkceOptional: false, secretHash: null })
    expect(stored?.registrationAccessTokenHash).toBe(hashToken(String(registered.registration_access_token)))
    const event = events.find((e) => (e as unknown as Json).event === 'client.registered' && (e as unknown as Json).client_id === registered.client_id)
    expect(event).toMatchObject({ user_id: null, registration_token_id: null })
    expect(JSON.stringify(event)).not.toContain(String(registered.registration_access_token))
  })

  it('the registered public client signs a user in with PKCE, its loopback port varying (RFC 8252 §7.3 on 127.0.0.1), and refreshes', async () => {
    const registered = await expectRegistered(await register(server, { ...MCP_HOST, redirect_uris: ['http://127.0.0.1/callback'] }))
    const client = { ...asTestClient(registered), redirectUri: 'http://127.0.0.1:50123/callback' }
    const { tokens } = await obtainTokens(server, client, user, { scope: 'openid files:read' })
    expect(tokens.scope).toBe('openid files:read')
    const refreshed = await expectTokens(await refresh(server, client, String(tokens.refresh_token)))
    expect(refreshed.access_token).toEqual(expect.any(String))
  })

  it('§2 defaults: client_secret_basic, the authorization code grant only, code; the secret is returned once, expires never (0), and is stored hashed', async () => {
    const registered = await expectRegistered(await register(server, { redirect_uris: ['https://app.example/cb'], client_name: 'Confidential' }))
    expect(registered).toMatchObject({
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      scope: 'openid profile email',
      client_secret_expires_at: 0,
    })
    const secret = String(registered.client_secret)
    expect(secret).toMatch(/^[\w-]{43}$/)
    const stored = await server.store.getClient(String(registered.client_id))
    expect(stored?.secretHash).toBe(hashToken(secret))
    expect(JSON.stringify(stored)).not.toContain(secret)
    // It signs in with its secret; without refresh_token among its grant types it gets no refresh token.
    const client = asTestClient(registered)
    const { tokens } = await obtainTokens(server, client, user)
    expect(tokens.access_token).toEqual(expect.any(String))
    expect(tokens).not.toHaveProperty('refresh_token')
    expect(await introspect(server, client, String(tokens.access_token))).toMatchObject({ active: true, client_id: client.clientId })
  })

  it('client_secret_post clients authenticate with the secret in the body', async () => {
    const registered = await expectRegistered(await register(server, { redirect_uris: ['https://post.example/cb'], token_endpoint_auth_method: 'client_secret_post' }))
    expect(registered.token_endpoint_auth_method).toBe('client_secret_post')
    // Without client_name the client is shown by its id (RFC 7591 §2).
    expect(registered.client_name).toBe(registered.client_id)
    const client = asTestClient(registered)
    const browser = new Browser()
    const { verifier, challenge } = pkcePair()
    const { callback } = await authorize(server, browser, authorizeQuery(client, { code_challenge: challenge }), user)
    const code = callback?.searchParams.get('code') ?? ''
    const response = await postForm(`${server.url}/token`, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: client.redirectUri,
      code_verifier: verifier,
      client_id: client.clientId,
      client_secret: client.secret ?? '',
    })
    await expectTokens(response)
  })

  it('unknown metadata is ignored (§2), what it does not keep is not in the answer', async () => {
    const registered = await expectRegistered(
      await register(server, { ...MCP_HOST, logo_uri: 'https://evil.example/logo.png', tos_uri: 'https://x.example/tos', contacts: ['a@b.example'], foo: { bar: 1 } }),
    )
    expect(registered).not.toHaveProperty('logo_uri')
    expect(registered).not.toHaveProperty('foo')
  })
})

describe('RFC 7591 §3.2.2, SECURITY.md 36: bad metadata is refused with the RFC error, never a 5xx', () => {
  const base = { redirect_uris: ['https://app.example/cb'], client_name: 'Bad' }
  const cases: [string, unknown, number, string][] = [
    ['no redirect_uris', { client_name: 'x' }, 400, 'invalid_redirect_uri'],
    ['empty redirect_uris', { redirect_uris: [] }, 400, 'invalid_redirect_uri'],
    ['redirect_uris not a list', { redirect_uris: 'https://app.example/cb' }, 400, 'invalid_redirect_uri'],
    ['redirect_uris with a number', { redirect_uris: [42] }, 400, 'invalid_redirect_uri'],
    ['too many redirect URIs', { redirect_uris: Array.from({ length: 11 }, (_, i) => `https://app.example/cb${i}`) }, 400, 'invalid_redirect_uri'],
    ['an overlong redirect URI', { redirect_uris: [`https://app.example/${'a'.repeat(2100)}`] }, 400, 'invalid_redirect_uri'],
    ['javascript:', { redirect_uris: ['javascript:alert(1)'] }, 400, 'invalid_redirect_uri'],
    ['data:', { redirect_uris: ['data:text/html,<script>alert(1)</script>'] }, 400, 'invalid_redirect_uri'],
    ['a fragment', { redirect_uris: ['https://app.example/cb#frag'] }, 400, 'invalid_redirect_uri'],
    ['an empty fragment', { redirect_uris: ['https://app.example/cb#'] }, 400, 'invalid_redirect_uri'],
    ['non-loopback http', { redirect_uris: ['http://app.example/cb'] }, 400, 'invalid_redirect_uri'],
    ['http on a look-alike of loopback', { redirect_uris: ['http://127.0.0.1.evil.example/cb'] }, 400, 'invalid_redirect_uri'],
    ['a relative URI', { redirect_uris: ['/cb'] }, 400, 'invalid_redirect_uri'],
    ['a wildcard', { redirect_uris: ['https://*.app.example/cb'] }, 400, 'invalid_redirect_uri'],
    ['credentials in the URI', { redirect_uris: ['https://user:pw@app.example/cb'] }, 400, 'invalid_redirect_uri'],
    ['quotes, backslashes and non-ASCII (echoed safely)', { redirect_uris: ['https://app.example/"\\é'] }, 400, 'invalid_redirect_uri'],
    ['a private-use scheme for a confidential client', { redirect_uris: ['com.example.app:/cb'] }, 400, 'invalid_redirect_uri'],
    ['a bad post-logout redirect URI', { ...base, post_logout_redirect_uris: ['javascript:alert(1)'] }, 400, 'invalid_redirect_uri'],
    ['an unknown auth method', { ...base, token_endpoint_auth_method: 'client_secret_jwt' }, 400, 'invalid_client_metadata'],
    ['private_key_jwt (operator only)', { ...base, token_endpoint_auth_method: 'private_key_jwt' }, 400, 'invalid_client_metadata'],
    ['auth method not a string', { ...base, token_endpoint_auth_method: ['none'] }, 400, 'invalid_client_metadata'],
    ['an unknown grant type', { ...base, grant_types: ['authorization_code', 'client_credentials'] }, 400, 'invalid_client_metadata'],
    ['the implicit grant', { ...base, grant_types: ['implicit'], response_types: ['token'] }, 400, 'invalid_client_metadata'],
    ['the password grant', { ...base, grant_types: ['password'] }, 400, 'invalid_client_metadata'],
    ['refresh without the code grant', { ...base, grant_types: ['refresh_token'] }, 400, 'invalid_client_metadata'],
    ['an unknown response type', { ...base, response_types: ['code', 'id_token'] }, 400, 'invalid_client_metadata'],
    ['no response type', { ...base, response_types: [] }, 400, 'invalid_client_metadata'],
    ['a scope the server does not offer', { ...base, scope: 'openid admin' }, 400, 'invalid_client_metadata'],
    ['a malformed scope', { ...base, scope: 'openid  "x"' }, 400, 'invalid_client_metadata'],
    ['scope not a string', { ...base, scope: ['openid'] }, 400, 'invalid_client_metadata'],
    ['an empty client name', { ...base, client_name: '   ' }, 400, 'invalid_client_metadata'],
    ['an overlong client name', { ...base, client_name: 'x'.repeat(101) }, 400, 'invalid_client_metadata'],
    ['a terminal escape in the client name (shown by client list)', { ...base, client_name: 'App\u001b[2J\u001b[1;1Hclient list: nothing here' }, 400, 'invalid_client_metadata'],
    ['a line break in the client name', { ...base, client_name: 'App\nsecond line' }, 400, 'invalid_client_metadata'],
    ['a right-to-left override in the client name (a name that reads as another)', { ...base, client_name: 'elgoo\u202eG' }, 400, 'invalid_client_metadata'],
    ['an unknown ID token algorithm', { ...base, id_token_signed_response_alg: 'none' }, 400, 'invalid_client_metadata'],
    ['a chosen client_id (the server names clients)', { ...base, client_id: 'admin' }, 400, 'invalid_client_metadata'],
    ['a chosen client_secret', { ...base, client_secret: 'hunter2hunter2' }, 400, 'invalid_client_metadata'],
    ['first_party (operator only)', { ...base, first_party: true }, 400, 'invalid_client_metadata'],
    ['pkce_optional (operator only)', { ...base, pkce_optional: true }, 400, 'invalid_client_metadata'],
    ['a jwks_uri the server would fetch', { ...base, jwks_uri: 'http://127.0.0.1:6379/' }, 400, 'invalid_client_metadata'],
    ['a back-channel logout URI the server would POST to', { ...base, backchannel_logout_uri: 'http://127.0.0.1:6379/' }, 400, 'invalid_client_metadata'],
    ['web_origins not a list', { ...base, token_endpoint_auth_method: 'none', web_origins: 'https://app.example' }, 400, 'invalid_client_metadata'],
    ['a web origin that is not a string', { ...base, token_endpoint_auth_method: 'none', web_origins: [443] }, 400, 'invalid_client_metadata'],
    ['a web origin with a path', { ...base, token_endpoint_auth_method: 'none', web_origins: ['https://app.example/app'] }, 400, 'invalid_client_metadata'],
    ['a web origin with a trailing slash', { ...base, token_endpoint_auth_method: 'none', web_origins: ['https://app.example/'] }, 400, 'invalid_client_metadata'],
    ['a non-https web origin off this machine', { ...base, token_endpoint_auth_method: 'none', web_origins: ['http://app.example'] }, 400, 'invalid_client_metadata'],
    ['a web origin that is no URL', { ...base, token_endpoint_auth_method: 'none', web_origins: ['app.example'] }, 400, 'invalid_client_metadata'],
    ['too many web origins', { ...base, token_endpoint_auth_method: 'none', web_origins: Array.from({ length: 11 }, (_, i) => `https://app${i}.example`) }, 400, 'invalid_client_metadata'],
    ['web origins for a confidential client (its secret must not be in a browser)', { ...base, web_origins: ['https://app.example'] }, 400, 'invalid_client_metadata'],
    ['require_pushed_authorization_requests not a boolean', { ...base, require_pushed_authorization_requests: 'yes' }, 400, 'invalid_client_metadata'],
    ['a JSON array', [base], 400, 'invalid_client_metadata'],
    ['JSON null', null, 400, 'invalid_client_metadata'],
    ['a JSON string', 'just text', 400, 'invalid_client_metadata'],
    ['a malformed software statement', { ...base, software_statement: 'not a jwt' }, 400, 'invalid_software_statement'],
    ['a software statement of the wrong type', { ...base, software_statement: 7 }, 400, 'invalid_software_statement'],
    ['a software statement (none is approved)', { ...base, software_statement: 'eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6IngifQ.c2ln' }, 400, 'unapproved_software_statement'],
  ]
  it.each(cases)('%s', async (_name, metadata, status, error) => {
    const body = metadata === 'just text' ? JSON.stringify(metadata) : metadata
    const before = (await server.store.listClients()).length
    const answer = await expectOAuthError(await register(server, body), status, error)
    expect(answer.error_description).toEqual(expect.any(String))
    expect((await server.store.listClients()).length).toBe(before)
  })

  it('a body that is not JSON, not UTF-8, a form, another content type or none at all: invalid_client_metadata', async () => {
    await expectOAuthError(await register(server, '{"redirect_uris": ['), 400, 'invalid_client_metadata')
    await expectOAuthError(
      await fetch(`${server.url}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) }),
      400,
      'invalid_client_metadata',
    )
    await expectOAuthError(await postForm(`${server.url}/register`, { redirect_uris: 'https://app.example/cb' }), 400, 'invalid_client_metadata')
    await expectOAuthError(await register(server, MCP_HOST, { 'content-type': 'text/plain' }), 400, 'invalid_client_metadata')
    await expectOAuthError(await fetch(`${server.url}/register`, { method: 'POST' }), 400, 'invalid_client_metadata')
  })

  it('a body over 16 KiB is 413, as at the token endpoint', async () => {
    const big = { ...MCP_HOST, client_name: 'x', padding: 'y'.repeat(17 * 1024) }
    await expectOAuthError(await register(server, big), 413, 'invalid_request')
  })

  it('a host in a browser may register: the preflight and the answer allow any origin, never with credentials', async () => {
    const preflight = await fetch(`${server.url}/register`, {
      method: 'OPTIONS',
      headers: { origin: 'https://inspector.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*')
    expect(preflight.headers.get('access-control-allow-headers')).toContain('content-type')
    const registered = await register(server, MCP_HOST, { origin: 'https://inspector.example' })
    expect(registered.headers.get('access-control-allow-origin')).toBe('*')
    expect(registered.headers.get('access-control-allow-credentials')).toBeNull()
    await expectRegistered(registered)
  })

  it('GET /register is 405 with Allow: POST', async () => {
    const response = await fetch(`${server.url}/register`)
    expect(response.status).toBe(405)
    expect(response.headers.get('allow')).toBe('POST')
  })
})

describe('web_origins: an app in a browser registers the origins its pages call /token from (CORS)', () => {
  const APP_ORIGIN = 'https://app.spa.example'
  const DEV_ORIGIN = 'http://localhost:5173'
  let spaServer: TestServer
  beforeAll(async () => {
    spaServer = await startServer({ registration: { mode: 'open' } })
  })
  afterAll(() => spaServer.close())

  it('a public client registers web_origins; they are in the answer and in GET, and that origin reads the /token answers', async () => {
    const registered = await expectRegistered(
      await register(spaServer, { ...MCP_HOST, scope: 'openid', redirect_uris: ['https://login.spa.example/cb'], web_origins: [APP_ORIGIN, DEV_ORIGIN, APP_ORIGIN] }),
    )
    // Duplicates dropped, as for the operator's clients.
    expect(registered.web_origins).toEqual([APP_ORIGIN, DEV_ORIGIN])
    expect((await spaServer.store.getClient(String(registered.client_id)))?.webOrigins).toEqual([APP_ORIGIN, DEV_ORIGIN])
    const read = await fetch(String(registered.registration_client_uri), { headers: { authorization: `Bearer ${String(registered.registration_access_token)}` } })
    expect(((await read.json()) as Json).web_origins).toEqual([APP_ORIGIN, DEV_ORIGIN])

    const preflight = await fetch(`${spaServer.url}/token`, { method: 'OPTIONS', headers: { origin: APP_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } })
    expect(preflight.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN)
    const client = asTestClient(registered)
    const spaUser = await spaServer.addUser()
    const { verifier, challenge } = pkcePair()
    const { callback } = await authorize(spaServer, new Browser(), authorizeQuery(client, { code_challenge: challenge, scope: 'openid' }), spaUser)
    const form = { grant_type: 'authorization_code', code: callback?.searchParams.get('code') ?? '', redirect_uri: client.redirectUri, code_verifier: verifier, client_id: client.clientId }
    const ok = await postForm(`${spaServer.url}/token`, form, { origin: APP_ORIGIN })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN)
    expect(ok.headers.get('access-control-allow-credentials')).toBeNull()
    // The replay's error is readable by the other registered origin too.
    const replay = await postForm(`${spaServer.url}/token`, form, { origin: DEV_ORIGIN })
    expect(replay.status).toBe(400)
    expect(replay.headers.get('access-control-allow-origin')).toBe(DEV_ORIGIN)
    const stranger = await postForm(`${spaServer.url}/token`, form, { origin: 'https://evil.example' })
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('without web_origins a client has none; a confidential client\'s answer says so too', async () => {
    const spa = await expectRegistered(await register(spaServer, { ...MCP_HOST, scope: 'openid' }))
    expect(spa.web_origins).toEqual([])
    const confidential = await expectRegistered(await register(spaServer, { redirect_uris: ['https://app.example/cb'], scope: 'openid', web_origins: [] }))
    expect(confidential.web_origins).toEqual([])
  })
})

describe('any body, any metadata: a 201 or an RFC 7591 error, never a 5xx (fast-check)', () => {
  const uri = fc.oneof(
    fc.constantFrom('https://app.example/cb', 'http://127.0.0.1/cb', 'http://localhost:3000/cb', 'com.example.app:/cb', 'javascript:alert(1)', 'data:,x', 'https://app.example/cb#f', 'http://evil.example/cb'),
    fc.webUrl({ withFragments: true, withQueryParameters: true }),
    fc.string(),
  )
  const value = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }))
  const metadata = fc.record(
    {
      redirect_uris: fc.oneof(fc.array(uri, { maxLength: 12 }), value),
      token_endpoint_auth_method: fc.oneof(fc.constantFrom('none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt', 'tls_client_auth'), value),
      grant_types: fc.oneof(fc.array(fc.constantFrom('authorization_code', 'refresh_token', 'implicit', 'password', 'client_credentials'), { maxLength: 3 }), value),
      response_types: fc.oneof(fc.array(fc.constantFrom('code', 'token', 'id_token'), { maxLength: 2 }), value),
      scope: fc.oneof(fc.constantFrom('openid', 'openid files:read', 'admin', ''), value),
      client_name: fc.oneof(fc.string({ maxLength: 120 }), value),
      software_statement: value,
      first_party: value,
      post_logout_redirect_uris: fc.oneof(fc.array(uri, { maxLength: 3 }), value),
    },
    { requiredKeys: [] },
  )
  const RFC_7591_ERRORS = ['invalid_redirect_uri', 'invalid_client_metadata', 'invalid_software_statement', 'unapproved_software_statement']

  it('random metadata objects', async () => {
    await fc.assert(
      fc.asyncProperty(metadata, async (body) => {
        const response = await register(server, body)
        const answer = (await response.json()) as Json
        if (response.status === 201) expect(answer.client_id).toEqual(expect.any(String))
        else {
          expect(response.status).toBe(400)
          expect(RFC_7591_ERRORS).toContain(answer.error)
        }
      }),
      { numRuns: 150 },
    )
  })

  it('random JSON values and raw text', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.json(), fc.string(), fc.jsonValue().map((v) => JSON.stringify([v]))), async (text) => {
        const response = await register(server, text)
        expect(response.status).toBeLessThan(500)
        expect([201, 400]).toContain(response.status)
      }),
      { numRuns: 100 },
    )
  })
})

describe('SECURITY.md 36: a registered client cannot escalate', () => {
  let client: TestClient

  beforeAll(async () => {
    client = asTestClient(await expectRegistered(await register(server, { ...MCP_HOST, scope: 'openid files:read' })))
  })

  it('RFC 6749 §3.3: /authorize refuses a scope it did not register for (invalid_scope back to its redirect URI)', async () => {
    const { callback } = await authorize(server, new Browser(), authorizeQuery(client, { code_challenge: pkcePair().challenge, scope: 'openid files:write' }), user)
    expect(callback?.searchParams.get('error')).toBe('invalid_scope')
    expect(callback?.searchParams.get('code')).toBeNull()
  })

  it('RFC 6749 §6: a refresh cannot widen the scope to one it did not register for', async () => {
    const { tokens } = await obtainTokens(server, client, user, { scope: 'openid files:read' })
    await expectOAuthError(await refresh(server, client, String(tokens.refresh_token), { scope: 'openid files:read files:write' }), 400, 'invalid_scope')
  })

  it('PKCE stays required: no code without a code_challenge', async () => {
    const { callback } = await authorize(server, new Browser(), authorizeQuery(client, { code_challenge: undefined, scope: 'openid' }), user)
    expect(callback?.searchParams.get('error')).toBe('invalid_request')
  })
})

describe('the consent page: a client that registered itself is shown as such', () => {
  /** Signs `user` in for `client` and returns the consent page's HTML. */
  async function consentPage(client: TestClient, extra: Record<string, string> = {}): Promise<string> {
    const browser = new Browser()
    let response = await browser.get(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: pkcePair().challenge, scope: 'openid', prompt: 'consent', ...extra })}`)
    for (let step = 0; step < 10; step++) {
      if (response.status >= 300 && response.status < 400) {
        response = await browser.get(locationOf(response, server.url))
        continue
      }
      const html = await response.text()
      if (html.includes('name="decision"')) return html
      const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1] ?? ''
      response = await browser.post(new URL(action, server.url).href, { csrf: hiddenInput(html, 'csrf'), username: user.username, password: user.password })
    }
    throw new Error('no consent page')
  }

  it('says nobody vouches for it and where the browser returns, its chosen name escaped (SECURITY.md 6)', async () => {
    const registered = await expectRegistered(await register(server, { ...MCP_HOST, client_name: '<script>alert(1)</script> Google', scope: 'openid', redirect_uris: ['https://phish.example:8443/cb'] }))
    const html = await consentPage(asTestClient(registered))
    expect(html).toContain('registered itself with this server: nobody here vouches for it')
    expect(html).toContain('You will be sent back to phish.example:8443.')
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; Google')
    expect(html).not.toContain('<script>alert(1)')
  })

  it('in the user\'s language (de, fr)', async () => {
    const registered = await expectRegistered(await register(server, { ...MCP_HOST, scope: 'openid', redirect_uris: ['http://127.0.0.1/cb'] }))
    const client = asTestClient(registered)
    for (const [lang, text] of [['de', 'hat sich selbst bei diesem Server registriert'], ['fr', 's’est enregistrée elle-même auprès de ce serveur']] as const) {
      const html = await consentPage(client, { ui_locales: lang })
      expect(html).toContain(text)
      expect(html).toContain('127.0.0.1')
    }
  })

  it('the operator\'s clients carry no such notice', async () => {
    const operators = await server.addClient({ name: 'Shop', scope: 'openid' })
    const html = await consentPage(operators)
    expect(html).toContain('Shop')
    expect(html).not.toContain('registered itself')
  })
})

describe('SECURITY.md 31: registrations are bounded', () => {
  it('past registration.maxClients clients that registered themselves: 503, nothing stored; the operator\'s clients do not count', async () => {
    const full = await startServer({ registration: { mode: 'open', maxClients: 1 } })
    try {
      await full.addClient({ name: 'Shop' })
      const first = await expectRegistered(await register(full, { ...MCP_HOST, scope: 'openid' }))
      await expectOAuthError(await register(full, { ...MCP_HOST, scope: 'openid' }), 503, 'temporarily_unavailable')
      expect((await full.store.listClients()).map((c) => c.name).toSorted()).toEqual(['An MCP host', 'Shop'])
      // Deleting one (RFC 7592) makes room.
      const deleted = await fetch(String(first.registration_client_uri), { method: 'DELETE', headers: { authorization: `Bearer ${String(first.registration_access_token)}` } })
      expect(deleted.status).toBe(204)
      await expectRegistered(await register(full, { ...MCP_HOST, scope: 'openid' }))
    } finally {
      await full.close()
    }
  })
})

describe('SECURITY.md 31: registrations are rate-limited per caller address', () => {
  it('past rateLimit.registrationPerIp.max the answer is 429 with Retry-After, until the window ends', async () => {
    const limited = await startServer({ registration: { mode: 'open' }, rateLimit: { registrationPerIp: { max: 2, window: 600 } } })
    try {
      const app = { ...MCP_HOST, scope: 'openid' }
      await expectRegistered(await register(limited, app))
      // A refused registration counts too: bad input is no way around the limit.
      await expectOAuthError(await register(limited, { redirect_uris: ['javascript:x'] }), 400, 'invalid_redirect_uri')
      const refused = await register(limited, app)
      expect(refused.headers.get('retry-after')).toEqual(expect.stringMatching(/^\d+$/))
      await expectOAuthError(refused, 429, 'invalid_request')
      limited.clock.advance(601)
      await expectRegistered(await register(limited, app))
    } finally {
      await limited.close()
    }
  })

  it('bodies refused before the handler (not JSON, not UTF-8, too large) count too: garbage is no free way to hammer /register', async () => {
    const limited = await startServer({ registration: { mode: 'open' }, rateLimit: { registrationPerIp: { max: 3, window: 600 } } })
    try {
      await expectOAuthError(await register(limited, '{"redirect_uris": ['), 400, 'invalid_client_metadata')
      await expectOAuthError(
        await fetch(`${limited.url}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) }),
        400,
        'invalid_client_metadata',
      )
      await expectOAuthError(await register(limited, { ...MCP_HOST, padding: 'y'.repeat(17 * 1024) }), 413, 'invalid_request')
      const refused = await register(limited, { ...MCP_HOST, scope: 'openid' })
      expect(refused.headers.get('retry-after')).toEqual(expect.stringMatching(/^\d+$/))
      await expectOAuthError(refused, 429, 'invalid_request')
      // Counted once each: a new window gives exactly max again.
      limited.clock.advance(601)
      for (let i = 0; i < 3; i++) await expectRegistered(await register(limited, { ...MCP_HOST, scope: 'openid' }))
      await expectOAuthError(await register(limited, { ...MCP_HOST, scope: 'openid' }), 429, 'invalid_request')
    } finally {
      await limited.close()
    }
  })
})
