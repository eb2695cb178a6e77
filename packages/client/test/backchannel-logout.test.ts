/**
 * Back-channel logout (OpenID Back-Channel Logout 1.0) in the client: the logout token's
 * validation (§2.6) with tokens signed by the fake server's key, each check refusing what it must;
 * the sessions of the named login session ending in the store (§2.7); the handler's route and its
 * answers (§2.8); then the whole thing against our own authorization server, whose logout token
 * reaches the Express app's route after the user signs out at the server.
 */
import type { Server } from 'node:http'
import express from 'express'
import { generateKeyPairSync } from 'node:crypto'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authorize, Browser, freePort, hiddenInput, startServer, type TestClient, type TestServer } from '../../server/test/harness.js'
import { OAuthClient } from '../src/client.js'
import { LogoutTokenError } from '../src/errors.js'
import type { FlowEvent } from '../src/events.js'
import { authcode, requireAuth } from '../src/express/index.js'
import { sessionKey } from '../src/internal/context.js'
import { BACKCHANNEL_LOGOUT_EVENT } from '../src/logout/backchannel.js'
import { MemoryTokenStore } from '../src/storage/memory.js'
import { AuthHandler } from '../src/web/handler.js'
import { CLIENT_ID, FakeAuthorizationServer, ISSUER } from './fake-as.js'
import { clientFor, login } from './helpers.js'

describe('backchannelLogout: the logout token (§2.6) and the sessions it ends (§2.7)', () => {
  const fake = new FakeAuthorizationServer()
  // The server's ID tokens name its login session.
  fake.idTokenTamper = { claims: { sid: 'sid-1' } }
  const events: FlowEvent[] = []
  const store = new MemoryTokenStore()
  const client = clientFor(fake, { tokenStore: store, onEvent: (event) => void events.push(event) })

  let jtis = 0
  /** A logout token as the fake server would sign it, with `claims` and `header` changed. */
  function logoutToken(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, key = fake.key.privateKey): Promise<string> {
    const payload: Record<string, unknown> = {
      iss: ISSUER,
      aud: CLIENT_ID,
      iat: fake.now,
      exp: fake.now + 120,
      jti: `jti-${++jtis}`,
      sid: 'sid-1',
      sub: fake.subject,
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
      ...claims,
    }
    for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name]
    return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'logout+jwt', ...header }).sign(key)
  }

  const live = async (sessionId: string) => (await store.get(sessionKey(sessionId), fake.now)) !== undefined

  it('§2.7: a valid token ends every session of the login session it names, nothing else; the event fingerprints it', async () => {
    const first = await login(fake, client)
    const second = await login(fake, client)
    fake.idTokenTamper = { claims: { sid: 'sid-2' } }
    const elsewhere = await login(fake, client)
    fake.idTokenTamper = { claims: { sid: 'sid-1' } }
    const token = await logoutToken()
    events.length = 0
    expect(await client.backchannelLogout(token)).toEqual({ sessionsEnded: 2 })
    expect(await live(first.sessionId)).toBe(false)
    expect(await live(second.sessionId)).toBe(false)
    expect(await live(elsewhere.sessionId)).toBe(true)
    expect(events).toEqual([expect.objectContaining({ type: 'backchannel_logout', outcome: 'ended', sessions: 2, token: expect.stringMatching(/^[0-9a-f]{6}$/), sid: expect.stringMatching(/^[0-9a-f]{6}$/) })])
    expect(JSON.stringify(events)).not.toContain(token)
    expect(JSON.stringify(events)).not.toContain('sid-1')
  })

  it('§2.6 step 10: a replayed token is refused, and ends nothing it did not end the first time', async () => {
    const token = await logoutToken()
    await client.backchannelLogout(token)
    const later = await login(fake, client)
    await expect(client.backchannelLogout(token)).rejects.toThrow(/used before/)
    expect(await live(later.sessionId)).toBe(true)
  })

  it('§2.6: a token without sid ends every session of its sub', async () => {
    const session = await login(fake, client)
    expect((await client.backchannelLogout(await logoutToken({ sid: undefined }))).sessionsEnded).toBeGreaterThanOrEqual(1)
    expect(await live(session.sessionId)).toBe(false)
  })

  const foreign = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  it.each<[string, () => Promise<string>, RegExp]>([
    ['a key that is not the server\'s', () => logoutToken({}, {}, foreign), /signature does not verify/],
    ['another issuer', () => logoutToken({ iss: 'https://evil.test' }), /iss is not as expected/],
    ['another audience', () => logoutToken({ aud: 'someone-else' }), /aud is not as expected/],
    ['an expired token', () => logoutToken({ exp: fake.now - 1 }), /expired/],
    ['an iat far in the past', () => logoutToken({ iat: fake.now - 3600 }), /iat/],
    ['no exp', () => logoutToken({ exp: undefined }), /exp is missing/],
    ['no jti', () => logoutToken({ jti: undefined }), /jti is missing/],
    ['typ JWT (an ID token\'s)', () => logoutToken({}, { typ: 'JWT' }), /not typed logout\+jwt/],
    ['no events', () => logoutToken({ events: undefined }), /no back-channel logout event/],
    ['another event', () => logoutToken({ events: { 'http://schemas.openid.net/event/other': {} } }), /no back-channel logout event/],
    ['an event that is not an object', () => logoutToken({ events: { [BACKCHANNEL_LOGOUT_EVENT]: 'yes' } }), /no back-channel logout event/],
    ['neither sid nor sub', () => logoutToken({ sid: undefined, sub: undefined }), /neither a sid nor a sub/],
    ['a sid that is not a string', () => logoutToken({ sid: 7 }), /must be strings/],
    ['a nonce (an ID token in disguise)', () => logoutToken({ nonce: 'n' }), /no nonce/],
    ['alg none', async () => `${Buffer.from('{"alg":"none","typ":"logout+jwt"}').toString('base64url')}.${(await logoutToken()).split('.')[1]}.`, /fails validation/],
    ['not a JWT', async () => 'not.a.jwt', /fails validation/],
  ])('§2.6: refuses %s, and ends no session', async (_name, make, message) => {
    const session = await login(fake, client)
    const error = await client.backchannelLogout(await make()).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(LogoutTokenError)
    expect((error as LogoutTokenError).code).toBe('INVALID_LOGOUT_TOKEN')
    expect((error as Error).message).toMatch(message)
    expect(await live(session.sessionId)).toBe(true)
  })

  it('§2.8: the handler\'s route answers 200, 400 with an OAuth error, and never reads a token from anywhere but the form', async () => {
    const handler = new AuthHandler({ client })
    const post = (body: string, type = 'application/x-www-form-urlencoded') =>
      handler.handle(new Request('https://rp.test/backchannel-logout', { method: 'POST', headers: { 'content-type': type }, body }))
    await login(fake, client)
    const ok = await post(new URLSearchParams({ logout_token: await logoutToken() }).toString())
    expect(ok?.status).toBe(200)
    expect(ok?.headers.get('cache-control')).toBe('no-store')
    const bad = await post(new URLSearchParams({ logout_token: await logoutToken({ nonce: 'n' }) }).toString())
    expect(bad?.status).toBe(400)
    expect(await bad?.json()).toEqual({ error: 'invalid_request', error_description: 'a logout token carries no nonce' })
    expect((await post(''))?.status).toBe(400)
    expect((await post(`logout_token=a&logout_token=b`))?.status).toBe(400)
    expect((await post(JSON.stringify({ logout_token: await logoutToken() }), 'application/json'))?.status).toBe(400)
    expect((await post(`logout_token=${'a'.repeat(40_000)}`))?.status).toBe(400)
    // A GET is not the route: left to the app.
    expect(await handler.handle(new Request('https://rp.test/backchannel-logout'))).toBeUndefined()
  })

  it('the Fastify plugin and the Express middleware take the logout token from the form body', async () => {
    const fastify = (await import('fastify')).default()
    const { authcode: fastifyAuthcode } = await import('../src/fastify/index.js')
    await fastify.register(fastifyAuthcode, { client })
    const session = await login(fake, client)
    const answer = await fastify.inject({
      method: 'POST',
      url: '/backchannel-logout',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ logout_token: await logoutToken() }).toString(),
    })
    expect(answer.statusCode).toBe(200)
    expect(await live(session.sessionId)).toBe(false)
    const refused = await fastify.inject({ method: 'POST', url: '/backchannel-logout', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'logout_token=x' })
    expect(refused.statusCode).toBe(400)
    await fastify.close()

    // Express without a body parser of the app's: the middleware reads the stream itself.
    const web = express()
    web.use(authcode({ client }))
    const listening = await new Promise<Server>((resolve) => {
      const started = web.listen(0, '127.0.0.1', () => resolve(started))
    })
    try {
      const again = await login(fake, client)
      const { port } = listening.address() as { port: number }
      const posted = await fetch(`http://127.0.0.1:${port}/backchannel-logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: await logoutToken() }).toString(),
      })
      expect(posted.status).toBe(200)
      expect(await live(again.sessionId)).toBe(false)
      const huge = await fetch(`http://127.0.0.1:${port}/backchannel-logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `logout_token=${'a'.repeat(40_000)}` })
      expect(huge.status).toBe(413)
    } finally {
      listening.closeAllConnections()
      await new Promise((resolve) => listening.close(resolve))
    }
  })

  it('logout() sends the browser to the end-session endpoint with client_id, id_token_hint, post_logout_redirect_uri and a fresh state', async () => {
    fake.metadata = { end_session_endpoint: `${ISSUER}/logout` }
    const withLogout = clientFor(fake, { postLogoutRedirectUri: 'https://rp.test/signed-out', onEvent: (event) => void events.push(event) })
    const session = await login(fake, withLogout)
    events.length = 0
    const { endSessionUrl, state } = await withLogout.logout(session.sessionId)
    expect(endSessionUrl?.searchParams.get('client_id')).toBe(CLIENT_ID)
    expect(endSessionUrl?.searchParams.get('id_token_hint')).toBe(session.tokens.idToken)
    expect(endSessionUrl?.searchParams.get('post_logout_redirect_uri')).toBe('https://rp.test/signed-out')
    expect(state).toMatch(/^[\w-]{43}$/)
    expect(endSessionUrl?.searchParams.get('state')).toBe(state)
    expect(events.find((event) => event.type === 'end_session')).toMatchObject({ endpoint: `${ISSUER}/logout`, clientId: CLIENT_ID, postLogoutRedirectUri: 'https://rp.test/signed-out' })
    const second = await login(fake, withLogout)
    expect((await withLogout.logout(second.sessionId)).state).not.toBe(state)
    fake.metadata = {}
  })

  it('a token store without endSessions cannot take back-channel logouts (TypeError)', async () => {
    const plain = { get: store.get.bind(store), set: store.set.bind(store), delete: store.delete.bind(store), acquireRefreshLock: store.acquireRefreshLock.bind(store), releaseRefreshLock: store.releaseRefreshLock.bind(store) }
    await expect(clientFor(fake, { tokenStore: plain }).backchannelLogout(await logoutToken())).rejects.toBeInstanceOf(TypeError)
  })
})

describe('back-channel logout from the authcode server to the Express middleware', () => {
  let server: TestServer
  let registered: TestClient
  let user: { username: string; password: string }
  let appUrl: string
  let app: Server
  const store = new MemoryTokenStore()

  beforeAll(async () => {
    server = await startServer()
    const port = await freePort()
    appUrl = `http://localhost:${port}`
    registered = await server.addClient({ redirectUris: [`${appUrl}/callback`], scope: 'openid profile', backchannelLogoutUri: `${appUrl}/backchannel-logout` })
    user = await server.addUser()
    const client = new OAuthClient({
      server: { kind: 'discovery', issuer: server.url },
      clientId: registered.clientId,
      clientSecret: registered.secret ?? '',
      redirectUri: registered.redirectUri,
      scope: 'openid profile',
      now: server.clock.now,
      tokenStore: store,
    })
    const web = express()
    // An app-wide body parser consumes the form before the middleware: the route still gets the token.
    web.use(express.urlencoded({ extended: false }))
    web.use(authcode({ client }))
    web.get('/dashboard', requireAuth(), (req, res) => {
      res.json({ sub: req.auth?.claims?.sub })
    })
    app = await new Promise<Server>((resolve) => {
      const listening = web.listen(port, '127.0.0.1', () => resolve(listening))
    })
  })
  afterAll(async () => {
    app.closeAllConnections()
    await new Promise((resolve) => app.close(resolve))
    await server.close()
  })

  it('§2.5: signing out at the server ends the app\'s session: its next page asks for a login', async () => {
    const browser = new Browser()
    const login = await browser.get(`${appUrl}/login`)
    const { callback } = await authorize(server, browser, new URL(login.headers.get('location') ?? '').search.slice(1), user)
    await browser.get(callback?.href ?? '')
    expect((await browser.get(`${appUrl}/dashboard`)).status).toBe(200)
    const sessionId = browser.cookies.get('authcode_app_session') ?? ''
    expect(await store.get(sessionKey(sessionId), server.clock.now())).toBeDefined()

    // The user signs out on the server's account page: the server POSTs a logout token to the app.
    const account = await (await browser.get(`${server.url}/account`)).text()
    expect((await browser.post(`${server.url}/account/logout`, { csrf: hiddenInput(account, 'csrf') })).status).toBe(303)
    const deadline = Date.now() + 10_000
    while ((await store.get(sessionKey(sessionId), server.clock.now())) !== undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    expect(await store.get(sessionKey(sessionId), server.clock.now())).toBeUndefined()
    const dashboard = await browser.get(`${appUrl}/dashboard`)
    expect(dashboard.status).toBe(302)
    expect(dashboard.headers.get('location')).toMatch(/^\/login\?returnTo=/)
  })
})
