/**
 * Token revocation (RFC 7009). Unknown, expired and malformed tokens are answered like revoked
 * ones (§2.2); a client can revoke only its own tokens; a refresh token takes its family with it.
 */
import { invalidRequest, isOAuthError } from './errors.js'
import type { Params } from './params.js'
import { looksLikeJwt, validateAccessToken, type AccessTokenDeps } from './access-token.js'
import type { ClientRecord } from './store.js'
import type { SecurityEvent } from './events.js'
import { hashToken } from '../tokens/secrets.js'

/** A live token of the client's that a revocation request revoked: what the audit event says. */
export type RevokedToken = Extract<SecurityEvent, { type: 'token.revoked' }>

/**
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 * @returns the token revoked, or null when it was none of ours (answered alike, §2.2).
 */
export async function revokeToken(client: ClientRecord, params: Params, deps: AccessTokenDeps, now: number): Promise<RevokedToken | null> {
  const token = params.required('token')
  // token_type_hint is only a hint (§2.1): both kinds are looked up whatever it says.
  params.single('token_type_hint')

  const found = await deps.store.getRefreshTokenWithGrant(hashToken(token))
  if (found !== undefined) {
    const { token: refresh, grant } = found
    if (refresh.clientId !== client.clientId) throw invalidRequest('the token was not issued to this client')
    if (grant.revokedAt !== null) return null // revoked before: nothing new to say
    await deps.store.revokeGrant(refresh.grantId, now)
    return { type: 'token.revoked', clientId: client.clientId, userId: refresh.userId, grantId: refresh.grantId, tokenType: 'refresh_token' }
  }
  if (!looksLikeJwt(token)) return null
  let access
  try {
    access = await validateAccessToken(token, deps, now, 'any')
  } catch (error) {
    if (isOAuthError(error)) return null // not a live token of ours: nothing to revoke
    throw error
  }
  if (access.record.clientId !== client.clientId) throw invalidRequest('the token was not issued to this client')
  await deps.store.revokeAccessToken(access.record.jti, now)
  const { clientId, userId, grantId } = access.record
  return { type: 'token.revoked', clientId, userId, grantId, tokenType: 'access_token' }
}
