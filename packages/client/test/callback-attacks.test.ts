/**
 * Callbacks the client must refuse (SECURITY.md 19–21, checklist §1.13 CL-02…CL-11), against an
 * in-memory server: each refusal is typed, and the refusals before the exchange make no token
 * request at all.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { AuthorizationError, CallbackError, InvalidResponseError, NetworkError, OAuthServerError } from '../src/errors.js'
import { FakeAuthorizationServer, ISSUER } from './fake-as.js'
import { clientFor, login } from './helpers.js'

let fake: FakeAuthorizationServer

beforeEach(() => {
  fake = new FakeAuthorizationServer()
})

async function started(client = clientFor(fake)) {
  const attempt = await client.buildAuthorizationUrl()
  const callback = fake.authorize(attempt.url)
  return { client, ...attempt, callback }
}

describe('happy path', () => {
  it('exchanges the code with client_secret_basic and opens a session (RFC 6749 §4.1.3)', async () => {
    const client = clientFor(fake)
    const result = await login(fake, client)
    expect(result.claims?.sub).toBe('user-1')
    expect(result.tokens.tokenType).toBe('bearer')
    expect(result.tokens.expiresAt).toBe(fake.now + 300)
    const [request] = fake.tokenRequests
    expect(request?.headers.get('authorization')).toMatch(/^Basic /)
    expect(request?.headers.get('content-type')).toBe('application/x-www-form-urlencoded;charset=UTF-8')
    expect(request?.form.get('client_secret')).toBeNull()
    expect(request?.form.get('redirect_uri')).toBe('https://rp.test/cb')
    expect(await client.getAccessToken(result.sessionId)).toBe(result.tokens.accessToken)
  })

  it('sends client_secret_post in the body when configured', async () => {
    await login(fake, clientFor(fake, { tokenEndpointAuthMethod: 'client_secret_post' }))
    const [request] = fake.tokenRequests
    expect(request?.headers.get('authorization')).toBeNull()
    expect(request?.form.get('client_secret')).toBe('secret with spaces & symbols')
  })

  it('falls back to OpenID discovery when RFC 8414 metadata is missing', async () => {
    fake.oauthMetadataMissing = true
    await login(fake, clientFor(fake))
    expect(fake.requests.map((r) => r.url.pathname).slice(0, 2)).toEqual(['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'])
  })

  it('caches discovered metadata', async () => {
    const client = clientFor(fake)
    await login(fake, client)
    await login(fake, client)
    expect(fake.requestsTo('/.well-known/oauth-authorization-server')).toHaveLength(1)
  })

  it('keeps several login attempts of one browser apart (several tabs)', async () => {
    const client = clientFor(fake)
    const first = await started(client)
    const second = await started(client)
    const b = await client.handleCallback({ loginId: second.loginId, url: second.callback })
    const a = await client.handleCallback({ loginId: first.loginId, url: first.callback })
    expect(a.sessionId).not.toBe(b.sessionId)
  })
})

describe('refused before any token request (CL-02…CL-07)', () => {
  it('wrong state', async () => {
    const { client, loginId, callback } = await started()
    callback.searchParams.set('state', 'attacker-state')
    await expect(client.handleCallback({ loginId, url: callback })).rejects.toMatchObject({ code: 'STATE_MISMATCH' })
    expect(fake.tokenRequests).toHaveLength(0)
  })

  it('missing state', async () => {
    const { client, loginId, callback } = await started()
    callback.searchParams.delete('state')
    await expect(client.handleCallback({ loginId, url: callback })).rejects.toMatchObject({ code: 'STATE_MISMATCH' })
    expect(fake.tokenRequests).toHaveLength(0)
  })

  it('repeated state', async () => {
    const { client, loginId, callback } = await started()
    callback.searchParams.append('state', callback.searchParams.get('state') ?? '')
    await expect(client.handleCallback({ loginId, url: callback })).rejects.toMatchObject({ code: 'STATE_MISMATCH' })
    expect(fake.tokenRequests).toHaveLength(0)
  })

  it('a replayed callback (the attempt is single-use)', async () => {
    const { client, loginId, callback } = await started()
    await client.handleCallback({ loginId, url: callback })
    await expect(client.handleCallback({ loginId, url: callback })).rejects.toMatchObject({ code: 'LOGIN_NOT_FOUND' })
    expect(fake.tokenRequests).toHaveLength(1)
  })

  it('a callback with no login attempt behind it (no cookie, unknown id)', async () => {
    const { client, callback } = await started()
    await expect(client.handleCallback({ loginId: undefined, url: callback })).rejects.toMatchObject({ code: 'LOGIN_NOT_FOUND' })
    await expect(client.handleCallback({ loginId: 'forged', url: callback })).rejects.toBeInstanceOf(CallbackError)
    expect(fake.tokenRequests).toHaveLength(0)
  })

  it("another browser's callback (the victim's code with the attacker's login id)", async () => {
    const victim = await started()
    const attacker = await victim.client.buildAuthorizationUrl()
    await expect(victim.client.handleCallback({ loginId: attacker.loginId, url: victim.callback })).rejects.toMatchObject({ code: 'STATE_MISMATCH' })
    expect(fake.tokenRequests).toHaveLength(0)
  })

  it('an expired attempt', async () => {
    const { client, loginId, callback } = await started()
    fake.now += 601
    await expect(client.handleCallback({ loginId, url: callback })).rejects.toBeInstanceOf(CallbackError)
    expect(fake.tokenRequests).toHaveLength(0)
  })

  it('iss of another server (RFC 9207 §2.4 mix-up)', async () => {
    const { client, loginId, callback } = await started()
    callback.searchParams.set('iss', 'https://evil.test')
    await expect(client.handleCallback({ loginId, url: callback })).rejects.toMatchObject({ code: 'ISSUER_MISMATCH' })
    expect(fake.tokenRequests).toHaveLength(0)
  })

  it('iss missing while the server advertises it', async () => {
    const { client, loginId, callback } = await started()
    callback.searchParams.delete('iss')
    await expect(client.handleCallback({ loginId, url: callback })).rejects.toMatchObject({ code: 'ISSUER_MISMATCH' })
    expect(fake.tokenRequests).toHaveLength(0)
  })

  it('an error response carries error and error_description, after state and iss are checked', async () => {
    const { client, loginId, url } = await started()
    const denied = new URL('https://rp.test/cb')
    denied.searchParams.set('error', 'access_denied')
    denied.searchParams.set('error_description', 'the user said no')
    denied.searchParams.set('state', url.searchParams.get('state') ?? '')
    denied.searchParams.set('iss', ISSUER)
    const error = await client.handleCallback({ loginId, url: denied }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AuthorizationError)
    expect(error).toMatchObject({ error: 'access_denied', error_description: 'the user said no' })

    const forged = await started(client)
    const unverified = new URL(denied)
    unverified.searchParams.set('state', forged.url.searchParams.get('state') ?? '')
    unverified.searchParams.set('iss', 'https://evil.test')
    await expect(client.handleCallback({ loginId: forged.loginId, url: unverified })).rejects.toMatchObject({ code: 'ISSUER_MISMATCH' })
    expect(fake.tokenRequests).toHaveLength(0)
  })

  it('a repeated code', async () => {
    const { client, loginId, callback } = await started()
    callback.searchParams.append('code', 'second')
    await expect(client.handleCallback({ loginId, url: callback })).rejects.toMatchObject({ code: 'INVALID_CALLBACK' })
    expect(fake.tokenRequests).toHaveLength(0)
  })
})

describe('the ID token (CL-11)', () => {
  const cases: [string, NonNullable<FakeAuthorizationServer['idTokenTamper']>][] = [
    ['wrong aud', { claims: { aud: 'another-client' } }],
    ['extra aud without azp', { claims: { aud: ['client-1', 'another-client'] } }],
    ['wrong nonce', { claims: { nonce: 'replayed-nonce' } }],
    ['missing nonce', { claims: { nonce: undefined } }],
    ['wrong iss', { claims: { iss: 'https://evil.test' } }],
    ['expired', { claims: { exp: Math.floor(Date.now() / 1000) - 3600 } }],
    ['missing sub', { claims: { sub: undefined } }],
    ['signed by a key not in the JWKS', { foreignKey: true }],
    ['a broken signature', { breakSignature: true }],
    ['alg none', { header: { alg: 'none' } }],
    ['an unknown crit header', { header: { crit: ['exp-x'], 'exp-x': 1 } }],
  ]
  for (const [name, tamper] of cases) {
    it(`refuses ${name} and opens no session`, async () => {
      fake.idTokenTamper = tamper
      const { client, loginId, callback } = await started()
      const error = await client.handleCallback({ loginId, url: callback }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(InvalidResponseError)
      expect(error).toMatchObject({ code: 'INVALID_ID_TOKEN' })
      expect(fake.requestsTo('/userinfo')).toHaveLength(0)
    })
  }
})

describe('the token response', () => {
  it('invalid_grant is typed', async () => {
    fake.tokenOverride = () => Response.json({ error: 'invalid_grant', error_description: 'code used' }, { status: 400 })
    const { client, loginId, callback } = await started()
    const error = await client.handleCallback({ loginId, url: callback }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OAuthServerError)
    expect(error).toMatchObject({ code: 'INVALID_GRANT', error: 'invalid_grant', error_description: 'code used', status: 400 })
  })

  it('a malformed response is typed and names no token', async () => {
    fake.tokenOverride = () => Response.json({ access_token: 'secret-at', token_type: 'bearer', expires_in: 'soon' })
    const { client, loginId, callback } = await started()
    const error = await client.handleCallback({ loginId, url: callback }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'INVALID_RESPONSE' })
    expect(JSON.stringify(error) + String(error) + String((error as Error).cause)).not.toContain('secret-at')
  })

  it('non-JSON is a malformed response', async () => {
    fake.tokenOverride = () => new Response('<html>oops</html>', { status: 200, headers: { 'content-type': 'text/html' } })
    const { client, loginId, callback } = await started()
    await expect(client.handleCallback({ loginId, url: callback })).rejects.toMatchObject({ code: 'INVALID_RESPONSE' })
  })

  it('a network failure is typed, not retried', async () => {
    const { client, loginId, callback } = await started(
      clientFor(fake, {
        fetch: (url, init) => (new URL(url).pathname === '/token' ? Promise.reject(new TypeError('fetch failed', { cause: new Error('ECONNREFUSED') })) : fake.fetch(url, init)),
      }),
    )
    await expect(client.handleCallback({ loginId, url: callback })).rejects.toBeInstanceOf(NetworkError)
  })

  it('a timeout is a NetworkError with timedOut', async () => {
    const client = clientFor(fake, {
      timeoutMs: 20,
      fetch: (url, init) =>
        new URL(url).pathname === '/token'
          ? new Promise((_, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason)))
          : fake.fetch(url, init),
    })
    const { loginId, callback } = await started(client)
    await expect(client.handleCallback({ loginId, url: callback })).rejects.toMatchObject({ code: 'NETWORK_ERROR', timedOut: true })
  })
})

describe('discovery', () => {
  it("refuses a document whose issuer is not the configured one (CL-09)", async () => {
    fake.metadata = { issuer: 'https://evil.test' }
    await expect(clientFor(fake).buildAuthorizationUrl()).rejects.toMatchObject({ code: 'DISCOVERY_FAILED' })
  })

  it('refuses plain-http endpoints outside localhost (CL-20)', async () => {
    fake.metadata = { token_endpoint: 'http://as.test/token' }
    await expect(clientFor(fake).buildAuthorizationUrl()).rejects.toMatchObject({ code: 'DISCOVERY_FAILED' })
  })
})
