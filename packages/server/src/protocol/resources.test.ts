import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { CONFIG, NOW, REDIRECT_URI, VERIFIER, authorizationRequest, issueCode, oauthError, params, seed, testKeys, tokenContext, type Seeded } from '../../test/protocol-fixtures.js'
import { StoreAccounts } from './accounts.js'
import { validateAccessToken } from './access-token.js'
import { resolveClientRedirect, validateAuthorizationRequest } from './authorize.js'
import { authorizationCodeGrant } from './grants/authorization-code.js'
import { refreshTokenGrant } from './grants/refresh-token.js'
import { introspectToken } from './introspection.js'
import { consentNeeded } from './journey.js'
import { pushAuthorizationRequest, takePushedParams } from './par.js'
import { accessTokenTarget, readResourceParameters, requestedResources, type ResourceSettings } from './resources.js'

const MCP = 'https://mcp.example.com/mcp'
const API = 'https://api.example.com'
const RESOURCES: readonly ResourceSettings[] = [
  { uri: MCP, name: 'MCP server', scopes: ['profile'], accessTokenLifetime: 120 },
  { uri: API, name: 'Orders API', scopes: ['profile', 'email'] },
]
const SETTINGS = { ...CONFIG, resources: RESOURCES }

const tokenCtx = (seeded: Seeded, now = NOW) => tokenContext(seeded.store, now, SETTINGS)

/** Redeems a code issued for `resources` (scopes openid profile email) with the token request's `extra` parameters. */
async function redeemFor(seeded: Seeded, resources: string[] | undefined, extra: [string, string][] = []) {
  const code = await issueCode(seeded, authorizationRequest(seeded.client, { scopes: ['openid', 'profile', 'email'], ...(resources === undefined ? {} : { resources }) }))
  const base: [string, string][] = [['grant_type', 'authorization_code'], ['code', code], ['redirect_uri', REDIRECT_URI], ['code_verifier', VERIFIER]]
  return authorizationCodeGrant.handle(seeded.client, params([...base, ...extra]), await tokenCtx(seeded))
}

describe('RFC 8707 §2: the resource parameter', () => {
  it('an absolute URI without a fragment; several may be sent, duplicates fold', () => {
    expect(readResourceParameters(params([['resource', MCP], ['resource', API], ['resource', MCP]]))).toEqual([MCP, API])
    expect(readResourceParameters(params({}))).toEqual([])
    expect(readResourceParameters(params({ resource: 'urn:example:thing' }))).toEqual(['urn:example:thing'])
  })

  it('a relative URI, a fragment or a bare word is invalid_target', async () => {
    for (const bad of ['/mcp', 'mcp.example.com', `${MCP}#x`, `${MCP}#`, 'not a uri']) {
      await oauthError(() => readResourceParameters(params({ resource: bad })), 'invalid_target')
    }
  })

  it('at the authorization endpoint: an unknown resource is invalid_target, a known one is kept', async () => {
    await oauthError(() => requestedResources(params({ resource: 'https://other.example.com' }), ['profile'], SETTINGS), 'invalid_target')
    await oauthError(() => requestedResources(params({ resource: MCP }), ['profile'], {}), 'invalid_target')
    expect(requestedResources(params([['resource', MCP], ['resource', API]]), ['openid', 'profile'], SETTINGS)).toEqual([MCP, API])
  })

  it('at the authorization endpoint: a resource that allows none of the requested scopes is invalid_scope', async () => {
    await oauthError(() => requestedResources(params({ resource: MCP }), ['openid', 'email'], SETTINGS), 'invalid_scope')
  })

  it('validateAuthorizationRequest keeps the resources with the request, and an error goes back as invalid_target', async () => {
    const seeded = await seed()
    const request = (resource: string) =>
      params({ response_type: 'code', client_id: 'rp', redirect_uri: REDIRECT_URI, scope: 'openid profile', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', resource })
    const trusted = await resolveClientRedirect(request(MCP), seeded.store)
    expect(validateAuthorizationRequest(request(MCP), trusted, Object.keys(CONFIG.scopes), SETTINGS).resources).toEqual([MCP])
    expect(validateAuthorizationRequest(request(''), trusted, Object.keys(CONFIG.scopes), SETTINGS)).not.toHaveProperty('resources')
    await oauthError(() => validateAuthorizationRequest(request('https://evil.example.com'), trusted, Object.keys(CONFIG.scopes), SETTINGS), 'invalid_target')
  })

  it('RFC 9126: a pushed request keeps every resource value, and is validated against them at push time', async () => {
    const seeded = await seed()
    const pushed = [
      ['response_type', 'code'],
      ['redirect_uri', REDIRECT_URI],
      ['scope', 'openid profile'],
      ['code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'],
      ['code_challenge_method', 'S256'],
    ] as [string, string][]
    const deps = { store: seeded.store, scopes: Object.keys(CONFIG.scopes), lifetime: 60, now: NOW, resourceSettings: SETTINGS }
    const { request_uri } = await pushAuthorizationRequest(seeded.client, params([...pushed, ['resource', MCP], ['resource', API]]), deps)
    const taken = await takePushedParams(params({ client_id: 'rp', request_uri }), seeded.store, NOW)
    expect(readResourceParameters(taken)).toEqual([MCP, API])
    await oauthError(pushAuthorizationRequest(seeded.client, params([...pushed, ['resource', 'https://unknown.example.com']]), deps), 'invalid_target')
  })
})

describe('RFC 8707 §2.2: the access token is for exactly one resource', () => {
  it('accessTokenTarget: the one granted resource, or the one named; the scopes it allows; its lifetime', () => {
    expect(accessTokenTarget(params({}), [MCP], ['openid', 'profile', 'email'], SETTINGS)).toEqual({ audience: MCP, scopes: ['profile'], lifetime: 120 })
    expect(accessTokenTarget(params({ resource: API }), [MCP, API], ['openid', 'profile', 'email'], SETTINGS)).toEqual({ audience: API, scopes: ['profile', 'email'], lifetime: undefined })
    expect(accessTokenTarget(params({}), [], ['openid'], SETTINGS)).toEqual({ audience: undefined, scopes: ['openid'], lifetime: undefined })
  })

  it('accessTokenTarget refuses: a resource not granted, several at once, none of several granted, one a grant without resources never had', async () => {
    await oauthError(() => accessTokenTarget(params({ resource: API }), [MCP], ['profile'], SETTINGS), 'invalid_target')
    await oauthError(() => accessTokenTarget(params([['resource', MCP], ['resource', API]]), [MCP, API], ['profile'], SETTINGS), 'invalid_target')
    await oauthError(() => accessTokenTarget(params({}), [MCP, API], ['profile'], SETTINGS), 'invalid_target')
    await oauthError(() => accessTokenTarget(params({ resource: MCP }), [], ['profile'], SETTINGS), 'invalid_target')
    // Taken out of the configuration since the grant: no more tokens for it.
    await oauthError(() => accessTokenTarget(params({}), [MCP], ['profile'], { resources: [] }), 'invalid_target')
    await oauthError(() => accessTokenTarget(params({}), [MCP], ['openid', 'email'], SETTINGS), 'invalid_scope')
  })

  it('the code exchange: aud is exactly the resource, scope only what it allows, its lifetime; the ID token as before', async () => {
    const seeded = await seed()
    const response = await redeemFor(seeded, [MCP], [['resource', MCP]])
    expect(response).toMatchObject({ scope: 'profile', expires_in: 120 })
    expect(decodeJwt(response.access_token)).toMatchObject({ aud: MCP, scope: 'profile', exp: NOW + 120 })
    expect(decodeJwt(response.id_token ?? '')).toMatchObject({ aud: 'rp' })
    expect((await seeded.store.getGrant([...seeded.store.grants.keys()][0] ?? ''))?.resources).toEqual([MCP])
  })

  it('without any resource: the default audience and every granted scope, as before', async () => {
    const seeded = await seed()
    const response = await redeemFor(seeded, undefined)
    expect(decodeJwt(response.access_token)).toMatchObject({ aud: CONFIG.accessToken.audience, scope: 'openid profile email' })
  })

  it('the code exchange refuses a resource the authorization did not name (invalid_target) and spends nothing', async () => {
    const seeded = await seed()
    await oauthError(redeemFor(seeded, [MCP], [['resource', API]]), 'invalid_target')
    await oauthError(redeemFor(seeded, undefined, [['resource', MCP]]), 'invalid_target')
    expect(seeded.store.accessTokens.size).toBe(0)
  })

  it('refresh: may narrow to any of the grant’s resources, never add one; the new refresh token keeps them all', async () => {
    const seeded = await seed()
    const first = await redeemFor(seeded, [MCP, API], [['resource', MCP]])
    expect(decodeJwt(first.access_token).aud).toBe(MCP)
    const toApi = await refreshTokenGrant.handle(
      seeded.client,
      params([['grant_type', 'refresh_token'], ['refresh_token', first.refresh_token ?? ''], ['resource', API]]),
      await tokenCtx(seeded, NOW + 10),
    )
    expect(decodeJwt(toApi.access_token)).toMatchObject({ aud: API, scope: 'profile email' })
    // Escalation: a resource the user never authorized is refused, and the refresh token is not spent.
    await oauthError(
      refreshTokenGrant.handle(seeded.client, params([['grant_type', 'refresh_token'], ['refresh_token', toApi.refresh_token ?? ''], ['resource', 'https://other.example.com']]), await tokenCtx(seeded, NOW + 20)),
      'invalid_target',
    )
    const back = await refreshTokenGrant.handle(
      seeded.client,
      params([['grant_type', 'refresh_token'], ['refresh_token', toApi.refresh_token ?? ''], ['resource', MCP], ['scope', 'openid profile']]),
      await tokenCtx(seeded, NOW + 30),
    )
    expect(decodeJwt(back.access_token)).toMatchObject({ aud: MCP, scope: 'profile' })
  })

  it('a token for a resource is not one the server itself accepts (userinfo), but introspection reports its aud', async () => {
    const seeded = await seed()
    const response = await redeemFor(seeded, [MCP])
    const deps = { store: seeded.store, keys: await testKeys(), config: SETTINGS }
    await oauthError(validateAccessToken(response.access_token, deps, NOW + 1), 'invalid_token')
    expect((await validateAccessToken(response.access_token, deps, NOW + 1, 'any')).claims.aud).toBe(MCP)
    expect(await introspectToken(seeded.client, params({ token: response.access_token }), { ...deps, accounts: new StoreAccounts(seeded.store) }, NOW + 1)).toMatchObject({
      active: true,
      aud: MCP,
      scope: 'profile',
    })
    // A resource taken out of the configuration: its tokens are no longer the server's.
    await oauthError(validateAccessToken(response.access_token, { ...deps, config: CONFIG }, NOW + 1, 'any'), 'invalid_token')
  })
})

describe('RFC 8707: consent for a request that names resources', () => {
  it('is asked each time, even with a consent covering the scopes (the page names the resource); first-party apps are not asked when so configured', async () => {
    const seeded = await seed()
    const consent = { userId: seeded.user.id, clientId: 'rp', scopes: ['openid', 'profile', 'email'], createdAt: NOW, updatedAt: NOW }
    const request = authorizationRequest(seeded.client, { resources: [MCP] })
    expect(consentNeeded({ request: authorizationRequest(seeded.client), client: seeded.client, consent, skipConsentForFirstParty: true })).toBe(false)
    expect(consentNeeded({ request, client: seeded.client, consent, skipConsentForFirstParty: true })).toBe(true)
    expect(consentNeeded({ request, client: { ...seeded.client, firstParty: true }, consent, skipConsentForFirstParty: true })).toBe(false)
  })
})
