/**
 * An adopter's brand in a real browser (issue #17): the logo, the stylesheet and the accent colour
 * served by the server and in effect under its CSP ('self' only: no inline style, no other
 * origin), an override template with its own partial and messages, and a language of the
 * adopter's whose missing messages are in English; every page with zero axe-core violations.
 * The screenshot test-artifacts/screenshots/branded-login.png is the one in the server README
 * (packages/server/docs/branded-login.png).
 */
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { authorizeQuery, pkcePair, startServer, type TestClient, type TestServer } from '../../packages/server/test/harness.js'
import { describeInChromium, launchChromium } from './chromium.js'
import { accessibilityViolations, saveScreenshot } from './page-checks.js'

const FIXTURES = join(import.meta.dirname, '../../packages/server/test/fixtures/pages')

/** The computed value of a CSS property of the first element matching `selector`. */
function computed(page: Page, selector: string, property: string): Promise<string> {
  return page.locator(selector).first().evaluate((element, name) => {
    const view = (element as unknown as { ownerDocument: { defaultView: { getComputedStyle(e: unknown): { getPropertyValue(p: string): string } } } }).ownerDocument.defaultView
    return view.getComputedStyle(element).getPropertyValue(name)
  }, property)
}

describeInChromium('an adopter\'s brand in Chromium', () => {
  let server: TestServer
  let browser: Browser
  let client: TestClient

  beforeAll(async () => {
    server = await startServer({
      pages: {
        productName: 'Acme Cloud',
        logo: join(FIXTURES, 'logo.svg'),
        stylesheet: join(FIXTURES, 'brand.css'),
        accentColor: '#0b6e4f',
        templates: join(FIXTURES, 'templates'),
        messages: join(FIXTURES, 'messages'),
      },
    })
    client = await server.addClient({ name: 'Photo Printer' })
    browser = await launchChromium()
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  async function open(locale: string, overrides: Record<string, string> = {}) {
    const context = await browser.newContext({ locale })
    const page = await context.newPage()
    const blocked: string[] = []
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) blocked.push(message.text())
    })
    const failed: string[] = []
    page.on('requestfailed', (request) => failed.push(request.url()))
    await page.goto(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: pkcePair().challenge, ...overrides })}`)
    return { context, page, blocked, failed }
  }

  it('the logo, the stylesheet, the accent and the override template are in effect under the CSP; the page is accessible', async () => {
    const { context, page, blocked, failed } = await open('en-US')
    await page.getByRole('heading', { name: 'Sign in' }).waitFor()
    expect(await page.title()).toBe('Sign in – Acme Cloud')
    const logo = page.getByRole('img', { name: 'Acme Cloud' })
    await logo.waitFor()
    expect(await logo.evaluate((image) => (image as unknown as { complete: boolean; naturalWidth: number }).naturalWidth)).toBeGreaterThan(0)
    // brand.css (the adopter's stylesheet) and the accent colour (the built-in one, rewritten).
    expect(await computed(page, 'body', 'background-color')).toBe('rgb(238, 243, 239)')
    expect(await computed(page, 'main', 'border-top-color')).toBe('rgb(11, 110, 79)')
    expect(await computed(page, 'button[type=submit]', 'background-color')).toBe('rgb(11, 110, 79)')
    // The override template, its partial and its message.
    expect(await page.locator('p.brand-help').textContent()).toBe('Trouble signing in? Ask the Acme Cloud service desk.')
    expect(await accessibilityViolations(page)).toEqual([])
    await saveScreenshot(page, 'branded-login')
    expect(blocked).toEqual([])
    expect(failed).toEqual([])
    await context.close()
  }, 60_000)

  it('German from the browser, the adopter\'s German heading over ours; consent with the accent, accessible', async () => {
    const user = await server.addUser()
    const { context, page, blocked } = await open('de-DE')
    await page.getByRole('heading', { name: 'Bei Acme Cloud anmelden' }).waitFor()
    expect(await page.getAttribute('html', 'lang')).toBe('de')
    expect(await accessibilityViolations(page)).toEqual([])
    await saveScreenshot(page, 'branded-login-de')
    await page.getByLabel('Benutzername').fill(user.username)
    await page.getByLabel('Passwort').fill(user.password)
    await page.getByRole('button', { name: 'Anmelden', exact: true }).click()
    await page.getByRole('heading', { name: 'Zugriff erlauben?' }).waitFor()
    expect(await computed(page, 'button[value=approve]', 'background-color')).toBe('rgb(11, 110, 79)')
    expect(await accessibilityViolations(page)).toEqual([])
    await saveScreenshot(page, 'branded-consent-de')
    expect(blocked).toEqual([])
    await context.close()
  }, 60_000)

  it('a language of the adopter\'s (nl, chosen by ui_locales): its messages, English for the ones it lacks', async () => {
    const { context, page } = await open('en-US', { ui_locales: 'nl' })
    await page.getByRole('heading', { name: 'Inloggen' }).waitFor()
    expect(await page.getAttribute('html', 'lang')).toBe('nl')
    expect(await page.getByLabel('Gebruikersnaam').count()).toBe(1)
    expect(await page.locator('p.lead').textContent()).toBe('to continue to Photo Printer')
    expect(await accessibilityViolations(page)).toEqual([])
    await context.close()
  }, 60_000)
})
