/**
 * The refresh token grant over HTTP (RFC 6749 §6; OAuth 2.1 §4.3; RFC 9700 §4.14; OIDC Core
 * §12.2): checklist RT-01..RT-07, RT-09, RT-11 and SECURITY.md item 14 (rotation on every use,
 * reuse revokes the family, no widening).
 */
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  basicAuth,
  obtainTokens,
  postForm,
  startServer,
  type TestClient,
  type TestServer,
} from '../harness.js'
import { clientAuthHeaders as authOf, expectOAuthError as expectTokenError, expectTokens, introspect, obtainPublicTokens, refresh, userinfoStatus, type Json, type User } from '../back-channel.js'


describe('the refresh token grant', () => {
  let server: TestServer
  let client: TestClient
  let user: User

  beforeAll(async () => {
    server = await startServer()
    client = await server.addClient()
    user = await server.addUser()
  })
  afterAll(() => server.close())

  it('RT-01 RFC 6749 §6 / OIDC Core §12.2: a refresh gives new tokens; the ID token keeps iss, sub, aud, azp and auth_time, with a new iat', async () => {
    const { tokens } = await obtainTokens(server, client, user)
    const first = decodeJwt(String(tokens.id_token))
    server.clock.advance(10)
    const refreshed = await expectTokens(await refresh(server, client, String(tokens.refresh_token)))
    expect(refreshed).toMatchObject({ token_type: 'Bearer', expires_in: server.config.lifetimes.accessToken, scope: 'openid profile email' })
    expect(refreshed.access_token).not.toBe(tokens.access_token)
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token)
    const second = decodeJwt(String(refreshed.id_token))
    expect(second).toMatchObject({ iss: first.iss, sub: first.sub, aud: first.aud, azp: first.azp, auth_time: first.auth_time })
    expect(second.iat).toBe(Number(first.iat) + 10)
    // OIDC Core §12.2 (errata): a nonce, if present at all, is the original one
    if (second.nonce !== undefined) expect(second.nonce).toBe(first.nonce)
    expect(await userinfoStatus(server, String(refreshed.access_token))).toBe(200)
    // the access token from before the refresh keeps working until it expires
    expect(await userinfoStatus(server, String(tokens.access_token))).toBe(200)
  })

  it('RFC 9700 §4.14.2: refresh tokens rotate on every use; each used one is refused afterwards', async () => {
    const { tokens } = await obtainTokens(server, client, user)
    const seen = [String(tokens.refresh_token)]
    for (let i = 0; i < 3; i++) {
      const next = await expectTokens(await refresh(server, client, seen.at(-1) ?? ''))
      expect(seen).not.toContain(next.refresh_token)
      seen.push(String(next.refresh_token))
    }
    expect(await introspect(server, client, seen.at(-1) ?? '')).toMatchObject({ active: true, token_type: 'refresh_token' })
    expect(await introspect(server, client, seen[0] ?? '')).toEqual({ active: false })
  })

  it('RT-06 RFC 9700 §4.14.2: reuse of a rotated token is invalid_grant and revokes the family, the newest token and its access tokens included', async () => {
    const { tokens } = await obtainTokens(server, client, user)
    const rt1 = String(tokens.refresh_token)
    const second = await expectTokens(await refresh(server, client, rt1))
    const third = await expectTokens(await refresh(server, client, String(second.refresh_token)))
    expect(await userinfoStatus(server, String(third.access_token))).toBe(200)

    await expectTokenError(await refresh(server, client, rt1), 400, 'invalid_grant')

    await expectTokenError(await refresh(server, client, String(third.refresh_token)), 400, 'invalid_grant')
    for (const accessToken of [tokens.access_token, second.access_token, third.access_token]) {
      expect(await userinfoStatus(server, String(accessToken))).toBe(401)
      expect(await introspect(server, client, String(accessToken))).toEqual({ active: false })
    }
    expect(await introspect(server, client, String(third.refresh_token))).toEqual({ active: false })
  })

  it('RT-06 OAuth 2.1 §4.3.1: a public client rotates too, and reuse revokes the family', async () => {
    const pub = await server.addClient({ isPublic: true, redirectUris: ['https://app.test/cb'] })
    const tokens = await obtainPublicTokens(server, pub, user)
    const rt1 = String(tokens.refresh_token)
    const second = await expectTokens(await refresh(server, pub, rt1))
    await expectTokenError(await refresh(server, pub, rt1), 400, 'invalid_grant')
    await expectTokenError(await refresh(server, pub, String(second.refresh_token)), 400, 'invalid_grant')
    expect(await userinfoStatus(server, String(second.access_token))).toBe(401)
    expect(await userinfoStatus(server, String(tokens.access_token))).toBe(401)
  })

  it('RT-07 RFC 9700 §4.14.2: twenty concurrent refreshes with one token give exactly one 200, and the family is then revoked', async () => {
    const { tokens } = await obtainTokens(server, client, user)
    const responses = await Promise.all(Array.from({ length: 20 }, () => refresh(server, client, String(tokens.refresh_token))))
    const statuses = responses.map((response) => response.status)
    expect(statuses.filter((status) => status === 200)).toHaveLength(1)
    expect(statuses.filter((status) => status === 400)).toHaveLength(19)
    let winner: Json | undefined
    for (const response of responses) {
      const body = (await response.json()) as Json
      if (response.status === 200) winner = body
      else expect(body.error).toBe('invalid_grant')
    }
    await expectTokenError(await refresh(server, client, String(winner?.refresh_token)), 400, 'invalid_grant')
    expect(await userinfoStatus(server, String(winner?.access_token))).toBe(401)
  })

  it('RT-02 OAuth 2.1 §4.3.1: another client with valid credentials gets invalid_grant, and the token stays usable for its own client', async () => {
    const other = await server.addClient()
    const { tokens } = await obtainTokens(server, client, user)
    await expectTokenError(await refresh(server, other, String(tokens.refresh_token)), 400, 'invalid_grant')
    expect(await introspect(server, other, String(tokens.refresh_token))).toEqual({ active: false })
    await expectTokens(await refresh(server, client, String(tokens.refresh_token)))
  })

  it('RT-02 OAuth 2.1 §4.3.1: a public client cannot use another public client’s refresh token', async () => {
    const p1 = await server.addClient({ isPublic: true, redirectUris: ['https://app.test/cb'] })
    const p2 = await server.addClient({ isPublic: true, redirectUris: ['https://app.test/cb'] })
    const tokens = await obtainPublicTokens(server, p1, user)
    await expectTokenError(await refresh(server, p2, String(tokens.refresh_token)), 400, 'invalid_grant')
    await expectTokens(await refresh(server, p1, String(tokens.refresh_token)))
  })

  it('RT-03 RFC 6749 §6: a confidential client refreshing without authentication or with a wrong secret is 401 invalid_client, the token unspent', async () => {
    const { tokens } = await obtainTokens(server, client, user)
    const form = { grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token) }
    await expectTokenError(await postForm(`${server.url}/token`, form), 401, 'invalid_client')
    await expectTokenError(await postForm(`${server.url}/token`, { ...form, client_id: client.clientId }), 401, 'invalid_client')
    await expectTokenError(await postForm(`${server.url}/token`, form, { authorization: basicAuth(client.clientId, 'wrong') }), 401, 'invalid_client')
    await expectTokens(await refresh(server, client, String(tokens.refresh_token)))
  })

  it('RT-04 RFC 6749 §6: a scope wider than granted is invalid_scope and does not spend the token', async () => {
    const { tokens } = await obtainTokens(server, client, user, { scope: 'openid profile' })
    for (const scope of ['openid profile email', 'openid admin', 'email']) {
      await expectTokenError(await refresh(server, client, String(tokens.refresh_token), { scope }), 400, 'invalid_scope')
    }
    await expectTokenError(await refresh(server, client, String(tokens.refresh_token), { scope: 'openid "profile' }), 400, 'invalid_scope')
    const refreshed = await expectTokens(await refresh(server, client, String(tokens.refresh_token)))
    expect(refreshed.scope).toBe('openid profile')
  })

  it('RT-05 RFC 6749 §6: a narrower scope narrows the access token; the new refresh token keeps the original scope', async () => {
    const { tokens } = await obtainTokens(server, client, user)
    const narrow = await expectTokens(await refresh(server, client, String(tokens.refresh_token), { scope: 'openid' }))
    expect(narrow.scope).toBe('openid')
    expect(decodeJwt(String(narrow.access_token)).scope).toBe('openid')
    const info = await fetch(`${server.url}/userinfo`, { headers: { authorization: `Bearer ${String(narrow.access_token)}` } })
    expect(Object.keys((await info.json()) as Json)).toEqual(['sub'])
    expect(await introspect(server, client, String(narrow.refresh_token))).toMatchObject({ active: true, scope: 'openid profile email' })

    const noOpenid = await expectTokens(await refresh(server, client, String(narrow.refresh_token), { scope: 'profile' }))
    expect(noOpenid.scope).toBe('profile')
    expect(noOpenid).not.toHaveProperty('id_token')

    const full = await expectTokens(await refresh(server, client, String(noOpenid.refresh_token), { scope: 'openid profile email' }))
    expect(full.scope).toBe('openid profile email')
    const empty = await expectTokens(await refresh(server, client, String(full.refresh_token), { scope: '' }))
    expect(empty.scope).toBe('openid profile email')
  })

  it('RT-11 RFC 6749 §5.2: a modified, truncated or unknown refresh token, an access token or a code is invalid_grant', async () => {
    const { tokens, code } = await obtainTokens(server, client, user)
    const rt = String(tokens.refresh_token)
    const flipped = `${rt.slice(0, -1)}${rt.endsWith('A') ? 'B' : 'A'}`
    for (const bad of [flipped, rt.slice(0, 30), `${rt}A`, String(tokens.access_token), String(tokens.id_token), code, 'x']) {
      await expectTokenError(await refresh(server, client, bad), 400, 'invalid_grant')
    }
    // none of those touched the real token
    await expectTokens(await refresh(server, client, rt))
  })

  it('RFC 6749 §3.2: refresh_token twice, or missing, is invalid_request', async () => {
    const { tokens } = await obtainTokens(server, client, user)
    const rt = String(tokens.refresh_token)
    const twice = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { ...authOf(client), 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=refresh_token&refresh_token=${rt}&refresh_token=${rt}`,
    })
    await expectTokenError(twice, 400, 'invalid_request')
    await expectTokenError(await postForm(`${server.url}/token`, { grant_type: 'refresh_token' }, authOf(client)), 400, 'invalid_request')
    await expectTokens(await refresh(server, client, rt))
  })

  it('TK-16 RFC 6749 §5.2: a client without the refresh_token grant gets no refresh token and unauthorized_client when it tries', async () => {
    const registered = await server.addClient()
    const record = { ...registered.record, clientId: `${registered.clientId}-noref`, grantTypes: ['authorization_code' as const] }
    await server.store.createClient(record)
    const noRefresh: TestClient = { record, clientId: record.clientId, secret: registered.secret, redirectUri: registered.redirectUri }
    const { tokens } = await obtainTokens(server, noRefresh, user)
    expect(tokens).not.toHaveProperty('refresh_token')
    const other = await obtainTokens(server, client, user)
    await expectTokenError(await refresh(server, noRefresh, String(other.tokens.refresh_token)), 400, 'unauthorized_client')
    // the token of the client that tried nothing is still good
    await expectTokens(await refresh(server, client, String(other.tokens.refresh_token)))
  })
})

describe('refresh token lifetimes', () => {
  let server: TestServer
  let client: TestClient
  let user: User

  beforeAll(async () => {
    server = await startServer({ lifetimes: { refreshTokenIdle: 100, refreshTokenAbsolute: 250 } })
    client = await server.addClient()
    user = await server.addUser()
  })
  afterAll(() => server.close())

  it('RT-09 RFC 9700 §4.14.2: a refresh token idle past lifetimes.refreshTokenIdle is invalid_grant', async () => {
    const early = await obtainTokens(server, client, user)
    const late = await obtainTokens(server, client, user)
    server.clock.advance(99)
    await expectTokens(await refresh(server, client, String(early.tokens.refresh_token)))
    server.clock.advance(1)
    await expectTokenError(await refresh(server, client, String(late.tokens.refresh_token)), 400, 'invalid_grant')
    expect(await introspect(server, client, String(late.tokens.refresh_token))).toEqual({ active: false })
  })

  it('RT-09 RFC 9700 §4.14.2: a family ends at lifetimes.refreshTokenAbsolute however often it is refreshed', async () => {
    const { tokens } = await obtainTokens(server, client, user)
    let rt = String(tokens.refresh_token)
    for (const step of [90, 90, 69]) {
      server.clock.advance(step)
      rt = String((await expectTokens(await refresh(server, client, rt))).refresh_token)
    }
    // 249 s after the grant: the newest token was issued 0 s ago but the family has 1 s left
    expect(await introspect(server, client, rt)).toMatchObject({ active: true })
    server.clock.advance(1)
    await expectTokenError(await refresh(server, client, rt), 400, 'invalid_grant')
    expect(await introspect(server, client, rt)).toEqual({ active: false })
  })
})
