/**
 * PAR (RFC 9126), DPoP (RFC 9449) and private_key_jwt (RFC 7523) through `OAuthClient`, against our
 * own authorization server on an ephemeral port: a registration that requires PAR, one that requires
 * DPoP (with and without server nonces, confidential and public), one that authenticates by key.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authorize, Browser, postForm, startServer, type TestClient, type TestServer } from '../../server/test/harness.js'
import { OAuthClient } from '../src/client.js'
import type { ClientOptions } from '../src/config/options.js'
import { sessionKey } from '../src/internal/context.js'
import { MemoryTokenStore } from '../src/storage/memory.js'

interface Sent {
  url: string
  headers: Headers
  body: URLSearchParams
}

/** A `fetch` that records what the client sends. */
function recording(sent: Sent[]): NonNullable<ClientOptions['fetch']> {
  return (url, init) => {
    const body = init.body instanceof URLSearchParams ? init.body : new URLSearchParams(typeof init.body === 'string' ? init.body : '')
    sent.push({ url, headers: new Headers(init.headers), body })
    return fetch(url, init)
  }
}

/**
 * A `fetch` that notes the path of each request with a DPoP proof, and of each answer that refuses
 * one for want of a server nonce (RFC 9449 §8: `use_dpop_nonce`, in the body or the challenge).
 */
function nonceRefusals(proofs: string[], refused: string[]): NonNullable<ClientOptions['fetch']> {
  return async (url, init) => {
    const response = await fetch(url, init)
    if (new Headers(init.headers).has('dpop')) proofs.push(new URL(url).pathname)
    const challenged = /use_dpop_nonce/.test(response.headers.get('www-authenticate') ?? '')
    const body = response.status === 400 ? ((await response.clone().json()) as { error?: unknown }) : undefined
    if (challenged || body?.error === 'use_dpop_nonce') refused.push(new URL(url).pathname)
    return response
  }
}

function newClient(server: TestServer, registered: TestClient, options: Partial<ClientOptions> = {}): OAuthClient {
  return new OAuthClient({
    server: { kind: 'discovery', issuer: server.url },
    clientId: registered.clientId,
    ...(registered.secret === null ? {} : { clientSecret: registered.secret }),
    ...(registered.record.tokenEndpointAuthMethod === 'none' ? { tokenEndpointAuthMethod: 'none' as const } : {}),
    redirectUri: registered.redirectUri,
    scope: 'openid profile',
    now: server.clock.now,
    ...options,
  })
}

/** Logs a new user in through the server's pages; returns the redirect it started with and the result. */
async function logIn(server: TestServer, client: OAuthClient) {
  const user = await server.addUser()
  const { url, loginId } = await client.buildAuthorizationUrl()
  const { callback } = await authorize(server, new Browser(), url.search.slice(1), user)
  if (callback === undefined) throw new Error('the server did not redirect back')
  const result = await client.handleCallback({ loginId, url: callback })
  return { url, result }
}

describe('PAR, DPoP and private_key_jwt through OAuthClient', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer()
  })
  afterAll(() => server.close())

  describe('PAR (RFC 9126)', () => {
    it('a registration that requires PAR: the redirect carries only client_id and request_uri, and the login completes', async () => {
      const registered = await server.addClient({ redirectUris: ['https://rp.test/par'], requirePar: true })
      const sent: Sent[] = []
      const client = newClient(server, registered, { pushedAuthorizationRequests: 'always', fetch: recording(sent) })
      const { url, result } = await logIn(server, client)
      expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri'])
      expect(url.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/)
      const push = sent.find((s) => s.url === `${server.url}/par`)
      expect(push?.body.get('code_challenge_method')).toBe('S256')
      expect(push?.headers.get('authorization')).toMatch(/^Basic /)
      expect(result.claims).toMatchObject({ iss: server.url, aud: registered.clientId })
      expect(await client.userinfo(result.sessionId)).toMatchObject({ sub: result.claims?.sub })
    })

    it('without PAR the same registration is refused at /authorize (invalid_request back to the app)', async () => {
      const registered = await server.addClient({ redirectUris: ['https://rp.test/par-refused'], requirePar: true })
      const client = newClient(server, registered, { pushedAuthorizationRequests: 'never' })
      const { url } = await client.buildAuthorizationUrl()
      expect(url.searchParams.has('request_uri')).toBe(false)
      const page = await new Browser().get(url.href)
      expect(page.status).toBe(302)
      const back = new URL(page.headers.get('location') ?? '')
      expect(`${back.origin}${back.pathname}`).toBe('https://rp.test/par-refused')
      expect(back.searchParams.get('error')).toBe('invalid_request')
    })

    it("'always' against a server without a PAR endpoint fails before any redirect", async () => {
      const registered = await server.addClient({ redirectUris: ['https://rp.test/par-none'] })
      const client = new OAuthClient({
        server: { kind: 'endpoints', issuer: server.url, authorizationEndpoint: `${server.url}/authorize`, tokenEndpoint: `${server.url}/token` },
        clientId: registered.clientId,
        clientSecret: registered.secret ?? '',
        redirectUri: registered.redirectUri,
        pushedAuthorizationRequests: 'always',
      })
      await expect(client.buildAuthorizationUrl()).rejects.toMatchObject({ code: 'INVALID_RESPONSE', message: expect.stringMatching(/pushed_authorization_request_endpoint/) })
    })
  })

  describe('DPoP (RFC 9449)', () => {
    async function boundSession(target: TestServer, registered: TestClient, options: Partial<ClientOptions>) {
      const tokenStore = new MemoryTokenStore()
      const client = newClient(target, registered, { dpop: true, tokenStore, ...options })
      const { url, result } = await logIn(target, client)
      const record = await tokenStore.get(sessionKey(result.sessionId), target.clock.now())
      if (record?.dpopKey === undefined) throw new Error('no DPoP key stored with the session')
      // The private key stays on the server side: the browser sees at most its thumbprint.
      expect(url.href).not.toContain(record.dpopKey.privateJwk.d)
      expect(result.tokens.tokenType).toBe('dpop')
      expect(record.tokens.tokenType).toBe('dpop')
      return { client, tokenStore, url, result, record, dpopKey: record.dpopKey }
    }

    async function checkBinding(target: TestServer, client: OAuthClient, tokenStore: MemoryTokenStore, sessionId: string) {
      const first = await tokenStore.get(sessionKey(sessionId), target.clock.now())
      expect(await client.userinfo(sessionId)).toMatchObject({ sub: first?.claims?.sub })
      expect((await client.fetch(sessionId, `${target.url}/userinfo`)).status).toBe(200)
      // RFC 9449 §7.2: the bound token presented as Bearer is refused.
      const replay = await fetch(`${target.url}/userinfo`, { headers: { authorization: `Bearer ${first?.tokens.accessToken}` } })
      expect(replay.status).toBe(401)

      // A refresh with the same key: a new DPoP-bound token, the key kept.
      target.clock.advance(560)
      const refreshed = await client.getAccessToken(sessionId)
      expect(refreshed).not.toBe(first?.tokens.accessToken)
      const after = await tokenStore.get(sessionKey(sessionId), target.clock.now())
      expect(after?.tokens.tokenType).toBe('dpop')
      expect(after?.dpopKey).toEqual(first?.dpopKey)
      expect(await client.userinfo(sessionId)).toMatchObject({ sub: first?.claims?.sub })
    }

    it('a confidential client: the code is bound by dpop_jkt, tokens are DPoP-bound, refresh and UserInfo use the session key, Bearer replay fails', async () => {
      const registered = await server.addClient({ redirectUris: ['https://rp.test/dpop'], requireDpop: true })
      const { client, tokenStore, url, result } = await boundSession(server, registered, {})
      expect(url.searchParams.get('dpop_jkt')).toMatch(/^[\w-]{43}$/)
      await checkBinding(server, client, tokenStore, result.sessionId)
    })

    it('with PAR: the proof on the push binds the code; each login has its own key', async () => {
      const registered = await server.addClient({ redirectUris: ['https://rp.test/dpop-par'], requireDpop: true, requirePar: true })
      const sent: Sent[] = []
      const { client, tokenStore, url, result, dpopKey } = await boundSession(server, registered, { pushedAuthorizationRequests: 'always', fetch: recording(sent) })
      expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri'])
      expect(sent.find((s) => s.url === `${server.url}/par`)?.headers.get('dpop')).toMatch(/^ey/)
      const second = await logIn(server, client)
      expect((await tokenStore.get(sessionKey(second.result.sessionId), server.clock.now()))?.dpopKey?.privateJwk.x).not.toBe(dpopKey.privateJwk.x)
      await checkBinding(server, client, tokenStore, result.sessionId)
    })

    it('a public client', async () => {
      const registered = await server.addClient({ redirectUris: ['https://rp.test/dpop-public'], requireDpop: true, isPublic: true })
      const { client, tokenStore, result } = await boundSession(server, registered, {})
      await checkBinding(server, client, tokenStore, result.sessionId)
    })

    it('a server that requires nonces: a proof without one is refused (use_dpop_nonce) and retried once with the nonce', async () => {
      const strict = await startServer({ dpop: { requireNonce: true } })
      try {
        const registered = await strict.addClient({ redirectUris: ['https://rp.test/dpop-nonce'], requireDpop: true, requirePar: true })
        const sent: Sent[] = []
        const { client, tokenStore, result } = await boundSession(strict, registered, { pushedAuthorizationRequests: 'always', fetch: recording(sent) })
        const pushes = sent.filter((s) => s.url === `${strict.url}/par`)
        expect(pushes.length).toBe(2)
        await checkBinding(strict, client, tokenStore, result.sessionId)
      } finally {
        await strict.close()
      }
    })

    it('a server that requires nonces: the client keeps its latest nonce, so only its first proof and a stale nonce are refused', async () => {
      const strict = await startServer({ dpop: { requireNonce: true } })
      try {
        const registered = await strict.addClient({ redirectUris: ['https://rp.test/dpop-kept-nonce'], requireDpop: true, requirePar: true })
        const refused: string[] = []
        const proofs: string[] = []
        const client = newClient(strict, registered, { dpop: true, pushedAuthorizationRequests: 'always', fetch: nonceRefusals(proofs, refused) })
        const { result } = await logIn(strict, client)
        await client.refresh(result.sessionId)
        await client.refresh(result.sessionId)
        expect((await client.fetch(result.sessionId, `${strict.url}/userinfo`)).status).toBe(200)
        expect(await client.userinfo(result.sessionId)).toMatchObject({ sub: result.claims?.sub })
        // Another login has another key: the nonce belongs to the server, not to the key (RFC 9449 §8).
        await logIn(strict, client)
        expect(proofs).toEqual(['/par', '/par', '/token', '/token', '/token', '/userinfo', '/userinfo', '/par', '/token'])
        expect(refused).toEqual(['/par'])

        // Two nonce windows later the kept nonce is stale: refused once, retried once with the new one.
        strict.clock.advance(600)
        proofs.length = 0
        await client.refresh(result.sessionId)
        expect(refused).toEqual(['/par', '/token'])
        expect(proofs).toEqual(['/token', '/token', '/token'])
      } finally {
        await strict.close()
      }
    })

    it('sessions without a key stay Bearer', async () => {
      const registered = await server.addClient({ redirectUris: ['https://rp.test/bearer'] })
      const tokenStore = new MemoryTokenStore()
      const client = newClient(server, registered, { tokenStore })
      const { url, result } = await logIn(server, client)
      expect(url.searchParams.has('dpop_jkt')).toBe(false)
      expect(result.tokens.tokenType).toBe('bearer')
      expect((await tokenStore.get(sessionKey(result.sessionId), server.clock.now()))?.dpopKey).toBeUndefined()
      expect(await client.userinfo(result.sessionId)).toMatchObject({ sub: result.claims?.sub })
    })
  })

  describe('private_key_jwt (RFC 7523)', () => {
    it('a JWK: the code exchange, the refresh and the revocation authenticate with an assertion, never a secret', async () => {
      const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
      const publicJwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }
      const privateJwk = { ...(await exportJWK(privateKey)), kid: 'k1' }
      const registered = await server.addClient({ redirectUris: ['https://rp.test/pkjwt'], authMethod: 'private_key_jwt', jwks: JSON.stringify({ keys: [publicJwk] }) })
      expect(registered.secret).toBeNull()
      const sent: Sent[] = []
      const tokenStore = new MemoryTokenStore()
      const client = newClient(server, registered, { clientAuthentication: { method: 'private_key_jwt', privateKey: privateJwk }, fetch: recording(sent), tokenStore })
      const { result } = await logIn(server, client)
      server.clock.advance(560)
      await client.getAccessToken(result.sessionId)
      const refreshToken = (await tokenStore.get(sessionKey(result.sessionId), server.clock.now()))?.tokens.refreshToken ?? ''
      expect(await client.revoke(result.sessionId)).toBe(true)

      const authenticated = sent.filter((s) => s.url === `${server.url}/token` || s.url === `${server.url}/revoke`)
      expect(authenticated.map((s) => s.body.get('grant_type') ?? 'revoke')).toEqual(['authorization_code', 'refresh_token', 'revoke'])
      for (const request of authenticated) {
        expect(request.headers.get('authorization')).toBeNull()
        expect(request.body.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
        const header = JSON.parse(Buffer.from(String(request.body.get('client_assertion')).split('.')[0] ?? '', 'base64url').toString()) as Record<string, unknown>
        expect(header).toMatchObject({ alg: 'ES256', kid: 'k1' })
      }
      // Revoked at the server: the refresh token no longer works, even with a valid assertion.
      const assertion = await new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(registered.clientId)
        .setSubject(registered.clientId)
        .setAudience(server.url)
        .setIssuedAt(server.clock.now())
        .setExpirationTime(server.clock.now() + 60)
        .sign(privateKey)
      const reuse = await postForm(`${server.url}/token`, {
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: registered.clientId,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      })
      expect(await reuse.json()).toMatchObject({ error: 'invalid_grant' })
    })

    it('a KeyObject (RSA, RS256 by default) with DPoP and PAR together', async () => {
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
      const publicJwk = { ...publicKey.export({ format: 'jwk' }), kid: 'rsa-1' }
      const registered = await server.addClient({ redirectUris: ['https://rp.test/pkjwt-rsa'], authMethod: 'private_key_jwt', jwks: JSON.stringify({ keys: [publicJwk] }), requirePar: true, requireDpop: true })
      const tokenStore = new MemoryTokenStore()
      const client = newClient(server, registered, { clientAuthentication: { method: 'private_key_jwt', privateKey, kid: 'rsa-1' }, pushedAuthorizationRequests: 'always', dpop: true, tokenStore })
      const { result } = await logIn(server, client)
      expect(result.tokens.tokenType).toBe('dpop')
      expect(await client.userinfo(result.sessionId)).toMatchObject({ sub: result.claims?.sub })
    })

    it('a wrong key is refused by the server as invalid_client', async () => {
      const registered = await server.addClient({
        redirectUris: ['https://rp.test/pkjwt-wrong'],
        authMethod: 'private_key_jwt',
        jwks: JSON.stringify({ keys: [{ ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey)), kid: 'k' }] }),
      })
      const other = await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)
      const client = newClient(server, registered, { clientAuthentication: { method: 'private_key_jwt', privateKey: { ...other, kid: 'k' } } })
      await expect(logIn(server, client)).rejects.toMatchObject({ code: 'TOKEN_ENDPOINT_ERROR', error: 'invalid_client' })
    })
  })

  describe('options are checked on entry', () => {
    const base = { server: { kind: 'discovery' as const, issuer: 'https://as.test' }, clientId: 'c', redirectUri: 'https://rp.test/cb' }
    it.each([
      [{ clientSecret: 's', pushedAuthorizationRequests: 'sometimes' }, /pushedAuthorizationRequests/],
      [{ clientSecret: 's', dpop: 'HS256' }, /dpop must be/],
      [{ clientSecret: 's', dpop: 'RS256' }, /dpop must be/],
      [{ clientAuthentication: { method: 'client_secret_jwt' } }, /clientAuthentication.method/],
      [{ clientAuthentication: { method: 'private_key_jwt' } }, /privateKey/],
      [{ clientAuthentication: { method: 'private_key_jwt', privateKey: { kty: 'EC', crv: 'P-256', x: 'a', y: 'b' } } }, /private JWK/],
      [{ clientAuthentication: { method: 'private_key_jwt', privateKey: generateKeyPairSync('ed25519').publicKey } }, /private key/],
      [{ clientAuthentication: { method: 'private_key_jwt', privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, alg: 'RS256' } }, /does not fit/],
      [{ clientAuthentication: { method: 'private_key_jwt', privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, alg: 'HS256' } }, /alg must be/],
      [{ clientSecret: 's', clientAuthentication: { method: 'private_key_jwt', privateKey: generateKeyPairSync('ed25519').privateKey } }, /clientSecret is set/],
      [{ tokenEndpointAuthMethod: 'private_key_jwt' }, /needs clientAuthentication/],
      [{ tokenEndpointAuthMethod: 'none', clientAuthentication: { method: 'private_key_jwt', privateKey: generateKeyPairSync('ed25519').privateKey } }, /needs clientAuthentication|no other/],
    ])('%j', (extra, message) => {
      expect(() => new OAuthClient({ ...base, ...(extra as Partial<ClientOptions>) })).toThrow(TypeError)
      expect(() => new OAuthClient({ ...base, ...(extra as Partial<ClientOptions>) })).toThrow(message)
    })

    it('accepts an Ed25519 KeyObject (EdDSA by default) and dpop algorithms', () => {
      const client = new OAuthClient({ ...base, clientAuthentication: { method: 'private_key_jwt', privateKey: generateKeyPairSync('ed25519').privateKey }, dpop: 'EdDSA' })
      expect(client.config).toMatchObject({ authMethod: 'private_key_jwt', dpop: 'EdDSA', pushedAuthorizationRequests: 'auto', privateKey: { alg: 'EdDSA', kid: undefined } })
    })
  })
})
