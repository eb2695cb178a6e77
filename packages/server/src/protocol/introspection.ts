/**
 * Token introspection (RFC 7662). Only confidential clients may ask (§2.1 "MUST also require some
 * form of authorization"), and only about tokens issued to them; everything else, and every
 * token that is not live, is `{ "active": false }` with nothing more (§2.2).
 */
import { accountStillLive, type AccountDeps } from './accounts.js'
import { invalidClient, isOAuthError } from './errors.js'
import type { Params } from './params.js'
import { boundJkt, validateAccessToken, type AccessTokenDeps } from './access-token.js'
import { isPublicClient } from './clients.js'
import { formatScope } from './scopes.js'
import type { ClientRecord } from './store.js'
import { hashToken } from '../tokens/secrets.js'

export type IntrospectionResponse =
  | { active: false }
  | {
      active: true
      scope: string
      client_id: string
      sub: string
      exp: number
      iat: number
      iss: string
      token_type: 'Bearer' | 'DPoP' | 'refresh_token'
      aud?: string
      jti?: string
      /** RFC 9449 §6.2: the DPoP key a bound access token is bound to. */
      cnf?: { jkt: string }
    }

const INACTIVE = { active: false } as const

/** @see https://www.rfc-editor.org/rfc/rfc7662#section-2.2 */
export async function introspectToken(client: ClientRecord, params: Params, deps: AccessTokenDeps & AccountDeps, now: number): Promise<IntrospectionResponse> {
  if (isPublicClient(client)) throw invalidClient('public clients cannot use token introspection')
  const token = params.required('token')
  params.single('token_type_hint')

  const found = await deps.store.getRefreshTokenWithGrant(hashToken(token))
  if (found !== undefined) {
    const { token: refresh, grant, user } = found
    if (refresh.clientId !== client.clientId || refresh.rotatedAt !== null || refresh.expiresAt <= now) return INACTIVE
    if (grant.revokedAt !== null || !(await accountStillLive(deps, user, now))) return INACTIVE
    return {
      active: true,
      scope: formatScope(refresh.scopes),
      client_id: refresh.clientId,
      sub: refresh.userId,
      exp: refresh.expiresAt,
      iat: refresh.createdAt,
      iss: deps.config.issuer,
      token_type: 'refresh_token',
    }
  }
  try {
    const { record, claims } = await validateAccessToken(token, deps, now, 'any')
    if (record.clientId !== client.clientId || !(await accountStillLive(deps, record.userId, now))) return INACTIVE
    const jkt = boundJkt(claims)
    return {
      active: true,
      scope: formatScope(record.scopes),
      client_id: record.clientId,
      sub: record.userId,
      exp: record.expiresAt,
      iat: record.createdAt,
      iss: deps.config.issuer,
      // RFC 8707: the resource the token is for, or the server's default audience.
      aud: typeof claims.aud === 'string' ? claims.aud : deps.config.accessToken.audience,
      jti: record.jti,
      // RFC 9449 §6.2: a bound token says so, and to which key.
      token_type: jkt === undefined ? 'Bearer' : 'DPoP',
      ...(jkt === undefined ? {} : { cnf: { jkt } }),
    }
  } catch (error) {
    if (isOAuthError(error)) return INACTIVE
    throw error
  }
}
