import { describe, expect, it } from 'vitest'
import { testAdmin } from '../../test/admin-context.js'
import { NOW, confidentialClient, testUser } from '../../test/protocol-fixtures.js'
import { AdminError } from './errors.js'
import { revokeGrant } from './grants.js'
import { listKeys, retireKey, rotateKeys } from './keys.js'
import { createAdminToken, listAdminTokens, revokeAdminToken, verifyAdminToken } from './tokens.js'

async function refused(promise: Promise<unknown>): Promise<AdminError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(AdminError)
  return error as AdminError
}

describe('admin keys', () => {
  it('rotateKeys makes the missing keys, then one new key per algorithm signing after activationDelay', async () => {
    const ctx = testAdmin()
    const rotated = await rotateKeys(ctx)
    expect(rotated).toEqual({ kids: expect.any(Array), active_from: NOW + 60 })
    expect(rotated.kids).toHaveLength(3)
    const keys = await listKeys(ctx)
    expect(keys).toHaveLength(6)
    expect(keys.filter((key) => key.state === 'active')).toHaveLength(3)
    expect(keys.filter((key) => key.state === 'pending').map((key) => key.kid).sort()).toEqual([...rotated.kids].sort())
    expect(keys[0]).toEqual({ kid: expect.any(String), alg: expect.any(String), state: 'active', created_at: NOW, activates_at: NOW, retired_at: null, published_until: null })
    expect(ctx.emitted).toEqual([{ type: 'admin.keys_rotated', actor: 'cli', clientId: null, userId: null, kids: rotated.kids }])
  })

  it('retireKey refuses the only signing key, saying when its successor signs; retires it once the successor does', async () => {
    const ctx = testAdmin()
    await rotateKeys(ctx)
    const active = (await listKeys(ctx)).find((key) => key.state === 'active' && key.alg === 'ES256')
    const kid = active?.kid ?? ''
    const error = await refused(retireKey(ctx, kid))
    expect(error).toMatchObject({ code: 'conflict', status: 409, field: 'kid' })
    expect(error.message).toMatch(new RegExp(`^signing key ${kid} is the only key that signs ES256 tokens now: key \\S+ signs from ${new Date((NOW + 60) * 1000).toISOString()}; retire ${kid} after that$`))
    ctx.advance(60)
    expect(await retireKey(ctx, kid)).toMatchObject({ kid, state: 'retired', retired_at: NOW + 60, published_until: NOW + 60 + 600 })
    expect(ctx.emitted.at(-1)).toEqual({ type: 'admin.key_retired', actor: 'cli', clientId: null, userId: null, kid })
    expect(await refused(retireKey(ctx, kid))).toMatchObject({ code: 'conflict', message: `signing key ${kid} is retired already` })
    expect(await refused(retireKey(ctx, 'nope'))).toMatchObject({ code: 'not_found' })
  })

  it('retireKey with no newer key tells to rotate first', async () => {
    const ctx = testAdmin()
    await ctx.keys.ensureKeys(NOW)
    const kid = (await listKeys(ctx))[0]?.kid ?? ''
    expect((await refused(retireKey(ctx, kid))).message).toMatch(/run 'authcode keys rotate', wait keys.activationDelay/)
  })
})

describe('admin grants', () => {
  it('revokeGrant revokes the grant and its access tokens; an unknown grant is not_found', async () => {
    const ctx = testAdmin()
    const user = testUser()
    await ctx.store.createClient(confidentialClient())
    await ctx.store.createUser(user)
    const grant = { id: 'g1', clientId: 'rp', userId: user.id, scopes: ['openid'], authTime: NOW, createdAt: NOW, revokedAt: null }
    await ctx.store.createGrantWithCode(grant, {
      codeHash: 'c1', grantId: 'g1', clientId: 'rp', userId: user.id, redirectUri: 'https://rp.example/cb', redirectUriSent: true,
      codeChallenge: null, codeChallengeMethod: null, nonce: null, scopes: ['openid'], authTime: NOW, createdAt: NOW, expiresAt: NOW + 60, consumedAt: null, dpopJkt: null,
    })
    expect(await revokeGrant(ctx, 'g1')).toEqual({ id: 'g1', client_id: 'rp', user_id: user.id, scope: 'openid', auth_time: NOW, created_at: NOW, revoked_at: NOW })
    expect((await ctx.store.getGrant('g1'))?.revokedAt).toBe(NOW)
    expect(ctx.emitted).toEqual([{ type: 'admin.grant_revoked', actor: 'cli', clientId: 'rp', userId: user.id, grantId: 'g1' }])
    expect(await refused(revokeGrant(ctx, 'nope'))).toMatchObject({ code: 'not_found' })
  })
})

describe('admin tokens', () => {
  it('createAdminToken shows the token once, keeps its hash; verifyAdminToken accepts it until it is revoked', async () => {
    const ctx = testAdmin()
    const created = await createAdminToken(ctx, 'ci')
    expect(created).toEqual({ id: expect.any(String), name: 'ci', token: expect.stringMatching(/^[\w-]{43}$/), created_at: NOW, last_used_at: null, revoked_at: null })
    expect(JSON.stringify([...ctx.store.adminTokens.values()])).not.toContain(created.token)
    expect(await verifyAdminToken(ctx.store, created.token, NOW + 5)).toEqual({ id: created.id, name: 'ci', actor: 'admin_token:ci' })
    expect(await listAdminTokens(ctx)).toEqual([{ id: created.id, name: 'ci', created_at: NOW, last_used_at: NOW + 5, revoked_at: null }])
    expect(await verifyAdminToken(ctx.store, `${created.token}x`, NOW)).toBeUndefined()
    expect(await verifyAdminToken(ctx.store, '', NOW)).toBeUndefined()

    expect(await revokeAdminToken(ctx, 'ci')).toMatchObject({ id: created.id, revoked_at: NOW })
    expect(await verifyAdminToken(ctx.store, created.token, NOW + 6)).toBeUndefined()
    expect(ctx.emitted.map((e) => [e.type, 'adminTokenId' in e ? e.adminTokenId : undefined])).toEqual([
      ['admin.token_created', created.id],
      ['admin.token_revoked', created.id],
    ])
  })

  it('a name is unique among live tokens and well-formed; revoke finds by id or name', async () => {
    const ctx = testAdmin()
    const first = await createAdminToken(ctx, 'ci')
    expect(await refused(createAdminToken(ctx, 'ci'))).toMatchObject({ code: 'conflict', field: 'name' })
    expect(await refused(createAdminToken(ctx, 'has space'))).toMatchObject({ code: 'invalid', field: 'name' })
    expect(await refused(createAdminToken(ctx, 'a:b'))).toMatchObject({ code: 'invalid', field: 'name' })
    await revokeAdminToken(ctx, first.id)
    expect(await refused(revokeAdminToken(ctx, first.id))).toMatchObject({ code: 'conflict' })
    expect(await refused(revokeAdminToken(ctx, 'ci'))).toMatchObject({ code: 'not_found' })
    const second = await createAdminToken(ctx, 'ci')
    expect((await revokeAdminToken(ctx, 'ci')).id).toBe(second.id)
  })
})
