import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { CONFIG, ISSUER, NOW, authorizationRequest, confidentialClient, issueTokens, params, seed, testKeys, testUser } from '../../test/protocol-fixtures.js'
import { SIGNING_ALGS } from '../tokens/algorithms.js'
import { ACCESS_TOKEN_ALGORITHMS } from './access-token.js'
import { StoreAccounts } from './accounts.js'
import { validateAuthorizationRequest } from './authorize.js'
import { ENDPOINTS } from './endpoints.js'
import { SUPPORTED_GRANT_TYPES } from './grants/index.js'
import { CLAIMS_SUPPORTED, serverMetadata, type MetadataSettings } from './metadata.js'
import { s256 } from './pkce.js'
import { userInfo } from './userinfo.js'

const SETTINGS: MetadataSettings = { issuer: ISSUER, endpoints: ENDPOINTS, scopes: CONFIG.scopes }
const metadata = serverMetadata(SETTINGS)
const list = (name: string): unknown[] => metadata[name] as unknown[]

describe('serverMetadata', () => {
  it('RFC 8414 §2 / OIDC Discovery §3: the issuer and every endpoint URL under it', () => {
    expect(metadata).toMatchObject({
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/authorize`,
      token_endpoint: `${ISSUER}/token`,
      revocation_endpoint: `${ISSUER}/revoke`,
      introspection_endpoint: `${ISSUER}/introspect`,
      userinfo_endpoint: `${ISSUER}/userinfo`,
      jwks_uri: `${ISSUER}/jwks`,
    })
  })

  it('RFC 8414 §3: an issuer with a path, and endpoint paths an AsyncAPI document named, are used as given', () => {
    const custom = serverMetadata({
      issuer: 'https://auth.example.com/tenant-a',
      endpoints: { ...ENDPOINTS, authorization: '/oauth2/authorize', token: '/oauth2/token' },
      scopes: { openid: 'x', 'chat:read': 'y' },
    })
    expect(custom).toMatchObject({
      issuer: 'https://auth.example.com/tenant-a',
      authorization_endpoint: 'https://auth.example.com/tenant-a/oauth2/authorize',
      token_endpoint: 'https://auth.example.com/tenant-a/oauth2/token',
      jwks_uri: 'https://auth.example.com/tenant-a/jwks',
      scopes_supported: ['openid', 'chat:read'],
    })
  })

  it('RFC 8414 §2: scopes_supported are the scopes the server offers', () => {
    expect(metadata.scopes_supported).toEqual(Object.keys(CONFIG.scopes))
  })

  it('OAuth 2.1 §4.1 / RFC 9700 §2.1.2: the authorization code flow only: response_type code, query responses, the grants the token endpoint dispatches', () => {
    expect(metadata.response_types_supported).toEqual(['code'])
    expect(metadata.response_modes_supported).toEqual(['query'])
    expect(metadata.grant_types_supported).toEqual([...SUPPORTED_GRANT_TYPES])
    expect(list('grant_types_supported')).not.toContain('implicit')
    expect(list('grant_types_supported')).not.toContain('password')
  })

  it('RFC 9700 §2.1.1: PKCE S256 only, never plain', () => {
    expect(metadata.code_challenge_methods_supported).toEqual(['S256'])
  })

  it('RFC 7662 §2.1: introspection requires client authentication (no none); the token and revocation endpoints also take public clients', () => {
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'])
    expect(metadata.revocation_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'])
    expect(metadata.introspection_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post', 'private_key_jwt'])
    // RFC 8414 §2: with private_key_jwt, the algorithms its assertions may use; never none or a MAC.
    expect(metadata.token_endpoint_auth_signing_alg_values_supported).not.toContain('none')
    expect(metadata.token_endpoint_auth_signing_alg_values_supported).not.toContain('HS256')
  })

  it('OIDC Discovery §3 / RFC 8725 §3.1: RS256 among the ID token algorithms; only the server’s signing algorithms, never none or HMAC', () => {
    expect(list('id_token_signing_alg_values_supported')).toContain('RS256')
    for (const name of ['id_token_signing_alg_values_supported', 'access_token_signing_alg_values_supported']) {
      expect([...list(name)].sort()).toEqual([...SIGNING_ALGS].sort())
    }
    expect(metadata.access_token_signing_alg_values_supported).toEqual([...ACCESS_TOKEN_ALGORITHMS])
  })

  it('RFC 9207 §3: the iss authorization response parameter is announced', () => {
    expect(metadata.authorization_response_iss_parameter_supported).toBe(true)
  })

  it('OIDC Discovery §3: request objects and the claims parameter are not supported, as the authorization endpoint refuses them', () => {
    expect(metadata).toMatchObject({ request_parameter_supported: false, request_uri_parameter_supported: false, claims_parameter_supported: false })
    expect(metadata.subject_types_supported).toEqual(['public'])
  })

  it('OIDC Discovery §3: every prompt value listed is one the authorization endpoint accepts', () => {
    const client = confidentialClient()
    const trusted = { client, redirectUri: client.redirectUris[0] ?? '', redirectUriSent: true }
    for (const prompt of list('prompt_values_supported')) {
      const request = params({ response_type: 'code', scope: 'openid', code_challenge: s256('v'.repeat(43)), code_challenge_method: 'S256', prompt: String(prompt) })
      expect(() => validateAuthorizationRequest(request, trusted, Object.keys(CONFIG.scopes))).not.toThrow()
    }
  })

  it('OIDC Discovery §3: claims_supported names every claim the ID token and the UserInfo response carry', async () => {
    const seeded = await seed(undefined, testUser({ name: 'Alice', email: 'alice@example.com' }))
    const issued = await issueTokens(seeded, authorizationRequest(seeded.client, { scopes: ['openid', 'profile', 'email'] }))
    const claims = await userInfo(issued.access_token, { store: seeded.store, accounts: new StoreAccounts(seeded.store), keys: await testKeys(), config: CONFIG }, NOW)
    const carried = new Set([...Object.keys(claims), ...Object.keys(decodeJwt(issued.id_token ?? ''))])
    expect([...carried].filter((claim) => !CLAIMS_SUPPORTED.includes(claim))).toEqual([])
  })
})
