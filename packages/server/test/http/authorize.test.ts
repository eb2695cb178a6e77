/**
 * The authorization endpoint over HTTP (SECURITY.md 1–4, 8; security checklist §1.1–1.4, 1.6, 1.7,
 * 3.1 and the BI-* rows that concern /authorize). Where an error goes is the heart of it: until the
 * client and its redirect URI are trusted, an HTML page and never a Location; after, a redirect
 * with `error`, `state` and `iss` only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  Browser,
  authorize,
  authorizeQuery,
  basicAuth,
  hiddenInput,
  locationOf,
  pkcePair,
  postForm,
  startServer,
  type TestClient,
  type TestServer,
} from '../harness.js'

// RFC 6749 §5.2 / checklist AZ-18: the characters error_description may use.
const DESCRIPTION_CHARSET = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/
// RFC 6749 §4.1.2.1 / checklist AZ-17: all an error response may carry (besides the client's own query).
const ERROR_PARAMS = ['error', 'error_description', 'error_uri', 'state', 'iss']

const CHALLENGE = pkcePair().challenge

/** An authorization query with a valid S256 challenge unless overridden (`undefined` drops a parameter). */
function query(client: TestClient, overrides: Record<string, string | undefined> = {}): string {
  return authorizeQuery(client, { code_challenge: CHALLENGE, ...overrides })
}

function get(server: TestServer, search: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}/authorize?${search}`, { redirect: 'manual', headers })
}

/** RFC 6749 §4.1.2.1: the error page shown instead of redirecting to an untrusted URI. */
async function expectErrorPage(response: Response): Promise<string> {
  expect(response.status).toBe(400)
  expect(response.headers.get('location')).toBeNull()
  expect(response.headers.get('content-type')).toMatch(/^text\/html/)
  expect(response.headers.get('cache-control')).toBe('no-store')
  expect(response.headers.get('x-frame-options')).toBe('DENY')
  expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
  const html = await response.text()
  expect(html).not.toMatch(/http-equiv\s*=\s*"?refresh/i)
  // No inline script: a page with a passkey form loads the server's own script files, nothing else.
  expect(html.replace(/<script src="\/assets\/(?:webauthn|passkeys)\.js\?v=[\w-]{12}" defer><\/script>/g, '')).not.toMatch(/<script/i)
  return html
}

/** The prefix every response to this redirect URI starts with: its own query is kept (RFC 6749 §3.1.2). */
const responsePrefix = (redirectUri: string) => `${redirectUri}${redirectUri.includes('?') ? '&' : '?'}`

/** The client's own query parameters of a registered redirect URI. */
const ownParams = (redirectUri: string) => [...new URL(redirectUri).searchParams.keys()]

/** An error redirect (RFC 6749 §4.1.2.1, RFC 9207 §2): only error, error_description, state, iss. */
function expectErrorRedirect(
  server: TestServer,
  response: Response,
  redirectUri: string,
  error: string,
  state: string | undefined,
  status = 302,
): URLSearchParams {
  expect(response.status).toBe(status)
  const location = response.headers.get('location') ?? ''
  expect(location.startsWith(responsePrefix(redirectUri)), location).toBe(true)
  expect(location).not.toMatch(/[\r\n#]/)
  const params = new URL(location).searchParams
  expect(params.get('error')).toBe(error)
  expect(params.get('iss')).toBe(server.url)
  if (state === undefined) expect(params.has('state')).toBe(false)
  else expect(params.get('state')).toBe(state)
  const allowed = [...ERROR_PARAMS, ...ownParams(redirectUri)]
  for (const key of params.keys()) expect(allowed).toContain(key)
  expect(params.getAll('error')).toHaveLength(1)
  expect(params.getAll('iss')).toHaveLength(1)
  expect(params.get('error_description') ?? '').toMatch(DESCRIPTION_CHARSET)
  return params
}

/** A successful authorization response (RFC 6749 §4.1.2, RFC 9207 §2). */
function expectCodeRedirect(server: TestServer, response: Response, redirectUri: string, state: string | undefined, status = 302): string {
  expect(response.status).toBe(status)
  const location = response.headers.get('location') ?? ''
  expect(location.startsWith(responsePrefix(redirectUri)), location).toBe(true)
  expect(location).not.toMatch(/[\r\n#]/)
  // RFC 9700 §4.2.4: the code must not leak through a Referer; the response is not cached.
  expect(response.headers.get('referrer-policy')).toBe('no-referrer')
  expect(response.headers.get('cache-control')).toBe('no-store')
  const params = new URL(location).searchParams
  expect(params.has('error')).toBe(false)
  expect(params.get('iss')).toBe(server.url)
  if (state === undefined) expect(params.has('state')).toBe(false)
  else expect(params.get('state')).toBe(state)
  const code = params.get('code') ?? ''
  expect(code).toMatch(/^[\w-]{43}$/)
  return code
}

/** The request was accepted and the user is sent to the login or consent page (no redirect to the client). */
function expectInteraction(server: TestServer, response: Response): string {
  expect(response.status).toBe(303)
  const next = locationOf(response, server.url)
  expect(next.startsWith(`${server.url}/interaction/`), next).toBe(true)
  return next
}

/** A browser signed in as `user` that has consented to `client` for `openid profile email`. */
async function signedIn(server: TestServer, client: TestClient, user: { username: string; password: string }): Promise<Browser> {
  const browser = new Browser()
  const { callback } = await authorize(server, browser, query(client), user)
  expect(callback?.searchParams.get('code')).toMatch(/^[\w-]{43}$/)
  return browser
}

function idTokenClaims(idToken: unknown): Record<string, unknown> {
  const payload = String(idToken).split('.')[1] ?? ''
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>
}

describe('the authorization endpoint', () => {
  let server: TestServer
  let user: { id: string; username: string; password: string }
  /** Confidential, `https://rp.test/cb` (checklist C1). */
  let c1: TestClient
  /** Public web client (P1). */
  let p1: TestClient
  /** Public native client with a loopback redirect URI (N1). */
  let n1: TestClient
  /** Two registered redirect URIs (M1). */
  let m1: TestClient
  /** A registered redirect URI with a query (Q1). */
  let q1: TestClient
  let c1Browser: Browser

  beforeAll(async () => {
    server = await startServer()
    user = await server.addUser()
    c1 = await server.addClient({ name: 'C1' })
    p1 = await server.addClient({ name: 'P1', isPublic: true, redirectUris: ['https://app.test/cb'] })
    n1 = await server.addClient({ name: 'N1', isPublic: true, redirectUris: ['http://127.0.0.1/cb', 'http://[::1]:8080/cb'] })
    m1 = await server.addClient({ name: 'M1', redirectUris: ['https://rp.test/cb', 'https://rp.test/cb2'] })
    q1 = await server.addClient({ name: 'Q1', redirectUris: ['https://rp.test/cb?tenant=a'] })
    c1Browser = await signedIn(server, c1, user)
  })
  afterAll(() => server.close())

  describe('RFC 6749 §4.1.2.1: client_id and redirect_uri are checked first, and failures are never redirected', () => {
    it('RFC 6749 §4.1.2.1: a missing client_id shows an error page, never redirects (RU-18)', async () => {
      await expectErrorPage(await get(server, query(c1, { client_id: undefined })))
      await expectErrorPage(await get(server, query(c1, { client_id: '' })))
    })

    it('RFC 6749 §4.1.2.1: an unknown client_id shows an error page, never redirects (RU-17)', async () => {
      const html = await expectErrorPage(await get(server, query(c1, { client_id: 'unknown', redirect_uri: 'https://evil.test/cb' })))
      expect(html).not.toContain('evil.test')
    })

    it('RFC 6749 §3.1: client_id or redirect_uri given twice shows an error page (AZ-09, BI-01)', async () => {
      await expectErrorPage(await get(server, `${query(c1)}&client_id=${c1.clientId}`))
      await expectErrorPage(await get(server, `${query(c1)}&redirect_uri=${encodeURIComponent(c1.redirectUri)}`))
    })

    const unregistered = [
      ['RU-01 another path', 'https://rp.test/callback/x'],
      ['RU-01 an added path', 'https://rp.test/cb/x'],
      ['RU-02 a trailing slash', 'https://rp.test/cb/'],
      ['RU-03 host case', 'https://RP.test/cb'],
      ['RU-03 scheme case', 'HTTPS://rp.test/cb'],
      ['RU-03 path case', 'https://rp.test/CB'],
      ['RU-04 the default port', 'https://rp.test:443/cb'],
      ['RU-05 an added query', 'https://rp.test/cb?x=1'],
      ['RU-05 an empty query', 'https://rp.test/cb?'],
      ['RU-06 a fragment', 'https://rp.test/cb#frag'],
      ['RU-06 an empty fragment', 'https://rp.test/cb#'],
      ['RU-07 a percent-encoded character', 'https://rp.test/c%62'],
      ['RU-07 an encoded traversal', 'https://rp.test/cb%2F..%2Fevil'],
      ['RU-07 a dot segment', 'https://rp.test/cb/../cb'],
      ['RU-07 a leading dot segment', 'https://rp.test/./cb'],
      ['RU-08 a suffix domain', 'https://rp.test.evil.com/cb'],
      ['RU-08 userinfo', 'https://rp.test@evil.com/cb'],
      ['RU-08 the URI in a query', 'https://evil.com/?https://rp.test/cb'],
      ['RU-08 a backslash', 'https://rp.test\\@evil.com/cb'],
      ['RU-09 a homoglyph host', 'https://rр.test/cb'],
      ['RU-09 punycode', 'https://xn--r-dmc.test/cb'],
      ['RU-09 full-width scheme', 'ｈｔｔｐｓ://rp.test/cb'],
      ['RU-10 a scheme downgrade', 'http://rp.test/cb'],
      ['BI-11 a trailing dot host', 'https://rp.test./cb'],
      ['BI-11 scheme-relative', '//rp.test/cb'],
      ['BI-11 relative', '/cb'],
      ['BI-11 javascript:', 'javascript:alert(1)//https://rp.test/cb'],
      ['BI-11 data:', 'data:text/html,<script>alert(1)</script>'],
      ['UI-04 markup', 'https://rp.test/cb"><script>alert(1)</script>'],
      ['BI-11 double-encoded', 'https%3A%2F%2Frp.test%2Fcb'],
      ['BI-11 a space', ' https://rp.test/cb'],
    ] as const

    it.each(unregistered)('RFC 9700 §4.1.3: an unregistered redirect_uri (%s) shows an error page, never redirects', async (_name, uri) => {
      const html = await expectErrorPage(await get(server, query(c1, { redirect_uri: uri })))
      expect(html).not.toContain(uri)
      expect(html).not.toContain('evil.com')
    })

    it('RFC 9700 §4.1.3: an unregistered redirect_uri in a POST shows an error page (RU-01)', async () => {
      const response = await postForm(`${server.url}/authorize`, Object.fromEntries(new URLSearchParams(query(c1, { redirect_uri: 'https://rp.test/cb/' }))))
      await expectErrorPage(response)
    })

    it('RFC 6749 §3.1: malformed percent-encoding shows an error page before anything is trusted (BI-07)', async () => {
      for (const bad of ['%FF', '%C3%28', '%C0%AF', '%ED%A0%80', '%E2%82', '%G1', '%']) {
        await expectErrorPage(await get(server, `${query(c1)}&state=${bad}`))
      }
    })

    it('RFC 6749 §10.14: control characters in client_id or redirect_uri show an error page (BI-08)', async () => {
      for (const uri of [`${c1.redirectUri}\u0000`, `${c1.redirectUri}\n`, `${c1.redirectUri}\r\nLocation: ${'https://evil.test'}`, `${c1.redirectUri}\t`]) {
        const response = await get(server, query(c1, { redirect_uri: uri }))
        expect(response.headers.get('location')).toBeNull()
        await expectErrorPage(response)
      }
      await expectErrorPage(await get(server, query(c1, { client_id: `${c1.clientId}\u0000` })))
    })

    it('RFC 6749 §3.1: oversized requests are refused with a page, not redirected (BI-04)', async () => {
      await expectErrorPage(await get(server, query(c1, { redirect_uri: `${c1.redirectUri}?${'x'.repeat(9000)}` })))
      const many = Array.from({ length: 101 }, (_, i) => `p${i}=1`).join('&')
      await expectErrorPage(await get(server, `${query(c1)}&${many}`))
      const huge = await get(server, query(c1, { redirect_uri: `${c1.redirectUri}?${'x'.repeat(64 * 1024)}` }))
      expect(huge.status).toBeGreaterThanOrEqual(400)
      expect(huge.status).toBeLessThan(500)
      expect(huge.headers.get('location')).toBeNull()
    })

    it('RFC 8252 §7.1: a private-use scheme redirect URI is matched exactly', async () => {
      const app = await server.addClient({ name: 'Native app', isPublic: true, redirectUris: ['com.example.app:/oauth2redirect'] })
      expectInteraction(server, await get(server, query(app)))
      for (const uri of ['com.example.app:/oauth2redirect/x', 'com.example.app://oauth2redirect', 'COM.example.app:/oauth2redirect', 'com.example.app:/oauth2redirect?x=1', 'com.example.evil:/oauth2redirect']) {
        await expectErrorPage(await get(server, query(app, { redirect_uri: uri })))
      }
    })

    it('RFC 6749 §4.1.2.1: the redirect URI is checked before any other error (RU-20)', async () => {
      const bad = 'https://rp.test/evil'
      await expectErrorPage(await get(server, query(c1, { redirect_uri: bad, scope: 'nonexistent' })))
      await expectErrorPage(await get(server, query(c1, { redirect_uri: bad, prompt: 'bogus' })))
      await expectErrorPage(await get(server, query(c1, { redirect_uri: bad, response_type: 'token' })))
      await expectErrorPage(await get(server, query(c1, { redirect_uri: bad, code_challenge: undefined })))
      await expectErrorPage(await get(server, `${query(c1, { redirect_uri: bad })}&state=again`))
      await expectErrorPage(await get(server, query(c1, { client_id: 'unknown', scope: 'nonexistent' })))
    })

    it('OAuth 2.1 §2.3.2: a client with several redirect URIs must send one (RU-13)', async () => {
      await expectErrorPage(await get(server, query(m1, { redirect_uri: undefined })))
      await expectErrorPage(await get(server, query(m1, { redirect_uri: '' })))
      expectInteraction(server, await get(server, query(m1, { redirect_uri: 'https://rp.test/cb2' })))
    })

    it('OAuth 2.1 §2.3.2: a client with one redirect URI may omit it, and the registered one is used (RU-14)', async () => {
      const response = await c1Browser.get(`${server.url}/authorize?${query(c1, { redirect_uri: undefined })}`)
      expectCodeRedirect(server, response, c1.redirectUri, 'S1')
    })

    it('RFC 6749 §3.1.2: a registered query must match exactly (RU-11)', async () => {
      await expectErrorPage(await get(server, query(q1, { redirect_uri: 'https://rp.test/cb?tenant=b' })))
      await expectErrorPage(await get(server, query(q1, { redirect_uri: 'https://rp.test/cb' })))
      await expectErrorPage(await get(server, query(q1, { redirect_uri: 'https://rp.test/cb?tenant=a&tenant=b' })))
      await expectErrorPage(await get(server, query(q1, { redirect_uri: 'https://rp.test/cb?tenant=a&x=1' })))
    })

    it('RFC 6749 §3.1.2: a registered query is kept and the response parameters added to it (RU-12)', async () => {
      const browser = new Browser()
      const { callback, response } = await authorize(server, browser, query(q1), user)
      expectCodeRedirect(server, response, q1.redirectUri, 'S1', 303)
      expect(callback?.searchParams.get('tenant')).toBe('a')
      // Errors too keep it.
      const error = await get(server, query(q1, { scope: 'nonexistent' }))
      expect(expectErrorRedirect(server, error, q1.redirectUri, 'invalid_scope', 'S1').get('tenant')).toBe('a')
    })

    it('RFC 8252 §7.3: a public native client may use any port on its loopback redirect URI (RU-15)', async () => {
      const browser = new Browser()
      const { response } = await authorize(server, browser, query(n1, { redirect_uri: 'http://127.0.0.1:51004/cb' }), user)
      expectCodeRedirect(server, response, 'http://127.0.0.1:51004/cb', 'S1', 303)
      // The same browser, now signed in and consented: the port may change from one request to the next.
      expectCodeRedirect(server, await browser.get(`${server.url}/authorize?${query(n1, { redirect_uri: 'http://127.0.0.1/cb' })}`), 'http://127.0.0.1/cb', 'S1')
      expectCodeRedirect(server, await browser.get(`${server.url}/authorize?${query(n1, { redirect_uri: 'http://127.0.0.1:1/cb' })}`), 'http://127.0.0.1:1/cb', 'S1')
      expectCodeRedirect(server, await browser.get(`${server.url}/authorize?${query(n1, { redirect_uri: 'http://[::1]:3000/cb' })}`), 'http://[::1]:3000/cb', 'S1')
    })

    it.each([
      'http://127.0.0.1:51004/cb2',
      'http://127.0.0.1:51004/cb/',
      'http://127.0.0.1:51004/cb?x=1',
      'http://127.0.0.1:51004/cb#x',
      'http://127.0.0.1:51004/CB',
      'http://127.0.0.2:51004/cb',
      'http://localhost:51004/cb',
      'http://127.0.0.1.evil.com/cb',
      'http://127.0.0.1:51004@evil.com/cb',
      'http://127.0.0.1:51004.evil.com/cb',
      'https://127.0.0.1:51004/cb',
      'HTTP://127.0.0.1:51004/cb',
      'http://[::1]:3000/cb2',
      'http://[::1]:3000/CB',
      'http://127.0.0.1:3000/CB',
    ])('RFC 8252 §7.3: only the port of a loopback redirect URI may vary, not %s (RU-16)', async (uri) => {
      await expectErrorPage(await get(server, query(n1, { redirect_uri: uri })))
    })

    it('RFC 8252 §7.3: a confidential client gets no port variation on a loopback redirect URI', async () => {
      const loopback = await server.addClient({ name: 'Loopback web', redirectUris: ['http://127.0.0.1:8080/cb'] })
      await expectErrorPage(await get(server, query(loopback, { redirect_uri: 'http://127.0.0.1:8081/cb' })))
      await expectErrorPage(await get(server, query(loopback, { redirect_uri: 'http://127.0.0.1/cb' })))
      expectInteraction(server, await get(server, query(loopback)))
    })

    it('RFC 9700 §2.1: a public web client gets exact matching only', async () => {
      await expectErrorPage(await get(server, query(p1, { redirect_uri: 'https://app.test:8443/cb' })))
      expectInteraction(server, await get(server, query(p1)))
    })
  })

  describe('RFC 6749 §4.1.1: the request itself', () => {
    it('RFC 6749 §4.1.2: happy authz via GET returns a code with state and iss (AZ-01, IS-01)', async () => {
      const response = await c1Browser.get(`${server.url}/authorize?${query(c1)}`)
      expectCodeRedirect(server, response, c1.redirectUri, 'S1')
    })

    it('OIDC Core §3.1.2.1: happy authz via POST answers 303 (AZ-02)', async () => {
      const form = Object.fromEntries(new URLSearchParams(query(c1)))
      expectCodeRedirect(server, await c1Browser.post(`${server.url}/authorize`, form), c1.redirectUri, 'S1', 303)
      // Parameters may also come in the query of a POST.
      const response = await c1Browser.post(`${server.url}/authorize?${query(c1)}`, {})
      expectCodeRedirect(server, response, c1.redirectUri, 'S1', 303)
      // And without a session, the POST leads to the login page too.
      expectInteraction(server, await postForm(`${server.url}/authorize`, form))
    })

    it('OAuth 2.1 §3.1: unrecognized parameters are ignored (AZ-03)', async () => {
      const response = await c1Browser.get(`${server.url}/authorize?${query(c1)}&extra=foobar&extra=again&ui_locales=fr&claims_locales=de&display=page`)
      expectCodeRedirect(server, response, c1.redirectUri, 'S1')
    })

    it('RFC 6749 §3.3: scope order and parameter order do not matter (AZ-04)', async () => {
      const search = new URLSearchParams({
        state: 'S1',
        code_challenge: CHALLENGE,
        scope: 'profile openid',
        redirect_uri: c1.redirectUri,
        code_challenge_method: 'S256',
        client_id: c1.clientId,
        response_type: 'code',
      })
      expectCodeRedirect(server, await c1Browser.get(`${server.url}/authorize?${search.toString()}`), c1.redirectUri, 'S1')
    })

    it('RFC 6749 §4.1.2.1: a missing response_type is invalid_request, with state and iss (AZ-05)', async () => {
      expectErrorRedirect(server, await get(server, query(c1, { response_type: undefined })), c1.redirectUri, 'invalid_request', 'S1')
    })

    it.each(['token', 'id_token token', 'code id_token', 'code token', 'CODE', 'code '])(
      'OAuth 2.1 §4.1.1: response_type=%s is unsupported_response_type, and no token is sent (AZ-06)',
      async (responseType) => {
        const response = await c1Browser.get(`${server.url}/authorize?${query(c1, { response_type: responseType })}`)
        const params = expectErrorRedirect(server, response, c1.redirectUri, 'unsupported_response_type', 'S1')
        expect(params.has('access_token')).toBe(false)
        expect(params.has('id_token')).toBe(false)
      },
    )

    it('RFC 6749 §4.1.2.1: a client not registered for the code grant is unauthorized_client (AZ-07)', async () => {
      const record = { ...c1.record, clientId: 'refresh-only', name: 'Refresh only', grantTypes: ['refresh_token' as const] }
      await server.store.createClient(record)
      const client: TestClient = { ...c1, record, clientId: record.clientId }
      expectErrorRedirect(server, await get(server, query(client)), client.redirectUri, 'unauthorized_client', 'S1')
    })

    it.each([
      ['a scope the server does not offer', 'openid nonexistent'],
      ['a missing scope', undefined],
      ['an empty scope', ''],
      ['a double space', 'openid  profile'],
      ['a leading space', ' openid'],
      ['a trailing space', 'openid '],
      ['a quote', 'openid "profile"'],
      ['a backslash', 'openid pro\\file'],
      ['non-ASCII', 'openid prófile'],
      ['a case difference', 'openid Profile'],
    ])('RFC 6749 §3.3: %s is invalid_scope (AZ-08, BI-12)', async (_name, scope) => {
      expectErrorRedirect(server, await get(server, query(c1, { scope })), c1.redirectUri, 'invalid_scope', 'S1')
    })

    it('RFC 6749 §3.3: a scope the client is not registered for is invalid_scope, even with a session (AZ-08)', async () => {
      const narrow = await server.addClient({ name: 'Narrow', scope: 'openid profile' })
      expectErrorRedirect(server, await c1Browser.get(`${server.url}/authorize?${query(narrow, { scope: 'openid email' })}`), narrow.redirectUri, 'invalid_scope', 'S1')
      expectInteraction(server, await get(server, query(narrow, { scope: 'openid profile' })))
    })

    it('RFC 6749 §3.1: too many scope values is invalid_scope (BI-04)', async () => {
      const scope = Array.from({ length: 101 }, () => 'openid').join(' ')
      expectErrorRedirect(server, await get(server, query(c1, { scope })), c1.redirectUri, 'invalid_scope', 'S1')
    })

    it.each(['state', 'scope', 'response_type', 'code_challenge', 'code_challenge_method', 'nonce', 'prompt', 'max_age', 'login_hint'])(
      'OAuth 2.1 §3.1: %s given twice is invalid_request, and a repeated state is not echoed (AZ-09, BI-01)',
      async (name) => {
        const once = query(c1, { prompt: 'login', max_age: '60', login_hint: 'x' })
        const value = new URLSearchParams(once).get(name) ?? ''
        const search = `${once}&${name}=${encodeURIComponent(value)}`
        const response = await c1Browser.get(`${server.url}/authorize?${search}`)
        expectErrorRedirect(server, response, c1.redirectUri, 'invalid_request', name === 'state' ? undefined : 'S1')
      },
    )

    it('OAuth 2.1 §3.1: a parameter in both the query and the body of a POST counts twice (BI-01)', async () => {
      const form = Object.fromEntries(new URLSearchParams(query(c1, { state: undefined })))
      const both = await c1Browser.post(`${server.url}/authorize?state=S1`, { ...form, state: 'S1' })
      expectErrorRedirect(server, both, c1.redirectUri, 'invalid_request', undefined, 303)
      const scope = await c1Browser.post(`${server.url}/authorize?scope=openid`, { ...form, state: 'S1' })
      expectErrorRedirect(server, scope, c1.redirectUri, 'invalid_request', 'S1', 303)
      await expectErrorPage(await c1Browser.post(`${server.url}/authorize?client_id=${c1.clientId}`, form))
      await expectErrorPage(await c1Browser.post(`${server.url}/authorize?redirect_uri=${encodeURIComponent(c1.redirectUri)}`, form))
    })

    it('RFC 6749 §3.1: a POST whose body is not form-encoded is refused without a redirect (BI-05)', async () => {
      const response = await fetch(`${server.url}/authorize`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(Object.fromEntries(new URLSearchParams(query(c1)))),
      })
      await expectErrorPage(response)
    })

    it('RFC 6749 §3.1: structured parameter names are taken literally (BI-09)', async () => {
      const search = query(c1, { client_id: undefined })
      await expectErrorPage(await get(server, `${search}&client_id[]=${c1.clientId}`))
      const magic = await get(server, `${query(c1, { scope: undefined })}&scope[]=openid&__proto__[admin]=1`)
      expectErrorRedirect(server, magic, c1.redirectUri, 'invalid_scope', 'S1')
    })

    it('OIDC Core §6: request objects are refused, never silently ignored (AZ-16)', async () => {
      const jwt = 'eyJhbGciOiJub25lIn0.eyJzdGF0ZSI6IlMyIn0.'
      expectErrorRedirect(server, await c1Browser.get(`${server.url}/authorize?${query(c1, { request: jwt })}`), c1.redirectUri, 'request_not_supported', 'S1')
      expectErrorRedirect(
        server,
        await c1Browser.get(`${server.url}/authorize?${query(c1, { request_uri: 'https://rp.test/request.jwt' })}`),
        c1.redirectUri,
        'request_uri_not_supported',
        'S1',
      )
    })

    it('RFC 9700 §2.6: no CORS at the authorization endpoint (AZ-11)', async () => {
      const response = await get(server, query(c1), { origin: 'https://evil.test' })
      expect(response.headers.get('access-control-allow-origin')).toBeNull()
      expect(response.headers.get('access-control-allow-credentials')).toBeNull()
      const preflight = await fetch(`${server.url}/authorize`, {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.test', 'access-control-request-method': 'POST' },
      })
      expect(preflight.status).toBe(405)
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull()
      expect(preflight.headers.get('access-control-allow-methods')).toBeNull()
    })

    it.each(['PUT', 'DELETE', 'PATCH', 'HEAD'])('RFC 9110 §15.5.6: %s /authorize is 405 and has no effect (BI-14)', async (method) => {
      const response = await fetch(`${server.url}/authorize?${query(c1)}`, { method, redirect: 'manual' })
      expect(response.status).toBe(405)
      expect(response.headers.get('allow')).toMatch(/GET, POST/)
      expect(response.headers.get('location')).toBeNull()
      expect(response.headers.getSetCookie()).toEqual([])
    })
  })

  describe('RFC 7636 §4 / OAuth 2.1 §4.1.1: PKCE', () => {
    it('OAuth 2.1 §4.1.1: a public client without code_challenge is invalid_request (PK-01)', async () => {
      expectErrorRedirect(server, await get(server, query(p1, { code_challenge: undefined })), p1.redirectUri, 'invalid_request', 'S1')
      expectErrorRedirect(
        server,
        await get(server, query(p1, { code_challenge: undefined, code_challenge_method: undefined })),
        p1.redirectUri,
        'invalid_request',
        'S1',
      )
      expectErrorRedirect(server, await get(server, query(p1, { code_challenge: '' })), p1.redirectUri, 'invalid_request', 'S1')
    })

    it('OAuth 2.1 §4.1.1: a confidential client without code_challenge is invalid_request by default (PK-02)', async () => {
      const response = await c1Browser.get(`${server.url}/authorize?${query(c1, { code_challenge: undefined, code_challenge_method: undefined })}`)
      expectErrorRedirect(server, response, c1.redirectUri, 'invalid_request', 'S1')
    })

    it('OAuth 2.1 §4.1.1: a confidential client registered pkceOptional may omit PKCE (PK-02)', async () => {
      const optional = await server.addClient({ name: 'No PKCE', pkceOptional: true })
      const browser = new Browser()
      const { response } = await authorize(server, browser, query(optional, { code_challenge: undefined, code_challenge_method: undefined }), user)
      const code = expectCodeRedirect(server, response, optional.redirectUri, 'S1', 303)
      // The exemption is not a downgrade: a verifier for this code is refused (PK-11).
      const downgrade = await postForm(
        `${server.url}/token`,
        { grant_type: 'authorization_code', code, redirect_uri: optional.redirectUri, code_verifier: pkcePair().verifier },
        { authorization: basicAuth(optional.clientId, optional.secret ?? '') },
      )
      expect(downgrade.status).toBe(400)
      // When it does send PKCE, the rules still apply.
      expectErrorRedirect(server, await get(server, query(optional, { code_challenge_method: 'plain' })), optional.redirectUri, 'invalid_request', 'S1')
    })

    it.each(['plain', 'S512', 's256', 'S256 ', 'sha256'])('RFC 9700 §2.1.1: code_challenge_method=%s is invalid_request (PK-03, PK-04)', async (method) => {
      expectErrorRedirect(server, await get(server, query(p1, { code_challenge_method: method })), p1.redirectUri, 'invalid_request', 'S1')
    })

    it('RFC 7636 §4.3: code_challenge_method without code_challenge is invalid_request (PK-05)', async () => {
      expectErrorRedirect(server, await get(server, query(p1, { code_challenge: undefined })), p1.redirectUri, 'invalid_request', 'S1')
    })

    it.each([
      ['42 characters', 'a'.repeat(42)],
      ['129 characters', 'a'.repeat(129)],
      ['a plus', `${'a'.repeat(42)}+`],
      ['a slash', `${'a'.repeat(42)}/`],
      ['padding', `${CHALLENGE}=`],
      ['a space', `${'a'.repeat(21)} ${'a'.repeat(21)}`],
      ['non-ASCII', `${'a'.repeat(42)}é`],
    ])('RFC 7636 §4.2: a code_challenge with %s is invalid_request (PK-06, BI-16)', async (_name, challenge) => {
      expectErrorRedirect(server, await get(server, query(p1, { code_challenge: challenge })), p1.redirectUri, 'invalid_request', 'S1')
    })

    it('RFC 7636 §4.2: code_challenge of 43 and 128 unreserved characters is accepted (BI-16)', async () => {
      expectInteraction(server, await get(server, query(p1, { code_challenge: 'A-._~'.repeat(8) + 'abc' })))
      expectInteraction(server, await get(server, query(p1, { code_challenge: 'z'.repeat(128) })))
    })

    it('RFC 7636 §4.3: code_challenge without code_challenge_method is refused, never taken as S256 (PK-07)', async () => {
      expectErrorRedirect(server, await get(server, query(p1, { code_challenge_method: undefined })), p1.redirectUri, 'invalid_request', 'S1')
      expectErrorRedirect(server, await get(server, query(p1, { code_challenge_method: '' })), p1.redirectUri, 'invalid_request', 'S1')
    })
  })

  describe('RFC 6749 §4.1.2 / §10.14: state is returned byte for byte', () => {
    it('RFC 6749 §4.1.2: a state with reserved characters comes back exactly, percent-encoded (ST-01)', async () => {
      const state = 'a&b=c#d e+"<x>€'
      const response = await c1Browser.get(`${server.url}/authorize?${query(c1, { state })}`)
      expectCodeRedirect(server, response, c1.redirectUri, state)
      const raw = response.headers.get('location') ?? ''
      expect(raw).toMatch(/^[\x21-\x7E]+$/)
      expect(raw).toContain('state=a%26b%3Dc%23d+e%2B%22%3Cx%3E%E2%82%AC&')
      // The same in an error response.
      const error = await get(server, query(c1, { state, scope: 'nonexistent' }))
      expectErrorRedirect(server, error, c1.redirectUri, 'invalid_scope', state)
    })

    it('RFC 6749 §4.1.2: a state of 1 KiB and 4 KiB is echoed whole (ST-02)', async () => {
      for (const length of [1024, 4096]) {
        const state = `${'x'.repeat(length - 5)}%&=éz`
        expectCodeRedirect(server, await c1Browser.get(`${server.url}/authorize?${query(c1, { state })}`), c1.redirectUri, state)
      }
    })

    it('RFC 6749 §4.1.2: an oversized state is refused, neither truncated nor a server error (ST-02, BI-04)', async () => {
      const response = await c1Browser.get(`${server.url}/authorize?${query(c1, { state: 'x'.repeat(9000) })}`)
      expect(response.status).toBeGreaterThanOrEqual(400)
      expect(response.status).toBeLessThan(500)
      expect(response.headers.get('location')).toBeNull()
    })

    it('RFC 6749 §4.1.2: without a state, or with an empty one, the response has none (ST-03, AZ-10)', async () => {
      expectCodeRedirect(server, await c1Browser.get(`${server.url}/authorize?${query(c1, { state: undefined })}`), c1.redirectUri, undefined)
      expectCodeRedirect(server, await c1Browser.get(`${server.url}/authorize?${query(c1, { state: '' })}`), c1.redirectUri, undefined)
      expectErrorRedirect(server, await get(server, query(c1, { state: '', scope: 'nonexistent' })), c1.redirectUri, 'invalid_scope', undefined)
    })

    it('RFC 6749 §10.14: CR LF in state cannot inject a header (ST-04, BI-08)', async () => {
      for (const send of [
        () => c1Browser.get(`${server.url}/authorize?${query(c1)}&state=x%0D%0ASet-Cookie:%20injected=1`),
        () => c1Browser.post(`${server.url}/authorize`, { ...Object.fromEntries(new URLSearchParams(query(c1))), state: 'x\r\nSet-Cookie: injected=1' }),
      ]) {
        const response = await send()
        expect(response.status).toBeLessThan(500)
        expect(response.headers.getSetCookie().some((cookie) => cookie.startsWith('injected'))).toBe(false)
        const location = response.headers.get('location')
        // Either refused outright (a page), or percent-encoded in a single-line Location.
        if (location === null) await expectErrorPage(response)
        else expect(location).toMatch(/^[\x21-\x7E]+$/)
      }
    })
  })

  describe('RFC 9207 §2: iss in every authorization response', () => {
    it('RFC 9207 §2: iss equals the metadata issuer in success and every error (IS-01, IS-02)', async () => {
      const metadata = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>
      expect(metadata.issuer).toBe(server.url)
      expect(metadata.authorization_response_iss_parameter_supported).toBe(true)
      expect(metadata.code_challenge_methods_supported).toEqual(['S256'])

      const success = await c1Browser.get(`${server.url}/authorize?${query(c1)}`)
      expect(new URL(success.headers.get('location') ?? '').searchParams.get('iss')).toBe(metadata.issuer)
      expectErrorRedirect(server, await get(server, query(c1, { scope: 'nonexistent' })), c1.redirectUri, 'invalid_scope', 'S1')
      expectErrorRedirect(server, await get(server, query(c1, { prompt: 'none' })), c1.redirectUri, 'login_required', 'S1')
      const { response } = await authorize(server, new Browser(), query(c1, { prompt: 'consent' }), user, 'deny')
      expectErrorRedirect(server, response, c1.redirectUri, 'access_denied', 'S1', 303)
    })
  })

  describe('OIDC Core §3.1.2.1: prompt, max_age and login_hint', () => {
    it('RFC 6749 §4.1.2.1: a user who denies gives access_denied with state and iss, and no code (AZ-13)', async () => {
      const { response } = await authorize(server, new Browser(), query(c1, { state: 'deny-me', prompt: 'consent' }), user, 'deny')
      expectErrorRedirect(server, response, c1.redirectUri, 'access_denied', 'deny-me', 303)
    })

    it('OIDC Core §3.1.2.6: prompt=none without a session is login_required, with no UI (AZ-15)', async () => {
      expectErrorRedirect(server, await get(server, query(c1, { prompt: 'none' })), c1.redirectUri, 'login_required', 'S1')
    })

    it('OIDC Core §3.1.2.6: prompt=none signed in but without consent is consent_required (OR-04)', async () => {
      const other = await server.addClient({ name: 'Never consented' })
      expectErrorRedirect(server, await c1Browser.get(`${server.url}/authorize?${query(other, { prompt: 'none' })}`), other.redirectUri, 'consent_required', 'S1')
    })

    it('OIDC Core §3.1.2.1: prompt=none signed in and consented returns a code without UI (UI-09)', async () => {
      expectCodeRedirect(server, await c1Browser.get(`${server.url}/authorize?${query(c1, { prompt: 'none' })}`), c1.redirectUri, 'S1')
    })

    it.each(['bogus', 'none login', 'none consent', 'login ', 'LOGIN'])('OIDC Core §3.1.2.1: prompt=%s is invalid_request', async (prompt) => {
      expectErrorRedirect(server, await c1Browser.get(`${server.url}/authorize?${query(c1, { prompt })}`), c1.redirectUri, 'invalid_request', 'S1')
    })

    it('OIDC Core §3.1.2.1: prompt=login forces a fresh login despite a session (UI-08)', async () => {
      const browser = await signedIn(server, c1, user)
      const page = await browser.get(expectInteraction(server, await browser.get(`${server.url}/authorize?${query(c1, { prompt: 'login' })}`)))
      expect(page.status).toBe(200)
      expect(await page.text()).toContain('action="/interaction/')
      // select_account alone asks for nothing more (one account per session).
      expectCodeRedirect(server, await browser.get(`${server.url}/authorize?${query(c1, { prompt: 'select_account' })}`), c1.redirectUri, 'S1')
    })

    it('OIDC Core §3.1.2.1: prompt=consent asks again although consent was given', async () => {
      const browser = await signedIn(server, c1, user)
      const next = expectInteraction(server, await browser.get(`${server.url}/authorize?${query(c1, { prompt: 'consent' })}`))
      const page = await (await browser.get(next)).text()
      expect(page).toContain('/consent"')
    })

    it('OIDC Core §3.1.2.1: max_age forces a new login once exceeded, and auth_time tells when (UI-07)', async () => {
      const browser = await signedIn(server, c1, user)
      server.clock.advance(120)
      // Within max_age: the session is used.
      expectCodeRedirect(server, await browser.get(`${server.url}/authorize?${query(c1, { max_age: '120' })}`), c1.redirectUri, 'S1')
      // Beyond it: the login page, or login_required with prompt=none.
      expectInteraction(server, await browser.get(`${server.url}/authorize?${query(c1, { max_age: '119' })}`))
      expectErrorRedirect(server, await browser.get(`${server.url}/authorize?${query(c1, { max_age: '60', prompt: 'none' })}`), c1.redirectUri, 'login_required', 'S1')

      const before = server.clock.now()
      const { verifier, challenge } = pkcePair()
      const { response } = await authorize(server, browser, query(c1, { max_age: '60', code_challenge: challenge }), user)
      const code = expectCodeRedirect(server, response, c1.redirectUri, 'S1', 303)
      const tokens = await postForm(
        `${server.url}/token`,
        { grant_type: 'authorization_code', code, redirect_uri: c1.redirectUri, code_verifier: verifier },
        { authorization: basicAuth(c1.clientId, c1.secret ?? '') },
      )
      expect(tokens.status).toBe(200)
      const claims = idTokenClaims(((await tokens.json()) as Record<string, unknown>).id_token)
      expect(claims.auth_time).toBe(before)
    })

    it('OIDC Core §3.1.2.1: max_age=0 is prompt=login', async () => {
      const browser = await signedIn(server, c1, user)
      expectInteraction(server, await browser.get(`${server.url}/authorize?${query(c1, { max_age: '0' })}`))
      expectErrorRedirect(server, await browser.get(`${server.url}/authorize?${query(c1, { max_age: '0', prompt: 'none' })}`), c1.redirectUri, 'login_required', 'S1')
    })

    it.each(['-1', 'abc', '1e3', '1.5', '9007199254740993', '1e309', ' 1'])('OIDC Core §3.1.2.1: max_age=%s is invalid_request (BI-10)', async (maxAge) => {
      expectErrorRedirect(server, await c1Browser.get(`${server.url}/authorize?${query(c1, { max_age: maxAge })}`), c1.redirectUri, 'invalid_request', 'S1')
    })

    it('OIDC Core §3.1.2.1: login_hint fills in the username, escaped', async () => {
      const browser = new Browser()
      const next = expectInteraction(server, await browser.get(`${server.url}/authorize?${query(c1, { login_hint: 'alice@example.test' })}`))
      const html = await (await browser.get(next)).text()
      expect(html).toMatch(/name="username"[^>]*value="alice@example.test"/)

      const hostile = new Browser()
      const hostileNext = expectInteraction(server, await hostile.get(`${server.url}/authorize?${query(c1, { login_hint: '"><script>alert(1)</script>' })}`))
      const hostileHtml = await (await hostile.get(hostileNext)).text()
      expect(hostileHtml).not.toContain('<script>')
      expect(hostileHtml).toMatch(/name="username"[^>]*value="&quot;&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;"/)
      expect(hiddenInput(hostileHtml, 'csrf')).toMatch(/^[\w-]{43}$/)
    })
  })
})
