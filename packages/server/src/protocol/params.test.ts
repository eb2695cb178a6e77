import { describe, expect, it } from 'vitest'
import { oauthError } from '../../test/protocol-fixtures.js'
import { LIMITS, Params, parseParams, queryOf } from './params.js'

describe('parseParams', () => {
  it('RFC 6749 Appendix B: application/x-www-form-urlencoded, UTF-8, + as a space', () => {
    const params = parseParams('a=1&redirect_uri=https%3A%2F%2Frp.example.com%2Fcb%3Fx%3D1&s=caf%C3%A9+au+lait&empty=')
    expect(params.single('a')).toBe('1')
    expect(params.single('redirect_uri')).toBe('https://rp.example.com/cb?x=1')
    expect(params.single('s')).toBe('café au lait')
    expect(params.single('missing')).toBeUndefined()
    expect([...params.names()]).toEqual(['a', 'redirect_uri', 's', 'empty'])
  })

  it('OAuth 2.1 §3.1: a parameter without a value is treated as omitted, yet is present', () => {
    const params = parseParams('state=&nonce&x=1')
    expect(params.single('state')).toBeUndefined()
    expect(params.single('nonce')).toBeUndefined()
    expect(params.has('state')).toBe(true)
    expect(params.has('nonce')).toBe(true)
  })

  it('RFC 6749 §3.1: a parameter included more than once is invalid_request when read', async () => {
    const params = parseParams('code=a&code=b&x=1')
    expect((await oauthError(() => params.single('code'), 'invalid_request')).description).toBe('parameter code is included more than once')
    expect(params.single('x')).toBe('1')
    // Even twice the same value, or once empty.
    await oauthError(() => parseParams('code=a&code=a').single('code'), 'invalid_request')
    await oauthError(() => parseParams('code=&code=a').single('code'), 'invalid_request')
  })

  it('RFC 3629: a malformed escape or bytes that are not UTF-8 are invalid_request, never a replacement character', async () => {
    for (const encoded of ['a=%', 'a=%G1', 'a=%C0%AF', 'a=%ED%A0%80', 'a=%FF', '%C3=1']) {
      expect((await oauthError(() => parseParams(encoded), 'invalid_request')).description).toBe('request parameters are not valid percent-encoded UTF-8')
    }
  })

  it('SECURITY.md 24: control characters (NUL, TAB, CR, LF, DEL), in names or values, are invalid_request', async () => {
    for (const encoded of ['a=%00', 'a=x%09y', 'a=%0D%0A', 'a=%7F', '%0A=1']) {
      expect((await oauthError(() => parseParams(encoded), 'invalid_request')).description).toBe('request parameters must not contain control characters')
    }
  })

  it(`SECURITY.md 24: at most ${LIMITS.count} parameters, each value at most ${LIMITS.valueLength} characters`, async () => {
    const pairs = (n: number) => Array.from({ length: n }, (_, i) => `p${i}=1`).join('&')
    expect([...parseParams(pairs(LIMITS.count)).names()]).toHaveLength(LIMITS.count)
    expect((await oauthError(() => parseParams(pairs(LIMITS.count + 1)), 'invalid_request')).description).toBe('too many request parameters')

    expect(parseParams(`a=${'x'.repeat(LIMITS.valueLength)}`).single('a')).toHaveLength(LIMITS.valueLength)
    expect((await oauthError(() => parseParams(`a=${'x'.repeat(LIMITS.valueLength + 1)}`), 'invalid_request')).description).toBe('parameter a is too long')
  })

  it('RFC 6749 §5.2: an error description never echoes a parameter name outside its charset', async () => {
    const error = await oauthError(() => parseParams(`%22%3Cscript%3E=${'x'.repeat(LIMITS.valueLength + 1)}`), 'invalid_request')
    expect(error.description).toBe('parameter (unnamed) is too long')
  })

  it('an empty body has no parameters; empty pairs are skipped', () => {
    expect([...parseParams('').names()]).toEqual([])
    expect(parseParams('&&a=1&').single('a')).toBe('1')
  })
})

describe('Params', () => {
  it('RFC 6749 §3.1: required() refuses a missing or empty parameter', async () => {
    expect(parseParams('code=x').required('code')).toBe('x')
    expect((await oauthError(() => parseParams('code=').required('code'), 'invalid_request')).description).toBe('parameter code is missing')
    await oauthError(() => Params.empty().required('code'), 'invalid_request')
  })

  it('RFC 6749 §3.1: a parameter in both the query and the body of one request is a duplicate', async () => {
    const merged = parseParams('client_id=a&x=1').merge(parseParams('client_id=a&y=2'))
    await oauthError(() => merged.single('client_id'), 'invalid_request')
    expect(merged.single('x')).toBe('1')
    expect(merged.single('y')).toBe('2')
  })
})

describe('queryOf', () => {
  it('RFC 3986 §3.4: the query is what follows the first ?, up to a fragment', () => {
    expect(queryOf('/authorize?a=1&b=2')).toBe('a=1&b=2')
    expect(queryOf('/authorize?a=1#frag')).toBe('a=1')
    expect(queryOf('/authorize?a=?b')).toBe('a=?b')
    expect(queryOf('/authorize')).toBe('')
  })

  it('RFC 3986 §3.5: a ? inside a fragment does not start a query', () => {
    expect(queryOf('/authorize#x?client_id=a')).toBe('')
  })
})
