/**
 * The refresh token grant (RFC 6749 §6, OAuth 2.1 §4.3) with rotation on every use and replay
 * detection: presenting a rotated token revokes its whole family (RFC 9700 §4.14.2).
 */
import { accountStillLive } from '../accounts.js'
import { invalidGrant } from '../errors.js'
import { checkScopesAllowed, parseScope } from '../scopes.js'
import { hashToken } from '../../tokens/secrets.js'
import { accessTokenTarget } from '../resources.js'
import { grantIfSpent, refuseReplay, spendAndIssue, type SingleUse } from './spend.js'
import type { GrantHandler, TokenResponse } from './types.js'

/** RFC 9700 §4.14.2: a refresh token works once; used again, it is refused and its whole family revoked. */
const REFRESH_TOKEN: SingleUse = {
  spend: (store, tokenHash, now, tokens) => store.rotateRefreshToken(tokenHash, now, tokens),
  spentGrant: async (store, tokenHash) => grantIfSpent(await store.getRefreshToken(tokenHash), 'rotatedAt'),
  replayed: 'the refresh token was already used',
  gone: 'the refresh token is no longer valid',
  events: { spent: 'refresh.rotated', replayed: 'refresh.reused' },
}

export const refreshTokenGrant = {
  grantType: 'refresh_token',

  async handle(client, params, ctx): Promise<TokenResponse> {
    const { store, now } = ctx
    const tokenHash = hashToken(params.required('refresh_token'))
    const requestedScope = params.single('scope')

    const found = await store.getRefreshTokenWithGrant(tokenHash)
    // OAuth 2.1 §4.3.1: bound to the client it was issued to.
    if (found === undefined || found.token.clientId !== client.clientId) {
      throw invalidGrant('the refresh token is invalid or was issued to another client')
    }
    const { token, grant } = found
    if (token.rotatedAt !== null) {
      return refuseReplay(ctx, REFRESH_TOKEN, { clientId: client.clientId, userId: token.userId, grantId: token.grantId })
    }
    if (token.expiresAt <= now) throw invalidGrant('the refresh token has expired')
    if (grant.revokedAt !== null || !(await accountStillLive(ctx, found.user, now))) throw invalidGrant('the refresh token was revoked')
    // RFC 9449 §5: a public client's refresh token works only with a proof of the key it is bound to.
    if (token.dpopJkt !== null && ctx.dpop?.jkt !== token.dpopJkt) throw invalidGrant('the refresh token is bound to another DPoP key')

    // RFC 6749 §6: a refresh may narrow the scope, never widen it; the new refresh token keeps the original.
    const scopes = requestedScope === undefined ? token.scopes : parseScope(requestedScope)
    checkScopesAllowed(scopes, token.scopes)
    // RFC 8707 §2.2: one of the grant's resources (a refresh may narrow to any, never add one); the
    // new refresh token keeps them all, as the grant does.
    const target = accessTokenTarget(params, grant.resources ?? [], scopes, ctx.config)

    return spendAndIssue(REFRESH_TOKEN, tokenHash, client, found, scopes, token.scopes, null, ctx, target)
  },
} satisfies GrantHandler
