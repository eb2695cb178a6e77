import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { calculateJwkThumbprint, type JWK } from 'jose'
import { SIGNING_ALGS } from './algorithms.js'
import { generateSigningKey } from './key-generation.js'
import { decryptPrivateKey } from './sealing.js'

const T0 = 1_700_000_000
const kek = randomBytes(32)

describe('generateSigningKey', () => {
  it.each(SIGNING_ALGS)('%s: kid is the RFC 7638 thumbprint; the JWK holds only public members', async (alg) => {
    const record = generateSigningKey(alg, kek, T0, T0 + 5)
    expect(record).toMatchObject({ alg, createdAt: T0, activatesAt: T0 + 5 })
    const jwk = JSON.parse(record.publicJwk) as JWK
    expect(jwk).toMatchObject({ kid: record.kid, alg, use: 'sig' })
    expect(await calculateJwkThumbprint(jwk, 'sha256')).toBe(record.kid)
    const allowed = { RS256: ['kty', 'n', 'e'], ES256: ['kty', 'crv', 'x', 'y'], EdDSA: ['kty', 'crv', 'x'] }[alg]
    expect(Object.keys(jwk).sort()).toEqual([...allowed, 'kid', 'alg', 'use'].sort())
    const expected = { RS256: { kty: 'RSA' }, ES256: { kty: 'EC', crv: 'P-256' }, EdDSA: { kty: 'OKP', crv: 'Ed25519' } }[alg]
    expect(jwk).toMatchObject(expected)
    const priv = createPrivateKey({ key: decryptPrivateKey(record.privateKeyEncrypted, kek, record.kid), format: 'der', type: 'pkcs8' })
    expect(await calculateJwkThumbprint(createPublicKey(priv).export({ format: 'jwk' }) as JWK)).toBe(record.kid)
    if (alg === 'RS256') expect(priv.asymmetricKeyDetails?.modulusLength).toBe(2048)
  })
})
