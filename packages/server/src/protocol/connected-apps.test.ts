import { describe, expect, it } from 'vitest'
import { CONFIG, NOW, confidentialClient, issueTokens, oauthError, params, seed, testUser, tokenContext } from '../../test/protocol-fixtures.js'
import { findConnectedApp, listConnectedApps, removeAccess } from './connected-apps.js'
import { refreshTokenGrant } from './grants/refresh-token.js'

const DESCRIPTIONS = CONFIG.scopes

describe('listConnectedApps', () => {
  it('OIDC Core §3.1.2.4: each consent is an app, with every granted scope and the description the consent page showed', async () => {
    const { store, user } = await seed()
    await store.saveConsent(user.id, 'rp', ['openid', 'profile', 'custom'], NOW - 10)
    expect(await listConnectedApps(store, user.id, DESCRIPTIONS)).toEqual([
      {
        clientId: 'rp',
        clientName: 'Relying Party',
        scopes: [
          { name: 'custom', description: 'custom' },
          { name: 'openid', description: DESCRIPTIONS.openid },
          { name: 'profile', description: DESCRIPTIONS.profile },
        ],
        since: NOW - 10,
        consented: true,
        lastIssuedAt: null,
      },
    ])
  })

  it('config consent.skipForFirstParty: a first-party app let in without a consent is listed while a grant lives, with the grant’s scopes', async () => {
    const seeded = await seed(confidentialClient({ firstParty: true }))
    await issueTokens(seeded)
    expect(await listConnectedApps(seeded.store, seeded.user.id, DESCRIPTIONS)).toMatchObject([
      { clientId: 'rp', consented: false, since: NOW, lastIssuedAt: NOW, scopes: [{ name: 'openid' }, { name: 'profile' }] },
    ])
  })

  it('lastIssuedAt is when a token (access or refresh) was last issued to the app for this user', async () => {
    const seeded = await seed()
    await seeded.store.saveConsent(seeded.user.id, 'rp', ['openid', 'profile'], NOW - 10)
    const issued = await issueTokens(seeded)
    await refreshTokenGrant.handle(seeded.client, params({ grant_type: 'refresh_token', refresh_token: issued.refresh_token ?? '' }), await tokenContext(seeded.store, NOW + 500))
    expect((await listConnectedApps(seeded.store, seeded.user.id, DESCRIPTIONS))[0]?.lastIssuedAt).toBe(NOW + 500)
  })

  it('apps are listed by name as people sort them (case and accents aside), then by client id', async () => {
    const { store, user } = await seed()
    const apps: [string, string][] = [['c1', 'zeta'], ['c2', 'Émile'], ['c3', 'alpha'], ['c4', 'Beta'], ['c0', 'beta'], ['c5', 'app 10'], ['c6', 'app 9']]
    for (const [clientId, name] of apps) {
      await store.createClient(confidentialClient({ clientId, name }))
      await store.saveConsent(user.id, clientId, ['openid'], NOW)
    }
    expect((await listConnectedApps(store, user.id, DESCRIPTIONS)).map((app) => app.clientName)).toEqual(['alpha', 'app 9', 'app 10', 'beta', 'Beta', 'Émile', 'zeta'])
  })

  it('a user sees only their own apps', async () => {
    const { store, user } = await seed()
    const bob = testUser({ username: 'bob' })
    await store.createUser(bob)
    await store.saveConsent(bob.id, 'rp', ['openid'], NOW)
    expect(await listConnectedApps(store, user.id, DESCRIPTIONS)).toEqual([])
    expect(await findConnectedApp(store, user.id, 'rp', DESCRIPTIONS)).toBeUndefined()
    expect((await findConnectedApp(store, bob.id, 'rp', DESCRIPTIONS))?.clientId).toBe('rp')
  })
})

describe('removeAccess', () => {
  it('RFC 7009 §2.1: removing an app deletes the consent and revokes every grant of the user to it: refresh tokens refused, access tokens inactive', async () => {
    const seeded = await seed()
    await seeded.store.saveConsent(seeded.user.id, 'rp', ['openid', 'profile'], NOW)
    const issued = await issueTokens(seeded)

    expect(await removeAccess(seeded.store, seeded.user.id, 'rp', NOW + 60)).toBe(true)
    expect(await seeded.store.getConsent(seeded.user.id, 'rp')).toBeUndefined()
    expect(seeded.store.grants.get(issued.grantId)?.revokedAt).toBe(NOW + 60)
    expect([...seeded.store.accessTokens.values()].map((token) => token.revokedAt)).toEqual([NOW + 60])
    await oauthError(
      refreshTokenGrant.handle(seeded.client, params({ grant_type: 'refresh_token', refresh_token: issued.refresh_token ?? '' }), await tokenContext(seeded.store, NOW + 61)),
      'invalid_grant',
    )
    expect(await listConnectedApps(seeded.store, seeded.user.id, DESCRIPTIONS)).toEqual([])
  })

  it('removing an app the user never allowed is false, and touches nobody else’s grants', async () => {
    const seeded = await seed()
    const issued = await issueTokens(seeded)
    const bob = testUser({ username: 'bob' })
    await seeded.store.createUser(bob)
    expect(await removeAccess(seeded.store, bob.id, 'rp', NOW)).toBe(false)
    expect(seeded.store.grants.get(issued.grantId)?.revokedAt).toBeNull()
  })
})
