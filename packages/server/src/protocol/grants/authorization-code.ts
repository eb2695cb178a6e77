/**
 * The authorization code grant's token step (RFC 6749 §4.1.3, OAuth 2.1 §4.1.3, RFC 7636 §4.6).
 */
import { accountStillLive } from '../accounts.js'
import { invalidGrant } from '../errors.js'
import { NO_EVENTS, type EventSink } from '../events.js'
import { verifyCodeVerifier } from '../pkce.js'
import type { CodeRecord, GrantRecord, Store } from '../store.js'
import { hashToken, randomToken, timeOrderedId } from '../../tokens/secrets.js'
import type { AuthorizationRequest } from '../authorize.js'
import { accessTokenTarget } from '../resources.js'
import { grantIfSpent, refuseReplay, spendAndIssue, type SingleUse } from './spend.js'
import type { GrantHandler, TokenResponse } from './types.js'

/**
 * Mints the code that ends a successful authorization request and records it with its grant.
 * The code is 256 random bits; only its hash is stored (RFC 6749 §10.10, SECURITY.md 5).
 */
export async function issueAuthorizationCode(
  store: Store,
  request: AuthorizationRequest,
  user: { userId: string; authTime: number; sid?: string | undefined; amr?: string[] | undefined },
  codeLifetime: number,
  now: number,
  events: EventSink = NO_EVENTS,
): Promise<string> {
  const code = randomToken()
  const grant: GrantRecord = {
    id: timeOrderedId(),
    clientId: request.clientId,
    userId: user.userId,
    scopes: request.scopes,
    authTime: user.authTime,
    createdAt: now,
    revokedAt: null,
    ...(user.sid === undefined ? {} : { sid: user.sid }),
    ...(user.amr === undefined ? {} : { amr: user.amr }),
    ...(request.resources === undefined ? {} : { resources: request.resources }),
  }
  const record: CodeRecord = {
    codeHash: hashToken(code),
    grantId: grant.id,
    clientId: request.clientId,
    userId: user.userId,
    redirectUri: request.redirectUri,
    redirectUriSent: request.redirectUriSent,
    codeChallenge: request.codeChallenge,
    codeChallengeMethod: request.codeChallengeMethod,
    nonce: request.nonce ?? null,
    scopes: request.scopes,
    authTime: user.authTime,
    createdAt: now,
    expiresAt: now + codeLifetime,
    consumedAt: null,
    dpopJkt: request.dpopJkt ?? null,
  }
  await store.createGrantWithCode(grant, record)
  events.emit({ type: 'code.issued', clientId: request.clientId, userId: user.userId, grantId: grant.id })
  return code
}

/** RFC 6749 §4.1.2: a code works once; used twice, it is refused and every token issued from it revoked. */
const AUTHORIZATION_CODE: SingleUse = {
  spend: (store, codeHash, now, tokens) => store.redeemCode(codeHash, now, tokens),
  spentGrant: async (store, codeHash) => grantIfSpent(await store.getCode(codeHash), 'consumedAt'),
  replayed: 'the authorization code was already used',
  gone: 'the authorization code is no longer valid',
  events: { spent: 'code.redeemed', replayed: 'code.replayed' },
}

export const authorizationCodeGrant = {
  grantType: 'authorization_code',

  async handle(client, params, ctx): Promise<TokenResponse> {
    const { store, now } = ctx
    const codeHash = hashToken(params.required('code'))
    const redirectUri = params.single('redirect_uri')
    const verifier = params.single('code_verifier')

    const found = await store.getCodeWithGrant(codeHash)
    if (found === undefined || found.code.clientId !== client.clientId) {
      throw invalidGrant('the authorization code is invalid or was issued to another client')
    }
    const { code, grant } = found
    // RFC 6749 §4.1.3: required and identical when the authorization request had it.
    if (code.redirectUriSent ? redirectUri !== code.redirectUri : redirectUri !== undefined && redirectUri !== code.redirectUri) {
      throw invalidGrant('redirect_uri does not match the authorization request')
    }
    verifyCodeVerifier(verifier, code.codeChallenge)
    // RFC 9449 §10: the authorization request named the key (dpop_jkt); the exchange proves it.
    if (code.dpopJkt !== null && ctx.dpop?.jkt !== code.dpopJkt) throw invalidGrant('the DPoP proof key is not the one the authorization request named')
    // Checked only once the request proves possession (OAuth 2.1 §7.5.2: a replay with invalid
    // parameters must not revoke anything, or anyone could revoke others' tokens).
    if (code.consumedAt !== null) {
      return refuseReplay(ctx, AUTHORIZATION_CODE, { clientId: client.clientId, userId: code.userId, grantId: code.grantId })
    }
    if (code.expiresAt <= now) throw invalidGrant('the authorization code has expired')

    // A disabled user's grants were revoked with the user; one made in a race with that is refused
    // here, and so is another provider's account that is disabled or gone (`accounts.ts`).
    if (grant.revokedAt !== null || !(await accountStillLive(ctx, found.user, now))) throw invalidGrant('the authorization code is no longer valid')

    // RFC 8707 §2.2: the access token is for one of the resources the user authorized.
    const target = accessTokenTarget(params, grant.resources ?? [], code.scopes, ctx.config)
    const refreshScopes = client.grantTypes.includes('refresh_token') ? code.scopes : null
    return spendAndIssue(AUTHORIZATION_CODE, codeHash, client, found, code.scopes, refreshScopes, code.nonce, ctx, target)
  },
} satisfies GrantHandler
