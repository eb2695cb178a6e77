/**
 * Signing keys (issue #20): list them with their state and dates, rotate, retire one. The
 * lifecycle itself is the key ring's (`tokens/key-ring.ts`); this adds the checks, the events and
 * the JSON shape.
 */
import type { SigningKeyStatus } from '../tokens/key-ring.js'
import type { AdminContext } from './context.js'
import { conflict, notFound } from './errors.js'

/** A signing key as `keys list --json` and the admin API show it: never a private part. */
export interface KeyJson {
  kid: string
  alg: string
  /** `pending` (published, not signing yet), `active` (signs), `superseded`, `retired` (published for verification), `expired` (removed at the next prune). */
  state: SigningKeyStatus['state']
  created_at: number
  activates_at: number
  retired_at: number | null
  /** When it leaves the JWKS; null while that waits on a rotation to come. */
  published_until: number | null
}

export function keyJson(key: SigningKeyStatus): KeyJson {
  return {
    kid: key.kid,
    alg: key.alg,
    state: key.state,
    created_at: key.createdAt,
    activates_at: key.activatesAt,
    retired_at: key.retiredAt,
    published_until: key.publishedUntil,
  }
}

/** Every key in the store, oldest first. */
export async function listKeys(ctx: AdminContext): Promise<KeyJson[]> {
  return (await ctx.keys.list(ctx.now())).map(keyJson)
}

/**
 * Publishes a new key per algorithm (after making any missing one); they sign from `active_from`
 * (now + `keys.activationDelay`), and the current keys stay published until their tokens expire.
 */
export async function rotateKeys(ctx: AdminContext): Promise<{ kids: string[]; active_from: number }> {
  const now = ctx.now()
  await ctx.keys.ensureKeys(now)
  const kids = await ctx.keys.rotate(now)
  ctx.events.emit({ type: 'admin.keys_rotated', actor: ctx.actor, clientId: null, userId: null, kids })
  return { kids, active_from: now + ctx.config.keys.activationDelay }
}

/**
 * Retires a key: it signs nothing from now on (on other instances within `keys.cacheTtl`) and stays
 * published until the tokens it signed have expired. `conflict` when it is the key that signs its
 * algorithm and no other key could take over at once, or when it is retired already.
 */
export async function retireKey(ctx: AdminContext, kid: string): Promise<KeyJson> {
  const result = await ctx.keys.retire(kid, ctx.now())
  switch (result.kind) {
    case 'unknown':
      throw notFound('signing key', kid)
    case 'already_retired':
      throw conflict(`signing key ${kid} is retired already`, 'kid')
    case 'only_signing_key': {
      const then =
        result.pending === undefined
          ? `run 'authcode keys rotate', wait keys.activationDelay until the new ${result.alg} key signs, then retire ${kid}`
          : `key ${result.pending.kid} signs from ${new Date(result.pending.activatesAt * 1000).toISOString()}; retire ${kid} after that`
      throw conflict(`signing key ${kid} is the only key that signs ${result.alg} tokens now: ${then}`, 'kid')
    }
    case 'retired':
      ctx.events.emit({ type: 'admin.key_retired', actor: ctx.actor, clientId: null, userId: null, kid })
      return keyJson(result.key)
  }
}
