/**
 * The account page (issue #7, connected apps) over HTTP: a signed-in user lists the apps they let
 * in and removes one's access in two CSRF-protected steps; removal revokes every grant of that user
 * to that app (RFC 7009 §2.1: its refresh tokens are `invalid_grant`, its access tokens inactive at
 * introspection, RFC 7662 §2.2, and refused at UserInfo, RFC 6750 §3.1) and the app must ask for
 * consent again. Not signed in, the page is a sign-in form over the same password check, throttle
 * and login session as the authorization request's login page (SECURITY.md 6, 7).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectOAuthError, introspect, refresh, userinfoStatus, type Json, type User } from '../back-channel.js'
import {
  Browser,
  authorize,
  authorizeQuery,
  hiddenInput,
  locationOf,
  obtainTokens,
  pkcePair,
  startServer,
  type TestClient,
  type TestServer,
} from '../harness.js'

/** The headers of every browser-facing page (SECURITY.md 6); returns the body. */
async function expectPage(response: Response, status = 200): Promise<string> {
  const html = await response.text()
  expect({ status: response.status, html }).toMatchObject({ status })
  expect(response.headers.get('content-type')).toMatch(/^text\/html/)
  expect(response.headers.get('cache-control')).toBe('no-store')
  expect(response.headers.get('x-frame-options')).toBe('DENY')
  expect(response.headers.get('referrer-policy')).toBe('no-referrer')
  const csp = response.headers.get('content-security-policy') ?? ''
  expect(csp).toContain("frame-ancestors 'none'")
  expect(csp).toContain("form-action 'self'")
  // No inline script: a page with a passkey form loads the server's own script files, nothing else.
  expect(csp).not.toMatch(/script-src (?!'self';)/)
  expect(html.replace(/<script src="\/assets\/(?:webauthn|passkeys)\.js\?v=[\w-]{12}" defer><\/script>/g, '')).not.toMatch(/<script/i)
  return html
}

interface AccountPage {
  html: string
  csrf: string
}

async function accountPage(server: TestServer, browser: Browser): Promise<AccountPage> {
  const html = await expectPage(await browser.get(`${server.url}/account`))
  return { html, csrf: hiddenInput(html, 'csrf') }
}

const removeUrl = (server: TestServer, clientId: string) => `${server.url}/account/apps/${encodeURIComponent(clientId)}/remove`
const isSignIn = (html: string) => /<h1>Sign in<\/h1>/.test(html) && /action="\/account\/login"/.test(html)

/** Both steps of "Remove access", as a user who confirms; returns the final response. */
async function removeAccess(server: TestServer, browser: Browser, clientId: string): Promise<Response> {
  const { csrf } = await accountPage(server, browser)
  const confirm = await expectPage(await browser.post(removeUrl(server, clientId), { csrf }))
  expect(confirm).toContain('<h1>Remove access?</h1>')
  return browser.post(`${removeUrl(server, clientId)}/confirm`, { csrf: hiddenInput(confirm, 'csrf') })
}

/** Asserts that `tokens` still work everywhere (or, with `live` false, nowhere). */
async function expectTokensLive(server: TestServer, client: TestClient, tokens: Json, live: boolean): Promise<Json | undefined> {
  const accessToken = String(tokens.access_token)
  expect(await userinfoStatus(server, accessToken)).toBe(live ? 200 : 401)
  expect((await introspect(server, client, accessToken)).active).toBe(live)
  const refreshed = await refresh(server, client, String(tokens.refresh_token))
  if (!live) {
    await expectOAuthError(refreshed, 400, 'invalid_grant')
    return undefined
  }
  expect(refreshed.status).toBe(200)
  return (await refreshed.json()) as Json
}

async function signIn(server: TestServer, browser: Browser, user: User): Promise<Response> {
  const page = await expectPage(await browser.get(`${server.url}/account`))
  expect(isSignIn(page)).toBe(true)
  return browser.post(`${server.url}/account/login`, { csrf: hiddenInput(page, 'csrf'), username: user.username, password: user.password })
}

describe('the account page: connected apps (issue #7)', () => {
  let server: TestServer
  let client: TestClient
  let other: TestClient

  beforeAll(async () => {
    server = await startServer()
    client = await server.addClient({ name: 'Photo Printer' })
    other = await server.addClient({ name: '<script>alert(1)</script> & Co' })
  })
  afterAll(() => server.close())

  it('lists every app the user allowed: its name (escaped), scopes, when access was given and when a token was last issued', async () => {
    const user = await server.addUser()
    const consentedAt = server.clock.now()
    const { tokens, browser } = await obtainTokens(server, client, user, { scope: 'openid profile' })
    await obtainTokens(server, other, user, { scope: 'openid email' })
    server.clock.advance(600)
    expect((await refresh(server, client, String(tokens.refresh_token))).status).toBe(200)

    const { html } = await accountPage(server, browser)
    expect(html).toContain('<h1>Your account</h1>')
    expect(html).toContain('<h2>Connected apps</h2>')
    expect(html).toContain('<h3>Photo Printer</h3>')
    expect(html).toContain('<h3>&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co</h3>')
    expect(html).not.toContain('<script>')
    // Sorted by name: the `<script>` client first.
    expect(html.indexOf('&lt;script&gt;')).toBeLessThan(html.indexOf('Photo Printer'))

    const printer = html.slice(html.indexOf('<h3>Photo Printer</h3>'))
    const section = printer.slice(0, printer.indexOf('</li>\n<'))
    for (const scope of ['openid', 'profile']) expect(section).toContain(`<code>${scope}</code>`)
    expect(section).not.toContain('<code>email</code>')
    const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z')
    expect(section).toContain(`<time datetime="${iso(consentedAt)}">`)
    expect(section).toContain(`<time datetime="${iso(consentedAt + 600)}">`)
    expect(section).toMatch(/<button type="submit" class="danger">Remove access<span class="visually-hidden"> for Photo Printer<\/span><\/button>/)
    expect(html).toContain(`action="/account/apps/${encodeURIComponent(client.clientId)}/remove"`)
    expect(html).toMatch(/<button type="submit" class="secondary">Sign out<\/button>/)
  })

  it('lists a first-party app let in without asking, says so, and removing it signs it out (its next sign-in lets it in again)', async () => {
    const ours = await server.addClient({ name: 'Our Own App', firstParty: true })
    const user = await server.addUser()
    const { tokens, browser } = await obtainTokens(server, ours, user, { scope: 'openid profile' })
    const { html } = await accountPage(server, browser)
    const section = html.slice(html.indexOf('<h3>Our Own App</h3>'))
    expect(section.slice(0, section.indexOf('</form>'))).toMatch(/<dt>Access since<\/dt>[\s\S]*part of this service: it signs you in without asking/)
    for (const scope of ['openid', 'profile']) expect(section).toContain(`<code>${scope}</code>`)

    const { csrf } = await accountPage(server, browser)
    const confirm = await expectPage(await browser.post(removeUrl(server, ours.clientId), { csrf }))
    expect(confirm).toContain('gets access again the next time you sign in to it')
    const done = await browser.post(`${removeUrl(server, ours.clientId)}/confirm`, { csrf: hiddenInput(confirm, 'csrf') })
    expect(done.status).toBe(303)
    await expectTokensLive(server, ours, tokens, false)
    expect((await accountPage(server, browser)).html).not.toContain('Our Own App')
  })

  it('shows an empty state when no app has access', async () => {
    const user = await server.addUser()
    const browser = new Browser()
    expect((await signIn(server, browser, user)).status).toBe(303)
    const { html } = await accountPage(server, browser)
    expect(html).toContain('No apps have access to your account.')
    expect(html).not.toContain('class="apps"')
  })

  it('not signed in: /account is a sign-in form, and signing in there starts a login session that /authorize honours', async () => {
    const user = await server.addUser()
    const browser = new Browser()
    const page = await expectPage(await browser.get(`${server.url}/account`))
    expect(isSignIn(page)).toBe(true)
    expect(page).toMatch(/<input type="text" id="username" name="username"/)
    expect(page).toMatch(/<input type="password" id="password" name="password"/)
    expect(browser.cookies.has('authcode_browser')).toBe(true)
    expect(browser.cookies.has('authcode_session')).toBe(false)

    const wrong = await browser.post(`${server.url}/account/login`, { csrf: hiddenInput(page, 'csrf'), username: user.username, password: 'wrong' })
    const wrongPage = await expectPage(wrong, 401)
    expect(wrongPage).toContain('The username or password is incorrect.')
    expect(browser.cookies.has('authcode_session')).toBe(false)

    const signedIn = await signIn(server, browser, user)
    expect(signedIn.status).toBe(303)
    expect(locationOf(signedIn, server.url)).toBe(`${server.url}/account`)
    expect(browser.cookies.has('authcode_session')).toBe(true)
    expect((await accountPage(server, browser)).html).toContain('Alice Example')

    // The same login session: the next authorization request goes straight to consent.
    const authorize = await browser.get(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: pkcePair().challenge })}`)
    const interaction = await expectPage(await browser.get(locationOf(authorize, server.url)))
    expect(interaction).toContain('<h1>Allow access?</h1>')
  })

  it('RFC 6749 §10.12: signing in at /account needs this browser\'s CSRF token', async () => {
    const user = await server.addUser()
    const browser = new Browser()
    await browser.get(`${server.url}/account`)
    const form = { username: user.username, password: user.password }
    for (const csrf of [undefined, 'forged', hiddenInput(await (await new Browser().get(`${server.url}/account`)).text(), 'csrf')]) {
      const response = await browser.post(`${server.url}/account/login`, csrf === undefined ? form : { ...form, csrf })
      expect(await expectPage(response, 403)).toContain('not sent from your account page')
    }
    expect(browser.cookies.has('authcode_session')).toBe(false)
  })

  it('SECURITY.md 7: sign-in failures at /account count in the same throttle as the login page', async () => {
    const user = await server.addUser()
    const browser = new Browser()
    const csrf = hiddenInput(await (await browser.get(`${server.url}/account`)).text(), 'csrf')
    const statuses: number[] = []
    for (let attempt = 0; attempt <= server.config.rateLimit.loginPerAccount.max; attempt++) {
      statuses.push((await browser.post(`${server.url}/account/login`, { csrf, username: user.username, password: `wrong ${attempt}` })).status)
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429])
    const locked = await browser.post(`${server.url}/account/login`, { csrf, username: user.username, password: user.password })
    expect(await expectPage(locked, 429)).toContain('Too many failed sign-in attempts')
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0)
    // The authorization request's login page sees the same lock.
    const { response } = await authorize(server, new Browser(), authorizeQuery(client, { code_challenge: pkcePair().challenge }), user)
    expect(response.status).toBe(429)
  })

  it('RFC 6749 §10.12: "Remove access" without, with a wrong or with another browser\'s CSRF token, or from another origin, is 403 and revokes nothing', async () => {
    const user = await server.addUser()
    const { tokens, browser } = await obtainTokens(server, client, user)
    const { csrf } = await accountPage(server, browser)
    const otherBrowserCsrf = hiddenInput(await (await new Browser().get(`${server.url}/account`)).text(), 'csrf')
    const attempts: [string, Record<string, string>, Record<string, string>][] = [
      ['remove', {}, {}],
      ['remove', { csrf: 'forged' }, {}],
      ['remove', { csrf: otherBrowserCsrf }, {}],
      ['remove', { csrf }, { origin: 'https://evil.test' }],
      ['remove/confirm', {}, {}],
      ['remove/confirm', { csrf: `${csrf}x` }, {}],
      ['remove/confirm', { csrf: otherBrowserCsrf }, {}],
      ['remove/confirm', { csrf }, { origin: 'https://evil.test' }],
    ]
    for (const [step, form, headers] of attempts) {
      const response = await browser.post(`${server.url}/account/apps/${encodeURIComponent(client.clientId)}/${step}`, form, headers)
      expect(await expectPage(response, 403)).toContain('not sent from your account page')
    }
    expect(await server.store.getConsent((await server.store.getUserByUsername(user.username))?.id ?? '', client.clientId)).toBeDefined()
    await expectTokensLive(server, client, tokens, true)
  })

  it('RFC 7009 §2.1: removing access with confirmation revokes every grant of the user to the app: refresh invalid_grant, introspection inactive, UserInfo 401', async () => {
    const user = await server.addUser()
    const first = await obtainTokens(server, client, user)
    const rotated = await expectTokensLive(server, client, first.tokens, true)
    const second = await obtainTokens(server, client, user) // a second grant, from another browser
    const untouched = await obtainTokens(server, other, user)

    const removed = await removeAccess(server, first.browser, client.clientId)
    expect(removed.status).toBe(303)
    expect(locationOf(removed, server.url)).toBe(`${server.url}/account?removed=1`)

    const after = await accountPage(server, first.browser)
    expect(after.html).not.toContain('Access removed.')
    const notice = await expectPage(await first.browser.get(locationOf(removed, server.url)))
    expect(notice).toMatch(/<p class="notice" role="status">Access removed\./)
    expect(after.html).not.toContain('Photo Printer')
    expect(after.html).toContain('&lt;script&gt;')
    const userId = (await server.store.getUserByUsername(user.username))?.id ?? ''
    expect(await server.store.getConsent(userId, client.clientId)).toBeUndefined()

    for (const tokens of [rotated ?? {}, second.tokens]) await expectTokensLive(server, client, tokens, false)
    expect((await introspect(server, client, String(first.tokens.access_token))).active).toBe(false)
    expect(await userinfoStatus(server, String(first.tokens.access_token))).toBe(401)
    // The other app keeps its access.
    await expectTokensLive(server, other, untouched.tokens, true)

    // Doing it again: nothing left to remove.
    const again = await first.browser.post(`${removeUrl(server, client.clientId)}/confirm`, { csrf: after.csrf })
    expect(await expectPage(again, 404)).toContain('This app has no access to your account.')
  })

  it('OIDC Core §3.1.2.4: after removal, the next authorization request for that app asks for consent again', async () => {
    const user = await server.addUser()
    const { browser } = await obtainTokens(server, client, user)
    const query = () => authorizeQuery(client, { code_challenge: pkcePair().challenge })
    // Before: the remembered consent sends the browser straight back to the app with a code.
    const before = await browser.get(`${server.url}/authorize?${query()}`)
    expect(new URL(locationOf(before, server.url)).searchParams.has('code')).toBe(true)
    expect(locationOf(before, server.url).startsWith(client.redirectUri)).toBe(true)

    expect((await removeAccess(server, browser, client.clientId)).status).toBe(303)

    const after = await browser.get(`${server.url}/authorize?${query()}`)
    const page = await expectPage(await browser.get(locationOf(after, server.url)))
    expect(page).toContain('<h1>Allow access?</h1>')
    expect(page).toContain('Photo Printer')
  })

  it('a user can remove only their own apps: another user\'s app is 404 and keeps its access', async () => {
    const alice = await server.addUser()
    const mallory = await server.addUser()
    const alices = await obtainTokens(server, other, alice)
    const browser = new Browser()
    expect((await signIn(server, browser, mallory)).status).toBe(303)
    const { csrf } = await accountPage(server, browser)
    for (const url of [removeUrl(server, other.clientId), `${removeUrl(server, other.clientId)}/confirm`]) {
      const response = await browser.post(url, { csrf })
      expect(await expectPage(response, 404)).toContain('This app has no access to your account.')
    }
    await expectTokensLive(server, other, alices.tokens, true)
  })

  it('unknown and malformed client ids are a clear 4xx, never a 500', async () => {
    const user = await server.addUser()
    const browser = new Browser()
    await signIn(server, browser, user)
    const { csrf } = await accountPage(server, browser)
    for (const clientId of ['nope', '%00', '%E0%A4%A', 'x'.repeat(300)]) {
      const response = await browser.post(`${server.url}/account/apps/${clientId}/remove`, { csrf })
      expect(response.status).toBeGreaterThanOrEqual(400)
      expect(response.status).toBeLessThan(500)
      await response.body?.cancel()
    }
    const notForm = await fetch(removeUrl(server, 'nope'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(notForm.status).toBe(403)
  })

  it('not signed in, "Remove access" goes back to the sign-in form and revokes nothing', async () => {
    const user = await server.addUser()
    const { tokens } = await obtainTokens(server, client, user)
    const stranger = new Browser()
    const csrf = hiddenInput(await (await stranger.get(`${server.url}/account`)).text(), 'csrf')
    for (const url of [removeUrl(server, client.clientId), `${removeUrl(server, client.clientId)}/confirm`]) {
      const response = await stranger.post(url, { csrf })
      expect(response.status).toBe(303)
      expect(locationOf(response, server.url)).toBe(`${server.url}/account`)
    }
    await expectTokensLive(server, client, tokens, true)
  })

  it('"Sign out" ends the login session: the cookie is cleared and the old session is gone from the store', async () => {
    const user = await server.addUser()
    const browser = new Browser()
    await signIn(server, browser, user)
    const sessionCookie = browser.cookies.get('authcode_session') ?? ''
    const { csrf } = await accountPage(server, browser)
    expect((await browser.post(`${server.url}/account/logout`, {})).status).toBe(403)
    const out = await browser.post(`${server.url}/account/logout`, { csrf })
    expect(out.status).toBe(303)
    expect(locationOf(out, server.url)).toBe(`${server.url}/account`)
    expect(browser.cookies.has('authcode_session')).toBe(false)
    expect(isSignIn(await expectPage(await browser.get(`${server.url}/account`)))).toBe(true)
    // The old cookie value, replayed, signs nobody in.
    const replay = await fetch(`${server.url}/account`, { headers: { cookie: `authcode_session=${sessionCookie}` } })
    expect(isSignIn(await expectPage(replay))).toBe(true)
  })
})
