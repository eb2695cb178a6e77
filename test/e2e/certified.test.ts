/**
 * What certified providers do (issue #14), driven by a certified relying party, openid-client 6:
 * pushed authorization requests (RFC 9126), DPoP-bound tokens for confidential and public clients
 * (RFC 9449), and `private_key_jwt` client authentication (RFC 7523) with keys registered inline or
 * served at a `jwks_uri`.
 */
import { createServer, type Server } from 'node:http'
import { exportJWK, generateKeyPair } from 'jose'
import * as client from 'openid-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestClient, type TestServer } from '../../packages/server/test/harness.js'
import { walkAuthorization } from '../../packages/server/test/walk.js'

interface Sent {
  url: string
  headers: Record<string, string>
  body: URLSearchParams
}

describe('openid-client 6: PAR, DPoP and private_key_jwt', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer()
  })
  afterAll(() => server.close())

  async function configure(registered: TestClient, auth: client.ClientAuth, sent: Sent[] = []): Promise<client.Configuration> {
    const config = await client.discovery(new URL(server.url), registered.clientId, registered.secret ?? undefined, auth, { execute: [client.allowInsecureRequests] })
    config[client.customFetch] = (url, options) => {
      const body = typeof options.body === 'string' ? options.body : options.body instanceof URLSearchParams ? options.body.toString() : ''
      sent.push({ url, headers: options.headers, body: new URLSearchParams(body) })
      return fetch(url, options as RequestInit)
    }
    return config
  }

  /** Signs in through `url` as a new user, exchanges the code; returns the tokens and the user. */
  async function signIn(config: client.Configuration, url: URL, verifier: string, state: string, dpop?: client.DPoPHandle) {
    const user = await server.addUser()
    const callback = await walkAuthorization(server.url, url.href, user)
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, idTokenExpected: true }, undefined, dpop === undefined ? {} : { DPoP: dpop })
    return { tokens, user }
  }

  async function authorizationParams(registered: TestClient) {
    const verifier = client.randomPKCECodeVerifier()
    const state = client.randomState()
    const params = {
      redirect_uri: registered.redirectUri,
      scope: 'openid profile',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    }
    return { verifier, state, params }
  }

  it('discovery advertises each of them', async () => {
    const metadata = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>
    expect(metadata).toMatchObject({
      pushed_authorization_request_endpoint: `${server.url}/par`,
      require_pushed_authorization_requests: false,
      dpop_signing_alg_values_supported: expect.arrayContaining(['ES256', 'EdDSA', 'RS256']),
      token_endpoint_auth_methods_supported: expect.arrayContaining(['private_key_jwt']),
      token_endpoint_auth_signing_alg_values_supported: expect.arrayContaining(['ES256', 'RS256']),
    })
  })

  it('PAR (RFC 9126): the request is pushed with client authentication and the browser carries only client_id and request_uri', async () => {
    const registered = await server.addClient({ redirectUris: ['https://rp.test/par'], requirePar: true })
    const sent: Sent[] = []
    const config = await configure(registered, client.ClientSecretBasic(registered.secret ?? ''), sent)
    const { verifier, state, params } = await authorizationParams(registered)
    const url = await client.buildAuthorizationUrlWithPAR(config, params)
    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri'])
    expect(url.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/)
    expect(sent[0]?.url).toBe(`${server.url}/par`)
    const { tokens } = await signIn(config, url, verifier, state)
    expect(tokens.scope).toBe('openid profile')
  })

  it('DPoP (RFC 9449), confidential client: the access token is bound (cnf.jkt), userinfo takes it with a proof, introspection says so', async () => {
    const registered = await server.addClient({ redirectUris: ['https://rp.test/dpop'] })
    const config = await configure(registered, client.ClientSecretBasic(registered.secret ?? ''))
    const dpop = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'))
    const { verifier, state, params } = await authorizationParams(registered)
    const { tokens, user } = await signIn(config, client.buildAuthorizationUrl(config, params), verifier, state, dpop)
    expect(tokens.token_type.toLowerCase()).toBe('dpop')
    const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1] ?? '', 'base64url').toString()) as { cnf?: { jkt?: string } }
    expect(claims.cnf?.jkt).toMatch(/^[\w-]{43}$/)
    expect(await client.fetchUserInfo(config, tokens.access_token, user.id, { DPoP: dpop })).toMatchObject({ sub: user.id })
    const introspected = await client.tokenIntrospection(config, tokens.access_token)
    expect(introspected).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt: claims.cnf?.jkt } })
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token ?? '', undefined, { DPoP: dpop })
    expect(refreshed.token_type.toLowerCase()).toBe('dpop')
  })

  it('DPoP, public client: the refresh token is bound to the key; another key cannot use it', async () => {
    const registered = await server.addClient({ redirectUris: ['https://rp.test/dpop-public'], isPublic: true })
    const config = await configure(registered, client.None())
    const dpop = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'))
    const { verifier, state, params } = await authorizationParams(registered)
    const { tokens } = await signIn(config, client.buildAuthorizationUrl(config, params), verifier, state, dpop)
    const thief = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'))
    await expect(client.refreshTokenGrant(config, tokens.refresh_token ?? '', undefined, { DPoP: thief })).rejects.toMatchObject({ error: 'invalid_grant' })
    await expect(client.refreshTokenGrant(config, tokens.refresh_token ?? '')).rejects.toMatchObject({ error: 'invalid_grant' })
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token ?? '', undefined, { DPoP: dpop })
    expect(refreshed.token_type.toLowerCase()).toBe('dpop')
  })

  it('DPoP with PAR: the pushed proof binds the code (dpop_jkt); the exchange must prove the same key', async () => {
    const registered = await server.addClient({ redirectUris: ['https://rp.test/dpop-par'], requireDpop: true })
    const config = await configure(registered, client.ClientSecretPost(registered.secret ?? ''))
    const dpop = client.getDPoPHandle(config, await client.randomDPoPKeyPair('EdDSA'))
    const { verifier, state, params } = await authorizationParams(registered)
    const url = await client.buildAuthorizationUrlWithPAR(config, params, { DPoP: dpop })
    const { tokens } = await signIn(config, url, verifier, state, dpop)
    expect(tokens.token_type.toLowerCase()).toBe('dpop')
  })

  it('private_key_jwt (RFC 7523): keys registered inline', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256')
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }
    const registered = await server.addClient({ redirectUris: ['https://rp.test/pkjwt'], authMethod: 'private_key_jwt', jwks: JSON.stringify({ keys: [jwk] }) })
    expect(registered.secret).toBeNull()
    const sent: Sent[] = []
    const config = await configure(registered, client.PrivateKeyJwt({ key: privateKey, kid: 'k1' }), sent)
    const { verifier, state, params } = await authorizationParams(registered)
    const { tokens } = await signIn(config, client.buildAuthorizationUrl(config, params), verifier, state)
    expect(sent.find((request) => request.url === `${server.url}/token`)?.body.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
    expect(await client.tokenIntrospection(config, tokens.access_token)).toMatchObject({ active: true })
    await client.tokenRevocation(config, tokens.refresh_token ?? '')
  })

  describe('private_key_jwt with keys at a jwks_uri', () => {
    let jwksServer: Server
    let keys: object[] = []
    let fetches = 0
    beforeAll(async () => {
      jwksServer = createServer((_request, response) => {
        fetches++
        response.setHeader('content-type', 'application/json').end(JSON.stringify({ keys }))
      })
      await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve))
    })
    afterAll(() => new Promise<void>((resolve) => jwksServer.close(() => resolve())))

    it('the keys are fetched, cached, and fetched again for an unknown kid (a rotated client key)', async () => {
      const first = await generateKeyPair('RS256')
      keys = [{ ...(await exportJWK(first.publicKey)), kid: 'one', alg: 'RS256' }]
      const { port } = jwksServer.address() as { port: number }
      const registered = await server.addClient({ redirectUris: ['https://rp.test/jwks-uri'], authMethod: 'private_key_jwt', jwksUri: `http://127.0.0.1:${port}/jwks` })
      const firstConfig = await configure(registered, client.PrivateKeyJwt({ key: first.privateKey, kid: 'one' }))
      let { verifier, state, params } = await authorizationParams(registered)
      await signIn(firstConfig, client.buildAuthorizationUrl(firstConfig, params), verifier, state)
      expect(fetches).toBe(1)

      const second = await generateKeyPair('ES256')
      keys = [...keys, { ...(await exportJWK(second.publicKey)), kid: 'two', alg: 'ES256' }]
      // Within the cooldown an unknown kid fetches nothing (a flood of bad kids cannot hammer the client's server)…
      const early = await configure(registered, client.PrivateKeyJwt({ key: second.privateKey, kid: 'two' }))
      ;({ verifier, state, params } = await authorizationParams(registered))
      await expect(signIn(early, client.buildAuthorizationUrl(early, params), verifier, state)).rejects.toMatchObject({ status: 401 })
      expect(fetches).toBe(1)
      // …after it, the set is fetched again and the new key works.
      server.clock.advance(31)
      const secondConfig = await configure(registered, client.PrivateKeyJwt({ key: second.privateKey, kid: 'two' }))
      ;({ verifier, state, params } = await authorizationParams(registered))
      await signIn(secondConfig, client.buildAuthorizationUrl(secondConfig, params), verifier, state)
      expect(fetches).toBe(2)
    })
  })
})
