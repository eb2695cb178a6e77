import { describe, expect, it } from 'vitest'
import { MemoryStore } from '../../test/memory-store.js'
import { ISSUER, REDIRECT_URI, confidentialClient, oauthError, params, publicClient } from '../../test/protocol-fixtures.js'
import { authorizationResponseUri, echoableState, resolveClientRedirect, validateAuthorizationRequest, type TrustedRedirect } from './authorize.js'
import { invalidScope } from './errors.js'
import { s256 } from './pkce.js'
import type { ClientRecord } from './store.js'

const SERVER_SCOPES = ['openid', 'profile', 'email']
const CHALLENGE = s256('a-pkce-code-verifier-of-forty-three-or-more-characters')

async function clients(...records: ClientRecord[]) {
  const store = new MemoryStore()
  for (const record of records) await store.createClient(record)
  return store
}

const trusted = (client: ClientRecord = confidentialClient()): TrustedRedirect => ({ client, redirectUri: client.redirectUris[0] ?? REDIRECT_URI, redirectUriSent: true })

/** A valid authorization request's parameters, with `overrides` (undefined removes one). */
function request(overrides: Record<string, string | undefined> = {}) {
  const values: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: 'rp',
    scope: 'openid profile',
    state: 'af0ifjsldkj',
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
    nonce: 'n-0S6',
    ...overrides,
  }
  return params(Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined))
}

const validate = (overrides: Record<string, string | undefined> = {}, client: ClientRecord = confidentialClient()) =>
  validateAuthorizationRequest(request(overrides), trusted(client), SERVER_SCOPES)

describe('resolveClientRedirect (phase one: errors are shown, never redirected)', () => {
  it('RFC 6749 §4.1.2.1: a missing or unknown client_id is invalid_request', async () => {
    const store = await clients(confidentialClient())
    await oauthError(resolveClientRedirect(params({}), store), 'invalid_request')
    expect((await oauthError(resolveClientRedirect(params({ client_id: 'nobody' }), store), 'invalid_request')).description).toBe(
      'client_id is not a registered client',
    )
  })

  it('RFC 6749 §3.1.2.3: a registered redirect_uri is trusted, and recorded as sent', async () => {
    const store = await clients(confidentialClient({ redirectUris: [REDIRECT_URI, 'https://rp.example.com/two'] }))
    const result = await resolveClientRedirect(params({ client_id: 'rp', redirect_uri: 'https://rp.example.com/two' }), store)
    expect(result).toMatchObject({ redirectUri: 'https://rp.example.com/two', redirectUriSent: true })
    expect(result.client.clientId).toBe('rp')
  })

  it('OAuth 2.1 §2.3.2: a client with one registered redirect URI may omit it; with several it may not', async () => {
    const one = await clients(confidentialClient())
    expect(await resolveClientRedirect(params({ client_id: 'rp' }), one)).toMatchObject({ redirectUri: REDIRECT_URI, redirectUriSent: false })
    const several = await clients(confidentialClient({ redirectUris: [REDIRECT_URI, 'https://rp.example.com/two'] }))
    await oauthError(resolveClientRedirect(params({ client_id: 'rp' }), several), 'invalid_request')
  })

  it('SECURITY.md 2: an unregistered redirect_uri is invalid_request (an open redirector nowhere)', async () => {
    const store = await clients(confidentialClient())
    for (const uri of ['https://evil.example.com/cb', `${REDIRECT_URI}/`, `${REDIRECT_URI}?x=1`]) {
      await oauthError(resolveClientRedirect(params({ client_id: 'rp', redirect_uri: uri }), store), 'invalid_request')
    }
  })

  it('RFC 8252 §7.3: a public native client’s loopback redirect URI may come with any port', async () => {
    const store = await clients(publicClient())
    expect(await resolveClientRedirect(params({ client_id: 'native', redirect_uri: 'http://127.0.0.1:51004/cb' }), store)).toMatchObject({
      redirectUri: 'http://127.0.0.1:51004/cb',
      redirectUriSent: true,
    })
  })
})

describe('echoableState', () => {
  it('RFC 6749 §4.1.2.1: state is echoed as sent; absent when missing or given twice', () => {
    expect(echoableState(params({ state: 'a b&c' }))).toBe('a b&c')
    expect(echoableState(params({}))).toBeUndefined()
    expect(echoableState(params([['state', 'a'], ['state', 'b']]))).toBeUndefined()
  })
})

describe('validateAuthorizationRequest (phase two: errors go back to the trusted redirect URI)', () => {
  it('RFC 6749 §4.1.1: a valid request is read into the AuthorizationRequest the interaction stores', () => {
    expect(validate({ prompt: 'login', max_age: '600', login_hint: 'alice' })).toEqual({
      clientId: 'rp',
      redirectUri: REDIRECT_URI,
      redirectUriSent: true,
      scopes: ['openid', 'profile'],
      state: 'af0ifjsldkj',
      codeChallenge: CHALLENGE,
      codeChallengeMethod: 'S256',
      nonce: 'n-0S6',
      prompt: ['login'],
      maxAge: 600,
      loginHint: 'alice',
    })
  })

  it('RFC 6749 §4.1.1: response_type missing is invalid_request; anything but code is unsupported_response_type', async () => {
    await oauthError(() => validate({ response_type: undefined }), 'invalid_request')
    for (const type of ['token', 'id_token', 'code id_token', 'CODE']) {
      await oauthError(() => validate({ response_type: type }), 'unsupported_response_type')
    }
  })

  it('RFC 6749 §4.1.2.1: a client not registered for the authorization code grant is unauthorized_client', async () => {
    await oauthError(() => validate({}, confidentialClient({ grantTypes: ['refresh_token'] })), 'unauthorized_client')
  })

  it('OIDC Core §6: request objects are refused, not ignored', async () => {
    await oauthError(() => validate({ request: 'eyJhbGciOiJub25lIn0.e30.' }), 'request_not_supported')
    await oauthError(() => validate({ request_uri: 'https://rp.example.com/req' }), 'request_uri_not_supported')
  })

  it('RFC 6749 §3.3: scope missing, malformed, not registered for the client, or not offered by the server is invalid_scope', async () => {
    await oauthError(() => validate({ scope: undefined }), 'invalid_scope')
    await oauthError(() => validate({ scope: 'openid  profile' }), 'invalid_scope')
    await oauthError(() => validate({}, confidentialClient({ scopes: ['openid'] })), 'invalid_scope')
    // Registered for the client once, but no longer offered by the server.
    await oauthError(() => validateAuthorizationRequest(request(), trusted(), ['openid']), 'invalid_scope')
  })

  it('OAuth 2.1 §4.1.1: PKCE is required of public clients, and of confidential ones unless registered otherwise', async () => {
    const noPkce = { code_challenge: undefined, code_challenge_method: undefined }
    expect((await oauthError(() => validate(noPkce, publicClient()), 'invalid_request')).description).toBe('code_challenge is required (PKCE with S256)')
    await oauthError(() => validate(noPkce, confidentialClient()), 'invalid_request')
    expect(validate(noPkce, confidentialClient({ pkceOptional: true }))).toMatchObject({ codeChallenge: null, codeChallengeMethod: null })
    // The flag means nothing for a client without a secret.
    await oauthError(() => validate(noPkce, publicClient({ pkceOptional: true })), 'invalid_request')
  })

  it('RFC 9700 §2.1.1: code_challenge_method plain, or none given, is invalid_request', async () => {
    await oauthError(() => validate({ code_challenge_method: 'plain' }), 'invalid_request')
    await oauthError(() => validate({ code_challenge_method: undefined }), 'invalid_request')
    await oauthError(() => validate({ code_challenge: 'short' }), 'invalid_request')
  })

  it('OIDC Core §3.1.2.1: prompt is a space-delimited list of known values; none stands alone; select_account asks nothing more', async () => {
    expect(validate({ prompt: 'login consent login' }).prompt).toEqual(['login', 'consent'])
    expect(validate({ prompt: 'select_account' }).prompt).toEqual([])
    expect(validate({ prompt: 'none' }).prompt).toEqual(['none'])
    expect(validate({}).prompt).toEqual([])
    await oauthError(() => validate({ prompt: 'none login' }), 'invalid_request')
    await oauthError(() => validate({ prompt: 'create' }), 'invalid_request')
    await oauthError(() => validate({ prompt: 'login  consent' }), 'invalid_request')
  })

  it('OIDC Core §3.1.2.1: max_age is a non-negative integer of seconds', async () => {
    expect(validate({ max_age: '0' }).maxAge).toBe(0)
    expect(validate({ max_age: '999999999' }).maxAge).toBe(999_999_999)
    for (const value of ['-1', '1.5', 'abc', '1e3', '1000000000', ' 1']) {
      await oauthError(() => validate({ max_age: value }), 'invalid_request')
    }
  })

  it('RFC 6749 §3.1: a parameter given twice is invalid_request', async () => {
    const twice = params([['response_type', 'code'], ['scope', 'openid'], ['scope', 'openid'], ['code_challenge', CHALLENGE], ['code_challenge_method', 'S256']])
    await oauthError(() => validateAuthorizationRequest(twice, trusted(), SERVER_SCOPES), 'invalid_request')
  })
})

describe('authorizationResponseUri', () => {
  it('RFC 6749 §4.1.2 / RFC 9207 §2: the code, state byte for byte and iss are appended to the redirect URI', () => {
    const uri = new URL(authorizationResponseUri(REDIRECT_URI, { code: 'c0de' }, 'a b+c&d=é', ISSUER))
    expect(`${uri.origin}${uri.pathname}`).toBe(REDIRECT_URI)
    expect([...uri.searchParams]).toEqual([['code', 'c0de'], ['state', 'a b+c&d=é'], ['iss', ISSUER]])
  })

  it('RFC 6749 §3.1.2: the redirect URI keeps its own query', () => {
    const uri = authorizationResponseUri('https://rp.example.com/cb?tenant=a', { code: 'c' }, undefined, ISSUER)
    expect(uri.startsWith('https://rp.example.com/cb?tenant=a&code=c&')).toBe(true)
  })

  it('RFC 6749 §4.1.2.1: an error carries error and error_description; state is absent when it was not sent; iss always', () => {
    const uri = new URL(authorizationResponseUri(REDIRECT_URI, { error: invalidScope('scope is missing') }, undefined, ISSUER))
    expect(Object.fromEntries(uri.searchParams)).toEqual({ error: 'invalid_scope', error_description: 'scope is missing', iss: ISSUER })
  })
})

describe('offline_access (OIDC Core §11)', () => {
  const offline = (client: ClientRecord = confidentialClient()) => ({ ...client, scopes: [...client.scopes, 'offline_access'] })
  const scopesOf = (overrides: Record<string, string | undefined>, client: ClientRecord = offline()) =>
    validateAuthorizationRequest(request(overrides), trusted(client), [...SERVER_SCOPES, 'offline_access']).scopes

  it('is granted when asked for with prompt=consent: the user is asked, and the grant says so', () => {
    expect(scopesOf({ scope: 'openid offline_access', prompt: 'consent' })).toEqual(['openid', 'offline_access'])
  })

  it('is ignored without prompt=consent in an OpenID request (the rest of the request goes on)', () => {
    expect(scopesOf({ scope: 'openid profile offline_access' })).toEqual(['openid', 'profile'])
    expect(scopesOf({ scope: 'openid offline_access', prompt: 'login' })).toEqual(['openid'])
  })

  it('outside OpenID (no openid scope) it is a scope like any other', () => {
    expect(scopesOf({ scope: 'profile offline_access' })).toEqual(['profile', 'offline_access'])
  })

  it('a client not registered for it still gets invalid_scope', async () => {
    await oauthError(() => scopesOf({ scope: 'openid offline_access', prompt: 'consent' }, confidentialClient()), 'invalid_scope')
  })
})
