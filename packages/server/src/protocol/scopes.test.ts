import { describe, expect, it } from 'vitest'
import { oauthError } from '../../test/protocol-fixtures.js'
import { checkScopesAllowed, coversScopes, formatScope, invalidScopeIfMissing, parseScope } from './scopes.js'

describe('parseScope', () => {
  it('RFC 6749 §3.3: space-delimited scope tokens, duplicates folded, order kept', () => {
    expect(parseScope('openid profile email')).toEqual(['openid', 'profile', 'email'])
    expect(parseScope('profile openid profile')).toEqual(['profile', 'openid'])
    expect(parseScope('chat:read https://api.example.com/x')).toEqual(['chat:read', 'https://api.example.com/x'])
  })

  it('RFC 6749 §3.3: scope tokens are case-sensitive', () => {
    expect(parseScope('OpenID openid')).toEqual(['OpenID', 'openid'])
  })

  it('RFC 6749 §3.3: an empty token (leading, trailing or double space) is invalid_scope', async () => {
    for (const value of ['', ' openid', 'openid ', 'openid  profile']) {
      expect((await oauthError(() => parseScope(value), 'invalid_scope')).description).toBe('scope is malformed')
    }
  })

  it('RFC 6749 §3.3: characters outside %x21 / %x23-5B / %x5D-7E are invalid_scope', async () => {
    for (const value of ['open"id', 'open\\id', 'openid\tprofile', 'café', 'a\u007f']) {
      await oauthError(() => parseScope(value), 'invalid_scope')
    }
    expect(parseScope('!#[]~')).toEqual(['!#[]~'])
  })

  it('SECURITY.md 24: at most 100 scope values', async () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => `s${i}`).join(' ')
    expect(parseScope(many(100))).toHaveLength(100)
    expect((await oauthError(() => parseScope(many(101)), 'invalid_scope')).description).toBe('too many scope values')
  })
})

describe('invalidScopeIfMissing', () => {
  it('RFC 6749 §3.3: without a default scope, a request without scope is invalid_scope', async () => {
    expect(invalidScopeIfMissing('openid')).toBe('openid')
    expect((await oauthError(() => invalidScopeIfMissing(undefined), 'invalid_scope')).description).toBe('scope is missing')
  })
})

describe('checkScopesAllowed', () => {
  it('RFC 6749 §3.3: every requested scope must be allowed; one that is not fails the whole request', async () => {
    expect(() => checkScopesAllowed(['openid'], ['openid', 'profile'])).not.toThrow()
    expect(() => checkScopesAllowed([], ['openid'])).not.toThrow()
    await oauthError(() => checkScopesAllowed(['openid', 'admin'], ['openid', 'profile']), 'invalid_scope')
    await oauthError(() => checkScopesAllowed(['Openid'], ['openid']), 'invalid_scope')
  })
})

describe('coversScopes and formatScope', () => {
  it('RFC 6749 §3.3: order is irrelevant: a grant covers any subset of its scopes', () => {
    expect(coversScopes(['openid', 'profile'], ['profile', 'openid'])).toBe(true)
    expect(coversScopes(['openid', 'profile'], [])).toBe(true)
    expect(coversScopes(['openid'], ['openid', 'email'])).toBe(false)
  })

  it('RFC 6749 §3.3: formatted space-delimited, round-tripping through parseScope', () => {
    expect(formatScope(['openid', 'profile'])).toBe('openid profile')
    expect(parseScope(formatScope(['a', 'b:c']))).toEqual(['a', 'b:c'])
  })
})
