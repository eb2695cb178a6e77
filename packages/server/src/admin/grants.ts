/** Grants (issue #20): an administrator revokes one, and with it every token issued under it. */
import type { AdminContext } from './context.js'
import { notFound } from './errors.js'

/** A grant as the admin API shows it. */
export interface GrantJson {
  id: string
  client_id: string
  user_id: string
  scope: string
  auth_time: number
  created_at: number
  revoked_at: number | null
}

/**
 * Revokes the grant: its codes and refresh tokens stop working and its access tokens are revoked
 * (introspection inactive, userinfo 401). Revoking a revoked grant changes nothing and says so
 * again; an unknown grant is `not_found`.
 */
export async function revokeGrant(ctx: AdminContext, grantId: string): Promise<GrantJson> {
  const grant = await ctx.store.getGrant(grantId)
  if (grant === undefined) throw notFound('grant', `with id ${grantId}`)
  const now = ctx.now()
  await ctx.store.revokeGrant(grant.id, now)
  ctx.events.emit({ type: 'admin.grant_revoked', actor: ctx.actor, clientId: grant.clientId, userId: grant.userId, grantId: grant.id })
  return {
    id: grant.id,
    client_id: grant.clientId,
    user_id: grant.userId,
    scope: grant.scopes.join(' '),
    auth_time: grant.authTime,
    created_at: grant.createdAt,
    revoked_at: grant.revokedAt ?? now,
  }
}
