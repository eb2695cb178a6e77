/**
 * Token revocation (RFC 7009) and introspection (RFC 7662) over HTTP: checklist 3.3 and 3.4,
 * SECURITY.md items 16 and 17.
 */
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  basicAuth,
  obtainTokens,
  pkcePair,
  postForm,
  startServer,
  type TestClient,
  type TestServer,
} from '../harness.js'
import { callAs, clientAuthHeaders as authOf, expectOAuthError as expectError, introspect, obtainPublicTokens, refresh, userinfoStatus, type Json, type User } from '../back-channel.js'


const revoke = (server: TestServer, client: TestClient, token: string, hint?: string) =>
  callAs(server, '/revoke', client, hint === undefined ? { token } : { token, token_type_hint: hint })

/** The suites' server, clients and user: each `describe` gets its own through `serverPerDescribe` (or its own `beforeAll`). */
let server: TestServer
let client: TestClient
let other: TestClient
let user: User

/** Gives the enclosing `describe` a fresh server with `client`, `other` and `user`, closed after its tests. */
function serverPerDescribe(): void {
  beforeAll(async () => {
    server = await startServer()
    client = await server.addClient()
    other = await server.addClient()
    user = await server.addUser()
  })
  afterAll(() => server.close())
}

/** Without client authentication, with a client_id alone, and with a wrong secret, `path` is 401 invalid_client for `form`. */
async function expectClientAuthRequired(path: string, form: Record<string, string>): Promise<void> {
  await expectError(await postForm(`${server.url}${path}`, form), 401, 'invalid_client')
  await expectError(await postForm(`${server.url}${path}`, { ...form, client_id: client.clientId }), 401, 'invalid_client')
  await expectError(await postForm(`${server.url}${path}`, form, { authorization: basicAuth(client.clientId, 'wrong') }), 401, 'invalid_client')
}

async function expectRevoked200(response: Response): Promise<void> {
  const text = await response.text()
  expect({ status: response.status, text }).toEqual({ status: 200, text: '' })
  expect(response.headers.get('cache-control')).toBe('no-store')
}

describe('token revocation (RFC 7009)', () => {
  serverPerDescribe()

  it('RFC 7009 §2.1–2.2: revoking a refresh token is 200 and revokes its family and the access tokens of the grant', async () => {
    const { tokens } = await obtainTokens(server, client, user)
    const rotated = (await (await refresh(server, client, String(tokens.refresh_token))).json()) as Json
    expect(await userinfoStatus(server, String(rotated.access_token))).toBe(200)

    await expectRevoked200(await revoke(server, client, String(rotated.refresh_token)))

    expect((await refresh(server, client, String(rotated.refresh_token))).status).toBe(400)
    for (const accessToken of [tokens.access_token, rotated.access_token]) {
      expect(await userinfoStatus(server, String(accessToken))).toBe(401)
      expect(await introspect(server, client, String(accessToken))).toEqual({ active: false })
    }
    expect(await introspect(server, client, String(rotated.refresh_token))).toEqual({ active: false })
  })

  it('RFC 7009 §2.1: revoking an access token is 200 and the token stops working at once', async () => {
    const { tokens } = await obtainTokens(server, client, user)
    const accessToken = String(tokens.access_token)
    expect(await userinfoStatus(server, accessToken)).toBe(200)
    await expectRevoked200(await revoke(server, client, accessToken))
    expect(await userinfoStatus(server, accessToken)).toBe(401)
    expect(await introspect(server, client, accessToken)).toEqual({ active: false })
    // revoking it again is still 200
    await expectRevoked200(await revoke(server, client, accessToken))
  })

  it('RFC 7009 §2.1: token_type_hint is only a hint: a wrong or unknown hint still revokes', async () => {
    for (const [kind, hint] of [
      ['refresh_token', 'access_token'],
      ['access_token', 'refresh_token'],
      ['refresh_token', 'something_else'],
      ['access_token', 'refresh_token'],
    ] as const) {
      const { tokens } = await obtainTokens(server, client, user)
      await expectRevoked200(await revoke(server, client, String(tokens[kind]), hint))
      expect(await introspect(server, client, String(tokens[kind]))).toEqual({ active: false })
    }
  })

  it('RFC 7009 §2.2: unknown, malformed, expired and already revoked tokens are answered 200', async () => {
    const { tokens } = await obtainTokens(server, client, user)
    await expectRevoked200(await revoke(server, client, String(tokens.refresh_token)))
    for (const token of [
      String(tokens.refresh_token),
      'no-such-token',
      'a.b.c',
      'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
      pkcePair().verifier,
      String(tokens.id_token),
    ]) {
      await expectRevoked200(await revoke(server, client, token))
    }
  })

  it('RFC 7009 §2.1: a client cannot revoke another client’s tokens: 400 invalid_request, and nothing is revoked', async () => {
    const { tokens } = await obtainTokens(server, client, user)
    await expectError(await revoke(server, other, String(tokens.refresh_token)), 400, 'invalid_request')
    await expectError(await revoke(server, other, String(tokens.access_token)), 400, 'invalid_request')
    expect(await userinfoStatus(server, String(tokens.access_token))).toBe(200)
    expect(await introspect(server, client, String(tokens.access_token))).toMatchObject({ active: true })
    expect((await refresh(server, client, String(tokens.refresh_token))).status).toBe(200)
  })

  it('RFC 7009 §2.1: the revocation endpoint requires client authentication (401 invalid_client, WWW-Authenticate Basic)', async () => {
    const { tokens } = await obtainTokens(server, client, user)
    const form = { token: String(tokens.refresh_token) }
    await expectClientAuthRequired('/revoke', form)
    await expectError(await postForm(`${server.url}/revoke`, form, { authorization: basicAuth('nobody', 'wrong') }), 401, 'invalid_client')
    // nothing was revoked by the unauthenticated attempts
    expect((await refresh(server, client, String(tokens.refresh_token))).status).toBe(200)
  })

  it('RFC 7009 §2.1: a public client authenticates with client_id and revokes its own tokens, not others’', async () => {
    const pub = await server.addClient({ isPublic: true, redirectUris: ['https://app.test/cb'] })
    const tokens = await obtainPublicTokens(server, pub, user)
    const theirs = await obtainTokens(server, client, user)
    await expectError(await revoke(server, pub, String(theirs.tokens.refresh_token)), 400, 'invalid_request')
    await expectRevoked200(await revoke(server, pub, String(tokens.refresh_token)))
    expect(await userinfoStatus(server, String(tokens.access_token))).toBe(401)
    expect((await refresh(server, client, String(theirs.tokens.refresh_token))).status).toBe(200)
  })

  it('RFC 7009 §2.2.1 / RFC 6749 §3.2: a missing or repeated token, or a non-form body, is 400 invalid_request', async () => {
    const { tokens } = await obtainTokens(server, client, user)
    const rt = String(tokens.refresh_token)
    await expectError(await callAs(server, '/revoke', client, {}), 400, 'invalid_request')
    await expectError(await callAs(server, '/revoke', client, { token: '' }), 400, 'invalid_request')
    const twice = await fetch(`${server.url}/revoke`, {
      method: 'POST',
      headers: { ...authOf(client), 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${rt}&token=${rt}`,
    })
    await expectError(twice, 400, 'invalid_request')
    const json = await fetch(`${server.url}/revoke`, {
      method: 'POST',
      headers: { ...authOf(client), 'content-type': 'application/json' },
      body: JSON.stringify({ token: rt }),
    })
    await expectError(json, 400, 'invalid_request')
    expect((await refresh(server, client, rt)).status).toBe(200)
  })

  it('RFC 7009 §2.1: GET /revoke is 405 with Allow: POST', async () => {
    const response = await fetch(`${server.url}/revoke?token=x`, { headers: authOf(client) })
    expect(response.status).toBe(405)
    expect(response.headers.get('allow')).toBe('POST')
  })
})

describe('token introspection (RFC 7662)', () => {
  serverPerDescribe()

  it('RFC 7662 §2.2: a live access token is active with scope, client_id, sub, exp, iat, iss, aud, token_type', async () => {
    const { tokens } = await obtainTokens(server, client, user)
    const claims = decodeJwt(String(tokens.access_token))
    const body = await introspect(server, client, String(tokens.access_token))
    expect(body).toMatchObject({
      active: true,
      scope: 'openid profile email',
      client_id: client.clientId,
      sub: claims.sub,
      exp: claims.exp,
      iat: claims.iat,
      iss: server.url,
      aud: server.config.accessToken.audience,
      token_type: 'Bearer',
    })
  })

  it('RFC 7662 §2.2: a live refresh token is active, with its scope, client_id, sub and exp', async () => {
    const { tokens } = await obtainTokens(server, client, user)
    const body = await introspect(server, client, String(tokens.refresh_token))
    expect(body).toMatchObject({
      active: true,
      scope: 'openid profile email',
      client_id: client.clientId,
      sub: decodeJwt(String(tokens.id_token)).sub,
      exp: server.clock.now() + server.config.lifetimes.refreshTokenIdle,
      iss: server.url,
    })
  })

  it('RFC 7662 §2.1: token_type_hint does not limit the search', async () => {
    const { tokens } = await obtainTokens(server, client, user)
    expect(await introspect(server, client, String(tokens.access_token), 'refresh_token')).toMatchObject({ active: true })
    expect(await introspect(server, client, String(tokens.refresh_token), 'access_token')).toMatchObject({ active: true })
    expect(await introspect(server, client, String(tokens.refresh_token), 'bogus')).toMatchObject({ active: true })
  })

  it('RFC 7662 §2.2: unknown, malformed, revoked, rotated tokens and ID tokens are exactly {"active":false}', async () => {
    const a = await obtainTokens(server, client, user)
    const rotated = String(a.tokens.refresh_token)
    expect((await refresh(server, client, rotated)).status).toBe(200)
    const b = await obtainTokens(server, client, user)
    await expectRevoked200(await revoke(server, client, String(b.tokens.access_token)))
    for (const token of [
      'no-such-token',
      'a.b.c',
      'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
      rotated,
      String(b.tokens.access_token),
      String(a.tokens.id_token),
      a.code,
    ]) {
      expect(await introspect(server, client, token)).toEqual({ active: false })
    }
  })

  it('RFC 7662 §2.1 / SECURITY.md 17: another client’s tokens are {"active":false}', async () => {
    const { tokens } = await obtainTokens(server, client, user)
    expect(await introspect(server, other, String(tokens.access_token))).toEqual({ active: false })
    expect(await introspect(server, other, String(tokens.refresh_token))).toEqual({ active: false })
    // and asking did not revoke them
    expect(await introspect(server, client, String(tokens.access_token))).toMatchObject({ active: true })
  })

  it('RFC 7662 §2.1: introspection requires client authentication (401 invalid_client, WWW-Authenticate Basic)', async () => {
    const { tokens } = await obtainTokens(server, client, user)
    const form = { token: String(tokens.access_token) }
    await expectClientAuthRequired('/introspect', form)
    await expectError(await postForm(`${server.url}/introspect`, form, { authorization: `Bearer ${form.token}` }), 401, 'invalid_client')
  })

  it('RFC 7662 §2.1: a public client cannot introspect, not even its own tokens', async () => {
    const pub = await server.addClient({ isPublic: true, redirectUris: ['https://app.test/cb'] })
    const tokens = await obtainPublicTokens(server, pub, user)
    const body = await expectError(await callAs(server, '/introspect', pub, { token: String(tokens.access_token) }), 401, 'invalid_client')
    expect(body).not.toHaveProperty('active')
  })

  it('RFC 7662 §2.1: a missing or repeated token is 400 invalid_request; GET is 405', async () => {
    await expectError(await callAs(server, '/introspect', client, {}), 400, 'invalid_request')
    const twice = await fetch(`${server.url}/introspect`, {
      method: 'POST',
      headers: { ...authOf(client), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=a&token=b',
    })
    await expectError(twice, 400, 'invalid_request')
    const get = await fetch(`${server.url}/introspect?token=a`, { headers: authOf(client) })
    expect(get.status).toBe(405)
    expect(get.headers.get('allow')).toBe('POST')
  })

  it('RFC 7662 §2.2: an access token past its exp is {"active":false}', async () => {
    const { tokens } = await obtainTokens(server, client, user)
    server.clock.advance(server.config.lifetimes.accessToken - 1)
    expect(await introspect(server, client, String(tokens.access_token))).toMatchObject({ active: true })
    server.clock.advance(1)
    expect(await introspect(server, client, String(tokens.access_token))).toEqual({ active: false })
    // and revoking it is still a quiet 200
    await expectRevoked200(await revoke(server, client, String(tokens.access_token)))
  })
})

describe('bad input at /revoke and /introspect (checklist 4)', () => {
  beforeAll(async () => {
    server = await startServer()
    client = await server.addClient()
  })
  afterAll(() => server.close())

  for (const path of ['/revoke', '/introspect']) {
    it(`BI-04..BI-09 RFC 6749 §3.2: malformed bodies at ${path} are 400 invalid_request (413 when over 64 KiB), never 500`, async () => {
      const bodies: Array<{ type: string; body: string; status: number }> = [
        { type: 'application/x-www-form-urlencoded', body: 'token=%ZZ', status: 400 },
        { type: 'application/x-www-form-urlencoded', body: 'token=%C3%28', status: 400 },
        { type: 'application/x-www-form-urlencoded', body: 'token=a%00b', status: 400 },
        { type: 'application/x-www-form-urlencoded', body: `token=${'a'.repeat(9000)}`, status: 400 },
        { type: 'application/x-www-form-urlencoded', body: 'token[]=a', status: 400 },
        { type: 'application/x-www-form-urlencoded; charset=iso-8859-1', body: 'token=a', status: 400 },
        { type: 'text/plain', body: 'token=a', status: 400 },
        { type: 'application/x-www-form-urlencoded', body: `token=a&pad=${'a'.repeat(65 * 1024)}`, status: 413 },
      ]
      for (const { type, body, status } of bodies) {
        const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { ...authOf(client), 'content-type': type }, body })
        await expectError(response, status, 'invalid_request')
      }
      // and the endpoint still works
      expect((await callAs(server, path, client, { token: 'x' })).status).toBe(200)
    })
  }
})
