/**
 * The guard when the authorization server's JWKS endpoint fails (SECURITY 13), against a JWKS
 * served by node:http on 127.0.0.1: the answer is 503 `temporarily_unavailable`, never 401
 * `invalid_token`; failed fetches back off instead of one per check; keys already fetched keep
 * verifying; tokens verify again once the endpoint recovers. The guard's clock is the test's.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createOperationGuard, loadDocument, type AsyncApiDocument, type GuardOptions, type GuardResult } from '../../src/index.js'
import { fixture } from '../fixtures.js'

const ISSUER = 'https://as.test'
const AUDIENCE = 'https://broker.test'
const OPERATION = 'placeOrder'

type Mode = 'ok' | 'status500' | 'not-json' | 'not-a-jwks' | 'reset'

/** The JWKS endpoint: what it answers, which keys it publishes, how often it was asked. */
const jwks = { mode: 'ok' as Mode, keys: [] as JWK[], fetches: 0 }
/** The keys the endpoint publishes when it works (k1 only, unless a test rotates). */
let published: JWK[] = []
let server: Server
let jwksUri: string
let doc: AsyncApiDocument
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey']
const signers: Record<string, PrivateKey> = {}
let clock = Date.now()

beforeAll(async () => {
  doc = await loadDocument(fixture('valid.v3.yaml'))
  for (const kid of ['k1', 'k2']) {
    const { publicKey, privateKey } = await generateKeyPair('ES256')
    signers[kid] = privateKey
    jwks.keys.push({ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' })
  }
  server = createServer((request, response) => {
    jwks.fetches += 1
    switch (jwks.mode) {
      case 'ok':
        return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published }))
      case 'status500':
        return void response.writeHead(500, { 'content-type': 'text/plain' }).end('internal error')
      case 'not-json':
        return void response.writeHead(200, { 'content-type': 'application/json' }).end('<html>maintenance</html>')
      case 'not-a-jwks':
        return void response.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":"none"}')
      case 'reset':
        return void request.socket.destroy()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  jwksUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`
})

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve))
})

beforeEach(() => {
  jwks.mode = 'ok'
  jwks.fetches = 0
  published = jwks.keys.slice(0, 1)
  clock = Date.now()
})

function guardOf(options: Partial<GuardOptions> = {}) {
  return createOperationGuard(doc, { issuer: ISSUER, audience: AUDIENCE, jwksUri, now: () => new Date(clock), ...options })
}

async function token(kid = 'k1'): Promise<string> {
  const iat = Math.floor(clock / 1000)
  return new SignJWT({ scope: 'orders:write', client_id: 'c1' })
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('user-1')
    .setIssuedAt(iat)
    .setExpirationTime(iat + 3600)
    .sign(signers[kid] as PrivateKey)
}

function statusOf(result: GuardResult): number | 'ok' {
  return result.ok ? 'ok' : result.error.status
}

describe('the guard while the JWKS endpoint fails (SECURITY 13)', () => {
  it('SECURITY 13: a JWKS answering 500 (or garbage, or resetting the connection) makes a valid token 503 temporarily_unavailable, not 401 invalid_token', async () => {
    const valid = await token()
    for (const mode of ['status500', 'not-json', 'not-a-jwks', 'reset'] as const) {
      jwks.mode = mode
      const result = await guardOf().check(OPERATION, `Bearer ${valid}`)
      expect(result.ok, mode).toBe(false)
      if (result.ok) continue
      expect(result.error, mode).toEqual({
        status: 503,
        error: 'temporarily_unavailable',
        description: "the authorization server's keys cannot be fetched; try again later",
        scope: undefined,
        wwwAuthenticate: 'Bearer',
        retryAfter: 1,
      })
    }
    // A bad request is still the request's fault, whatever the JWKS does.
    expect(statusOf(await guardOf().check(OPERATION, undefined))).toBe(401)
    expect(statusOf(await guardOf().check(OPERATION, 'Bearer a b'))).toBe(400)
  })

  it('SECURITY 13: checks during an outage do not each fetch the JWKS: one fetch, then a wait that doubles (1 s, 2 s, 4 s …, at most jwksRetryMaxDelay)', async () => {
    jwks.mode = 'status500'
    const guard = guardOf({ jwksRetryMaxDelay: 8000 })
    const valid = `Bearer ${await token()}`
    const results = await Promise.all(Array.from({ length: 50 }, () => guard.check(OPERATION, valid)))
    expect(new Set(results.map(statusOf))).toEqual(new Set([503]))
    expect(jwks.fetches).toBe(1)

    // Then fetches at +1 s, +3 s, +7 s, +15 s, +23 s, +31 s …: each wait twice the last, up to 8 s.
    const fetchedAt: number[] = []
    const start = clock
    for (let elapsed = 0; elapsed <= 31_000; elapsed += 100) {
      clock = start + elapsed
      const before = jwks.fetches
      const result = await guard.check(OPERATION, valid)
      expect(result.ok ? undefined : result.error.error).toBe('temporarily_unavailable')
      if (jwks.fetches > before) fetchedAt.push(elapsed)
    }
    expect(fetchedAt).toEqual([1000, 3000, 7000, 15_000, 23_000, 31_000])
  })

  it('SECURITY 13: when the JWKS endpoint recovers, tokens verify again at the next retry', async () => {
    jwks.mode = 'status500'
    const guard = guardOf()
    const valid = `Bearer ${await token()}`
    const refused = await guard.check(OPERATION, valid)
    expect(refused.ok ? undefined : refused.error.retryAfter).toBe(1)
    jwks.mode = 'ok'
    expect(statusOf(await guard.check(OPERATION, valid))).toBe(503)
    clock += 1000
    expect(statusOf(await guard.check(OPERATION, valid))).toBe('ok')
    expect(jwks.fetches).toBe(2)
  })

  it('SECURITY 13: a token whose kid is in the cached JWKS keeps verifying when a refresh fails; an unknown kid is 503 until the JWKS can be fetched', async () => {
    const guard = guardOf({ jwksMaxAge: 60_000, jwksCooldown: 0 })
    const k1 = `Bearer ${await token('k1')}`
    const k2 = `Bearer ${await token('k2')}`
    expect(statusOf(await guard.check(OPERATION, k1))).toBe('ok')
    expect(jwks.fetches).toBe(1)

    jwks.mode = 'status500'
    clock += 60_000 // the cached JWKS is due for a refresh, which fails
    for (let i = 0; i < 20; i += 1) expect(statusOf(await guard.check(OPERATION, k1))).toBe('ok')
    expect(jwks.fetches).toBe(2)
    // A key rotated in during the outage cannot be known yet: not the token's fault.
    expect(statusOf(await guard.check(OPERATION, k2))).toBe(503)
    expect(jwks.fetches).toBe(2)

    jwks.mode = 'ok'
    published = jwks.keys
    clock += 1000
    expect(statusOf(await guard.check(OPERATION, k2))).toBe('ok')
    expect(statusOf(await guard.check(OPERATION, k1))).toBe('ok')
    expect(jwks.fetches).toBe(3)
  })

  it('RFC 7517: with the JWKS up, an unknown kid is 401 invalid_token and refetches at most once per jwksCooldown', async () => {
    const guard = guardOf({ jwksCooldown: 30_000 })
    expect(statusOf(await guard.check(OPERATION, `Bearer ${await token('k1')}`))).toBe('ok')
    const unknown = `Bearer ${await token('k2')}`
    for (let i = 0; i < 10; i += 1) {
      const result = await guard.check(OPERATION, unknown)
      expect(result.ok ? undefined : result.error).toMatchObject({ status: 401, error: 'invalid_token', description: 'the access token is signed with an unknown key' })
    }
    expect(jwks.fetches).toBe(1)
    clock += 30_000
    await guard.check(OPERATION, unknown)
    expect(jwks.fetches).toBe(2)
  })

  it('checks the retry options (TypeError)', () => {
    expect(() => guardOf({ jwksRetryDelay: -1 })).toThrow(TypeError)
    expect(() => guardOf({ jwksRetryMaxDelay: Number.NaN })).toThrow(TypeError)
  })
})
