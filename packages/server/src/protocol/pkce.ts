/**
 * PKCE (RFC 7636), S256 only: `plain` is never accepted (RFC 9700 §2.1.1, OAuth 2.1 §4.1.1).
 * Used by the authorization step (challenge) and the token step (verifier).
 */
import { createHash } from 'node:crypto'
import { invalidGrant, invalidRequest } from './errors.js'
import { safeEqual } from '../tokens/secrets.js'

// RFC 7636 §4.1 / §4.2: 43*128 unreserved characters.
const UNRESERVED_43_128 = /^[A-Za-z0-9\-._~]{43,128}$/

export interface PkceChallenge {
  codeChallenge: string
  codeChallengeMethod: 'S256'
}

/**
 * Reads `code_challenge` / `code_challenge_method` from an authorization request.
 * Returns null when neither is present; the caller decides whether PKCE is required.
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.3
 */
export function readCodeChallenge(challenge: string | undefined, method: string | undefined): PkceChallenge | null {
  if (challenge === undefined) {
    if (method !== undefined) throw invalidRequest('code_challenge_method given without code_challenge')
    return null
  }
  // RFC 7636 §4.3 defaults a missing method to plain, which is not supported: never assume S256.
  if (method === undefined) throw invalidRequest('code_challenge_method is required and must be S256')
  if (method !== 'S256') throw invalidRequest('code_challenge_method must be S256')
  if (!UNRESERVED_43_128.test(challenge)) throw invalidRequest('code_challenge is malformed')
  return { codeChallenge: challenge, codeChallengeMethod: 'S256' }
}

/** The S256 transformation: BASE64URL(SHA256(ASCII(code_verifier))). */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url')
}

/**
 * Checks a token request's `code_verifier` against the challenge bound to the code.
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.6
 */
export function verifyCodeVerifier(verifier: string | undefined, challenge: string | null): void {
  if (challenge === null) {
    // RFC 9700 §4.8.2 / OAuth 2.1 §3.2.4: a verifier for a code issued without a challenge is a downgrade.
    if (verifier !== undefined) throw invalidRequest('code_verifier given for a code issued without code_challenge')
    return
  }
  if (verifier === undefined) throw invalidGrant('code_verifier is required')
  if (!UNRESERVED_43_128.test(verifier)) throw invalidGrant('code_verifier is malformed')
  if (!safeEqual(s256(verifier), challenge)) throw invalidGrant('code_verifier does not match the code_challenge')
}
