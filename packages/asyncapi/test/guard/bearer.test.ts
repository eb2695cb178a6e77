/** RFC 6750 header parsing and error values (checklist §3.5). */
import { describe, expect, it } from 'vitest'
import { bearerError, parseAuthorization } from '../../src/index.js'

describe('parseAuthorization (RFC 6750 §2.1)', () => {
  it('reads a Bearer token, the scheme case-insensitively', () => {
    expect(parseAuthorization('Bearer abc.DEF-_~+/=')).toEqual({ kind: 'token', token: 'abc.DEF-_~+/=', scheme: 'Bearer' })
    expect(parseAuthorization('bEaReR x')).toEqual({ kind: 'token', token: 'x', scheme: 'Bearer' })
    expect(parseAuthorization(['Bearer x'])).toEqual({ kind: 'token', token: 'x', scheme: 'Bearer' })
  })

  it('RFC 9449 §7.1: reads a DPoP-bound token under the DPoP scheme', () => {
    expect(parseAuthorization('DPoP abc')).toEqual({ kind: 'token', token: 'abc', scheme: 'DPoP' })
    expect(parseAuthorization('dpop abc')).toEqual({ kind: 'token', token: 'abc', scheme: 'DPoP' })
  })

  it('treats an absent or empty header as no credentials', () => {
    for (const header of [undefined, '', []]) expect(parseAuthorization(header)).toEqual({ kind: 'none' })
  })

  it('refuses other schemes, a missing token, b64token violations and a repeated header', () => {
    for (const header of ['Basic dTpw', 'Bearer', 'Bearer ', 'Bearer a b', 'Bearer a=b', 'Bearer a"b', 'Bearer a\\b', ['Bearer a', 'Bearer b']]) {
      expect(parseAuthorization(header).kind, String(header)).toBe('malformed')
    }
  })
})

describe('bearerError (RFC 6750 §3, §3.1)', () => {
  it('maps each code to its status and challenge', () => {
    expect(bearerError(undefined, 'no token')).toMatchObject({ status: 401, error: undefined, wwwAuthenticate: 'Bearer' })
    expect(bearerError(undefined, 'no token', { realm: 'chat' }).wwwAuthenticate).toBe('Bearer realm="chat"')
    expect(bearerError('invalid_request', 'bad header').status).toBe(400)
    expect(bearerError('invalid_token', 'expired').wwwAuthenticate).toBe('Bearer error="invalid_token", error_description="expired"')
    expect(bearerError('insufficient_scope', 'needs more', { scope: 'write:messages' })).toMatchObject({
      status: 403,
      scope: 'write:messages',
      wwwAuthenticate: 'Bearer error="insufficient_scope", error_description="needs more", scope="write:messages"',
    })
  })

  it('SECURITY 13: temporarily_unavailable is 503 with Retry-After seconds and a bare challenge (RFC 6750 registers no code for it)', () => {
    expect(bearerError('temporarily_unavailable', 'keys unavailable', { retryAfter: 4 })).toEqual({
      status: 503,
      error: 'temporarily_unavailable',
      description: 'keys unavailable',
      scope: undefined,
      wwwAuthenticate: 'Bearer',
      retryAfter: 4,
    })
    expect(bearerError('temporarily_unavailable', 'keys unavailable', { realm: 'chat' }).wwwAuthenticate).toBe('Bearer realm="chat"')
    expect(bearerError('invalid_token', 'expired').retryAfter).toBeUndefined()
  })

  it('keeps quoted values within %x20-21 / %x23-5B / %x5D-7E', () => {
    expect(bearerError('invalid_token', 'a "quoted" \\ naïve\r\nline').wwwAuthenticate).toBe('Bearer error="invalid_token", error_description="a quoted  naveline"')
  })
})
