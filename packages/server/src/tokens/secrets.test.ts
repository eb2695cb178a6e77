import { describe, expect, it } from 'vitest'
import { hashToken, randomToken, safeEqual, timeOrderedId } from './secrets.js'

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
