/**
 * The Fastify plugin (`@authcode/client/fastify`) over plain HTTP: a real Fastify app on an
 * ephemeral port, logging in through our authorization server (the harness) as a browser would,
 * beside the app's own routes, hooks and body parsers.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authorize, Browser, freePort, startServer, type TestClient, type TestServer } from '../../server/test/harness.js'
import { OAuthClient } from '../src/client.js'
import { authcode, requireAuth } from '../src/fastify/index.js'
import { sessionKey } from '../src/internal/context.js'
import { MemoryTokenStore } from '../src/storage/memory.js'

let server: TestServer
let registered: TestClient
let user: { username: string; password: string }
let app: FastifyInstance
let appUrl: string
let store: MemoryTokenStore
let client: OAuthClient

beforeAll(async () => {
  server = await startServer()
  const port = await freePort()
  appUrl = `http://localhost:${port}`
  registered = await server.addClient({ redirectUris: [`${appUrl}/callback`], scope: 'openid profile email' })
  user = await server.addUser('fay', 'correct horse battery', { name: 'Fay Example' })
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
  app = Fastify()
  // The app's own form parser: the plugin must neither replace it nor trip over it.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })
  await app.register(authcode, { client })
  app.get('/', async (request) => ({ signedIn: request.auth !== undefined }))
  app.get('/dashboard', { preHandler: requireAuth() }, async (request) => {
    const { claims, scope, expiresAt } = request.auth ?? {}
    return { sub: claims?.sub, scope, expiresAt }
  })
  app.get('/api', { preHandler: requireAuth() }, async (request) => app.authcode.client.userinfo(request.auth?.sessionId ?? ''))
  app.post('/things', { preHandler: requireAuth() }, async (request) => ({ got: request.body }))
  await app.listen({ port, host: '127.0.0.1' })
})

afterAll(async () => {
  await app?.close()
  await server?.close()
})

function cookieNamed(response: Response, prefix: string): string | undefined {
  return response.headers.getSetCookie().find((line) => line.startsWith(prefix))
}

async function logIn(browser: Browser, returnTo?: string): Promise<Response> {
  const login = await browser.get(`${appUrl}/login${returnTo === undefined ? '' : `?returnTo=${encodeURIComponent(returnTo)}`}`)
  expect(login.status).toBe(302)
  expect(cookieNamed(login, 'authcode_app_login_')).toMatch(/; Path=\/callback; HttpOnly; SameSite=Lax; Max-Age=\d+$/)
  const { callback } = await authorize(server, browser, new URL(login.headers.get('location') ?? '').search.slice(1), user)
  if (callback === undefined) throw new Error('the server did not redirect back')
  return browser.get(callback.href)
}

describe('authcode Fastify plugin against the authcode server', () => {
  it('RFC 6749 §4.1: login → callback → session cookie → request.auth, userinfo on the back channel, a form POST logout revokes', async () => {
    const browser = new Browser()
    const done = await logIn(browser, '/dashboard')
    expect(done.status).toBe(303)
    expect(done.headers.get('location')).toBe('/dashboard')
    expect(cookieNamed(done, 'authcode_app_session=')).toMatch(/^authcode_app_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax$/)
    expect(cookieNamed(done, 'authcode_app_login_')).toMatch(/Max-Age=0/)
    const sessionId = browser.cookies.get('authcode_app_session') ?? ''
    const record = await store.get(sessionKey(sessionId), server.clock.now())
    if (record === undefined) throw new Error('no session stored')

    const dashboard = await browser.get(`${appUrl}/dashboard`)
    const shown = await dashboard.text()
    expect(JSON.parse(shown)).toEqual({ sub: record.claims?.sub, scope: 'openid profile email', expiresAt: record.tokens.expiresAt })
    for (const secret of [record.tokens.accessToken, record.tokens.refreshToken, record.tokens.idToken]) expect(shown).not.toContain(secret)
    expect(await (await browser.get(`${appUrl}/api`)).json()).toMatchObject({ sub: record.claims?.sub, name: 'Fay Example' })
    // The app's parser still reads its own routes' forms.
    expect(await (await browser.post(`${appUrl}/things`, { a: '1' })).json()).toEqual({ got: { a: '1' } })

    // A browser's logout form: a urlencoded body the plugin's route skips.
    const logout = await browser.post(`${appUrl}/logout`, { any: 'thing' }, { origin: appUrl })
    expect(logout.status).toBe(303)
    // RP-initiated logout (the server offers it): to its end-session endpoint, naming the client, never
    // with a token in the URL (SECURITY.md 21: the server asks the user then) or a state nobody checks.
    const endSession = new URL(logout.headers.get('location') ?? '')
    expect(`${endSession.origin}${endSession.pathname}`).toBe(`${server.url}/logout`)
    expect([...endSession.searchParams.keys()]).toEqual(['client_id'])
    expect(cookieNamed(logout, 'authcode_app_session=')).toMatch(/Max-Age=0/)
    expect(await store.get(sessionKey(sessionId), server.clock.now())).toBeUndefined()
    const after = await browser.get(`${appUrl}/dashboard`)
    expect(after.status).toBe(302)
    expect(after.headers.get('location')).toBe('/login?returnTo=%2Fdashboard')
  })

  it('SECURITY 19: a callback without this browser’s login cookie is a 400 page; reopened when signed in, it goes on to afterLogin', async () => {
    const browser = new Browser()
    const login = await browser.get(`${appUrl}/login`)
    const { callback } = await authorize(server, browser, new URL(login.headers.get('location') ?? '').search.slice(1), user)
    const other = await fetch(callback?.href ?? '', { redirect: 'manual' })
    expect(other.status).toBe(400)
    expect(other.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(await other.text()).toContain('LOGIN_NOT_FOUND')
    expect((await browser.get(callback?.href ?? '')).status).toBe(303)
    const again = await browser.get(callback?.href ?? '')
    expect(again.status).toBe(303)
    expect(again.headers.get('location')).toBe('/')
    expect(cookieNamed(again, 'authcode_app_session=')).toBeUndefined()
  })

  it('refuses a cross-origin logout; a POST without a session gets the 401 page; an unknown session cookie is cleared', async () => {
    const browser = new Browser()
    await logIn(browser)
    expect((await browser.post(`${appUrl}/logout`, {}, { origin: 'https://evil.test' })).status).toBe(403)
    expect(await (await browser.get(`${appUrl}/`)).json()).toEqual({ signedIn: true })
    const anonymous = await fetch(`${appUrl}/things`, { method: 'POST', redirect: 'manual' })
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(await anonymous.text()).toContain('<a href="/login">Sign in</a>')
    const unknown = await fetch(`${appUrl}/`, { headers: { cookie: 'authcode_app_session=not-a-session' } })
    expect(await unknown.json()).toEqual({ signedIn: false })
    expect(cookieNamed(unknown, 'authcode_app_session=')).toMatch(/Max-Age=0/)
  })
})
