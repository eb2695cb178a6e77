/**
 * How both grants end (RFC 6749 §4.1.3 and §6): mint the tokens, spend the authorization code or
 * refresh token in the store's one atomic step that also records them (STYLE rule 8), treat a spend
 * lost to another request as the second use it is, and answer (RFC 6749 §5.1). Written once, so the
 * single-use rule cannot drift between the two grants.
 */
import { isBrowserClient, isPublicClient } from '../clients.js'
import { invalidGrant } from '../errors.js'
import { NO_EVENTS, type SecurityEvent } from '../events.js'
import { formatScope } from '../scopes.js'
import type { ClientRecord, GrantRecord, GrantStore, IssuedTokens, UserRecord } from '../store.js'
import type { AccessTokenTarget } from '../resources.js'
import type { TokenContext, TokenResponse } from './types.js'

/** A credential that works once (an authorization code, a refresh token): how the store spends it. */
export interface SingleUse {
  /**
   * The store's atomic spend (`redeemCode`, `rotateRefreshToken`), which writes `tokens` with it:
   * true when this request spent it, false when it was spent already or is no longer valid.
   */
  spend(store: GrantStore, hash: string, now: number, tokens: IssuedTokens): Promise<boolean>
  /** After a lost spend: the credential's grant when it was spent (a second use), else undefined. */
  spentGrant(store: GrantStore, hash: string): Promise<string | undefined>
  /** `error_description` of a second use. */
  readonly replayed: string
  /** `error_description` when it stopped being valid between its read and its spend. */
  readonly gone: string
  /** The security events of a spend and of a second use (`protocol/events.ts`). */
  readonly events: { readonly spent: 'code.redeemed' | 'refresh.rotated'; readonly replayed: 'code.replayed' | 'refresh.reused' }
}

/** Who a credential's use involves, for its security event. */
export interface CredentialUse {
  clientId: string
  userId: string
  grantId: string
}

/** `record`'s grant when its `spentAt` field is set (it was spent), else undefined: a `SingleUse.spentGrant`. */
export function grantIfSpent<K extends string>(record: ({ grantId: string } & Record<K, number | null>) | undefined, spentAt: K): string | undefined {
  return record?.[spentAt] != null ? record.grantId : undefined
}

/**
 * A second use is refused, and every token of its grant revoked: a code's (RFC 6749 §4.1.2), a
 * refresh token's family (RFC 9700 §4.14.2). Call it only once the request proves possession
 * (OAuth 2.1 §7.5.2: otherwise anyone could revoke others' tokens).
 */
export async function refuseReplay(
  { store, now, events = NO_EVENTS }: Pick<TokenContext, 'store' | 'now' | 'events'>,
  credential: SingleUse,
  use: CredentialUse,
): Promise<never> {
  await store.revokeGrant(use.grantId, now)
  events.emit({ type: credential.events.replayed, ...use } satisfies SecurityEvent)
  throw invalidGrant(credential.replayed)
}

/**
 * Mints the tokens of `grant`, spends the credential (hash `hash`) together with their records, and
 * returns the token response. An ID token comes with `openid` in `scopes`; a refresh token when
 * `refreshScopes` is not null.
 *
 * @param scopes the scopes of this token request (the ID token comes with `openid` among them)
 * @param refreshScopes the new refresh token's scopes; null: no refresh token
 * @param nonce the authorization request's nonce, for the ID token (OIDC Core §3.1.3.6)
 * @param target RFC 8707: the access token's audience and scopes (a resource's); absent: `scopes`
 *   at the default audience
 * @throws OAuthError `invalid_grant` when the spend is lost: a second use (its grant then revoked),
 *   or a credential no longer valid; nothing is written then
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export async function spendAndIssue(
  credential: SingleUse,
  hash: string,
  client: ClientRecord,
  { grant, user }: { grant: GrantRecord; user: UserRecord },
  scopes: readonly string[],
  refreshScopes: readonly string[] | null,
  nonce: string | null,
  ctx: TokenContext,
  target?: AccessTokenTarget,
): Promise<TokenResponse> {
  const { store, minter, now, events = NO_EVENTS, dpop } = ctx
  const accessScopes = target?.scopes ?? scopes
  // Both signatures are asked for at once (the signing thread takes them in one message).
  const [access, idToken] = await Promise.all([
    minter.accessToken(grant, accessScopes, now, dpop?.jkt, target),
    scopes.includes('openid') ? minter.idToken(client, user, grant, nonce, now) : undefined,
  ])
  // RFC 9449 §5: a public client's refresh token is bound to its DPoP key; a confidential client's
  // is bound to the client by its authentication already.
  const refreshJkt = isPublicClient(client) ? (dpop?.jkt ?? null) : null
  const refresh = refreshScopes === null ? null : minter.refreshToken(grant, refreshScopes, now, refreshJkt, isBrowserClient(client))

  // The single-use rule and the token records in one transaction (STYLE rule 8).
  if (!(await credential.spend(store, hash, now, { accessToken: access.record, refreshToken: refresh?.record ?? null }))) {
    const spentGrant = await credential.spentGrant(store, hash)
    if (spentGrant !== undefined) return refuseReplay(ctx, credential, { clientId: client.clientId, userId: grant.userId, grantId: spentGrant })
    throw invalidGrant(credential.gone)
  }
  events.emit({ type: credential.events.spent, clientId: client.clientId, userId: grant.userId, grantId: grant.id })
  return {
    access_token: access.token,
    token_type: dpop === undefined ? 'Bearer' : 'DPoP',
    expires_in: access.expiresIn,
    // RFC 6749 §5.1: the access token's scope (a resource's share of the grant's).
    scope: formatScope(accessScopes),
    ...(refresh === null ? {} : { refresh_token: refresh.token }),
    ...(idToken === undefined ? {} : { id_token: idToken }),
  }
}
