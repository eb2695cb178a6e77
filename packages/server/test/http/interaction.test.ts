/**
 * The login and consent pages over HTTP (SECURITY.md 6–8; security checklist §1.2, ST-05, §1.11,
 * BI-17, BI-20): forms bound to the interaction and the browser, headers on every page, consent
 * shown and remembered, login throttled without telling users apart, and at most one code per
 * interaction whatever is replayed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Browser, authorizeQuery, hiddenInput, locationOf, pkcePair, startServer, type TestClient, type TestServer } from '../harness.js'

const CHALLENGE = pkcePair().challenge
const EVIL = 'https://evil.test'

function query(client: TestClient, overrides: Record<string, string | undefined> = {}): string {
  return authorizeQuery(client, { code_challenge: CHALLENGE, ...overrides })
}

type User = { username: string; password: string }

/** A pending interaction of `browser`: its page URL and the page's CSRF token. */
interface Pending {
  url: string
  csrf: string
  html: string
}

/** GET /authorize, which must send the browser to an interaction page; returns that page. */
async function begin(server: TestServer, browser: Browser, client: TestClient, overrides: Record<string, string | undefined> = {}): Promise<Pending> {
  const response = await browser.get(`${server.url}/authorize?${query(client, overrides)}`)
  expect(response.status).toBe(303)
  const url = locationOf(response, server.url)
  expect(url).toMatch(new RegExp(`^${server.url}/interaction/[\\w-]+$`))
  const page = await browser.get(url)
  expect(page.status).toBe(200)
  const html = await page.text()
  return { url, csrf: hiddenInput(html, 'csrf'), html }
}

const isLoginPage = (html: string) => /<form method="post" action="[^"]*\/login"/.test(html)
const isConsentPage = (html: string) => /<form method="post" action="[^"]*\/consent"/.test(html)

function login(browser: Browser, pending: Pending, user: User, headers: Record<string, string> = {}): Promise<Response> {
  return browser.post(`${pending.url}/login`, { csrf: pending.csrf, username: user.username, password: user.password }, headers)
}

function decide(browser: Browser, pending: Pending, decision: 'approve' | 'deny', headers: Record<string, string> = {}): Promise<Response> {
  return browser.post(`${pending.url}/consent`, { csrf: pending.csrf, decision }, headers)
}

/** Follows same-origin redirects; returns the redirect that leaves the server, if any, and the last response. */
async function follow(server: TestServer, browser: Browser, response: Response): Promise<{ callback: URL | undefined; response: Response }> {
  for (let step = 0; step < 10; step++) {
    if (response.status < 300 || response.status >= 400) return { callback: undefined, response }
    expect([302, 303]).toContain(response.status)
    const next = locationOf(response, server.url)
    if (!next.startsWith(`${server.url}/`)) return { callback: new URL(next), response }
    response = await browser.get(next)
  }
  throw new Error('too many redirects')
}

/** Logs in on a pending interaction and, when the consent page comes, answers it. */
async function complete(server: TestServer, browser: Browser, pending: Pending, user: User, decision: 'approve' | 'deny' = 'approve') {
  let outcome = await follow(server, browser, await login(browser, pending, user))
  if (outcome.callback === undefined && outcome.response.status === 200) {
    const html = await outcome.response.text()
    expect(isConsentPage(html)).toBe(true)
    const consentPage = { url: pending.url, csrf: hiddenInput(html, 'csrf'), html }
    outcome = await follow(server, browser, await decide(browser, consentPage, decision))
  }
  return outcome
}

/** The consent page of a signed-in browser for a new request. */
async function consentPage(server: TestServer, browser: Browser, client: TestClient, overrides: Record<string, string | undefined> = {}): Promise<Pending> {
  const pending = await begin(server, browser, client, overrides)
  expect(isConsentPage(pending.html)).toBe(true)
  return pending
}

/** RFC 9700 §4.16 and SECURITY.md 6: the headers of every browser-facing page. */
async function expectPageHeaders(response: Response): Promise<string> {
  expect(response.headers.get('content-type')).toMatch(/^text\/html/)
  expect(response.headers.get('x-frame-options')).toBe('DENY')
  const csp = response.headers.get('content-security-policy') ?? ''
  expect(csp).toContain("frame-ancestors 'none'")
  expect(csp).toContain("default-src 'none'")
  // No inline script: a page with a passkey form loads the server's own script files, nothing else.
  expect(csp).not.toMatch(/script-src (?!'self';)/)
  expect(csp).not.toContain('unsafe-inline')
  expect(response.headers.get('cache-control')).toBe('no-store')
  expect(response.headers.get('referrer-policy')).toBe('no-referrer')
  const html = await response.text()
  expect(html.replace(/<script src="\/assets\/(?:webauthn|passkeys)\.js\?v=[\w-]{12}" defer><\/script>/g, '')).not.toMatch(/<script/i)
  expect(html).not.toMatch(/\son[a-z]+\s*=/i)
  return html
}

/** A 403 page that names the problem and does not go anywhere. */
async function expectForbidden(response: Response): Promise<void> {
  expect(response.status).toBe(403)
  expect(response.headers.get('location')).toBeNull()
  expect(response.headers.getSetCookie().some((cookie) => cookie.startsWith('authcode_session='))).toBe(false)
  await expectPageHeaders(response)
}

/** No redirect off this server, except to the client's registered redirect URI. */
function expectNoOpenRedirect(server: TestServer, response: Response, registered: string): void {
  const location = response.headers.get('location')
  if (location === null) return
  const target = new URL(location, server.url).href
  const own = target.startsWith(`${server.url}/`)
  expect(own || target.startsWith(`${registered}?`), target).toBe(true)
  if (own) expect(location, 'relative, same-origin Location').toMatch(/^\/[^/\\]/)
  expect(target).not.toContain('evil')
}

/** The code or error of the client callback after following `response` to the end. */
async function codeAfter(server: TestServer, browser: Browser, response: Response): Promise<string | null> {
  const { callback } = await follow(server, browser, response)
  return callback?.searchParams.get('code') ?? null
}

describe('the login and consent pages', () => {
  let server: TestServer
  let user: { id: string; username: string; password: string }
  let client: TestClient

  beforeAll(async () => {
    server = await startServer()
    user = await server.addUser(undefined, undefined, { name: 'Alice Example' })
    client = await server.addClient({ name: 'Photo Printer' })
  })
  afterAll(() => server.close())

  it('RFC 9700 §4.11.2: happy authz without a session shows the login page, not a redirect to the client (OR-02)', async () => {
    const browser = new Browser()
    const response = await browser.get(`${server.url}/authorize?${query(client)}`)
    expect(response.status).toBe(303)
    expect(locationOf(response, server.url).startsWith(`${server.url}/interaction/`)).toBe(true)
    const page = await browser.get(locationOf(response, server.url))
    expect(page.status).toBe(200)
    const html = await expectPageHeaders(page)
    expect(isLoginPage(html)).toBe(true)
    expect(html).toContain('Photo Printer')
  })

  it('RFC 9700 §4.12: login and consent answer 303, never 307 (UI-03)', async () => {
    const browser = new Browser()
    const pending = await begin(server, browser, client)
    const afterLogin = await login(browser, pending, user)
    expect(afterLogin.status).toBe(303)
    const consent = await browser.get(locationOf(afterLogin, server.url))
    const html = await consent.text()
    const afterConsent = await decide(browser, { ...pending, csrf: hiddenInput(html, 'csrf') }, 'approve')
    expect(afterConsent.status).toBe(303)
    const resume = await browser.get(locationOf(afterConsent, server.url))
    expect(resume.status).toBe(303)
    expect(locationOf(resume, server.url).startsWith(`${client.redirectUri}?code=`)).toBe(true)
  })

  describe('RFC 6749 §10.12: forms are bound to the interaction and the browser (ST-05)', () => {
    it('RFC 6749 §10.12: a login without the CSRF token, or with a wrong one, is 403 and signs nobody in', async () => {
      const browser = new Browser()
      const pending = await begin(server, browser, client)
      const url = `${pending.url}/login`
      await expectForbidden(await browser.post(url, { username: user.username, password: user.password }))
      await expectForbidden(await browser.post(url, { csrf: '', username: user.username, password: user.password }))
      await expectForbidden(await browser.post(url, { csrf: 'x'.repeat(43), username: user.username, password: user.password }))
      await expectForbidden(await browser.post(url, { csrf: pending.csrf.slice(1), username: user.username, password: user.password }))
      await expectForbidden(await browser.post(`${url}?csrf=${pending.csrf}`, { username: user.username, password: user.password }))
      const twice = await browser.post(url, { csrf: pending.csrf, username: user.username, password: user.password }, {})
      expect(twice.status).toBe(303) // the interaction survives the refusals
      expect(browser.cookies.has('authcode_session')).toBe(true)
    })

    it('RFC 6749 §10.12: the CSRF token of another interaction of the same browser is refused', async () => {
      const browser = new Browser()
      const first = await begin(server, browser, client)
      const second = await begin(server, browser, client)
      expect(second.csrf).not.toBe(first.csrf)
      await expectForbidden(await login(browser, { ...second, csrf: first.csrf }, user))
    })

    it('RFC 6749 §10.12: a consent without the right CSRF token is 403 and mints no code', async () => {
      const browser = new Browser()
      await complete(server, browser, await begin(server, browser, client, { prompt: 'consent' }), user)
      const pending = await consentPage(server, browser, client, { prompt: 'consent' })
      await expectForbidden(await browser.post(`${pending.url}/consent`, { decision: 'approve' }))
      await expectForbidden(await browser.post(`${pending.url}/consent`, { csrf: 'x'.repeat(43), decision: 'approve' }))
      await expectForbidden(await browser.post(`${pending.url}/consent`, { csrf: pending.csrf.toUpperCase(), decision: 'approve' }))
      // Nothing was approved: resuming mints nothing and sends the user back to the page, which still asks.
      const id = pending.url.split('/').pop() ?? ''
      const resume = await browser.get(`${server.url}/authorize/resume/${id}`)
      expect(resume.status).toBe(303)
      expect(new URL(resume.headers.get('location') ?? '', server.url).href).toBe(pending.url)
      expect(isConsentPage(await (await browser.get(pending.url)).text())).toBe(true)
    })

    it('RFC 6749 §10.12: a form posted from another origin is 403, even with the right token', async () => {
      const browser = new Browser()
      const pending = await begin(server, browser, client, { prompt: 'consent' })
      for (const origin of [EVIL, server.url.replace('localhost', '127.0.0.1'), `${server.url}.evil.test`]) {
        await expectForbidden(await login(browser, pending, user, { origin }))
      }
      const signedIn = await login(browser, pending, user, { origin: server.url })
      expect(signedIn.status).toBe(303)
      const consent = await browser.get(locationOf(signedIn, server.url))
      const csrf = hiddenInput(await consent.text(), 'csrf')
      await expectForbidden(await decide(browser, { ...pending, csrf }, 'approve', { origin: EVIL }))
      expect(await codeAfter(server, browser, await decide(browser, { ...pending, csrf }, 'approve', { origin: server.url }))).toMatch(/^[\w-]{43}$/)
    })

    it('RFC 6749 §10.12: Origin null, which browsers send from pages under Referrer-Policy no-referrer, is decided by the CSRF token', async () => {
      const browser = new Browser()
      const pending = await begin(server, browser, client, { prompt: 'consent' })
      await expectForbidden(await login(browser, { ...pending, csrf: 'x'.repeat(43) }, user, { origin: 'null' }))
      const signedIn = await login(browser, pending, user, { origin: 'null' })
      expect(signedIn.status).toBe(303)
      const consent = await browser.get(locationOf(signedIn, server.url))
      const csrf = hiddenInput(await consent.text(), 'csrf')
      expect(await codeAfter(server, browser, await decide(browser, { ...pending, csrf }, 'approve', { origin: 'null' }))).toMatch(/^[\w-]{43}$/)
    })

    it('RFC 6749 §10.12: an interaction started in another browser is refused at every step (BI-20)', async () => {
      const owner = new Browser()
      const pending = await begin(server, owner, client, { prompt: 'consent' })
      const id = pending.url.split('/').pop() ?? ''
      const cookieless = new Browser()
      const other = new Browser()
      await begin(server, other, client) // gets its own authcode_browser cookie
      expect(other.cookies.get('authcode_browser')).not.toBe(owner.cookies.get('authcode_browser'))
      for (const stranger of [cookieless, other]) {
        await expectForbidden(await stranger.get(pending.url))
        await expectForbidden(await login(stranger, pending, user))
      }
      // A tampered cookie is no better.
      const tampered = new Browser()
      const original = owner.cookies.get('authcode_browser') ?? ''
      tampered.cookies.set('authcode_browser', `${original.slice(0, -1)}${original.endsWith('A') ? 'B' : 'A'}`)
      await expectForbidden(await login(tampered, pending, user))

      // Once the owner is signed in, the consent and the resume link are the owner's alone too.
      const consent = await (await owner.get(locationOf(await login(owner, pending, user), server.url))).text()
      const csrf = hiddenInput(consent, 'csrf')
      for (const stranger of [cookieless, other]) {
        await expectForbidden(await decide(stranger, { ...pending, csrf }, 'approve'))
      }
      await decide(owner, { ...pending, csrf }, 'approve')
      for (const stranger of [cookieless, other]) {
        await expectForbidden(await stranger.get(`${server.url}/authorize/resume/${id}`))
      }
      // The owner still gets the one code.
      const resume = await owner.get(`${server.url}/authorize/resume/${id}`)
      expect(new URL(locationOf(resume, server.url)).searchParams.get('code')).toMatch(/^[\w-]{43}$/)
    })
  })

  describe('SECURITY.md 6: every page is unframeable, uncached, without referrer or script', () => {
    it('RFC 9700 §4.16: login, consent, message and error pages carry the headers (UI-01, UI-02)', async () => {
      const browser = new Browser()
      const pending = await begin(server, browser, client, { prompt: 'consent' })
      const pages: Response[] = [await browser.get(pending.url)]
      pages.push(await login(browser, pending, { username: user.username, password: 'wrong' }))
      pages.push(await browser.post(`${pending.url}/login`, { csrf: pending.csrf, username: user.username }))
      pages.push(await browser.post(`${pending.url}/login`, { username: user.username, password: user.password }))
      const signedIn = await login(browser, pending, user)
      pages.push(await browser.get(locationOf(signedIn, server.url)))
      const resume = await follow(server, browser, await decide(browser, pending, 'approve'))
      expect(resume.callback?.searchParams.get('code')).toMatch(/^[\w-]{43}$/)
      pages.push(await browser.get(pending.url)) // "Done"
      pages.push(await browser.get(`${server.url}/authorize/resume/${pending.url.split('/').pop() ?? ''}`)) // already complete
      pages.push(await browser.get(`${server.url}/interaction/00000000-0000-4000-8000-000000000000`))
      pages.push(await browser.get(`${server.url}/authorize?${query(client, { client_id: 'unknown' })}`))
      pages.push(await new Browser().get(pending.url))
      expect(pages.map((page) => page.status)).toEqual([200, 401, 400, 403, 200, 200, 400, 400, 400, 403])
      for (const page of pages) await expectPageHeaders(page)
    })

    it('RFC 6749 §10.2: the consent page names the client, the user and each scope by its description (UI-05)', async () => {
      const browser = new Browser()
      const pending = await begin(server, browser, client, { prompt: 'consent' })
      const signedIn = await login(browser, pending, user)
      const html = await expectPageHeaders(await browser.get(locationOf(signedIn, server.url)))
      expect(isConsentPage(html)).toBe(true)
      expect(html).toContain('Photo Printer')
      expect(html).toContain('Alice Example')
      for (const name of ['openid', 'profile', 'email']) {
        expect(html).toContain(server.config.scopes[name])
        expect(html).toContain(`<code>${name}</code>`)
      }
      // OIDC Core §11: offline access is asked for in words too.
      const offline = await server.addClient({ name: 'Photo Printer', redirectUris: ['https://printer.test/cb'], scope: 'openid offline_access' })
      const away = await consentPage(server, browser, offline, { scope: 'openid offline_access', prompt: 'consent' })
      expect(away.html).toContain(server.config.scopes.offline_access)
      expect(away.html).toContain('<code>offline_access</code>')
      // A narrower request lists only what it asks for.
      const narrow = await consentPage(server, browser, client, { scope: 'openid', prompt: 'consent' })
      expect(narrow.html).toContain(server.config.scopes.openid)
      expect(narrow.html).not.toContain(server.config.scopes.email)
    })

    it('RFC 6749 §10.2: a client called <script>alert(1)</script> is shown as text (BI-08)', async () => {
      const hostile = await server.addClient({ name: '<script>alert(1)</script>' })
      const browser = new Browser()
      const pending = await begin(server, browser, hostile)
      const escaped = '&lt;script&gt;alert(1)&lt;/script&gt;'
      expect(pending.html).not.toContain('<script>')
      expect(pending.html).toContain(escaped)
      const consent = await browser.get(locationOf(await login(browser, pending, user), server.url))
      const html = await expectPageHeaders(consent)
      expect(isConsentPage(html)).toBe(true)
      expect(html).toContain(escaped)
    })
  })

  describe('OIDC Core §3.1.2.4: consent', () => {
    it('RFC 6749 §4.1.2.1: deny sends access_denied with state and iss, no code, and is not remembered (AZ-13)', async () => {
      const denier = await server.addUser()
      const browser = new Browser()
      const pending = await begin(server, browser, client, { state: 'st&te' })
      const { callback, response } = await complete(server, browser, pending, denier, 'deny')
      expect(response.status).toBe(303)
      expect(callback?.origin + (callback?.pathname ?? '')).toBe(client.redirectUri)
      expect(callback?.searchParams.get('error')).toBe('access_denied')
      expect(callback?.searchParams.get('state')).toBe('st&te')
      expect(callback?.searchParams.get('iss')).toBe(server.url)
      expect(callback?.searchParams.has('code')).toBe(false)
      // The next request asks again.
      await consentPage(server, browser, client)
    })

    it('OIDC Core §3.1.2.4: consent is remembered for the same user, client and scopes', async () => {
      const someone = await server.addUser()
      const browser = new Browser()
      const first = await complete(server, browser, await begin(server, browser, client), someone)
      expect(first.callback?.searchParams.get('code')).toMatch(/^[\w-]{43}$/)
      // Same scopes, or fewer: straight back with a code.
      for (const scope of ['openid profile email', 'email openid', 'openid']) {
        const again = await browser.get(`${server.url}/authorize?${query(client, { scope })}`)
        expect(again.status).toBe(302)
        expect(new URL(locationOf(again, server.url)).searchParams.get('code')).toMatch(/^[\w-]{43}$/)
      }
      // The same user with another client is asked.
      const other = await server.addClient({ name: 'Other App' })
      await consentPage(server, browser, other)
    })

    it('OIDC Core §3.1.2.4: a wider scope, or prompt=consent, asks again', async () => {
      const someone = await server.addUser()
      const browser = new Browser()
      const first = await complete(server, browser, await begin(server, browser, client, { scope: 'openid' }), someone)
      expect(first.callback?.searchParams.get('code')).toMatch(/^[\w-]{43}$/)
      const wider = await consentPage(server, browser, client, { scope: 'openid email' })
      expect(wider.html).toContain(server.config.scopes.email)
      expect(await codeAfter(server, browser, await decide(browser, wider, 'approve'))).toMatch(/^[\w-]{43}$/)
      // Now both are remembered...
      const again = await browser.get(`${server.url}/authorize?${query(client, { scope: 'email openid' })}`)
      expect(again.status).toBe(302)
      // ...unless the client asks for the page.
      await consentPage(server, browser, client, { scope: 'openid', prompt: 'consent' })
    })

    it('OIDC Core §3.1.2.4: a first-party client skips consent', async () => {
      const firstParty = await server.addClient({ name: 'Our Own App', firstParty: true })
      const browser = new Browser()
      const pending = await begin(server, browser, firstParty)
      const afterLogin = await login(browser, pending, user)
      expect(locationOf(afterLogin, server.url)).toMatch(/\/authorize\/resume\//)
      expect(await codeAfter(server, browser, afterLogin)).toMatch(/^[\w-]{43}$/)
      // prompt=consent still shows the page.
      await consentPage(server, browser, firstParty, { prompt: 'consent' })
    })

    it('RFC 6749 §4.1.2: a double-submitted consent form mints one code (BI-17)', async () => {
      const someone = await server.addUser()
      for (const concurrent of [false, true]) {
        const browser = new Browser()
        const pending = await begin(server, browser, client, { prompt: 'consent' })
        const consent = await browser.get(locationOf(await login(browser, pending, someone), server.url))
        const csrf = hiddenInput(await consent.text(), 'csrf')
        const submit = () => decide(browser, { ...pending, csrf }, 'approve')
        const responses = concurrent ? await Promise.all([submit(), submit()]) : [await submit(), await submit()]
        const outcomes = await Promise.all(responses.map((response) => follow(server, browser, response)))
        const codes = outcomes.map((outcome) => outcome.callback?.searchParams.get('code')).filter((code) => code != null)
        expect(codes).toHaveLength(1)
      }
    })

    it('RFC 6749 §4.1.2: a replayed /authorize/resume link mints no second code (BI-17)', async () => {
      const browser = new Browser()
      const pending = await begin(server, browser, client, { prompt: 'consent' })
      const consent = await browser.get(locationOf(await login(browser, pending, user), server.url))
      const afterConsent = await decide(browser, { ...pending, csrf: hiddenInput(await consent.text(), 'csrf') }, 'approve')
      const resumeUrl = locationOf(afterConsent, server.url)
      expect(resumeUrl).toMatch(/\/authorize\/resume\//)
      // HEAD is safe: it neither mints nor uses up the code (RFC 9110 §9.2.1).
      const head = await fetch(resumeUrl, { method: 'HEAD', redirect: 'manual', headers: { cookie: `authcode_browser=${browser.cookies.get('authcode_browser') ?? ''}` } })
      expect(head.headers.get('location')).toBeNull()
      const results = await Promise.all([browser.get(resumeUrl), browser.get(resumeUrl)])
      const replay = await browser.get(resumeUrl)
      const codes = [...results, replay].map((response) => response.headers.get('location')).filter((location) => location?.includes('code='))
      expect(codes).toHaveLength(1)
      expect(replay.status).toBe(400)
      expect(replay.headers.get('location')).toBeNull()
    })

    it('OIDC Core §3.1.2.4: a consent without a decision is a 400 page, not a code', async () => {
      const browser = new Browser()
      const pending = await begin(server, browser, client, { prompt: 'consent' })
      const consent = await browser.get(locationOf(await login(browser, pending, user), server.url))
      const csrf = hiddenInput(await consent.text(), 'csrf')
      for (const form of [{ csrf }, { csrf, decision: 'yes' }] as Record<string, string>[]) {
        const response = await browser.post(`${pending.url}/consent`, form)
        expect(response.status).toBe(400)
        expect(response.headers.get('location')).toBeNull()
      }
    })
  })

  describe('SECURITY.md 7: login', () => {
    it('RFC 6749 §10.10: a wrong password and an unknown user get the same status and page', async () => {
      const browser = new Browser()
      const pending = await begin(server, browser, client)
      const wrong = await login(browser, pending, { username: user.username, password: 'not the password' })
      const unknown = await login(browser, pending, { username: 'nobody-at-all', password: 'not the password' })
      expect(wrong.status).toBe(401)
      expect(unknown.status).toBe(wrong.status)
      // Each page has a fresh passkey challenge: the rest is the same.
      const normalise = (html: string, username: string) => html.replaceAll(username, 'USERNAME').replace(/&quot;challenge&quot;:&quot;[\w-]+&quot;/, 'CHALLENGE')
      expect(normalise(await unknown.text(), 'nobody-at-all')).toBe(normalise(await wrong.text(), user.username))
      expect(wrong.headers.getSetCookie()).toEqual([])
      expect(unknown.headers.getSetCookie()).toEqual([])
    })

    it('OIDC Core §3.1.2.3: a login without username or password is refused without a session', async () => {
      const browser = new Browser()
      const pending = await begin(server, browser, client)
      const forms: Record<string, string>[] = [{ csrf: pending.csrf }, { csrf: pending.csrf, username: user.username }, { csrf: pending.csrf, password: user.password }]
      for (const form of forms) {
        const response = await browser.post(`${pending.url}/login`, form)
        expect(response.status).toBe(400)
        expect(response.headers.get('location')).toBeNull()
      }
      // A username given twice is no username (RFC 6749 §3.1 reading of form parameters).
      const cookie = [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
      const body = new URLSearchParams([['csrf', pending.csrf], ['username', user.username], ['username', user.username], ['password', user.password]])
      const twice = await fetch(`${pending.url}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
        body: body.toString(),
      })
      expect(twice.status).toBe(400)
      expect(twice.headers.get('location')).toBeNull()
      expect(twice.headers.getSetCookie()).toEqual([])
      expect(browser.cookies.has('authcode_session')).toBe(false)
    })

    it('RFC 6265 §4.1.2: the session cookie is HttpOnly and SameSite=Lax, not Secure on http, and new at each login (UI-06)', async () => {
      const browser = new Browser()
      const pending = await begin(server, browser, client)
      const binding = browser.cookies.get('authcode_browser') ?? ''
      const response = await login(browser, pending, user)
      const cookie = response.headers.getSetCookie().find((line) => line.startsWith('authcode_session=')) ?? ''
      expect(cookie).toMatch(/; HttpOnly/i)
      expect(cookie).toMatch(/; SameSite=Lax/i)
      expect(cookie).not.toMatch(/; Secure/i)
      expect(cookie).toMatch(/; Path=\//i)
      const first = browser.cookies.get('authcode_session')
      expect(first).toMatch(/^[\w-]{43}$/)
      expect(first).not.toBe(binding)
      // The browser binding has the same flags.
      const bindingPage = await new Browser().get(`${server.url}/authorize?${query(client)}`)
      const bindingCookie = bindingPage.headers.getSetCookie().find((line) => line.startsWith('authcode_browser=')) ?? ''
      expect(bindingCookie).toMatch(/; HttpOnly/i)
      expect(bindingCookie).toMatch(/; SameSite=Lax/i)
      // A fresh login (prompt=login) gets a fresh session value (no fixation).
      const again = await begin(server, browser, client, { prompt: 'login' })
      await login(browser, again, user)
      expect(browser.cookies.get('authcode_session')).not.toBe(first)
    })
  })

  describe('RFC 9700 §4.11: no open redirect from the pages (OR-01)', () => {
    const lures = { next: '//evil.test', return_to: EVIL, redirect_uri: EVIL, redirect: `${EVIL}/x`, continue: '/\\evil.test', url: 'https:evil.test' }
    const lureQuery = new URLSearchParams(lures).toString()

    it('RFC 9700 §4.11: login and consent follow no URL taken from a parameter', async () => {
      const browser = new Browser()
      const page = await browser.get(`${server.url}/authorize?${query(client, { prompt: 'consent' })}`)
      const url = locationOf(page, server.url)
      const shown = await browser.get(`${url}?${lureQuery}`)
      expect(shown.status).toBe(200)
      expectNoOpenRedirect(server, shown, client.redirectUri)
      const pending: Pending = { url, csrf: hiddenInput(await shown.text(), 'csrf'), html: '' }

      const afterLogin = await browser.post(`${url}/login?${lureQuery}`, { ...lures, csrf: pending.csrf, username: user.username, password: user.password })
      expect(afterLogin.status).toBe(303)
      expectNoOpenRedirect(server, afterLogin, client.redirectUri)
      const consent = await browser.get(`${locationOf(afterLogin, server.url)}?${lureQuery}`)
      expectNoOpenRedirect(server, consent, client.redirectUri)
      const afterConsent = await browser.post(`${url}/consent?${lureQuery}`, { ...lures, csrf: pending.csrf, decision: 'approve' })
      expectNoOpenRedirect(server, afterConsent, client.redirectUri)
      const resume = await browser.get(`${locationOf(afterConsent, server.url)}?${lureQuery}`)
      expectNoOpenRedirect(server, resume, client.redirectUri)
      expect(locationOf(resume, server.url).startsWith(`${client.redirectUri}?code=`)).toBe(true)
    })

    it.each(['/login?return_to=https://evil.test', '/logout?post_logout_redirect_uri=https://evil.test', '/consent?next=//evil.test', '/interaction?next=/%5Cevil.test', '/?next=https:evil.test'])(
      'RFC 9700 §4.11: %s redirects nowhere',
      async (path) => {
        const response = await fetch(`${server.url}${path}`, { redirect: 'manual' })
        expect(response.headers.get('location')).toBeNull()
        expect(response.status === 200 || response.status === 404).toBe(true)
      },
    )
  })
})

describe('login throttling and lifetimes (SECURITY.md 7)', () => {
  let server: TestServer
  let client: TestClient
  beforeAll(async () => {
    server = await startServer({ rateLimit: { loginPerIp: { max: 1000, window: 900 } } })
    client = await server.addClient({ name: 'Throttled App' })
  })
  afterAll(() => server.close())

  it('SECURITY.md 27: past five failures each attempt waits longer (15 s, 30 s, …), the right password included; no lock', async () => {
    const victim = await server.addUser()
    const bystander = await server.addUser()
    const browser = new Browser()
    const pending = await begin(server, browser, client)
    for (let attempt = 0; attempt < 5; attempt++) {
      expect((await login(browser, pending, { username: victim.username, password: `wrong ${attempt}` })).status).toBe(401)
    }
    const waiting = await login(browser, pending, victim)
    expect(waiting.status).toBe(429)
    expect(waiting.headers.get('retry-after')).toBe('15')
    expect(waiting.headers.getSetCookie().some((cookie) => cookie.startsWith('authcode_session='))).toBe(false)
    expect(await expectPageHeaders(waiting)).toContain('Wait 15 seconds')
    // Another account from the same place is not slowed down.
    const elsewhere = new Browser()
    expect((await login(elsewhere, await begin(server, elsewhere, client), bystander)).status).toBe(303)

    // After the wait one more guess is checked, and the next wait is longer.
    server.clock.advance(15)
    expect((await login(browser, pending, { username: victim.username, password: 'wrong again' })).status).toBe(401)
    const longer = await login(browser, pending, victim)
    expect(longer.status).toBe(429)
    expect(longer.headers.get('retry-after')).toBe('30')
    server.clock.advance(30)
    expect((await login(browser, pending, victim)).status).toBe(303)
  })

  it('SECURITY.md 27: usernames are compared byte for byte: another case is another (unknown) account with its own counter', async () => {
    const victim = await server.addUser(`Case-${Date.now()}`)
    const browser = new Browser()
    const pending = await begin(server, browser, client)
    for (let attempt = 0; attempt < 5; attempt++) {
      expect((await login(browser, pending, { username: victim.username.toLowerCase(), password: victim.password })).status).toBe(401)
    }
    expect((await login(browser, pending, victim)).status).toBe(303)
  })

  it('RFC 6749 §10.10: an unknown account is throttled exactly like a known one', async () => {
    const known = await server.addUser()
    const statuses = async (username: string) => {
      const browser = new Browser()
      const pending = await begin(server, browser, client)
      const seen: number[] = []
      for (let attempt = 0; attempt < 6; attempt++) {
        seen.push((await login(browser, pending, { username, password: 'wrong' })).status)
      }
      return seen
    }
    const forKnown = await statuses(known.username)
    expect(forKnown).toEqual([401, 401, 401, 401, 401, 429])
    expect(await statuses('no-such-user-anywhere')).toEqual(forKnown)
  })

  it('OIDC Core §3.1.2.3: an expired interaction shows an error page and mints nothing', async () => {
    const someone = await server.addUser()
    const browser = new Browser()
    const beforeLogin = await begin(server, browser, client)
    const atConsent = await begin(server, browser, client)
    const consentUrl = locationOf(await login(browser, atConsent, someone), server.url)
    const consentCsrf = hiddenInput(await (await browser.get(consentUrl)).text(), 'csrf')

    server.clock.advance(server.config.lifetimes.interaction + 1)
    const page = await browser.get(beforeLogin.url)
    expect(page.status).toBe(400)
    expect(await expectPageHeaders(page)).toContain('expired')
    const late = await login(browser, beforeLogin, someone)
    expect(late.status).toBe(400)
    expect(late.headers.get('location')).toBeNull()
    const lateConsent = await decide(browser, { ...atConsent, csrf: consentCsrf }, 'approve')
    expect(lateConsent.status).toBe(400)
    expect(lateConsent.headers.get('location')).toBeNull()
    const resume = await browser.get(`${server.url}/authorize/resume/${atConsent.url.split('/').pop() ?? ''}`)
    expect(resume.status).toBe(400)
    expect(resume.headers.get('location')).toBeNull()
  })
})

describe('login throttling per IP (SECURITY.md 7)', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ rateLimit: { loginPerIp: { max: 3, window: 600 } } })
  })
  afterAll(() => server.close())

  it('RFC 6749 §10.10: failures for different accounts from one IP add up to a 429', async () => {
    const client = await server.addClient()
    const user = await server.addUser()
    const browser = new Browser()
    const pending = await begin(server, browser, client)
    for (const username of ['one', 'two', 'three']) {
      expect((await login(browser, pending, { username, password: 'wrong' })).status).toBe(401)
    }
    const blocked = await login(browser, pending, user)
    expect(blocked.status).toBe(429)
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0)
    // A forwarded-for header from the client does not make it another IP (trustProxy is off).
    expect((await login(browser, pending, user, { 'x-forwarded-for': '203.0.113.7' })).status).toBe(429)
    expect(browser.cookies.has('authcode_session')).toBe(false)

    server.clock.advance(601)
    const fresh = await begin(server, browser, client)
    expect((await login(browser, fresh, user)).status).toBe(303)
  })
})

describe('consent for first-party clients can be required (consent.skipForFirstParty: false)', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ consent: { skipForFirstParty: false } })
  })
  afterAll(() => server.close())

  it('OIDC Core §3.1.2.4: a first-party client is asked for consent when the config says so', async () => {
    const client = await server.addClient({ name: 'Our Own App', firstParty: true })
    const user = await server.addUser()
    const browser = new Browser()
    const pending = await begin(server, browser, client)
    const consent = await browser.get(locationOf(await login(browser, pending, user), server.url))
    expect(isConsentPage(await consent.text())).toBe(true)
  })
})
