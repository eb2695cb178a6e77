/**
 * The UserInfo endpoint as a Bearer-protected resource (OIDC Core §5.3; RFC 6750 §2–3; RFC 9068
 * §4): checklist RS-01..RS-10, 3.5, SECURITY.md item 18.
 */
import { generateKeyPairSync } from 'node:crypto'
import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jwkThumbprint } from '../../src/tokens/key-generation.js'
import { signJwt } from '../../src/tokens/jws.js'
import { basicAuth, obtainTokens, postForm, startServer, type TestClient, type TestServer } from '../harness.js'

type User = { id: string; username: string; password: string }
type Json = Record<string, unknown>

const b64json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

function get(server: TestServer, headers: Record<string, string> = {}, query = ''): Promise<Response> {
  return fetch(`${server.url}/userinfo${query}`, { headers })
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** Parses `WWW-Authenticate: Bearer k="v", ...` into its attributes; fails on a repeated one (RFC 6750 §3). */
function challenge(response: Response): Record<string, string> {
  const header = response.headers.get('www-authenticate')
  expect(header).toMatch(/^Bearer /)
  const attributes: Record<string, string> = {}
  for (const match of (header ?? '').slice('Bearer '.length).matchAll(/([a-z_]+)="([^"]*)"/g)) {
    const [, name = '', value = ''] = match
    expect(attributes).not.toHaveProperty(name)
    attributes[name] = value
  }
  return attributes
}

/** 401 invalid_token with a Bearer challenge carrying the error (RFC 6750 §3.1). */
async function expectInvalidToken(response: Response): Promise<void> {
  const text = await response.text()
  expect({ status: response.status, text }).toMatchObject({ status: 401 })
  const attributes = challenge(response)
  expect(attributes).toMatchObject({ realm: expect.any(String), error: 'invalid_token' })
  expect(attributes.error_description).toMatch(/^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/)
  expect(response.headers.get('cache-control')).toBe('no-store')
}

async function expectInvalidRequest(response: Response): Promise<void> {
  const text = await response.text()
  expect({ status: response.status, text }).toMatchObject({ status: 400 })
  expect(challenge(response)).toMatchObject({ error: 'invalid_request' })
  expect((JSON.parse(text) as Json).error).toBe('invalid_request')
}

/** 401 with a bare `Bearer realm="…"`: no error attribute when the request had no authentication (RFC 6750 §3.1). */
async function expectNoCredentials(response: Response): Promise<void> {
  expect(response.status).toBe(401)
  const attributes = challenge(response)
  expect(Object.keys(attributes)).toEqual(['realm'])
  expect(attributes.realm).not.toBe('')
}

async function expectClaims(response: Response): Promise<Json> {
  const text = await response.text()
  expect({ status: response.status, text }).toMatchObject({ status: 200 })
  expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  expect(response.headers.get('cache-control')).toBe('no-store')
  return JSON.parse(text) as Json
}

describe('the UserInfo endpoint', () => {
  let server: TestServer
  let client: TestClient
  let user: User
  let tokens: Record<string, unknown>
  let accessToken: string

  beforeAll(async () => {
    server = await startServer()
    client = await server.addClient()
    user = await server.addUser('alice', 'correct horse battery', { name: 'Alice Example', email: 'alice@example.com' })
    ;({ tokens } = await obtainTokens(server, client, user))
    accessToken = String(tokens.access_token)
  })
  afterAll(() => server.close())

  /** Re-signs the claims of a real access token (its jti is live) with the server's own key. */
  /** `typ` null: no typ header at all. */
  async function resign(changes: Json, typ: string | null = 'at+jwt'): Promise<string> {
    const fresh = await obtainTokens(server, client, user)
    const claims = { ...decodeJwt(String(fresh.tokens.access_token)), ...changes }
    return signJwt(await server.keys.signingKey('ES256', server.clock.now()), typ ?? undefined, claims)
  }

  describe('presenting the token (RFC 6750 §2)', () => {
    it('RS-01 RFC 6750 §3.1: no token is 401 with WWW-Authenticate Bearer realm and no error', async () => {
      await expectNoCredentials(await get(server))
      await expectNoCredentials(await fetch(`${server.url}/userinfo`, { method: 'POST' }))
    })

    it('RS-05 RFC 6750 §2.3 / RFC 9700 §4.3.2: a token in the query is ignored (401 as if none was sent)', async () => {
      await expectNoCredentials(await get(server, {}, `?access_token=${accessToken}`))
      await expectNoCredentials(await fetch(`${server.url}/userinfo?access_token=${accessToken}`, { method: 'POST' }))
    })

    it('RS-04 RFC 6750 §3.1: a malformed Authorization header is 400 invalid_request', async () => {
      for (const authorization of ['Bearer', 'Bearer ', `Bearer ${accessToken} extra`, 'Bearer a b', 'Bearer "quoted"', `Basic ${basicAuth('a', 'b').slice(6)}`, 'Token abc']) {
        await expectInvalidRequest(await get(server, { authorization }))
      }
    })

    it('RS-06 RFC 6750 §2: a token in both the header and the form body is 400 invalid_request', async () => {
      const response = await postForm(`${server.url}/userinfo`, { access_token: accessToken }, bearer(accessToken))
      await expectInvalidRequest(response)
    })

    it('RS-07 RFC 6750 §2.1: the Bearer scheme is case-insensitive', async () => {
      const claims = await expectClaims(await get(server, { authorization: `bEaReR ${accessToken}` }))
      expect(claims.sub).toBe(user.id)
    })

    it('RS-08 OIDC Core §5.3.1: GET and POST with the header, and POST with access_token in a form body, all work', async () => {
      const viaGet = await expectClaims(await get(server, bearer(accessToken)))
      const viaPostHeader = await expectClaims(await fetch(`${server.url}/userinfo`, { method: 'POST', headers: bearer(accessToken) }))
      const viaPostBody = await expectClaims(await postForm(`${server.url}/userinfo`, { access_token: accessToken }))
      expect(viaPostHeader).toEqual(viaGet)
      expect(viaPostBody).toEqual(viaGet)
    })

    it('RFC 6750 §2.2: a form body token must be form-encoded; a JSON body is 400 invalid_request', async () => {
      const response = await fetch(`${server.url}/userinfo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ access_token: accessToken }),
      })
      await expectInvalidRequest(response)
    })
  })

  describe('rejected tokens (RS-02, RS-09)', () => {
    it('RS-02 RFC 6750 §3.1: garbage and a bad signature are 401 invalid_token', async () => {
      const [header, payload, signature = ''] = accessToken.split('.')
      const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`
      for (const token of ['garbage', 'a.b.c', `${header}.${payload}.${flipped}`, `${header}.${payload}`, `${header}.${b64json({ ...decodeJwt(accessToken), scope: 'openid admin' })}.${signature}`]) {
        await expectInvalidToken(await get(server, bearer(token)))
      }
    })

    it('RS-09 RFC 9068 §4 / RFC 8725 §3.1: alg none is 401 invalid_token', async () => {
      const claims = decodeJwt(accessToken)
      const header = b64json({ alg: 'none', typ: 'at+jwt', kid: decodeProtectedHeader(accessToken).kid })
      for (const token of [`${header}.${b64json(claims)}.`, `${header}.${b64json(claims)}.AAAA`]) {
        await expectInvalidToken(await get(server, bearer(token)))
      }
    })

    it('RS-09 RFC 8725 §3.1: HS256 signed with a known value (the client secret, the public key) is 401 invalid_token', async () => {
      const claims = decodeJwt(accessToken)
      const kid = String(decodeProtectedHeader(accessToken).kid)
      const jwks = (await (await fetch(`${server.url}/jwks`)).json()) as { keys: Array<Record<string, string>> }
      const publicKey = jwks.keys.find((key) => key.kid === kid)
      for (const secret of [client.secret ?? '', JSON.stringify(publicKey), String(publicKey?.x)]) {
        const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid }).sign(new TextEncoder().encode(secret))
        await expectInvalidToken(await get(server, bearer(token)))
      }
    })

    it('RS-09 RFC 9068 §4: an ID token presented as an access token is 401 invalid_token', async () => {
      await expectInvalidToken(await get(server, bearer(String(tokens.id_token))))
    })

    it('RS-09 RFC 9068 §4: a live token re-signed with typ JWT (or none) is 401 invalid_token; with at+jwt it works', async () => {
      await expectInvalidToken(await get(server, bearer(await resign({}, 'JWT'))))
      await expectInvalidToken(await get(server, bearer(await resign({}, null))))
      // the control: the same re-signing with the right typ is accepted, so the failures above are the typ
      await expectClaims(await get(server, bearer(await resign({}, 'application/at+jwt'))))
      await expectClaims(await get(server, bearer(await resign({}))))
    })

    it('RS-09 RFC 9068 §4: a wrong iss or aud is 401 invalid_token', async () => {
      await expectInvalidToken(await get(server, bearer(await resign({ iss: 'https://evil.test' }))))
      await expectInvalidToken(await get(server, bearer(await resign({ iss: `${server.url}/` }))))
      await expectInvalidToken(await get(server, bearer(await resign({ aud: 'https://other.test' }))))
    })

    it('RS-09 RFC 7519 §7.2: a token signed by a key the server never published (unknown kid) is 401 invalid_token', async () => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      const claims = decodeJwt(await resign({}))
      const token = await signJwt({ kid: jwkThumbprint(publicKey), alg: 'ES256', key: privateKey }, 'at+jwt', claims)
      await expectInvalidToken(await get(server, bearer(token)))
      // nor is a foreign key accepted under a published kid
      const stolenKid = await signJwt({ kid: String(decodeProtectedHeader(accessToken).kid), alg: 'ES256', key: privateKey }, 'at+jwt', claims)
      await expectInvalidToken(await get(server, bearer(stolenKid)))
    })

    it('RS-02 RFC 9068 §4: a well-signed token whose jti the server never issued is 401 invalid_token', async () => {
      await expectInvalidToken(await get(server, bearer(await resign({ jti: 'forged-jti' }))))
    })

    it('RS-02 RFC 6750 §3.1: a revoked token is 401 invalid_token', async () => {
      const fresh = await obtainTokens(server, client, user)
      const token = String(fresh.tokens.access_token)
      await expectClaims(await get(server, bearer(token)))
      const revoked = await postForm(`${server.url}/revoke`, { token }, { authorization: basicAuth(client.clientId, client.secret ?? '') })
      expect(revoked.status).toBe(200)
      await expectInvalidToken(await get(server, bearer(token)))
    })

    it('RS-02 RFC 6750 §3.1: an expired token is 401 invalid_token', async () => {
      const fresh = await obtainTokens(server, client, user)
      const token = String(fresh.tokens.access_token)
      server.clock.advance(server.config.lifetimes.accessToken - 1)
      await expectClaims(await get(server, bearer(token)))
      server.clock.advance(1)
      await expectInvalidToken(await get(server, bearer(token)))
    })
  })

  describe('scopes and claims (OIDC Core §5.3–5.4)', () => {
    it('RS-03 RFC 6750 §3.1: a token without openid is 403 insufficient_scope with scope="openid"', async () => {
      const { tokens: profileOnly } = await obtainTokens(server, client, user, { scope: 'profile email' })
      const response = await get(server, bearer(String(profileOnly.access_token)))
      expect(response.status).toBe(403)
      expect(challenge(response)).toMatchObject({ error: 'insufficient_scope', scope: 'openid' })
      expect(((await response.json()) as Json).error).toBe('insufficient_scope')
    })

    it('OIDC Core §5.4: openid alone gives only sub, equal to the ID token sub', async () => {
      const { tokens: openidOnly } = await obtainTokens(server, client, user, { scope: 'openid' })
      const claims = await expectClaims(await get(server, bearer(String(openidOnly.access_token))))
      expect(claims).toEqual({ sub: decodeJwt(String(openidOnly.id_token)).sub })
      expect(claims.sub).toBe(user.id)
    })

    it('OIDC Core §5.4: profile adds name, preferred_username and updated_at', async () => {
      const { tokens: profile } = await obtainTokens(server, client, user, { scope: 'openid profile' })
      const claims = await expectClaims(await get(server, bearer(String(profile.access_token))))
      expect(claims).toEqual({ sub: user.id, name: 'Alice Example', preferred_username: 'alice', updated_at: expect.any(Number) })
    })

    it('OIDC Core §5.4: email adds email and email_verified', async () => {
      const { tokens: email } = await obtainTokens(server, client, user, { scope: 'openid email' })
      const claims = await expectClaims(await get(server, bearer(String(email.access_token))))
      expect(claims).toEqual({ sub: user.id, email: 'alice@example.com', email_verified: true })
    })

    it('OIDC Core §5.4: openid profile email gives all of them', async () => {
      const { tokens: all } = await obtainTokens(server, client, user, { scope: 'openid profile email' })
      const claims = await expectClaims(await get(server, bearer(String(all.access_token))))
      expect(Object.keys(claims).sort()).toEqual(['email', 'email_verified', 'name', 'preferred_username', 'sub', 'updated_at'])
    })
  })

  it('BI-04..BI-08 RFC 6750 §2.2: malformed form bodies at POST /userinfo are 400 invalid_request (413 over 64 KiB), never 500', async () => {
    for (const { body, status } of [
      { body: 'access_token=%ZZ', status: 400 },
      { body: 'access_token=%C3%28', status: 400 },
      { body: 'access_token=a%00b', status: 400 },
      { body: `access_token=${'a'.repeat(9000)}`, status: 400 },
      { body: `pad=${'a'.repeat(65 * 1024)}`, status: 413 },
    ]) {
      const response = await fetch(`${server.url}/userinfo`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body })
      const text = await response.text()
      expect({ status: response.status, text }).toMatchObject({ status })
      expect((JSON.parse(text) as Json).error).toBe('invalid_request')
    }
  })

  it('RFC 9110 §15.5.6: PUT and DELETE on /userinfo are 405', async () => {
    for (const method of ['PUT', 'DELETE']) {
      const response = await fetch(`${server.url}/userinfo`, { method, headers: bearer(accessToken) })
      expect(response.status).toBe(405)
      expect(response.headers.get('allow')).toBe('GET, POST')
    }
  })
})
