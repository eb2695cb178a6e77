/**
 * SECURITY.md 24 and reference/security-checklist.md §4: bad input anywhere is a clear 4xx. Random
 * and adversarial requests (fast-check) at every endpoint, over a raw socket so that nothing is
 * cleaned up on the way, then fixed vectors for the categories that have an exact expectation.
 *
 * Every response must satisfy `expectSane`: no 5xx, no hang, no stack trace or internal error
 * text, no redirect anywhere but this server or a registered redirect URI (with `iss`), no injected
 * header; and the server still answers `/healthz` after each property.
 */
import fc from 'fast-check'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { authorize, authorizeQuery, basicAuth, Browser, hiddenInput, obtainTokens, pkcePair, postForm, startServer, type TestClient, type TestServer } from '../harness.js'
import { header, rawRequest, type RawRequest, type RawResponse } from '../raw-http.js'

const RUNS = 150
/** Object.prototype before any request: compared after the properties (BI-09). */
const PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype).sort()

let server: TestServer
let port: number
let confidential: TestClient
let publicNative: TestClient
let withQuery: TestClient
/** Tokens of three grants: one the back-channel properties may revoke, one for /userinfo, one for fixed vectors. */
let fuzzTokens: { access: string; refresh: string }
let bearerToken: string
let fixedAccessToken: string
let user: { username: string; password: string }

beforeAll(async () => {
  server = await startServer()
  port = server.config.port
  confidential = await server.addClient({ redirectUris: ['https://rp.test/cb'] })
  publicNative = await server.addClient({ redirectUris: ['http://127.0.0.1/cb'], isPublic: true })
  withQuery = await server.addClient({ redirectUris: ['https://rp.test/cb?tenant=1'] })
  user = await server.addUser()
  const grants = [await obtainTokens(server, confidential, user), await obtainTokens(server, confidential, user), await obtainTokens(server, confidential, user)]
  const [fuzz, bearer, fixed] = grants.map(({ tokens }) => ({ access: String(tokens.access_token), refresh: String(tokens.refresh_token) }))
  fuzzTokens = fuzz ?? { access: '', refresh: '' }
  bearerToken = bearer?.access ?? ''
  fixedAccessToken = fixed?.access ?? ''
})
afterAll(() => server.close())

afterEach(async () => {
  // The server keeps serving whatever came before.
  const health = await fetch(`${server.url}/healthz`)
  expect(health.status).toBe(200)
  expect(await health.json()).toEqual({ status: 'ok' })
})

// ---------------------------------------------------------------------------------------------
// What every response must satisfy.

const LOOPBACK = /^http:\/\/127\.0\.0\.1(?::\d{1,5})?\/cb(?:\?|$)/

/** True when `location` stays on this server or goes to a registered redirect URI of some client. */
function locationAllowed(location: string): boolean {
  if (/^\/(interaction|authorize\/resume)\/[0-9a-f-]{36}$/.test(location)) return true
  if (location.startsWith(`${server.url}/`)) return true
  for (const registered of [confidential.redirectUri, withQuery.redirectUri]) {
    if (location.startsWith(`${registered}${registered.includes('?') ? '&' : '?'}`)) return true
  }
  return LOOPBACK.test(location)
}

/** The checklist §4 universal rule for one response. */
function expectSane(response: RawResponse, what: string): void {
  const context = `${what}\n→ ${response.status} ${response.body.slice(0, 300)}`
  expect(response.status, context).toBeGreaterThanOrEqual(200)
  expect(response.status, context).toBeLessThan(500)
  // No stack trace, no internal error text, no framework default body.
  expect(response.body, context).not.toMatch(/\bError:|\n\s+at |node:internal|\.[cm]?[jt]s:\d+|FST_ERR|"statusCode"/)
  // No header injection (CR/LF in a parameter must never reach a header).
  expect(response.headers.has('x-injected'), context).toBe(false)
  for (const cookie of response.headers.get('set-cookie') ?? []) expect(cookie, context).toMatch(/^authcode_(session|browser|device)=/)
  if (response.status >= 300 && response.status < 400) {
    const location = header(response, 'location') ?? ''
    expect(locationAllowed(location), `redirect to ${location}\n${context}`).toBe(true)
    if (!location.startsWith('/') && !location.startsWith(server.url)) {
      // A redirect to the client: RFC 9207 iss always; an internal failure is never hidden in it.
      const params = new URL(location).searchParams
      expect(params.getAll('iss'), context).toEqual([server.url])
      expect(params.get('error'), context).not.toBe('server_error')
    }
  }
  const type = header(response, 'content-type') ?? ''
  if (response.status >= 400 && type.startsWith('application/json') && !what.startsWith('HEAD ')) {
    const body = JSON.parse(response.body) as { error?: unknown; error_description?: unknown }
    expect(typeof body.error, context).toBe('string')
    if (body.error_description !== undefined) expect(body.error_description, context).toMatch(/^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/)
  }
}

/**
 * `fc.assert` with a short report: the seed and path to replay, the counterexample and the error,
 * each cut to a readable length (values of several KiB are part of the input space).
 */
async function assertProperty<T>(property: fc.IAsyncPropertyWithHooks<T>, numRuns = RUNS): Promise<void> {
  const details = await fc.check(property, { numRuns })
  if (!details.failed) return
  const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text)
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)
  throw new Error(
    `property failed after ${details.numRuns} runs (seed ${details.seed}, path "${details.counterexamplePath ?? ''}")\n` +
      `${cut(error, 2000)}\ncounterexample: ${cut(fc.stringify(details.counterexample), 600)}`,
  )
}

async function send(request: RawRequest): Promise<RawResponse> {
  const what = `${request.method} ${String(request.target).slice(0, 200)} ${JSON.stringify(request.headers ?? []).slice(0, 200)} ${String(request.body ?? '').slice(0, 200)}`
  const response = await rawRequest(port, request)
  expectSane(response, what)
  return response
}

// ---------------------------------------------------------------------------------------------
// Generators.

/** Percent-encodes every byte of the UTF-8 form except the unreserved characters (lone surrogates become U+FFFD). */
const pct = (value: string): string =>
  [...Buffer.from(value, 'utf8')].map((b) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('')

const AUTHORIZE_NAMES = [
  'response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'nonce', 'code_challenge', 'code_challenge_method',
  'prompt', 'max_age', 'login_hint', 'request', 'request_uri', 'response_mode', 'claims', 'id_token_hint', 'display',
]
const TOKEN_NAMES = ['grant_type', 'code', 'redirect_uri', 'code_verifier', 'refresh_token', 'client_id', 'client_secret', 'scope', 'token', 'token_type_hint', 'access_token', 'resource']
const ADVERSARIAL_NAMES = [
  '__proto__', '__proto__[x]', '__proto__[admin]', 'constructor', 'constructor[prototype][x]', 'prototype', 'scope[]', 'scope[a]',
  'client_id[]', 'redirect_uri[]', 'toString', 'hasOwnProperty', 'valueOf', '', 'a[b][c]', 'csrf', 'username', 'password', 'decision',
]
/** Inserted verbatim: malformed escapes, invalid UTF-8, controls, double encoding, separators. */
const RAW_VECTORS = [
  '%G1', '%C3%28', '%ED%A0%80', '%', '%%', '%2', '%C0%AF', '%E2%82', '%FF', '%FE%FF', '%F4%90%80%80', '%00', '%0D%0A',
  '%0d%0aX-Injected:%201', '%0ASet-Cookie:%20x=1', '%09', '%7F', '%1B', '%252F', '%E2%80%AE', '%EF%BB%BF', '%EF%BF%BF', '+', '%2B',
  '%26', '%3D', '%23', '#', '?', '=', '&', '[', ']', '%5B%5D', '%C2%A0', '%E3%80%80',
]
const VALID_VALUES = () => [
  'code', 'token', 'code id_token', 'none', 'openid', 'openid profile email', 'openid offline_access', 'S256', 'plain', 'login', 'consent', 'none login',
  '0', '-1', '1e309', '9007199254740993', 'authorization_code', 'refresh_token', 'client_credentials', 'password', 'access_token',
  confidential.clientId, publicNative.clientId, withQuery.clientId, 'unknown-client',
  confidential.redirectUri, withQuery.redirectUri, 'http://127.0.0.1:8123/cb', 'http://[::1]/cb', 'https://rp.test/cb/', 'https://RP.test/cb',
  'https://rp.test/cb?x=1', 'https://rp.test/cb#x', 'https://rp.test/CB', 'https://rp.test.evil.test/cb', 'https://rp.test@evil.test/cb',
  'https://evil.test/cb', '//evil.test/cb', 'javascript:alert(1)', 'data:text/html,x', 'https://rp.test/cb%0d%0a', 'http://localhost/cb',
  pkcePair().challenge, pkcePair().verifier, 'x'.repeat(42), 'x'.repeat(129), fuzzTokens.access, fuzzTokens.refresh, 'eyJhbGciOiJub25lIn0.e30.',
  '<script>alert(1)</script>', '"><img src=x>', "'", '\\', 'é', '\u202e', '\ufeff', '🙂',
]

/** A parameter value that is well-formed on the wire (it decodes), though not necessarily sensible. */
const plainValue = () =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...VALID_VALUES()).map(pct) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }).map(pct) },
    { weight: 1, arbitrary: fc.constant('') },
  )

/** Any parameter value as it may appear on the wire: malformed escapes, controls, huge values. */
const wireValue = () =>
  fc.oneof(
    { weight: 4, arbitrary: plainValue() },
    { weight: 3, arbitrary: fc.constantFrom(...RAW_VECTORS) },
    { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(...'abcXYZ019-._~%+=&#?[]/:;@!$\'()*,'.split('')), maxLength: 16 }) },
    { weight: 1, arbitrary: fc.constantFrom(1000, 8191, 8192, 8193, 12_000).map((n) => 'x'.repeat(n)) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...VALID_VALUES()), fc.constantFrom(...RAW_VECTORS)).map(([valid, bad]) => `${pct(valid)}${bad}`) },
  )

const wireName = (names: string[]) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...names) },
    { weight: 3, arbitrary: fc.constantFrom(...ADVERSARIAL_NAMES).map(pct) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_VECTORS) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }).map(pct) },
  )

/**
 * A query string or form body: a valid base, then random parameters (duplicates included). Half
 * the time gentle (the base nearly whole, well-formed values, so that requests reach the protocol
 * logic), half the time hostile (anything, anywhere).
 */
const wireParams = (names: string[], base: fc.Arbitrary<Record<string, string>>) => {
  const gentle = fc.record({
    base,
    useBase: fc.constant(true),
    drop: fc.subarray(names, { maxLength: 1 }),
    extra: fc.array(fc.tuple(fc.constantFrom(...names), fc.option(plainValue(), { nil: undefined, freq: 10 })), { maxLength: 2 }),
    separator: fc.constant('&'),
    shuffle: fc.boolean(),
  })
  const hostile = fc.record({
    base,
    useBase: fc.boolean(),
    drop: fc.subarray(names, { maxLength: Math.min(3, names.length) }),
    extra: fc.array(fc.tuple(wireName(names), fc.option(wireValue(), { nil: undefined })), { maxLength: 8 }),
    separator: fc.constantFrom('&', '&', '&', '&&', '&amp;', ';'),
    shuffle: fc.boolean(),
  })
  return fc.oneof(gentle, hostile).map(({ base: values, useBase, drop, extra, separator, shuffle }) => {
    const pairs: string[] = []
    if (useBase) for (const [name, value] of Object.entries(values)) if (!drop.includes(name)) pairs.push(`${name}=${pct(value)}`)
    for (const [name, value] of extra) pairs.push(value === undefined ? name : `${name}=${value}`)
    if (shuffle) pairs.reverse()
    return pairs.join(separator)
  })
}

/** A valid authorization request of one of the clients. */
const authorizeBase = () =>
  fc
    .constantFrom(confidential, publicNative, withQuery)
    .map((client) => Object.fromEntries(new URLSearchParams(authorizeQuery(client, { code_challenge: pkcePair().challenge }))))
/** Every parameter the back-channel endpoints read, with plausible values. */
const tokenBase = () =>
  fc.constantFrom('authorization_code', 'refresh_token').map((grantType) => ({
    grant_type: grantType,
    code: 'x'.repeat(43),
    redirect_uri: confidential.redirectUri,
    code_verifier: pkcePair().verifier,
    refresh_token: fuzzTokens.refresh,
    token: fuzzTokens.access,
  }))

const CONTENT_TYPES = [
  'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8', 'application/x-www-form-urlencoded; charset="UTF-8"',
  'APPLICATION/X-WWW-FORM-URLENCODED', 'application/x-www-form-urlencoded; charset=iso-8859-1', 'application/x-www-form-urlencoded; charset',
  'application/x-www-form-urlencoded;;', 'application/x-www-form-urlencoded, application/json', 'application/json', 'application/json; charset=utf-8',
  'text/plain', 'text/html', 'multipart/form-data; boundary=x', 'multipart/form-data', 'application/xml', 'application/octet-stream', '*/*',
  '', ';', '/', 'x', 'application/', 'application/x-www-form-urlencoded\t',
]

/** A `Content-Type` value, or none. */
const contentType = () =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant('application/x-www-form-urlencoded') },
    { weight: 4, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 40 }).filter((s) => !/[\r\n]/.test(s)) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  )

/** A request body: form-like text, JSON, or raw bytes (NUL, CR, LF, invalid UTF-8). */
const body = (names: string[], base: fc.Arbitrary<Record<string, string>>) =>
  fc.oneof(
    { weight: 10, arbitrary: wireParams(names, base) as fc.Arbitrary<string | Buffer> },
    { weight: 1, arbitrary: fc.constantFrom('{"grant_type":"authorization_code"}', '{"client_id":["a"]}', '[]', 'null', '{', '[[[[[[[[[[[[[[[[[[[[', '{"__proto__":{"x":1}}') },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)) },
    { weight: 1, arbitrary: fc.tuple(wireParams(names, base), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([text, bytes]) => Buffer.concat([Buffer.from(`${text}&x=`), Buffer.from(bytes)])) },
    { weight: 1, arbitrary: fc.constant('') },
  )

const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64')

/** An `Authorization` value, or none. */
const authorization = () =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: fc.constant(null).map(() => basicAuth(confidential.clientId, confidential.secret ?? '')) },
    {
      weight: 4,
      arbitrary: fc.constantFrom(
        () => basicAuth(confidential.clientId, confidential.secret ?? ''),
        () => basicAuth(confidential.clientId, 'wrong secret'),
        () => basicAuth(publicNative.clientId, ''),
        () => `basic ${b64(`${confidential.clientId}:${confidential.secret ?? ''}`)}`,
        () => `Basic  ${b64(`${confidential.clientId}:x`)}`,
        () => 'Basic',
        () => 'Basic ',
        () => 'Basic ===',
        () => 'Basic Og==',
        () => `Basic ${b64(':')}`,
        () => `Basic ${b64('no-colon')}`,
        () => `Basic ${b64('%zz:%')}`,
        () => `Basic ${b64(Buffer.from([0xff, 0x3a, 0xfe]))}`,
        () => `Basic ${b64('a\u0000b:c')}`,
        () => `Basic ${'A'.repeat(10_000)}`,
        () => `Basic ${b64(`${confidential.clientId}:${confidential.secret ?? ''}`)}, Basic Og==`,
        () => `Bearer ${bearerToken}`,
        () => `bearer ${bearerToken}`,
        () => `Bearer ${bearerToken} x`,
        () => 'Bearer',
        () => 'Bearer ',
        () => 'Bearer a.b.c',
        () => 'Bearer eyJhbGciOiJub25lIn0.e30.',
        () => `Bearer ${fuzzTokens.refresh}`,
        () => `Bearer ${'x'.repeat(10_000)}`,
        () => 'Digest username="x"',
        () => 'DPoP x',
        () => ' ',
      ).map((make) => make()),
    },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom('Basic ', 'Bearer ', 'basic ', ''), fc.string({ unit: 'grapheme-ascii', maxLength: 60 })).map(([scheme, rest]) => `${scheme}${rest}`) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 30 }).map((bytes) => `Basic ${b64(Buffer.from(bytes))}`) },
  )

const optionalHeader = (name: string, value: string | undefined): Array<[string, string]> =>
  value === undefined || /[\r\n]/.test(value) ? [] : [[name, value]]

/** Headers a browser or an attacker may add: cookies, origin, proxy headers. */
const extraHeaders = () =>
  fc.array(
    fc.tuple(
      fc.constantFrom('Cookie', 'Origin', 'Referer', 'X-Forwarded-For', 'X-Forwarded-Host', 'X-Forwarded-Proto', 'Accept', 'Accept-Language', 'X-Requested-With', 'Forwarded'),
      fc.oneof(
        fc.constantFrom(
          'authcode_browser=x', 'authcode_session=%E0%A4%A', 'authcode_session=;authcode_session=a', `authcode_browser=${'a'.repeat(43)}`,
          'evil.test', 'https://evil.test', 'null', '*/*', '"', '%', '127.0.0.1, 10.0.0.1', 'for=1.2.3.4;host=evil.test;proto=http', '__proto__=1',
        ),
        fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
      ),
    ),
    { maxLength: 3 },
  ).map((pairs) => pairs.filter(([, value]) => !/[\r\n]/.test(value)) as Array<[string, string]>)

// ---------------------------------------------------------------------------------------------

describe('checklist §4 universal rule under random input (fast-check)', () => {
  it('GET /authorize: random and adversarial query strings', async () => {
    await assertProperty(
      fc.asyncProperty(wireParams(AUTHORIZE_NAMES, authorizeBase()), extraHeaders(), async (query, headers) => {
        await send({ method: 'GET', target: `/authorize?${query}`, headers })
      }),
    )
  })

  it('POST /authorize: random query, content type and body', async () => {
    await assertProperty(
      fc.asyncProperty(
        // The parameters in the body (the usual form post), the query, both, or split between them.
        fc.constantFrom('body', 'body', 'query', 'both', 'split'),
        wireParams(AUTHORIZE_NAMES, authorizeBase()),
        fc.option(body(AUTHORIZE_NAMES, authorizeBase()), { nil: undefined, freq: 3 }),
        contentType(),
        extraHeaders(),
        async (placement, params, otherBody, type, headers) => {
          const pairs = params.split('&')
          const half = Math.floor(pairs.length / 2)
          const query = { body: undefined, query: params, both: params, split: pairs.slice(0, half).join('&') }[placement]
          const payload = otherBody ?? { body: params, query: undefined, both: params, split: pairs.slice(half).join('&') }[placement]
          const response = await send({
            method: 'POST',
            target: query === undefined ? '/authorize' : `/authorize?${query}`,
            headers: [...optionalHeader('Content-Type', type), ...headers],
            body: payload,
          })
          // RFC 9700 §4.12 / SECURITY.md decision: a redirect after a POST is 303.
          if (response.status >= 300 && response.status < 400) expect(response.status).toBe(303)
        },
      ),
    )
  })

  it.each(['/token', '/revoke', '/introspect'])('POST %s: random content types, bodies and Authorization headers', async (path) => {
    await assertProperty(
      fc.asyncProperty(
        contentType(),
        fc.option(body(TOKEN_NAMES, tokenBase()), { nil: undefined }),
        authorization(),
        fc.option(wireParams(TOKEN_NAMES, tokenBase()), { nil: undefined }),
        extraHeaders(),
        async (type, payload, auth, query, headers) => {
          const response = await send({
            method: 'POST',
            target: query === undefined || query === '' ? path : `${path}?${query}`,
            headers: [...optionalHeader('Content-Type', type), ...optionalHeader('Authorization', auth), ...headers],
            body: payload,
          })
          expect([200, 400, 401, 413, 429, 431]).toContain(response.status)
          expect(header(response, 'content-type') ?? 'application/json').toMatch(/^application\/json/)
          expect(header(response, 'cache-control')).toBe('no-store')
          if (response.status === 401) expect(header(response, 'www-authenticate')).toMatch(/^Basic realm=/)
        },
      ),
    )
  })

  it('GET and POST /userinfo: random Authorization headers and bodies', async () => {
    await assertProperty(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST'),
        fc.oneof(
          authorization(),
          fc.constantFrom(`Bearer ${bearerToken}`, `bearer  ${bearerToken}`, `Bearer ${bearerToken}=`, `Bearer ${bearerToken.slice(0, -2)}`, `Bearer ${fixedAccessToken.split('.').slice(0, 2).join('.')}.`),
          fc.string({ unit: fc.constantFrom(...'abcXYZ0189-._~+/='.split('')), maxLength: 80 }).map((token) => `Bearer ${token}`),
        ),
        contentType(),
        fc.option(body(['access_token', 'scope'], fc.constant(null).map(() => ({ access_token: bearerToken }))), { nil: undefined }),
        fc.option(fc.constantFrom(`access_token=${bearerToken}`, 'access_token=%00', 'x=%G1'), { nil: undefined }),
        async (method, auth, type, payload, query) => {
          const response = await send({
            method,
            target: query === undefined ? '/userinfo' : `/userinfo?${query}`,
            headers: [...optionalHeader('Authorization', auth), ...(method === 'POST' ? optionalHeader('Content-Type', type) : [])],
            body: method === 'POST' ? payload : undefined,
          })
          expect([200, 400, 401, 403, 413, 431]).toContain(response.status)
          // RFC 6750 §3: every 401 challenges; under the DPoP scheme, with a DPoP challenge (RFC 9449 §7.1).
          if (response.status === 401) {
            const dpop = auth !== undefined && /^dpop /i.test(auth)
            expect(header(response, 'www-authenticate')).toMatch(dpop ? /^DPoP algs="[^"]+"/ : /^Bearer realm="authcode"/)
          }
          if (response.status === 200) expect(JSON.parse(response.body)).toMatchObject({ sub: expect.any(String) as string })
        },
      ),
    )
  })

  it('the login and consent forms: random bodies, content types, origins, cookies and CSRF tokens', async () => {
    const fuzzUser = await server.addUser(undefined, 'fuzz password 1')
    // Real pending interactions (login, then consent), each bound to its browser cookie, with its CSRF token.
    const pending: Array<{ id: string; cookie: string; csrf: string }> = []
    for (let i = 0; i < 4; i++) {
      const browser = new Browser()
      const start = await browser.get(`${server.url}/authorize?${authorizeQuery(confidential, { code_challenge: pkcePair().challenge, prompt: 'login consent' })}`)
      expect(start.status).toBe(303)
      const path = start.headers.get('location') ?? ''
      const page = await browser.get(`${server.url}${path}`)
      expect(page.status).toBe(200)
      pending.push({
        id: path.slice('/interaction/'.length),
        cookie: [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        csrf: hiddenInput(await page.text(), 'csrf'),
      })
    }
    const formNames = ['csrf', 'username', 'password', 'decision']
    const form = (interaction: { csrf: string }) =>
      fc.record({
        csrf: fc.constantFrom(interaction.csrf, interaction.csrf, interaction.csrf, 'x'.repeat(43), interaction.csrf.toUpperCase()),
        username: fc.constantFrom(fuzzUser.username, fuzzUser.username, fuzzUser.username.toUpperCase(), 'nobody', '__proto__'),
        password: fc.constantFrom(fuzzUser.password, fuzzUser.password, 'wrong password', ''),
        decision: fc.constantFrom('approve', 'deny', 'maybe', ''),
      })
    const request = fc.constantFrom(...pending).chain((interaction) =>
      fc.tuple(
        fc.constant(interaction),
        fc.constantFrom(['GET', `/interaction/${interaction.id}`], ['POST', `/interaction/${interaction.id}/login`], ['POST', `/interaction/${interaction.id}/consent`], ['GET', `/authorize/resume/${interaction.id}`]),
        fc.constantFrom(true, true, true, false),
        contentType(),
        body(formNames, form(interaction)),
        fc.option(fc.constantFrom(server.url, 'https://evil.test', 'null', ''), { nil: undefined, freq: 3 }),
      ),
    )
    await assertProperty(
      fc.asyncProperty(request, async ([interaction, [method, target], withCookie, type, payload, origin]) => {
        await send({
          method,
          target,
          headers: [
            ...(withCookie ? optionalHeader('Cookie', interaction.cookie) : []),
            ...(method === 'POST' ? optionalHeader('Content-Type', type) : []),
            ...optionalHeader('Origin', origin),
          ],
          body: method === 'POST' ? payload : undefined,
        })
      }),
      80,
    )
    // Random interaction ids and resume paths.
    await assertProperty(
      fc.asyncProperty(
        fc.constantFrom('/interaction/', '/authorize/resume/'),
        fc.oneof(fc.uuid(), fc.constantFrom(...RAW_VECTORS), fc.string({ unit: 'binary', maxLength: 300 }).map(pct)),
        fc.constantFrom('', '/login', '/consent'),
        async (prefix, id, suffix) => {
          await send({ method: suffix === '' ? 'GET' : 'POST', target: `${prefix}${id}${suffix}`, headers: [['Content-Type', 'application/x-www-form-urlencoded']], body: suffix === '' ? undefined : 'csrf=x' })
        },
      ),
    )
  })

  it('random methods, paths and headers', async () => {
    const paths = [
      '/', '/authorize', '/token', '/revoke', '/introspect', '/userinfo', '/jwks', '/healthz', '/readyz', '/assets/style.css',
      '/.well-known/openid-configuration', '/.well-known/oauth-authorization-server', '/interaction/x', '/authorize/resume/x',
    ]
    const mutatedPath = fc.oneof(
      fc.constantFrom(...paths),
      fc.tuple(fc.constantFrom(...paths), fc.constantFrom('/', '//', ';jsessionid=1', '%00', '%2F', '%2e%2e/', '/..', '/.', '?', '#', '%', '%G1', '%ED%A0%80', '..%2f..%2fetc%2fpasswd', '*')).map(([p, s]) => `${p}${s}`),
      fc.constantFrom(...paths).map((p) => p.toUpperCase()),
      fc.string({ unit: fc.constantFrom(...'abc/%.;-_~!$&\'()*+,=:@0123456789ABCDEF'.split('')), maxLength: 40 }).map((p) => `/${p}`),
      fc.constantFrom('*', 'http://evil.test/token', '//evil.test/token', 'token', '/%2e%2e/%2e%2e/'),
    )
    const method = fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND', 'SEARCH', 'QUERY') },
      { weight: 1, arbitrary: fc.stringMatching(/^[A-Z]{1,10}$/) },
    )
    await assertProperty(
      fc.asyncProperty(method, mutatedPath, extraHeaders(), authorization(), async (verb, path, headers, auth) => {
        await send({ method: verb, target: path, headers: [...headers, ...optionalHeader('Authorization', auth)], body: verb === 'POST' || verb === 'PUT' ? 'a=1' : undefined })
      }),
    )
  })

  it('BI-09: no prototype pollution after all of the above', () => {
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTOTYPE_KEYS)
    expect(({} as Record<string, unknown>).x).toBeUndefined()
    expect(({} as Record<string, unknown>).admin).toBeUndefined()
  })
})

// ---------------------------------------------------------------------------------------------
// Fixed vectors, checklist §4.

/** GET /authorize as a browser would send it (already encoded query). */
const getAuthorize = (query: string, headers: Array<[string, string]> = []) => send({ method: 'GET', target: `/authorize?${query}`, headers })

/** A valid authorization request for the confidential client, as name=value pairs (encoded). */
const validQuery = (overrides: Record<string, string | undefined> = {}) => authorizeQuery(confidential, { code_challenge: pkcePair().challenge, ...overrides })

const postRaw = (path: string, payload: string | Buffer, headers: Array<[string, string]> = []) =>
  send({ method: 'POST', target: path, headers: [['Content-Type', 'application/x-www-form-urlencoded'], ...headers], body: payload })

function expectErrorPage(response: RawResponse, status = 400): void {
  expect(response.status).toBe(status)
  expect(header(response, 'content-type')).toMatch(/^text\/html/)
  expect(response.headers.has('location')).toBe(false)
}

function expectJsonError(response: RawResponse, status: number, error: string): void {
  expect(response.status, response.body).toBe(status)
  expect(JSON.parse(response.body)).toMatchObject({ error })
}

describe('checklist §4 fixed vectors', () => {
  it('BI-04: a URL over 16 KiB is a 4xx (414 or 431)', async () => {
    const response = await getAuthorize(validQuery({ state: 'x'.repeat(17 * 1024) }))
    expect([414, 431]).toContain(response.status)
    const bigPath = await send({ method: 'GET', target: `/${'a'.repeat(17 * 1024)}` })
    expect([404, 414, 431]).toContain(bigPath.status)
  })

  it.each(['/token', '/revoke', '/introspect', '/userinfo', '/authorize'])('BI-04: a body over 64 KiB at %s is 413', async (path) => {
    const response = await postRaw(path, `a=${'x'.repeat(64 * 1024)}`)
    expect(response.status).toBe(413)
    // A single parameter of 1 MB too.
    expect((await postRaw(path, `state=${'x'.repeat(1024 * 1024)}`)).status).toBe(413)
  })

  it('BI-04: 10,000 parameters are 400 invalid_request (body within 64 KiB), 1,000 in a query too', async () => {
    const many = Array.from({ length: 10_000 }, (_, i) => `p${i % 10}`).join('&')
    expect(many.length).toBeLessThan(64 * 1024)
    expectJsonError(await postRaw('/token', many, [['Authorization', basicAuth(confidential.clientId, confidential.secret ?? '')]]), 400, 'invalid_request')
    expectJsonError(await postRaw('/revoke', many), 400, 'invalid_request')
    expectErrorPage(await postRaw('/authorize', many))
    expectErrorPage(await getAuthorize(`${validQuery()}&${Array.from({ length: 1000 }, () => 'a').join('&')}`))
  })

  it('BI-04: a parameter over 8 KiB is 400; 1,000 scope values are invalid_scope', async () => {
    expectErrorPage(await getAuthorize(validQuery({ redirect_uri: `https://rp.test/${'x'.repeat(8 * 1024)}` })))
    expectJsonError(await postRaw('/token', `grant_type=authorization_code&code=${'x'.repeat(9000)}`), 400, 'invalid_request')
    const scopes = await getAuthorize(validQuery({ scope: Array.from({ length: 1000 }, (_, i) => `s${i}`).join(' ') }))
    expect(scopes.status).toBe(302)
    expect(new URL(header(scopes, 'location') ?? '').searchParams.get('error')).toBe('invalid_scope')
  })

  it('BI-05: /token takes only form-encoded UTF-8 bodies', async () => {
    const auth: Array<[string, string]> = [['Authorization', basicAuth(confidential.clientId, confidential.secret ?? '')]]
    for (const type of ['application/json', 'text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded; charset=iso-8859-1']) {
      expectJsonError(await send({ method: 'POST', target: '/token', headers: [['Content-Type', type], ...auth], body: 'grant_type=authorization_code' }), 400, 'invalid_request')
    }
    expectJsonError(await send({ method: 'POST', target: '/token', headers: auth, body: 'grant_type=authorization_code' }), 400, 'invalid_request')
    expectJsonError(await send({ method: 'POST', target: '/token', headers: [['Content-Type', 'application/json'], ...auth], body: '{"grant_type":"authorization_code"}' }), 400, 'invalid_request')
  })

  it('BI-05 / BI-13: a Content-Type or an Authorization header sent twice is 400 invalid_request', async () => {
    const good = basicAuth(confidential.clientId, confidential.secret ?? '')
    const twoTypes = await send({
      method: 'POST',
      target: '/token',
      headers: [['Content-Type', 'application/x-www-form-urlencoded'], ['Content-Type', 'application/json'], ['Authorization', good]],
      body: 'grant_type=refresh_token&refresh_token=unknown',
    })
    expectJsonError(twoTypes, 400, 'invalid_request')
    const twoAuthorizations = await send({
      method: 'POST',
      target: '/introspect',
      headers: [['Content-Type', 'application/x-www-form-urlencoded'], ['Authorization', good], ['Authorization', basicAuth('other', 'x')]],
      body: `token=${fixedAccessToken}`,
    })
    expectJsonError(twoAuthorizations, 400, 'invalid_request')
    const twoBearers = await send({ method: 'GET', target: '/userinfo', headers: [['Authorization', `Bearer ${fixedAccessToken}`], ['Authorization', 'Bearer x']] })
    expectJsonError(twoBearers, 400, 'invalid_request')
    // One of each is fine.
    const one = await send({ method: 'POST', target: '/introspect', headers: [['Content-Type', 'application/x-www-form-urlencoded'], ['Authorization', good]], body: `token=${fixedAccessToken}` })
    expect(one.status).toBe(200)
    expect(JSON.parse(one.body)).toMatchObject({ active: true })
  })

  it.each(['%G1', '%C3%28', '%C0%AF', '%ED%A0%80', '%E2%82', '%FF', '%', '%2'])('BI-07: %s is 400 everywhere, never a redirect', async (vector) => {
    // In the state of an otherwise valid request: the query cannot be trusted at all, so a page.
    expectErrorPage(await getAuthorize(`${validQuery()}&state=${vector}`))
    expectErrorPage(await getAuthorize(`client_id=${vector}`))
    expectErrorPage(await send({ method: 'POST', target: '/authorize', headers: [['Content-Type', 'application/x-www-form-urlencoded']], body: `${validQuery()}&nonce=${vector}` }))
    const auth: Array<[string, string]> = [['Authorization', basicAuth(confidential.clientId, confidential.secret ?? '')]]
    expectJsonError(await postRaw('/token', `grant_type=authorization_code&code=${vector}`, auth), 400, 'invalid_request')
    expectJsonError(await postRaw('/revoke', `token=${vector}`, auth), 400, 'invalid_request')
    expectJsonError(await postRaw('/introspect', `token=${vector}`, auth), 400, 'invalid_request')
    const userinfo = await postRaw('/userinfo', `access_token=${vector}`)
    expect(userinfo.status).toBe(400)
  })

  it('BI-07: invalid UTF-8 sent as raw bytes in a form body is 400, not a replacement character', async () => {
    const auth: Array<[string, string]> = [['Authorization', basicAuth(confidential.clientId, confidential.secret ?? '')]]
    for (const bytes of [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xc0, 0xaf]]) {
      const payload = Buffer.concat([Buffer.from('token='), Buffer.from(bytes)])
      expectJsonError(await postRaw('/introspect', payload, auth), 400, 'invalid_request')
      expectErrorPage(await send({ method: 'POST', target: '/authorize', headers: [['Content-Type', 'application/x-www-form-urlencoded']], body: Buffer.concat([Buffer.from(`${validQuery()}&nonce=`), Buffer.from(bytes)]) }))
    }
    // Valid UTF-8 sent raw is read as what it is.
    const valid = await postRaw('/introspect', Buffer.from('token=é', 'utf8'), auth)
    expect(valid.status).toBe(200)
    expect(JSON.parse(valid.body)).toEqual({ active: false })
  })

  it('BI-07: double encoding is decoded once (%252F stays %2F)', async () => {
    const response = await getAuthorize(validQuery({ state: undefined, response_type: 'token' }) + '&state=%252F')
    expect(response.status).toBe(302)
    const location = new URL(header(response, 'location') ?? '')
    expect(location.searchParams.get('state')).toBe('%2F')
    expect(location.searchParams.get('error')).toBe('unsupported_response_type')
    // A double-encoded redirect URI is not the registered one: a page, no redirect.
    expectErrorPage(await getAuthorize(validQuery({ redirect_uri: undefined }) + '&redirect_uri=https%253A%252F%252Frp.test%252Fcb'))
  })

  it.each([
    ['client_id', '%00'],
    ['redirect_uri', `${pct('https://rp.test/cb')}%00`],
    ['state', 'a%00b'],
    ['state', 'a%0D%0AX-Injected:%201'],
    ['scope', 'openid%0D%0Aprofile'],
    ['redirect_uri', 'https%3A%2F%2Frp.test%2Fcb%0D%0A'],
    ['nonce', 'a%09b'],
    ['state', 'a%7Fb'],
    ['login_hint', '%1B%5B31m'],
  ])('BI-08: control characters in %s (%s) are refused with a page, never echoed into a header', async (name, value) => {
    const query = `${validQuery({ [name]: undefined })}&${name}=${value}`
    const response = await getAuthorize(query)
    expectErrorPage(response)
    const auth: Array<[string, string]> = [['Authorization', basicAuth(confidential.clientId, confidential.secret ?? '')]]
    expectJsonError(await postRaw('/token', `grant_type=authorization_code&code=a${value}&redirect_uri=x`, auth), 400, 'invalid_request')
  })

  it('BI-08: a bidi override in state is returned byte for byte, percent-encoded in the Location', async () => {
    const state = 'abc\u202edef\u0645'
    const response = await getAuthorize(validQuery({ state, response_type: 'token' }))
    expect(response.status).toBe(302)
    const location = header(response, 'location') ?? ''
    expect(location).toMatch(/^[\x21-\x7e]+$/)
    expect(new URL(location).searchParams.get('state')).toBe(state)
  })

  it('BI-09: qs "magic" is treated literally and never pollutes a prototype', async () => {
    // scope[] is not scope: the request has no scope.
    const scopeArray = await getAuthorize(`${validQuery({ scope: undefined })}&scope%5B%5D=openid`)
    expect(scopeArray.status).toBe(302)
    expect(new URL(header(scopeArray, 'location') ?? '').searchParams.get('error')).toBe('invalid_scope')
    // client_id[] is not client_id: no client, a page.
    expectErrorPage(await getAuthorize(`client_id%5B%5D=${confidential.clientId}&redirect_uri=${pct(confidential.redirectUri)}`))
    expectErrorPage(await getAuthorize(`client_id[]=${confidential.clientId}&redirect_uri=${pct(confidential.redirectUri)}`))
    // __proto__ and constructor parameters are ignored; the request goes on to the login page.
    for (const extra of ['__proto__[admin]=1', '__proto__%5Badmin%5D=1', 'constructor[prototype][admin]=1', '__proto__=x', 'hasOwnProperty=1']) {
      const response = await getAuthorize(`${validQuery()}&${extra}`)
      expect(response.status, extra).toBe(303)
      expect(header(response, 'location')).toMatch(/^\/interaction\//)
    }
    expect(({} as Record<string, unknown>).admin).toBeUndefined()
    // At /token a JSON body with arrays is refused, not interpreted.
    expectJsonError(await send({ method: 'POST', target: '/token', headers: [['Content-Type', 'application/json']], body: '{"grant_type":["authorization_code"],"__proto__":{"admin":1}}' }), 400, 'invalid_request')
    expectJsonError(await postRaw('/token', `grant_type[]=authorization_code&__proto__[admin]=1`, [['Authorization', basicAuth(confidential.clientId, confidential.secret ?? '')]]), 400, 'invalid_request')
    expect(({} as Record<string, unknown>).admin).toBeUndefined()
  })

  it('BI-14: other methods are 405 with Allow; odd paths are 404; neither has side effects', async () => {
    const cases: Array<[string, string]> = [['/token', 'POST'], ['/revoke', 'POST'], ['/introspect', 'POST'], ['/authorize', 'GET, POST'], ['/userinfo', 'GET, POST']]
    for (const [path, allow] of cases) {
      for (const method of ['PUT', 'DELETE', 'PATCH']) {
        const response = await send({ method, target: path, headers: [['Content-Type', 'application/x-www-form-urlencoded']], body: 'a=1' })
        expect(response.status, `${method} ${path}`).toBe(405)
        expect(header(response, 'allow')).toBe(allow)
      }
    }
    expect((await send({ method: 'HEAD', target: '/token' })).status).toBe(405)
    for (const path of ['/token/', '/Token', '/TOKEN', '/token;jsessionid=1', '/token%2F', '//token', '/authorize/', '/Authorize']) {
      expect((await send({ method: 'POST', target: path, headers: [['Content-Type', 'application/x-www-form-urlencoded']], body: 'grant_type=x' })).status, path).toBe(404)
    }
    // No side effects: a code sent with PUT, to /token/ and to /Token is still good afterwards.
    const client = await server.addClient({ redirectUris: ['https://rp.test/side-effects'] })
    const browser = new Browser()
    const { verifier, challenge } = pkcePair()
    const { callback } = await authorize(server, browser, authorizeQuery(client, { code_challenge: challenge }), user)
    const code = callback?.searchParams.get('code') ?? ''
    const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier }).toString()
    const auth: Array<[string, string]> = [['Authorization', basicAuth(client.clientId, client.secret ?? '')], ['Content-Type', 'application/x-www-form-urlencoded']]
    for (const [method, path] of [['PUT', '/token'], ['PATCH', '/token'], ['POST', '/token/'], ['POST', '/Token'], ['POST', '/token;jsessionid=1']] as const) {
      expect((await send({ method, target: path, headers: auth, body: form })).status).not.toBe(200)
    }
    const exchange = await postForm(`${server.url}/token`, Object.fromEntries(new URLSearchParams(form)), { authorization: basicAuth(client.clientId, client.secret ?? '') })
    expect(exchange.status).toBe(200)
  })

  it('framework errors (bad URL escapes in a path parameter, overlong path parameters) are OAuth-shaped, not Fastify defaults', async () => {
    for (const target of ['/interaction/%ff', '/interaction/%E0%A4%A', '/authorize/resume/%C0', `/interaction/${'a'.repeat(300)}`, `/interaction/${'a'.repeat(300)}/login`]) {
      const response = await send({ method: target.endsWith('/login') ? 'POST' : 'GET', target })
      expect(response.status, target).toBeGreaterThanOrEqual(400)
      expect(response.body).not.toContain(target.slice(1, 40))
      expect(JSON.parse(response.body)).toMatchObject({ error: 'invalid_request' })
    }
  })

  describe('BI-19: Host and X-Forwarded-* never change the issuer or metadata URLs', () => {
    const poison: Array<Array<[string, string]>> = [
      [['Host', 'evil.test']],
      [['X-Forwarded-Host', 'evil.test']],
      [['X-Forwarded-Proto', 'http'], ['X-Forwarded-Host', 'evil.test:8443']],
      [['Forwarded', 'for=1.2.3.4;host=evil.test;proto=https']],
      [['Host', 'evil.test'], ['X-Forwarded-Host', 'evil2.test'], ['X-Forwarded-Proto', 'https'], ['X-Forwarded-Prefix', '/evil']],
    ]

    async function expectUnpoisoned(target: TestServer, targetPort: number, client: TestClient): Promise<void> {
      const reference = await fetch(`${target.url}/.well-known/openid-configuration`).then((r) => r.text())
      for (const headers of poison) {
        for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
          const response = await rawRequest(targetPort, { method: 'GET', target: path, headers })
          expect(response.status).toBe(200)
          expect(response.body).toBe(reference)
          expect(response.body).not.toMatch(/evil/)
        }
        // Authorization responses carry the configured issuer; internal redirects are relative paths.
        const error = await rawRequest(targetPort, { method: 'GET', target: `/authorize?${authorizeQuery(client, { code_challenge: pkcePair().challenge, response_type: 'token' })}`, headers })
        expect(error.status).toBe(302)
        expect(new URL(header(error, 'location') ?? '').searchParams.get('iss')).toBe(target.url)
        const login = await rawRequest(targetPort, { method: 'GET', target: `/authorize?${authorizeQuery(client, { code_challenge: pkcePair().challenge })}`, headers })
        expect(login.status).toBe(303)
        expect(header(login, 'location')).toMatch(/^\/interaction\/[0-9a-f-]{36}$/)
        const home = await rawRequest(targetPort, { method: 'GET', target: '/', headers })
        expect(home.body).not.toMatch(/evil/)
        expect(home.body).toContain(target.url)
      }
    }

    it('with the default trustProxy: false', async () => {
      await expectUnpoisoned(server, port, confidential)
    })

    // The test's connections come from 127.0.0.1: a trusted proxy in both forms, so its X-Forwarded-* are believed.
    it.each([['a hop count', 1], ['proxy addresses', ['127.0.0.1', '::1']]])('with trustProxy: %s', async (_form, trustProxy) => {
      const proxied = await startServer({ trustProxy })
      try {
        await expectUnpoisoned(proxied, proxied.config.port, await proxied.addClient())
      } finally {
        await proxied.close()
      }
    })
  })
})
