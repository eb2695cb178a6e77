/**
 * Token revocation (RFC 7009). Unknown, expired and malformed tokens are answered like revoked
 * ones (§2.2); a client can revoke only its own tokens; a refresh token takes its family with it.
 */
import { invalidRequest, isOAuthError } from './errors.js'
import type { Params } from './params.js'
import { looksLikeJwt, validateAccessToken, type AccessTokenDeps } from './access-token.js'
import type { ClientRecord } from './store.js'
import { hashToken } from '../tokens/secrets.js'

/** @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1 */
export async function revokeToken(client: ClientRecord, params: Params, deps: AccessTokenDeps, now: number): Promise<void> {
  const token = params.required('token')
  // token_type_hint is only a hint (§2.1): both kinds are looked up whatever it says.
  params.single('token_type_hint')

  const refresh = await deps.store.getRefreshToken(hashToken(token))
  if (refresh !== undefined) {
    if (refresh.clientId !== client.clientId) throw invalidRequest('the token was not issued to this client')
    await deps.store.revokeGrant(refresh.grantId, now)
    return
  }
  if (!looksLikeJwt(token)) return
  let access
  try {
    access = await validateAccessToken(token, deps, now)
  } catch (error) {
    if (isOAuthError(error)) return // not a live token of ours: nothing to revoke
    throw error
  }
  if (access.record.clientId !== client.clientId) throw invalidRequest('the token was not issued to this client')
  await deps.store.revokeAccessToken(access.record.jti, now)
}
