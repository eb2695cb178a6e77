/**
 * Admin tokens (issue #20): the bearer tokens of the admin API. Made, listed and revoked from the
 * CLI; the token is shown once and stored as a SHA-256 hash (`tokens/secrets.ts`: it is 256 random
 * bits, so a slow hash would add nothing). `verifyAdminToken` is what the admin API checks.
 */
import type { AdminActor } from '../protocol/events.js'
import type { AdminTokenRecord, AdminTokenStore } from '../protocol/store.js'
import { DuplicateError } from '../protocol/store.js'
import { hashToken, randomToken, timeOrderedId } from '../tokens/secrets.js'
import type { AdminContext } from './context.js'
import { conflict, invalidField, notFound } from './errors.js'

/** An admin token as `admin-token list --json` shows it: never the token or its hash. */
export interface AdminTokenJson {
  id: string
  name: string
  created_at: number
  last_used_at: number | null
  revoked_at: number | null
}

export function adminTokenJson(token: AdminTokenRecord): AdminTokenJson {
  return { id: token.id, name: token.name, created_at: token.createdAt, last_used_at: token.lastUsedAt, revoked_at: token.revokedAt }
}

/** A name names the actor of the events a token causes (`admin_token:NAME`): no spaces, no colons. */
const NAME = /^[A-Za-z0-9_.-]{1,64}$/

/** The actor of the changes made with the token named `name`. */
export const adminTokenActor = (name: string): AdminActor => `admin_token:${name}`

/** Makes a token named `name` (unique among the tokens not revoked); the token is in the result, once. */
export async function createAdminToken(ctx: AdminContext, name: string): Promise<AdminTokenJson & { token: string }> {
  if (typeof name !== 'string' || !NAME.test(name)) throw invalidField('name', 'name: 1 to 64 of A-Z a-z 0-9 _ . -')
  const token = randomToken()
  const record: AdminTokenRecord = { id: timeOrderedId(), name, tokenHash: hashToken(token), createdAt: ctx.now(), lastUsedAt: null, revokedAt: null }
  try {
    await ctx.store.createAdminToken(record)
  } catch (error) {
    if (error instanceof DuplicateError) throw conflict(`an admin token named ${name} exists already (revoke it first)`, 'name')
    throw error
  }
  ctx.events.emit({ type: 'admin.token_created', actor: ctx.actor, clientId: null, userId: null, adminTokenId: record.id })
  return { ...adminTokenJson(record), token }
}

/** Every admin token, revoked ones included, oldest first. */
export async function listAdminTokens(ctx: AdminContext): Promise<AdminTokenJson[]> {
  return (await ctx.store.listAdminTokens()).map(adminTokenJson)
}

/** Revokes the token with this id, or else the live token with this name; from now on it authenticates nothing. */
export async function revokeAdminToken(ctx: AdminContext, idOrName: string): Promise<AdminTokenJson> {
  const tokens = await ctx.store.listAdminTokens()
  const token = tokens.find((t) => t.id === idOrName) ?? tokens.find((t) => t.name === idOrName && t.revokedAt === null)
  if (token === undefined) throw notFound('admin token', `with id or name ${idOrName}`)
  if (token.revokedAt !== null) throw conflict(`admin token ${token.name} (${token.id}) is revoked already`, 'id')
  const now = ctx.now()
  if (!(await ctx.store.revokeAdminToken(token.id, now))) throw conflict(`admin token ${token.name} (${token.id}) is revoked already`, 'id')
  ctx.events.emit({ type: 'admin.token_revoked', actor: ctx.actor, clientId: null, userId: null, adminTokenId: token.id })
  return adminTokenJson({ ...token, revokedAt: now })
}

/**
 * The admin token `presented` is, if it is one and not revoked; records its use. For the admin
 * API's `Authorization: Bearer` check: undefined means 401.
 */
export async function verifyAdminToken(
  store: AdminTokenStore,
  presented: string,
  now: number,
): Promise<{ id: string; name: string; actor: AdminActor } | undefined> {
  if (presented.length === 0 || presented.length > 256) return undefined
  const token = await store.getAdminTokenByHash(hashToken(presented))
  if (token === undefined || token.revokedAt !== null) return undefined
  await store.markAdminTokenUsed(token.id, now)
  return { id: token.id, name: token.name, actor: adminTokenActor(token.name) }
}
