/**
 * Minting of access tokens (RFC 9068 JWTs), ID tokens (OIDC Core §2) and opaque refresh tokens.
 * Signatures run on the signing thread (`jws.ts`); nothing here touches storage: the caller
 * records what was minted in the same transaction as the step that mints it.
 */
import type { ServerConfig } from '../config/load.js'
import type { AccessTokenRecord, ClientRecord, GrantRecord, RefreshTokenRecord, UserRecord } from '../protocol/store.js'
import { formatScope } from '../protocol/scopes.js'
import type { KeyRing } from './keys.js'
import { signJwt } from './jws.js'
import { hashToken, randomToken, timeOrderedId } from './secrets.js'

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
  readonly #config: ServerConfig

  constructor(keys: KeyRing, config: ServerConfig) {
    this.#keys = keys
    this.#config = config
  }

  /** @see https://www.rfc-editor.org/rfc/rfc9068#section-2.2 */
  async accessToken(grant: GrantRecord, scopes: readonly string[], now: number): Promise<MintedAccessToken> {
    const { issuer, lifetimes, accessToken } = this.#config
    const jti = timeOrderedId()
    const exp = now + lifetimes.accessToken
    const token = await signJwt(await this.#keys.signingKey(accessToken.alg, now), 'at+jwt', {
      iss: issuer,
      sub: grant.userId,
      aud: accessToken.audience,
      client_id: grant.clientId,
      scope: formatScope(scopes),
      auth_time: grant.authTime,
      iat: now,
      exp,
      jti,
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
    return { token, record, expiresIn: lifetimes.accessToken }
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
    return signJwt(await this.#keys.signingKey(client.idTokenSignedResponseAlg, now), 'JWT', claims)
  }

  /**
   * An opaque refresh token; it lives `refreshTokenIdle` past its issue, never beyond the grant's
   * absolute lifetime (RFC 9700 §4.14.2).
   */
  refreshToken(grant: GrantRecord, scopes: readonly string[], now: number): MintedRefreshToken {
    const { refreshTokenIdle, refreshTokenAbsolute } = this.#config.lifetimes
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
      },
    }
  }
}
