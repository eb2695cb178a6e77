import { describe, expect, it } from 'vitest'
import { confidentialClient, publicClient } from '../../test/protocol-fixtures.js'
import { matchesRegisteredRedirectUri, redirectUriProblem } from './redirect-uri.js'

describe('redirectUriProblem (registration)', () => {
  it('RFC 9700 §2.1: an https URI, with a path and a query, can be registered by any client', () => {
    for (const isPublic of [false, true]) {
      expect(redirectUriProblem('https://rp.example.com/cb', isPublic)).toBeUndefined()
      expect(redirectUriProblem('https://rp.example.com:8443/cb?tenant=a', isPublic)).toBeUndefined()
    }
  })

  it('RFC 8252 §7.3 / §8.3: http only on a loopback IP literal or localhost', () => {
    expect(redirectUriProblem('http://127.0.0.1/cb', true)).toBeUndefined()
    expect(redirectUriProblem('http://127.0.0.1:8080/cb', false)).toBeUndefined()
    expect(redirectUriProblem('http://[::1]:8080/cb', true)).toBeUndefined()
    expect(redirectUriProblem('http://localhost:3000/cb', false)).toBeUndefined()
    expect(redirectUriProblem('http://rp.example.com/cb', false)).toMatch(/must use https/)
    expect(redirectUriProblem('http://127.0.0.1.nip.io/cb', true)).toMatch(/must use https/)
  })

  it('RFC 6749 §3.1.2: a fragment, a relative URI, wildcards or credentials are refused', () => {
    expect(redirectUriProblem('https://rp.example.com/cb#x', false)).toMatch(/fragment/)
    expect(redirectUriProblem('https://rp.example.com/cb#', false)).toMatch(/fragment/)
    expect(redirectUriProblem('/cb', false)).toBe('is not an absolute URI')
    expect(redirectUriProblem('https://*.example.com/cb', false)).toMatch(/wildcards/)
    expect(redirectUriProblem('https://user:pass@rp.example.com/cb', false)).toMatch(/credentials/)
  })

  it('RFC 9700 §2.1: spaces, control and non-ASCII characters and backslashes are refused (they would not compare as sent)', () => {
    for (const uri of ['https://rp.example.com/c b', 'https://rp.example.com/cb\t', 'https://rp.example.com/café', 'https://rp.example.com\\cb']) {
      expect(redirectUriProblem(uri, false)).toMatch(/must not contain spaces/)
    }
  })

  it('RFC 8252 §7.1: a private-use scheme (a reverse domain name) is for public native clients only', () => {
    expect(redirectUriProblem('com.example.app:/oauth2redirect', true)).toBeUndefined()
    expect(redirectUriProblem('com.example.app:/oauth2redirect', false)).toBe('private-use URI schemes are for public native clients')
    expect(redirectUriProblem('myapp:/cb', true)).toBe('scheme myapp: is not allowed')
  })

  it('RFC 9700 §4.1: dangerous schemes are refused', () => {
    for (const uri of ['javascript:alert(1)', 'data:text/html,x', 'file:///etc/passwd', 'ftp://rp.example.com/cb']) {
      expect(redirectUriProblem(uri, true)).toMatch(/is not allowed/)
    }
  })
})

describe('matchesRegisteredRedirectUri', () => {
  it('RFC 9700 §2.1 / RFC 3986 §6.2.1: a registered URI matches by simple string comparison only', () => {
    const client = confidentialClient({ redirectUris: ['https://rp.example.com/cb', 'https://rp.example.com/other'] })
    expect(matchesRegisteredRedirectUri(client, 'https://rp.example.com/cb')).toBe(true)
    expect(matchesRegisteredRedirectUri(client, 'https://rp.example.com/other')).toBe(true)
    for (const near of [
      'https://rp.example.com/cb/',
      'https://RP.example.com/cb',
      'https://rp.example.com:443/cb',
      'https://rp.example.com/cb?x=1',
      'https://rp.example.com/CB',
      'https://rp.example.com/%63b',
      'https://rp.example.com/cb/../cb',
      'https://rp.example.com.evil.com/cb',
    ]) {
      expect(matchesRegisteredRedirectUri(client, near)).toBe(false)
    }
  })

  it('RFC 8252 §7.3: a public native client may use any port on its registered loopback IP literal', () => {
    const client = publicClient({ redirectUris: ['http://127.0.0.1/cb', 'http://[::1]:8000/done'] })
    expect(matchesRegisteredRedirectUri(client, 'http://127.0.0.1:51004/cb')).toBe(true)
    expect(matchesRegisteredRedirectUri(client, 'http://127.0.0.1:1/cb')).toBe(true)
    expect(matchesRegisteredRedirectUri(client, 'http://[::1]/done')).toBe(true)
    expect(matchesRegisteredRedirectUri(client, 'http://[::1]:9/done')).toBe(true)
  })

  it('RFC 3986 §3.2.3: a loopback port past 65535 is no port, and matches nothing', () => {
    const client = publicClient({ redirectUris: ['http://127.0.0.1/cb'] })
    expect(matchesRegisteredRedirectUri(client, 'http://127.0.0.1:65535/cb')).toBe(true)
    expect(matchesRegisteredRedirectUri(client, 'http://127.0.0.1:65536/cb')).toBe(false)
    expect(matchesRegisteredRedirectUri(client, 'http://127.0.0.1:99999/cb')).toBe(false)
  })

  it('RFC 8252 §7.3: only the port may vary: not the address, the path, the query or the scheme', () => {
    const client = publicClient({ redirectUris: ['http://127.0.0.1/cb', 'http://[::1]:8000/done'] })
    for (const other of [
      'http://127.0.0.1:51004/cb2',
      'http://127.0.0.1:51004/',
      'http://127.0.0.1:51004',
      'http://127.0.0.1:51004/cb?x=1',
      'http://[::1]:51004/cb',
      'http://127.0.0.1:51004/done',
      'https://127.0.0.1:51004/cb',
      'http://127.0.0.2:51004/cb',
      'http://127.0.0.1:51004/cb#x',
      'http://127.0.0.1@evil.example.com:51004/cb',
    ]) {
      expect(matchesRegisteredRedirectUri(client, other)).toBe(false)
    }
  })

  it('RFC 8252 §8.3: the port rule covers loopback IP literals, not the name localhost', () => {
    const client = publicClient({ redirectUris: ['http://localhost/cb'] })
    expect(matchesRegisteredRedirectUri(client, 'http://localhost/cb')).toBe(true)
    expect(matchesRegisteredRedirectUri(client, 'http://localhost:51004/cb')).toBe(false)
  })

  it('RFC 8252 §7.3: the port rule is for public (native) clients only; a confidential client matches exactly', () => {
    const client = confidentialClient({ redirectUris: ['http://127.0.0.1/cb'] })
    expect(matchesRegisteredRedirectUri(client, 'http://127.0.0.1/cb')).toBe(true)
    expect(matchesRegisteredRedirectUri(client, 'http://127.0.0.1:51004/cb')).toBe(false)
  })
})
