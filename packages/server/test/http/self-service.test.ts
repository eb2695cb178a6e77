/**
 * Self-service on the account page over HTTP (issue #20): the browsers a user is signed in to,
 * "sign out everywhere" (two CSRF-protected steps; every login session of the user ends, this one
 * included, and the apps signed in to in them get a back-channel logout token), and the password
 * change (the current password first, checked and throttled as a sign-in is; the new one obeys
 * the rule of every password; every other browser is signed out; an audit event without the
 * password).
 */
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditEvent } from '../../src/http/audit.js'
import { refresh } from '../back-channel.js'
import { Browser, hiddenInput, locationOf, obtainTokens, startServer, type TestClient, type TestServer } from '../harness.js'

const NEW_PASSWORD = 'a brand new passphrase'

/** The headers of every browser-facing page (SECURITY.md 6); returns the body. */
async function expectPage(response: Response, status = 200): Promise<string> {
  const html = await response.text()
  expect({ status: response.status, html: html.slice(0, 2000) }).toMatchObject({ status })
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

const isSignIn = (html: string) => /<h1>Sign in<\/h1>/.test(html) && /action="\/account\/login"/.test(html)

/** A new browser signed in as `user` at the account page. */
async function signedIn(server: TestServer, user: { username: string; password: string }): Promise<Browser> {
  const browser = new Browser()
  const page = await expectPage(await browser.get(`${server.url}/account`))
  const response = await browser.post(`${server.url}/account/login`, { csrf: hiddenInput(page, 'csrf'), username: user.username, password: user.password })
  expect(response.status).toBe(303)
  return browser
}

async function accountPage(server: TestServer, browser: Browser): Promise<{ html: string; csrf: string }> {
  const html = await expectPage(await browser.get(`${server.url}/account`))
  expect(isSignIn(html)).toBe(false)
  return { html, csrf: hiddenInput(html, 'csrf') }
}

async function isSignedIn(server: TestServer, browser: Browser): Promise<boolean> {
  return !isSignIn(await expectPage(await browser.get(`${server.url}/account`)))
}

/** The "Where you are signed in" section: each browser's heading, in order. */
function browsersShown(html: string): string[] {
  const start = html.indexOf('<section class="browsers">')
  const section = html.slice(start, html.indexOf('</section>', start))
  return [...section.matchAll(/<h3>([^<]+)<\/h3>/g)].map((match) => match[1] ?? '')
}

function changePassword(server: TestServer, browser: Browser, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return browser.post(`${server.url}/account/password`, form, headers)
}

/** The password form as a user fills it in. */
const passwordForm = (csrf: string, current: string, next = NEW_PASSWORD, repeated = next) => ({ csrf, current_password: current, new_password: next, repeat_password: repeated })

describe('the account page: signed-in browsers and sign out everywhere (issue #20)', () => {
  let server: TestServer
  let client: TestClient
  const events: AuditEvent[] = []
  const delivered: { uri: string; token: string }[] = []

  beforeAll(async () => {
    server = await startServer(
      {},
      {
        deps: {
          onEvent: (event) => void events.push(event),
          // Every back-channel logout POST, answered 200 as a client that logged the session out.
          logoutDelivery: {
            post: async (uri, body) => {
              delivered.push({ uri, token: new URLSearchParams(body).get('logout_token') ?? '' })
              return { status: 200 }
            },
          },
        },
      },
    )
    client = await server.addClient({ name: 'Photo Printer', backchannelLogoutUri: 'https://rp.test/backchannel-logout' })
  })
  afterAll(() => server.close())

  it('lists every browser the user is signed in to, the latest sign-in first, this browser marked, with its dates', async () => {
    const user = await server.addUser()
    const first = await signedIn(server, user)
    const firstAt = server.clock.now()
    server.clock.advance(3600)
    const second = await signedIn(server, user)
    const stranger = await signedIn(server, await server.addUser())

    const fromSecond = await accountPage(server, second)
    expect(browsersShown(fromSecond.html)).toEqual(['This browser', 'Another browser'])
    expect(browsersShown((await accountPage(server, first)).html)).toEqual(['Another browser', 'This browser'])
    expect(browsersShown((await accountPage(server, stranger)).html)).toEqual(['This browser'])
    const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z')
    const section = fromSecond.html.slice(fromSecond.html.indexOf('<section class="browsers">'))
    expect(section).toContain(`<dt>Signed in since</dt>\n      <dd><time datetime="${iso(firstAt + 3600)}">`)
    expect(section).toContain(`<time datetime="${iso(firstAt)}">`)
    expect(section).toMatch(/<button type="submit" class="danger">Sign out everywhere<\/button>/)
  })

  it('"Sign out everywhere" asks first; confirmed, every session of the user ends, this one included, and no one else\'s', async () => {
    const user = await server.addUser()
    const here = await signedIn(server, user)
    const { browser: elsewhere, tokens } = await obtainTokens(server, client, user)
    const bystander = await signedIn(server, await server.addUser())
    const sessionCookie = here.cookies.get('authcode_session') ?? ''

    const { csrf } = await accountPage(server, here)
    const confirm = await expectPage(await here.post(`${server.url}/account/logout-everywhere`, { csrf }))
    expect(confirm).toContain('<h1>Sign out everywhere?</h1>')
    expect(confirm).toContain('Browsers where you are signed in: 2.')
    expect(confirm).toContain('<a class="button" href="/account">Cancel</a>')
    // Asking is not doing: both are still signed in.
    expect(await isSignedIn(server, here)).toBe(true)
    expect(await isSignedIn(server, elsewhere)).toBe(true)

    events.length = 0
    delivered.length = 0
    const done = await here.post(`${server.url}/account/logout-everywhere/confirm`, { csrf: hiddenInput(confirm, 'csrf') })
    expect(done.status).toBe(303)
    expect(locationOf(done, server.url)).toBe(`${server.url}/account`)
    expect(here.cookies.has('authcode_session')).toBe(false)
    expect(await isSignedIn(server, here)).toBe(false)
    expect(await isSignedIn(server, elsewhere)).toBe(false)
    expect(await server.store.listUserSessions(user.id, server.clock.now())).toEqual([])
    // The old cookie, replayed, signs nobody in; the bystander is untouched.
    expect(isSignIn(await expectPage(await fetch(`${server.url}/account`, { headers: { cookie: `authcode_session=${sessionCookie}` } })))).toBe(true)
    expect(await isSignedIn(server, bystander)).toBe(true)
    // One logout event per browser signed out, naming the user.
    expect(events.filter((event) => event.event === 'logout')).toEqual([
      expect.objectContaining({ client_id: null, user_id: user.id }),
      expect.objectContaining({ client_id: null, user_id: user.id }),
    ])
    // OpenID Back-Channel Logout §2.5: the app signed in to in the other browser's session is told.
    await expect.poll(() => delivered.length, { timeout: 5_000 }).toBe(1)
    expect(delivered[0]?.uri).toBe('https://rp.test/backchannel-logout')
    expect(decodeJwt(delivered[0]?.token ?? '')).toMatchObject({ iss: server.url, aud: client.clientId, sub: user.id, sid: decodeJwt(String(tokens.id_token)).sid })
    // Apps the user allowed keep their access: only the sign-ins end.
    expect((await refresh(server, client, String(tokens.refresh_token))).status).toBe(200)
  })

  it('RFC 6749 §10.12: both steps need this browser\'s CSRF token and a same-origin form; refused, nothing ends', async () => {
    const user = await server.addUser()
    const here = await signedIn(server, user)
    const elsewhere = await signedIn(server, user)
    const { csrf } = await accountPage(server, here)
    const otherBrowserCsrf = hiddenInput(await (await new Browser().get(`${server.url}/account`)).text(), 'csrf')
    for (const step of ['logout-everywhere', 'logout-everywhere/confirm']) {
      const attempts: [Record<string, string>, Record<string, string>][] = [
        [{}, {}],
        [{ csrf: 'forged' }, {}],
        [{ csrf: otherBrowserCsrf }, {}],
        [{ csrf }, { origin: 'https://evil.test' }],
        [{ csrf }, { 'sec-fetch-site': 'cross-site' }],
      ]
      for (const [form, headers] of attempts) {
        const response = await here.post(`${server.url}/account/${step}`, form, headers)
        expect(await expectPage(response, 403)).toContain('not sent from your account page')
      }
    }
    expect(await isSignedIn(server, here)).toBe(true)
    expect(await isSignedIn(server, elsewhere)).toBe(true)
  })

  it('not signed in, both steps go back to the sign-in form and end nothing', async () => {
    const user = await server.addUser()
    const victim = await signedIn(server, user)
    const stranger = new Browser()
    const csrf = hiddenInput(await (await stranger.get(`${server.url}/account`)).text(), 'csrf')
    for (const step of ['logout-everywhere', 'logout-everywhere/confirm']) {
      const response = await stranger.post(`${server.url}/account/${step}`, { csrf })
      expect(response.status).toBe(303)
      expect(locationOf(response, server.url)).toBe(`${server.url}/account`)
    }
    expect(await isSignedIn(server, victim)).toBe(true)
  })
})

describe('the account page: change password (issue #20)', () => {
  let server: TestServer
  let client: TestClient
  const events: AuditEvent[] = []
  const logLines: string[] = []
  const delivered: string[] = []

  beforeAll(async () => {
    server = await startServer(
      { logLevel: 'info' },
      {
        deps: {
          onEvent: (event) => void events.push(event),
          logStream: { write: (line: string) => void logLines.push(line) },
          logoutDelivery: {
            post: async (_uri, body) => {
              delivered.push(new URLSearchParams(body).get('logout_token') ?? '')
              return { status: 200 }
            },
          },
        },
      },
    )
    client = await server.addClient({ name: 'Photo Printer', backchannelLogoutUri: 'https://rp.test/backchannel-logout' })
  })
  afterAll(() => server.close())

  it('shows the form: the current password, the new one twice, the rule', async () => {
    const browser = await signedIn(server, await server.addUser())
    const { html } = await accountPage(server, browser)
    expect(html).toContain('<h2>Password</h2>')
    expect(html).toContain('action="/account/password"')
    expect(html).toMatch(/<input type="password" id="current-password" name="current_password" autocomplete="current-password" required>/)
    expect(html).toMatch(/<input type="password" id="new-password" name="new_password" autocomplete="new-password" aria-describedby="new-password-rule" required>/)
    expect(html).toMatch(/<input type="password" id="repeat-password" name="repeat_password" autocomplete="new-password" required>/)
    expect(html).toContain('At least 8 characters.')
  })

  it('SECURITY.md 7: with the current password, the password changes: this browser stays signed in, every other one is signed out; the old password stops working', async () => {
    const user = await server.addUser()
    const here = await signedIn(server, user)
    const { browser: elsewhere, tokens } = await obtainTokens(server, client, user)
    const bystander = await signedIn(server, await server.addUser())
    events.length = 0
    delivered.length = 0

    const { csrf } = await accountPage(server, here)
    const changed = await changePassword(server, here, passwordForm(csrf, user.password))
    expect(changed.status).toBe(303)
    expect(locationOf(changed, server.url)).toBe(`${server.url}/account?password=changed`)
    const notice = await expectPage(await here.get(locationOf(changed, server.url)))
    expect(notice).toMatch(/<p class="notice" role="status">Password changed\. You stay signed in here; every other browser is signed out\.<\/p>/)

    expect(await isSignedIn(server, here)).toBe(true)
    expect(await isSignedIn(server, elsewhere)).toBe(false)
    expect(await isSignedIn(server, bystander)).toBe(true)
    expect(browsersShown((await accountPage(server, here)).html)).toEqual(['This browser'])
    expect(events.filter((event) => event.event === 'account.password_changed')).toEqual([expect.objectContaining({ client_id: null, user_id: user.id })])
    // OpenID Back-Channel Logout §2.5: the app signed in to in the ended session is told.
    await expect.poll(() => delivered.length, { timeout: 5_000 }).toBe(1)
    expect(decodeJwt(delivered[0] ?? '')).toMatchObject({ aud: client.clientId, sub: user.id, sid: decodeJwt(String(tokens.id_token)).sid })

    // The old password signs in nowhere; the new one does.
    const old = new Browser()
    const oldPage = await old.get(`${server.url}/account`)
    const refused = await old.post(`${server.url}/account/login`, { csrf: hiddenInput(await oldPage.text(), 'csrf'), username: user.username, password: user.password })
    expect(await expectPage(refused, 401)).toContain('The username or password is incorrect.')
    await signedIn(server, { username: user.username, password: NEW_PASSWORD })
    // The apps the user allowed keep their access (remove it under Connected apps).
    expect((await refresh(server, client, String(tokens.refresh_token))).status).toBe(200)
    // SECURITY.md 23: neither password is in any log line.
    const logs = logLines.join('')
    expect(logs).toContain('account.password_changed')
    for (const secret of [user.password, NEW_PASSWORD]) expect(logs.includes(secret)).toBe(false)
  })

  it.each([
    ['a wrong current password', 401, 'The current password is incorrect.', (csrf: string) => passwordForm(csrf, 'not my password')],
    ['a new password too short', 400, 'The new password is too short: use at least 8 characters.', (csrf: string, current: string) => passwordForm(csrf, current, 'short')],
    ['a new password too long', 400, 'The new password is too long: use at most 1,024 characters.', (csrf: string, current: string) => passwordForm(csrf, current, 'x'.repeat(1025))],
    ['two new passwords that differ', 400, 'The two new passwords are not the same.', (csrf: string, current: string) => passwordForm(csrf, current, NEW_PASSWORD, `${NEW_PASSWORD}!`)],
    ['a missing field', 400, 'Enter your current password, then the new one twice.', (csrf: string, current: string) => ({ csrf, current_password: current, new_password: NEW_PASSWORD })],
  ])('%s: the account page again with the reason, status %i; nothing changes, no session ends', async (_name, status, reason, form) => {
    const user = await server.addUser()
    const here = await signedIn(server, user)
    const elsewhere = await signedIn(server, user)
    const { csrf } = await accountPage(server, here)
    const html = await expectPage(await changePassword(server, here, form(csrf, user.password)), status)
    expect(html).toContain(`<p class="error" role="alert">${reason}</p>`)
    expect(html).toContain('<h1>Your account</h1>')
    expect(await isSignedIn(server, elsewhere)).toBe(true)
    await signedIn(server, user)
  })

  it('a field given twice is no field: refused, nothing changes', async () => {
    const user = await server.addUser()
    const here = await signedIn(server, user)
    const { csrf } = await accountPage(server, here)
    const cookie = [...here.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
    const body = new URLSearchParams([['csrf', csrf], ['current_password', user.password], ['new_password', NEW_PASSWORD], ['new_password', 'other one!'], ['repeat_password', NEW_PASSWORD]])
    const response = await fetch(`${server.url}/account/password`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
      body: body.toString(),
    })
    expect(await expectPage(response, 400)).toContain('Enter your current password, then the new one twice.')
    await signedIn(server, user)
  })

  it('SECURITY.md 27: wrong current passwords count as failed sign-ins of the account, with the same progressive waits; the right one waits too', async () => {
    const user = await server.addUser()
    const here = await signedIn(server, user)
    const { csrf } = await accountPage(server, here)
    events.length = 0
    const statuses: number[] = []
    for (let attempt = 0; attempt <= server.config.rateLimit.loginPerAccount.max; attempt++) {
      statuses.push((await changePassword(server, here, passwordForm(csrf, `wrong ${attempt}`))).status)
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429])
    const waiting = await changePassword(server, here, passwordForm(csrf, user.password))
    expect(await expectPage(waiting, 429)).toContain('Too many failed sign-in attempts. Wait 15 seconds and try again.')
    expect(waiting.headers.get('retry-after')).toBe('15')
    expect(events.filter((event) => event.event === 'login.failed')).toHaveLength(5)
    expect(events.filter((event) => event.event === 'login.throttled').length).toBeGreaterThanOrEqual(1)
    server.clock.advance(15)
    expect((await changePassword(server, here, passwordForm(csrf, user.password))).status).toBe(303)
  })

  it('RFC 6749 §10.12: without this browser\'s CSRF token, or from another origin, it is 403 and the password stays', async () => {
    const user = await server.addUser()
    const here = await signedIn(server, user)
    const { csrf } = await accountPage(server, here)
    const otherBrowserCsrf = hiddenInput(await (await new Browser().get(`${server.url}/account`)).text(), 'csrf')
    const attempts: [Record<string, string>, Record<string, string>][] = [
      [passwordForm('', user.password), {}],
      [passwordForm('forged', user.password), {}],
      [passwordForm(otherBrowserCsrf, user.password), {}],
      [passwordForm(csrf, user.password), { origin: 'https://evil.test' }],
      [passwordForm(csrf, user.password), { 'sec-fetch-site': 'cross-site' }],
    ]
    for (const [form, headers] of attempts) {
      expect(await expectPage(await changePassword(server, here, form, headers), 403)).toContain('not sent from your account page')
    }
    await signedIn(server, user)
  })

  it('not signed in, the form goes back to the sign-in form and changes nothing', async () => {
    const user = await server.addUser()
    const stranger = new Browser()
    const csrf = hiddenInput(await (await stranger.get(`${server.url}/account`)).text(), 'csrf')
    const response = await changePassword(server, stranger, passwordForm(csrf, user.password))
    expect(response.status).toBe(303)
    expect(locationOf(response, server.url)).toBe(`${server.url}/account`)
    await signedIn(server, user)
  })
})
