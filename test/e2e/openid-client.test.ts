/**
 * A real third-party relying party, `openid-client` 6 (panva; built on the certified
 * oauth4webapi core), completes the authorization code flow against the server: discovery,
 * authorization request with state + PKCE (S256) + nonce, callback validation (state, iss per
 * RFC 9207, ID token signature and claims), userinfo, refresh with rotation, revocation and
 * introspection. Each client authentication method the server offers is driven once.
 */
import * as client from 'openid-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestClient, type TestServer } from '../../packages/server/test/harness.js'
import { walkAuthorization } from '../../packages/server/test/walk.js'

/** The login and consent pages walked as a user who approves; returns the callback URL. */
const walk = (server: TestServer, url: URL, user: { username: string; password: string }): Promise<URL> =>
  walkAuthorization(server.url, url.href, user)

interface Variant {
  title: string
  /** How the test client is registered. */
  registration: { isPublic: boolean; idTokenAlg?: 'RS256' | 'ES256' }
  /** The openid-client authentication method for the registered client. */
  auth: (secret: string | null) => client.ClientAuth | undefined
  /** How the client authenticated, read from a token request the library sent. */
  method: 'client_secret_basic' | 'client_secret_post' | 'none'
}

/** What a back-channel request carried, recorded through openid-client's `customFetch`. */
interface SentRequest {
  url: string
  authorization: string | undefined
  body: URLSearchParams
}

/** The authentication method a recorded request used (RFC 6749 §2.3.1). */
function methodOf(request: SentRequest): string {
  if (request.authorization?.startsWith('Basic ') === true) return request.body.has('client_secret') ? 'two methods' : 'client_secret_basic'
  if (request.body.has('client_secret')) return 'client_secret_post'
  return request.body.has('client_id') ? 'none' : 'no client'
}

const VARIANTS: Variant[] = [
  {
    // openid-client 6 defaults to client_secret_post when given a secret: basic is asked for by name.
    title: 'confidential client, client_secret_basic',
    registration: { isPublic: false },
    auth: (secret) => client.ClientSecretBasic(secret ?? undefined),
    method: 'client_secret_basic',
  },
  {
    title: 'confidential client, client_secret_post',
    registration: { isPublic: false },
    auth: (secret) => client.ClientSecretPost(secret ?? undefined),
    method: 'client_secret_post',
  },
  {
    title: 'public client, none (PKCE only)',
    registration: { isPublic: true },
    auth: () => client.None(),
    method: 'none',
  },
  {
    title: 'confidential client with ES256 ID tokens',
    registration: { isPublic: false, idTokenAlg: 'ES256' },
    auth: (secret) => client.ClientSecretBasic(secret ?? undefined),
    method: 'client_secret_basic',
  },
]

describe('openid-client 6 against the authorization server (OIDC Core §3.1, RFC 6749 §4.1, RFC 7636, RFC 9207)', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer()
  })
  afterAll(() => server.close())

  async function discover(registered: TestClient, variant: Variant, sent: SentRequest[]): Promise<client.Configuration> {
    const metadata: Partial<client.ClientMetadata> = {}
    if (registered.secret !== null) metadata.client_secret = registered.secret
    if (variant.registration.idTokenAlg !== undefined) metadata.id_token_signed_response_alg = variant.registration.idTokenAlg
    const config = await client.discovery(new URL(server.url), registered.clientId, metadata, variant.auth(registered.secret), {
      execute: [client.allowInsecureRequests],
    })
    config[client.customFetch] = (url, options) => {
      sent.push({
        url,
        authorization: options.headers.authorization ?? options.headers.Authorization,
        body: new URLSearchParams(typeof options.body === 'string' ? options.body : options.body instanceof URLSearchParams ? options.body : ''),
      })
      return fetch(url, options as RequestInit)
    }
    return config
  }

  for (const variant of VARIANTS) {
    it(`${variant.title}: authorize, callback, userinfo, refresh rotation, revocation, introspection`, async () => {
      const registered = await server.addClient({
        name: `openid-client ${variant.title}`,
        redirectUris: ['https://rp.test/callback'],
        isPublic: variant.registration.isPublic,
        ...(variant.registration.idTokenAlg === undefined ? {} : { idTokenAlg: variant.registration.idTokenAlg }),
      })
      const user = await server.addUser(undefined, undefined, { name: 'Ada Lovelace' })
      const sent: SentRequest[] = []
      const config = await discover(registered, variant, sent)
      expect(config.serverMetadata().issuer).toBe(server.url)
      expect(config.serverMetadata().authorization_response_iss_parameter_supported).toBe(true)

      // The authorization request, as the library builds it.
      const codeVerifier = client.randomPKCECodeVerifier()
      const state = client.randomState()
      const nonce = client.randomNonce()
      const authorizationUrl = client.buildAuthorizationUrl(config, {
        redirect_uri: registered.redirectUri,
        scope: 'openid profile email',
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      })
      expect(authorizationUrl.href.startsWith(`${server.url}/authorize?`)).toBe(true)

      const callback = await walk(server, authorizationUrl, user)
      expect(`${callback.origin}${callback.pathname}`).toBe(registered.redirectUri)
      expect(callback.searchParams.get('iss')).toBe(server.url)

      // openid-client checks state, iss, the code exchange (PKCE), and the ID token (signature with
      // the JWKS, alg, iss, aud, azp, exp, iat, nonce).
      const tokens = await client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: codeVerifier,
        expectedState: state,
        expectedNonce: nonce,
        idTokenExpected: true,
      })
      expect(tokens.token_type.toLowerCase()).toBe('bearer')
      expect(tokens.expires_in).toBe(600)
      expect(tokens.scope).toBe('openid profile email')
      expect(typeof tokens.refresh_token).toBe('string')
      const claims = tokens.claims()
      expect(claims).toMatchObject({ iss: server.url, sub: user.id, aud: registered.clientId, nonce })
      expect(typeof claims?.auth_time).toBe('number')
      const idTokenHeader = JSON.parse(Buffer.from((tokens.id_token ?? '').split('.')[0] ?? '', 'base64url').toString()) as { alg: string }
      expect(idTokenHeader.alg).toBe(variant.registration.idTokenAlg ?? 'RS256')
      const tokenRequest = sent.find((request) => request.url === `${server.url}/token`)
      expect(tokenRequest === undefined ? 'no token request' : methodOf(tokenRequest)).toBe(variant.method)
      expect(tokenRequest?.body.get('code_verifier')).toBe(codeVerifier)

      // OIDC Core §5.3: userinfo for the token's subject, with the profile and email claims.
      const info = await client.fetchUserInfo(config, tokens.access_token, user.id)
      expect(info).toMatchObject({
        sub: user.id,
        preferred_username: user.username,
        name: 'Ada Lovelace',
        email: `${user.username}@example.com`,
        email_verified: true,
      })

      // RFC 6749 §6 + RFC 9700 §4.14: a refresh returns new tokens and a new refresh token.
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token ?? '')
      expect(refreshed.access_token).not.toBe(tokens.access_token)
      expect(typeof refreshed.refresh_token).toBe('string')
      expect(refreshed.refresh_token).not.toBe(tokens.refresh_token)
      expect(refreshed.scope).toBe('openid profile email')
      expect(refreshed.claims()?.sub).toBe(user.id)
      expect((await client.fetchUserInfo(config, refreshed.access_token, user.id)).sub).toBe(user.id)

      // The rotated refresh token is dead.
      await expect(client.refreshTokenGrant(config, tokens.refresh_token ?? '')).rejects.toMatchObject({ error: 'invalid_grant' })

      // RFC 7662: confidential clients may introspect their tokens; public clients may not.
      if (registered.secret !== null) {
        // The replay above revoked the family (RFC 9700 §4.14.2): start a new one for introspection.
        const fresh = await newTokens(config, registered, user)
        const active = await client.tokenIntrospection(config, fresh.access_token)
        expect(active).toMatchObject({ active: true, client_id: registered.clientId, sub: user.id, scope: 'openid profile email', iss: server.url })
        const activeRefresh = await client.tokenIntrospection(config, fresh.refresh_token ?? '')
        expect(activeRefresh).toMatchObject({ active: true, client_id: registered.clientId, token_type: 'refresh_token' })

        // RFC 7009: revoking the refresh token revokes its family; a refresh with it fails.
        await client.tokenRevocation(config, fresh.refresh_token ?? '')
        await expect(client.refreshTokenGrant(config, fresh.refresh_token ?? '')).rejects.toMatchObject({ error: 'invalid_grant' })
        expect(await client.tokenIntrospection(config, fresh.refresh_token ?? '')).toEqual({ active: false })
        expect(await client.tokenIntrospection(config, 'not-a-token')).toEqual({ active: false })
      } else {
        const fresh = await newTokens(config, registered, user)
        await client.tokenRevocation(config, fresh.refresh_token ?? '')
        await expect(client.refreshTokenGrant(config, fresh.refresh_token ?? '')).rejects.toMatchObject({ error: 'invalid_grant' })
        // RFC 7662 §2.1: introspection needs a confidential client.
        // The 401 carries `WWW-Authenticate: Basic` (SECURITY.md 11), which openid-client surfaces as a challenge.
        const refused = await client.tokenIntrospection(config, fresh.access_token).then(
          () => undefined,
          (error: unknown) => error,
        )
        expect(refused).toBeInstanceOf(client.WWWAuthenticateChallengeError)
        expect((refused as client.WWWAuthenticateChallengeError).status).toBe(401)
        expect((refused as client.WWWAuthenticateChallengeError).cause[0]?.scheme).toBe('basic')
      }
    })
  }

  /** Another full login for the same client and user (the browser session is new, so it logs in again). */
  async function newTokens(config: client.Configuration, registered: TestClient, user: { username: string; password: string }) {
    const codeVerifier = client.randomPKCECodeVerifier()
    const state = client.randomState()
    const nonce = client.randomNonce()
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: registered.redirectUri,
      scope: 'openid profile email',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    })
    const callback = await walk(server, url, user)
    return client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce })
  }

  it('RFC 9207 §2.4: openid-client refuses a callback whose iss is not the issuer', async () => {
    const registered = await server.addClient({ redirectUris: ['https://rp.test/callback'] })
    const user = await server.addUser()
    const config = await client.discovery(new URL(server.url), registered.clientId, registered.secret ?? undefined, undefined, {
      execute: [client.allowInsecureRequests],
    })
    const codeVerifier = client.randomPKCECodeVerifier()
    const state = client.randomState()
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: registered.redirectUri,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
    })
    const callback = await walk(server, url, user)
    const forged = new URL(callback)
    forged.searchParams.set('iss', 'https://attacker.test')
    await expect(client.authorizationCodeGrant(config, forged, { pkceCodeVerifier: codeVerifier, expectedState: state })).rejects.toThrow()
    // The untouched callback still works: the forged one never reached the token endpoint.
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: codeVerifier, expectedState: state })
    expect(tokens.claims()?.sub).toBeDefined()
  })

  it('RFC 7636 §4.6: a wrong code_verifier is invalid_grant through openid-client', async () => {
    const registered = await server.addClient({ redirectUris: ['https://rp.test/callback'] })
    const user = await server.addUser()
    const config = await client.discovery(new URL(server.url), registered.clientId, registered.secret ?? undefined, undefined, {
      execute: [client.allowInsecureRequests],
    })
    const state = client.randomState()
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: registered.redirectUri,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
      state,
    })
    const callback = await walk(server, url, user)
    await expect(
      client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: client.randomPKCECodeVerifier(), expectedState: state }),
    ).rejects.toMatchObject({ error: 'invalid_grant' })
  })
})
