/**
 * The handshake, drawn (examples/express-app, src/handshake-svg.ts) in a real browser (Debian's
 * Chromium through playwright-core) against our authorization server: after a login the demo app
 * shows the handshake it just performed as an SVG sequence diagram plus the same steps as an
 * ordered list — in order, with times, fingerprints instead of secrets — then the API call, the
 * refresh and the logout's revocation as further steps. Failed logins show where the handshake
 * stopped and why: a denied consent, a callback with a `state` the browser never sent, a replayed code. Each page passes axe-core
 * with zero violations, is reachable by keyboard, and its HTML holds none of the real codes,
 * tokens, `state` values or the client secret. Screenshots go to test-artifacts/screenshots/.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { TestServer } from '../../packages/server/test/harness.js'
import { describeInChromium } from './chromium.js'
import { demoLoginToConsent, demoLogOut, type DemoStack, type RecordingStore, startDemoStack, watchPage } from './demo-support.js'
import { accessibilityViolations, saveScreenshot } from './page-checks.js'

describeInChromium('the handshake diagram in Chromium', () => {
  let stack: DemoStack
  let server: TestServer
  let browser: Browser
  let appUrl: string
  let clientSecret: string
  let store: RecordingStore

  beforeAll(async () => {
    stack = await startDemoStack()
    ;({ server, browser, appUrl, store } = stack)
    clientSecret = stack.client.secret ?? ''
  }, 60_000)

  afterAll(async () => {
    await stack?.close()
  })

  const toConsent = (page: Page, user: { username: string; password: string }) => demoLoginToConsent(page, appUrl, user)

  /** The values a page must never hold: every token stored, the client secret, each code and state the browser carried. */
  function secrets(urls: string[]): string[] {
    const values = new Set<string>([clientSecret, ...store.tokens])
    for (const url of urls) {
      const params = new URL(url).searchParams
      for (const name of ['code', 'state', 'code_challenge', 'nonce']) {
        const value = params.get(name)
        if (value !== null && value.length >= 16) values.add(value)
      }
    }
    return [...values]
  }

  async function expectNoSecret(page: Page, urls: string[]): Promise<void> {
    const html = await page.content()
    const values = secrets(urls)
    expect(values.length).toBeGreaterThan(1)
    for (const value of values) expect(html).not.toContain(value)
  }

  async function steps(page: Page): Promise<string[]> {
    return page.locator('#handshake-steps > li').allTextContents()
  }

  async function failedSteps(page: Page): Promise<string[]> {
    return page.locator('#handshake-steps > li.failed').allTextContents()
  }

  /** The accessible diagram: an SVG image with a title and a description. */
  async function expectDiagram(page: Page): Promise<void> {
    const svg = page.locator('figure.handshake svg')
    expect(await svg.getAttribute('role')).toBe('img')
    expect(await page.locator('#hs-title').textContent()).toBe('The OAuth 2.0 authorization code handshake')
    expect(await page.locator('#hs-desc').textContent()).toMatch(/^Sequence diagram with four lifelines/)
    expect(await page.getByRole('img', { name: 'The OAuth 2.0 authorization code handshake' }).count()).toBe(1)
    expect(await accessibilityViolations(page)).toEqual([])
  }

  /** Tabs through the page; the names of what got focus, in order. */
  async function tabOrder(page: Page, presses: number): Promise<string[]> {
    const names: string[] = []
    for (let i = 0; i < presses; i++) {
      await page.keyboard.press('Tab')
      names.push(await page.evaluate(() => {
        const active = (globalThis as unknown as { document: { activeElement: { textContent: string | null } | null } }).document.activeElement
        return (active?.textContent ?? '').trim()
      }))
    }
    return names
  }

  it('RFC 6749 §4.1: the login drawn step by step, then the API call, the refresh and the logout', async () => {
    const user = await server.addUser('hana', 'correct horse battery', { name: 'Hana Example' })
    const context = await browser.newContext()
    const page = await context.newPage()
    const { blocked, urls } = watchPage(page)
    await toConsent(page, user)
    await page.getByRole('button', { name: 'Allow' }).click()
    await page.waitForURL(`${appUrl}/dashboard`)

    await page.getByRole('link', { name: 'See the handshake, drawn' }).click()
    await page.getByRole('heading', { name: 'The handshake' }).waitFor()
    let list = await steps(page)
    expect(list.map((s) => s.replace(/^(\+\d+\.\d{3} s|—) /, '').split(':')[0])).toEqual([
      'Browser → Client Backend (front channel)',
      'Client Backend → Browser (front channel)',
      'Browser → Auth Server (front channel, observed at callback)',
      'Auth Server → User (front channel, observed at callback)',
      'User → Auth Server (front channel, observed at callback)',
      'Auth Server → Browser (front channel, observed at callback)',
      'Browser → Client Backend (front channel)',
      'Client Backend → Auth Server (back channel)',
      'Auth Server → Client Backend (back channel)',
      'Client Backend → Browser (front channel)',
      // the dashboard's UserInfo call
      'Client Backend → Auth Server (back channel)',
      'Auth Server → Client Backend (back channel)',
    ])
    expect(list[0]).toMatch(/^\+0\.000 s .*GET \/login/)
    expect(list[1]).toMatch(/code_challenge=[0-9a-f]{6}… \(PKCE S256\).*Took \d+ ms\./)
    expect(list[3]).toContain('password entered during this handshake')
    expect(list[4]).toContain('approved: every scope asked for: openid profile email')
    expect(list[6]).toMatch(/GET \/callback\?code&state&iss\. .*state [0-9a-f]{6}… matched the attempt's ✓; iss http:\/\/localhost:\d+ checked \(RFC 9207\) ✓\. Took [\d.<]+ ?m?s\./)
    expect(list[7]).toMatch(/POST \/token\. grant_type=authorization_code; code=[0-9a-f]{6}…; code_verifier=[0-9a-f]{6}… \(PKCE S256\); client auth: client_secret_basic, secret [0-9a-f]{6}…/)
    expect(list[8]).toMatch(/200 tokens\. access_token [0-9a-f]{6}… · bearer · expires_in \d+ s; refresh_token [0-9a-f]{6}…; id_token [0-9a-f]{6}… \(valid \d+ s\).*scope: openid profile email\. Took \d+ ms\./)
    expect(list[10]).toContain('for GET /dashboard (UserInfo)')
    expect(await failedSteps(page)).toEqual([])
    expect(await page.textContent('#handshake-summary')).toMatch(/^Signed in: 12 steps/)
    await expectDiagram(page)
    await expectNoSecret(page, urls)
    await saveScreenshot(page, 'demo-handshake-1-signed-in')

    // Keyboard: Tab reaches the links, and Enter follows one.
    const order = await tabOrder(page, 3)
    expect(order.slice(0, 2)).toEqual(['Back to the dashboard', 'Home'])
    await page.keyboard.press('Shift+Tab')
    await page.keyboard.press('Shift+Tab')
    await page.keyboard.press('Enter')
    await page.waitForURL(`${appUrl}/dashboard`)

    await page.getByRole('button', { name: 'Call the API' }).click()
    await page.getByRole('heading', { name: 'API result' }).waitFor()
    await page.getByRole('button', { name: 'Back to the dashboard' }).click()
    await page.getByRole('button', { name: 'Refresh tokens' }).click()
    await page.getByText('The tokens were refreshed.').waitFor()
    await demoLogOut(page, appUrl, server.url)

    // Signed out: the last handshake, its revocation included, stays one link away.
    await page.getByRole('link', { name: 'See the last handshake in this browser' }).click()
    await page.getByRole('heading', { name: 'The handshake' }).waitFor()
    list = await steps(page)
    const labels = list.map((s) => /\): ([^.]+)\./.exec(s)?.[1])
    const api = list.findIndex((s) => s.includes('for POST /api'))
    expect(labels[api]).toBe('GET /userinfo')
    expect(api).toBeGreaterThan(12)
    const refresh = labels.indexOf('POST /token (refresh)')
    expect(refresh).toBeGreaterThan(api)
    expect(list[refresh]).toMatch(/grant_type=refresh_token; refresh_token=[0-9a-f]{6}…; client auth: client_secret_basic, secret [0-9a-f]{6}…; asked at POST \/refresh/)
    expect(list[refresh + 1]).toMatch(/200 tokens\. .*refresh_token rotated: [0-9a-f]{6}… → [0-9a-f]{6}…/)
    const revoke = labels.indexOf('POST /revoke')
    expect(revoke).toBeGreaterThan(refresh)
    expect(list[revoke]).toMatch(/token=[0-9a-f]{6}… \(token_type_hint=refresh_token\); at logout \(POST \/logout\)/)
    expect(list[revoke + 1]).toMatch(/200 revoked\..*Took [\d.<]+ ?m?s\./)
    // RP-initiated logout: the browser is sent on to the Auth Server, which ends its sign-in too;
    // its back-channel logout token (no session left to end here) may already have come back.
    expect(labels.slice(revoke + 2, revoke + 4)).toEqual(['303 to the end-session endpoint + session cookie cleared', 'GET /logout?client_id&…'])
    expect([[], ['POST /backchannel-logout', '200']]).toContainEqual(labels.slice(revoke + 4))
    expect(await page.textContent('#handshake-summary')).toMatch(/^The session ended/)
    expect(await failedSteps(page)).toEqual([])
    await expectDiagram(page)
    await expectNoSecret(page, urls)
    expect(await tabOrder(page, 2)).toEqual(['Log in', 'Home'])
    await saveScreenshot(page, 'demo-handshake-2-signed-out')
    expect(blocked).toEqual([])
    await context.close()
  }, 120_000)

  it('RFC 6749 §4.1.2.1: a denied consent is drawn as the step where the handshake stopped', async () => {
    const user = await server.addUser('ines', 'correct horse battery', { name: 'Ines Example' })
    const context = await browser.newContext()
    const page = await context.newPage()
    const { blocked, urls } = watchPage(page)
    await toConsent(page, user)
    await page.getByRole('button', { name: 'Deny' }).click()
    await page.getByRole('heading', { name: 'Sign-in cancelled' }).waitFor()
    expect(await page.textContent('#failure')).toMatch(/^The authorization server answered access_denied/)
    expect(await page.textContent('#handshake-summary')).toMatch(/^The handshake stopped at the callback: the Auth Server answered access_denied/)
    const failed = await failedSteps(page)
    expect(failed).toHaveLength(1)
    expect(failed[0]).toMatch(/User → Auth Server \(front channel, observed at callback\): Consent \(observed at callback\)\. the redirect back carried error=access_denied\. Failed: consent denied: access_denied/)
    const list = await steps(page)
    expect(list.at(-1)).toMatch(/GET \/callback\?error&state&iss\. .*state [0-9a-f]{6}… matched the attempt's ✓/)
    expect(list).toHaveLength(7)
    await expectDiagram(page)
    await expectNoSecret(page, urls)
    expect(await tabOrder(page, 2)).toEqual(['Log in again', 'Home'])
    await saveScreenshot(page, 'demo-handshake-3-denied')
    expect(blocked).toEqual([])
    await context.close()
  }, 90_000)

  it('RFC 6749 §10.12: a callback with a state this browser never sent is drawn as refused, before any token request', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    const { blocked, urls } = watchPage(page)
    // The user starts a login (this browser's attempt, its state) …
    await page.goto(`${appUrl}/`)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByRole('heading', { name: 'Sign in' }).waitFor()
    // … and lands on a callback an attacker prepared (login CSRF): another code, another state.
    const forged = new URL(`${appUrl}/callback`)
    forged.search = new URLSearchParams({ code: 'attacker-code-0123456789abcdef', state: 'attacker-state-0123456789abcdef', iss: server.url }).toString()
    await page.goto(forged.href)
    await page.getByRole('heading', { name: 'Sign-in failed' }).waitFor()
    const failed = await failedSteps(page)
    expect(failed).toHaveLength(1)
    expect(failed[0]).toMatch(/Browser → Client Backend \(front channel\): GET \/callback\?code&state&iss\..*Failed: state mismatch: the callback's state [0-9a-f]{6}… is not this attempt's [0-9a-f]{6}…; refused before any token request \(LOGIN_NOT_FOUND\)\./)
    const list = await steps(page)
    expect(list.join('\n')).not.toContain('POST /token')
    expect(list.find((s) => s.includes('Consent'))).toContain('not observable: the callback was refused')
    expect(await page.textContent('#handshake-summary')).toMatch(/^The handshake stopped at the callback: state mismatch/)
    await expectDiagram(page)
    await expectNoSecret(page, urls)
    expect(await page.content()).not.toContain('attacker-code-0123456789abcdef')
    await saveScreenshot(page, 'demo-handshake-4-wrong-state')
    expect(blocked).toEqual([])
    await context.close()
  }, 90_000)

  it('RFC 6749 §4.1.2: a replayed code is drawn as the token request the server refused', async () => {
    const user = await server.addUser('kai', 'correct horse battery', { name: 'Kai Example' })
    const context: BrowserContext = await browser.newContext()
    const page = await context.newPage()
    const { blocked, urls } = watchPage(page)
    await toConsent(page, user)
    await page.getByRole('button', { name: 'Allow' }).click()
    await page.waitForURL(`${appUrl}/dashboard`)
    const used = new URL(urls.find((u) => u.startsWith(`${appUrl}/callback?`)) ?? '')

    // A new login attempt in this browser (its login cookie set, the redirect not followed) …
    const login = await context.request.get(`${appUrl}/login`, { maxRedirects: 0 })
    expect(login.status()).toBe(302)
    const authorize = new URL(login.headers().location ?? '')
    urls.push(authorize.href)
    // … completed with the code the first login already used: the state matches, the code does not.
    const replay = new URL(`${appUrl}/callback`)
    replay.search = new URLSearchParams({ code: used.searchParams.get('code') ?? '', state: authorize.searchParams.get('state') ?? '', iss: used.searchParams.get('iss') ?? '' }).toString()
    await page.goto(replay.href)
    await page.getByRole('heading', { name: 'Sign-in failed' }).waitFor()
    const failed = await failedSteps(page)
    expect(failed).toHaveLength(1)
    expect(failed[0]).toMatch(/Auth Server → Client Backend \(back channel\): 400 invalid_grant\..*Failed: invalid_grant/)
    const list = await steps(page)
    expect(list.at(-2)).toContain(`code=`)
    expect(list.find((s) => s.includes('GET /callback'))).toMatch(/state [0-9a-f]{6}… matched the attempt's ✓/)
    expect(await page.textContent('#handshake-summary')).toMatch(/^The handshake stopped at the token request: invalid_grant/)
    await expectDiagram(page)
    await expectNoSecret(page, urls)
    await saveScreenshot(page, 'demo-handshake-5-replayed-code')
    expect(blocked).toEqual([])
    await context.close()
  }, 90_000)
})
