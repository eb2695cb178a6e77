import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { SignJWT, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import type { KeyStore, SigningAlg, SigningKeyRecord } from '../protocol/store.js'
import { SIGNING_ALGS } from './algorithms.js'
import { jwkThumbprint } from './key-generation.js'
import { KeyRing } from './key-ring.js'
import { JwtVerificationError, signJwt, verifyJwt, type VerifyJwtOptions } from './jws.js'

/** Test double of the KeyStore over an array (the SQL stores have their own suite). */
class MemoryKeyStore implements KeyStore {
  rows: SigningKeyRecord[] = []
  failing = false

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    if (this.failing) throw new Error('database is down')
    return this.rows.map((row) => ({ ...row }))
  }

  async insertSigningKeys(keys: SigningKeyRecord[]): Promise<void> {
    this.rows.push(...keys.map((key) => ({ ...key })))
  }

  async deleteSigningKeys(kids: string[]): Promise<void> {
    this.rows = this.rows.filter((row) => !kids.includes(row.kid))
  }

  async retireSigningKey(kid: string, now: number): Promise<boolean> {
    const row = this.rows.find((r) => r.kid === kid && r.retiredAt === null)
    if (row !== undefined) row.retiredAt = now
    return row !== undefined
  }
}

const NOW = 1_700_000_000
const ISSUER = 'https://auth.example.com'
const AUDIENCE = 'https://api.example.com'

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss: ISSUER, sub: 'user-1', aud: AUDIENCE, iat: NOW, exp: NOW + 300, jti: 'j1', ...overrides }
}

let store: MemoryKeyStore
let keyRing: KeyRing

beforeAll(async () => {
  store = new MemoryKeyStore()
  keyRing = new KeyRing(store, randomBytes(32), { activationDelay: 3600, maxTokenLifetime: 3600, cacheTtl: 60 })
  await keyRing.ensureKeys(NOW - 10)
})

function options(overrides: Partial<VerifyJwtOptions> = {}): VerifyJwtOptions {
  return { keyRing, issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt', algorithms: [...SIGNING_ALGS], now: NOW, ...overrides }
}

async function rejection(token: string, opts: VerifyJwtOptions = options()): Promise<JwtVerificationError> {
  try {
    await verifyJwt(token, opts)
  } catch (err) {
    expect(err).toBeInstanceOf(JwtVerificationError)
    const refused = err as JwtVerificationError
    // The message is fixed text: nothing of the token leaks into it.
    for (const part of token.split('.')) if (part.length > 4) expect(refused.message).not.toContain(part.slice(0, 8))
    return refused
  }
  throw new Error('verifyJwt accepted the token')
}

/** `typ: null` signs without a typ header (an `undefined` argument would take the default). */
async function token(alg: SigningAlg = 'ES256', typ: string | null = 'at+jwt', payload = claims()): Promise<string> {
  return signJwt(await keyRing.signingKey(alg, NOW), typ ?? undefined, payload)
}

describe('signJwt', () => {
  it.each(SIGNING_ALGS)('%s: output verifies with jose against the published JWKS', async (alg) => {
    const key = await keyRing.signingKey(alg, NOW)
    const jwt = await signJwt(key, 'at+jwt', claims())
    expect(decodeProtectedHeader(jwt)).toEqual({ alg, kid: key.kid, typ: 'at+jwt' })
    const jwks = createLocalJWKSet(await keyRing.jwks(NOW))
    const { payload, protectedHeader } = await jwtVerify(jwt, jwks, {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: [alg],
      currentDate: new Date(NOW * 1000),
    })
    expect(payload).toEqual(claims())
    expect(protectedHeader.alg).toBe(alg)
  })

  it.each(SIGNING_ALGS)('%s: verifyJwt accepts it', async (alg) => {
    const jwt = await token(alg)
    await expect(verifyJwt(jwt, options({ algorithms: [alg] }))).resolves.toEqual(claims())
  })

  it('omits typ when undefined', async () => {
    const jwt = await token('EdDSA', null)
    expect(decodeProtectedHeader(jwt)).not.toHaveProperty('typ')
    await expect(verifyJwt(jwt, options({ typ: undefined }))).resolves.toMatchObject({ sub: 'user-1' })
  })

  it('refuses a key that does not fit the algorithm', async () => {
    const es = await keyRing.signingKey('ES256', NOW)
    await expect(signJwt({ ...es, alg: 'RS256' }, undefined, claims())).rejects.toThrow(TypeError)
    const pub = generateKeyPairSync('ed25519').publicKey
    await expect(signJwt({ kid: 'x', alg: 'EdDSA', key: pub }, undefined, claims())).rejects.toThrow(TypeError)
  })
})

describe('verifyJwt', () => {
  it('RFC 9068 §4: typ is compared case-insensitively, application/ prefix optional', async () => {
    for (const typ of ['at+jwt', 'AT+JWT', 'application/at+jwt', 'Application/At+Jwt']) {
      await expect(verifyJwt(await token('ES256', typ), options())).resolves.toMatchObject({ jti: 'j1' })
    }
    await expect(verifyJwt(await token('ES256', 'at+jwt'), options({ typ: 'application/at+jwt' }))).resolves.toBeDefined()
  })

  it('aud may be one of several; audience is not checked when not asked for', async () => {
    await expect(verifyJwt(await token('ES256', 'at+jwt', claims({ aud: ['other', AUDIENCE] })), options())).resolves.toBeDefined()
    await expect(verifyJwt(await token('ES256', 'at+jwt', claims({ aud: 'other' })), options({ audience: undefined }))).resolves.toBeDefined()
  })

  it('honours clockTolerance', async () => {
    const jwt = await token('ES256', 'at+jwt', claims({ exp: NOW - 5 }))
    await expect(verifyJwt(jwt, options({ clockTolerance: 10 }))).resolves.toBeDefined()
  })

  it('RFC 7515 §5.2: rejects a tampered payload', async () => {
    const [h, , s] = (await token()).split('.')
    const forged = `${h}.${b64(claims({ sub: 'admin' }))}.${s}`
    expect((await rejection(forged)).code).toBe('JWT_SIGNATURE_INVALID')
  })

  it('RFC 8725 §3.1: rejects alg none', async () => {
    const { kid } = await keyRing.signingKey('ES256', NOW)
    await rejection(`${b64({ alg: 'none', kid, typ: 'at+jwt' })}.${b64(claims())}.`)
    await rejection(`${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims())}.`)
  })

  it('RFC 8725 §2.1: rejects HS256, including one keyed with the public key', async () => {
    const { kid } = await keyRing.signingKey('RS256', NOW)
    const jwk = (await keyRing.jwks(NOW)).keys.find((key) => key.kid === kid)
    const input = `${b64({ alg: 'HS256', kid, typ: 'at+jwt' })}.${b64(claims())}`
    const mac = createHmac('sha256', JSON.stringify(jwk)).update(input).digest('base64url')
    await rejection(`${input}.${mac}`)
    const jose = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' }).sign(randomBytes(32))
    await rejection(jose)
  })

  it('rejects an algorithm outside the allowlist even when the signature is good', async () => {
    await rejection(await token('ES256'), options({ algorithms: ['RS256'] }))
  })

  it('rejects an unknown kid, a missing kid and a key that is not ours', async () => {
    const foreign = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const foreignKey = { kid: jwkThumbprint(foreign.publicKey), alg: 'ES256' as const, key: foreign.privateKey }
    expect((await rejection(await signJwt(foreignKey, 'at+jwt', claims()))).code).toBe('JWT_KEY_UNKNOWN')
    // Our kid, somebody else's key.
    const { kid } = await keyRing.signingKey('ES256', NOW)
    expect((await rejection(await signJwt({ ...foreignKey, kid }, 'at+jwt', claims()))).code).toBe('JWT_SIGNATURE_INVALID')
    const [, p, s] = (await token()).split('.')
    await rejection(`${b64({ alg: 'ES256', typ: 'at+jwt' })}.${p}.${s}`)
  })

  it('RFC 7519 §4.1.4: rejects an expired token and one without exp', async () => {
    expect((await rejection(await token('ES256', 'at+jwt', claims({ exp: NOW })))).code).toBe('JWT_EXPIRED')
    const { exp: _exp, ...noExp } = claims()
    await rejection(await token('ES256', 'at+jwt', noExp))
  })

  it('rejects a wrong iss, a wrong aud, a wrong or missing typ', async () => {
    await rejection(await token('ES256', 'at+jwt', claims({ iss: 'https://evil.example.com' })))
    await rejection(await token('ES256', 'at+jwt', claims({ aud: 'https://other.example.com' })))
    await rejection(await token('ES256', 'JWT'))
    await rejection(await token('ES256', 'application/jwt'))
    await rejection(await token('ES256', null))
  })

  it('rejects malformed input', async () => {
    for (const bad of ['', 'abc', 'a.b.c', 'a.b', `${b64({ alg: 'ES256' })}.!!.sig`, '....']) await rejection(bad)
  })

  it('rejects a token signed by a key that is no longer published', async () => {
    const jwt = await token('EdDSA')
    // Long after a rotation, the old key is retired.
    const later = NOW + 100_000
    const kids = await keyRing.rotate(NOW)
    expect(kids).toHaveLength(3)
    await rejection(jwt, options({ now: later, clockTolerance: 200_000 }))
    expect(store.rows.length).toBeGreaterThan(3)
  })

  it('lets a key store failure through as a server error, not a verification error', async () => {
    const ring = new KeyRing(store, randomBytes(32), { activationDelay: 0, maxTokenLifetime: 3600, cacheTtl: 0 })
    const jwt = await token()
    store.failing = true
    try {
      await expect(verifyJwt(jwt, options({ keyRing: ring }))).rejects.toThrow('database is down')
    } finally {
      store.failing = false
    }
  })

  it('treats bad options as a caller mistake (TypeError)', async () => {
    const jwt = await token()
    await expect(verifyJwt(jwt, options({ algorithms: [] }))).rejects.toThrow(TypeError)
    await expect(verifyJwt(jwt, options({ algorithms: ['HS256' as SigningAlg] }))).rejects.toThrow(TypeError)
    await expect(verifyJwt(jwt, options({ algorithms: ['none' as SigningAlg] }))).rejects.toThrow(TypeError)
    await expect(verifyJwt(jwt, options({ issuer: '' }))).rejects.toThrow(TypeError)
  })
})
