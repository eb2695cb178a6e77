import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import {
  CONFIG,
  DAY,
  NOW,
  authorizationRequest,
  confidentialClient,
  issueTokens,
  oauthError,
  params,
  publicClient,
  seed,
  tokenContext,
  type Seeded,
} from '../../../test/protocol-fixtures.js'
import { hashToken } from '../../tokens/secrets.js'
import type { ClientRecord } from '../store.js'
import { refreshTokenGrant } from './refresh-token.js'

/** A refresh request for `token` as `client` at `now`, with `scope` when given. */
async function refresh(seeded: Seeded, token: string, now: number, extra: { scope?: string; client?: ClientRecord } = {}) {
  const values: Record<string, string> = { grant_type: 'refresh_token', refresh_token: token }
  if (extra.scope !== undefined) values.scope = extra.scope
  return refreshTokenGrant.handle(extra.client ?? seeded.client, params(values), await tokenContext(seeded.store, now))
}

/** A code exchange at NOW for `openid profile`: its refresh token and grant. */
async function start(seeded: Seeded) {
  const issued = await issueTokens(seeded)
  return { token: issued.refresh_token ?? '', grantId: issued.grantId }
}

const record = (seeded: Seeded, token: string) => seeded.store.refreshTokens.get(hashToken(token))

describe('the refresh token grant', () => {
  describe('rotation (RFC 9700 §4.14.2)', () => {
    it('RFC 6749 §6 / RFC 9700 §4.14.2: a refresh gives a new access token and a new refresh token, and the used one is rotated', async () => {
      const seeded = await seed()
      const { token, grantId } = await start(seeded)
      const response = await refresh(seeded, token, NOW + 100)

      expect(response).toMatchObject({ token_type: 'Bearer', expires_in: CONFIG.lifetimes.accessToken, scope: 'openid profile' })
      expect(response.refresh_token).toMatch(/^[\w-]{43}$/)
      expect(response.refresh_token).not.toBe(token)
      expect(record(seeded, token)?.rotatedAt).toBe(NOW + 100)
      expect(record(seeded, response.refresh_token ?? '')).toEqual({
        tokenHash: hashToken(response.refresh_token ?? ''),
        grantId,
        clientId: 'rp',
        userId: seeded.user.id,
        scopes: ['openid', 'profile'],
        createdAt: NOW + 100,
        expiresAt: NOW + 100 + CONFIG.lifetimes.refreshTokenIdle,
        rotatedAt: null,
        dpopJkt: null,
      })
      const claims = decodeJwt(response.access_token)
      expect(seeded.store.accessTokens.get(String(claims.jti))).toMatchObject({ grantId, scopes: ['openid', 'profile'], createdAt: NOW + 100 })
    })

    it('OIDC Core §12.2: the ID token of a refresh keeps sub, aud and auth_time, has a new iat and no nonce', async () => {
      const seeded = await seed()
      const { token } = await start(seeded)
      const idToken = decodeJwt((await refresh(seeded, token, NOW + 100)).id_token ?? '')
      expect(idToken).toMatchObject({ iss: CONFIG.issuer, sub: seeded.user.id, aud: 'rp', azp: 'rp', auth_time: NOW - 60, iat: NOW + 100 })
      expect(idToken).not.toHaveProperty('nonce')
    })

    it('RFC 9700 §4.14.2: each refresh token of a chain works once', async () => {
      const seeded = await seed()
      let { token } = await start(seeded)
      const used: string[] = []
      for (let i = 1; i <= 3; i++) {
        used.push(token)
        token = (await refresh(seeded, token, NOW + i * 60)).refresh_token ?? ''
      }
      expect(used.map((old) => record(seeded, old)?.rotatedAt)).toEqual([NOW + 60, NOW + 120, NOW + 180])
      expect(record(seeded, token)?.rotatedAt).toBeNull()
    })
  })

  describe('reuse (RFC 9700 §4.14.2)', () => {
    it('RFC 9700 §4.14.2: a rotated token presented again is invalid_grant and revokes the family, the newest token and its access tokens included', async () => {
      const seeded = await seed()
      const { token, grantId } = await start(seeded)
      const newest = (await refresh(seeded, token, NOW + 10)).refresh_token ?? ''

      const error = await oauthError(refresh(seeded, token, NOW + 20), 'invalid_grant')
      expect(error.description).toBe('the refresh token was already used')
      expect(seeded.store.grants.get(grantId)?.revokedAt).toBe(NOW + 20)
      expect([...seeded.store.accessTokens.values()].map((access) => access.revokedAt)).toEqual([NOW + 20, NOW + 20])
      const refused = await oauthError(refresh(seeded, newest, NOW + 30), 'invalid_grant')
      expect(refused.description).toBe('the refresh token was revoked')
    })

    it('OAuth 2.1 §4.3.1: a public client’s rotated token, reused, revokes its family too', async () => {
      const seeded = await seed(publicClient())
      const issued = await issueTokens(seeded, authorizationRequest(seeded.client, { redirectUri: 'http://127.0.0.1/cb' }))
      const token = issued.refresh_token ?? ''
      await refresh(seeded, token, NOW + 10)
      await oauthError(refresh(seeded, token, NOW + 20), 'invalid_grant')
      expect(seeded.store.grants.get(issued.grantId)?.revokedAt).toBe(NOW + 20)
    })

    it('RFC 9700 §4.14.2: of concurrent refreshes with one token exactly one succeeds, and the reuse revokes the family', async () => {
      const seeded = await seed()
      const { token, grantId } = await start(seeded)
      const context = await tokenContext(seeded.store, NOW + 10)
      const request = params({ grant_type: 'refresh_token', refresh_token: token })
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => refreshTokenGrant.handle(seeded.client, request, context)))

      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
      for (const result of results.filter((result) => result.status === 'rejected')) {
        expect(result.reason).toMatchObject({ error: 'invalid_grant' })
      }
      expect(seeded.store.refreshTokens.size).toBe(2)
      expect(seeded.store.grants.get(grantId)?.revokedAt).toBe(NOW + 10)
    })

    it('RFC 9700 §4.14.2: a refresh that loses the rotation to another is a reuse: refused, and the family revoked', async () => {
      const seeded = await seed()
      const { token, grantId } = await start(seeded)
      // Both read the live token; the other request rotates it just before this one tries.
      const rotate = seeded.store.rotateRefreshToken.bind(seeded.store)
      let winner: Promise<unknown> | undefined
      seeded.store.rotateRefreshToken = async (...args) => {
        if (winner === undefined) {
          seeded.store.rotateRefreshToken = rotate
          winner = refresh(seeded, token, NOW + 10)
          await winner
        }
        return rotate(...args)
      }

      const error = await oauthError(refresh(seeded, token, NOW + 10), 'invalid_grant')
      expect(error.description).toBe('the refresh token was already used')
      await expect(winner).resolves.toMatchObject({ token_type: 'Bearer' })
      expect(seeded.store.refreshTokens.size).toBe(2)
      expect(seeded.store.grants.get(grantId)?.revokedAt).toBe(NOW + 10)
    })

    it('RFC 7009 §2.1: a token whose grant is revoked between the read and the rotation is refused, and nothing is written', async () => {
      const seeded = await seed()
      const { token, grantId } = await start(seeded)
      const rotate = seeded.store.rotateRefreshToken.bind(seeded.store)
      seeded.store.rotateRefreshToken = async (...args) => {
        await seeded.store.revokeGrant(grantId, NOW + 10)
        return rotate(...args)
      }

      const error = await oauthError(refresh(seeded, token, NOW + 10), 'invalid_grant')
      expect(error.description).toBe('the refresh token is no longer valid')
      expect(record(seeded, token)?.rotatedAt).toBeNull()
      expect(seeded.store.refreshTokens.size).toBe(1)
      expect(seeded.store.accessTokens.size).toBe(1)
    })
  })

  describe('expiry (RFC 9700 §4.14.2)', () => {
    it('RFC 9700 §4.14.2: a token unused for lifetimes.refreshTokenIdle has expired', async () => {
      const seeded = await seed()
      const { token } = await start(seeded)
      const error = await oauthError(refresh(seeded, token, NOW + CONFIG.lifetimes.refreshTokenIdle), 'invalid_grant')
      expect(error.description).toBe('the refresh token has expired')
      expect(record(seeded, token)?.rotatedAt).toBeNull()

      const again = (await start(seeded)).token
      await expect(refresh(seeded, again, NOW + CONFIG.lifetimes.refreshTokenIdle - 1)).resolves.toMatchObject({ token_type: 'Bearer' })
    })

    it('RFC 9700 §4.14.2: rotation never carries a family past lifetimes.refreshTokenAbsolute from its grant', async () => {
      const seeded = await seed()
      const { token } = await start(seeded)
      const second = (await refresh(seeded, token, NOW + 13 * DAY)).refresh_token ?? ''
      expect(record(seeded, second)?.expiresAt).toBe(NOW + 27 * DAY)
      const third = (await refresh(seeded, second, NOW + 26 * DAY)).refresh_token ?? ''
      expect(record(seeded, third)?.expiresAt).toBe(NOW + CONFIG.lifetimes.refreshTokenAbsolute)

      await expect(refresh(seeded, third, NOW + 30 * DAY - 1)).resolves.toMatchObject({ token_type: 'Bearer' })
      const last = [...seeded.store.refreshTokens.values()].find((candidate) => candidate.rotatedAt === null)
      expect(last?.expiresAt).toBe(NOW + 30 * DAY)
    })

    it('RFC 9700 §4.14.2: at the absolute limit the last token of the family has expired', async () => {
      const seeded = await seed()
      const { token } = await start(seeded)
      const second = (await refresh(seeded, token, NOW + 13 * DAY)).refresh_token ?? ''
      const third = (await refresh(seeded, second, NOW + 26 * DAY)).refresh_token ?? ''
      const error = await oauthError(refresh(seeded, third, NOW + 30 * DAY), 'invalid_grant')
      expect(error.description).toBe('the refresh token has expired')
    })
  })

  describe('scope (RFC 6749 §6)', () => {
    it('RFC 6749 §6: a refresh may narrow the scope; the access token gets the narrower one, the new refresh token keeps the original', async () => {
      const seeded = await seed()
      const { token } = await start(seeded)
      const response = await refresh(seeded, token, NOW + 10, { scope: 'profile' })

      expect(response.scope).toBe('profile')
      expect(response.id_token).toBeUndefined()
      expect(decodeJwt(response.access_token).scope).toBe('profile')
      expect(seeded.store.accessTokens.get(String(decodeJwt(response.access_token).jti))?.scopes).toEqual(['profile'])
      expect(record(seeded, response.refresh_token ?? '')?.scopes).toEqual(['openid', 'profile'])
      // The original scope is still there to ask for at the next refresh.
      await expect(refresh(seeded, response.refresh_token ?? '', NOW + 20, { scope: 'openid profile' })).resolves.toMatchObject({ scope: 'openid profile' })
    })

    it('RFC 6749 §6: a scope wider than granted is invalid_scope, and the token is not spent', async () => {
      const seeded = await seed()
      const { token } = await start(seeded)
      // email is registered for the client, but was not granted.
      await oauthError(refresh(seeded, token, NOW + 10, { scope: 'openid profile email' }), 'invalid_scope')
      await oauthError(refresh(seeded, token, NOW + 10, { scope: 'admin' }), 'invalid_scope')
      expect(record(seeded, token)?.rotatedAt).toBeNull()
      expect(seeded.store.accessTokens.size).toBe(1)
      await expect(refresh(seeded, token, NOW + 20)).resolves.toMatchObject({ scope: 'openid profile' })
    })

    it('RFC 6749 §3.3: a malformed scope is invalid_scope', async () => {
      const seeded = await seed()
      const { token } = await start(seeded)
      await oauthError(refresh(seeded, token, NOW + 10, { scope: 'openid  profile' }), 'invalid_scope')
      expect(record(seeded, token)?.rotatedAt).toBeNull()
    })
  })

  describe('binding', () => {
    it('RFC 7009 §2.1: a token of a revoked grant is invalid_grant', async () => {
      const seeded = await seed()
      const { token, grantId } = await start(seeded)
      await seeded.store.revokeGrant(grantId, NOW + 5)
      const error = await oauthError(refresh(seeded, token, NOW + 10), 'invalid_grant')
      expect(error.description).toBe('the refresh token was revoked')
      expect(record(seeded, token)?.rotatedAt).toBeNull()
      expect(seeded.store.refreshTokens.size).toBe(1)
    })

    it('OAuth 2.1 §4.3.1: another client’s refresh token is invalid_grant, revokes nothing, and stays usable by its own client', async () => {
      const seeded = await seed()
      const other = confidentialClient({ clientId: 'other' })
      await seeded.store.createClient(other)
      const { token, grantId } = await start(seeded)

      const error = await oauthError(refresh(seeded, token, NOW + 10, { client: other }), 'invalid_grant')
      expect(error.description).toBe('the refresh token is invalid or was issued to another client')
      expect(seeded.store.grants.get(grantId)?.revokedAt).toBeNull()
      expect(record(seeded, token)?.rotatedAt).toBeNull()
      await expect(refresh(seeded, token, NOW + 20)).resolves.toMatchObject({ token_type: 'Bearer' })
    })

    it('RFC 6749 §5.2: an unknown refresh token, or an access token sent as one, is invalid_grant', async () => {
      const seeded = await seed()
      await oauthError(refresh(seeded, 'x'.repeat(43), NOW), 'invalid_grant')
      await oauthError(refresh(seeded, (await issueTokens(seeded)).access_token, NOW), 'invalid_grant')
    })

    it('RFC 6749 §6: a missing refresh_token is invalid_request', async () => {
      const seeded = await seed()
      await oauthError(refresh(seeded, '', NOW), 'invalid_request')
    })
  })
})
