/**
 * The pages in each built-in language (issue #17), in a real browser (Debian's Chromium through
 * playwright-core) whose language is set as a person's would be (its Accept-Language): sign-in,
 * a failed sign-in, consent, the account page with its dates, the confirmation of removing an
 * app, a refused password change, the confirmation of signing out everywhere, and an error page, each in that language, with `<html lang>` saying so and zero axe-core
 * violations; and `ui_locales` winning over the browser's language. Screenshots go to
 * test-artifacts/screenshots/pages-<lang>-*.png.
 */
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { authorizeQuery, pkcePair, startServer, type TestServer } from '../../packages/server/test/harness.js'
import { describeInChromium, launchChromium } from './chromium.js'
import { accessibilityViolations, saveScreenshot } from './page-checks.js'

const MESSAGES = join(import.meta.dirname, '../../packages/server/messages')
const catalog = (lang: string): Record<string, string> => JSON.parse(readFileSync(join(MESSAGES, `${lang}.json`), 'utf8')) as Record<string, string>

/** The page's language, a screenshot, and zero axe-core violations. */
async function checkPage(page: Page, lang: string, name: string): Promise<void> {
  expect(await page.getAttribute('html', 'lang')).toBe(lang)
  await saveScreenshot(page, `pages-${lang}-${name}`)
  expect(await accessibilityViolations(page)).toEqual([])
}

describeInChromium('the pages in each built-in language, in Chromium', () => {
  let server: TestServer
  let browser: Browser
  let app: Server
  let appUrl: string

  beforeAll(async () => {
    server = await startServer()
    app = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><html lang="en"><title>App</title><h1>Signed in</h1></html>'))
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve))
    appUrl = `http://localhost:${(app.address() as AddressInfo).port}`
    browser = await launchChromium()
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await new Promise((resolve) => app?.close(resolve))
    await server?.close()
  })

  it.each([
    ['en', 'en-GB'],
    ['de', 'de-DE'],
    ['fr', 'fr-FR'],
  ])('%s (the browser speaks %s): every page in that language, accessible, under the CSP', async (lang, browserLocale) => {
    const words = catalog(lang)
    const client = await server.addClient({ name: `Printer ${lang}`, redirectUris: [`${appUrl}/callback`] })
    const user = await server.addUser(`user-${lang}`, 'correct horse battery', { name: 'Alice Example' })
    const context = await browser.newContext({ locale: browserLocale })
    const page = await context.newPage()
    const blocked: string[] = []
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) blocked.push(message.text())
    })

    await page.goto(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: pkcePair().challenge })}`)
    await page.getByRole('heading', { name: words['login.heading'] }).waitFor()
    expect(await page.title()).toBe(`${words['login.title']} – authcode`)
    await checkPage(page, lang, '1-login')

    await page.getByLabel(words['login.username'] ?? '').fill(user.username)
    await page.getByLabel(words['login.password'] ?? '').fill('wrong password')
    await page.getByRole('button', { name: words['login.submit'], exact: true }).click()
    await page.getByRole('alert').waitFor()
    expect(await page.getByRole('alert').textContent()).toBe(words['login.badCredentials'])
    await checkPage(page, lang, '2-login-failed')

    await page.getByLabel(words['login.password'] ?? '').fill(user.password)
    await page.getByRole('button', { name: words['login.submit'], exact: true }).click()
    await page.getByRole('heading', { name: words['consent.heading'] }).waitFor()
    const consent = (await page.textContent('main')) ?? ''
    for (const scope of ['openid', 'profile', 'email']) expect(consent).toContain(words[`scope.${scope}`])
    await checkPage(page, lang, '3-consent')
    await page.getByRole('button', { name: words['consent.allow'], exact: true }).click()
    await page.waitForURL((url) => url.href.startsWith(`${appUrl}/callback`) && url.searchParams.has('code'))

    // The same browser, signed in, at its account page: the app, with dates in the language.
    await page.goto(`${server.url}/account`)
    await page.getByRole('heading', { name: words['account.heading'] }).waitFor()
    await page.getByRole('heading', { name: `Printer ${lang}` }).waitFor()
    const since = (await page.locator('time').first().textContent()) ?? ''
    const iso = (await page.locator('time').first().getAttribute('datetime')) ?? ''
    const expected = new Intl.DateTimeFormat(lang, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC', timeZoneName: 'short' })
    expect(since).toBe(expected.format(new Date(iso)))
    await checkPage(page, lang, '4-account')

    await page.getByRole('button', { name: `${words['account.removeAccess']} ${(words['account.forClient'] ?? '').replace('{client}', `Printer ${lang}`)}` }).click()
    await page.getByRole('heading', { name: words['removeAccess.heading'] }).waitFor()
    await checkPage(page, lang, '5-remove-access')
    await page.getByRole('link', { name: words['removeAccess.cancel'] }).click()
    await page.getByRole('heading', { name: words['account.heading'] }).waitFor()

    // Changing the password with a wrong current one: the account page again, saying why.
    await page.getByLabel(words['account.currentPassword'] ?? '', { exact: true }).fill('not the password')
    await page.getByLabel(words['account.newPassword'] ?? '', { exact: true }).fill('a brand new passphrase')
    await page.getByLabel(words['account.repeatPassword'] ?? '', { exact: true }).fill('a brand new passphrase')
    await page.getByRole('button', { name: words['account.changePassword'] }).click()
    await page.getByRole('alert').waitFor()
    expect(await page.getByRole('alert').textContent()).toBe(words['account.passwordWrong'])
    await checkPage(page, lang, '5a-account-password')

    await page.getByRole('button', { name: words['account.signOutEverywhere'] }).click()
    await page.getByRole('heading', { name: words['signOutEverywhere.heading'] }).waitFor()
    await checkPage(page, lang, '5b-sign-out-everywhere')
    await page.getByRole('link', { name: words['signOutEverywhere.cancel'] }).click()
    await page.getByRole('heading', { name: words['account.heading'] }).waitFor()

    await page.goto(`${server.url}/interaction/00000000-0000-4000-8000-000000000000`)
    await page.getByRole('heading', { name: words['error.titleRequest'] }).waitFor()
    expect(await page.getByRole('alert').textContent()).toBe(words['interaction.expired'])
    await checkPage(page, lang, '6-error')

    expect(blocked).toEqual([])
    await context.close()
  }, 90_000)

  it('OIDC Core §3.1.2.1: ui_locales wins over the browser\'s language, through login and consent', async () => {
    const [fr, de] = [catalog('fr'), catalog('de')]
    const client = await server.addClient({ name: 'Photo Printer', redirectUris: [`${appUrl}/callback`] })
    const user = await server.addUser()
    const context = await browser.newContext({ locale: 'de-DE' })
    const page = await context.newPage()
    await page.goto(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: pkcePair().challenge, ui_locales: 'fr-CA en' })}`)
    await page.getByRole('heading', { name: fr['login.heading'] }).waitFor()
    expect(await page.getByRole('heading', { name: de['login.heading'] }).count()).toBe(0)
    await page.getByLabel(fr['login.username'] ?? '').fill(user.username)
    await page.getByLabel(fr['login.password'] ?? '').fill(user.password)
    await page.getByRole('button', { name: fr['login.submit'], exact: true }).click()
    await page.getByRole('heading', { name: fr['consent.heading'] }).waitFor()
    await checkPage(page, 'fr', 'ui-locales-consent')
    // Without ui_locales, the browser's language.
    await page.goto(`${server.url}/account`)
    await page.getByRole('heading', { name: de['account.heading'] }).waitFor()
    expect(await page.getAttribute('html', 'lang')).toBe('de')
    await context.close()
  }, 60_000)
})
