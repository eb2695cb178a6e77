/**
 * The Hono example (`examples/hono.ts`) as a user runs it: the package imported by its name, the app
 * served by @hono/node-server on a real port, a whole login through our authorization server.
 */
import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { OAuthClient } from '@authcode/client'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { authorize, Browser, freePort, startServer, type TestServer } from '../../server/test/harness.js'
import { createHonoApp } from '../examples/hono.js'

let server: TestServer
let app: ServerType
let appUrl: string
let user: { username: string; password: string }

beforeAll(async () => {
  server = await startServer()
  const port = await freePort()
  appUrl = `http://localhost:${port}`
  const registered = await server.addClient({ redirectUris: [`${appUrl}/callback`], scope: 'openid profile email' })
  user = await server.addUser('hana', 'correct horse battery', { name: 'Hana Example' })
  const client = new OAuthClient({
    server: { kind: 'discovery', issuer: server.url },
    clientId: registered.clientId,
    clientSecret: registered.secret ?? '',
    redirectUri: registered.redirectUri,
    scope: 'openid profile email',
  })
  await new Promise<AddressInfo>((resolve) => {
    app = serve({ fetch: createHonoApp(client).fetch, port, hostname: '127.0.0.1' }, resolve)
  })
})

afterAll(async () => {
  await new Promise((resolve) => app?.close(resolve))
  await server?.close()
})

it('RFC 6749 §4.1 on Hono: log in, the protected route answers from userinfo, log out, the route asks for a login again', async () => {
  const browser = new Browser()
  const home = await browser.get(`${appUrl}/`)
  expect(await home.text()).toContain('Log in')
  const protectedRoute = await browser.get(`${appUrl}/me`)
  expect(protectedRoute.status).toBe(302)
  expect(protectedRoute.headers.get('location')).toBe('/login?returnTo=/me')

  const login = await browser.get(`${appUrl}/login?returnTo=/me`)
  expect(login.status).toBe(302)
  const { callback } = await authorize(server, browser, new URL(login.headers.get('location') ?? '').search.slice(1), user)
  if (callback === undefined) throw new Error('the server did not redirect back')
  const done = await browser.get(callback.href)
  expect(done.status).toBe(303)
  expect(done.headers.get('location')).toBe('/me')

  const me = await browser.get(`${appUrl}/me`)
  expect(me.status).toBe(200)
  const profile = (await me.json()) as Record<string, unknown>
  expect(profile).toMatchObject({ name: 'Hana Example', email: 'hana@example.com' })
  expect(JSON.stringify(profile)).not.toMatch(/eyJ/)
  expect(await (await browser.get(`${appUrl}/`)).text()).toContain('Log out')

  const logout = await browser.post(`${appUrl}/logout`, {}, { origin: appUrl })
  expect(logout.status).toBe(303)
  expect(browser.cookies.has('authcode_app_session')).toBe(false)
  expect((await browser.get(`${appUrl}/me`)).status).toBe(302)

  const stale = await fetch(`${appUrl}/`, { headers: { cookie: 'authcode_app_session=ended' } })
  expect(stale.headers.getSetCookie().some((line) => line.startsWith('authcode_app_session=;') && /Max-Age=0/.test(line))).toBe(true)
})
