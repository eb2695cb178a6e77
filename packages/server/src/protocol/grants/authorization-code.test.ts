import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import {
  CONFIG,
  NOW,
  REDIRECT_URI,
  VERIFIER,
  authorizationRequest,
  codeParams,
  confidentialClient,
  issueCode,
  oauthError,
  params,
  publicClient,
  seed,
  tokenContext,
  type Seeded,
} from '../../../test/protocol-fixtures.js'
import { hashToken } from '../../tokens/secrets.js'
import { s256 } from '../pkce.js'
import { authorizationCodeGrant, issueAuthorizationCode } from './authorization-code.js'
import { refreshTokenGrant } from './refresh-token.js'

/** Redeems `code` as `client` at `now` with the request `codeParams` builds (overrides applied). */
async function redeem(seeded: Seeded, code: string, overrides: Record<string, string | undefined> = {}, now = NOW, client = seeded.client) {
  return authorizationCodeGrant.handle(client, codeParams(code, overrides), await tokenContext(seeded.store, now))
}

const consumedAt = async (seeded: Seeded, code: string) => (await seeded.store.getCode(hashToken(code)))?.consumedAt

describe('issueAuthorizationCode', () => {
  it('RFC 6749 §10.10: the code is 256 random bits, stored only as its hash, with a new grant for the user', async () => {
    const seeded = await seed()
    const request = authorizationRequest(seeded.client)
    const code = await issueAuthorizationCode(seeded.store, request, { userId: seeded.user.id, authTime: NOW - 60 }, 300, NOW)

    expect(code).toMatch(/^[\w-]{43}$/)
    expect(seeded.store.codes.has(code)).toBe(false)
    const record = seeded.store.codes.get(hashToken(code))
    expect(record).toMatchObject({
      clientId: 'rp',
      userId: seeded.user.id,
      redirectUri: REDIRECT_URI,
      redirectUriSent: true,
      codeChallenge: s256(VERIFIER),
      codeChallengeMethod: 'S256',
      nonce: request.nonce,
      scopes: ['openid', 'profile'],
      authTime: NOW - 60,
      createdAt: NOW,
      expiresAt: NOW + 300,
      consumedAt: null,
    })
    expect(seeded.store.grants.get(record?.grantId ?? '')).toMatchObject({
      clientId: 'rp',
      userId: seeded.user.id,
      scopes: ['openid', 'profile'],
      authTime: NOW - 60,
      createdAt: NOW,
      revokedAt: null,
    })
    expect(await issueAuthorizationCode(seeded.store, request, { userId: seeded.user.id, authTime: NOW - 60 }, 300, NOW)).not.toBe(code)
  })
})

describe('the authorization code grant', () => {
  describe('success', () => {
    it('RFC 6749 §5.1: a valid code gives a Bearer access token, a refresh token, an ID token and the granted scope', async () => {
      const seeded = await seed()
      const code = await issueCode(seeded)
      const response = await redeem(seeded, code)

      expect(Object.keys(response).sort()).toEqual(['access_token', 'expires_in', 'id_token', 'refresh_token', 'scope', 'token_type'])
      expect(response).toMatchObject({ token_type: 'Bearer', expires_in: CONFIG.lifetimes.accessToken, scope: 'openid profile' })
      expect(response.refresh_token).toMatch(/^[\w-]{43}$/)
    })

    it('RFC 6749 §4.1.2: the code is spent, and the tokens are recorded under its grant in the same step', async () => {
      const seeded = await seed()
      const code = await issueCode(seeded)
      const grantId = seeded.store.codes.get(hashToken(code))?.grantId
      const response = await redeem(seeded, code, {}, NOW + 10)

      expect(await consumedAt(seeded, code)).toBe(NOW + 10)
      const claims = decodeJwt(response.access_token)
      expect([...seeded.store.accessTokens.values()]).toEqual([
        {
          jti: claims.jti,
          grantId,
          clientId: 'rp',
          userId: seeded.user.id,
          scopes: ['openid', 'profile'],
          createdAt: NOW + 10,
          expiresAt: NOW + 10 + CONFIG.lifetimes.accessToken,
          revokedAt: null,
        },
      ])
      // RFC 9700 §4.14.2: the refresh token lives refreshTokenIdle, never past the grant's absolute limit; stored hashed.
      expect([...seeded.store.refreshTokens.entries()]).toEqual([
        [
          hashToken(response.refresh_token ?? ''),
          {
            tokenHash: hashToken(response.refresh_token ?? ''),
            grantId,
            clientId: 'rp',
            userId: seeded.user.id,
            scopes: ['openid', 'profile'],
            createdAt: NOW + 10,
            expiresAt: NOW + 10 + CONFIG.lifetimes.refreshTokenIdle,
            rotatedAt: null,
            dpopJkt: null,
          },
        ],
      ])
    })

    it('RFC 9068 §2.2 / OIDC Core §2: the access token and the ID token name the user, the client, auth_time and the nonce', async () => {
      const seeded = await seed()
      const code = await issueCode(seeded)
      const response = await redeem(seeded, code, {}, NOW + 10)

      expect(decodeJwt(response.access_token)).toMatchObject({
        iss: CONFIG.issuer,
        sub: seeded.user.id,
        aud: CONFIG.accessToken.audience,
        client_id: 'rp',
        scope: 'openid profile',
        auth_time: NOW - 60,
        iat: NOW + 10,
        exp: NOW + 10 + CONFIG.lifetimes.accessToken,
      })
      expect(decodeJwt(response.id_token ?? '')).toMatchObject({
        iss: CONFIG.issuer,
        sub: seeded.user.id,
        aud: 'rp',
        azp: 'rp',
        auth_time: NOW - 60,
        nonce: authorizationRequest(seeded.client).nonce,
        iat: NOW + 10,
      })
    })

    it('OIDC Core §3.1.3.3: without the openid scope there is no ID token', async () => {
      const seeded = await seed()
      const code = await issueCode(seeded, authorizationRequest(seeded.client, { scopes: ['profile'] }))
      const response = await redeem(seeded, code)
      expect(response.id_token).toBeUndefined()
      expect(response.scope).toBe('profile')
    })

    it('OIDC Core §3.1.2.1: without a nonce in the authorization request the ID token has none', async () => {
      const seeded = await seed()
      const code = await issueCode(seeded, authorizationRequest(seeded.client, { nonce: undefined }))
      expect(decodeJwt((await redeem(seeded, code)).id_token ?? '')).not.toHaveProperty('nonce')
    })

    it('RFC 6749 §5.1: a client not allowed the refresh_token grant gets no refresh token', async () => {
      const seeded = await seed(confidentialClient({ grantTypes: ['authorization_code'] }))
      const response = await redeem(seeded, await issueCode(seeded))
      expect(response.refresh_token).toBeUndefined()
      expect(seeded.store.refreshTokens.size).toBe(0)
      expect(seeded.store.accessTokens.size).toBe(1)
    })

    it('OAuth 2.1 §2.4: a public client redeems with PKCE and no secret', async () => {
      const seeded = await seed(publicClient())
      const code = await issueCode(seeded)
      const response = await redeem(seeded, code, { redirect_uri: 'http://127.0.0.1/cb' })
      expect(response.token_type).toBe('Bearer')
    })
  })

  describe('single use (RFC 6749 §4.1.2)', () => {
    it('RFC 6749 §4.1.2: a code used a second time is invalid_grant and revokes the tokens issued from it', async () => {
      const seeded = await seed()
      const code = await issueCode(seeded)
      const first = await redeem(seeded, code, {}, NOW + 5)

      const error = await oauthError(redeem(seeded, code, {}, NOW + 30), 'invalid_grant')
      expect(error.description).toBe('the authorization code was already used')
      expect(error.status).toBe(400)

      const grantId = seeded.store.codes.get(hashToken(code))?.grantId ?? ''
      expect(seeded.store.grants.get(grantId)?.revokedAt).toBe(NOW + 30)
      expect([...seeded.store.accessTokens.values()].map((token) => token.revokedAt)).toEqual([NOW + 30])
      // The refresh token of the first exchange no longer works.
      await oauthError(
        refreshTokenGrant.handle(seeded.client, params({ grant_type: 'refresh_token', refresh_token: first.refresh_token ?? '' }), await tokenContext(seeded.store, NOW + 40)),
        'invalid_grant',
      )
    })

    it('RFC 6749 §4.1.2: tokens already refreshed from the code are revoked with it', async () => {
      const seeded = await seed()
      const code = await issueCode(seeded)
      const first = await redeem(seeded, code)
      const refreshed = await refreshTokenGrant.handle(
        seeded.client,
        params({ grant_type: 'refresh_token', refresh_token: first.refresh_token ?? '' }),
        await tokenContext(seeded.store, NOW + 10),
      )

      await oauthError(redeem(seeded, code, {}, NOW + 20), 'invalid_grant')
      expect([...seeded.store.accessTokens.values()].every((token) => token.revokedAt === NOW + 20)).toBe(true)
      await oauthError(
        refreshTokenGrant.handle(seeded.client, params({ grant_type: 'refresh_token', refresh_token: refreshed.refresh_token ?? '' }), await tokenContext(seeded.store, NOW + 30)),
        'invalid_grant',
      )
    })

    it('OAuth 2.1 §7.5.2: a replay with a wrong code_verifier is invalid_grant and revokes nothing', async () => {
      const seeded = await seed()
      const code = await issueCode(seeded)
      await redeem(seeded, code)
      await oauthError(redeem(seeded, code, { code_verifier: `${VERIFIER}x` }, NOW + 30), 'invalid_grant')
      expect([...seeded.store.grants.values()].map((grant) => grant.revokedAt)).toEqual([null])
      expect([...seeded.store.accessTokens.values()].map((token) => token.revokedAt)).toEqual([null])
    })

    it('OAuth 2.1 §7.5.2: a replay by another client, or with a wrong redirect_uri, revokes nothing', async () => {
      const seeded = await seed()
      const other = confidentialClient({ clientId: 'other' })
      await seeded.store.createClient(other)
      const code = await issueCode(seeded)
      await redeem(seeded, code)

      await oauthError(redeem(seeded, code, {}, NOW + 30, other), 'invalid_grant')
      await oauthError(redeem(seeded, code, { redirect_uri: 'https://rp.example.com/other' }, NOW + 30), 'invalid_grant')
      expect([...seeded.store.grants.values()].map((grant) => grant.revokedAt)).toEqual([null])
    })

    it('RFC 6749 §4.1.2: of concurrent redemptions of one code exactly one gets tokens; the others are replays, refused', async () => {
      const seeded = await seed()
      const code = await issueCode(seeded)
      const context = await tokenContext(seeded.store, NOW + 1)
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => authorizationCodeGrant.handle(seeded.client, codeParams(code), context)))

      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
      for (const result of results.filter((result) => result.status === 'rejected')) {
        expect(result.reason).toMatchObject({ error: 'invalid_grant' })
      }
      // One set of tokens was written, and the replays revoked it (RFC 6749 §4.1.2 "SHOULD revoke").
      expect(seeded.store.accessTokens.size).toBe(1)
      expect(seeded.store.refreshTokens.size).toBe(1)
      expect([...seeded.store.grants.values()].map((grant) => grant.revokedAt)).toEqual([NOW + 1])
    })

    it('RFC 6749 §4.1.2: a redemption that loses the spend to another is a replay: refused, the winner’s tokens revoked', async () => {
      const seeded = await seed()
      const code = await issueCode(seeded)
      // Both read the unspent code; the other request spends it just before this one tries.
      const redeemCode = seeded.store.redeemCode.bind(seeded.store)
      let winner: Promise<unknown> | undefined
      seeded.store.redeemCode = async (...args) => {
        if (winner === undefined) {
          seeded.store.redeemCode = redeemCode
          winner = redeem(seeded, code, {}, NOW + 1)
          await winner
        }
        return redeemCode(...args)
      }

      const error = await oauthError(redeem(seeded, code, {}, NOW + 1), 'invalid_grant')
      expect(error.description).toBe('the authorization code was already used')
      await expect(winner).resolves.toMatchObject({ token_type: 'Bearer' })
      expect(seeded.store.accessTokens.size).toBe(1)
      expect([...seeded.store.accessTokens.values()].map((token) => token.revokedAt)).toEqual([NOW + 1])
    })

    it('RFC 6749 §4.1.2: a code whose grant is revoked between the read and the spend is refused, and nothing is written', async () => {
      const seeded = await seed()
      const code = await issueCode(seeded)
      const grantId = seeded.store.codes.get(hashToken(code))?.grantId ?? ''
      const redeemCode = seeded.store.redeemCode.bind(seeded.store)
      seeded.store.redeemCode = async (...args) => {
        await seeded.store.revokeGrant(grantId, NOW)
        return redeemCode(...args)
      }

      const error = await oauthError(redeem(seeded, code), 'invalid_grant')
      expect(error.description).toBe('the authorization code is no longer valid')
      expect(await consumedAt(seeded, code)).toBeNull()
      expect(seeded.store.accessTokens.size).toBe(0)
      expect(seeded.store.refreshTokens.size).toBe(0)
    })
  })

  describe('validity', () => {
    it('RFC 6749 §4.1.2: a code is valid until lifetimes.code has passed, then invalid_grant', async () => {
      const seeded = await seed()
      const late = await issueCode(seeded)
      const error = await oauthError(redeem(seeded, late, {}, NOW + CONFIG.lifetimes.code), 'invalid_grant')
      expect(error.description).toBe('the authorization code has expired')
      expect(seeded.store.accessTokens.size).toBe(0)

      const inTime = await issueCode(seeded)
      await expect(redeem(seeded, inTime, {}, NOW + CONFIG.lifetimes.code - 1)).resolves.toMatchObject({ token_type: 'Bearer' })
    })

    it('RFC 7009 §2.1: a code of a revoked grant is invalid_grant', async () => {
      const seeded = await seed()
      const code = await issueCode(seeded)
      await seeded.store.revokeGrant(seeded.store.codes.get(hashToken(code))?.grantId ?? '', NOW)
      const error = await oauthError(redeem(seeded, code), 'invalid_grant')
      expect(error.description).toBe('the authorization code is no longer valid')
      expect(seeded.store.accessTokens.size).toBe(0)
    })

    it('RFC 6749 §5.2: an unknown, truncated or modified code is invalid_grant', async () => {
      const seeded = await seed()
      const code = await issueCode(seeded)
      for (const wrong of ['x'.repeat(43), code.slice(0, -1), `${code.slice(0, -1)}${code.endsWith('A') ? 'B' : 'A'}`]) {
        await oauthError(redeem(seeded, wrong), 'invalid_grant')
      }
      expect(await consumedAt(seeded, code)).toBeNull()
    })

    it('RFC 6749 §4.1.3: a code issued to another client is invalid_grant, and stays usable by its own', async () => {
      const seeded = await seed()
      const other = confidentialClient({ clientId: 'other' })
      await seeded.store.createClient(other)
      const code = await issueCode(seeded)

      const error = await oauthError(redeem(seeded, code, {}, NOW, other), 'invalid_grant')
      expect(error.description).toBe('the authorization code is invalid or was issued to another client')
      expect(await consumedAt(seeded, code)).toBeNull()
      await expect(redeem(seeded, code)).resolves.toMatchObject({ token_type: 'Bearer' })
    })

    it('RFC 6749 §5.2: a missing code is invalid_request', async () => {
      const seeded = await seed()
      await oauthError(redeem(seeded, ''), 'invalid_request')
    })
  })

  describe('redirect_uri (RFC 6749 §4.1.3)', () => {
    it('RFC 6749 §4.1.3: sent in the authorization request, it must be sent again, identical', async () => {
      const seeded = await seed()
      const code = await issueCode(seeded)
      for (const redirectUri of [undefined, 'https://rp.example.com/cb/', 'https://RP.example.com/cb', 'https://rp.example.com/cb?x=1']) {
        const error = await oauthError(redeem(seeded, code, { redirect_uri: redirectUri }), 'invalid_grant')
        expect(error.description).toBe('redirect_uri does not match the authorization request')
      }
      expect(await consumedAt(seeded, code)).toBeNull()
      await expect(redeem(seeded, code, { redirect_uri: REDIRECT_URI })).resolves.toMatchObject({ token_type: 'Bearer' })
    })

    it('RFC 6749 §4.1.3: omitted from the authorization request (one registered), it may be omitted; another value is refused', async () => {
      const seeded = await seed()
      const request = authorizationRequest(seeded.client, { redirectUriSent: false })
      const code = await issueCode(seeded, request)
      await oauthError(redeem(seeded, code, { redirect_uri: 'https://rp.example.com/other' }), 'invalid_grant')
      await expect(redeem(seeded, code, { redirect_uri: undefined })).resolves.toMatchObject({ token_type: 'Bearer' })

      const again = await issueCode(seeded, request)
      await expect(redeem(seeded, again, { redirect_uri: REDIRECT_URI })).resolves.toMatchObject({ token_type: 'Bearer' })
    })

    it('RFC 8252 §7.3 / RFC 6749 §4.1.3: a loopback redirect URI with a chosen port must come back with that port', async () => {
      const seeded = await seed(publicClient())
      const code = await issueCode(seeded, authorizationRequest(seeded.client, { redirectUri: 'http://127.0.0.1:51004/cb' }))
      await oauthError(redeem(seeded, code, { redirect_uri: 'http://127.0.0.1/cb' }), 'invalid_grant')
      await oauthError(redeem(seeded, code, { redirect_uri: 'http://127.0.0.1:51005/cb' }), 'invalid_grant')
      await expect(redeem(seeded, code, { redirect_uri: 'http://127.0.0.1:51004/cb' })).resolves.toMatchObject({ token_type: 'Bearer' })
    })
  })

  describe('PKCE (RFC 7636 §4.6)', () => {
    it('RFC 7636 §4.6: without code_verifier the code is refused (invalid_grant) and not spent', async () => {
      const seeded = await seed()
      const code = await issueCode(seeded)
      const error = await oauthError(redeem(seeded, code, { code_verifier: undefined }), 'invalid_grant')
      expect(error.description).toBe('code_verifier is required')
      expect(await consumedAt(seeded, code)).toBeNull()
      await expect(redeem(seeded, code)).resolves.toMatchObject({ token_type: 'Bearer' })
    })

    it('RFC 7636 §4.6: a code_verifier that does not hash to the challenge is invalid_grant, the code not spent', async () => {
      const seeded = await seed()
      const code = await issueCode(seeded)
      const error = await oauthError(redeem(seeded, code, { code_verifier: VERIFIER.replace(/.$/, 'X') }), 'invalid_grant')
      expect(error.description).toBe('code_verifier does not match the code_challenge')
      expect(await consumedAt(seeded, code)).toBeNull()
    })

    it('RFC 9700 §4.8.2: a code_verifier for a code issued without a challenge is invalid_request (a downgrade)', async () => {
      const seeded = await seed(confidentialClient({ pkceOptional: true }))
      const code = await issueCode(seeded, authorizationRequest(seeded.client, { codeChallenge: null, codeChallengeMethod: null }))
      await oauthError(redeem(seeded, code), 'invalid_request')
      expect(await consumedAt(seeded, code)).toBeNull()
      await expect(redeem(seeded, code, { code_verifier: undefined })).resolves.toMatchObject({ token_type: 'Bearer' })
    })
  })
})
