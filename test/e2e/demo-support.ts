/** What the demo-app browser tests share: the running stack, and proving that no token ever reaches the browser. */
import type { Server } from 'node:http'
import { MemoryTokenStore, type SessionRecord } from '@authcode/client'
import type { Browser, Page } from 'playwright-core'
import { createDemoApp } from '../../examples/express-app/src/app.js'
import { freePort, startServer, type TestClient, type TestServer } from '../../packages/server/test/harness.js'
import { launchChromium } from './chromium.js'

/** Remembers every token (and session key) the app stored, to prove none reaches the browser. */
export class RecordingStore extends MemoryTokenStore {
  readonly tokens = new Set<string>()
  readonly keys = new Set<string>()

  override async set(key: string, record: SessionRecord): Promise<void> {
    this.keys.add(key)
    for (const token of [record.tokens.accessToken, record.tokens.refreshToken, record.tokens.idToken]) {
      if (token !== undefined) this.tokens.add(token)
    }
    return super.set(key, record)
  }
}

/**
 * Watches a page from now on: `blocked` collects CSP violations reported on its console, `urls`
 * every URL it requested; `visible()` is everything the browser holds — the page, every URL it requested, its cookies.
 */
export function watchPage(page: Page): { blocked: string[]; urls: string[]; visible(): Promise<string> } {
  const blocked: string[] = []
  const urls: string[] = []
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) blocked.push(message.text())
  })
  page.on('request', (request) => urls.push(request.url()))
  const visible = async () => [await page.content(), ...urls, ...(await page.context().cookies()).map((c) => `${c.name}=${c.value}`)].join('\n')
  return { blocked, urls, visible }
}

/** The authorization server, the demo app registered with it and listening, and Chromium: what the demo-app browser tests run against. */
export interface DemoStack {
  server: TestServer
  /** The demo app's client registration at the server (its secret included). */
  client: TestClient
  appUrl: string
  /** Every token the demo app stored. */
  store: RecordingStore
  browser: Browser
  close(): Promise<void>
}

/** Starts a test server, registers the demo app (`openid profile email`), starts it on a free port and launches Chromium. */
export async function startDemoStack(): Promise<DemoStack> {
  const server = await startServer()
  const port = await freePort()
  const appUrl = `http://localhost:${port}`
  // The home page's "You are signed out" is where a server with RP-initiated logout sends the browser
  // back; the app's /backchannel-logout is where it POSTs the logout tokens, as npm start registers them.
  const registration = {
    name: 'authcode demo app',
    redirectUris: [`${appUrl}/callback`],
    postLogoutRedirectUris: [`${appUrl}/?signedOut=1`],
    backchannelLogoutUri: `${appUrl}/backchannel-logout`,
    scope: 'openid profile email',
  }
  const client = await server.addClient(registration)
  const store = new RecordingStore()
  const { app: demo } = createDemoApp({
    issuer: server.url,
    clientId: client.clientId,
    clientSecret: client.secret ?? '',
    redirectUri: client.redirectUri,
    postLogoutRedirectUri: `${appUrl}/?signedOut=1`,
    scope: 'openid profile email',
    tokenStore: store,
  })
  const app = await new Promise<Server>((resolve) => {
    const listening = demo.listen(port, '127.0.0.1', () => resolve(listening))
  })
  const browser = await launchChromium()
  return {
    server,
    client,
    appUrl,
    store,
    browser,
    async close() {
      await browser.close()
      app.closeAllConnections()
      await new Promise((resolve) => app.close(resolve))
      await server.close()
    },
  }
}

/** The demo app's home → Log in → the server's sign-in page with `user`'s password; stops on the consent page. */
export async function demoLoginToConsent(page: Page, appUrl: string, user: { username: string; password: string }): Promise<void> {
  await page.goto(`${appUrl}/`)
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.getByRole('heading', { name: 'Sign in' }).waitFor()
  await page.getByLabel('Username').fill(user.username)
  await page.getByLabel('Password').fill(user.password)
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
  await page.getByRole('heading', { name: 'Allow access?' }).waitFor()
}

/**
 * The demo app's "Log out", then — when the server offers RP-initiated logout and asks whether to
 * sign out there too — its confirmation; either way the browser ends on the app's home page that
 * says "You are signed out".
 */
export async function demoLogOut(page: Page, appUrl: string, serverUrl: string): Promise<void> {
  await page.getByRole('button', { name: 'Log out' }).click()
  await page.waitForURL((url) => url.href === `${appUrl}/?signedOut=1` || url.href.startsWith(serverUrl))
  if (page.url().startsWith(serverUrl)) {
    await page.locator('button[name="decision"][value="logout"]').click()
    await page.waitForURL(`${appUrl}/?signedOut=1`)
  }
}
