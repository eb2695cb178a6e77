/**
 * Discovery and signing keys over HTTP: RFC 8414 metadata and OpenID Provider configuration
 * (checklist 3.6, OT-01..OT-03, IS-03), the JWKS (RFC 7517), key rotation (OIDC Core §10.1.1) and
 * keys at rest (SECURITY.md item 25).
 */
import { createPrivateKey } from 'node:crypto'
import Database from 'better-sqlite3'
import { calculateJwkThumbprint, createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { obtainTokens, postForm, startServer, type TestClient, type TestServer } from '../harness.js'

type User = { username: string; password: string }
type Json = Record<string, unknown>

const PUBLIC_MEMBERS = new Set(['kty', 'kid', 'alg', 'use', 'crv', 'x', 'y', 'n', 'e'])

async function jwks(server: TestServer): Promise<JWK[]> {
  const response = await fetch(`${server.url}/jwks`)
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toMatch(/^application\/(jwk-set\+)?json/)
  return ((await response.json()) as { keys: JWK[] }).keys
}

async function metadata(server: TestServer, path: string): Promise<Json> {
  const response = await fetch(`${server.url}${path}`)
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  return (await response.json()) as Json
}

const kidOf = (jwt: unknown) => String(decodeProtectedHeader(String(jwt)).kid)

describe('server metadata (RFC 8414, OIDC Discovery)', () => {
  let server: TestServer
  let openid: Json
  let oauth: Json

  beforeAll(async () => {
    server = await startServer()
    openid = await metadata(server, '/.well-known/openid-configuration')
    oauth = await metadata(server, '/.well-known/oauth-authorization-server')
  })
  afterAll(() => server.close())

  it('RFC 8414 §3 / OIDC Discovery §4: both well-known documents are served and equal', () => {
    expect(oauth).toEqual(openid)
  })

  it('RFC 8414 §3.3 / IS-03: issuer is exactly the issuer the URL was built from', () => {
    expect(openid.issuer).toBe(server.url)
    expect(server.url.endsWith('/')).toBe(false)
  })

  it('RFC 8414 §2: every endpoint is the issuer plus its path, and answers there', async () => {
    expect(openid).toMatchObject({
      authorization_endpoint: `${server.url}/authorize`,
      token_endpoint: `${server.url}/token`,
      revocation_endpoint: `${server.url}/revoke`,
      introspection_endpoint: `${server.url}/introspect`,
      userinfo_endpoint: `${server.url}/userinfo`,
      jwks_uri: `${server.url}/jwks`,
    })
    // each answers like the endpoint it claims to be
    const token = await postForm(String(openid.token_endpoint), { grant_type: 'authorization_code', code: 'x' })
    expect(token.status).toBe(401)
    expect(((await token.json()) as Json).error).toBe('invalid_client')
    for (const name of ['revocation_endpoint', 'introspection_endpoint']) {
      expect((await postForm(String(openid[name]), { token: 'x' })).status).toBe(401)
    }
    const userinfo = await fetch(String(openid.userinfo_endpoint))
    expect(userinfo.status).toBe(401)
    expect(userinfo.headers.get('www-authenticate')).toMatch(/^Bearer realm=/)
    expect((await fetch(String(openid.jwks_uri))).status).toBe(200)
    const authorize = await fetch(String(openid.authorization_endpoint), { redirect: 'manual' })
    expect(authorize.status).toBe(400)
  })

  it('RFC 9700 §2.1.1 / PK-03: S256 is the only PKCE method', () => {
    expect(openid.code_challenge_methods_supported).toEqual(['S256'])
  })

  it('RFC 9700 §2.1.2, §2.4 / OT-01: code is the only response type; no implicit or password grant', () => {
    expect(openid.response_types_supported).toEqual(['code'])
    const grants = openid.grant_types_supported as string[]
    expect(grants).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token']))
    for (const banned of ['implicit', 'password', 'client_credentials']) expect(grants).not.toContain(banned)
    expect(openid.response_modes_supported ?? ['query']).not.toContain('fragment')
  })

  it('RFC 9207 §3: authorization_response_iss_parameter_supported is true', () => {
    expect(openid.authorization_response_iss_parameter_supported).toBe(true)
  })

  it('OIDC Discovery §3: required OpenID members; no alg none; RS256 offered for ID tokens', () => {
    expect(openid.subject_types_supported).toEqual(['public'])
    expect(openid.scopes_supported).toEqual(expect.arrayContaining(['openid']))
    expect(openid.scopes_supported).toEqual(Object.keys(server.config.scopes))
    const idAlgs = openid.id_token_signing_alg_values_supported as string[]
    expect(idAlgs).toContain('RS256')
    expect(idAlgs.map((alg) => alg.toLowerCase())).not.toContain('none')
    const atAlgs = (openid.access_token_signing_alg_values_supported ?? []) as string[]
    expect(atAlgs.map((alg) => alg.toLowerCase())).not.toContain('none')
    expect(atAlgs).toContain(server.config.accessToken.alg)
  })

  it('RFC 8414 §2: client authentication methods are the ones the server implements', () => {
    expect(new Set(openid.token_endpoint_auth_methods_supported as string[])).toEqual(new Set(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']))
    // introspection refuses public clients, so it must not advertise none
    expect(openid.introspection_endpoint_auth_methods_supported as string[]).not.toContain('none')
  })

  it('RFC 8414 §2: no member is an empty array, and every URL is absolute under the issuer', () => {
    for (const [name, value] of Object.entries(openid)) {
      if (Array.isArray(value)) expect({ name, length: value.length }).not.toEqual({ name, length: 0 })
      if (name.endsWith('_endpoint') || name === 'jwks_uri') expect(String(value).startsWith(`${server.url}/`)).toBe(true)
    }
  })

  it('OT-01 RFC 8414 §2: every algorithm advertised for ID tokens has a published key', async () => {
    const published = new Set((await jwks(server)).map((key) => key.alg))
    for (const alg of openid.id_token_signing_alg_values_supported as string[]) expect(published).toContain(alg)
  })
})

describe('metadata for an issuer with a path (RFC 8414 §3.1)', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ issuer: 'http://localhost:4999/tenant' })
  })
  afterAll(() => server.close())

  it('RFC 8414 §3.1: /.well-known/oauth-authorization-server/tenant, and the OpenID document under the issuer, name the issuer', async () => {
    const oauth = await server.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server/tenant' })
    expect(oauth.statusCode).toBe(200)
    const openid = await server.app.inject({ method: 'GET', url: '/tenant/.well-known/openid-configuration' })
    expect(openid.statusCode).toBe(200)
    expect(oauth.json()).toEqual(openid.json())
    expect(oauth.json()).toMatchObject({ issuer: 'http://localhost:4999/tenant', token_endpoint: 'http://localhost:4999/tenant/token' })
    // not at the root
    expect((await server.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).statusCode).toBe(404)
  })
})

describe('signing keys (RFC 7517, OIDC Core §10.1.1, SECURITY.md 25)', () => {
  let server: TestServer
  let client: TestClient
  let user: User

  beforeAll(async () => {
    server = await startServer()
    client = await server.addClient()
    user = await server.addUser()
  })
  afterAll(() => server.close())

  it('OT-03 RFC 7517 §5: the JWKS has one key per algorithm, unique kids (RFC 7638 thumbprints), public members only', async () => {
    const keys = await jwks(server)
    expect(keys.map((key) => key.alg).sort()).toEqual(['ES256', 'EdDSA', 'RS256'])
    expect(new Set(keys.map((key) => key.kid)).size).toBe(keys.length)
    for (const key of keys) {
      for (const member of Object.keys(key)) expect(PUBLIC_MEMBERS).toContain(member)
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']) expect(key).not.toHaveProperty(secret)
      expect(key.use).toBe('sig')
      expect(key.kid).toBe(await calculateJwkThumbprint(key, 'sha256'))
    }
  })

  it('SECURITY.md 25: private keys are encrypted at rest; no signing_keys column holds a PEM or a private JWK member', async () => {
    const file = server.config.db.replace(/^sqlite:/, '')
    const db = new Database(file, { readonly: true, fileMustExist: true })
    let rows: Array<Record<string, unknown>>
    try {
      rows = db.prepare('SELECT * FROM signing_keys').all() as Array<Record<string, unknown>>
    } finally {
      db.close()
    }
    expect(rows.length).toBeGreaterThanOrEqual(3)
    for (const row of rows) {
      for (const value of Object.values(row)) {
        const text = String(value)
        expect(text).not.toMatch(/PRIVATE KEY|BEGIN /)
        expect(text).not.toMatch(/"(d|p|q|dp|dq|qi|k)"\s*:/)
      }
      const publicJwk = JSON.parse(String(row.public_jwk)) as Json
      for (const member of Object.keys(publicJwk)) expect(PUBLIC_MEMBERS).toContain(member)
      const sealed = String(row.private_key_encrypted)
      expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/)
      // no part of it is a usable PKCS#8 key by itself
      for (const part of sealed.split('.').slice(1)) {
        expect(() => createPrivateKey({ key: Buffer.from(part, 'base64url'), format: 'der', type: 'pkcs8' })).toThrow()
      }
    }
  })

  it('OIDC Core §10.1.1 / OT-03: rotation publishes the new keys at once, the old ones keep signing until activation, then step aside and leave after their tokens expired', async () => {
    const activationDelay = server.config.keys.activationDelay
    const maxTokenLifetime = Math.max(server.config.lifetimes.accessToken, server.config.lifetimes.idToken)
    const before = await jwks(server)
    const oldKids = new Set(before.map((key) => key.kid))

    const rotatedAt = server.clock.now()
    const newKids = await server.keys.rotate(rotatedAt)
    expect(newKids).toHaveLength(3)

    // published at once, next to the old ones
    const published = await jwks(server)
    expect(published).toHaveLength(6)
    for (const kid of [...oldKids, ...newKids]) expect(published.map((key) => key.kid)).toContain(kid)

    // the old keys still sign until the new ones activate
    const duringDelay = await obtainTokens(server, client, user)
    expect(oldKids).toContain(kidOf(duringDelay.tokens.access_token))
    expect(oldKids).toContain(kidOf(duringDelay.tokens.id_token))
    server.clock.advance(activationDelay - 1)
    const lastOld = await obtainTokens(server, client, user)
    expect(oldKids).toContain(kidOf(lastOld.tokens.access_token))

    // then the new keys sign
    server.clock.advance(1)
    const afterActivation = await obtainTokens(server, client, user)
    expect(newKids).toContain(kidOf(afterActivation.tokens.access_token))
    expect(newKids).toContain(kidOf(afterActivation.tokens.id_token))

    // tokens signed by the old key still verify, at /userinfo and with the published JWKS
    const oldToken = String(lastOld.tokens.access_token)
    expect((await fetch(`${server.url}/userinfo`, { headers: { authorization: `Bearer ${oldToken}` } })).status).toBe(200)
    const remote = createRemoteJWKSet(new URL(`${server.url}/jwks`))
    const currentDate = new Date(server.clock.now() * 1000)
    await jwtVerify(String(lastOld.tokens.id_token), remote, { issuer: server.url, audience: client.clientId, currentDate })
    await jwtVerify(String(afterActivation.tokens.id_token), remote, { issuer: server.url, audience: client.clientId, currentDate })
    expect((await jwks(server)).map((key) => key.kid)).toEqual(expect.arrayContaining([...oldKids]))

    // the old keys stay published while a token they signed may be alive, and leave after
    const supersededAt = rotatedAt + activationDelay
    server.clock.advance(supersededAt + maxTokenLifetime - 1 - server.clock.now())
    expect((await jwks(server)).map((key) => key.kid)).toEqual(expect.arrayContaining([...oldKids]))
    server.clock.advance(1)
    const final = (await jwks(server)).map((key) => key.kid)
    expect(final.sort()).toEqual([...newKids].sort())
    for (const kid of oldKids) expect(final).not.toContain(kid)

    // the server keeps issuing and accepting tokens throughout
    const later = await obtainTokens(server, client, user)
    expect(newKids).toContain(kidOf(later.tokens.access_token))
    expect((await fetch(`${server.url}/userinfo`, { headers: { authorization: `Bearer ${String(later.tokens.access_token)}` } })).status).toBe(200)
  })
})
