import { describe, expect, it } from 'vitest'
import { CONFIG, NOW, confidentialClient, issueTokens, oauthError, params, seed, testKeys, tokenContext, type Seeded } from '../../test/protocol-fixtures.js'
import { refreshTokenGrant } from './grants/refresh-token.js'
import { revokeToken } from './revocation.js'
import type { ClientRecord } from './store.js'

async function revoke(seeded: Seeded, token: string, now = NOW, client: ClientRecord = seeded.client, hint?: string) {
  const values: Record<string, string> = { token }
  if (hint !== undefined) values.token_type_hint = hint
  return revokeToken(client, params(values), { store: seeded.store, keys: await testKeys(), config: CONFIG }, now)
}

const refresh = async (seeded: Seeded, token: string, now: number) =>
  refreshTokenGrant.handle(seeded.client, params({ grant_type: 'refresh_token', refresh_token: token }), await tokenContext(seeded.store, now))

describe('revokeToken', () => {
  it('says what it revoked, for the audit event: the token type, its grant and user; null for a token not ours', async () => {
    const seeded = await seed()
    const issued = await issueTokens(seeded)
    const event = { type: 'token.revoked', clientId: seeded.client.clientId, userId: seeded.user.id, grantId: issued.grantId }
    expect(await revoke(seeded, issued.access_token, NOW + 1)).toEqual({ ...event, tokenType: 'access_token' })
    expect(await revoke(seeded, issued.refresh_token ?? '', NOW + 2)).toEqual({ ...event, tokenType: 'refresh_token' })
    expect(await revoke(seeded, 'not-a-token-of-ours', NOW + 3)).toBeNull()
  })

  it('RFC 7009 §2.1: revoking a refresh token revokes its grant: the whole family and the access tokens issued under it', async () => {
    const seeded = await seed()
    const first = await issueTokens(seeded)
    const rotated = await refresh(seeded, first.refresh_token ?? '', NOW + 10)

    await revoke(seeded, rotated.refresh_token ?? '', NOW + 20)
    expect(seeded.store.grants.get(first.grantId)?.revokedAt).toBe(NOW + 20)
    expect([...seeded.store.accessTokens.values()].map((token) => token.revokedAt)).toEqual([NOW + 20, NOW + 20])
    await oauthError(refresh(seeded, rotated.refresh_token ?? '', NOW + 30), 'invalid_grant')
  })

  it('RFC 7009 §2.1: a rotated refresh token of the family revokes it too', async () => {
    const seeded = await seed()
    const first = await issueTokens(seeded)
    const rotated = await refresh(seeded, first.refresh_token ?? '', NOW + 10)
    await revoke(seeded, first.refresh_token ?? '', NOW + 20)
    await oauthError(refresh(seeded, rotated.refresh_token ?? '', NOW + 30), 'invalid_grant')
  })

  it('RFC 7009 §2.1: revoking an access token revokes that token only; the grant and its refresh token live on', async () => {
    const seeded = await seed()
    const issued = await issueTokens(seeded)
    await revoke(seeded, issued.access_token, NOW + 5)
    expect([...seeded.store.accessTokens.values()].map((token) => token.revokedAt)).toEqual([NOW + 5])
    expect(seeded.store.grants.get(issued.grantId)?.revokedAt).toBeNull()
    await expect(refresh(seeded, issued.refresh_token ?? '', NOW + 10)).resolves.toMatchObject({ token_type: 'Bearer' })
  })

  it('RFC 7009 §2.1: token_type_hint is only a hint: a wrong one still finds the token', async () => {
    const seeded = await seed()
    const issued = await issueTokens(seeded)
    await revoke(seeded, issued.refresh_token ?? '', NOW, seeded.client, 'access_token')
    expect(seeded.store.grants.get(issued.grantId)?.revokedAt).toBe(NOW)
  })

  it('SECURITY.md 16: a client cannot revoke another client’s token (refresh or access); nothing is revoked', async () => {
    const seeded = await seed()
    const other = confidentialClient({ clientId: 'other' })
    await seeded.store.createClient(other)
    const issued = await issueTokens(seeded)
    await oauthError(revoke(seeded, issued.refresh_token ?? '', NOW, other), 'invalid_request')
    await oauthError(revoke(seeded, issued.access_token, NOW, other), 'invalid_request')
    expect(seeded.store.grants.get(issued.grantId)?.revokedAt).toBeNull()
    expect([...seeded.store.accessTokens.values()].map((token) => token.revokedAt)).toEqual([null])
  })

  it('RFC 7009 §2.2: unknown, malformed, expired and already revoked tokens are answered as revoked (no error)', async () => {
    const seeded = await seed()
    const issued = await issueTokens(seeded)
    for (const token of ['x'.repeat(43), 'a.b.c', 'not a token']) await expect(revoke(seeded, token)).resolves.toBeNull()
    await expect(revoke(seeded, issued.access_token, NOW + CONFIG.lifetimes.accessToken)).resolves.toBeNull()
    await revoke(seeded, issued.refresh_token ?? '', NOW + 1)
    await expect(revoke(seeded, issued.refresh_token ?? '', NOW + 2)).resolves.toBeNull()
    await expect(revoke(seeded, issued.access_token, NOW + 2)).resolves.toBeNull()
    // The first revocation time stays.
    expect(seeded.store.grants.get(issued.grantId)?.revokedAt).toBe(NOW + 1)
  })

  it('RFC 7009 §2.1: token is required', async () => {
    const seeded = await seed()
    await oauthError(revoke(seeded, ''), 'invalid_request')
  })
})
