import { describe, expect, it } from 'vitest'
import { oauthError } from '../../test/protocol-fixtures.js'
import { readCodeChallenge, s256, verifyCodeVerifier } from './pkce.js'

// RFC 7636 Appendix B: the example verifier and its S256 challenge.
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
const UNRESERVED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~'

describe('readCodeChallenge', () => {
  it('RFC 7636 §4.3: neither parameter is no PKCE (the caller decides whether it is required)', () => {
    expect(readCodeChallenge(undefined, undefined)).toBeNull()
  })

  it('RFC 7636 §4.3: code_challenge with method S256 is read', () => {
    expect(readCodeChallenge(CHALLENGE, 'S256')).toEqual({ codeChallenge: CHALLENGE, codeChallengeMethod: 'S256' })
  })

  it('RFC 9700 §2.1.1: plain is refused, and a missing method is not taken as plain (nor as S256)', async () => {
    expect((await oauthError(() => readCodeChallenge(CHALLENGE, 'plain'), 'invalid_request')).description).toBe('code_challenge_method must be S256')
    expect((await oauthError(() => readCodeChallenge(CHALLENGE, undefined), 'invalid_request')).description).toBe(
      'code_challenge_method is required and must be S256',
    )
    await oauthError(() => readCodeChallenge(CHALLENGE, 's256'), 'invalid_request')
  })

  it('RFC 7636 §4.3: code_challenge_method without code_challenge is invalid_request', async () => {
    await oauthError(() => readCodeChallenge(undefined, 'S256'), 'invalid_request')
  })

  it('RFC 7636 §4.2: a challenge of 43 to 128 unreserved characters is accepted; shorter, longer or other characters are not', async () => {
    expect(readCodeChallenge('a'.repeat(43), 'S256')).not.toBeNull()
    expect(readCodeChallenge(UNRESERVED.padEnd(128, '~'), 'S256')).not.toBeNull()
    for (const bad of ['a'.repeat(42), 'a'.repeat(129), `${'a'.repeat(42)}+`, `${'a'.repeat(42)}/`, `${'a'.repeat(42)}=`, `${'a'.repeat(42)} `, `${'a'.repeat(42)}é`]) {
      expect((await oauthError(() => readCodeChallenge(bad, 'S256'), 'invalid_request')).description).toBe('code_challenge is malformed')
    }
  })
})

describe('s256', () => {
  it('RFC 7636 Appendix B: BASE64URL(SHA256(ASCII(code_verifier))) of the example verifier', () => {
    expect(s256(VERIFIER)).toBe(CHALLENGE)
  })
})

describe('verifyCodeVerifier', () => {
  it('RFC 7636 §4.6: the verifier that hashes to the challenge passes', () => {
    expect(() => verifyCodeVerifier(VERIFIER, CHALLENGE)).not.toThrow()
  })

  it('RFC 7636 §4.6: a missing verifier for a code with a challenge is invalid_grant', async () => {
    expect((await oauthError(() => verifyCodeVerifier(undefined, CHALLENGE), 'invalid_grant')).description).toBe('code_verifier is required')
  })

  it('RFC 7636 §4.6: a verifier that does not hash to the challenge is invalid_grant, also when it is the challenge itself (plain)', async () => {
    await oauthError(() => verifyCodeVerifier(VERIFIER.replace(/k$/, 'K'), CHALLENGE), 'invalid_grant')
    // What a client that sent method=plain would present: refused, S256 is always applied.
    await oauthError(() => verifyCodeVerifier(CHALLENGE, CHALLENGE), 'invalid_grant')
  })

  it('RFC 7636 §4.1: verifiers of exactly 43 and 128 unreserved characters are accepted', () => {
    for (const verifier of ['A'.repeat(43), UNRESERVED.padEnd(128, '.')]) {
      expect(() => verifyCodeVerifier(verifier, s256(verifier))).not.toThrow()
    }
  })

  it('RFC 7636 §4.1: a verifier of 42 or 129 characters, or with a character outside unreserved, is invalid_grant even when it hashes right', async () => {
    for (const verifier of ['A'.repeat(42), 'A'.repeat(129), `${'A'.repeat(42)}+`, `${'A'.repeat(42)} `, `${'A'.repeat(42)}%`, `${'A'.repeat(42)}é`]) {
      expect((await oauthError(() => verifyCodeVerifier(verifier, s256(verifier)), 'invalid_grant')).description).toBe('code_verifier is malformed')
    }
  })

  it('RFC 9700 §4.8.2: a verifier for a code issued without a challenge is invalid_request (a downgrade); no verifier is fine', async () => {
    expect(() => verifyCodeVerifier(undefined, null)).not.toThrow()
    await oauthError(() => verifyCodeVerifier(VERIFIER, null), 'invalid_request')
  })
})
