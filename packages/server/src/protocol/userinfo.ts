/**
 * The UserInfo endpoint's claims (OIDC Core §5.3): `sub` always, the standard claims of the
 * `profile` and `email` scopes (§5.4) when the access token carries them.
 */
import { insufficientScope, invalidToken } from './errors.js'
import { checkTokenBinding, validateAccessToken, type AccessTokenDeps } from './access-token.js'
import type { UserStore } from './store.js'

export type UserInfo = Record<string, string | number | boolean>

/** @param dpopJkt the key of the request's DPoP proof (the DPoP scheme); undefined for Bearer. */
export async function userInfo(accessToken: string, deps: AccessTokenDeps & { users: UserStore }, now: number, dpopJkt?: string): Promise<UserInfo> {
  const valid = await validateAccessToken(accessToken, deps, now)
  checkTokenBinding(valid.claims, dpopJkt)
  const { record } = valid
  if (!record.scopes.includes('openid')) throw insufficientScope('openid')
  const user = await deps.users.getUserById(record.userId)
  if (user === undefined || user.disabledAt !== null) throw invalidToken('the user no longer exists')
  const claims: UserInfo = { sub: user.id }
  if (record.scopes.includes('profile')) {
    claims.preferred_username = user.username
    if (user.name !== null) claims.name = user.name
    claims.updated_at = user.updatedAt
  }
  if (record.scopes.includes('email') && user.email !== null) {
    claims.email = user.email
    claims.email_verified = user.emailVerified
  }
  return claims
}
