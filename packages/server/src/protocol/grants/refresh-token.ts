/**
 * The refresh token grant (RFC 6749 §6, OAuth 2.1 §4.3) with rotation on every use and replay
 * detection: presenting a rotated token revokes its whole family (RFC 9700 §4.14.2).
 */
import { invalidGrant } from '../errors.js'
import { checkScopesAllowed, formatScope, parseScope } from '../scopes.js'
import type { RefreshTokenRecord, Store } from '../store.js'
import { hashToken } from '../../tokens/secrets.js'
import type { GrantHandler, TokenResponse } from './types.js'

async function refuseReplayedRefreshToken(store: Store, token: RefreshTokenRecord, now: number): Promise<never> {
  await store.revokeGrant(token.grantId, now)
  throw invalidGrant('the refresh token was already used')
}

export const refreshTokenGrant = {
  grantType: 'refresh_token',

  async handle(client, params, { store, minter, now }): Promise<TokenResponse> {
    const tokenHash = hashToken(params.required('refresh_token'))
    const requestedScope = params.single('scope')

    const found = await store.getRefreshTokenWithGrant(tokenHash)
    // OAuth 2.1 §4.3.1: bound to the client it was issued to.
    if (found === undefined || found.token.clientId !== client.clientId) {
      throw invalidGrant('the refresh token is invalid or was issued to another client')
    }
    const { token, grant, user } = found
    if (token.rotatedAt !== null) return refuseReplayedRefreshToken(store, token, now)
    if (token.expiresAt <= now) throw invalidGrant('the refresh token has expired')
    if (grant.revokedAt !== null) throw invalidGrant('the refresh token was revoked')

    // RFC 6749 §6: a refresh may narrow the scope, never widen it; the new refresh token keeps the original.
    const scopes = requestedScope === undefined ? token.scopes : parseScope(requestedScope)
    checkScopesAllowed(scopes, token.scopes)

    // Both signatures are asked for at once (the signing thread takes them in one message).
    const [access, idToken] = await Promise.all([
      minter.accessToken(grant, scopes, now),
      scopes.includes('openid') ? minter.idToken(client, user, grant, null, now) : undefined,
    ])
    const refresh = minter.refreshToken(grant, token.scopes, now)

    if (!(await store.rotateRefreshToken(tokenHash, now, { accessToken: access.record, refreshToken: refresh.record }))) {
      const current = await store.getRefreshToken(tokenHash)
      if (current?.rotatedAt != null) return refuseReplayedRefreshToken(store, current, now)
      throw invalidGrant('the refresh token is no longer valid')
    }
    return {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
      scope: formatScope(scopes),
      refresh_token: refresh.token,
      ...(idToken === undefined ? {} : { id_token: idToken }),
    }
  },
} satisfies GrantHandler
