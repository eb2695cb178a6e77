/**
 * The UserInfo endpoint's claims (OIDC Core §5.3): `sub` always, the standard claims of the
 * `profile` and `email` scopes (§5.4) when the access token carries them.
 */
import { liveAccount, type AccountDeps } from './accounts.js'
import { insufficientScope, invalidToken } from './errors.js'
import { checkTokenBinding, validateAccessToken, type AccessTokenDeps } from './access-token.js'

export type UserInfo = Record<string, string | number | boolean>

/** @param dpopJkt the key of the request's DPoP proof (the DPoP scheme); undefined for Bearer. */
export async function userInfo(accessToken: string, deps: AccessTokenDeps & AccountDeps, now: number, dpopJkt?: string): Promise<UserInfo> {
  const valid = await validateAccessToken(accessToken, deps, now)
  checkTokenBinding(valid.claims, dpopJkt)
  const { record } = valid
  if (!record.scopes.includes('openid')) throw insufficientScope('openid')
  // A disabled or removed account counts as unknown; another provider's is asked (its mirror disabled when it is gone).
  const account = await liveAccount(deps, record.userId, now)
  if (account === undefined) throw invalidToken('the user no longer exists')
  const found = await deps.accounts.claims(account)
  const claims: UserInfo = { sub: account.id }
  if (record.scopes.includes('profile')) {
    claims.preferred_username = found.preferred_username ?? account.username
    if (found.name !== undefined) claims.name = found.name
    if (found.updated_at !== undefined) claims.updated_at = found.updated_at
  }
  if (record.scopes.includes('email') && found.email !== undefined) {
    claims.email = found.email
    claims.email_verified = found.email_verified ?? false
  }
  return claims
}
