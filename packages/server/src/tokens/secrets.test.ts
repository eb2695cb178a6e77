import { describe, expect, it } from 'vitest'
import { timeOrderedId } from './secrets.js'

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
