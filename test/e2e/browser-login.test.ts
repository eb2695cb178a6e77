/**
 * The authorization server's pages in a real browser (Debian's Chromium through playwright-core):
 * a person signs in, approves, and lands on the client's redirect URI with code, state and iss.
 * This is where the pages' CSP (no script; form-action limited to the server and the client) meets
 * a real browser, which enforces form-action on the redirects that follow a form submission.
 * Screenshots of each page go to test-artifacts/screenshots/browser-login-*.png.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser } from 'playwright-core'
import { saveScreenshot } from './page-checks.js'
import { describeInChromium, launchChromium } from './chromium.js'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { authorizeQuery, pkcePair, startServer, type TestServer } from '../../packages/server/test/harness.js'

describeInChromium('the pages in Chromium', () => {
  let server: TestServer
  let browser: Browser
  let app: Server
  let appUrl: string
  const callbacks: URL[] = []

  beforeAll(async () => {
    server = await startServer()
    // The client's redirect endpoint: records what the browser brought back.
    app = createServer((request, response) => {
      callbacks.push(new URL(request.url ?? '/', appUrl))
      response.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Signed in</h1>')
    })
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve))
    appUrl = `http://localhost:${(app.address() as AddressInfo).port}`
    browser = await launchChromium()
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await new Promise((resolve) => app?.close(resolve))
    await server?.close()
  })

  it('RFC 6749 §4.1: a person signs in and approves; the browser lands on the redirect URI with code, state and iss (RFC 9207)', async () => {
    const redirectUri = `${appUrl}/callback`
    const client = await server.addClient({ name: 'Browser Test App', redirectUris: [redirectUri] })
    const user = await server.addUser('alice', 'correct horse battery', { name: 'Alice Example' })
    const page = await browser.newPage()
    const blocked: string[] = []
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) blocked.push(message.text())
    })

    await page.goto(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: pkcePair().challenge, state: 'a&b=c €' })}`)
    await expect(page.getByRole('heading', { name: 'Sign in' }).isVisible()).resolves.toBe(true)
    await saveScreenshot(page, 'browser-login-1-login')
    await page.getByLabel('Username').fill(user.username)
    await page.getByLabel('Password').fill(user.password)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()

    await page.getByRole('heading', { name: 'Allow access?' }).waitFor()
    expect(await page.textContent('main')).toContain('Browser Test App')
    await saveScreenshot(page, 'browser-login-2-consent')
    await page.getByRole('button', { name: 'Allow' }).click()

    await page.waitForURL((url) => url.href.startsWith(redirectUri))
    await saveScreenshot(page, 'browser-login-3-callback')
    const callback = callbacks.findLast((url) => url.pathname === '/callback')
    expect(callback?.searchParams.get('code')).toMatch(/^[\w-]{43}$/)
    expect(callback?.searchParams.get('state')).toBe('a&b=c €')
    expect(callback?.searchParams.get('iss')).toBe(server.url)
    expect(blocked).toEqual([])
    await page.close()
  }, 60_000)

  it('RFC 6749 §4.1.2.1: a denial in the browser lands on the redirect URI with access_denied', async () => {
    const redirectUri = `${appUrl}/denied`
    const client = await server.addClient({ name: 'Denied App', redirectUris: [redirectUri] })
    const user = await server.addUser()
    const page = await browser.newPage()
    await page.goto(`${server.url}/authorize?${authorizeQuery(client, { code_challenge: pkcePair().challenge })}`)
    await page.getByLabel('Username').fill(user.username)
    await page.getByLabel('Password').fill(user.password)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await page.getByRole('button', { name: 'Deny' }).click()
    await page.waitForURL((url) => url.href.startsWith(redirectUri))
    const callback = callbacks.findLast((url) => url.pathname === '/denied')
    expect(callback?.searchParams.get('error')).toBe('access_denied')
    expect(callback?.searchParams.get('code')).toBeNull()
    expect(callback?.searchParams.get('iss')).toBe(server.url)
    await page.close()
  }, 60_000)
})
