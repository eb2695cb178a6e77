/**
 * The token endpoint over HTTP (RFC 6749 §3.2, §4.1.3, §5; OAuth 2.1 §3.2; RFC 7636 §4.6;
 * RFC 9068; OIDC Core §3.1.3): checklist TK-01..TK-20, CD-01..CD-11, PK-08..PK-11, and
 * SECURITY.md items 9–13, 15, 23.
 */
import { createHash } from 'node:crypto'
import Database from 'better-sqlite3'
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashToken } from '../../src/tokens/secrets.js'
import {
  Browser,
  authorize,
  authorizeQuery,
  basicAuth,
  obtainTokens,
  pkcePair,
  postForm,
  startServer,
  type TestClient,
  type TestServer,
} from '../harness.js'
import { callAs, clientAuthHeaders as authOf, expectOAuthError as expectTokenError, expectTokens, introspect, refresh, type Json, type User } from '../back-channel.js'


/** RFC 6749 §5.2 error_description / error charset. */

/** Runs the authorization request in `browser` (a fresh one by default) and returns the code. */
async function codeFor(
  server: TestServer,
  client: TestClient,
  user: User,
  options: { browser?: Browser; query?: Record<string, string | undefined> } = {},
): Promise<{ code: string; verifier: string; browser: Browser; callback: URL; response: Response }> {
  const browser = options.browser ?? new Browser()
  const { verifier, challenge } = pkcePair()
  const { callback, response } = await authorize(server, browser, authorizeQuery(client, { code_challenge: challenge, ...options.query }), user)
  const code = callback?.searchParams.get('code')
  if (callback === undefined || code == null) throw new Error(`no code: ${callback?.href ?? `stopped at ${response.status}`}`)
  return { code, verifier, browser, callback, response }
}

function redeem(server: TestServer, client: TestClient, code: string, verifier: string, extra: Record<string, string> = {}): Promise<Response> {
  return callAs(server, '/token', client, { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier, ...extra })
}

function userinfo(server: TestServer, accessToken: string): Promise<Response> {
  return fetch(`${server.url}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } })
}

describe('the token endpoint', () => {
  let server: TestServer
  let client: TestClient
  let user: User
  let browser: Browser

  beforeAll(async () => {
    server = await startServer()
    client = await server.addClient()
    user = await server.addUser()
    browser = new Browser()
  })
  afterAll(() => server.close())

  /** A code for the shared client and user, in the shared (logged-in, consented) browser. */
  const freshCode = (query: Record<string, string | undefined> = {}) => codeFor(server, client, user, { browser, query })

  describe('successful responses (TK-01, TK-20)', () => {
    it('TK-01 RFC 6749 §5.1: 200 JSON with access_token, Bearer, numeric expires_in, refresh_token, id_token, scope; Cache-Control no-store and Pragma no-cache', async () => {
      const { code, verifier } = await freshCode()
      const response = await redeem(server, client, code, verifier)
      expect(response.headers.get('content-type')).toMatch(/^application\/json/)
      expect(response.headers.get('cache-control')).toBe('no-store')
      expect(response.headers.get('pragma')).toBe('no-cache')
      const tokens = await expectTokens(response)
      expect(tokens).toMatchObject({ token_type: 'Bearer', expires_in: server.config.lifetimes.accessToken, scope: 'openid profile email' })
      expect(typeof tokens.expires_in).toBe('number')
      for (const name of ['access_token', 'refresh_token', 'id_token']) expect(typeof tokens[name]).toBe('string')
    })

    it('TK-01 RFC 6749 §5.1: scope in the response is what was granted (a narrower request gives a narrower token)', async () => {
      const { code, verifier } = await freshCode({ scope: 'openid' })
      const tokens = await expectTokens(await redeem(server, client, code, verifier))
      expect(tokens.scope).toBe('openid')
      expect(decodeJwt(String(tokens.access_token)).scope).toBe('openid')
    })

    it('TK-20 RFC 6749 §2.3 / OAuth 2.1 §2.4: a public client redeems with client_id and PKCE, no secret', async () => {
      const pub = await server.addClient({ isPublic: true, redirectUris: ['https://app.test/cb'] })
      expect(pub.secret).toBeNull()
      const { code, verifier } = await codeFor(server, pub, user, { browser })
      const response = await postForm(`${server.url}/token`, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: pub.redirectUri,
        code_verifier: verifier,
        client_id: pub.clientId,
      })
      const tokens = await expectTokens(response)
      expect(tokens.token_type).toBe('Bearer')
      expect(response.headers.get('cache-control')).toBe('no-store')
    })

    it('TK-20 RFC 6749 §2.3: a public client that sends a client_secret is invalid_client', async () => {
      const pub = await server.addClient({ isPublic: true, redirectUris: ['https://app.test/cb'] })
      const { code, verifier } = await codeFor(server, pub, user, { browser })
      const form = { grant_type: 'authorization_code', code, redirect_uri: pub.redirectUri, code_verifier: verifier }
      await expectTokenError(await postForm(`${server.url}/token`, { ...form, client_id: pub.clientId, client_secret: 'anything' }), 401, 'invalid_client')
      await expectTokenError(await postForm(`${server.url}/token`, form, { authorization: basicAuth(pub.clientId, 'anything') }), 401, 'invalid_client')
      // the code survived the failed attempts
      await expectTokens(await postForm(`${server.url}/token`, { ...form, client_id: pub.clientId }))
    })

    it('TK-01 RFC 6749 §2.3.1: client_secret_post works like client_secret_basic', async () => {
      const { code, verifier } = await freshCode()
      const response = await postForm(`${server.url}/token`, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: client.redirectUri,
        code_verifier: verifier,
        client_id: client.clientId,
        client_secret: client.secret ?? '',
      })
      await expectTokens(response)
    })
  })

  describe('access and ID token contents (SECURITY.md 15)', () => {
    it('RS-10 RFC 9068 §2.1–2.2: the access token is an ES256 JWT with typ at+jwt and iss, sub, aud, client_id, scope, exp, iat, jti', async () => {
      const { code, verifier } = await freshCode()
      const tokens = await expectTokens(await redeem(server, client, code, verifier))
      const accessToken = String(tokens.access_token)
      const header = decodeProtectedHeader(accessToken)
      expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt' })
      expect(typeof header.kid).toBe('string')
      const now = server.clock.now()
      const { payload } = await jwtVerify(accessToken, createRemoteJWKSet(new URL(`${server.url}/jwks`)), {
        issuer: server.url,
        audience: server.config.accessToken.audience,
        typ: 'at+jwt',
        algorithms: ['ES256'],
        currentDate: new Date(now * 1000),
      })
      expect(payload).toMatchObject({ iss: server.url, sub: expect.any(String), client_id: client.clientId, scope: 'openid profile email', iat: now })
      expect(payload.exp).toBe(now + server.config.lifetimes.accessToken)
      expect(payload.jti).toMatch(/^[\w-]{16,}$/)
    })

    it('RFC 9068 §2.2 / OIDC Core §2: the access token sub is the ID token sub', async () => {
      const { code, verifier } = await freshCode()
      const tokens = await expectTokens(await redeem(server, client, code, verifier))
      expect(decodeJwt(String(tokens.access_token)).sub).toBe(decodeJwt(String(tokens.id_token)).sub)
    })

    it('OIDC Core §2, §3.1.3.7: the ID token is RS256 by default with iss, sub, aud, azp, exp, iat, auth_time and the nonce sent', async () => {
      const { code, verifier } = await freshCode({ nonce: 'n-0S6_WzA2Mj' })
      const tokens = await expectTokens(await redeem(server, client, code, verifier))
      const idToken = String(tokens.id_token)
      expect(decodeProtectedHeader(idToken).alg).toBe('RS256')
      const now = server.clock.now()
      const { payload } = await jwtVerify(idToken, createRemoteJWKSet(new URL(`${server.url}/jwks`)), {
        issuer: server.url,
        audience: client.clientId,
        algorithms: ['RS256'],
        currentDate: new Date(now * 1000),
      })
      expect(payload).toMatchObject({ aud: client.clientId, azp: client.clientId, nonce: 'n-0S6_WzA2Mj', iat: now })
      expect(payload.exp).toBe(now + server.config.lifetimes.idToken)
      expect(typeof payload.auth_time).toBe('number')
      expect(payload.auth_time).toBeLessThanOrEqual(now)
    })

    it('OIDC Core §3.1.2.1: without a nonce in the request the ID token has none', async () => {
      const { code, verifier } = await freshCode({ nonce: undefined })
      const tokens = await expectTokens(await redeem(server, client, code, verifier))
      expect(decodeJwt(String(tokens.id_token))).not.toHaveProperty('nonce')
    })

    it('OIDC Core §3.1.3.3: no openid scope, no ID token', async () => {
      const { code, verifier } = await freshCode({ scope: 'profile' })
      const tokens = await expectTokens(await redeem(server, client, code, verifier))
      expect(tokens).not.toHaveProperty('id_token')
      expect(tokens.scope).toBe('profile')
    })

    for (const alg of ['ES256', 'EdDSA'] as const) {
      it(`OIDC Core §3.1.3.7: a client registered for ${alg} ID tokens gets them signed with ${alg}`, async () => {
        const algClient = await server.addClient({ idTokenAlg: alg })
        const { code, verifier } = await codeFor(server, algClient, user, { browser })
        const tokens = await expectTokens(await redeem(server, algClient, code, verifier))
        const idToken = String(tokens.id_token)
        expect(decodeProtectedHeader(idToken).alg).toBe(alg)
        const { payload } = await jwtVerify(idToken, createRemoteJWKSet(new URL(`${server.url}/jwks`)), {
          issuer: server.url,
          audience: algClient.clientId,
          algorithms: [alg],
          currentDate: new Date(server.clock.now() * 1000),
        })
        expect(payload.azp).toBe(algClient.clientId)
        // the access token keeps the server's algorithm whatever the client's ID token alg
        expect(decodeProtectedHeader(String(tokens.access_token)).alg).toBe('ES256')
      })
    }

    it('OIDC Core §2: auth_time is when the user logged in, not when the code was redeemed', async () => {
      const fresh = new Browser()
      const loginTime = server.clock.now()
      await codeFor(server, client, user, { browser: fresh })
      server.clock.advance(120)
      const { code, verifier } = await codeFor(server, client, user, { browser: fresh })
      const tokens = await expectTokens(await redeem(server, client, code, verifier))
      expect(decodeJwt(String(tokens.id_token)).auth_time).toBe(loginTime)
      expect(decodeJwt(String(tokens.id_token)).iat).toBe(loginTime + 120)
    })
  })

  describe('the authorization code (CD-01..CD-11)', () => {
    it('CD-01 RFC 6749 §4.1.2: a code used a second time is 400 invalid_grant', async () => {
      const { code, verifier } = await freshCode()
      await expectTokens(await redeem(server, client, code, verifier))
      await expectTokenError(await redeem(server, client, code, verifier), 400, 'invalid_grant')
    })

    it('CD-02 RFC 6749 §4.1.2: a code reused after 30 s is invalid_grant and revokes the access and refresh tokens issued from it', async () => {
      const { code, verifier } = await freshCode()
      const tokens = await expectTokens(await redeem(server, client, code, verifier))
      const accessToken = String(tokens.access_token)
      expect((await userinfo(server, accessToken)).status).toBe(200)
      server.clock.advance(30)

      await expectTokenError(await redeem(server, client, code, verifier), 400, 'invalid_grant')

      const info = await userinfo(server, accessToken)
      expect(info.status).toBe(401)
      expect(info.headers.get('www-authenticate')).toMatch(/error="invalid_token"/)
      expect(await introspect(server, client, accessToken)).toEqual({ active: false })
      expect(await introspect(server, client, String(tokens.refresh_token))).toEqual({ active: false })
      await expectTokenError(await refresh(server, client, String(tokens.refresh_token)), 400, 'invalid_grant')
    })

    it('CD-02 RFC 6749 §4.1.2: tokens already refreshed from the code are revoked too', async () => {
      const { code, verifier } = await freshCode()
      const first = await expectTokens(await redeem(server, client, code, verifier))
      const second = await expectTokens(await refresh(server, client, String(first.refresh_token)))
      await expectTokenError(await redeem(server, client, code, verifier), 400, 'invalid_grant')
      expect((await userinfo(server, String(second.access_token))).status).toBe(401)
      await expectTokenError(await refresh(server, client, String(second.refresh_token)), 400, 'invalid_grant')
    })

    it('CD-03 OAuth 2.1 §7.5.2: a replay with a wrong code_verifier is invalid_grant and revokes nothing', async () => {
      const { code, verifier } = await freshCode()
      const tokens = await expectTokens(await redeem(server, client, code, verifier))
      await expectTokenError(await redeem(server, client, code, pkcePair().verifier), 400, 'invalid_grant')
      await expectTokenError(await redeem(server, client, code, verifier, { code_verifier: '' }), 400, 'invalid_grant')
      expect((await userinfo(server, String(tokens.access_token))).status).toBe(200)
      expect(await introspect(server, client, String(tokens.access_token))).toMatchObject({ active: true })
      await expectTokens(await refresh(server, client, String(tokens.refresh_token)))
    })

    it('CD-03 OAuth 2.1 §7.5.2: a replay with a wrong client secret, or by another client, is refused and revokes nothing', async () => {
      const other = await server.addClient()
      const { code, verifier } = await freshCode()
      const tokens = await expectTokens(await redeem(server, client, code, verifier))
      const form = { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier }
      await expectTokenError(await postForm(`${server.url}/token`, form, { authorization: basicAuth(client.clientId, 'wrong-secret') }), 401, 'invalid_client')
      await expectTokenError(await postForm(`${server.url}/token`, { ...form, client_id: client.clientId }), 401, 'invalid_client')
      await expectTokenError(await redeem(server, other, code, verifier), 400, 'invalid_grant')
      await expectTokenError(await redeem(server, client, code, verifier, { redirect_uri: 'https://rp.test/other' }), 400, 'invalid_grant')
      expect((await userinfo(server, String(tokens.access_token))).status).toBe(200)
      await expectTokens(await refresh(server, client, String(tokens.refresh_token)))
    })

    it('CD-04 RFC 6749 §4.1.2: twenty concurrent redemptions of one code give exactly one 200', async () => {
      const { code, verifier } = await freshCode()
      const responses = await Promise.all(Array.from({ length: 20 }, () => redeem(server, client, code, verifier)))
      const statuses = responses.map((r) => r.status)
      expect(statuses.filter((s) => s === 200)).toHaveLength(1)
      expect(statuses.filter((s) => s === 400)).toHaveLength(19)
      let winner: Json | undefined
      for (const response of responses) {
        if (response.status === 400) expect(((await response.json()) as Json).error).toBe('invalid_grant')
        else winner = (await response.json()) as Json
      }
      // the losers are replays of a used code: RFC 6749 §4.1.2 revokes what the winner got
      expect((await userinfo(server, String(winner?.access_token))).status).toBe(401)
      await expectTokenError(await refresh(server, client, String(winner?.refresh_token)), 400, 'invalid_grant')
    })

    it('CD-05 RFC 6749 §4.1.3: a code is bound to its client; another client with valid credentials gets invalid_grant and the code still works for its own', async () => {
      const other = await server.addClient()
      const { code, verifier } = await freshCode()
      await expectTokenError(await redeem(server, other, code, verifier), 400, 'invalid_grant')
      await expectTokens(await redeem(server, client, code, verifier))
    })

    it('CD-06 RFC 6749 §4.1.3: a public client code redeemed with another public client_id is invalid_grant', async () => {
      const p1 = await server.addClient({ isPublic: true, redirectUris: ['https://app.test/cb'] })
      const p2 = await server.addClient({ isPublic: true, redirectUris: ['https://app.test/cb'] })
      const { code, verifier } = await codeFor(server, p1, user, { browser })
      await expectTokenError(await redeem(server, p2, code, verifier), 400, 'invalid_grant')
      await expectTokens(await redeem(server, p1, code, verifier))
    })

    it('CD-07 RFC 6749 §4.1.2 / §10.5: a code past lifetimes.code (300 s by default) is invalid_grant', async () => {
      expect(server.config.lifetimes.code).toBe(300)
      const early = await freshCode()
      const late = await freshCode()
      server.clock.advance(299)
      await expectTokens(await redeem(server, client, early.code, early.verifier))
      server.clock.advance(1)
      await expectTokenError(await redeem(server, client, late.code, late.verifier), 400, 'invalid_grant')
    })

    it('CD-08 RFC 6749 §4.1.3: redirect_uri sent at /authorize must be sent again, identical', async () => {
      for (const redirectUri of [undefined, 'https://rp.test/cb/', 'https://RP.test/cb', 'https://rp.test/cb?x=1']) {
        const { code, verifier } = await freshCode()
        const form: Record<string, string> = { grant_type: 'authorization_code', code, code_verifier: verifier }
        if (redirectUri !== undefined) form.redirect_uri = redirectUri
        await expectTokenError(await callAs(server, '/token', client, form), 400, 'invalid_grant')
        // the mismatch did not consume the code
        await expectTokens(await redeem(server, client, code, verifier))
      }
    })

    it('CD-08 RFC 6749 §4.1.3: when /authorize omitted redirect_uri (one registered), the token request may omit it; another value is refused', async () => {
      const omitted = await freshCode({ redirect_uri: undefined })
      expect(omitted.callback.origin + omitted.callback.pathname).toBe(client.redirectUri)
      await expectTokens(await callAs(server, '/token', client, { grant_type: 'authorization_code', code: omitted.code, code_verifier: omitted.verifier }))
      const other = await freshCode({ redirect_uri: undefined })
      await expectTokenError(await redeem(server, client, other.code, other.verifier, { redirect_uri: 'https://rp.test/elsewhere' }), 400, 'invalid_grant')
      await expectTokens(await redeem(server, client, other.code, other.verifier))
    })

    it('CD-08 RFC 6749 §4.1.3: with several registered redirect URIs the code is bound to the one used', async () => {
      const multi = await server.addClient({ redirectUris: ['https://rp.test/cb', 'https://rp.test/cb2'] })
      const { code, verifier } = await codeFor(server, multi, user, { browser, query: { redirect_uri: 'https://rp.test/cb2' } })
      await expectTokenError(await redeem(server, multi, code, verifier, { redirect_uri: 'https://rp.test/cb' }), 400, 'invalid_grant')
      await expectTokens(await redeem(server, multi, code, verifier, { redirect_uri: 'https://rp.test/cb2' }))
    })

    it('CD-08 RFC 8252 §7.3 / RFC 6749 §4.1.3: a loopback redirect URI with a chosen port must come back with the same port', async () => {
      const native = await server.addClient({ isPublic: true, redirectUris: ['http://127.0.0.1/cb'] })
      const { code, verifier, callback } = await codeFor(server, native, user, { browser, query: { redirect_uri: 'http://127.0.0.1:51004/cb' } })
      expect(callback.port).toBe('51004')
      for (const other of ['http://127.0.0.1/cb', 'http://127.0.0.1:51005/cb']) {
        await expectTokenError(await redeem(server, native, code, verifier, { redirect_uri: other }), 400, 'invalid_grant')
      }
      await expectTokens(await redeem(server, native, code, verifier, { redirect_uri: 'http://127.0.0.1:51004/cb' }))
    })

    it('CD-09 RFC 6749 §5.2: a random, truncated or modified code is invalid_grant', async () => {
      const { code, verifier } = await freshCode()
      const flipped = `${code.slice(0, -1)}${code.endsWith('A') ? 'B' : 'A'}`
      for (const bad of [pkcePair().verifier, code.slice(0, 20), flipped, `${code}x`, 'x']) {
        await expectTokenError(await redeem(server, client, bad, verifier), 400, 'invalid_grant')
      }
      await expectTokens(await redeem(server, client, code, verifier))
    })

    it('CD-09 RFC 6749 §5.2: a refresh token used as a code is invalid_grant', async () => {
      const { tokens, verifier } = await obtainTokens(server, client, user)
      await expectTokenError(await redeem(server, client, String(tokens.refresh_token), verifier), 400, 'invalid_grant')
      await expectTokenError(await redeem(server, client, String(tokens.access_token), verifier), 400, 'invalid_grant')
    })

    it('CD-10 RFC 6749 §10.10: codes and refresh tokens carry 256 random bits (43 base64url characters) and are unique', async () => {
      const seen = new Set<string>()
      for (let i = 0; i < 5; i++) {
        const { code, verifier } = await freshCode()
        const tokens = await expectTokens(await redeem(server, client, code, verifier))
        for (const value of [code, String(tokens.refresh_token), String(decodeJwt(String(tokens.access_token)).jti)]) {
          expect(seen.has(value)).toBe(false)
          seen.add(value)
        }
        expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/)
        expect(String(tokens.refresh_token)).toMatch(/^[A-Za-z0-9_-]{43}$/)
        expect(String(tokens.access_token)).toMatch(/^[A-Za-z0-9_.-]+$/)
      }
    })

    it('CD-10 RFC 6749 §10.10 / SECURITY.md 5: codes are stored hashed, never in clear', async () => {
      const { code, verifier } = await freshCode()
      const stored = await server.store.getCode(hashToken(code))
      expect(stored?.codeHash).toBe(hashToken(code))
      expect(await server.store.getCode(code)).toBeUndefined()
      await expectTokens(await redeem(server, client, code, verifier))
    })

    it('RFC 6749 §10.3–10.4 / SECURITY.md 11: client secrets and refresh tokens are stored hashed, never in clear', async () => {
      const { code, verifier } = await freshCode()
      const tokens = await expectTokens(await redeem(server, client, code, verifier))
      const db = new Database(server.config.db.replace(/^sqlite:/, ''), { readonly: true, fileMustExist: true })
      try {
        const dump = JSON.stringify([
          db.prepare('SELECT * FROM clients').all(),
          db.prepare('SELECT * FROM refresh_tokens').all(),
          db.prepare('SELECT * FROM authorization_codes').all(),
          db.prepare('SELECT * FROM access_tokens').all(),
        ])
        expect(dump).toContain(hashToken(String(tokens.refresh_token)))
        for (const secret of [client.secret ?? '', String(tokens.refresh_token), code, String(tokens.access_token)]) {
          expect(dump).not.toContain(secret)
        }
      } finally {
        db.close()
      }
    })

    it('CD-11 RFC 9700 §4.2.4: the redirect carrying the code has Referrer-Policy no-referrer', async () => {
      const { response, callback } = await freshCode()
      expect(callback.searchParams.get('code')).not.toBeNull()
      expect(response.status).toBeGreaterThanOrEqual(300)
      expect(response.headers.get('referrer-policy')).toBe('no-referrer')
    })
  })

  describe('PKCE at the token endpoint (PK-08..PK-11)', () => {
    it('PK-08 RFC 7636 §4.6: redeeming without code_verifier is invalid_grant and does not consume the code', async () => {
      const { code, verifier } = await freshCode()
      await expectTokenError(await callAs(server, '/token', client, { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri }), 400, 'invalid_grant')
      await expectTokens(await redeem(server, client, code, verifier))
    })

    it('PK-09 RFC 7636 §4.6: a wrong code_verifier is invalid_grant', async () => {
      const { code, verifier } = await freshCode()
      await expectTokenError(await redeem(server, client, code, pkcePair().verifier), 400, 'invalid_grant')
      // the challenge itself is not the verifier (that would be plain)
      const challenge = createHash('sha256').update(verifier).digest('base64url')
      await expectTokenError(await redeem(server, client, code, challenge), 400, 'invalid_grant')
      await expectTokens(await redeem(server, client, code, verifier))
    })

    it('PK-10 RFC 7636 §4.1: a verifier of 42 or 129 characters, or with characters outside unreserved, is refused', async () => {
      const { code, verifier } = await freshCode()
      for (const bad of ['a'.repeat(42), 'a'.repeat(129), `${verifier.slice(0, 42)}+`, `${verifier.slice(0, 42)}/`, `${verifier} `, `${verifier.slice(0, 42)}é`]) {
        const response = await redeem(server, client, code, verifier, { code_verifier: bad })
        expect(response.status).toBe(400)
        expect(['invalid_grant', 'invalid_request']).toContain(((await response.json()) as Json).error)
      }
      await expectTokens(await redeem(server, client, code, verifier))
    })

    it('PK-10 RFC 7636 §4.1: verifiers of exactly 43 and 128 characters are accepted', async () => {
      for (const length of [43, 128]) {
        const verifier = 'A'.repeat(length - 1) + '~'
        const challenge = createHash('sha256').update(verifier).digest('base64url')
        const { callback } = await authorize(server, browser, authorizeQuery(client, { code_challenge: challenge }), user)
        const code = callback?.searchParams.get('code') ?? ''
        await expectTokens(await redeem(server, client, code, verifier))
      }
    })

    it('PK-11 RFC 9700 §4.8.2 / OAuth 2.1 §3.2.4: a code_verifier for a code issued without a challenge is 400 invalid_request (downgrade)', async () => {
      const exempt = await server.addClient({ pkceOptional: true })
      const query = { code_challenge: undefined, code_challenge_method: undefined }
      const { callback } = await authorize(server, browser, authorizeQuery(exempt, query), user)
      const code = callback?.searchParams.get('code') ?? ''
      expect(code).not.toBe('')
      await expectTokenError(await redeem(server, exempt, code, pkcePair().verifier), 400, 'invalid_request')
      // the exempted client redeems without a verifier
      await expectTokens(await callAs(server, '/token', exempt, { grant_type: 'authorization_code', code, redirect_uri: exempt.redirectUri }))
    })
  })

  describe('client authentication (TK-04..TK-13)', () => {
    it('TK-04 RFC 6749 §3.2.1: a confidential client without authentication is 401 invalid_client with WWW-Authenticate Basic', async () => {
      const { code, verifier } = await freshCode()
      const form = { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier }
      await expectTokenError(await postForm(`${server.url}/token`, form), 401, 'invalid_client')
      await expectTokenError(await postForm(`${server.url}/token`, { ...form, client_id: client.clientId }), 401, 'invalid_client')
      await expectTokens(await redeem(server, client, code, verifier))
    })

    it('TK-05 RFC 6749 §5.2: a wrong secret with Basic is 401 invalid_client, WWW-Authenticate Basic realm, and does not consume the code', async () => {
      const { code, verifier } = await freshCode()
      const form = { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier }
      await expectTokenError(await postForm(`${server.url}/token`, form, { authorization: basicAuth(client.clientId, `${client.secret}x`) }), 401, 'invalid_client')
      await expectTokens(await redeem(server, client, code, verifier))
    })

    it('TK-06 RFC 6749 §2.3.1 (SECURITY.md decision): a wrong client_secret_post secret is 401 invalid_client with WWW-Authenticate', async () => {
      const response = await postForm(`${server.url}/token`, { grant_type: 'authorization_code', code: 'x', client_id: client.clientId, client_secret: 'wrong' })
      await expectTokenError(response, 401, 'invalid_client')
    })

    it('TK-07 RFC 6749 §5.2: an unknown client_id gets the same 401 invalid_client body as a wrong secret', async () => {
      const form = { grant_type: 'authorization_code', code: 'x' }
      const unknown = await expectTokenError(await postForm(`${server.url}/token`, form, { authorization: basicAuth('no-such-client', 'secret') }), 401, 'invalid_client')
      const wrong = await expectTokenError(await postForm(`${server.url}/token`, form, { authorization: basicAuth(client.clientId, 'secret') }), 401, 'invalid_client')
      expect(unknown).toEqual(wrong)
    })

    it('TK-08 OAuth 2.1 §2.4: Basic and client_secret in the body at once is 400 invalid_request', async () => {
      const response = await postForm(
        `${server.url}/token`,
        { grant_type: 'authorization_code', code: 'x', client_id: client.clientId, client_secret: client.secret ?? '' },
        { authorization: basicAuth(client.clientId, client.secret ?? '') },
      )
      await expectTokenError(response, 400, 'invalid_request')
    })

    it('TK-09 RFC 6749 §2.3: Basic for one client and client_id of another in the body is refused', async () => {
      const other = await server.addClient()
      const { code, verifier } = await freshCode()
      const response = await redeem(server, client, code, verifier, { client_id: other.clientId })
      await expectTokenError(response, 400, 'invalid_request')
      await expectTokens(await redeem(server, client, code, verifier, { client_id: client.clientId }))
    })

    it('TK-10 OAuth 2.1 §2.4.1: a client_secret in the URL query is 400 invalid_request, even when correct', async () => {
      const { code, verifier } = await freshCode()
      const url = `${server.url}/token?client_secret=${encodeURIComponent(client.secret ?? '')}`
      const response = await postForm(url, { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier, client_id: client.clientId })
      const body = await expectTokenError(response, 400, 'invalid_request')
      expect(JSON.stringify(body)).not.toContain(client.secret ?? '')
      await expectTokens(await redeem(server, client, code, verifier))
    })

    it('TK-11 RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64 (reserved characters in id and secret)', async () => {
      const clientId = 'a:b%c'
      const secret = 'p@ss w:rd+'
      await server.store.createClient({ ...client.record, clientId, secretHash: hashToken(secret), createdAt: server.clock.now() })
      // grant_type=foo gets past authentication to unsupported_grant_type
      await expectTokenError(await postForm(`${server.url}/token`, { grant_type: 'foo' }, { authorization: basicAuth(clientId, secret) }), 400, 'unsupported_grant_type')
      const raw = `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`
      const response = await postForm(`${server.url}/token`, { grant_type: 'foo' }, { authorization: raw })
      expect([400, 401]).toContain(response.status)
      expect(['invalid_request', 'invalid_client']).toContain(((await response.json()) as Json).error)
      // a raw '%' that is not an escape is "not properly encoded"
      const badEscape = `Basic ${Buffer.from('abc:%zz').toString('base64')}`
      await expectTokenError(await postForm(`${server.url}/token`, { grant_type: 'foo' }, { authorization: badEscape }), 400, 'invalid_request')
    })

    it('TK-12 RFC 6749 §2.3.1: malformed Basic headers are 400 invalid_request or 401 invalid_client, never 500', async () => {
      const cases: Record<string, { status: number; error: string }> = {
        'Basic !!!': { status: 400, error: 'invalid_request' },
        'Basic ': { status: 401, error: 'invalid_client' },
        [`Basic ${Buffer.from('no-colon').toString('base64')}`]: { status: 400, error: 'invalid_request' },
        'Basic a b': { status: 401, error: 'invalid_client' },
        [`Basic ${Buffer.from(':secret').toString('base64')}`]: { status: 401, error: 'invalid_client' },
        'Bearer abc': { status: 401, error: 'invalid_client' },
        [`Basic ${'A'.repeat(4000)}`]: { status: 400, error: 'invalid_request' },
      }
      for (const [authorization, expected] of Object.entries(cases)) {
        const response = await postForm(`${server.url}/token`, { grant_type: 'authorization_code', code: 'x' }, { authorization })
        expect({ authorization, status: response.status }).toEqual({ authorization, status: expected.status })
        await expectTokenError(response, expected.status, expected.error)
      }
    })

    it('TK-12 RFC 7617 §2: the Basic scheme name is case-insensitive', async () => {
      const { code, verifier } = await freshCode()
      const authorization = basicAuth(client.clientId, client.secret ?? '').replace(/^Basic/, 'bAsIc')
      const response = await postForm(
        `${server.url}/token`,
        { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier },
        { authorization },
      )
      await expectTokens(response)
    })
  })

  describe('errors (TK-02, TK-03, TK-14..TK-19, SECURITY.md 12)', () => {
    it('TK-02 RFC 6749 §3.2: GET /token is 405 with Allow: POST, never tokens', async () => {
      const { code, verifier } = await freshCode()
      const query = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier })
      const response = await fetch(`${server.url}/token?${query}`, { headers: authOf(client) })
      expect(response.status).toBe(405)
      expect(response.headers.get('allow')).toBe('POST')
      expect(await response.text()).not.toContain('access_token')
      await expectTokens(await redeem(server, client, code, verifier))
    })

    it('TK-02 RFC 9110 §15.5.6: PUT, DELETE and PATCH on /token are 405', async () => {
      for (const method of ['PUT', 'DELETE', 'PATCH']) {
        const response = await fetch(`${server.url}/token`, { method, headers: authOf(client) })
        expect(response.status).toBe(405)
      }
    })

    it('TK-03 RFC 6749 §4.1.3: a body that is not application/x-www-form-urlencoded is 400 invalid_request', async () => {
      const { code, verifier } = await freshCode()
      const form = { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier }
      const bodies: Array<{ type: string | undefined; body: string }> = [
        { type: 'application/json', body: JSON.stringify(form) },
        { type: 'text/plain', body: new URLSearchParams(form).toString() },
        { type: 'multipart/form-data; boundary=x', body: `--x\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nauthorization_code\r\n--x--\r\n` },
        { type: undefined, body: new URLSearchParams(form).toString() },
        { type: 'application/x-www-form-urlencoded; charset=iso-8859-1', body: new URLSearchParams(form).toString() },
      ]
      for (const { type, body } of bodies) {
        const headers: Record<string, string> = { ...authOf(client) }
        if (type !== undefined) headers['content-type'] = type
        const response = await fetch(`${server.url}/token`, { method: 'POST', headers, body: type === undefined ? Buffer.from(body) : body })
        await expectTokenError(response, 400, 'invalid_request')
      }
      // none of them consumed the code
      await expectTokens(await redeem(server, client, code, verifier))
    })

    it('TK-03 RFC 6749 §B: charset=utf-8 (any case) is accepted', async () => {
      const again = await freshCode()
      const body = new URLSearchParams({ grant_type: 'authorization_code', code: again.code, redirect_uri: client.redirectUri, code_verifier: again.verifier })
      const utf8 = await fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { ...authOf(client), 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' },
        body: body.toString(),
      })
      await expectTokens(utf8)
    })

    it('TK-14 RFC 6749 §5.2: an unknown grant_type is unsupported_grant_type', async () => {
      await expectTokenError(await callAs(server, '/token', client, { grant_type: 'foo' }), 400, 'unsupported_grant_type')
      await expectTokenError(await callAs(server, '/token', client, { grant_type: 'client_credentials' }), 400, 'unsupported_grant_type')
    })

    it('TK-15 RFC 9700 §2.4: grant_type=password and implicit are unsupported_grant_type', async () => {
      await expectTokenError(await callAs(server, '/token', client, { grant_type: 'password', username: user.username, password: user.password }), 400, 'unsupported_grant_type')
      await expectTokenError(await callAs(server, '/token', client, { grant_type: 'implicit' }), 400, 'unsupported_grant_type')
    })

    it('TK-16 RFC 6749 §5.2: a client not registered for the authorization_code grant is unauthorized_client', async () => {
      const limited = { ...client.record, clientId: `limited-${Date.now()}`, grantTypes: ['refresh_token' as const] }
      await server.store.createClient(limited)
      const response = await postForm(`${server.url}/token`, { grant_type: 'authorization_code', code: 'x' }, { authorization: basicAuth(limited.clientId, client.secret ?? '') })
      await expectTokenError(response, 400, 'unauthorized_client')
    })

    it('TK-17 RFC 6749 §5.2: a missing grant_type or code is invalid_request', async () => {
      const { code, verifier } = await freshCode()
      await expectTokenError(await callAs(server, '/token', client, { code, redirect_uri: client.redirectUri, code_verifier: verifier }), 400, 'invalid_request')
      await expectTokenError(await callAs(server, '/token', client, { grant_type: 'authorization_code', redirect_uri: client.redirectUri, code_verifier: verifier }), 400, 'invalid_request')
      await expectTokenError(await callAs(server, '/token', client, { grant_type: 'authorization_code', code: '', redirect_uri: client.redirectUri, code_verifier: verifier }), 400, 'invalid_request')
      await expectTokenError(await callAs(server, '/token', client, { grant_type: 'refresh_token' }), 400, 'invalid_request')
      await expectTokens(await redeem(server, client, code, verifier))
    })

    it('TK-18 RFC 6749 §3.2: a parameter included twice is invalid_request and does not consume the code', async () => {
      const { code, verifier } = await freshCode()
      const base = `redirect_uri=${encodeURIComponent(client.redirectUri)}`
      const bodies = [
        `grant_type=authorization_code&code=${code}&code=${code}&code_verifier=${verifier}&${base}`,
        `grant_type=authorization_code&grant_type=authorization_code&code=${code}&code_verifier=${verifier}&${base}`,
        `grant_type=authorization_code&code=${code}&code_verifier=${verifier}&code_verifier=${verifier}&${base}`,
        `grant_type=authorization_code&code=${code}&code_verifier=${verifier}&${base}&${base}`,
        `grant_type=authorization_code&code=${code}&code_verifier=${verifier}&${base}&client_id=${client.clientId}&client_id=${client.clientId}`,
      ]
      for (const body of bodies) {
        const response = await fetch(`${server.url}/token`, {
          method: 'POST',
          headers: { ...authOf(client), 'content-type': 'application/x-www-form-urlencoded' },
          body,
        })
        await expectTokenError(response, 400, 'invalid_request')
      }
      await expectTokens(await redeem(server, client, code, verifier))
    })

    it('TK-19 RFC 6749 §5.2: bad encodings are 400 invalid_request, never 500 (BI-07, BI-08, BI-09)', async () => {
      const bodies = [
        'grant_type=authorization_code&code=%ZZ',
        'grant_type=authorization_code&code=%FF',
        'grant_type=authorization_code&code=%C0%AF',
        'grant_type=authorization_code&code=%ED%A0%80',
        'grant_type=authorization_code&code=%E2%82',
        'grant_type=authorization_code&code=abc%',
        'grant_type=authorization_code&code=a%00b',
        'grant_type=authorization_code&code=a%0D%0Ab',
        'grant_type=authorization_code&code=' + 'a'.repeat(9000),
        Array.from({ length: 200 }, (_, i) => `p${i}=1`).join('&'),
      ]
      for (const body of bodies) {
        const response = await fetch(`${server.url}/token`, {
          method: 'POST',
          headers: { ...authOf(client), 'content-type': 'application/x-www-form-urlencoded' },
          body,
        })
        await expectTokenError(response, 400, 'invalid_request')
      }
      // qs "magic" is taken literally: grant_type[] is not grant_type
      await expectTokenError(await callAs(server, '/token', client, { 'grant_type[]': 'authorization_code', code: 'x' }), 400, 'invalid_request')
    })

    it('TK-19 BI-07: raw bytes that are not UTF-8 in a form body are 400 invalid_request', async () => {
      const body = Buffer.concat([Buffer.from('grant_type=authorization_code&code=abc'), Buffer.from([0xff, 0xfe])])
      const response = await fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { ...authOf(client), 'content-type': 'application/x-www-form-urlencoded' },
        body,
      })
      await expectTokenError(response, 400, 'invalid_request')
    })

    it('TK-19 BI-04: a body over 64 KiB is 413, JSON invalid_request', async () => {
      const body = `grant_type=authorization_code&code=x&pad=${'a'.repeat(65 * 1024)}`
      const response = await fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { ...authOf(client), 'content-type': 'application/x-www-form-urlencoded' },
        body,
      })
      await expectTokenError(response, 413, 'invalid_request')
      // and the server keeps serving
      const { code, verifier } = await freshCode()
      await expectTokens(await redeem(server, client, code, verifier))
    })

    it('SECURITY.md 23: no error response echoes the code, verifier or secret it was given', async () => {
      const { code, verifier } = await freshCode()
      await expectTokens(await redeem(server, client, code, verifier))
      const responses = [
        await redeem(server, client, code, verifier),
        await redeem(server, client, code, 'b'.repeat(50)),
        await postForm(`${server.url}/token`, { grant_type: 'authorization_code', code, code_verifier: verifier }, { authorization: basicAuth(client.clientId, 'leaky-secret-value') }),
      ]
      for (const response of responses) {
        const text = await response.text()
        expect(response.status).toBeGreaterThanOrEqual(400)
        for (const secret of [code, verifier, 'leaky-secret-value', 'b'.repeat(50), client.secret ?? '']) expect(text).not.toContain(secret)
      }
    })
  })
})

describe('the token endpoint under other configurations', () => {
  it('RFC 9068 §2.1: config accessToken.alg RS256 signs access tokens with RS256', async () => {
    const server = await startServer({ accessToken: { alg: 'RS256', audience: 'https://api.test' } })
    try {
      const client = await server.addClient()
      const user = await server.addUser()
      const { tokens } = await obtainTokens(server, client, user)
      const accessToken = String(tokens.access_token)
      expect(decodeProtectedHeader(accessToken)).toMatchObject({ alg: 'RS256', typ: 'at+jwt' })
      const { payload } = await jwtVerify(accessToken, createRemoteJWKSet(new URL(`${server.url}/jwks`)), {
        issuer: server.url,
        audience: 'https://api.test',
        typ: 'at+jwt',
        algorithms: ['RS256'],
        currentDate: new Date(server.clock.now() * 1000),
      })
      expect(payload.client_id).toBe(client.clientId)
      expect((await userinfo(server, accessToken)).status).toBe(200)
    } finally {
      await server.close()
    }
  })

  it('CD-07 RFC 6749 §4.1.2: lifetimes.code is honoured (60 s)', async () => {
    const server = await startServer({ lifetimes: { code: 60 } })
    try {
      const client = await server.addClient()
      const user = await server.addUser()
      const browser = new Browser()
      const onTime = await codeFor(server, client, user, { browser })
      const expired = await codeFor(server, client, user, { browser })
      server.clock.advance(59)
      await expectTokens(await redeem(server, client, onTime.code, onTime.verifier))
      server.clock.advance(2)
      await expectTokenError(await redeem(server, client, expired.code, expired.verifier), 400, 'invalid_grant')
    } finally {
      await server.close()
    }
  })

  it('TK-13 SECURITY.md 26: failed client authentication is throttled (429) per address and client, and the right secret is never refused', async () => {
    const server = await startServer({ rateLimit: { clientAuth: { max: 3, window: 60 } } })
    try {
      const client = await server.addClient()
      const bystander = await server.addClient()
      const user = await server.addUser()
      const { code, verifier } = await codeFor(server, client, user)
      const form = { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier }
      for (let i = 0; i < 3; i++) {
        await expectTokenError(await postForm(`${server.url}/token`, form, { authorization: basicAuth(client.clientId, `wrong-${i}`) }), 401, 'invalid_client')
      }
      const blocked = await postForm(`${server.url}/token`, form, { authorization: basicAuth(client.clientId, 'wrong-3') })
      expect(blocked.status).toBe(429)
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(blocked.headers.get('cache-control')).toBe('no-store')
      expect(((await blocked.json()) as Json).error).toBe('invalid_client')
      // client_secret_post failures are counted the same way
      const post = await postForm(`${server.url}/token`, { ...form, client_id: client.clientId, client_secret: 'wrong-post' })
      expect(post.status).toBe(429)
      // another client is not affected
      await expectTokenError(await callAs(server, '/token', bystander, { grant_type: 'foo' }), 400, 'unsupported_grant_type')
      // and the right secret, from the very address that failed, still works: the code was not spent
      await expectTokens(await postForm(`${server.url}/token`, form, authOf(client)))

      server.clock.advance(60)
      await expectTokenError(await postForm(`${server.url}/token`, form, { authorization: basicAuth(client.clientId, 'wrong-4') }), 401, 'invalid_client')
    } finally {
      await server.close()
    }
  })
})
