/** The origin check of the logout POST on hand-made Requests: a form on another site cannot end a session. */
import { describe, expect, it } from 'vitest'
import { isSameOrigin } from './origin.js'

describe('isSameOrigin', () => {
  it('trusts Sec-Fetch-Site first, then Origin; refuses Origin null', () => {
    const at = (headers: Record<string, string>) => isSameOrigin(new Request('https://rp.test/logout', { method: 'POST', headers }), 'https://rp.test')
    expect(at({ 'sec-fetch-site': 'same-origin', origin: 'null' })).toBe(true)
    expect(at({ 'sec-fetch-site': 'cross-site' })).toBe(false)
    expect(at({ 'sec-fetch-site': 'same-site', origin: 'https://rp.test' })).toBe(false)
    expect(at({ origin: 'https://rp.test' })).toBe(true)
    expect(at({ origin: 'https://evil.test' })).toBe(false)
    expect(at({ origin: 'null' })).toBe(false)
    expect(at({})).toBe(true)
  })
})
