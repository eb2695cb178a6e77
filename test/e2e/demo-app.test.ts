/**
 * The demo app (examples/express-app) in a real browser (Debian's Chromium through playwright-core)
 * against our authorization server: home → Log in → the server's sign-in and consent pages →
 * dashboard (name, scopes, expiry, and no token anywhere the browser can see) → call the API on the
 * back channel → refresh → log out. A screenshot of each page goes to test-artifacts/screenshots/demo-app-*.png.
 */
import type { Browser } from 'playwright-core'
import { saveScreenshot } from './page-checks.js'
import { describeInChromium } from './chromium.js'
import { demoLoginToConsent, demoLogOut, startDemoStack, watchPage, type DemoStack, type RecordingStore } from './demo-support.js'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { TestServer } from '../../packages/server/test/harness.js'

describeInChromium('the demo app in Chromium', () => {
  let stack: DemoStack
  let server: TestServer
  let browser: Browser
  let appUrl: string
  let store: RecordingStore

  beforeAll(async () => {
    stack = await startDemoStack()
    ;({ server, browser, appUrl, store } = stack)
  }, 60_000)

  afterAll(async () => {
    await stack?.close()
  })

  it('RFC 6749 §4.1 end to end: log in, see the dashboard without any token, call the API, refresh, log out', async () => {
    const user = await server.addUser('alice', 'correct horse battery', { name: 'Alice Example' })
    const context = await browser.newContext()
    const page = await context.newPage()
    const { blocked, urls, visible } = watchPage(page)

    await page.goto(`${appUrl}/`)
    await saveScreenshot(page, 'demo-app-1-home')
    await page.getByRole('button', { name: 'Log in' }).click()

    await page.getByRole('heading', { name: 'Sign in' }).waitFor()
    expect(page.url().startsWith(server.url)).toBe(true)
    await saveScreenshot(page, 'demo-app-2-sign-in')
    await page.getByLabel('Username').fill(user.username)
    await page.getByLabel('Password').fill(user.password)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()

    await page.getByRole('heading', { name: 'Allow access?' }).waitFor()
    expect(await page.textContent('main')).toContain('authcode demo app')
    await saveScreenshot(page, 'demo-app-3-consent')
    await page.getByRole('button', { name: 'Allow' }).click()

    await page.waitForURL(`${appUrl}/dashboard`)
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor()
    expect(await page.textContent('#name')).toBe('Alice Example')
    expect(await page.textContent('#scopes')).toBe('openid profile email')
    // The expiry in the viewer's locale; the exact instant in the element's datetime.
    expect(await page.getAttribute('#expiry time', 'datetime')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/)
    expect(await page.textContent('#expiry')).toMatch(/\d.* \(in \d+ s\)$/)
    await saveScreenshot(page, 'demo-app-4-dashboard')
    const cookies = await context.cookies(appUrl)
    const session = cookies.find((c) => c.name === 'authcode_app_session')
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax' })
    expect(store.tokens.size).toBe(3)
    let seen = await visible()
    for (const token of store.tokens) expect(seen).not.toContain(token)

    await page.getByRole('button', { name: 'Call the API' }).click()
    await page.getByRole('heading', { name: 'API result' }).waitFor()
    expect(await page.textContent('#status')).toBe('200')
    const result = JSON.parse((await page.textContent('#result')) ?? '{}') as Record<string, unknown>
    expect(result).toMatchObject({ name: 'Alice Example', email: `${user.username}@example.com` })
    await saveScreenshot(page, 'demo-app-5-api')

    await page.getByRole('button', { name: 'Back to the dashboard' }).click()
    await page.getByRole('button', { name: 'Refresh tokens' }).click()
    await page.getByText('The tokens were refreshed.').waitFor()
    expect(store.tokens.size).toBeGreaterThanOrEqual(5) // a new access and a rotated refresh token
    await saveScreenshot(page, 'demo-app-6-refreshed')
    seen = await visible()
    for (const token of store.tokens) expect(seen).not.toContain(token)

    await demoLogOut(page, appUrl, server.url)
    expect(await page.getByRole('status').textContent()).toContain('You are signed out')
    await page.getByRole('button', { name: 'Log in' }).waitFor()
    await saveScreenshot(page, 'demo-app-7-logged-out')
    expect((await context.cookies(appUrl)).some((c) => c.name === 'authcode_app_session')).toBe(false)
    for (const key of store.keys) expect(await store.get(key, Math.floor(Date.now() / 1000))).toBeUndefined()

    // The logout ended the sign-in at the server too (RP-initiated logout, issue #14): the next
    // "Log in" asks for the password again.
    const before = urls.length
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByRole('heading', { name: 'Sign in' }).waitFor()
    expect(urls.slice(before).some((url) => url.startsWith(`${server.url}/authorize?`))).toBe(true)
    await page.getByLabel('Password').waitFor()
    await saveScreenshot(page, 'demo-app-8-password-again')
    expect(blocked).toEqual([])
    await context.close()
  }, 90_000)

  it('OpenID Back-Channel Logout: signing out on the server\'s account page ends the demo app\'s session too', async () => {
    const user = await server.addUser('bob', 'correct horse battery', { name: 'Bob Example' })
    const context = await browser.newContext()
    const page = await context.newPage()
    await demoLoginToConsent(page, appUrl, user)
    await page.getByRole('button', { name: 'Allow' }).click()
    await page.waitForURL(`${appUrl}/dashboard`)
    expect(await page.textContent('#name')).toBe('Bob Example')

    // The server's account page lists the app among those signed in to in this session.
    await page.goto(`${server.url}/account`)
    expect(await page.textContent('section.signed-in-apps')).toContain('authcode demo app')
    await page.locator('form[action$="/account/logout"] button').click()
    await page.getByRole('heading', { name: 'Sign in' }).waitFor()

    // The server POSTed a logout token to the app's /backchannel-logout: its session is gone, so its
    // dashboard sends the browser to sign in, where the password is asked again.
    const deadline = Date.now() + 10_000
    let signedIn = true
    while (signedIn && Date.now() < deadline) {
      const now = Math.floor(Date.now() / 1000)
      signedIn = (await Promise.all([...store.keys].map((key) => store.get(key, now)))).some((record) => record !== undefined)
      if (signedIn) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(signedIn).toBe(false)
    await page.goto(`${appUrl}/dashboard`)
    await page.getByRole('heading', { name: 'Sign in' }).waitFor()
    expect(page.url().startsWith(server.url)).toBe(true)
    await context.close()
  }, 90_000)
})
