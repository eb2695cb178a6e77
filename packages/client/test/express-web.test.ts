/**
 * The framework-agnostic `AuthHandler` (`src/web/handler.ts`) on its own, the way a Fastify or Hono app
 * would use it: Web `Request`s in, Web `Response`s out, no HTTP server of the app's, through a
 * whole login against our authorization server (the harness).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authorize, Browser, startServer, type TestClient, type TestServer } from '../../server/test/harness.js'
import { OAuthClient } from '../src/client.js'
import { StoreError } from '../src/errors.js'
import { parseCookies } from '../src/web/cookies.js'
import { AuthHandler } from '../src/web/handler.js'

const APP = 'https://app.example'

let server: TestServer
let registered: TestClient
let user: { username: string; password: string }
let handler: AuthHandler

beforeAll(async () => {
  server = await startServer()
  registered = await server.addClient({ redirectUris: [`${APP}/auth/callback`], scope: 'openid profile email' })
  user = await server.addUser('bob', 'correct horse battery', { name: 'Bob Example' })
  handler = new AuthHandler({
    client: new OAuthClient({
      server: { kind: 'discovery', issuer: server.url },
      clientId: registered.clientId,
      clientSecret: registered.secret ?? '',
      redirectUri: registered.redirectUri,
      scope: 'openid profile email',
      now: server.clock.now,
    }),
    loginPath: '/auth/login',
    logoutPath: '/auth/logout',
    afterLogin: '/home',
  })
})

afterAll(async () => {
  await server?.close()
})

/** The `name=value` pairs a browser would send back for these `Set-Cookie` lines. */
function cookieHeader(response: Response, jar = new Map<string, string>()): string {
  for (const line of response.headers.getSetCookie()) {
    const [pair = ''] = line.split(';')
    const eq = pair.indexOf('=')
    if (/Max-Age=0/.test(line)) jar.delete(pair.slice(0, eq))
    else jar.set(pair.slice(0, eq), pair.slice(eq + 1))
  }
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
}

describe('AuthHandler over Web Request/Response', () => {
  it('RFC 6749 §4.1: login, callback, session, logout with nothing but Request and Response', async () => {
    const login = await handler.handle(new Request(`${APP}/auth/login?returnTo=/reports%3Fyear%3D2026`))
    if (login === undefined) throw new Error('login not handled')
    expect(login.status).toBe(302)
    const loginCookie = login.headers.getSetCookie()[0] ?? ''
    // An https app: Secure cookies by default, the login cookie only sent to the callback path.
    expect(loginCookie).toMatch(/^authcode_app_login_[\w-]{16}=[\w-]{43}; Path=\/auth\/callback; HttpOnly; SameSite=Lax; Max-Age=600; Secure$/)

    const authorizationUrl = new URL(login.headers.get('location') ?? '')
    const { callback } = await authorize(server, new Browser(), authorizationUrl.search.slice(1), user)
    if (callback === undefined) throw new Error('no callback')
    const cookie = cookieHeader(login)
    const done = await handler.handle(new Request(callback, { headers: { cookie } }))
    if (done === undefined) throw new Error('callback not handled')
    expect(done.status).toBe(303)
    expect(done.headers.get('location')).toBe('/reports?year=2026')
    const sessionCookie = done.headers.getSetCookie().find((line) => line.startsWith('__Host-authcode_app_session='))
    expect(sessionCookie).toMatch(/^__Host-authcode_app_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax; Secure$/)

    const jar = new Map<string, string>()
    const browserCookies = cookieHeader(done, jar)
    expect(parseCookies(browserCookies).has(`${loginCookie.split('=')[0]}`)).toBe(false)
    const page = new Request(`${APP}/reports`, { headers: { cookie: browserCookies } })
    expect(await handler.handle(page)).toBeUndefined()
    const session = await handler.session(page)
    expect(session?.info).toMatchObject({ scope: 'openid profile email', claims: { iss: server.url, aud: registered.clientId } })
    expect(JSON.stringify(session?.info)).not.toMatch(/eyJ/)

    const logout = await handler.handle(new Request(`${APP}/auth/logout`, { method: 'POST', headers: { cookie: browserCookies, 'sec-fetch-site': 'same-origin' } }))
    expect(logout?.status).toBe(303)
    // RP-initiated logout (the server offers it): to its end-session endpoint, naming the client, never
    // with a token in the URL (SECURITY.md 21: the server asks the user then) or a state nobody checks.
    const endSession = new URL(logout?.headers.get('location') ?? '')
    expect(`${endSession.origin}${endSession.pathname}`).toBe(`${server.url}/logout`)
    expect([...endSession.searchParams.keys()]).toEqual(['client_id'])
    expect(await handler.session(page)).toBeUndefined()
  })

  it('a GET to the logout path and a POST to the login path are not handled (left to the app)', async () => {
    expect(await handler.handle(new Request(`${APP}/auth/logout`))).toBeUndefined()
    expect(await handler.handle(new Request(`${APP}/auth/login`, { method: 'POST' }))).toBeUndefined()
  })

  it('RFC 6749 §10.12: a callback with two state parameters is refused without looking up a login cookie', async () => {
    const response = await handler.callback(new Request(`${APP}/auth/callback?code=x&state=a&state=b`))
    expect(response.status).toBe(400)
    expect(response.headers.getSetCookie()).toEqual([])
  })

  it('SECURITY 19: a callback reopened by a signed-in browser goes to afterLogin and leaves its session alone; no second code exchange', async () => {
    const login = await handler.handle(new Request(`${APP}/auth/login`))
    if (login === undefined) throw new Error('login not handled')
    const { callback } = await authorize(server, new Browser(), new URL(login.headers.get('location') ?? '').search.slice(1), user)
    if (callback === undefined) throw new Error('no callback')
    const jar = new Map<string, string>()
    const done = await handler.handle(new Request(callback, { headers: { cookie: cookieHeader(login, jar) } }))
    if (done === undefined) throw new Error('callback not handled')
    const cookie = cookieHeader(done, jar)
    const before = await handler.session(new Request(`${APP}/`, { headers: { cookie } }))
    expect(before).toBeDefined()

    // The same URL again (history, Back): the login cookie is gone, the session cookie is there.
    const again = await handler.callback(new Request(callback, { headers: { cookie } }))
    expect(again.status).toBe(303)
    expect(again.headers.get('location')).toBe('/home')
    expect(again.headers.getSetCookie().some((line) => line.includes('authcode_app_session'))).toBe(false)
    // Had the code been sent again, the server would have revoked what it issued (RFC 6749 §4.1.2).
    const after = await handler.session(new Request(`${APP}/`, { headers: { cookie } }))
    expect(after?.info).toEqual(before?.info)
    expect(await handler.client.userinfo(after?.sessionId ?? '')).toMatchObject({ sub: before?.info.claims?.sub })

    // Signed out, the same URL says the link was used, and still exchanges nothing.
    const signedOut = await handler.callback(new Request(callback))
    expect(signedOut.status).toBe(400)
    expect(await signedOut.text()).toContain('This sign-in link was already used')
    expect(await handler.client.userinfo(after?.sessionId ?? '')).toMatchObject({ sub: before?.info.claims?.sub })
  })

  it('a login state store that is down: a 503 page that says so, not a crash', async () => {
    const down = new AuthHandler({
      client: new OAuthClient({
        server: { kind: 'discovery', issuer: server.url },
        clientId: registered.clientId,
        clientSecret: registered.secret ?? '',
        redirectUri: registered.redirectUri,
        now: server.clock.now,
        loginStateStore: {
          save: async () => Promise.reject(new StoreError('RedisLoginStateStore: save failed: Redis is not connected (reconnecting)')),
          take: async () => Promise.reject(new StoreError('RedisLoginStateStore: take failed: Redis is not connected (reconnecting)')),
        },
      }),
      loginPath: '/auth/login',
    })
    const response = await down.handle(new Request(`${APP}/auth/login`))
    expect(response?.status).toBe(503)
    expect(response?.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(await response?.text()).toContain('Signing in is not possible right now (STORE_UNAVAILABLE)')
    expect(response?.headers.getSetCookie()).toEqual([])
  })
})
