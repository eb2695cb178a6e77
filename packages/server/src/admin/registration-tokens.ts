/**
 * Initial access tokens of dynamic client registration (RFC 7591 §1.2, issue #21): with
 * `registration.mode` `token`, a client registers itself only with one of these as Bearer. Made,
 * listed and revoked from the CLI like the admin tokens (`admin/tokens.ts`); the token is shown
 * once and stored as a SHA-256 hash; it may expire. The registration endpoint checks them
 * (`protocol/registration.ts` `checkInitialAccessToken`).
 */
import type { RegistrationTokenRecord } from '../protocol/store.js'
import { DuplicateError } from '../protocol/store.js'
import { hashToken, randomToken, timeOrderedId } from '../tokens/secrets.js'
import type { AdminContext } from './context.js'
import { conflict, invalidField, notFound } from './errors.js'

/** A registration token as `registration-token list --json` shows it: never the token or its hash. */
export interface RegistrationTokenJson {
  id: string
  name: string
  created_at: number
  /** Null: until revoked. */
  expires_at: number | null
  last_used_at: number | null
  revoked_at: number | null
}

export function registrationTokenJson(token: RegistrationTokenRecord): RegistrationTokenJson {
  return {
    id: token.id,
    name: token.name,
    created_at: token.createdAt,
    expires_at: token.expiresAt,
    last_used_at: token.lastUsedAt,
    revoked_at: token.revokedAt,
  }
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/
/** The longest a token may live: a year. */
const EXPIRES_IN_MAX = 365 * 86_400

/**
 * Makes a token named `name` (unique among the tokens not revoked), valid for `expiresIn` seconds
 * (1 s to a year) or until revoked; the token is in the result, once.
 */
export async function createRegistrationToken(ctx: AdminContext, name: string, expiresIn?: number): Promise<RegistrationTokenJson & { token: string }> {
  if (typeof name !== 'string' || !NAME.test(name)) throw invalidField('name', 'name: 1 to 64 of A-Z a-z 0-9 _ . -')
  if (expiresIn !== undefined && (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > EXPIRES_IN_MAX)) {
    throw invalidField('expires_in', `expires_in: whole seconds from 1 to ${EXPIRES_IN_MAX}`)
  }
  const token = randomToken()
  const now = ctx.now()
  const record: RegistrationTokenRecord = {
    id: timeOrderedId(),
    name,
    tokenHash: hashToken(token),
    createdAt: now,
    expiresAt: expiresIn === undefined ? null : now + expiresIn,
    lastUsedAt: null,
    revokedAt: null,
  }
  try {
    await ctx.store.createRegistrationToken(record)
  } catch (error) {
    if (error instanceof DuplicateError) throw conflict(`a registration token named ${name} exists already (revoke it first)`, 'name')
    throw error
  }
  ctx.events.emit({ type: 'admin.registration_token_created', actor: ctx.actor, clientId: null, userId: null, registrationTokenId: record.id })
  return { ...registrationTokenJson(record), token }
}

/** Every registration token, revoked and expired ones included, oldest first. */
export async function listRegistrationTokens(ctx: AdminContext): Promise<RegistrationTokenJson[]> {
  return (await ctx.store.listRegistrationTokens()).map(registrationTokenJson)
}

/** Revokes the token with this id, or else the live token with this name: from now on it registers nothing. */
export async function revokeRegistrationToken(ctx: AdminContext, idOrName: string): Promise<RegistrationTokenJson> {
  const tokens = await ctx.store.listRegistrationTokens()
  const token = tokens.find((t) => t.id === idOrName) ?? tokens.find((t) => t.name === idOrName && t.revokedAt === null)
  if (token === undefined) throw notFound('registration token', `with id or name ${idOrName}`)
  const now = ctx.now()
  if (token.revokedAt !== null || !(await ctx.store.revokeRegistrationToken(token.id, now))) {
    throw conflict(`registration token ${token.name} (${token.id}) is revoked already`, 'id')
  }
  ctx.events.emit({ type: 'admin.registration_token_revoked', actor: ctx.actor, clientId: null, userId: null, registrationTokenId: token.id })
  return registrationTokenJson({ ...token, revokedAt: now })
}
