/**
 * Logout over HTTP (issue #14): OpenID Connect RP-Initiated Logout 1.0 at the end-session endpoint
 * and Back-Channel Logout 1.0 to a receiver on 127.0.0.1 (SECURITY.md 34).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createAdminToken } from '../../src/admin/tokens.js'
import { buildAdminApp } from '../../src/http/admin-app.js'
import type { AuditEvent } from '../../src/http/audit.js'
import { buildApp } from '../../src/http/app.js'
import type { LogoutDeliverySettings } from '../../src/protocol/backchannel-logout.js'
import { openStore } from '../../src/storage/open.js'
import { loadKeyEncryptionKey } from '../../src/tokens/kek.js'
import { KeyRing } from '../../src/tokens/key-ring.js'
import {
  Browser,
  authorize,
  authorizeQuery,
  hiddenInput,
  locationOf,
  obtainTokens,
  pkcePair,
  postForm,
  startServer,
  type TestClient,
  type TestServer,
} from '../harness.js'

const POST_LOGOUT = 'https://rp.test/signed-out'
const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout'

type User = { id: string; username: string; password: string }

/** A back-channel logout receiver on 127.0.0.1: it answers each POST with the next of `statuses` (then the last). */
class Receiver {
  readonly tokens: string[] = []
  readonly requests: { contentType: string | undefined; body: string }[] = []
  statuses: number[] = [200]
  #server: Server | undefined
  #waiters: (() => void)[] = []
  url = ''

  async start(): Promise<this> {
    this.#server = createServer((request, response) => void this.#answer(request, response))
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/backchannel-logout`
    return this
  }

  async #answer(request: IncomingMessage, response: import('node:http').ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks).toString('utf8')
    this.requests.push({ contentType: request.headers['content-type'], body })
    const token = new URLSearchParams(body).get('logout_token')
    if (token !== null) this.tokens.push(token)
    const status = this.statuses[Math.min(this.requests.length - 1, this.statuses.length - 1)] ?? 200
    response.writeHead(status).end()
    for (const wake of this.#waiters.splice(0)) wake()
  }

  /** Resolves once `count` requests came (fails the test after `ms`). */
  async received(count: number, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms
    while (this.requests.length < count) {
      if (Date.now() > deadline) throw new Error(`the receiver got ${this.requests.length} requests, not ${count}`)
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve)
        setTimeout(resolve, 100)
      })
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()))
  }
}

/** The claims of a logout token, after verifying it as an RP must (Back-Channel Logout §2.6). */
async function verifyLogoutToken(server: TestServer, token: string, clientId: string): Promise<JWTPayload> {
  const jwks = (await (await fetch(`${server.url}/jwks`)).json()) as JSONWebKeySet
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
    issuer: server.url,
    audience: clientId,
    typ: 'logout+jwt',
    currentDate: new Date(server.clock.now() * 1000),
  })
  expect(protectedHeader.alg).toBe('RS256')
  return payload
}

/** Waits until the queue's next delivery is due at `at` (an attempt's outcome is recorded after its answer). */
async function dueAt(server: TestServer, at: number | undefined, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms
  let next = await server.store.nextLogoutDeliveryAt()
  while (next !== at) {
    if (Date.now() > deadline) throw new Error(`the next delivery is due at ${next}, not ${at}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
    next = await server.store.nextLogoutDeliveryAt()
  }
}

const payloadOf = (jwt: string): JWTPayload => JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as JWTPayload

/** The login page's form action, when `response` leads to a login page. */
async function asksForPassword(server: TestServer, browser: Browser, client: TestClient): Promise<boolean> {
  const { challenge } = pkcePair()
  const response = await browser.get(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: challenge })}`)
  const location = locationOf(response, server.url)
  if (!location.startsWith(`${server.url}/interaction/`)) return false
  const page = await (await browser.get(location)).text()
  return page.includes('name="password"')
}

describe('RP-Initiated Logout 1.0 (end_session_endpoint)', () => {
  let server: TestServer
  let client: TestClient
  let other: TestClient
  let user: User
  const events: AuditEvent[] = []

  beforeAll(async () => {
    server = await startServer({}, { deps: { onEvent: (event) => void events.push(event) } })
    client = await server.addClient({ name: 'Logout App', postLogoutRedirectUris: [POST_LOGOUT, 'https://rp.test/bye?lang=en'] })
    other = await server.addClient({ name: 'Other App', postLogoutRedirectUris: ['https://other.test/bye'] })
    user = await server.addUser()
  })
  afterAll(() => server.close())

  /** A browser signed in through `client`, with its ID token. */
  async function signedIn(target = client): Promise<{ browser: Browser; idToken: string }> {
    const { tokens, browser } = await obtainTokens(server, target, user)
    return { browser, idToken: tokens.id_token as string }
  }

  const endSession = (browser: Browser, params: Record<string, string>) => browser.get(`${server.url}/logout?${new URLSearchParams(params).toString()}`)

  it('discovery: end_session_endpoint, backchannel_logout_supported and backchannel_logout_session_supported in both documents', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      const metadata = (await (await fetch(`${server.url}${path}`)).json()) as Record<string, unknown>
      expect(metadata).toMatchObject({ end_session_endpoint: `${server.url}/logout`, backchannel_logout_supported: true, backchannel_logout_session_supported: true })
    }
  })

  it('Back-Channel Logout §2.4: ID tokens carry the login session\'s sid, the same one after a refresh', async () => {
    const { tokens } = await obtainTokens(server, client, user)
    const sid = payloadOf(tokens.id_token as string).sid
    expect(sid).toEqual(expect.any(String))
    const refreshed = await postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string }, { authorization: `Basic ${Buffer.from(`${client.clientId}:${client.secret}`).toString('base64')}` })
    expect(payloadOf(((await refreshed.json()) as { id_token: string }).id_token).sid).toBe(sid)
  })

  it('SECURITY.md 34: with a valid id_token_hint the session ends at once and the browser goes to the registered URI with state; the next sign-in asks for the password', async () => {
    const { browser, idToken } = await signedIn()
    expect(await asksForPassword(server, browser, client)).toBe(false)
    events.length = 0
    const response = await endSession(browser, { id_token_hint: idToken, post_logout_redirect_uri: POST_LOGOUT, state: 'st 1/ä' })
    expect(response.status).toBe(303)
    expect(response.headers.get('location')).toBe(`${POST_LOGOUT}?state=st+1%2F%C3%A4`)
    expect(new URL(locationOf(response, server.url)).searchParams.get('state')).toBe('st 1/ä')
    expect(events.filter((event) => event.event === 'logout')).toMatchObject([{ client_id: client.clientId, user_id: user.id }])
    expect(await asksForPassword(server, browser, client)).toBe(true)
  })

  it('§3: a registered URI with a query keeps it; state is added, and left out when not sent', async () => {
    const { browser, idToken } = await signedIn()
    const response = await endSession(browser, { id_token_hint: idToken, post_logout_redirect_uri: 'https://rp.test/bye?lang=en' })
    expect(response.headers.get('location')).toBe('https://rp.test/bye?lang=en')
    const again = await signedIn()
    const withState = await endSession(again.browser, { id_token_hint: again.idToken, post_logout_redirect_uri: 'https://rp.test/bye?lang=en', state: 'x' })
    expect(withState.headers.get('location')).toBe('https://rp.test/bye?lang=en&state=x')
  })

  it.each([
    ['an unregistered URI', 'https://evil.test/'],
    ['a trailing slash more', `${POST_LOGOUT}/`],
    ['another case', POST_LOGOUT.toUpperCase()],
    ['an added query', `${POST_LOGOUT}?x=1`],
    ['another client\'s URI', 'https://other.test/bye'],
  ])('SECURITY.md 34: %s is never redirected to; the user is signed out on our page', async (_name, uri) => {
    const { browser, idToken } = await signedIn()
    const response = await endSession(browser, { id_token_hint: idToken, post_logout_redirect_uri: uri, state: 's' })
    expect(response.status).toBe(200)
    expect(response.headers.get('location')).toBeNull()
    const html = await response.text()
    expect(html).toContain('You are signed out')
    expect(html).toContain('post_logout_redirect_uri is not registered for this client')
    expect(await asksForPassword(server, browser, client)).toBe(true)
  })

  it('§2: without id_token_hint or client_id, post_logout_redirect_uri is never followed', async () => {
    const { browser } = await signedIn()
    const response = await endSession(browser, { post_logout_redirect_uri: POST_LOGOUT })
    expect(response.status).toBe(200)
    expect(response.headers.get('location')).toBeNull()
    // Nothing proves who asks: the user is asked first, and the form carries no redirect.
    const html = await response.text()
    expect(html).toContain('name="decision" value="logout"')
    expect(html).not.toContain(POST_LOGOUT)
  })

  it('no hint: a confirmation page (decision=logout, CSRF as the other forms); confirming ends the session and goes back with state', async () => {
    const { browser } = await signedIn()
    const response = await endSession(browser, { client_id: client.clientId, post_logout_redirect_uri: POST_LOGOUT, state: 'abc' })
    expect(response.status).toBe(200)
    expect(response.headers.get('x-frame-options')).toBe('DENY')
    expect(response.headers.get('cache-control')).toBe('no-store')
    // The form's redirect chain ends at the client: the CSP lets the form reach it, nothing more.
    expect(response.headers.get('content-security-policy')).toContain("form-action 'self' https://rp.test;")
    const html = await response.text()
    expect(html).toContain('Logout App')
    expect(html).toMatch(/<button type="submit" name="decision" value="logout">/)
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1] ?? ''
    const form = { csrf: hiddenInput(html, 'csrf'), client_id: hiddenInput(html, 'client_id'), post_logout_redirect_uri: hiddenInput(html, 'post_logout_redirect_uri'), state: hiddenInput(html, 'state') }
    // Still signed in until the user confirms.
    expect(await asksForPassword(server, browser, client)).toBe(false)
    // A form without the browser's token, or from another site, ends nothing.
    expect((await browser.post(`${server.url}${action}`, { ...form, csrf: 'forged', decision: 'logout' })).status).toBe(403)
    expect((await browser.post(`${server.url}${action}`, { ...form, decision: 'logout' }, { origin: 'https://evil.test' })).status).toBe(403)
    expect(await asksForPassword(server, browser, client)).toBe(false)

    const confirmed = await browser.post(`${server.url}${action}`, { ...form, decision: 'logout' })
    expect(confirmed.status).toBe(303)
    expect(confirmed.headers.get('location')).toBe(`${POST_LOGOUT}?state=abc`)
    expect(await asksForPassword(server, browser, client)).toBe(true)
  })

  it('the confirmation form is checked again: a post_logout_redirect_uri put into it is not followed', async () => {
    const { browser } = await signedIn()
    const html = await (await endSession(browser, { client_id: client.clientId })).text()
    const response = await browser.post(`${server.url}/logout/confirm`, { csrf: hiddenInput(html, 'csrf'), client_id: client.clientId, post_logout_redirect_uri: 'https://evil.test/', decision: 'logout' })
    expect(response.status).toBe(200)
    expect(response.headers.get('location')).toBeNull()
    expect(await asksForPassword(server, browser, client)).toBe(true)
  })

  it('"Stay signed in" keeps the session and goes back to the client', async () => {
    const { browser } = await signedIn()
    const html = await (await endSession(browser, { client_id: client.clientId, post_logout_redirect_uri: POST_LOGOUT, state: 'k' })).text()
    const response = await browser.post(`${server.url}/logout/confirm`, {
      csrf: hiddenInput(html, 'csrf'),
      client_id: client.clientId,
      post_logout_redirect_uri: POST_LOGOUT,
      state: 'k',
      decision: 'stay',
    })
    expect(response.headers.get('location')).toBe(`${POST_LOGOUT}?state=k`)
    expect(await asksForPassword(server, browser, client)).toBe(false)
  })

  it('§2: an expired id_token_hint is accepted', async () => {
    const { browser, idToken } = await signedIn()
    const exp = payloadOf(idToken).exp ?? 0
    server.clock.advance(exp - server.clock.now() + 600)
    const response = await endSession(browser, { id_token_hint: idToken, post_logout_redirect_uri: POST_LOGOUT })
    expect(response.status).toBe(303)
    expect(response.headers.get('location')).toBe(POST_LOGOUT)
    expect(await asksForPassword(server, browser, client)).toBe(true)
  })

  it('§2: a client_id that is not the hint\'s audience is refused, and nothing ends', async () => {
    const { browser, idToken } = await signedIn()
    const response = await endSession(browser, { id_token_hint: idToken, client_id: other.clientId, post_logout_redirect_uri: 'https://other.test/bye' })
    expect(response.status).toBe(400)
    expect(response.headers.get('location')).toBeNull()
    expect(await response.text()).toContain('client_id is not the audience of the id_token_hint')
    expect(await asksForPassword(server, browser, client)).toBe(false)
  })

  it.each([
    ['a forged signature', (token: string) => `${token.slice(0, token.lastIndexOf('.'))}.${'A'.repeat(342)}`],
    ['not a JWT', () => 'not-a-jwt'],
    ['an unsigned token (alg none)', (token: string) => `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${token.split('.')[1]}.`],
  ])('§2: an id_token_hint with %s is refused with a page, never a redirect, and nothing ends', async (_name, mangle) => {
    const { browser, idToken } = await signedIn()
    const response = await endSession(browser, { id_token_hint: mangle(idToken), post_logout_redirect_uri: POST_LOGOUT })
    expect(response.status).toBe(400)
    expect(response.headers.get('location')).toBeNull()
    expect(await response.text()).toContain('id_token_hint is not an ID token this server issued')
    expect(await asksForPassword(server, browser, client)).toBe(false)
  })

  it('§2: an access token is no id_token_hint', async () => {
    const { tokens, browser } = await obtainTokens(server, client, user)
    const response = await endSession(browser, { id_token_hint: tokens.access_token as string })
    expect(response.status).toBe(400)
  })

  it('a hint from an earlier session of the user does not prove this one: the user confirms', async () => {
    const first = await signedIn()
    const later = await signedIn()
    const response = await endSession(later.browser, { id_token_hint: first.idToken, post_logout_redirect_uri: POST_LOGOUT })
    expect(response.status).toBe(200)
    expect(await response.text()).toContain('name="decision" value="logout"')
    expect(await asksForPassword(server, later.browser, client)).toBe(false)
  })

  it('a parameter given twice is invalid_request', async () => {
    const { browser } = await signedIn()
    const response = await browser.get(`${server.url}/logout?client_id=${client.clientId}&client_id=${client.clientId}`)
    expect(response.status).toBe(400)
  })

  it('not signed in: straight back to the registered URI with state', async () => {
    const response = await new Browser().get(`${server.url}/logout?client_id=${client.clientId}&post_logout_redirect_uri=${encodeURIComponent(POST_LOGOUT)}&state=z`)
    expect(response.status).toBe(303)
    expect(response.headers.get('location')).toBe(`${POST_LOGOUT}?state=z`)
  })

  it('§2: POST is answered by the same request as a GET, which carries the browser\'s SameSite=Lax cookie', async () => {
    const { browser, idToken } = await signedIn()
    const posted = await browser.post(`${server.url}/logout`, { id_token_hint: idToken, post_logout_redirect_uri: POST_LOGOUT, state: 'p' }, { origin: 'https://rp.test' })
    expect(posted.status).toBe(303)
    const next = locationOf(posted, server.url)
    expect(next.startsWith(`${server.url}/logout?`)).toBe(true)
    const response = await browser.get(next)
    expect(response.headers.get('location')).toBe(`${POST_LOGOUT}?state=p`)
    expect(await asksForPassword(server, browser, client)).toBe(true)
  })

  it('ui_locales chooses the language of the confirmation page', async () => {
    const { browser } = await signedIn()
    const response = await endSession(browser, { client_id: client.clientId, ui_locales: 'de' })
    expect(response.headers.get('content-language')).toBe('de')
    const html = await response.text()
    expect(html).toContain('Abmelden?')
    expect(hiddenInput(html, 'ui_locales')).toBe('de')
  })
})

describe('Back-Channel Logout 1.0', () => {
  let receiver: Receiver
  beforeEach(async () => {
    receiver = await new Receiver().start()
  })
  afterEach(() => receiver.close())

  const fast: Partial<LogoutDeliverySettings> = { retryDelays: [1, 1], timeoutMs: 2_000, lease: 5, pollInterval: 1 }

  async function serverWithApp(settings: Partial<LogoutDeliverySettings> = fast) {
    const server = await startServer({}, { deps: { logoutDelivery: { settings } } })
    const client = await server.addClient({ name: 'BCL App', backchannelLogoutUri: receiver.url, postLogoutRedirectUris: [POST_LOGOUT] })
    const plain = await server.addClient({ name: 'No back channel' })
    const user = await server.addUser()
    return { server, client, plain, user }
  }

  /** Signs `user` in to `client` in a fresh browser, then out at the end-session endpoint with the ID token (no redirect back). */
  async function signInAndOut(server: TestServer, client: TestClient, user: User): Promise<void> {
    const { tokens, browser } = await obtainTokens(server, client, user)
    await browser.get(`${server.url}/logout?${new URLSearchParams({ id_token_hint: tokens.id_token as string })}`)
  }

  /** Waits for the first delivery and the two retries of `fast`, moving the clock to each retry once it is queued. */
  async function firstAttemptAndTwoRetries(server: TestServer): Promise<void> {
    await receiver.received(1)
    await dueAt(server, server.clock.now() + 1)
    server.clock.advance(1)
    await receiver.received(2)
    await dueAt(server, server.clock.now() + 1)
    server.clock.advance(1)
    await receiver.received(3)
  }

  /** Moves the clock `seconds` on and waits: the receiver has had `count` requests, no more. */
  async function expectNoMoreRequests(server: TestServer, seconds: number, count: number): Promise<void> {
    server.clock.advance(seconds)
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect(receiver.requests).toHaveLength(count)
  }

  it('§2.5: after RP-initiated logout the client gets a signed logout token: typ logout+jwt, iss, aud, iat, exp, jti, sid, sub, the event, no nonce', async () => {
    const { server, client, plain, user } = await serverWithApp()
    try {
      const { tokens, browser } = await obtainTokens(server, client, user)
      // Signed in to a second app in the same session: it has no back-channel URI, so it gets nothing.
      const { challenge } = pkcePair()
      await authorize(server, browser, authorizeQuery(plain, { code_challenge: challenge }), user)
      const idToken = payloadOf(tokens.id_token as string)
      const response = await browser.get(`${server.url}/logout?${new URLSearchParams({ id_token_hint: tokens.id_token as string, post_logout_redirect_uri: POST_LOGOUT })}`)
      expect(response.status).toBe(303)
      await receiver.received(1)
      expect(receiver.requests[0]?.contentType).toBe('application/x-www-form-urlencoded')
      const [token] = receiver.tokens
      expect(decodeProtectedHeader(token ?? '')).toMatchObject({ typ: 'logout+jwt', alg: 'RS256' })
      const claims = await verifyLogoutToken(server, token ?? '', client.clientId)
      expect(claims).toMatchObject({ iss: server.url, aud: client.clientId, sub: user.id, sid: idToken.sid, events: { [BACKCHANNEL_EVENT]: {} } })
      expect(claims.jti).toEqual(expect.any(String))
      expect(claims.iat).toBe(server.clock.now())
      expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBeGreaterThan(0)
      expect(claims).not.toHaveProperty('nonce')
      // Exactly one, for the one client with a back-channel logout URI.
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(receiver.requests).toHaveLength(1)
    } finally {
      await server.close()
    }
  })

  it('§2.5: the account page\'s sign-out sends one too; the account page lists the apps signed in to in this session', async () => {
    const { server, client, user } = await serverWithApp()
    try {
      const { tokens, browser } = await obtainTokens(server, client, user)
      const account = await (await browser.get(`${server.url}/account`)).text()
      expect(account).toContain('Signed in now')
      expect(/<section class="signed-in-apps">[\s\S]*BCL App[\s\S]*<\/section>/.test(account)).toBe(true)
      const out = await browser.post(`${server.url}/account/logout`, { csrf: hiddenInput(account, 'csrf') })
      expect(out.status).toBe(303)
      await receiver.received(1)
      const claims = await verifyLogoutToken(server, receiver.tokens[0] ?? '', client.clientId)
      expect(claims.sid).toBe(payloadOf(tokens.id_token as string).sid)
    } finally {
      await server.close()
    }
  })

  /** The admin API of `server` (its own app on the same store, as `authcode serve` runs it): `call` is one request with an admin token. */
  async function adminApiOf(server: TestServer) {
    const app = await buildAdminApp(server.config, { store: server.store, keys: server.keys, now: server.clock.now })
    const ctx = { store: server.store, keys: server.keys, config: server.config, now: server.clock.now, events: { emit: () => {} }, actor: 'cli' as const }
    const authorization = `Bearer ${(await createAdminToken(ctx, 'logout-test')).token}`
    const call = async (method: 'PATCH' | 'DELETE', url: string, payload?: Record<string, unknown>) =>
      (await app.inject({ method, url, headers: { authorization }, ...(payload === undefined ? {} : { payload }) })).statusCode
    return { call, close: () => app.close() }
  }

  it.each([
    ['disabled', (id: string) => ['PATCH', `/admin/users/${id}`, { disabled: true }, 200] as const],
    ['removed', (id: string) => ['DELETE', `/admin/users/${id}`, undefined, 204] as const],
  ])('a user %s through the admin API: the apps of the sessions it ends get a logout token for that user and session', async (_change, request) => {
    const { server, client, user } = await serverWithApp()
    const admin = await adminApiOf(server)
    try {
      const { tokens } = await obtainTokens(server, client, user)
      const [method, url, payload, status] = request(user.id)
      expect(await admin.call(method, url, payload)).toBe(status)
      await receiver.received(1)
      const claims = await verifyLogoutToken(server, receiver.tokens[0] ?? '', client.clientId)
      expect(claims).toMatchObject({ sub: user.id, sid: payloadOf(tokens.id_token as string).sid, events: { [BACKCHANNEL_EVENT]: {} } })
    } finally {
      await admin.close()
      await server.close()
    }
  })

  it('§2.8: a receiver that fails gets retries after the delays, until it answers 200', async () => {
    receiver.statuses = [503, 500, 200]
    const { server, client, user } = await serverWithApp()
    try {
      await signInAndOut(server, client, user)
      await firstAttemptAndTwoRetries(server)
      // Each attempt is a fresh token; after the 200 nothing more comes.
      expect(new Set(receiver.tokens.map((token) => payloadOf(token).jti)).size).toBe(3)
      await expectNoMoreRequests(server, 10, 3)
    } finally {
      await server.close()
    }
  })

  it('a delivery that keeps failing is given up after its last retry; a 400 is not retried', async () => {
    receiver.statuses = [503]
    const { server, client, user } = await serverWithApp()
    try {
      await signInAndOut(server, client, user)
      await firstAttemptAndTwoRetries(server)
      await dueAt(server, undefined)
      await expectNoMoreRequests(server, 10, 3)

      receiver.statuses = [400]
      receiver.requests.length = 0
      await signInAndOut(server, client, user)
      await receiver.received(1)
      await dueAt(server, undefined)
      await expectNoMoreRequests(server, 5, 1)
    } finally {
      await server.close()
    }
  })

  it('a receiver that never answers is given up at the timeout and retried', async () => {
    const hanging = createServer(() => {})
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/bcl`
    const server = await startServer({}, { deps: { logoutDelivery: { settings: { ...fast, timeoutMs: 300 } } } })
    try {
      const client = await server.addClient({ backchannelLogoutUri: url })
      const user = await server.addUser()
      await signInAndOut(server, client, user)
      const deadline = Date.now() + 5_000
      let next: number | undefined
      while (Date.now() < deadline) {
        next = await server.store.nextLogoutDeliveryAt()
        // Claimed: due at now + lease (5); failed at the timeout: due again at now + 1.
        if (next === server.clock.now() + 1) break
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      expect(next).toBe(server.clock.now() + 1)
    } finally {
      await server.close()
      hanging.closeAllConnections()
      await new Promise((resolve) => hanging.close(resolve))
    }
  })

  it('the queue survives a restart (SQLite): what failed before the restart is delivered after it, by one instance', async () => {
    receiver.statuses = [503, 200]
    const { server, client, user } = await serverWithApp({ ...fast, retryDelays: [2] })
    const second: { close?: () => Promise<void> } = {}
    try {
      await signInAndOut(server, client, user)
      await receiver.received(1)
      await dueAt(server, server.clock.now() + 2)
      // The server stops with the retry queued; a new one on the same database takes over.
      await server.app.close()
      const store = (await openStore(server.config.db)).store
      const keys = new KeyRing(store, loadKeyEncryptionKey({ dataDir: server.config.dataDir }), {
        activationDelay: server.config.keys.activationDelay,
        maxTokenLifetime: Math.max(server.config.lifetimes.accessToken, server.config.lifetimes.idToken),
        cacheTtl: server.config.keys.cacheTtl,
      })
      const app = await buildApp(server.config, { store, keys, now: server.clock.now, logoutDelivery: { settings: fast } })
      second.close = async () => {
        await app.close()
        await store.close()
      }
      // Two instances on one queue: both look, one delivers.
      const third = await buildApp(server.config, { store: server.store, keys: server.keys, now: server.clock.now, logoutDelivery: { settings: fast } })
      const closeThird = () => third.close()
      const closeSecond = second.close
      second.close = async () => {
        await closeThird()
        await closeSecond()
      }
      server.clock.advance(2)
      // The restarted server answers at the issuer again (its JWKS verifies the token below).
      await Promise.all([app.listen({ port: Number(new URL(server.url).port), host: '127.0.0.1' }), third.ready()])
      await receiver.received(2)
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      expect(receiver.requests).toHaveLength(2)
      await verifyLogoutToken(server, receiver.tokens[1] ?? '', client.clientId)
      expect(await store.nextLogoutDeliveryAt()).toBeUndefined()
    } finally {
      await second.close?.()
      await server.close()
    }
  })
})
