/**
 * OIDC Core §11 with a real relying party, openid-client 6: a client registered for
 * `offline_access` asks for it with `prompt=consent`, the user is asked, and the grant (and its
 * refresh token) says offline access; asked for without `prompt=consent` it is ignored and the rest
 * of the request goes on.
 */
import * as client from 'openid-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from '../../packages/server/test/harness.js'
import { walkAuthorization } from '../../packages/server/test/walk.js'

describe('offline_access (OIDC Core §11) with openid-client 6', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer()
  })
  afterAll(() => server.close())

  async function signIn(prompt: string | undefined) {
    const registered = await server.addClient({ redirectUris: ['https://rp.test/callback'], scope: 'openid profile email offline_access' })
    const user = await server.addUser()
    const config = await client.discovery(new URL(server.url), registered.clientId, registered.secret ?? undefined, undefined, {
      execute: [client.allowInsecureRequests],
    })
    expect(config.serverMetadata().scopes_supported).toContain('offline_access')
    const codeVerifier = client.randomPKCECodeVerifier()
    const state = client.randomState()
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: registered.redirectUri,
      scope: 'openid offline_access',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      ...(prompt === undefined ? {} : { prompt }),
    })
    const callback = await walkAuthorization(server.url, url.href, user)
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: codeVerifier, expectedState: state, idTokenExpected: true })
    return { config, tokens }
  }

  it('with prompt=consent: granted, and the refresh token keeps it across a refresh', async () => {
    const { config, tokens } = await signIn('consent')
    expect(tokens.scope).toBe('openid offline_access')
    expect(typeof tokens.refresh_token).toBe('string')
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token ?? '')
    expect(refreshed.scope).toBe('openid offline_access')
  })

  it('without prompt=consent: ignored, the sign-in goes on with the other scopes', async () => {
    const { tokens } = await signIn(undefined)
    expect(tokens.scope).toBe('openid')
  })
})
