import { describe, expect, it } from 'vitest'
import { CONFIG, NOW, confidentialClient, issueTokens, oauthError, params, publicClient, seed, testKeys, tokenContext, type Seeded } from '../../test/protocol-fixtures.js'
import { refreshTokenGrant } from './grants/refresh-token.js'
import { StoreAccounts } from './accounts.js'
import { introspectToken } from './introspection.js'
import type { ClientRecord } from './store.js'

async function introspect(seeded: Seeded, token: string, now = NOW, client: ClientRecord = seeded.client) {
  return introspectToken(client, params({ token }), { store: seeded.store, accounts: new StoreAccounts(seeded.store), keys: await testKeys(), config: CONFIG }, now)
}

describe('introspectToken', () => {
  it('RFC 7662 §2.2: a live access token of the caller is active, with its scope, client, subject, times, issuer, audience and jti', async () => {
    const seeded = await seed()
    const { access_token: token } = await issueTokens(seeded)
    const jti = [...seeded.store.accessTokens.keys()][0]
    expect(await introspect(seeded, token, NOW + 1)).toEqual({
      active: true,
      scope: 'openid profile',
      client_id: 'rp',
      sub: seeded.user.id,
      exp: NOW + CONFIG.lifetimes.accessToken,
      iat: NOW,
      iss: CONFIG.issuer,
      aud: CONFIG.accessToken.audience,
      jti,
      token_type: 'Bearer',
    })
  })

  it('RFC 7662 §2.2: a live refresh token of the caller is active, as a refresh_token', async () => {
    const seeded = await seed()
    const { refresh_token: token = '' } = await issueTokens(seeded)
    expect(await introspect(seeded, token, NOW + 1)).toEqual({
      active: true,
      scope: 'openid profile',
      client_id: 'rp',
      sub: seeded.user.id,
      exp: NOW + CONFIG.lifetimes.refreshTokenIdle,
      iat: NOW,
      iss: CONFIG.issuer,
      token_type: 'refresh_token',
    })
  })

  it('RFC 7662 §2.2: an expired access token is { active: false } and nothing more', async () => {
    const seeded = await seed()
    const { access_token: token } = await issueTokens(seeded)
    expect(await introspect(seeded, token, NOW + CONFIG.lifetimes.accessToken - 1)).toMatchObject({ active: true })
    expect(await introspect(seeded, token, NOW + CONFIG.lifetimes.accessToken)).toEqual({ active: false })
  })

  it('RFC 7662 §2.2 / RFC 7009 §2.1: a revoked access token, or any token of a revoked grant, is inactive', async () => {
    const seeded = await seed()
    const first = await issueTokens(seeded)
    await seeded.store.revokeAccessToken([...seeded.store.accessTokens.keys()][0] ?? '', NOW)
    expect(await introspect(seeded, first.access_token)).toEqual({ active: false })
    expect(await introspect(seeded, first.refresh_token ?? '')).toMatchObject({ active: true })

    await seeded.store.revokeGrant(first.grantId, NOW)
    expect(await introspect(seeded, first.refresh_token ?? '')).toEqual({ active: false })
  })

  it('RFC 7662 §2.2 / RFC 9700 §4.14.2: a rotated or expired refresh token is inactive', async () => {
    const seeded = await seed()
    const { refresh_token: token = '' } = await issueTokens(seeded)
    expect(await introspect(seeded, token, NOW + CONFIG.lifetimes.refreshTokenIdle)).toEqual({ active: false })
    const rotated = await refreshTokenGrant.handle(seeded.client, params({ grant_type: 'refresh_token', refresh_token: token }), await tokenContext(seeded.store, NOW + 1))
    expect(await introspect(seeded, token, NOW + 2)).toEqual({ active: false })
    expect(await introspect(seeded, rotated.refresh_token ?? '', NOW + 2)).toMatchObject({ active: true })
  })

  it('SECURITY.md 17: another client’s token is { active: false }, telling nothing about it', async () => {
    const seeded = await seed()
    const other = confidentialClient({ clientId: 'other' })
    await seeded.store.createClient(other)
    const issued = await issueTokens(seeded)
    expect(await introspect(seeded, issued.access_token, NOW, other)).toEqual({ active: false })
    expect(await introspect(seeded, issued.refresh_token ?? '', NOW, other)).toEqual({ active: false })
  })

  it('RFC 7662 §2.2: unknown, malformed and forged tokens are { active: false }', async () => {
    const seeded = await seed()
    const { access_token: token } = await issueTokens(seeded)
    const [header, payload, signature = ''] = token.split('.')
    const forged = `${header}.${Buffer.from(JSON.stringify({ client_id: 'rp', sub: 'x', exp: NOW + 99 })).toString('base64url')}.${signature}`
    for (const garbage of ['x'.repeat(43), 'a.b.c', `${header}.${payload}.${signature.slice(0, -2)}`, forged, `${token} `]) {
      expect(await introspect(seeded, garbage)).toEqual({ active: false })
    }
  })

  it('RFC 7662 §2.1: only confidential clients may introspect', async () => {
    const seeded = await seed(publicClient())
    await oauthError(introspect(seeded, 'x'), 'invalid_client')
  })

  it('RFC 7662 §2.1: token is required; token_type_hint is only a hint, but may not be repeated', async () => {
    const seeded = await seed()
    const { access_token: token } = await issueTokens(seeded)
    const deps = { store: seeded.store, accounts: new StoreAccounts(seeded.store), keys: await testKeys(), config: CONFIG }
    await oauthError(introspectToken(seeded.client, params({}), deps, NOW), 'invalid_request')
    expect(await introspectToken(seeded.client, params({ token, token_type_hint: 'refresh_token' }), deps, NOW)).toMatchObject({ active: true, token_type: 'Bearer' })
    await oauthError(introspectToken(seeded.client, params([['token', token], ['token_type_hint', 'a'], ['token_type_hint', 'b']]), deps, NOW), 'invalid_request')
  })
})
