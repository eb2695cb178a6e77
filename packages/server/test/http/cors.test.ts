/**
 * CORS for apps that run in a browser (issue #22; IETF OAuth 2.0 for Browser-Based Apps §6.1):
 * a public client's web origins (its http(s) redirect URIs' origins) may call /token, /revoke and
 * /par and read every answer, errors included; no other origin may read a token answer;
 * confidential clients get no CORS at all; discovery, JWKS and userinfo are readable from anywhere;
 * /authorize and the pages never answer with CORS headers; an Origin of any shape fails nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Browser, authorize, authorizeQuery, pkcePair, postForm, startServer, type TestClient, type TestServer } from '../harness.js'

const SPA = 'https://spa.test'

describe('CORS by client (issue #22)', () => {
  let server: TestServer
  let spa: TestClient
  let backend: TestClient
  let user: { username: string; password: string }
  beforeAll(async () => {
    server = await startServer()
    spa = await server.addClient({ name: 'SPA', redirectUris: [`${SPA}/callback`], isPublic: true })
    backend = await server.addClient({ name: 'Backend', redirectUris: ['https://backend.test/cb'] })
    user = await server.addUser()
  })
  afterAll(() => server.close())

  const preflight = (path: string, origin: string, method = 'POST', headers = 'content-type, dpop') =>
    fetch(`${server.url}${path}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers } })

  it('a preflight from a public client\'s web origin is granted for /token, /revoke and /par; others get no grant', async () => {
    for (const path of ['/token', '/revoke', '/par']) {
      const granted = await preflight(path, SPA)
      expect(granted.status).toBe(204)
      expect(granted.headers.get('access-control-allow-origin')).toBe(SPA)
      expect(granted.headers.get('access-control-allow-methods')).toBe('POST')
      expect(granted.headers.get('access-control-allow-headers')).toBe('content-type, authorization, dpop')
      expect(granted.headers.get('access-control-allow-credentials')).toBeNull()
      expect(granted.headers.get('vary')).toMatch(/Origin/)
      for (const refused of [await preflight(path, 'https://evil.test'), await preflight(path, 'https://backend.test'), await preflight(path, SPA, 'PUT'), await preflight(path, SPA, 'POST', 'x-custom')]) {
        expect(refused.status).toBe(204)
        expect(refused.headers.get('access-control-allow-origin')).toBeNull()
      }
    }
  })

  it('the token answer, success or error, is readable by the public client\'s origin only', async () => {
    const { verifier, challenge } = pkcePair()
    const { callback } = await authorize(server, new Browser(), authorizeQuery(spa, { code_challenge: challenge }), user)
    const form = { grant_type: 'authorization_code', code: callback?.searchParams.get('code') ?? '', redirect_uri: spa.redirectUri, code_verifier: verifier, client_id: spa.clientId }
    const ok = await postForm(`${server.url}/token`, form, { origin: SPA })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('access-control-allow-origin')).toBe(SPA)
    expect(ok.headers.get('access-control-expose-headers')).toBe('dpop-nonce, www-authenticate')
    const replay = await postForm(`${server.url}/token`, form, { origin: SPA })
    expect(replay.status).toBe(400)
    expect(replay.headers.get('access-control-allow-origin')).toBe(SPA)
    const stranger = await postForm(`${server.url}/token`, { ...form, code: 'x' }, { origin: 'https://evil.test' })
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('confidential clients get none, even from their own redirect URI\'s origin', async () => {
    const response = await postForm(`${server.url}/token`, { grant_type: 'authorization_code', code: 'x', client_id: backend.clientId }, { origin: 'https://backend.test' })
    expect(response.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('discovery, JWKS and userinfo are readable from any origin, without credentials', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server', '/jwks', '/userinfo']) {
      const response = await fetch(`${server.url}${path}`, { headers: { origin: 'https://anyone.test' } })
      expect(response.headers.get('access-control-allow-origin'), path).toBe('*')
      expect(response.headers.get('access-control-allow-credentials')).toBeNull()
    }
    const asked = await preflight('/userinfo', 'https://anyone.test', 'GET', 'authorization, dpop')
    expect(asked.status).toBe(204)
    expect(asked.headers.get('access-control-allow-origin')).toBe('*')
  })

  it('/authorize, the pages and introspection never answer with CORS headers', async () => {
    const authorizeAnswer = await fetch(`${server.url}/authorize?${authorizeQuery(spa, { code_challenge: pkcePair().challenge })}`, { headers: { origin: SPA }, redirect: 'manual' })
    expect(authorizeAnswer.headers.get('access-control-allow-origin')).toBeNull()
    const account = await fetch(`${server.url}/account`, { headers: { origin: SPA } })
    expect(account.headers.get('access-control-allow-origin')).toBeNull()
    const introspect = await preflight('/introspect', SPA)
    expect(introspect.headers.get('access-control-allow-origin')).toBeNull()
    expect(introspect.status).toBe(405)
  })

  it('an Origin of any shape fails nothing and grants nothing', async () => {
    for (const origin of ['null', '', 'https://spa.test/', 'https://spa.test/path', 'javascript:alert(1)', 'x'.repeat(5000), 'https://spa.test, https://evil.test', '\u00e9']) {
      const response = await preflight('/token', origin).catch(() => undefined)
      if (response === undefined) continue // a header fetch itself refuses to send
      expect(response.status).toBeLessThan(500)
      expect(response.headers.get('access-control-allow-origin')).toBeNull()
      const post = await postForm(`${server.url}/token`, { grant_type: 'authorization_code', code: 'x', client_id: spa.clientId }, { origin }).catch(() => undefined)
      if (post !== undefined) expect(post.status).toBeLessThan(500)
    }
  })
})
