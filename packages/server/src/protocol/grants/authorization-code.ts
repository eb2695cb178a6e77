/**
 * The authorization code grant's token step (RFC 6749 §4.1.3, OAuth 2.1 §4.1.3, RFC 7636 §4.6).
 */
import { invalidGrant } from '../errors.js'
import { verifyCodeVerifier } from '../pkce.js'
import { formatScope } from '../scopes.js'
import type { CodeRecord, GrantRecord, Store } from '../store.js'
import { hashToken, randomToken, timeOrderedId } from '../../tokens/secrets.js'
import type { AuthorizationRequest } from '../authorize.js'
import type { GrantHandler, TokenResponse } from './types.js'

/**
 * Mints the code that ends a successful authorization request and records it with its grant.
 * The code is 256 random bits; only its hash is stored (RFC 6749 §10.10, SECURITY.md 5).
 */
export async function issueAuthorizationCode(
  store: Store,
  request: AuthorizationRequest,
  user: { userId: string; authTime: number },
  codeLifetime: number,
  now: number,
): Promise<string> {
  const code = randomToken()
  const grant: GrantRecord = {
    id: timeOrderedId(),
    clientId: request.clientId,
    userId: user.userId,
    scopes: request.scopes,
    authTime: user.authTime,
    createdAt: now,
    revokedAt: null,
  }
  const record: CodeRecord = {
    codeHash: hashToken(code),
    grantId: grant.id,
    clientId: request.clientId,
    userId: user.userId,
    redirectUri: request.redirectUri,
    redirectUriSent: request.redirectUriSent,
    codeChallenge: request.codeChallenge,
    codeChallengeMethod: request.codeChallengeMethod,
    nonce: request.nonce ?? null,
    scopes: request.scopes,
    authTime: user.authTime,
    createdAt: now,
    expiresAt: now + codeLifetime,
    consumedAt: null,
  }
  await store.createGrantWithCode(grant, record)
  return code
}

/** RFC 6749 §4.1.2: a code used twice is refused and every token issued from it revoked. */
async function refuseReplayedCode(store: Store, code: CodeRecord, now: number): Promise<never> {
  await store.revokeGrant(code.grantId, now)
  throw invalidGrant('the authorization code was already used')
}

export const authorizationCodeGrant = {
  grantType: 'authorization_code',

  async handle(client, params, { store, minter, now }): Promise<TokenResponse> {
    const codeHash = hashToken(params.required('code'))
    const redirectUri = params.single('redirect_uri')
    const verifier = params.single('code_verifier')

    const found = await store.getCodeWithGrant(codeHash)
    if (found === undefined || found.code.clientId !== client.clientId) {
      throw invalidGrant('the authorization code is invalid or was issued to another client')
    }
    const { code, grant, user } = found
    // RFC 6749 §4.1.3: required and identical when the authorization request had it.
    if (code.redirectUriSent ? redirectUri !== code.redirectUri : redirectUri !== undefined && redirectUri !== code.redirectUri) {
      throw invalidGrant('redirect_uri does not match the authorization request')
    }
    verifyCodeVerifier(verifier, code.codeChallenge)
    // Checked only once the request proves possession (OAuth 2.1 §7.5.2: a replay with invalid
    // parameters must not revoke anything, or anyone could revoke others' tokens).
    if (code.consumedAt !== null) return refuseReplayedCode(store, code, now)
    if (code.expiresAt <= now) throw invalidGrant('the authorization code has expired')

    if (grant.revokedAt !== null) throw invalidGrant('the authorization code is no longer valid')

    // Both signatures are asked for at once (the signing thread takes them in one message).
    const [access, idToken] = await Promise.all([
      minter.accessToken(grant, code.scopes, now),
      code.scopes.includes('openid') ? minter.idToken(client, user, grant, code.nonce, now) : undefined,
    ])
    const refresh = client.grantTypes.includes('refresh_token') ? minter.refreshToken(grant, code.scopes, now) : null

    // The single-use rule and the token records in one transaction (STYLE rule 8).
    if (!(await store.redeemCode(codeHash, now, { accessToken: access.record, refreshToken: refresh?.record ?? null }))) {
      const current = await store.getCode(codeHash)
      if (current?.consumedAt != null) return refuseReplayedCode(store, current, now)
      throw invalidGrant('the authorization code is no longer valid')
    }
    return {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
      scope: formatScope(code.scopes),
      ...(refresh === null ? {} : { refresh_token: refresh.token }),
      ...(idToken === undefined ? {} : { id_token: idToken }),
    }
  },
} satisfies GrantHandler
