/**
 * A real third-party relying party, `openid-client` 6, logs out through the server (issue #14):
 * it discovers `end_session_endpoint`, builds the end-session URL (`buildEndSessionUrl`: the
 * `id_token_hint`, `post_logout_redirect_uri` and `state`), and the browser that follows it comes
 * back to the registered URI with the state, signed out; the server's back-channel logout token
 * reaches the client's receiver, whose validation (with the JWKS the library discovered) passes.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import * as client from 'openid-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Browser, locationOf, startServer, type TestServer } from '../../packages/server/test/harness.js'
import { walkAuthorization } from '../../packages/server/test/walk.js'

const POST_LOGOUT = 'https://rp.test/signed-out'

describe('openid-client 6: RP-Initiated Logout 1.0 and Back-Channel Logout 1.0 against the server', () => {
  let server: TestServer
  let receiver: Server
  let receiverUrl: string
  const logoutTokens: string[] = []

  beforeAll(async () => {
    server = await startServer()
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = []
      request.on('data', (chunk: Buffer) => chunks.push(chunk))
      request.on('end', () => {
        const token = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('logout_token')
        if (token !== null) logoutTokens.push(token)
        response.writeHead(200).end()
      })
    })
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/backchannel-logout`
  })
  afterAll(async () => {
    await server.close()
    await new Promise((resolve) => receiver.close(resolve))
  })

  it('buildEndSessionUrl: the browser comes back to the registered URI with state, signed out; the back-channel logout token verifies', async () => {
    const registered = await server.addClient({
      name: 'openid-client logout',
      redirectUris: ['https://rp.test/callback'],
      postLogoutRedirectUris: [POST_LOGOUT],
      backchannelLogoutUri: receiverUrl,
    })
    const user = await server.addUser()
    const config = await client.discovery(new URL(server.url), registered.clientId, registered.secret ?? undefined, undefined, {
      execute: [client.allowInsecureRequests],
    })
    const metadata = config.serverMetadata()
    expect(metadata.end_session_endpoint).toBe(`${server.url}/logout`)
    expect(metadata.backchannel_logout_supported).toBe(true)
    expect(metadata.backchannel_logout_session_supported).toBe(true)

    const signIn = async (browser: Browser) => {
      const codeVerifier = client.randomPKCECodeVerifier()
      const state = client.randomState()
      const nonce = client.randomNonce()
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: registered.redirectUri,
        scope: 'openid profile',
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      })
      const callback = await walkAuthorization(server.url, url.href, user, browser)
      return { url, tokens: await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce }) }
    }

    const browser = new Browser()
    const { url, tokens } = await signIn(browser)
    const sid = tokens.claims()?.sid
    expect(sid).toEqual(expect.any(String))

    // RP-Initiated Logout §2, as the library builds it.
    const state = client.randomState()
    const endSession = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token ?? '', post_logout_redirect_uri: POST_LOGOUT, state })
    expect(endSession.href.startsWith(`${server.url}/logout?`)).toBe(true)
    const response = await browser.get(endSession.href)
    expect(response.status).toBe(303)
    const back = new URL(locationOf(response, server.url))
    expect(`${back.origin}${back.pathname}`).toBe(POST_LOGOUT)
    expect(back.searchParams.get('state')).toBe(state)

    // Signed out at the server: the same authorization request now asks for the password.
    const again = await browser.get(url.href)
    const login = await browser.get(locationOf(again, server.url))
    expect(await login.text()).toContain('name="password"')

    // Back-Channel Logout §2.6, validated as an RP must: signature with the discovered JWKS, iss,
    // aud, iat, typ, the event, sid, and no nonce.
    const deadline = Date.now() + 10_000
    while (logoutTokens.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    expect(logoutTokens).toHaveLength(1)
    const { payload, protectedHeader } = await jwtVerify(logoutTokens[0] ?? '', createRemoteJWKSet(new URL(metadata.jwks_uri ?? '')), {
      issuer: server.url,
      audience: registered.clientId,
      typ: 'logout+jwt',
      requiredClaims: ['iat', 'exp', 'jti', 'events'],
      currentDate: new Date(server.clock.now() * 1000),
    })
    expect(protectedHeader.alg).toBe('RS256')
    expect(payload).toMatchObject({ sid, sub: user.id, events: { 'http://schemas.openid.net/event/backchannel-logout': {} } })
    expect(payload).not.toHaveProperty('nonce')
  })
})
