/**
 * CORS for apps that run in a browser (issue #22; IETF OAuth 2.0 for Browser-Based Apps §6.1):
 * a public client's web origins (its http(s) redirect URIs' origins) may call /token, /revoke and
 * /par and read every answer, errors included; no other origin may read a token answer;
 * confidential clients get no CORS at all; discovery, JWKS and userinfo are readable from anywhere;
 * /authorize and the pages never answer with CORS headers; an Origin of any shape fails nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Metrics } from '../../src/http/metrics.js'
import { Browser, authorize, authorizeQuery, pkcePair, postForm, startServer, type TestClient, type TestServer } from '../harness.js'

const SPA = 'https://spa.test'

describe('CORS by client (issue #22)', () => {
  const metrics = new Metrics()
  let server: TestServer
  let spa: TestClient
  let backend: TestClient
  let user: { username: string; password: string }
  beforeAll(async () => {
    server = await startServer({}, { deps: { metrics } })
    spa = await server.addClient({ name: 'SPA', redirectUris: [`${SPA}/callback`], isPublic: true })
    backend = await server.addClient({ name: 'Backend', redirectUris: ['https://backend.test/cb'] })
    user = await server.addUser()
  })
  afterAll(() => server.close())

  /** How often the server has read a client from its store (the store's timed operations). */
  async function clientReads(): Promise<number> {
    const { values } = await metrics.storeDuration.get()
    return values.find((sample) => sample.metricName === 'authcode_db_operation_duration_seconds_count' && sample.labels.operation === 'getClient')?.value ?? 0
  }

  const preflight = (path: string, origin: string, method = 'POST', headers = 'content-type, dpop') =>
    fetch(`${server.url}${path}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers } })

  it('a preflight from a public client\'s web origin is granted for /token, /revoke and /par; others get no grant', async () => {
    for (const path of ['/token', '/revoke', '/par']) {
      const granted = await preflight(path, SPA)
      expect(granted.status).toBe(204)
      expect(granted.headers.get('access-control-allow-origin')).toBe(SPA)
      expect(granted.headers.get('access-control-allow-methods')).toBe('POST')
      expect(granted.headers.get('access-control-allow-headers')).toBe('content-type, authorization, dpop')
      expect(granted.headers.get('access-control-allow-credentials')).toBeNull()
      expect(granted.headers.get('vary')).toMatch(/Origin/)
      for (const refused of [await preflight(path, 'https://evil.test'), await preflight(path, 'https://backend.test'), await preflight(path, SPA, 'PUT'), await preflight(path, SPA, 'POST', 'x-custom')]) {
        expect(refused.status).toBe(204)
        expect(refused.headers.get('access-control-allow-origin')).toBeNull()
      }
    }
  })

  it('the token answer, success or error, is readable by the public client\'s origin only', async () => {
    const { verifier, challenge } = pkcePair()
    const { callback } = await authorize(server, new Browser(), authorizeQuery(spa, { code_challenge: challenge }), user)
    const form = { grant_type: 'authorization_code', code: callback?.searchParams.get('code') ?? '', redirect_uri: spa.redirectUri, code_verifier: verifier, client_id: spa.clientId }
    const ok = await postForm(`${server.url}/token`, form, { origin: SPA })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('access-control-allow-origin')).toBe(SPA)
    expect(ok.headers.get('access-control-expose-headers')).toBe('dpop-nonce, www-authenticate')
    const replay = await postForm(`${server.url}/token`, form, { origin: SPA })
    expect(replay.status).toBe(400)
    expect(replay.headers.get('access-control-allow-origin')).toBe(SPA)
    const stranger = await postForm(`${server.url}/token`, { ...form, code: 'x' }, { origin: 'https://evil.test' })
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('a browser\'s token request reads its client once: the CORS answer reuses the authenticated one', async () => {
    const { verifier, challenge } = pkcePair()
    const { callback } = await authorize(server, new Browser(), authorizeQuery(spa, { code_challenge: challenge }), user)
    const form = { grant_type: 'authorization_code', code: callback?.searchParams.get('code') ?? '', redirect_uri: spa.redirectUri, code_verifier: verifier, client_id: spa.clientId }
    const before = await clientReads()
    const response = await postForm(`${server.url}/token`, form, { origin: SPA })
    expect(response.status).toBe(200)
    expect(response.headers.get('access-control-allow-origin')).toBe(SPA)
    expect((await clientReads()) - before).toBe(1)
  })

  it('confidential clients get none, even from their own redirect URI\'s origin', async () => {
    const response = await postForm(`${server.url}/token`, { grant_type: 'authorization_code', code: 'x', client_id: backend.clientId }, { origin: 'https://backend.test' })
    expect(response.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('discovery, JWKS and userinfo are readable from any origin, without credentials', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server', '/jwks', '/userinfo']) {
      const response = await fetch(`${server.url}${path}`, { headers: { origin: 'https://anyone.test' } })
      expect(response.headers.get('access-control-allow-origin'), path).toBe('*')
      expect(response.headers.get('access-control-allow-credentials')).toBeNull()
    }
    const asked = await preflight('/userinfo', 'https://anyone.test', 'GET', 'authorization, dpop')
    expect(asked.status).toBe(204)
    expect(asked.headers.get('access-control-allow-origin')).toBe('*')
  })

  it('/authorize, the pages and introspection never answer with CORS headers', async () => {
    const authorizeAnswer = await fetch(`${server.url}/authorize?${authorizeQuery(spa, { code_challenge: pkcePair().challenge })}`, { headers: { origin: SPA }, redirect: 'manual' })
    expect(authorizeAnswer.headers.get('access-control-allow-origin')).toBeNull()
    const account = await fetch(`${server.url}/account`, { headers: { origin: SPA } })
    expect(account.headers.get('access-control-allow-origin')).toBeNull()
    const introspect = await preflight('/introspect', SPA)
    expect(introspect.headers.get('access-control-allow-origin')).toBeNull()
    expect(introspect.status).toBe(405)
  })

  it('an Origin of any shape fails nothing and grants nothing', async () => {
    for (const origin of ['null', '', 'https://spa.test/', 'https://spa.test/path', 'javascript:alert(1)', 'x'.repeat(5000), 'https://spa.test, https://evil.test', '\u00e9']) {
      const response = await preflight('/token', origin).catch(() => undefined)
      if (response === undefined) continue // a header fetch itself refuses to send
      expect(response.status).toBeLessThan(500)
      expect(response.headers.get('access-control-allow-origin')).toBeNull()
      const post = await postForm(`${server.url}/token`, { grant_type: 'authorization_code', code: 'x', client_id: spa.clientId }, { origin }).catch(() => undefined)
      if (post !== undefined) expect(post.status).toBeLessThan(500)
    }
  })
})

describe('registered web origins (client add --web-origin, issue #22)', () => {
  const WEB = 'https://app.spa.test'
  const DEV = 'http://localhost:5173'
  let server: TestServer
  let spa: TestClient
  let user: { username: string; password: string }
  beforeAll(async () => {
    server = await startServer()
    spa = await server.addClient({ name: 'SPA', redirectUris: ['https://login.spa.test/cb'], isPublic: true, webOrigins: [WEB, DEV] })
    user = await server.addUser()
  })
  afterAll(() => server.close())

  const preflight = (path: string, origin: string, method = 'POST', headers = 'content-type, dpop') =>
    fetch(`${server.url}${path}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers } })

  it('a registered web origin gets the grant at /token, /revoke and /par, as the redirect URI\'s origin does; another origin does not', async () => {
    for (const path of ['/token', '/revoke', '/par']) {
      for (const origin of [WEB, DEV, 'https://login.spa.test']) expect((await preflight(path, origin)).headers.get('access-control-allow-origin'), `${path} ${origin}`).toBe(origin)
      for (const origin of ['https://spa.test', 'https://evil.app.spa.test', 'http://localhost:5174', 'https://app.spa.test:443', 'http://app.spa.test']) {
        const refused = await preflight(path, origin)
        expect(refused.status).toBe(204)
        expect(refused.headers.get('access-control-allow-origin'), `${path} ${origin}`).toBeNull()
      }
    }
    const { verifier, challenge } = pkcePair()
    const { callback } = await authorize(server, new Browser(), authorizeQuery(spa, { code_challenge: challenge }), user)
    const form = { grant_type: 'authorization_code', code: callback?.searchParams.get('code') ?? '', redirect_uri: spa.redirectUri, code_verifier: verifier, client_id: spa.clientId }
    const stranger = await postForm(`${server.url}/token`, form, { origin: 'https://evil.test' })
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull()
    const ok = await postForm(`${server.url}/token`, form, { origin: WEB })
    expect(ok.headers.get('access-control-allow-origin')).toBe(WEB)
    const tokens = (await ok.json()) as { refresh_token: string }
    const revoked = await postForm(`${server.url}/revoke`, { token: tokens.refresh_token, client_id: spa.clientId }, { origin: DEV })
    expect(revoked.status).toBe(200)
    expect(revoked.headers.get('access-control-allow-origin')).toBe(DEV)
  })

  it('preflights with odd methods or headers get no grant and never a 5xx', async () => {
    const odd: [string, string | undefined][] = [
      ['PUT', 'content-type'],
      ['DELETE', undefined],
      ['post', 'content-type'],
      ['GET', 'content-type'],
      ['POST', 'x-requested-with'],
      ['POST', 'content-type, cookie'],
      ['POST', 'content-type,, ,'],
      ['POST', 'a'.repeat(4000)],
      ['POST, PUT', 'content-type'],
      ['', ''],
    ]
    for (const path of ['/token', '/revoke', '/par']) {
      for (const [method, headers] of odd) {
        const response = await fetch(`${server.url}${path}`, {
          method: 'OPTIONS',
          headers: { origin: WEB, 'access-control-request-method': method, ...(headers === undefined ? {} : { 'access-control-request-headers': headers }) },
        })
        expect(response.status, `${path} ${method} ${headers}`).toBeLessThan(500)
        expect(response.headers.get('access-control-allow-origin'), `${path} ${method} ${headers}`).toBeNull()
      }
      const noMethod = await fetch(`${server.url}${path}`, { method: 'OPTIONS', headers: { origin: WEB } })
      expect(noMethod.status).toBeLessThan(500)
      expect(noMethod.headers.get('access-control-allow-origin')).toBeNull()
    }
  })

  it('a web origin removed by an update can no longer read a token answer', async () => {
    const other = await server.addClient({ name: 'Short-lived', redirectUris: ['https://short.spa.test/cb'], isPublic: true, webOrigins: ['https://gone.spa.test'] })
    await server.store.updateClient(other.clientId, { webOrigins: [] })
    const response = await postForm(`${server.url}/token`, { grant_type: 'authorization_code', code: 'x', client_id: other.clientId }, { origin: 'https://gone.spa.test' })
    expect(response.status).toBe(400)
    expect(response.headers.get('access-control-allow-origin')).toBeNull()
  })
})

describe('browser-based apps (IETF OAuth 2.0 for Browser-Based Apps)', () => {
  let server: TestServer
  let user: { username: string; password: string }
  beforeAll(async () => {
    server = await startServer()
    user = await server.addUser()
  })
  afterAll(() => server.close())

  async function tokensFor(client: TestClient, headers: Record<string, string> = {}) {
    const { verifier, challenge } = pkcePair()
    const { callback } = await authorize(server, new Browser(), authorizeQuery(client, { code_challenge: challenge }), user)
    const form = { grant_type: 'authorization_code', code: callback?.searchParams.get('code') ?? '', redirect_uri: client.redirectUri, code_verifier: verifier, client_id: client.clientId }
    return (await (await postForm(`${server.url}/token`, form, headers)).json()) as { refresh_token: string }
  }
  const refresh = (client: TestClient, token: string) => postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: token, client_id: client.clientId })

  it('an app in the browser keeps a refresh token a day at most (lifetimes.browserRefreshTokenAbsolute), rotating or not; a native app the usual 30 days', async () => {
    const spa = await server.addClient({ redirectUris: ['https://spa.test/cb'], isPublic: true })
    const native = await server.addClient({ redirectUris: ['http://127.0.0.1/cb'], isPublic: true })
    let spaToken = (await tokensFor(spa)).refresh_token
    let nativeToken = (await tokensFor(native)).refresh_token
    // Rotating every twelve hours keeps the idle limit away; the absolute one still ends the family.
    server.clock.advance(43_000)
    const rotated = (await (await refresh(spa, spaToken)).json()) as { refresh_token: string }
    spaToken = rotated.refresh_token
    nativeToken = ((await (await refresh(native, nativeToken)).json()) as { refresh_token: string }).refresh_token
    server.clock.advance(43_500)
    expect((await refresh(spa, spaToken)).status).toBe(400)
    expect((await refresh(native, nativeToken)).status).toBe(200)
  })

  it('OAuth 2.1 §4.1.1: state is optional with PKCE: a public client without state signs in and redeems its code', async () => {
    const spa = await server.addClient({ redirectUris: ['https://nostate.test/cb'], isPublic: true })
    const { verifier, challenge } = pkcePair()
    const { callback } = await authorize(server, new Browser(), authorizeQuery(spa, { code_challenge: challenge, state: undefined }), user)
    expect(callback?.searchParams.has('state')).toBe(false)
    const code = callback?.searchParams.get('code') ?? ''
    expect(code).not.toBe('')
    const response = await postForm(`${server.url}/token`, { grant_type: 'authorization_code', code, redirect_uri: spa.redirectUri, code_verifier: verifier, client_id: spa.clientId })
    expect(response.status).toBe(200)
  })

  it('the consent page says when an app runs entirely in the browser', async () => {
    const spa = await server.addClient({ name: 'Notes in the browser', redirectUris: ['https://notes.test/cb'], isPublic: true })
    const backend = await server.addClient({ name: 'Notes with a server', redirectUris: ['https://notes-server.test/cb'] })
    const consentHtml = async (client: TestClient) => {
      // Stop at the consent page: sign in, then read the page the interaction shows.
      const browser = new Browser()
      let response = await browser.get(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: pkcePair().challenge, prompt: 'consent' })}`)
      for (let i = 0; i < 6 && response.status >= 300 && response.status < 400; i++) response = await browser.get(new URL(response.headers.get('location') ?? '', server.url).href)
      let html = await response.text()
      if (html.includes('name="password"')) {
        const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1] ?? ''
        const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? ''
        response = await browser.post(new URL(action, server.url).href, { csrf, username: user.username, password: user.password })
        for (let i = 0; i < 6 && response.status >= 300 && response.status < 400; i++) response = await browser.get(new URL(response.headers.get('location') ?? '', server.url).href)
        html = await response.text()
      }
      return html
    }
    expect(await consentHtml(spa)).toMatch(/runs entirely in your browser/)
    expect(await consentHtml(backend)).not.toMatch(/runs entirely in your browser/)
  })
})
