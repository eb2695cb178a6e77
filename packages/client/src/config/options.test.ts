/** Configuration is checked at construction: caller mistakes are TypeErrors, before any I/O. */
import { describe, expect, it } from 'vitest'
import { OAuthClient } from '../client.js'
import type { ClientOptions } from './options.js'

const base: ClientOptions = {
  server: { kind: 'discovery', issuer: 'https://as.test' },
  clientId: 'c1',
  clientSecret: 's1',
  redirectUri: 'https://rp.test/cb',
}

function make(overrides: Partial<ClientOptions>): OAuthClient {
  return new OAuthClient({ ...base, ...overrides })
}

describe('configuration', () => {
  it('accepts a confidential client, a public client, and http on localhost', () => {
    expect(make({}).config.authMethod).toBe('client_secret_basic')
    expect(make({ clientSecret: undefined, tokenEndpointAuthMethod: 'none' }).config.authMethod).toBe('none')
    expect(make({ server: { kind: 'discovery', issuer: 'http://localhost:4000' }, redirectUri: 'http://127.0.0.1:3000/cb' }).config.redirectUri).toBe('http://127.0.0.1:3000/cb')
  })

  it.each<[string, Partial<ClientOptions>, RegExp]>([
    ['a confidential client without a secret', { clientSecret: undefined }, /clientSecret is required/],
    ['client_secret_post without a secret', { clientSecret: undefined, tokenEndpointAuthMethod: 'client_secret_post' }, /clientSecret is required/],
    ['a public client with a secret', { tokenEndpointAuthMethod: 'none' }, /never be used/],
    ['a plain-http issuer outside localhost', { server: { kind: 'discovery', issuer: 'http://as.test' } }, /https/],
    ['an issuer with a query', { server: { kind: 'discovery', issuer: 'https://as.test/?x=1' } }, /query/],
    ['a plain-http token endpoint', { server: { kind: 'endpoints', issuer: 'https://as.test', authorizationEndpoint: 'https://as.test/a', tokenEndpoint: 'http://as.test/t' } }, /tokenEndpoint/],
    ['a relative redirect_uri', { redirectUri: '/cb' }, /redirectUri must be an absolute URL/],
    ['a redirect_uri with a fragment', { redirectUri: 'https://rp.test/cb#x' }, /fragment/],
    ['a plain-http redirect_uri outside localhost', { redirectUri: 'http://rp.test/cb' }, /redirectUri/],
    ['a missing clientId', { clientId: '' }, /clientId/],
    ['an unknown server kind', { server: { kind: 'openapi' } as never }, /server.kind/],
    ['a negative timeout', { timeoutMs: -1 }, /timeoutMs/],
    ['a lock shorter than the timeout', { timeoutMs: 60_000 }, /refreshLockTtl/],
  ])('refuses %s with a TypeError', (_, overrides, message) => {
    expect(() => make(overrides)).toThrow(TypeError)
    expect(() => make(overrides)).toThrow(message)
  })

  it('uses explicit endpoints without discovery', async () => {
    const client = make({
      server: { kind: 'endpoints', issuer: 'https://as.test', authorizationEndpoint: 'https://as.test/a', tokenEndpoint: 'https://as.test/t', refreshEndpoint: 'https://as.test/r' },
      fetch: () => Promise.reject(new Error('no request expected')),
    })
    const { as, refreshAs } = await client.metadata()
    expect(as.token_endpoint).toBe('https://as.test/t')
    expect(refreshAs.token_endpoint).toBe('https://as.test/r')
    const { url } = await client.buildAuthorizationUrl()
    expect(url.origin + url.pathname).toBe('https://as.test/a')
  })
})
