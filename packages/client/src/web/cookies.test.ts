/** The Web handler's cookies on their own: reading a `Cookie` header, writing `Set-Cookie`, naming login cookies. */
import { describe, expect, it } from 'vitest'
import { isCookieName, loginCookieName, parseCookies, serializeCookie } from './cookies.js'

describe('parseCookies', () => {
  it('RFC 6265 §5.4: reads name=value pairs split by ";", unquoting values; the first of a repeated name wins', () => {
    const cookies = parseCookies('a=1; b="two" ;a=3; junk; =nameless; c=')
    expect([...cookies]).toEqual([
      ['a', '1'],
      ['b', 'two'],
      ['c', ''],
    ])
  })

  it('an absent header is no cookies', () => {
    expect(parseCookies(null).size).toBe(0)
  })
})

describe('serializeCookie', () => {
  it('always HttpOnly; Max-Age only when given, Secure only when asked', () => {
    expect(serializeCookie('s', 'id', { maxAge: undefined, path: '/', sameSite: 'Lax', secure: false })).toBe('s=id; Path=/; HttpOnly; SameSite=Lax')
    expect(serializeCookie('s', '', { maxAge: 0, path: '/cb', sameSite: 'None', secure: true })).toBe('s=; Path=/cb; HttpOnly; SameSite=None; Max-Age=0; Secure')
  })
})

describe('login cookie names', () => {
  it('one per state, derived from a hash of it (the state itself is never a cookie name), and a valid cookie name', () => {
    const name = loginCookieName('authcode_app_login', 'state-1')
    expect(name).toMatch(/^authcode_app_login_[A-Za-z0-9_-]{16}$/)
    expect(name).not.toContain('state-1')
    expect(loginCookieName('authcode_app_login', 'state-1')).toBe(name)
    expect(loginCookieName('authcode_app_login', 'state-2')).not.toBe(name)
    expect(isCookieName(name)).toBe(true)
  })

  it('RFC 6265 §4.1.1: a cookie name is a token (no separators, spaces or "=")', () => {
    expect(isCookieName('__Host-authcode_app_session')).toBe(true)
    for (const bad of ['', 'a b', 'a=b', 'a;b', 'a,b', 'é']) expect(isCookieName(bad)).toBe(false)
  })
})
