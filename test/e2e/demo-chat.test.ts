/**
 * The demo app's chat page in a real browser (Debian's Chromium through playwright-core): the
 * browser talks to the demo app only; the app holds the user's access token and talks to the
 * example broker (examples/broker) with it, server side. Log in (the consent page lists the chat
 * scopes) → Chat → send a message → it shows on the page after a reload, and no token reaches the
 * browser. An app whose token lacks write:messages shows the broker's refusal reason. Screenshots
 * go to test-artifacts/demo-app/.
 */
import type { Server } from 'node:http'
import { fileURLToPath } from 'node:url'
import { MemoryTokenStore } from '@authcode/client'
import { loadDocument } from '@authcode/asyncapi'
import type { Browser, Page } from 'playwright-core'
import { saveScreenshot } from './page-checks.js'
import { describeInChromium, launchChromium } from './chromium.js'
import { demoLoginToConsent, RecordingStore, watchPage } from './demo-support.js'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createDemoApp } from '../../examples/express-app/src/app.js'
import type { ChatHub } from '../../examples/express-app/src/chat.js'
import { startBroker, type Broker } from '../../examples/broker/src/broker.js'
import { freePort, startServer, type TestServer } from '../../packages/server/test/harness.js'

const DOCUMENT = fileURLToPath(new URL('../../examples/broker/asyncapi.yaml', import.meta.url))


describeInChromium('the demo app chat in Chromium', () => {
  let server: TestServer
  let broker: Broker
  let browser: Browser
  const apps: { server: Server; chat: ChatHub; url: string }[] = []

  /** A demo app (its own client) asking for `scope`, listening on a free port. */
  async function startApp(scope: string, store: MemoryTokenStore): Promise<string> {
    const port = await freePort()
    const url = `http://localhost:${port}`
    const client = await server.addClient({ name: 'authcode demo app', redirectUris: [`${url}/callback`], scope })
    const { app, chat } = createDemoApp({ issuer: server.url, clientId: client.clientId, clientSecret: client.secret ?? '', redirectUri: client.redirectUri, scope, tokenStore: store, brokerUrl: broker.url })
    const listening = await new Promise<Server>((resolve) => {
      const s = app.listen(port, '127.0.0.1', () => resolve(s))
    })
    apps.push({ server: listening, chat, url })
    return url
  }

  async function logIn(page: Page, appUrl: string, user: { username: string; password: string }, shot?: string): Promise<string> {
    await demoLoginToConsent(page, appUrl, user)
    const consent = (await page.textContent('main')) ?? ''
    if (shot !== undefined) await saveScreenshot(page, shot)
    await page.getByRole('button', { name: 'Allow' }).click()
    await page.waitForURL(`${appUrl}/dashboard`)
    return consent
  }

  beforeAll(async () => {
    // What `npm start` runs: the default scopes plus the chat scopes (examples/express-app/authcode.json).
    server = await startServer({ scopes: { 'read:messages': 'Read chat messages', 'write:messages': 'Send chat messages' } })
    broker = await startBroker({
      document: await loadDocument(DOCUMENT),
      guard: { issuer: server.url, audience: server.config.accessToken.audience, jwksUri: `${server.url}/jwks`, now: () => new Date(server.clock.now() * 1000) },
      port: 0,
      host: '127.0.0.1',
    })
    browser = await launchChromium()
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    for (const app of apps) {
      app.chat.close()
      app.server.closeAllConnections()
      await new Promise((resolve) => app.server.close(resolve))
    }
    await broker?.close()
    await server?.close()
  })

  it('chats through the broker with the token the app holds; the page shows the messages, never the token', async () => {
    const store = new RecordingStore()
    const appUrl = await startApp('openid profile email read:messages write:messages', store)
    const user = await server.addUser('carol', 'correct horse battery', { name: 'Carol Example' })
    const context = await browser.newContext()
    const page = await context.newPage()
    const { blocked, visible } = watchPage(page)

    const consent = await logIn(page, appUrl, user, 'demo-app-chat-1-consent')
    expect(consent).toContain('Read chat messages')
    expect(consent).toContain('Send chat messages')
    expect(await page.textContent('#scopes')).toBe('openid profile email read:messages write:messages')

    await page.getByRole('button', { name: 'Chat' }).click()
    await page.getByRole('heading', { name: 'Chat' }).waitFor()
    expect(await page.textContent('#chat-status')).toContain('Subscribed to room lobby')

    await page.getByLabel('Message').fill('hello from the browser, through the app')
    await page.getByRole('button', { name: 'Send' }).click()
    await page.waitForURL(`${appUrl}/chat?sent=1`)
    await page.reload()
    await page.getByText('hello from the browser, through the app').waitFor()
    expect(await page.textContent('#messages')).toContain('hello from the browser, through the app')
    await saveScreenshot(page, 'demo-app-chat-2-message')

    // The token is in the app's store, never in the page, a URL the browser saw, or a cookie.
    expect(store.tokens.size).toBeGreaterThan(0)
    const seen = await visible()
    for (const token of store.tokens) expect(seen).not.toContain(token)
    expect(blocked).toEqual([])
    await context.close()
  }, 90_000)

  it('shows the broker’s refusal reason when the token lacks write:messages', async () => {
    const appUrl = await startApp('openid profile read:messages', new MemoryTokenStore())
    const user = await server.addUser('dave', 'correct horse battery', { name: 'Dave Example' })
    const context = await browser.newContext()
    const page = await context.newPage()
    await logIn(page, appUrl, user)
    await page.goto(`${appUrl}/chat`)
    expect(await page.textContent('#chat-status')).toContain('Subscribed to room lobby')
    await page.getByLabel('Message').fill('not allowed')
    await page.getByRole('button', { name: 'Send' }).click()
    await page.locator('#chat-error').waitFor()
    expect(await page.textContent('#chat-error')).toContain('insufficient_scope: sendMessage needs write:messages')
    await saveScreenshot(page, 'demo-app-chat-3-refused')
    await context.close()
  }, 90_000)
})
