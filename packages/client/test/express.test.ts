/**
 * The Express middleware (`@authcode/client/express`) over plain HTTP: a real Express app on an
 * ephemeral port, driven with `fetch`, logging in through our authorization server (the harness)
 * and through the handler's own checks (cookies, returnTo, logout, refused callbacks).
 */
import type { Server } from 'node:http'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authorize, Browser, freePort, startServer, type TestClient, type TestServer } from '../../server/test/harness.js'
import { OAuthClient } from '../src/client.js'
import { authcode, requireAuth } from '../src/express/index.js'
import { sessionKey } from '../src/internal/context.js'
import { MemoryTokenStore } from '../src/storage/memory.js'
import { AuthHandler } from '../src/web/handler.js'

let server: TestServer
let registered: TestClient
let user: { username: string; password: string }
let app: Server
let appUrl: string
let store: MemoryTokenStore
let client: OAuthClient
const seenErrors: unknown[] = []

beforeAll(async () => {
  server = await startServer()
  const port = await freePort()
  appUrl = `http://localhost:${port}`
  registered = await server.addClient({ redirectUris: [`${appUrl}/callback`], scope: 'openid profile email' })
  user = await server.addUser('alice', 'correct horse battery', { name: 'Alice Example' })
  store = new MemoryTokenStore()
  client = new OAuthClient({
    server: { kind: 'discovery', issuer: server.url },
    clientId: registered.clientId,
    clientSecret: registered.secret ?? '',
    redirectUri: registered.redirectUri,
    scope: 'openid profile email',
    now: server.clock.now,
    tokenStore: store,
  })
  const web = express()
  web.use(authcode({ client }))
  web.get('/', (req, res) => {
    res.json({ signedIn: req.auth !== undefined })
  })
  web.get('/dashboard', requireAuth(), (req, res) => {
    const { claims, scope, expiresAt } = req.auth ?? {}
    res.json({ sub: claims?.sub, scope, expiresAt })
  })
  web.get('/api', requireAuth(), async (req, res) => {
    res.json(await client.userinfo(req.auth?.sessionId ?? ''))
  })
  web.post('/things', requireAuth(), (_req, res) => {
    res.json({ ok: true })
  })
  web.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    seenErrors.push(error)
    res.status(500).type('text/plain').send('error')
  })
  app = await new Promise<Server>((resolve) => {
    const listening = web.listen(port, '127.0.0.1', () => resolve(listening))
  })
})

afterAll(async () => {
  if (app !== undefined) await new Promise((resolve) => app.close(resolve))
  await server?.close()
})

function cookieNamed(response: Response, prefix: string): string | undefined {
  return response.headers.getSetCookie().find((line) => line.startsWith(prefix))
}

/** GET /login, the server's pages, then the callback, as one browser. */
async function logIn(browser: Browser, returnTo?: string) {
  const login = await browser.get(`${appUrl}/login${returnTo === undefined ? '' : `?returnTo=${encodeURIComponent(returnTo)}`}`)
  expect(login.status).toBe(302)
  const authorizationUrl = new URL(login.headers.get('location') ?? '')
  expect(authorizationUrl.href.startsWith(`${server.url}/authorize?`)).toBe(true)
  const { callback } = await authorize(server, browser, authorizationUrl.search.slice(1), user)
  if (callback === undefined) throw new Error('the server did not redirect back')
  expect(callback.href.startsWith(`${appUrl}/callback?`)).toBe(true)
  const done = await browser.get(callback.href)
  return { login, callback, done }
}

describe('authcode() Express middleware against the authcode server', () => {
  it('RFC 6749 §4.1: login → callback → session cookie → req.auth, userinfo on the back channel, logout revokes', async () => {
    const browser = new Browser()
    const { login, done } = await logIn(browser, '/dashboard')

    const loginCookie = cookieNamed(login, 'authcode_app_login_')
    expect(loginCookie).toMatch(/; Path=\/callback; HttpOnly; SameSite=Lax; Max-Age=\d+$/)
    expect(loginCookie).not.toMatch(/Secure/)

    expect(done.status).toBe(303)
    expect(done.headers.get('location')).toBe('/dashboard')
    const sessionCookie = cookieNamed(done, 'authcode_app_session=')
    expect(sessionCookie).toMatch(/^authcode_app_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax$/)
    expect(cookieNamed(done, 'authcode_app_login_')).toMatch(/Max-Age=0/)
    const sessionId = browser.cookies.get('authcode_app_session') ?? ''
    const record = await store.get(sessionKey(sessionId), server.clock.now())
    if (record === undefined) throw new Error('no session stored')

    const dashboard = await browser.get(`${appUrl}/dashboard`)
    expect(dashboard.status).toBe(200)
    const shown = await dashboard.text()
    expect(JSON.parse(shown)).toEqual({ sub: record.claims?.sub, scope: 'openid profile email', expiresAt: record.tokens.expiresAt })
    for (const secret of [record.tokens.accessToken, record.tokens.refreshToken, record.tokens.idToken]) {
      expect(secret).toBeTypeOf('string')
      expect(shown).not.toContain(secret)
      expect(done.headers.get('location')).not.toContain(secret)
    }

    const api = await browser.get(`${appUrl}/api`)
    expect(await api.json()).toMatchObject({ sub: record.claims?.sub, name: 'Alice Example' })

    const logout = await browser.post(`${appUrl}/logout`, {}, { origin: appUrl })
    expect(logout.status).toBe(303)
    // RP-initiated logout (the server offers it): to its end-session endpoint, naming the client, never
    // with a token in the URL (SECURITY.md 21: the server asks the user then) or a state nobody checks.
    const endSession = new URL(logout.headers.get('location') ?? '')
    expect(`${endSession.origin}${endSession.pathname}`).toBe(`${server.url}/logout`)
    expect([...endSession.searchParams.keys()]).toEqual(['client_id'])
    expect(cookieNamed(logout, 'authcode_app_session=')).toMatch(/Max-Age=0/)
    expect(await store.get(sessionKey(sessionId), server.clock.now())).toBeUndefined()
    expect(browser.cookies.has('authcode_app_session')).toBe(false)

    const after = await browser.get(`${appUrl}/dashboard`)
    expect(after.status).toBe(302)
    expect(after.headers.get('location')).toBe('/login?returnTo=%2Fdashboard')
  })

  it('several tabs log in at once without breaking each other (one login cookie per attempt)', async () => {
    const browser = new Browser()
    const first = await browser.get(`${appUrl}/login?returnTo=/a`)
    const second = await browser.get(`${appUrl}/login?returnTo=/b`)
    const firstQuery = new URL(first.headers.get('location') ?? '').search.slice(1)
    const secondQuery = new URL(second.headers.get('location') ?? '').search.slice(1)
    const { callback: cbSecond } = await authorize(server, browser, secondQuery, user)
    const { callback: cbFirst } = await authorize(server, browser, firstQuery, user)
    const doneFirst = await browser.get(cbFirst?.href ?? '')
    const doneSecond = await browser.get(cbSecond?.href ?? '')
    expect([doneFirst.status, doneFirst.headers.get('location')]).toEqual([303, '/a'])
    expect([doneSecond.status, doneSecond.headers.get('location')]).toEqual([303, '/b'])
  })

  it('a second login in the same browser gets a fresh session id and ends the previous session', async () => {
    const browser = new Browser()
    await logIn(browser)
    const first = browser.cookies.get('authcode_app_session') ?? ''
    await logIn(browser)
    const second = browser.cookies.get('authcode_app_session') ?? ''
    expect(second).not.toBe(first)
    expect(await store.get(sessionKey(first), server.clock.now()) === undefined).toBe(true)
    expect(await store.get(sessionKey(second), server.clock.now()) !== undefined).toBe(true)
  })

  it('RFC 9700 §4.11.1: an off-site returnTo is ignored (no open redirect)', async () => {
    for (const returnTo of ['//evil.test/x', 'https://evil.test/', '/\\evil.test']) {
      const { done } = await logIn(new Browser(), returnTo)
      expect(done.headers.get('location')).toBe('/')
    }
  })

  it('RFC 6749 §10.12: a callback without this browser\'s login cookie is a 400 page with no session and no token request', async () => {
    const browser = new Browser()
    const { callback } = await (async () => {
      const login = await browser.get(`${appUrl}/login`)
      return authorize(server, browser, new URL(login.headers.get('location') ?? '').search.slice(1), user)
    })()
    // Another browser (the attacker's victim) receives the callback.
    const other = await fetch(callback?.href ?? '', { redirect: 'manual' })
    expect(other.status).toBe(400)
    expect(other.headers.get('content-type')).toMatch(/^text\/html/)
    expect(other.headers.get('cache-control')).toBe('no-store')
    expect(await other.text()).toContain('LOGIN_NOT_FOUND')
    expect(cookieNamed(other, 'authcode_app_session=')).toBeUndefined()
    // The genuine browser still completes: the attempt was not touched.
    const done = await browser.get(callback?.href ?? '')
    expect(done.status).toBe(303)
    // A replayed callback opens nothing: this browser is signed in, so it goes on to afterLogin
    // with the session it has (no new session cookie).
    const replay = await browser.get(callback?.href ?? '')
    expect(replay.status).toBe(303)
    expect(replay.headers.get('location')).toBe('/')
    expect(cookieNamed(replay, 'authcode_app_session=')).toBeUndefined()
  })

  it('RFC 6749 §4.1.2.1: a denial shows a clear 400 page', async () => {
    const browser = new Browser()
    const login = await browser.get(`${appUrl}/login`)
    // A user who has not consented to this client before, so the consent page shows.
    const newcomer = await server.addUser()
    const { callback } = await authorize(server, browser, new URL(login.headers.get('location') ?? '').search.slice(1), newcomer, 'deny')
    const page = await browser.get(callback?.href ?? '')
    expect(page.status).toBe(400)
    const html = await page.text()
    expect(html).toContain('Sign-in cancelled')
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'")
  })

  it('refuses a cross-origin logout POST, and answers 401 to an unauthenticated POST behind requireAuth', async () => {
    const browser = new Browser()
    await logIn(browser)
    const forged = await browser.post(`${appUrl}/logout`, {}, { origin: 'https://evil.test' })
    expect(forged.status).toBe(403)
    expect((await browser.post(`${appUrl}/logout`, {}, { origin: 'null' })).status).toBe(403)
    expect((await browser.post(`${appUrl}/logout`, {}, { 'sec-fetch-site': 'same-site', origin: appUrl })).status).toBe(403)
    expect((await browser.get(`${appUrl}/`)).status).toBe(200)
    expect(await (await browser.get(`${appUrl}/`)).json()).toEqual({ signedIn: true })
    const anonymous = await fetch(`${appUrl}/things`, { method: 'POST', redirect: 'manual' })
    expect(anonymous.status).toBe(401)
    // A page that says what happened and where to go, not bare text.
    expect(anonymous.headers.get('content-type')).toBe('text/html; charset=utf-8')
    const page = await anonymous.text()
    expect(page).toContain('<h1>Signed out</h1>')
    expect(page).toContain('<a href="/login">Sign in</a>')
  })

  it('clears the cookie of an unknown or ended session', async () => {
    const response = await fetch(`${appUrl}/`, { headers: { cookie: 'authcode_app_session=not-a-session' } })
    expect(await response.json()).toEqual({ signedIn: false })
    expect(cookieNamed(response, 'authcode_app_session=')).toMatch(/Max-Age=0/)
  })
})

describe('AuthHandler options', () => {
  const base = {
    server: { kind: 'endpoints' as const, issuer: 'https://as.test', authorizationEndpoint: 'https://as.test/authorize', tokenEndpoint: 'https://as.test/token' },
    clientId: 'c1',
    clientSecret: 's1',
  }

  it('cookies are Secure by default for an https redirect URI, SameSite configurable', async () => {
    const handler = new AuthHandler({ client: new OAuthClient({ ...base, redirectUri: 'https://rp.test/auth/cb' }), sameSite: 'Strict' })
    const response = await handler.handle(new Request('https://rp.test/login'))
    expect(response?.status).toBe(302)
    expect(response?.headers.getSetCookie()[0]).toMatch(/; Path=\/auth\/cb; HttpOnly; SameSite=Strict; Max-Age=600; Secure$/)
    expect(await handler.handle(new Request('https://rp.test/other'))).toBeUndefined()
    expect(handler.sessionCookie).toBe('__Host-authcode_app_session')
    const logout = await handler.handle(new Request('https://rp.test/logout', { method: 'POST' }))
    expect(logout?.headers.getSetCookie()[0]).toBe('__Host-authcode_app_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure')
  })

  it('a login while the server is unreachable is a 502 page, not a crash', async () => {
    const handler = new AuthHandler({
      client: new OAuthClient({ ...base, server: { kind: 'discovery', issuer: 'http://127.0.0.1:9' }, redirectUri: 'http://localhost:3000/callback', timeoutMs: 2000 }),
    })
    const response = await handler.handle(new Request('http://localhost:3000/login'))
    expect(response?.status).toBe(502)
    expect(await response?.text()).toContain('NETWORK_ERROR')
    expect(response?.headers.getSetCookie()).toEqual([])
  })

  it('checks its options (TypeError)', () => {
    const c = new OAuthClient({ ...base, redirectUri: 'http://localhost:3000/callback' })
    expect(() => new AuthHandler({ client: c, sameSite: 'None' })).toThrow(TypeError)
    expect(() => new AuthHandler({ client: c, sessionCookie: 'a b' })).toThrow(TypeError)
    expect(() => new AuthHandler({ client: c, afterLogin: 'https://evil.test' })).toThrow(TypeError)
    expect(() => new AuthHandler({ client: c, loginPath: '/callback' })).toThrow(TypeError)
    expect(() => authcode({ client: c, onError: 'x' as 'page' })).toThrow(TypeError)
  })

  it("onError: 'next' hands a failed callback to Express's error handlers", async () => {
    const c = new OAuthClient({ ...base, redirectUri: 'http://localhost:3000/callback' })
    const web = express()
    web.use(authcode({ client: c, onError: 'next' }))
    const errors: unknown[] = []
    web.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      errors.push(error)
      res.status(418).end()
    })
    const listening = await new Promise<Server>((resolve) => {
      const s = web.listen(0, '127.0.0.1', () => resolve(s))
    })
    try {
      const { port } = listening.address() as { port: number }
      const response = await fetch(`http://127.0.0.1:${port}/callback?code=x&state=y`, { redirect: 'manual' })
      expect(response.status).toBe(418)
      expect(errors[0]).toMatchObject({ code: 'LOGIN_NOT_FOUND' })
    } finally {
      await new Promise((resolve) => listening.close(resolve))
    }
  })
})
