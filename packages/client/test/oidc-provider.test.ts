/**
 * The client against a real third-party OpenID Provider, oidc-provider 9 (panva's certified
 * server), in this process: discovery, login and consent through its own (development) pages, the
 * callback with state, iss, PKCE and nonce, the ID token, userinfo, refresh and logout.
 */
import { createServer, type Server } from 'node:http'
import Provider from 'oidc-provider'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { OAuthClient } from '../src/index.js'
import { Browser, freePort, locationOf } from '../../server/test/harness.js'

const CLIENT_ID = 'authcode-rp'
const CLIENT_SECRET = 'a-client-secret-long-enough-for-oidc-provider'

describe('@authcode/client against oidc-provider', () => {
  let issuer: string
  let http: Server
  const redirectUri = 'http://localhost:3999/callback'

  beforeAll(async () => {
    const port = await freePort()
    issuer = `http://localhost:${port}`
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          redirect_uris: [redirectUri],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_basic',
        },
      ],
      features: { revocation: { enabled: true }, devInteractions: { enabled: true } },
      issueRefreshToken: async () => true,
      claims: { openid: ['sub'], profile: ['name'] },
      findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub, name: 'Olivia Provider' }) }),
      cookies: { keys: ['a cookie signing key for the test provider'] },
    })
    http = createServer(provider.callback())
    await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve))
  })

  afterAll(async () => {
    await new Promise((resolve) => http?.close(resolve))
  })

  /** Walks oidc-provider's development login and consent pages; returns the redirect to the client. */
  async function walk(start: URL): Promise<URL> {
    const browser = new Browser()
    let response = await browser.get(start.href)
    for (let step = 0; step < 12; step++) {
      if (response.status >= 300 && response.status < 400) {
        const next = locationOf(response, issuer)
        if (!next.startsWith(issuer)) return new URL(next)
        response = await browser.get(next)
        continue
      }
      const html = await response.text()
      const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1]
      const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1]
      if (action === undefined || prompt === undefined) throw new Error(`unexpected page ${response.status}: ${html.slice(0, 200)}`)
      const form: Record<string, string> = prompt === 'login' ? { prompt, login: 'olivia', password: 'any' } : { prompt }
      response = await browser.post(new URL(action.replaceAll('&amp;', '&'), issuer).href, form)
    }
    throw new Error('the provider did not redirect back in 12 steps')
  }

  it('OIDC Core §3.1 / RFC 9207: discovery, login, callback, ID token, userinfo, refresh, logout', async () => {
    const client = new OAuthClient({
      server: { kind: 'discovery', issuer },
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUri,
      scope: 'openid profile',
    })
    const { url, loginId } = await client.buildAuthorizationUrl()
    expect(url.searchParams.get('code_challenge_method')).toBe('S256')
    const callback = await walk(url)
    expect(callback.searchParams.get('iss')).toBe(issuer)

    const result = await client.handleCallback({ loginId, url: callback })
    expect(result.claims).toMatchObject({ iss: issuer, sub: 'olivia', aud: CLIENT_ID })
    expect(await client.userinfo(result.sessionId)).toMatchObject({ sub: 'olivia', name: 'Olivia Provider' })

    const before = await client.getAccessToken(result.sessionId)
    await client.refresh(result.sessionId)
    const after = await client.getAccessToken(result.sessionId)
    expect(after).not.toBe(before)
    expect(await client.userinfo(result.sessionId)).toMatchObject({ sub: 'olivia' })

    const logout = await client.logout(result.sessionId)
    expect(logout.revoked).toBe(true)
    await expect(client.getAccessToken(result.sessionId)).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' })
  })

  it('RFC 6749 §10.12: a callback whose state was tampered with is refused before any token request', async () => {
    const client = new OAuthClient({ server: { kind: 'discovery', issuer }, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUri, scope: 'openid' })
    const { url, loginId } = await client.buildAuthorizationUrl()
    const callback = await walk(url)
    callback.searchParams.set('state', 'forged')
    await expect(client.handleCallback({ loginId, url: callback })).rejects.toMatchObject({ code: 'STATE_MISMATCH' })
  })
})
