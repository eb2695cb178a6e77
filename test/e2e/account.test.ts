/**
 * The account page (issue #7, connected apps) in a real browser (Debian's Chromium through
 * playwright-core): a person signed in at the server sees the apps they let in, removes one's
 * access by keyboard through the confirmation step, and the demo app (examples/express-app), whose
 * refresh token died with it, ends its session cleanly at the next refresh. Every page passes
 * axe-core with zero violations; screenshots go to test-artifacts/screenshots/.
 */
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { obtainTokens, type TestClient, type TestServer } from '../../packages/server/test/harness.js'
import { describeInChromium } from './chromium.js'
import { demoLoginToConsent, type DemoStack, type RecordingStore, startDemoStack, watchPage } from './demo-support.js'
import { accessibilityViolations, saveScreenshot } from './page-checks.js'

/** Screenshot and accessibility check of the page as it is now. */
async function checkPage(page: Page, name: string): Promise<void> {
  await saveScreenshot(page, name)
  expect(await accessibilityViolations(page)).toEqual([])
}

/** Presses Tab until the focused element is the button named `name` (at most 30 times). */
async function tabTo(page: Page, name: string): Promise<void> {
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press('Tab')
    const focused = page.locator('button:focus')
    if ((await focused.count()) === 1 && ((await focused.textContent()) ?? '').replace(/\s+/g, ' ').trim() === name) return
  }
  throw new Error(`no focusable button named ${name}`)
}

describeInChromium('the account page in Chromium', () => {
  let stack: DemoStack
  let server: TestServer
  let browser: Browser
  let appUrl: string
  let store: RecordingStore
  let printer: TestClient

  beforeAll(async () => {
    stack = await startDemoStack()
    ;({ server, browser, appUrl, store } = stack)
    printer = await server.addClient({ name: 'Photo Printer', scope: 'openid profile' })
  }, 60_000)

  afterAll(async () => {
    await stack?.close()
  })

  it('not signed in, /account is an accessible sign-in form that leads to the (empty) list of apps', async () => {
    const user = await server.addUser('carol', 'correct horse battery', { name: 'Carol Example' })
    const context = await browser.newContext()
    const page = await context.newPage()
    const { blocked } = watchPage(page)

    await page.goto(`${server.url}/account`)
    await page.getByRole('heading', { name: 'Sign in' }).waitFor()
    await checkPage(page, 'account-sign-in')
    await page.getByLabel('Username').fill(user.username)
    await page.getByLabel('Password').fill(user.password)
    await page.getByLabel('Password').press('Enter')

    await page.getByRole('heading', { name: 'Your account' }).waitFor()
    expect(await page.textContent('main')).toContain('No apps have access to your account.')
    await checkPage(page, 'account-empty')

    await tabTo(page, 'Sign out')
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'Sign in' }).waitFor()
    expect((await context.cookies(server.url)).some((c) => c.name === 'authcode_session')).toBe(false)
    expect(blocked).toEqual([])
    await context.close()
  }, 60_000)

  it('removing access at /account ends the demo app\'s session at its next refresh: back to the signed-out home, no error page', async () => {
    const user = await server.addUser('alice', 'correct horse battery', { name: 'Alice Example' })
    // A second app with access, through the back channel of the test harness.
    await obtainTokens(server, printer, user, { scope: 'openid profile' })
    const context = await browser.newContext()
    const page = await context.newPage()
    const { blocked } = watchPage(page)
    const responses: { url: string; status: number }[] = []
    page.on('response', (response) => responses.push({ url: response.url(), status: response.status() }))

    // Log in to the demo app through the server's pages.
    await demoLoginToConsent(page, appUrl, user)
    await page.getByRole('button', { name: 'Allow' }).click()
    await page.waitForURL(`${appUrl}/dashboard`)
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor()
    const sessionKeys = [...store.keys]
    expect(sessionKeys.length).toBeGreaterThan(0)

    // The same browser, signed in at the server, follows the dashboard's link: both apps are listed.
    await page.getByRole('link', { name: 'Your connected apps at the authorization server' }).click()
    await page.waitForURL(`${server.url}/account`)
    await page.getByRole('heading', { name: 'Your account' }).waitFor()
    await page.getByRole('heading', { name: 'Connected apps' }).waitFor()
    expect(await page.locator('section.connected-apps').getByRole('heading', { level: 3 }).allTextContents()).toEqual(['authcode demo app', 'Photo Printer'])
    expect(await page.locator('section.connected-apps time[datetime]').count()).toBe(4)
    await checkPage(page, 'account-apps')

    // Keyboard only: Tab to the demo app's "Remove access", Enter; then confirm the same way.
    await tabTo(page, 'Remove access for authcode demo app')
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'Remove access?' }).waitFor()
    expect(await page.textContent('main')).toContain('authcode demo app')
    await checkPage(page, 'account-remove-confirm')
    await tabTo(page, 'Remove access for authcode demo app')
    await page.keyboard.press('Enter')
    await page.getByRole('status').waitFor()
    expect(await page.getByRole('status').textContent()).toContain('Access removed.')
    expect(await page.locator('section.connected-apps').getByRole('heading', { level: 3 }).allTextContents()).toEqual(['Photo Printer'])
    await checkPage(page, 'account-app-removed')

    // The demo app still holds its (now revoked) tokens: the dashboard's UserInfo call is refused,
    // the refresh that follows gets invalid_grant, which ends the app's session: "Signed out", not
    // a dashboard that greets nobody.
    await page.goto(`${appUrl}/dashboard`)
    await page.getByRole('heading', { name: 'Signed out' }).waitFor()
    expect(await page.textContent('main')).toContain('Your session has ended')
    await saveScreenshot(page, 'demo-app-access-removed')
    expect(await page.textContent('body')).not.toMatch(/Something went wrong|stack|Error:|Sign in first/)
    expect(responses.filter((r) => r.url.startsWith(appUrl) && r.status >= 400)).toEqual([])
    for (const key of sessionKeys) expect(await store.get(key, Math.floor(Date.now() / 1000))).toBeUndefined()
    await page.getByRole('link', { name: 'Home' }).click()
    await page.waitForURL(`${appUrl}/`)
    expect(await page.textContent('main')).not.toContain('You are signed in.')

    // Logging in again asks for consent again.
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByRole('heading', { name: 'Allow access?' }).waitFor()

    // The last app goes too (mouse this time): the empty state.
    await page.goto(`${server.url}/account`)
    await page.getByRole('button', { name: 'Remove access for Photo Printer' }).click()
    await page.getByRole('button', { name: 'Remove access for Photo Printer' }).click()
    await page.getByRole('status').waitFor()
    expect(await page.textContent('main')).toContain('No apps have access to your account.')
    await checkPage(page, 'account-empty-after-removal')
    expect(blocked).toEqual([])
    await context.close()
  }, 90_000)

  it('a form of another site cannot remove access (no CSRF token): 403 page, access kept', async () => {
    const user = await server.addUser('bob', 'correct horse battery', { name: 'Bob Example' })
    const { browser: http } = await obtainTokens(server, printer, user, { scope: 'openid' })
    const context = await browser.newContext()
    // The session of the harness browser, moved into Chromium.
    const url = new URL(server.url)
    await context.addCookies(
      [...http.cookies].map(([name, value]) => ({ name, value, domain: url.hostname, path: '/', httpOnly: true, sameSite: 'Lax' as const })),
    )
    const page = await context.newPage()
    await page.setContent(
      `<form method="post" action="${server.url}/account/apps/${encodeURIComponent(printer.clientId)}/remove/confirm"><button>Win a prize</button></form>`,
    )
    await page.getByRole('button', { name: 'Win a prize' }).click()
    await page.getByRole('heading', { name: 'This request cannot be completed' }).waitFor()
    await page.goto(`${server.url}/account`)
    expect(await page.locator('section.connected-apps').getByRole('heading', { level: 3 }).allTextContents()).toEqual(['Photo Printer'])
    await context.close()
  }, 60_000)
})
