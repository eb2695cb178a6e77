import { describe, expect, it } from 'vitest'
import { MemoryStore } from '../../test/memory-store.js'
import { NOW } from '../../test/protocol-fixtures.js'
import { hashToken } from '../tokens/secrets.js'
import { Throttle, throttleKey } from './rate-limit.js'

const HARD = { max: 3, window: 60, delays: [] }

describe('Throttle', () => {
  it('SECURITY.md 26: a hard limit lets max attempts through per window, then says how long to wait', async () => {
    const throttle = new Throttle(new MemoryStore(), HARD, 't:')
    for (let i = 0; i < 3; i++) expect(await throttle.reserve('k', NOW + i)).toEqual({ reserved: true })
    expect(await throttle.reserve('k', NOW + 10)).toEqual({ reserved: false, retryAfter: 50 })
    expect(await throttle.reserve('k', NOW + 59)).toEqual({ reserved: false, retryAfter: 1 })
    expect(await throttle.reserve('k', NOW + 60)).toEqual({ reserved: true })
  })

  it('SECURITY.md 27: progressive delays: each attempt past max waits the next delay, the last one repeating; never a lock', async () => {
    const throttle = new Throttle(new MemoryStore(), { max: 2, window: 3600, delays: [15, 30] }, 't:')
    let now = NOW
    expect(await throttle.reserve('k', now)).toEqual({ reserved: true })
    expect(await throttle.reserve('k', now)).toEqual({ reserved: true })
    expect(await throttle.reserve('k', now)).toEqual({ reserved: false, retryAfter: 15 })
    now += 15
    expect(await throttle.reserve('k', now)).toEqual({ reserved: true })
    expect(await throttle.reserve('k', now)).toEqual({ reserved: false, retryAfter: 30 })
    now += 30
    expect(await throttle.reserve('k', now)).toEqual({ reserved: true })
    expect(await throttle.reserve('k', now + 29)).toEqual({ reserved: false, retryAfter: 1 })
    expect(await throttle.reserve('k', now + 30)).toEqual({ reserved: true })
  })

  it('SECURITY.md 27: concurrent reservations never get past the limit together', async () => {
    const throttle = new Throttle(new MemoryStore(), HARD, 't:')
    const results = await Promise.all(Array.from({ length: 10 }, () => throttle.reserve('k', NOW)))
    expect(results.filter((result) => result.reserved)).toHaveLength(3)
  })

  it('SECURITY.md 27: a refund gives one attempt back (a success was no guess); a reset forgets the key', async () => {
    const throttle = new Throttle(new MemoryStore(), HARD, 't:')
    for (let i = 0; i < 3; i++) await throttle.reserve('k', NOW)
    await throttle.refund('k', NOW)
    expect(await throttle.reserve('k', NOW)).toEqual({ reserved: true })
    expect((await throttle.reserve('k', NOW)).reserved).toBe(false)
    await throttle.reset('k')
    for (let i = 0; i < 3; i++) expect(await throttle.reserve('k', NOW)).toEqual({ reserved: true })
  })

  it('SECURITY.md 31: keys and throttles are counted apart; keys are stored hashed under the prefix, the same size whatever was sent', async () => {
    const store = new MemoryStore()
    const a = new Throttle(store, HARD, 'a:')
    const b = new Throttle(store, HARD, 'b:')
    for (let i = 0; i < 3; i++) await a.reserve('k', NOW)
    expect((await a.reserve('k', NOW)).reserved).toBe(false)
    expect((await a.reserve('other', NOW)).reserved).toBe(true)
    expect((await b.reserve('k', NOW)).reserved).toBe(true)

    await a.reserve('x'.repeat(10_000), NOW)
    expect([...store.rateLimits.keys()].sort()).toEqual([`a:${hashToken('k')}`, `a:${hashToken('other')}`, `a:${hashToken('x'.repeat(10_000))}`, `b:${hashToken('k')}`].sort())
  })
})

describe('throttleKey', () => {
  it('SECURITY.md 26: parts never run into each other (address and client id cannot be shifted between parts)', () => {
    expect(throttleKey('1.2.3.4', 'rp')).not.toBe(throttleKey('1.2.3.4r', 'p'))
    expect(throttleKey('a:b', 'c')).not.toBe(throttleKey('a', 'b:c'))
    expect(throttleKey('ab', '')).not.toBe(throttleKey('a', 'b'))
    expect(throttleKey('1:a', '')).not.toBe(throttleKey('', '1:a'))
    expect(throttleKey('1.2.3.4', 'rp')).toBe(throttleKey('1.2.3.4', 'rp'))
  })
})
