/**
 * The demo app tried as a new user would, in a real browser (Debian's Chromium through
 * playwright-core), one test per rough edge that used to be there: a reopened or stale callback
 * link, Back after "Deny", buttons pressed after the session ended, logout without a word, the
 * chat (unstyled input, no sender or time, no live update), the handshake diagram on a phone, the
 * favicon, times in UTC. Screenshots go to test-artifacts/screenshots/demo-edge-*.png.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeInChromium } from '../../../test/e2e/chromium.js'
import { accessibilityViolations, saveScreenshot } from '../../../test/e2e/page-checks.js'
import { demoLoginToConsent } from '../../../test/e2e/demo-support.js'
import { logIn, logOut, startStack, styled, watchAnswers, type Answer, type DemoStack } from './stack.js'

/** No answer of the app was bare text, and nothing the pages asked for was missing. */
function expectNoRoughAnswer(answers: Answer[]): void {
  expect(answers.filter((a) => a.type.startsWith('text/plain'))).toEqual([])
  expect(answers.filter((a) => a.status === 404 || a.status >= 500)).toEqual([])
}

/** The handshake page's steps, as text. */
async function handshakeSteps(page: Page, appUrl: string): Promise<string[]> {
  await page.goto(`${appUrl}/handshake`)
  return page.locator('#handshake-steps > li').allTextContents()
}

describeInChromium('the demo app’s rough edges, in Chromium', () => {
  let stack: DemoStack
  let appUrl: string

  beforeAll(async () => {
    stack = await startStack()
    appUrl = stack.appUrl
  }, 60_000)

  afterAll(async () => {
    await stack?.close()
  })

  it('a reopened callback link: signed in, the dashboard; signed out, “already used”; the last handshake stays as it was', async () => {
    const user = await stack.server.addUser('rea', 'correct horse battery', { name: 'Rea Example' })
    const context = await stack.browser.newContext()
    const answers = watchAnswers(context, appUrl)
    const page = await context.newPage()
    const callbacks: string[] = []
    page.on('request', (request) => {
      if (request.url().startsWith(`${appUrl}/callback?`)) callbacks.push(request.url())
    })
    await logIn(page, appUrl, user)
    const callback = callbacks[0] ?? ''
    expect(callback).toContain('code=')
    const signedIn = (await handshakeSteps(page, appUrl)).slice(0, 10)
    expect(await page.textContent('#handshake-summary')).toMatch(/^Signed in/)

    // Signed in: the link from the history goes to the dashboard, and nothing else changes.
    await page.goto(callback)
    await page.waitForURL(`${appUrl}/dashboard`)
    expect(await page.textContent('#name')).toBe('Rea Example')
    expect((await handshakeSteps(page, appUrl)).slice(0, 10)).toEqual(signedIn)
    expect(await page.textContent('#handshake-summary')).toMatch(/^Signed in/)

    // Signed out: the same link says it was used, and offers a new login.
    await page.goto(`${appUrl}/`)
    await logOut(page, appUrl, stack.server.url)
    const reopened = await page.goto(callback)
    expect(reopened?.status()).toBe(400)
    await page.getByRole('heading', { name: 'This sign-in link was already used' }).waitFor()
    expect(await page.textContent('main')).not.toMatch(/LOGIN_NOT_FOUND|cookie/)
    expect(await styled(page)).toBe(true)
    expect(await page.getByRole('button', { name: 'Log in again' }).count()).toBe(1)
    await saveScreenshot(page, 'demo-edge-1-link-used')
    expect(await accessibilityViolations(page)).toEqual([])
    expect((await handshakeSteps(page, appUrl)).slice(0, 10)).toEqual(signedIn)
    expectNoRoughAnswer(answers.filter((a) => !a.url.includes('/callback')))
    await context.close()
  }, 90_000)

  it('Back after “Deny” brings the denial again: the same calm page, the handshake of the denial kept', async () => {
    const user = await stack.server.addUser('dan', 'correct horse battery', { name: 'Dan Example' })
    const context = await stack.browser.newContext()
    const page = await context.newPage()
    await demoLoginToConsent(page, appUrl, user)
    await page.getByRole('button', { name: 'Deny' }).click()
    await page.getByRole('heading', { name: 'Sign-in cancelled' }).waitFor()
    const denial = await page.locator('#handshake-steps > li').allTextContents()
    expect(await page.locator('#handshake-steps > li.failed').count()).toBe(1)

    await page.goBack()
    await page.getByRole('heading', { name: 'Sign-in cancelled' }).waitFor()
    expect(await page.textContent('main')).toContain('Access was not granted')
    expect(await page.textContent('main')).not.toMatch(/LOGIN_NOT_FOUND|already used|cookie/)
    expect(await styled(page)).toBe(true)
    await saveScreenshot(page, 'demo-edge-2-back-after-deny')
    expect(await handshakeSteps(page, appUrl)).toEqual(denial)
    await context.close()
  }, 90_000)

  it('buttons on pages left open after the session ended answer a styled “Signed out” page, never bare text', async () => {
    const user = await stack.server.addUser('sam', 'correct horse battery', { name: 'Sam Example' })
    const context = await stack.browser.newContext()
    const answers = watchAnswers(context, appUrl)
    const first = await context.newPage()
    await logIn(first, appUrl, user)
    const second = await context.newPage()
    await second.goto(`${appUrl}/dashboard`)
    const chat = await context.newPage()
    await chat.goto(`${appUrl}/chat`)
    await chat.getByRole('heading', { name: 'Chat' }).waitFor()
    // Another tab ends the session; the three pages stay open as they were.
    const other = await context.newPage()
    await other.goto(`${appUrl}/`)
    await logOut(other, appUrl, stack.server.url)

    for (const [page, button] of [[first, 'Call the API'], [second, 'Refresh tokens']] as const) {
      await page.getByRole('button', { name: button }).click()
      await page.getByRole('heading', { name: 'Signed out' }).waitFor()
      expect(await styled(page)).toBe(true)
      expect(await page.getByRole('button', { name: 'Log in again' }).count()).toBe(1)
    }
    await chat.getByLabel('Message').fill('still there?')
    await chat.getByRole('button', { name: 'Send' }).click()
    await chat.getByRole('heading', { name: 'Signed out' }).waitFor()
    expect(await styled(chat)).toBe(true)
    await saveScreenshot(chat, 'demo-edge-3-signed-out')
    expect(await accessibilityViolations(chat)).toEqual([])
    expect(answers.filter((a) => a.type.startsWith('text/plain'))).toEqual([])
    expect(answers.filter((a) => a.status === 401)).toEqual([])
    await context.close()
  }, 90_000)

  it('a form of another site and an unknown page get styled pages too', async () => {
    const context = await stack.browser.newContext()
    const page = await context.newPage()
    await page.setContent(`<form method="post" action="${appUrl}/refresh"><button>Win a prize</button></form>`)
    await page.getByRole('button', { name: 'Win a prize' }).click()
    await page.getByRole('heading', { name: 'Request refused' }).waitFor()
    expect(await styled(page)).toBe(true)
    const missing = await page.goto(`${appUrl}/no/such/page`)
    expect(missing?.status()).toBe(404)
    await page.getByRole('heading', { name: 'Not found' }).waitFor()
    expect(await styled(page)).toBe(true)
    await context.close()
  }, 60_000)

  it('logging out says so; times show in the viewer’s locale and time zone; the favicon is there', async () => {
    const user = await stack.server.addUser('lou', 'correct horse battery', { name: 'Lou Example' })
    const context = await stack.browser.newContext({ locale: 'en-AU', timezoneId: 'Asia/Tokyo' })
    const answers = watchAnswers(context, appUrl)
    const page = await context.newPage()
    await logIn(page, appUrl, user)
    const expiry = page.locator('#expiry time')
    const instant = (await expiry.getAttribute('datetime')) ?? ''
    expect(await expiry.textContent()).toBe(new Date(instant).toLocaleString('en-AU', { timeZone: 'Asia/Tokyo' }))

    const icon = await page.request.get(`${appUrl}/favicon.ico`)
    expect(icon.status()).toBe(200)
    expect(icon.headers()['content-type']).toMatch(/^image\/(x-icon|vnd\.microsoft\.icon)/)
    expect([...(await icon.body()).subarray(0, 4)]).toEqual([0, 0, 1, 0])
    expect(await page.locator('link[rel="icon"]').getAttribute('href')).toBe('/favicon.svg')

    await logOut(page, appUrl, stack.server.url)
    expect(await page.getByRole('status').textContent()).toContain('You are signed out')
    expect(await page.getByRole('button', { name: 'Log in' }).count()).toBe(1)
    await saveScreenshot(page, 'demo-edge-4-signed-out-notice')
    expectNoRoughAnswer(answers)
    await context.close()
  }, 90_000)

  it('the chat: a styled input, each message with its sender and local time, new ones live over the WebSocket without a reload', async () => {
    const ada = await stack.server.addUser('ada', 'correct horse battery', { name: 'Ada Example' })
    const bob = await stack.server.addUser('bob', 'correct horse battery', { name: 'Bob Example' })
    const adaContext = await stack.browser.newContext({ locale: 'en-GB', timezoneId: 'America/New_York' })
    const bobContext = await stack.browser.newContext()
    const answers = watchAnswers(adaContext, appUrl)
    const adaPage = await adaContext.newPage()
    const bobPage = await bobContext.newPage()
    await logIn(adaPage, appUrl, ada)
    await logIn(bobPage, appUrl, bob)
    // Ada's page gets its live connection only once Bob has sent a first message.
    let connect = (): void => undefined
    const held = new Promise<void>((resolve) => (connect = resolve))
    await adaPage.route('**/chat/events*', async (route) => {
      await held
      await route.continue()
    })
    for (const page of [adaPage, bobPage]) {
      await page.goto(`${appUrl}/chat`)
      expect(await page.textContent('#chat-status')).toContain('Subscribed to room lobby')
    }
    const input = adaPage.getByLabel('Message')
    const look = await input.evaluate((element) => {
      const style = (globalThis as unknown as { getComputedStyle(e: object): { borderTopStyle: string; paddingLeft: string; borderTopLeftRadius: string; fontFamily: string } }).getComputedStyle(element)
      return { border: style.borderTopStyle, padding: style.paddingLeft, radius: style.borderTopLeftRadius, font: style.fontFamily }
    })
    expect(look).toMatchObject({ border: 'solid', radius: '6px' })
    expect(look.font).toContain('system-ui')
    expect(Number.parseFloat(look.padding)).toBeGreaterThan(4)

    let navigations = 0
    adaPage.on('framenavigated', () => (navigations += 1))
    // A message sent after Ada's page was drawn but before its live connection still reaches it
    // (the page asks from its last message on); one sent after arrives as it comes.
    await bobPage.getByLabel('Message').fill('before the live connection')
    await bobPage.getByRole('button', { name: 'Send' }).click()
    await bobPage.waitForURL(`${appUrl}/chat?sent=1`)
    connect()
    await adaPage.locator('#messages[data-state="live"]').waitFor()
    await adaPage.locator('#messages li', { hasText: 'before the live connection' }).waitFor({ timeout: 10_000 })
    await bobPage.getByLabel('Message').fill('hello Ada, live')
    await bobPage.getByRole('button', { name: 'Send' }).click()
    await bobPage.waitForURL(`${appUrl}/chat?sent=1`)

    const arrived = adaPage.locator('#messages li', { hasText: 'hello Ada, live' })
    await arrived.waitFor({ timeout: 10_000 })
    expect(navigations).toBe(0)
    expect(await arrived.locator('.sender').textContent()).toBe('Bob Example')
    const time = arrived.locator('time')
    const sentAt = (await time.getAttribute('datetime')) ?? ''
    expect(Math.abs(Date.parse(sentAt) - Date.now())).toBeLessThan(60_000)
    expect(await time.textContent()).toBe(new Date(sentAt).toLocaleTimeString('en-GB', { timeZone: 'America/New_York' }))
    await saveScreenshot(adaPage, 'demo-edge-5-chat-live')
    expect(await accessibilityViolations(adaPage)).toEqual([])

    // Bob's own message, rendered by the server after his send: "You", at the same instant.
    const own = bobPage.locator('#messages li', { hasText: 'hello Ada, live' })
    expect(await own.locator('.sender').textContent()).toBe('You')
    expect(await own.locator('time').getAttribute('datetime')).toBe(sentAt)
    expectNoRoughAnswer(answers)
    await adaContext.close()
    await bobContext.close()
  }, 90_000)

  it('the handshake on a 390 px screen: the steps as text first, the diagram at a readable size in its own sideways scroll', async () => {
    const user = await stack.server.addUser('pia', 'correct horse battery', { name: 'Pia Example' })
    const context = await stack.browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true })
    const page = await context.newPage()
    await logIn(page, appUrl, user)
    await page.goto(`${appUrl}/handshake`)
    const list = await page.locator('#handshake-steps').boundingBox()
    const figure = await page.locator('figure.handshake').boundingBox()
    expect(list !== null && figure !== null && list.y < figure.y).toBe(true)
    const sizes = await page.evaluate(() => {
      const d = (globalThis as unknown as { document: { documentElement: { scrollWidth: number }; querySelector(s: string): { getBoundingClientRect(): { width: number; height: number }; scrollWidth: number; clientWidth: number } | null } }).document
      const svg = d.querySelector('figure.handshake svg')
      const scroller = d.querySelector('figure.handshake .handshake-scroll')
      const label = d.querySelector('figure.handshake svg text')
      return {
        page: d.documentElement.scrollWidth,
        scale: (svg?.getBoundingClientRect().width ?? 0) / 1060,
        scrolls: (scroller?.scrollWidth ?? 0) > (scroller?.clientWidth ?? 0),
        textHeight: label?.getBoundingClientRect().height ?? 0,
      }
    })
    // The page itself does not scroll sideways; the diagram does, at full size (12 px text).
    expect(sizes.page).toBeLessThanOrEqual(390)
    expect(sizes.scale).toBeGreaterThanOrEqual(0.99)
    expect(sizes.scrolls).toBe(true)
    expect(sizes.textHeight).toBeGreaterThanOrEqual(12)
    await saveScreenshot(page, 'demo-edge-6-handshake-390px')
    expect(await accessibilityViolations(page)).toEqual([])
    await context.close()
  }, 90_000)
})
