import { describe, expect, it } from 'vitest'
import { testAdmin } from '../../test/admin-context.js'
import { NOW } from '../../test/protocol-fixtures.js'
import { DEFAULT_ID_TOKEN_ALG } from '../tokens/algorithms.js'
import { hashToken } from '../tokens/secrets.js'
import { createClient, listClients, removeClient, rotateClientSecret, showClient, updateClient, type ClientUpdate } from './clients.js'
import { AdminError } from './errors.js'

async function refused(promise: Promise<unknown>): Promise<AdminError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(AdminError)
  return error as AdminError
}

const SHOP = { client_name: 'Shop', redirect_uris: ['https://shop.test/cb'] }

describe('admin clients', () => {
  it('createClient registers a confidential client in RFC 7591 names, its secret once, and emits admin.client_created', async () => {
    const ctx = testAdmin()
    const created = await createClient(ctx, { ...SHOP, scope: 'openid email', post_logout_redirect_uris: ['https://shop.test/bye'] })
    expect(created).toEqual({
      client_id: expect.stringMatching(/^[\w-]{16,}$/),
      client_secret: expect.stringMatching(/^[\w-]{43}$/),
      client_secret_expires_at: 0,
      client_name: 'Shop',
      redirect_uris: ['https://shop.test/cb'],
      scope: 'openid email',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      post_logout_redirect_uris: ['https://shop.test/bye'],
      id_token_signed_response_alg: DEFAULT_ID_TOKEN_ALG,
      first_party: false,
      pkce_optional: false,
      require_pushed_authorization_requests: false,
      dpop_bound_access_tokens: false,
      web_origins: [],
      registered_dynamically: false,
      created_at: NOW,
    })
    expect((await ctx.store.getClient(created.client_id))?.secretHash).toBe(hashToken(created.client_secret ?? ''))
    const { client_secret: _secret, client_secret_expires_at: _expires, ...shown } = created
    expect(await showClient(ctx, created.client_id)).toEqual(shown)
    expect(await listClients(ctx)).toEqual([shown])
    expect(ctx.emitted).toEqual([{ type: 'admin.client_created', actor: 'cli', clientId: created.client_id, userId: null }])
  })

  it('RFC 7523: a private_key_jwt client has keys and no secret; PAR and DPoP switches are kept', async () => {
    const ctx = testAdmin()
    const jwks = { keys: [{ kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', kid: 'k1' }] }
    const created = await createClient(ctx, {
      ...SHOP,
      token_endpoint_auth_method: 'private_key_jwt',
      jwks,
      require_pushed_authorization_requests: true,
      dpop_bound_access_tokens: true,
    })
    expect(created).not.toHaveProperty('client_secret')
    expect(created).toMatchObject({ token_endpoint_auth_method: 'private_key_jwt', jwks, require_pushed_authorization_requests: true, dpop_bound_access_tokens: true })
    expect(await ctx.store.getClient(created.client_id)).toMatchObject({ secretHash: null, tokenEndpointAuthMethod: 'private_key_jwt', requirePushedAuthorizationRequests: true, dpopBoundAccessTokens: true })
    expect(await refused(rotateClientSecret(ctx, created.client_id))).toMatchObject({ code: 'invalid', message: expect.stringMatching(/private_key_jwt: it has no secret/) })
  })

  it('a public client (token_endpoint_auth_method none) has no secret', async () => {
    const ctx = testAdmin()
    const created = await createClient(ctx, { client_name: 'App', redirect_uris: ['com.example.app:/cb'], token_endpoint_auth_method: 'none' })
    expect(created).not.toHaveProperty('client_secret')
    expect(created.token_endpoint_auth_method).toBe('none')
  })

  it.each([
    [{ redirect_uris: ['https://shop.test/cb#x'] }, 'redirect_uris', /fragment/],
    [{ redirect_uris: ['javascript:alert(1)'] }, 'redirect_uris', /scheme javascript: is not allowed/],
    [{ redirect_uris: [] }, 'redirect_uris', /at least one redirect URI/],
    [{ redirect_uris: 'https://shop.test/cb' as unknown as string[] }, 'redirect_uris', /a list of strings/],
    [{ post_logout_redirect_uris: ['http://evil.test/bye'] }, 'post_logout_redirect_uris', /must use https/],
    [{ scope: 'openid admin' }, 'scope', /not offered by this server: admin/],
    [{ client_name: ' ' }, 'client_name', /name: 1 to 100/],
    [{ token_endpoint_auth_method: 'tls_client_auth' as 'none' }, 'token_endpoint_auth_method', /one of/],
    [{ token_endpoint_auth_method: 'private_key_jwt' as const }, 'jwks', /jwks or jwks_uri/],
    [{ token_endpoint_auth_method: 'private_key_jwt' as const, jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }, 'jwks', /RSA, EC or OKP/],
    [{ token_endpoint_auth_method: 'private_key_jwt' as const, jwks_uri: 'http://keys.test/jwks' }, 'jwks_uri', /https/],
    [{ jwks_uri: 'https://keys.test/jwks' }, 'jwks_uri', /private_key_jwt clients only/],
    [{ require_pushed_authorization_requests: 'yes' as unknown as boolean }, 'require_pushed_authorization_requests', /true or false|boolean/],
    [{ id_token_signed_response_alg: 'none' as 'RS256' }, 'id_token_signed_response_alg', /one of/],
  ])('createClient refuses %j naming the field and registers nothing', async (override, field, message) => {
    const ctx = testAdmin()
    const error = await refused(createClient(ctx, { ...SHOP, ...override }))
    expect(error).toMatchObject({ code: 'invalid', status: 400, field })
    expect(error.message).toMatch(message)
    expect(ctx.store.clients.size).toBe(0)
    expect(ctx.emitted).toEqual([])
  })

  it('OpenID Back-Channel Logout §2.2: a back-channel logout URI is https, or http on a loopback host, without a fragment; set, changed and removed', async () => {
    const ctx = testAdmin()
    const created = await createClient(ctx, { ...SHOP, backchannel_logout_uri: 'https://shop.test/backchannel-logout' })
    expect(created.backchannel_logout_uri).toBe('https://shop.test/backchannel-logout')
    expect((await ctx.store.getClient(created.client_id))?.backchannelLogoutUri).toBe('https://shop.test/backchannel-logout')
    expect(await createClient(ctx, { ...SHOP, backchannel_logout_uri: 'http://127.0.0.1:3000/bcl' })).toMatchObject({ backchannel_logout_uri: 'http://127.0.0.1:3000/bcl' })
    expect(await createClient(ctx, { ...SHOP, backchannel_logout_uri: 'http://localhost:3000/bcl' })).toMatchObject({ backchannel_logout_uri: 'http://localhost:3000/bcl' })
    expect(await createClient(ctx, SHOP)).not.toHaveProperty('backchannel_logout_uri')
    for (const uri of ['http://shop.test/bcl', 'https://shop.test/bcl#x', 'com.example.app:/bcl', 'not a uri', 'https://user:pw@shop.test/bcl']) {
      expect(await refused(createClient(ctx, { ...SHOP, backchannel_logout_uri: uri }))).toMatchObject({ code: 'invalid', field: 'backchannel_logout_uri' })
    }
    expect(await updateClient(ctx, created.client_id, { backchannel_logout_uri: 'https://shop.test/other-bcl' })).toMatchObject({ backchannel_logout_uri: 'https://shop.test/other-bcl' })
    expect(await refused(updateClient(ctx, created.client_id, { backchannel_logout_uri: 'http://shop.test/bcl' }))).toMatchObject({ field: 'backchannel_logout_uri' })
    expect(await updateClient(ctx, created.client_id, { backchannel_logout_uri: null })).not.toHaveProperty('backchannel_logout_uri')
  })

  it('updateClient replaces the redirect URIs, changes name, scope and post-logout URIs, by the registration rules', async () => {
    const ctx = testAdmin()
    const { client_id } = await createClient(ctx, SHOP)
    const updated = await updateClient(ctx, client_id, {
      client_name: 'Shop 2',
      redirect_uris: ['https://shop.test/new', 'https://shop.test/other'],
      scope: 'openid read:messages',
      post_logout_redirect_uris: ['https://shop.test/bye'],
    })
    expect(updated).toMatchObject({
      client_name: 'Shop 2',
      redirect_uris: ['https://shop.test/new', 'https://shop.test/other'],
      scope: 'openid read:messages',
      post_logout_redirect_uris: ['https://shop.test/bye'],
    })
    expect(ctx.emitted.at(-1)).toEqual({ type: 'admin.client_updated', actor: 'cli', clientId: client_id, userId: null })
    for (const [update, field] of [
      [{ redirect_uris: ['https://shop.test/cb#frag'] }, 'redirect_uris'],
      [{ redirect_uris: ['javascript:alert(1)'] }, 'redirect_uris'],
      [{ scope: 'openid admin' }, 'scope'],
      [{}, 'client'],
    ] as Array<[ClientUpdate, string]>) {
      expect(await refused(updateClient(ctx, client_id, update))).toMatchObject({ code: 'invalid', field })
    }
    expect(await showClient(ctx, client_id)).toEqual(updated)
    expect(await refused(updateClient(ctx, 'nope', { client_name: 'x' }))).toMatchObject({ code: 'not_found', message: 'no client with id nope' })
  })

  it('rotateClientSecret: a new secret once; the old one kept only for a grace period; public clients have none', async () => {
    const ctx = testAdmin()
    const { client_id, client_secret } = await createClient(ctx, SHOP)
    const rotated = await rotateClientSecret(ctx, client_id)
    expect(rotated.client_secret).not.toBe(client_secret)
    expect(rotated).not.toHaveProperty('previous_secret_expires_at')
    expect(await ctx.store.getClient(client_id)).toMatchObject({ secretHash: hashToken(rotated.client_secret ?? ''), previousSecretHash: null })

    const graced = await rotateClientSecret(ctx, client_id, 3600)
    expect(graced.previous_secret_expires_at).toBe(NOW + 3600)
    expect(await ctx.store.getClient(client_id)).toMatchObject({ previousSecretHash: hashToken(rotated.client_secret ?? ''), previousSecretExpiresAt: NOW + 3600 })
    expect(ctx.emitted.filter((e) => e.type === 'admin.client_secret_rotated')).toHaveLength(2)

    expect(await refused(rotateClientSecret(ctx, client_id, -1))).toMatchObject({ code: 'invalid', field: 'grace' })
    expect(await refused(rotateClientSecret(ctx, client_id, 1.5))).toMatchObject({ code: 'invalid', field: 'grace' })
    const app = await createClient(ctx, { client_name: 'App', redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' })
    expect(await refused(rotateClientSecret(ctx, app.client_id))).toMatchObject({ code: 'invalid', message: expect.stringMatching(/authenticates with none: it has no secret/) })
    expect(await refused(rotateClientSecret(ctx, 'nope'))).toMatchObject({ code: 'not_found' })
  })

  it('removeClient removes it and says so once', async () => {
    const ctx = testAdmin()
    const { client_id } = await createClient(ctx, SHOP)
    expect((await removeClient(ctx, client_id)).client_id).toBe(client_id)
    expect(ctx.store.clients.size).toBe(0)
    expect(ctx.emitted.at(-1)).toEqual({ type: 'admin.client_removed', actor: 'cli', clientId: client_id, userId: null })
    expect(await refused(removeClient(ctx, client_id))).toMatchObject({ code: 'not_found' })
  })

  it('web origins (issue #22): a public client\'s serialized origins are kept, replaced and cleared; anything else, or on a confidential client, is refused naming web_origins', async () => {
    const ctx = testAdmin()
    const spa = await createClient(ctx, { client_name: 'SPA', redirect_uris: ['https://spa.test/cb'], token_endpoint_auth_method: 'none', web_origins: ['https://app.spa.test', 'http://localhost:8090', 'http://127.0.0.1:5173', 'http://[::1]:8080'] })
    expect(spa.web_origins).toEqual(['https://app.spa.test', 'http://localhost:8090', 'http://127.0.0.1:5173', 'http://[::1]:8080'])
    expect((await updateClient(ctx, spa.client_id, { web_origins: ['https://other.test:8443'] })).web_origins).toEqual(['https://other.test:8443'])
    expect((await updateClient(ctx, spa.client_id, { web_origins: [] })).web_origins).toEqual([])
    for (const bad of ['https://app.test/', 'https://app.test/path', 'https://app.test?x=1', 'https://app.test#f', 'https://App.test', 'https://app.test:443', 'http://app.test', 'http://192.168.1.2:8080', 'ftp://app.test', 'null', '*', 'https://*.app.test', 'https://user@app.test', 'app.test', '', 'https://app.test ']) {
      const error = await refused(createClient(ctx, { client_name: 'SPA', redirect_uris: ['https://spa.test/cb'], token_endpoint_auth_method: 'none', web_origins: [bad] }))
      expect(error.field, bad).toBe('web_origins')
      expect((await refused(updateClient(ctx, spa.client_id, { web_origins: [bad] }))).field).toBe('web_origins')
    }
    const confidential = await refused(createClient(ctx, { ...SHOP, web_origins: ['https://shop.test'] }))
    expect(confidential.field).toBe('web_origins')
    expect(confidential.message).toMatch(/public clients only/)
    const shop = await createClient(ctx, SHOP)
    expect((await refused(updateClient(ctx, shop.client_id, { web_origins: ['https://shop.test'] }))).message).toMatch(/no CORS/)
    expect((await refused(createClient(ctx, { client_name: 'SPA', redirect_uris: ['https://spa.test/cb'], token_endpoint_auth_method: 'none', web_origins: 'https://spa.test' as unknown as string[] }))).field).toBe('web_origins')
  })
})
