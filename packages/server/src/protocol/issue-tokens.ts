/**
 * Minting of access tokens (RFC 9068 JWTs), ID tokens (OIDC Core §2) and opaque refresh tokens:
 * the protocol decides what each token says and the record kept of it; `tokens/` signs (on the
 * signing thread, `tokens/jws.ts`) and makes the random values and their hashes. Nothing here
 * touches storage: the caller records what was minted in the same transaction as the step that
 * mints it.
 */
import type { SigningAlg } from '../tokens/algorithms.js'
import { signJwt } from '../tokens/jws.js'
import type { KeyRing } from '../tokens/key-ring.js'
import { hashToken, randomToken, timeOrderedId } from '../tokens/secrets.js'
import type { ResourceIndicatorSettings } from './resources.js'
import { acrOf } from './passkeys-assurance.js'
import { formatScope } from './scopes.js'
import type { AccessTokenRecord, ClientRecord, GrantRecord, LogoutDeliveryRecord, RefreshTokenRecord, UserRecord } from './store.js'

/** OpenID Back-Channel Logout §2.4: the member of a logout token's `events` claim. */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout'

/** Seconds a logout token is valid: long enough for the POST, short enough that a copy is soon useless (§2.4 suggests two minutes). */
export const LOGOUT_TOKEN_LIFETIME = 120

/** The settings the minter reads (`ServerConfig` has them); lifetimes in seconds. */
export interface TokenSettings extends ResourceIndicatorSettings {
  /** `iss` of every token. */
  readonly issuer: string
  readonly lifetimes: {
    readonly accessToken: number
    readonly idToken: number
    /** A refresh token lives this long past its issue… */
    readonly refreshTokenIdle: number
    /** …and never beyond this long past its grant's creation… */
    readonly refreshTokenAbsolute: number
    /** …or this long, for an app in the browser whose token is not DPoP-bound. */
    readonly browserRefreshTokenAbsolute: number
  }
  /** How access tokens are signed, and their `aud`. */
  readonly accessToken: { readonly alg: SigningAlg; readonly audience: string }
}

export interface MintedAccessToken {
  token: string
  record: AccessTokenRecord
  expiresIn: number
}

export interface MintedRefreshToken {
  token: string
  record: RefreshTokenRecord
}

export class TokenMinter {
  readonly #keys: KeyRing
  readonly #config: TokenSettings

  constructor(keys: KeyRing, config: TokenSettings) {
    this.#keys = keys
    this.#config = config
  }

  /** @see https://www.rfc-editor.org/rfc/rfc9068#section-2.2 */
  /**
   * @param jkt RFC 9449 §6.1: the DPoP key the token is bound to (`cnf.jkt`), when the request proved one.
   * @param target RFC 8707: the resource the token is for (its `aud` and lifetime); absent: the default audience.
   */
  async accessToken(
    grant: GrantRecord,
    scopes: readonly string[],
    now: number,
    jkt?: string,
    target?: { audience: string | undefined; lifetime: number | undefined },
  ): Promise<MintedAccessToken> {
    const { issuer, lifetimes, accessToken } = this.#config
    const jti = timeOrderedId()
    const expiresIn = target?.lifetime ?? lifetimes.accessToken
    const exp = now + expiresIn
    const token = await signJwt(await this.#keys.signingKey(accessToken.alg, now), 'at+jwt', {
      iss: issuer,
      sub: grant.userId,
      aud: target?.audience ?? accessToken.audience,
      client_id: grant.clientId,
      scope: formatScope(scopes),
      auth_time: grant.authTime,
      iat: now,
      exp,
      jti,
      ...(jkt === undefined ? {} : { cnf: { jkt } }),
    })
    const record: AccessTokenRecord = {
      jti,
      grantId: grant.id,
      clientId: grant.clientId,
      userId: grant.userId,
      scopes: [...scopes],
      createdAt: now,
      expiresAt: exp,
      revokedAt: null,
    }
    return { token, record, expiresIn }
  }

  /** @see https://openid.net/specs/openid-connect-core-1_0.html#IDToken */
  async idToken(client: ClientRecord, user: UserRecord, grant: GrantRecord, nonce: string | null, now: number): Promise<string> {
    const claims: Record<string, unknown> = {
      iss: this.#config.issuer,
      sub: user.id,
      aud: client.clientId,
      azp: client.clientId,
      iat: now,
      exp: now + this.#config.lifetimes.idToken,
      auth_time: grant.authTime,
    }
    if (nonce !== null) claims.nonce = nonce
    // OpenID Back-Channel Logout §2.4: the login session's id, which its logout tokens carry too.
    if (grant.sid !== undefined) claims.sid = grant.sid
    // OIDC Core §2, RFC 8176: how the user signed in (`passkeys-assurance.ts`); unknown for grants from before it was kept.
    if (grant.amr !== undefined) Object.assign(claims, { amr: grant.amr, acr: acrOf(grant.amr) })
    return signJwt(await this.#keys.signingKey(client.idTokenSignedResponseAlg, now), 'JWT', claims)
  }

  /**
   * A logout token (OpenID Back-Channel Logout §2.4) for `delivery`'s client: signed like its ID
   * tokens, explicitly typed `logout+jwt` (§2.4, RFC 8725 §3.11), with the back-channel logout
   * event, the session's `sid` and its user's `sub`, a fresh `jti`, and never a `nonce` (§2.4: so
   * it cannot pass for an ID token).
   *
   * @see https://openid.net/specs/openid-connect-backchannel-1_0.html#LogoutToken
   */
  async logoutToken(client: ClientRecord, delivery: Pick<LogoutDeliveryRecord, 'sid' | 'userId'>, now: number): Promise<string> {
    const claims = {
      iss: this.#config.issuer,
      sub: delivery.userId,
      aud: client.clientId,
      iat: now,
      exp: now + LOGOUT_TOKEN_LIFETIME,
      jti: timeOrderedId(),
      sid: delivery.sid,
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    }
    return signJwt(await this.#keys.signingKey(client.idTokenSignedResponseAlg, now), 'logout+jwt', claims)
  }

  /**
   * An opaque refresh token; it lives `refreshTokenIdle` past its issue, never beyond the grant's
   * absolute lifetime (RFC 9700 §4.14.2).
   */
  refreshToken(grant: GrantRecord, scopes: readonly string[], now: number, dpopJkt: string | null = null, inBrowser = false): MintedRefreshToken {
    const { refreshTokenIdle, browserRefreshTokenAbsolute } = this.#config.lifetimes
    // IETF OAuth 2.0 for Browser-Based Apps: a token a page keeps lives less long, unless bound to a key it cannot leak.
    const refreshTokenAbsolute = inBrowser && dpopJkt === null ? Math.min(this.#config.lifetimes.refreshTokenAbsolute, browserRefreshTokenAbsolute) : this.#config.lifetimes.refreshTokenAbsolute
    const token = randomToken()
    return {
      token,
      record: {
        tokenHash: hashToken(token),
        grantId: grant.id,
        clientId: grant.clientId,
        userId: grant.userId,
        scopes: [...scopes],
        createdAt: now,
        expiresAt: Math.min(now + refreshTokenIdle, grant.createdAt + refreshTokenAbsolute),
        rotatedAt: null,
        dpopJkt,
      },
    }
  }
}
