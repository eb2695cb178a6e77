import { describe, expect, it } from 'vitest'
import { ARGON2ID_REFERENCE, BCRYPT_REFERENCE, BCRYPT_VARIANTS } from '../../test/fixtures/password-hashes.js'
import { hashPassword, hashToken, passwordHashProblem, passwordNeedsRehash, randomToken, safeEqual, timeOrderedId, verifyPassword } from './secrets.js'

describe('timeOrderedId (RFC 9562 §5.7, UUID version 7)', () => {
  it('carries the millisecond time in its first 48 bits, version 7 and variant 10', () => {
    const now = Date.UTC(2026, 10, 23, 14, 0, 0, 123)
    const id = timeOrderedId(now)
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(now)
  })

  it('sorts by time across milliseconds and is random within one', () => {
    const earlier = Array.from({ length: 50 }, () => timeOrderedId(1_800_000_000_000))
    const later = Array.from({ length: 50 }, () => timeOrderedId(1_800_000_000_001))
    expect(new Set([...earlier, ...later]).size).toBe(100)
    for (const a of earlier) for (const b of later) expect(a < b).toBe(true)
  })
})

describe('randomToken', () => {
  it('is 256 bits of base64url, never repeated across refills of the random pool', () => {
    // 1,000 tokens span several 4 KiB refills; mixed with ids that draw from the same pool.
    const tokens = Array.from({ length: 1000 }, (_, i) => (i % 7 === 0 && timeOrderedId(), randomToken()))
    for (const token of tokens) {
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
      expect(Buffer.from(token, 'base64url')).toHaveLength(32)
    }
    expect(new Set(tokens).size).toBe(1000)
    // No token shares a 16-byte run with another (a pool handed out twice would).
    const halves = tokens.flatMap((t) => {
      const bytes = Buffer.from(t, 'base64url')
      return [bytes.subarray(0, 16).toString('hex'), bytes.subarray(16).toString('hex')]
    })
    expect(new Set(halves).size).toBe(2000)
  })
})

describe('safeEqual', () => {
  it('is true only for the same string, whatever the lengths', () => {
    const hash = hashToken('a client secret')
    expect(safeEqual(hash, hashToken('a client secret'))).toBe(true)
    expect(safeEqual(hash, hashToken('another client secret'))).toBe(false)
    // Same length, one character apart, first and last.
    expect(safeEqual(hash, `${hash.startsWith('A') ? 'B' : 'A'}${hash.slice(1)}`)).toBe(false)
    expect(safeEqual(hash, `${hash.slice(0, -1)}${hash.endsWith('A') ? 'B' : 'A'}`)).toBe(false)
    expect(safeEqual(hash, hash.slice(0, -1))).toBe(false)
    expect(safeEqual(hash, `${hash}x`)).toBe(false)
    expect(safeEqual('', '')).toBe(true)
    expect(safeEqual('', hash)).toBe(false)
    // Bytes, not UTF-16 units: 'é' (2 bytes) against 'e' plus one more byte.
    expect(safeEqual('é', 'ex')).toBe(false)
    expect(safeEqual('é', 'é')).toBe(true)
  })
})

describe('verifyPassword and passwordHashProblem: imported hashes (issue #20)', () => {
  it('verifies bcrypt ($2a$, $2b$, $2y$) and argon2id hashes made elsewhere, and needs them rehashed', async () => {
    for (const { password, hash } of [BCRYPT_REFERENCE, ...BCRYPT_VARIANTS, ARGON2ID_REFERENCE]) {
      expect(passwordHashProblem(hash), hash).toBeUndefined()
      expect(await verifyPassword(password, hash), hash).toBe(true)
      expect(await verifyPassword(`${password}x`, hash), hash).toBe(false)
      expect(passwordNeedsRehash(hash)).toBe(true)
    }
    const ours = await hashPassword('a password')
    expect(passwordHashProblem(ours)).toBeUndefined()
    expect(passwordNeedsRehash(ours)).toBe(false)
  })

  it.each([
    ['md5$abc', /not a scrypt, bcrypt/],
    ['plain text password', /not a scrypt, bcrypt/],
    ['$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW', /not a scrypt, bcrypt/],
    ['$2b$05$tooShort', /malformed bcrypt/],
    ['$2b$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW', /bcrypt cost 31 out of range/],
    ['$2b$03$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW', /bcrypt cost 03 out of range/],
    ['$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc', /not a scrypt, bcrypt/],
    ['$argon2id$v=16$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc', /malformed argon2id/],
    ['$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc', /argon2id parameters out of range/],
    ['$argon2id$v=19$m=65536,t=99,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc', /argon2id parameters out of range/],
    ['scrypt$32768$8$3$c2FsdA$aGFzaA', /malformed scrypt/],
    [`scrypt$1048576$8$1$${'s'.repeat(22)}$${'h'.repeat(43)}`, /scrypt parameters out of range/],
    [`scrypt$1000$8$1$${'s'.repeat(22)}$${'h'.repeat(43)}`, /scrypt parameters out of range/],
  ])('refuses %s, and never verifies it', async (hash, problem) => {
    expect(passwordHashProblem(hash)).toMatch(problem)
    expect(await verifyPassword('U*U', hash)).toBe(false)
  })
})
