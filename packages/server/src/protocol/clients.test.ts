import { describe, expect, it } from 'vitest'
import { NOW } from '../../test/protocol-fixtures.js'
import { hashToken } from '../tokens/secrets.js'
import { RegistrationError, newClientId, registerClient, type ClientRegistration } from './clients.js'

const OFFERED = ['openid', 'profile', 'email']

function registration(overrides: Partial<ClientRegistration> = {}): ClientRegistration {
  return { name: 'Relying Party', redirectUris: ['https://rp.example.com/cb'], scope: 'openid profile', isPublic: false, ...overrides }
}

const refusal = (input: ClientRegistration): string => {
  try {
    registerClient(input, OFFERED, NOW)
  } catch (error) {
    expect(error).toBeInstanceOf(RegistrationError)
    return (error as Error).message
  }
  throw new Error('the registration was accepted')
}

describe('newClientId', () => {
  it('128 random bits in base64url, never starting with "-" (a CLI argument that did would read as an option)', () => {
    // One id in 64 would start with "-" if nothing prevented it: 4,000 draws all but surely meet one.
    const ids = Array.from({ length: 4000 }, newClientId)
    expect(ids.every((id) => /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/.test(id))).toBe(true)
    expect(new Set(ids).size).toBe(ids.length)
  })
})

describe('registerClient', () => {
  it('RFC 6749 §2.3.1 / §10.3: a confidential client gets a 256-bit secret, shown once and kept only as its hash', () => {
    const { record, secret } = registerClient(registration(), OFFERED, NOW)
    expect(secret).toMatch(/^[\w-]{43}$/)
    expect(record.secretHash).toBe(hashToken(secret ?? ''))
    expect(JSON.stringify(record)).not.toContain(secret)
    expect(registerClient(registration(), OFFERED, NOW).secret).not.toBe(secret)
  })

  it('RFC 6749 §2.1: a public client has no secret', () => {
    const { record, secret } = registerClient(registration({ isPublic: true }), OFFERED, NOW)
    expect(secret).toBeNull()
    expect(record.secretHash).toBeNull()
  })

  it('OAuth 2.1 §2: the record: both grants, RS256 ID tokens, PKCE required, not first-party, unless registered otherwise', () => {
    const { record } = registerClient(registration({ name: '  Relying Party  ', redirectUris: ['https://rp.example.com/cb', 'https://rp.example.com/cb'] }), OFFERED, NOW)
    expect(record).toMatchObject({
      name: 'Relying Party',
      redirectUris: ['https://rp.example.com/cb'],
      scopes: ['openid', 'profile'],
      grantTypes: ['authorization_code', 'refresh_token'],
      idTokenSignedResponseAlg: 'RS256',
      pkceOptional: false,
      firstParty: false,
      createdAt: NOW,
    })
    expect(record.clientId).toMatch(/^[\w-]{22}$/)
    const chosen = registerClient(registration({ clientId: 'demo-app', idTokenAlg: 'EdDSA', firstParty: true, pkceOptional: true }), OFFERED, NOW).record
    expect(chosen).toMatchObject({ clientId: 'demo-app', idTokenSignedResponseAlg: 'EdDSA', firstParty: true, pkceOptional: true })
  })

  it('a name of 1 to 100 characters (after trimming)', () => {
    expect(refusal(registration({ name: '   ' }))).toBe('name: 1 to 100 characters')
    expect(refusal(registration({ name: 'x'.repeat(101) }))).toBe('name: 1 to 100 characters')
    expect(registerClient(registration({ name: 'x'.repeat(100) }), OFFERED, NOW).record.name).toHaveLength(100)
  })

  it('RFC 6749 §3.1.2.2: at least one redirect URI, each one registrable (RFC 9700 §2.1)', () => {
    expect(refusal(registration({ redirectUris: [] }))).toBe('at least one redirect URI is required')
    expect(refusal(registration({ redirectUris: ['https://rp.example.com/cb', 'http://rp.example.com/cb'] }))).toMatch(/^redirect URI http:\/\/rp\.example\.com\/cb must use https/)
    expect(refusal(registration({ redirectUris: ['https://rp.example.com/cb#x'] }))).toMatch(/fragment/)
  })

  it('RFC 8252 §7.1: a private-use scheme only for a public client', () => {
    expect(refusal(registration({ redirectUris: ['com.example.app:/cb'] }))).toMatch(/public native clients/)
    expect(registerClient(registration({ isPublic: true, redirectUris: ['com.example.app:/cb'] }), OFFERED, NOW).record.redirectUris).toEqual(['com.example.app:/cb'])
  })

  it('RFC 6749 §3.3: the scope is a list of scope tokens the server offers', () => {
    expect(refusal(registration({ scope: 'openid  profile' }))).toMatch(/^scope: not a list of scope tokens/)
    expect(refusal(registration({ scope: 'openid admin' }))).toMatch(/^scope: not offered by this server: admin/)
  })

  it('OAuth 2.1 §4.1.1: a public client cannot be registered without PKCE', () => {
    expect(refusal(registration({ isPublic: true, pkceOptional: true }))).toBe('public clients must use PKCE')
  })

  it('OIDC Registration §2: id_token_signed_response_alg is one of the server’s algorithms (never none or HMAC)', () => {
    expect(refusal(registration({ idTokenAlg: 'none' as never }))).toMatch(/^id token algorithm must be one of/)
    expect(refusal(registration({ idTokenAlg: 'HS256' as never }))).toMatch(/^id token algorithm must be one of/)
  })

  it('a chosen client id is 1 to 64 of A-Z a-z 0-9 _ . -', () => {
    for (const clientId of ['', 'a b', 'a/b', 'x'.repeat(65), 'é']) {
      expect(refusal(registration({ clientId }))).toBe('client id: 1 to 64 of A-Z a-z 0-9 _ . -')
    }
  })
})
