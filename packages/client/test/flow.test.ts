/**
 * The whole authorization code flow against our own authorization server (a real one on an
 * ephemeral port): discovery, login and consent through its pages, callback, tokens, userinfo,
 * refresh with rotation, replay of a rotated refresh token, revocation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authorize, Browser, postForm, basicAuth, startServer, type TestClient, type TestServer } from '../../server/test/harness.js'
import { OAuthClient } from '../src/client.js'
import { sessionKey } from '../src/internal/context.js'
import { MemoryTokenStore } from '../src/storage/memory.js'

let server: TestServer
let registered: TestClient
let user: { username: string; password: string }

beforeAll(async () => {
  server = await startServer()
  registered = await server.addClient({ redirectUris: ['https://rp.test/cb'], scope: 'openid profile email' })
  user = await server.addUser('alice', 'correct horse battery', { name: 'Alice Example' })
})

afterAll(async () => {
  await server.close()
})

function newClient(tokenStore = new MemoryTokenStore()): OAuthClient {
  return new OAuthClient({
    server: { kind: 'discovery', issuer: server.url },
    clientId: registered.clientId,
    clientSecret: registered.secret ?? '',
    redirectUri: registered.redirectUri,
    scope: 'openid profile email',
    now: server.clock.now,
    tokenStore,
  })
}

/** Login through the server's pages as a person would, then the client's callback. */
async function logIn(client: OAuthClient) {
  const { url, loginId } = await client.buildAuthorizationUrl({ returnTo: '/dashboard' })
  expect(url.href.startsWith(`${server.url}/authorize?`)).toBe(true)
  const { callback } = await authorize(server, new Browser(), url.search.slice(1), user)
  if (callback === undefined) throw new Error('the server did not redirect back')
  expect(callback.searchParams.get('iss')).toBe(server.url)
  return client.handleCallback({ loginId, url: `${callback.pathname}${callback.search}` })
}

describe('against the authcode server', () => {
  it('logs in, calls userinfo, refreshes with rotation and logs out', async () => {
    const store = new MemoryTokenStore()
    const client = newClient(store)
    const result = await logIn(client)
    expect(result.returnTo).toBe('/dashboard')
    expect(result.claims).toMatchObject({ iss: server.url, aud: registered.clientId })
    expect(result.tokens.refreshToken).toBeTypeOf('string')
    expect(result.tokens.expiresAt).toBe(server.clock.now() + 600)

    const info = await client.userinfo(result.sessionId)
    expect(info).toMatchObject({ sub: result.claims?.sub, name: 'Alice Example' })
    const viaHelper = await client.fetch(result.sessionId, `${server.url}/userinfo`)
    expect(viaHelper.status).toBe(200)

    // Refresh ahead of expiry; the rotated refresh token replaces the old one.
    server.clock.advance(560)
    const refreshed = await client.getAccessToken(result.sessionId)
    expect(refreshed).not.toBe(result.tokens.accessToken)
    const stored = await store.get(sessionKey(result.sessionId), server.clock.now())
    expect(stored?.tokens.refreshToken).not.toBe(result.tokens.refreshToken)
    expect((await client.userinfo(result.sessionId)).sub).toBe(result.claims?.sub)

    // Logout revokes the refresh token at the server.
    const rotated = stored?.tokens.refreshToken ?? ''
    expect(await client.logout(result.sessionId)).toMatchObject({ revoked: true })
    const reuse = await postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: rotated }, { authorization: basicAuth(registered.clientId, registered.secret ?? '') })
    expect(reuse.status).toBe(400)
    expect(await reuse.json()).toMatchObject({ error: 'invalid_grant' })
    await expect(client.getAccessToken(result.sessionId)).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' })
  })

  it('ends the session cleanly when the server revokes the refresh token family (replayed rotated token)', async () => {
    const store = new MemoryTokenStore()
    const client = newClient(store)
    const { sessionId, tokens } = await logIn(client)
    server.clock.advance(560)
    await client.getAccessToken(sessionId)
    // Someone replays the old, rotated refresh token: the server revokes the whole family.
    const replay = await postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: tokens.refreshToken ?? '' }, { authorization: basicAuth(registered.clientId, registered.secret ?? '') })
    expect(replay.status).toBe(400)
    server.clock.advance(600)
    await expect(client.getAccessToken(sessionId)).rejects.toMatchObject({ code: 'SESSION_ENDED' })
    expect(await store.get(sessionKey(sessionId), server.clock.now())).toBeUndefined()
  })

  it('refuses a forged iss with no token request, and the genuine callback after it (the attempt is burned)', async () => {
    const client = newClient()
    const { url, loginId } = await client.buildAuthorizationUrl()
    const { callback } = await authorize(server, new Browser(), url.search.slice(1), user)
    if (callback === undefined) throw new Error('no callback')
    const forged = new URL(callback)
    forged.searchParams.set('iss', 'https://evil.test')
    await expect(client.handleCallback({ loginId, url: forged })).rejects.toMatchObject({ code: 'ISSUER_MISMATCH' })
    await expect(client.handleCallback({ loginId, url: callback })).rejects.toMatchObject({ code: 'LOGIN_NOT_FOUND' })
  })
})
