/**
 * What the demo app's own browser tests share: an authcode server (the server package's harness)
 * with the chat scopes, the example broker, the demo app registered with both on a free port, and
 * Chromium; plus the user's steps (log in, log out) and a watch on every answer the app gives.
 */
import type { Server } from 'node:http'
import { fileURLToPath } from 'node:url'
import { loadDocument } from '@authcode/asyncapi'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { freePort, startServer, type TestClient, type TestServer } from '../../../packages/server/test/harness.js'
import { launchChromium } from '../../../test/e2e/chromium.js'
import { demoLoginToConsent, demoLogOut } from '../../../test/e2e/demo-support.js'
import { startBroker, type Broker } from '../../broker/src/broker.js'
import { createDemoApp } from '../src/app.js'
import type { ChatHub } from '../src/chat.js'

export const SCOPE = 'openid profile email read:messages write:messages'

/** "Log out", through the server's confirmation when it offers RP-initiated logout, to the app's "You are signed out". */
export const logOut = demoLogOut

export interface DemoStack {
  server: TestServer
  broker: Broker
  client: TestClient
  appUrl: string
  browser: Browser
  chat: ChatHub
  close(): Promise<void>
}

export async function startStack(): Promise<DemoStack> {
  const server = await startServer({ scopes: { 'read:messages': 'Read chat messages', 'write:messages': 'Send chat messages' } })
  const broker = await startBroker({
    document: await loadDocument(fileURLToPath(new URL('../../broker/asyncapi.yaml', import.meta.url))),
    guard: { issuer: server.url, audience: server.config.accessToken.audience, jwksUri: `${server.url}/jwks`, now: () => new Date(server.clock.now() * 1000) },
    port: 0,
    host: '127.0.0.1',
  })
  const port = await freePort()
  const appUrl = `http://localhost:${port}`
  // Where a server that offers RP-initiated logout sends the browser back (registered when it knows the field).
  const registration = { name: 'authcode demo app', redirectUris: [`${appUrl}/callback`], postLogoutRedirectUris: [`${appUrl}/?signedOut=1`], scope: SCOPE }
  const client = await server.addClient(registration)
  const { app, chat } = createDemoApp({
    issuer: server.url,
    clientId: client.clientId,
    clientSecret: client.secret ?? '',
    redirectUri: client.redirectUri,
    postLogoutRedirectUri: `${appUrl}/?signedOut=1`,
    scope: SCOPE,
    brokerUrl: broker.url,
  })
  const listening = await new Promise<Server>((resolve) => {
    const s = app.listen(port, '127.0.0.1', () => resolve(s))
  })
  const browser = await launchChromium()
  return {
    server,
    broker,
    client,
    appUrl,
    browser,
    chat,
    async close() {
      await browser.close()
      chat.close()
      listening.closeAllConnections()
      await new Promise((resolve) => listening.close(resolve))
      await broker.close()
      await server.close()
    },
  }
}

/** Home → Log in → the server's sign-in and consent pages → Allow → the dashboard. */
export async function logIn(page: Page, appUrl: string, user: { username: string; password: string }): Promise<void> {
  await demoLoginToConsent(page, appUrl, user)
  await page.getByRole('button', { name: 'Allow' }).click()
  await page.waitForURL(`${appUrl}/dashboard`)
}

export interface Answer {
  url: string
  status: number
  type: string
}

/** Every answer of the app to this browser context, to check that none is unstyled text or missing. */
export function watchAnswers(context: BrowserContext, appUrl: string): Answer[] {
  const answers: Answer[] = []
  context.on('response', (response) => {
    if (response.url().startsWith(appUrl)) answers.push({ url: response.url(), status: response.status(), type: response.headers()['content-type'] ?? '' })
  })
  return answers
}

/** Whether the page wears the app's stylesheet (not a browser's default rendering of bare text). */
export async function styled(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const g = globalThis as unknown as { document: { body: object; styleSheets: { length: number } }; getComputedStyle(element: object): { fontFamily: string; maxWidth: string } }
    const style = g.getComputedStyle(g.document.body)
    return g.document.styleSheets.length > 0 && style.fontFamily.includes('system-ui') && style.maxWidth !== 'none'
  })
}
