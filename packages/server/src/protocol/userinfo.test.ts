import { describe, expect, it } from 'vitest'
import { CONFIG, NOW, authorizationRequest, issueTokens, oauthError, seed, testKeys, testUser, type Seeded } from '../../test/protocol-fixtures.js'
import { StoreAccounts } from './accounts.js'
import { userInfo } from './userinfo.js'

async function claims(seeded: Seeded, token: string, now = NOW) {
  return userInfo(token, { store: seeded.store, accounts: new StoreAccounts(seeded.store), keys: await testKeys(), config: CONFIG }, now)
}

const withScopes = async (seeded: Seeded, scopes: string[]) => (await issueTokens(seeded, authorizationRequest(seeded.client, { scopes }))).access_token

describe('userInfo', () => {
  it('OIDC Core §5.3.2: sub always; the profile scope adds preferred_username, name and updated_at; email adds email and email_verified', async () => {
    const seeded = await seed()
    expect(await claims(seeded, await withScopes(seeded, ['openid', 'profile', 'email']))).toEqual({
      sub: seeded.user.id,
      preferred_username: 'alice',
      name: 'Alice Example',
      updated_at: seeded.user.updatedAt,
      email: 'alice@example.com',
      email_verified: true,
    })
  })

  it('OIDC Core §5.4: only the claims of the scopes granted', async () => {
    const seeded = await seed()
    expect(await claims(seeded, await withScopes(seeded, ['openid']))).toEqual({ sub: seeded.user.id })
    expect(Object.keys(await claims(seeded, await withScopes(seeded, ['openid', 'email'])))).toEqual(['sub', 'email', 'email_verified'])
  })

  it('OIDC Core §5.3.2: a claim without a value is omitted, not null', async () => {
    const seeded = await seed(undefined, testUser({ name: null, email: null }))
    expect(await claims(seeded, await withScopes(seeded, ['openid', 'profile', 'email']))).toEqual({
      sub: seeded.user.id,
      preferred_username: 'alice',
      updated_at: seeded.user.updatedAt,
    })
  })

  it('RFC 6750 §3.1: an access token without openid is 403 insufficient_scope naming openid', async () => {
    const seeded = await seed()
    const error = await oauthError(claims(seeded, await withScopes(seeded, ['profile'])), 'insufficient_scope')
    expect(error.status).toBe(403)
    expect(error.scope).toBe('openid')
  })

  it('SECURITY.md 18: a malformed, expired or revoked access token, or one of a revoked grant, is 401 invalid_token', async () => {
    const seeded = await seed()
    const issued = await issueTokens(seeded)
    for (const token of ['', 'x'.repeat(43), 'a.b.c', issued.refresh_token ?? '']) await oauthError(claims(seeded, token), 'invalid_token')
    await oauthError(claims(seeded, issued.access_token, NOW + CONFIG.lifetimes.accessToken), 'invalid_token')
    await seeded.store.revokeGrant(issued.grantId, NOW)
    expect((await oauthError(claims(seeded, issued.access_token), 'invalid_token')).status).toBe(401)
  })

  it('SECURITY.md 18: the token of a user who no longer exists is invalid_token', async () => {
    const seeded = await seed()
    const token = await withScopes(seeded, ['openid'])
    seeded.store.users.delete(seeded.user.id)
    await oauthError(claims(seeded, token), 'invalid_token')
  })
})
