/**
 * The resource-server guard against a real authcode server (the server package's test harness):
 * checklist AA-05 and §3.5 (RFC 6750 §3), RFC 9068 §4. The server's clock drives the guard's, so
 * expiry needs no sleep.
 */
import { createPrivateKey, generateKeyPairSync } from 'node:crypto'
import { SignJWT, UnsecuredJWT, decodeProtectedHeader } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOperationGuard, loadDocument, parseAuthorization, type AsyncApiDocument, type GuardOptions, type OperationGuard } from '../../src/index.js'
import { obtainTokens, startServer, type TestClient, type TestServer } from '../../../server/test/harness.js'
import { reference } from '../fixtures.js'

const AUDIENCE = 'https://broker.test'

describe('createOperationGuard (chat-broker.v3.yaml) against an authcode server', () => {
  let server: TestServer
  let client: TestClient
  let user: { username: string; password: string }
  let doc: AsyncApiDocument
  let guard: OperationGuard
  /** An access token with `scope`, obtained through the whole authorization code flow. */
  const accessToken = async (scope: string): Promise<string> => {
    const { tokens } = await obtainTokens(server, client, user, { scope })
    return tokens.access_token as string
  }
  const options = (extra: Partial<GuardOptions> = {}): GuardOptions => ({
    issuer: server.url,
    audience: AUDIENCE,
    jwksUri: `${server.url}/jwks`,
    now: () => new Date(server.clock.now() * 1000),
    ...extra,
  })

  beforeAll(async () => {
    server = await startServer({
      scopes: { openid: 'Sign in', 'read:messages': 'Read messages', 'write:messages': 'Write messages', admin: 'Administer' },
      accessToken: { audience: AUDIENCE },
      keys: { activationDelay: 1, cacheTtl: 1 },
    })
    client = await server.addClient({ scope: 'openid read:messages write:messages admin' })
    user = await server.addUser()
    doc = await loadDocument(reference('chat-broker.v3.yaml'))
    guard = createOperationGuard(doc, options())
  })
  afterAll(async () => server?.close())

  it('knows each operation\'s required scopes', () => {
    expect(Object.fromEntries(guard.operations)).toEqual({
      sendMessage: [['write:messages']],
      receiveMessages: [['read:messages']],
      purgeRoom: [['admin']],
    })
  })

  it('RFC 9068 §4: accepts a good access token that holds the operation\'s scope', async () => {
    const token = await accessToken('openid read:messages write:messages')
    const result = await guard.check('sendMessage', `Bearer ${token}`)
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.claims?.iss).toBe(server.url)
    expect(result.claims?.client_id).toBe(client.clientId)
    expect(result.scopes).toContain('write:messages')
    expect((await guard.check('receiveMessages', [`bearer ${token}`])).ok).toBe(true)
  })

  it('RFC 6750 §3.1: a request without a token gets 401 and a bare Bearer challenge (no error code)', async () => {
    for (const missing of [undefined, '', []]) {
      const result = await guard.check('receiveMessages', missing)
      expect(result.ok).toBe(false)
      if (result.ok) continue
      expect(result.error).toMatchObject({ status: 401, error: undefined, wwwAuthenticate: 'Bearer' })
    }
  })

  it('RFC 6750 §3.1: a malformed Authorization header is invalid_request (400)', async () => {
    for (const header of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b', 'Bearer a"b', ['Bearer a', 'Bearer b']]) {
      const result = await guard.check('receiveMessages', header)
      expect(result.ok ? undefined : result.error.status, String(header)).toBe(400)
      expect(result.ok ? undefined : result.error.wwwAuthenticate).toMatch(/^Bearer error="invalid_request", error_description="[^"]+"$/)
    }
    expect(parseAuthorization('Bearer abc.def-_~+/==')).toEqual({ kind: 'token', token: 'abc.def-_~+/==', scheme: 'Bearer' })
  })

  it('RFC 9068 §4: an expired token is invalid_token (401), by the server\'s clock', async () => {
    const token = await accessToken('openid read:messages')
    expect((await guard.check('receiveMessages', `Bearer ${token}`)).ok).toBe(true)
    server.clock.advance(server.config.lifetimes.accessToken + 10)
    try {
      const result = await guard.check('receiveMessages', `Bearer ${token}`)
      expect(result.ok).toBe(false)
      if (result.ok) return
      expect(result.error.status).toBe(401)
      expect(result.error.wwwAuthenticate).toBe('Bearer error="invalid_token", error_description="the access token has expired"')
    } finally {
      server.clock.advance(-(server.config.lifetimes.accessToken + 10))
    }
  })

  it('RFC 9068 §4: forged tokens are invalid_token: altered claims, another key under the server\'s kid, alg none, HS256', async () => {
    const token = await accessToken('openid read:messages')
    const [header, payload, signature] = token.split('.') as [string, string, string]
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>
    const widened = Buffer.from(JSON.stringify({ ...claims, scope: 'openid read:messages write:messages admin' })).toString('base64url')
    const { kid, alg } = decodeProtectedHeader(token)
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const mine = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'ES256', kid: kid ?? 'x', typ: 'at+jwt' }).sign(createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' })))
    const none = new UnsecuredJWT({ ...claims }).encode()
    const hs = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).sign(new TextEncoder().encode('a shared secret that nobody should use'))
    expect(alg).toBe('ES256')
    for (const forged of [`${header}.${widened}.${signature}`, mine, none, hs, 'not-a-jwt']) {
      const result = await guard.check('receiveMessages', `Bearer ${forged}`)
      expect(result.ok, forged.slice(0, 40)).toBe(false)
      if (result.ok) continue
      expect(result.error.status).toBe(401)
      expect(result.error.error).toBe('invalid_token')
    }
  })

  it('RFC 9068 §4: a token for another audience, or from another issuer, is invalid_token', async () => {
    const token = await accessToken('openid read:messages')
    const otherAudience = await createOperationGuard(doc, options({ audience: 'https://other-broker.test' })).check('receiveMessages', `Bearer ${token}`)
    expect(otherAudience.ok ? undefined : otherAudience.error).toMatchObject({ status: 401, error: 'invalid_token', description: 'the access token is not meant for this resource server' })
    const otherIssuer = await createOperationGuard(doc, options({ issuer: 'https://as.other.test' })).check('receiveMessages', `Bearer ${token}`)
    expect(otherIssuer.ok ? undefined : otherIssuer.error).toMatchObject({ status: 401, error: 'invalid_token' })
  })

  it('RFC 9068 §2.1: an ID token (typ JWT) is not an access token', async () => {
    const { tokens } = await obtainTokens(server, client, user, { scope: 'openid read:messages' })
    // The ID token's audience is the client: check that typ is refused even when aud would pass.
    const idGuard = createOperationGuard(doc, options({ audience: client.clientId }))
    const result = await idGuard.check('receiveMessages', `Bearer ${tokens.id_token as string}`)
    expect(result.ok ? undefined : result.error).toMatchObject({ status: 401, error: 'invalid_token' })
  })

  it('RFC 6750 §3.1: a token without the operation\'s scope is insufficient_scope (403) naming the scope', async () => {
    const token = await accessToken('openid read:messages')
    const result = await guard.check('sendMessage', `Bearer ${token}`)
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.error).toMatchObject({ status: 403, error: 'insufficient_scope', scope: 'write:messages' })
    expect(result.error.wwwAuthenticate).toBe(
      'Bearer error="insufficient_scope", error_description="the operation sendMessage needs the scope write:messages", scope="write:messages"',
    )
  })

  it('RFC 7517: fetches the JWKS again for an unknown kid (key rotation)', async () => {
    const rotating = createOperationGuard(doc, options({ jwksCooldown: 0 }))
    const before = await accessToken('openid read:messages')
    expect((await rotating.check('receiveMessages', `Bearer ${before}`)).ok).toBe(true)
    await server.keys.rotate(server.clock.now())
    server.clock.advance(5)
    const after = await accessToken('openid read:messages')
    expect(decodeProtectedHeader(after).kid).not.toBe(decodeProtectedHeader(before).kid)
    expect((await rotating.check('receiveMessages', `Bearer ${after}`)).ok).toBe(true)
  })

  it('refuses caller mistakes with a TypeError: symmetric algorithms, an unknown operation', async () => {
    expect(() => createOperationGuard(doc, options({ algorithms: ['HS256'] }))).toThrow(TypeError)
    expect(() => createOperationGuard(doc, options({ jwksUri: 'not a url' }))).toThrow(TypeError)
    await expect(guard.check('deleteEverything', undefined)).rejects.toThrow(TypeError)
  })
})
